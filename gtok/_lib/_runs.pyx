"""Tokenizing queries in the order given: runs on a chromosome of one component answered
from its position buckets, the rest searched one by one.

Queries in gtars' order (what a BED file is tokenized in) come as runs, one per
chromosome, sorted by start: as columns (:func:`tokenize_rows`, in row order) or as the
sort keys of :func:`gtok._lib._radix.gtars_keys` (:func:`tokenize_keys`, each query's
start and end in one key: ``Queries`` is either). A run on a chromosome of
one component (:mod:`gtok._lib._overlap`) goes to :func:`_query_run`: each query's first
candidate is found from the chromosome's position buckets (one table read, then 16 keys of
``maxend`` compared at once with SSE2), with nothing carried from one query to the next,
so the CPU overlaps consecutive queries; the lines of the query AHEAD on are fetched in
advance (its bucket's 2 * AHEAD on), those at its bucket's first position and 15 keys
on (where the first candidate often is). Then the first FIRST_TESTED candidates are tested
without branches (87 % of peaks hit one region, 4 % two). Measured on the 200 benchmark
peak files (in-process, the search alone): 10 ns a query against the 1 M universe, 21
against the 10 M one, 14 against a 1 kb tiling (the scan of the fifth session: 16, 54,
31). (Its loop keeps the buckets in local variables: the same loop through helpers taking
the struct took 50 ns a query at 10 M; fetching only the bucket's first line, 35.)
Chromosomes of several components and queries in a given order are searched one by one,
AHEAD queries ahead (:meth:`OverlapIndex._query_rows`).
"""

import numpy as np

from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc

from gtok._lib._keysearch cimport _line_gt, gtok_above16
from gtok._lib._overlap cimport (AHEAD, FAN, Cursors, Hit, IdBuffer, OverlapIndex, _push,
                                 _reserve, _take_ids)
from gtok._lib._swar cimport gtok_ctz64
from gtok._lib._types cimport chrom_index_t, coord_t, token_id_t

cdef extern from *:
    # a hint, never a fault (an address past an array's end is fine)
    void __builtin_prefetch(const void* addr) noexcept nogil


cdef enum:
    WINDOW = 16         # keys compared at once after the bucket read
    FIRST_TESTED = 3    # candidates tested without branches


cdef struct RowQueries:
    # queries as columns: query i is [starts[i], ends[i])
    const coord_t* starts
    const coord_t* ends


cdef struct KeyQueries:
    # queries as sort keys (gtok._lib._radix.gtars_keys): query i is
    # [keys[i] >> 32, keys[i] & 0xFFFFFFFF)
    const uint64_t* keys


ctypedef fused Queries:
    RowQueries
    KeyQueries


cdef inline coord_t _start_of(const Queries* q, Py_ssize_t i) noexcept nogil:
    if Queries is RowQueries:
        return q.starts[i]
    else:
        return <coord_t>(q.keys[i] >> 32)


cdef inline coord_t _end_of(const Queries* q, Py_ssize_t i) noexcept nogil:
    if Queries is RowQueries:
        return q.ends[i]
    else:
        return <coord_t>(q.keys[i] & 0xFFFFFFFFU)


cdef struct Buckets:
    # one chromosome's position buckets (OverlapIndex._make_buckets) and its component
    const uint32_t* first       # bucket k: the first position with maxend > k << shift
    Py_ssize_t n                # buckets (the last lies past the largest end)
    int shift
    Py_ssize_t b                # the end of the component


cdef inline bint _buckets_of(OverlapIndex index, chrom_index_t c, Buckets* bk) noexcept nogil:
    # chromosome c's buckets into bk; False when it has none (several components, or c
    # outside the index)
    cdef Py_ssize_t j
    if c < 0 or c >= index.n_chroms:
        return False
    bk.n = index._bucket_bounds[c + 1] - index._bucket_bounds[c]
    if bk.n == 0:
        return False
    bk.first = index._buckets + index._bucket_bounds[c]
    bk.shift = index._bucket_shifts[c]
    j = index._chrom_comps[c]
    bk.b = index._comp_bounds[j + 1]
    return True


cdef inline Py_ssize_t _first_candidate(OverlapIndex index, const uint32_t* first,
                                        Py_ssize_t n_buckets, int shift, Py_ssize_t b,
                                        coord_t s) noexcept nogil:
    # the first position of the component (ending at b) with maxend > s (b if none):
    # between the first positions of s's bucket and of the next one
    cdef Py_ssize_t k = <Py_ssize_t>(<uint64_t>s >> shift), lo, hi   # (shift may be 32)
    if k >= n_buckets - 1:
        return b        # past the largest end
    lo = first[k]
    hi = first[k + 1]
    if hi - lo < WINDOW and lo + WINDOW <= index.n_regions:
        # maxend[hi] > s, so the bit of hi (or an earlier one) is set
        return lo + gtok_ctz64(gtok_above16(index._maxend + lo, s) | (1u << (hi - lo)))
    if hi - lo <= 2 * FAN:
        return _line_gt(index._maxend, lo, hi, s)
    return index._first_end_gt(lo, hi, s, True)


cdef int _query_run(OverlapIndex index, const Buckets* bk, const Queries* q,
                    Py_ssize_t n, IdBuffer* out, token_id_t unk_id,
                    bint unk_per_region) noexcept nogil:
    """Append the ids of the regions hit by the n queries of ``q`` on the chromosome of
    ``bk`` (one component), query after query, as :meth:`OverlapIndex._query` would
    (and one ``unk_id`` for a query without a hit when ``unk_per_region``); return 0, or
    -1 when out of memory. Any order is answered right; sorted, the lines read are near
    one another. The bucket of the query 2 * AHEAD on is fetched, and the lines of the
    query AHEAD on (its bucket read): from its bucket's first position and 15 keys on."""
    # (the buckets in locals: the compiler keeps them in registers)
    cdef const uint32_t* first = bk.first
    cdef Py_ssize_t n_buckets = bk.n, b = bk.b
    cdef int shift = bk.shift
    cdef Py_ssize_t lo, i, k, t, m, at, before
    cdef coord_t s, e
    cdef const coord_t* S = index._starts
    cdef const coord_t* E = index._ends
    cdef const coord_t* M = index._maxend
    cdef const token_id_t* ids = index._ids
    for i in range(n):
        if i + 2 * AHEAD < n:
            k = <Py_ssize_t>(<uint64_t>_start_of(q, i + 2 * AHEAD) >> shift)
            if k < n_buckets:
                __builtin_prefetch(first + k)
        if i + AHEAD < n:
            k = <Py_ssize_t>(<uint64_t>_start_of(q, i + AHEAD) >> shift)
            if k < n_buckets - 1:
                at = first[k]
                # the first candidate is up to 15 keys on: often in the next line
                __builtin_prefetch(M + at)
                __builtin_prefetch(S + at)
                __builtin_prefetch(E + at)
                __builtin_prefetch(M + at + 15)
                __builtin_prefetch(S + at + 15)
                __builtin_prefetch(E + at + 15)
                if ids != NULL:
                    __builtin_prefetch(ids + at)
                    __builtin_prefetch(ids + at + 15)
        s = _start_of(q, i)
        e = _end_of(q, i)
        lo = _first_candidate(index, first, n_buckets, shift, b, s)
        # the hits: from lo while start < e, those with end > s
        if _reserve(out, FIRST_TESTED + 1) < 0:
            return -1
        before = out.n
        k = lo
        if lo + FIRST_TESTED <= b:
            m = out.n
            for t in range(FIRST_TESTED):
                out.data[m] = <token_id_t>(lo + t) if ids == NULL else ids[lo + t]
                m += (S[lo + t] < e) & (E[lo + t] > s)
            out.n = m
            k = lo + FIRST_TESTED if S[lo + FIRST_TESTED - 1] < e else b
        while k < b and S[k] < e:
            if E[k] > s and _push(out, <token_id_t>k if ids == NULL else ids[k]) < 0:
                return -1
            k += 1
        if unk_per_region and out.n == before and _push(out, unk_id) < 0:
            return -1
    return 0


def first_candidates(OverlapIndex index, const int32_t[::1] chroms,
                     const uint32_t[::1] starts):
    """For tests: each query's first candidate as :func:`_query_run` finds it from the
    buckets (the first position of the chromosome's component with maxend > start), or
    -1 on a chromosome without buckets."""
    cdef Py_ssize_t n = chroms.shape[0], i
    cdef Buckets bk
    out = np.full(n, -1, dtype=np.int64)
    cdef int64_t[::1] got = out
    if starts.shape[0] != n:
        raise ValueError("query columns differ in length")
    with nogil:
        for i in range(n):
            if _buckets_of(index, chroms[i], &bk):
                got[i] = _first_candidate(index, bk.first, bk.n, bk.shift, bk.b, starts[i])
    return out


def tokenize_rows(OverlapIndex index, const int32_t[::1] chroms, const uint32_t[::1] starts,
                  const uint32_t[::1] ends, order, uint32_t unk_id, bint unk_per_region):
    """Token ids of the query regions visited in ``order`` (an int64 array of row
    indices, or None for row order). Chromosome indices outside the index hit nothing.
    A query without a hit gives ``unk_id`` when ``unk_per_region``; otherwise a whole
    result without any hit is ``[unk_id]``.

    In row order, each run of queries on a chromosome of one component goes to
    :func:`_query_run` (its position buckets), the others query by query to
    :meth:`OverlapIndex._query`, searched ahead; in a given order, all go that way.

    Examples
    --------
    >>> import numpy as np
    >>> from gtok._lib._indexbuild import build_index
    >>> from gtok._lib._runs import tokenize_rows
    >>> index, _ = build_index(np.array([0, 0, 0], np.int32),
    ...                        np.array([100, 200, 300], np.uint32),
    ...                        np.array([150, 250, 350], np.uint32), 1)
    >>> q = (np.array([0, 0], np.int32), np.array([120, 240], np.uint32),
    ...      np.array([210, 260], np.uint32))
    >>> tokenize_rows(index, *q, None, 9, False).tolist()
    [0, 1, 1]
    >>> tokenize_rows(index, *q, np.array([1, 0]), 9, False).tolist()
    [1, 0, 1]
    """
    cdef Py_ssize_t n = chroms.shape[0], m, i = 0, j, bad = -1
    cdef const int64_t[::1] rows
    cdef const int64_t* rows_ptr = NULL
    cdef IdBuffer out
    cdef Hit* scratch = NULL
    cdef Py_ssize_t scratch_cap = 0
    cdef int32_t c
    cdef Buckets bk
    cdef RowQueries rq
    cdef bint in_row_order = order is None
    cdef Cursors cur
    held = index._cursors(&cur)  # (holds the arrays cur points into)
    if starts.shape[0] != n or ends.shape[0] != n:
        raise ValueError("query columns differ in length")
    if order is None:
        m = n
    else:
        rows = order
        m = rows.shape[0]
        if m:
            rows_ptr = &rows[0]
    out.data = NULL
    out.n = 0
    out.cap = 0
    with nogil:
        if not in_row_order:
            bad = index._query_rows(&chroms[0] if n else NULL, &starts[0] if n else NULL,
                                    &ends[0] if n else NULL, n, rows_ptr, 0, m, &out,
                                    &scratch, &scratch_cap, &cur, unk_id, unk_per_region,
                                    NULL)
        while in_row_order and i < n and bad == -1:
            c = chroms[i]
            j = i + 1
            while j < n and chroms[j] == c:
                j += 1
            if _buckets_of(index, c, &bk):
                rq.starts = &starts[i]
                rq.ends = &ends[i]
                if _query_run(index, &bk, &rq, j - i, &out, unk_id, unk_per_region) < 0:
                    bad = -2
            else:
                bad = index._query_rows(&chroms[0], &starts[0], &ends[0], n, NULL, i, j,
                                        &out, &scratch, &scratch_cap, &cur, unk_id,
                                        unk_per_region, NULL)
            i = j
        if bad == -1 and out.n == 0 and _push(&out, unk_id) < 0:
            bad = -2
    free(scratch)
    if bad != -1:
        free(out.data)
        if bad >= 0:
            raise IndexError(f"order holds row {rows[bad]}, outside 0..{n - 1}")
        raise MemoryError()
    return _take_ids(&out)


cdef Py_ssize_t _query_slice(OverlapIndex index, const uint64_t* keys, Py_ssize_t n,
                             int32_t c, IdBuffer* out, Hit** scratch,
                             Py_ssize_t* scratch_cap, Cursors* cur, token_id_t unk_id,
                             bint unk_per_region) noexcept nogil:
    # n keys on chromosome c (one without buckets) searched one by one, on columns made
    # for them; -1 when done, -2 when out of memory
    cdef Py_ssize_t i, got
    cdef int32_t* chroms = <int32_t*>malloc(n * sizeof(int32_t))
    cdef coord_t* starts = <coord_t*>malloc(n * sizeof(coord_t))
    cdef coord_t* ends = <coord_t*>malloc(n * sizeof(coord_t))
    if chroms == NULL or starts == NULL or ends == NULL:
        got = -2
    else:
        for i in range(n):
            chroms[i] = c
            starts[i] = <coord_t>(keys[i] >> 32)
            ends[i] = <coord_t>(keys[i] & 0xFFFFFFFFU)
        got = index._query_rows(chroms, starts, ends, n, NULL, 0, n, out, scratch,
                                scratch_cap, cur, unk_id, unk_per_region, NULL)
    free(chroms)
    free(starts)
    free(ends)
    return got


def tokenize_keys(OverlapIndex index, const uint64_t[::1] keys, const Py_ssize_t[::1] bounds,
                  const int32_t[::1] slice_chroms, uint32_t unk_id, bint unk_per_region):
    """Token ids of queries given as :func:`gtok._lib._radix.gtars_keys` gives a file's
    rows in gtars' order: the keys ``start << 32 | end``, slice ``b`` of them
    (``keys[bounds[b]:bounds[b + 1]]``) on chromosome ``slice_chroms[b]`` (slices may
    share a chromosome). The ids :func:`tokenize_rows` gives for the same queries as
    columns, without gathering them: a slice on a chromosome of one component goes to
    :func:`_query_run`, the others are searched one by one
    (:meth:`OverlapIndex._query_rows`, on columns made for the slice).

    Examples
    --------
    >>> import numpy as np
    >>> from gtok._lib._indexbuild import build_index
    >>> from gtok._lib._radix import gtars_keys
    >>> from gtok._lib._runs import tokenize_keys
    >>> index, _ = build_index(np.array([0, 0, 0], np.int32),
    ...                        np.array([100, 200, 300], np.uint32),
    ...                        np.array([150, 250, 350], np.uint32), 1)
    >>> keys, bounds, slice_chroms = gtars_keys(np.array([0, 0], np.int32),
    ...                                         np.array([240, 120], np.uint32),
    ...                                         np.array([260, 210], np.uint32),
    ...                                         np.array([0], np.int32))
    >>> tokenize_keys(index, keys, bounds, slice_chroms, 9, False).tolist()
    [0, 1, 1]
    """
    cdef Py_ssize_t n_slices = bounds.shape[0] - 1
    cdef Py_ssize_t b, lo, hi, i, bad = -1
    cdef IdBuffer out
    cdef Hit* scratch = NULL
    cdef Py_ssize_t scratch_cap = 0
    cdef Buckets bk
    cdef KeyQueries kq
    cdef Cursors cur
    held = index._cursors(&cur)  # (holds the arrays cur points into)
    if n_slices < 0 or slice_chroms.shape[0] != n_slices or bounds[0] != 0 or (
            bounds[n_slices] > keys.shape[0]):
        raise ValueError("bounds and slice_chroms do not fit the keys")
    for b in range(n_slices):
        if bounds[b] > bounds[b + 1]:
            raise ValueError("bounds must not decrease")
    out.data = NULL
    out.n = 0
    out.cap = 0
    with nogil:
        for b in range(n_slices):
            lo = bounds[b]
            hi = bounds[b + 1]
            if hi == lo:
                continue
            if _buckets_of(index, slice_chroms[b], &bk):
                kq.keys = &keys[lo]
                if _query_run(index, &bk, &kq, hi - lo, &out, unk_id, unk_per_region) < 0:
                    bad = -2
            else:
                bad = _query_slice(index, &keys[lo], hi - lo, slice_chroms[b], &out,
                                   &scratch, &scratch_cap, &cur, unk_id, unk_per_region)
            if bad != -1:
                break
        if bad == -1 and out.n == 0 and _push(&out, unk_id) < 0:
            bad = -2
    free(scratch)
    if bad != -1:
        free(out.data)
        raise MemoryError()
    return _take_ids(&out)
