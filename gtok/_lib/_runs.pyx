"""Tokenizing queries in the order given: runs of sorted queries scanned, the rest
searched one by one.

Queries in gtars' order (:func:`gtok._lib._radix.gtars_order`, what a BED file is
tokenized in) come as runs, one per chromosome, sorted by start. A run on a chromosome of
one component (:mod:`gtok._lib._overlap`) whose queries lie fewer than RUN_GAP regions
apart on average (a peak file against a universe of a million regions: ~20) is answered
by :func:`_query_run` in two passes. The first finds each query's first candidate by
scanning forward from the last query's: SCAN_KEYS keys compared at once (SSE2), twice,
then the skip levels; each answer waits for the last, so the run is cut in CHAINS
stretches scanned in turn, whose loads overlap. The second tests each query's first
FIRST_TESTED candidates without branches (87 % of peaks hit one region, 4 % two).
Measured on the 200 benchmark peak files against the 1 M universe: 16 ns a query,
against 26 for :meth:`OverlapIndex._query`'s searches, whose branches mispredict on
every query. Sparser runs (a 10 M-region universe), chromosomes of several components
and queries in a given order are searched one by one, AHEAD queries ahead
(:meth:`OverlapIndex._query_rows`), which wins once each query reads cold lines.
"""

from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc

from gtok._lib._keysearch cimport gtok_above16
from gtok._lib._overlap cimport (Cursors, Hit, IdBuffer, OverlapIndex, _push, _reserve,
                                 _take_ids)
from gtok._lib._swar cimport gtok_ctz64
from gtok._lib._types cimport chrom_index_t, coord_t, token_id_t


cdef enum:
    RUN_GAP = 128       # runs whose queries are closer than this on average are scanned
    SCAN_KEYS = 64      # the scan's keys compared at once (twice; then a search)
    CHAINS = 4          # stretches of a run scanned in turn
    FIRST_TESTED = 3    # candidates tested without branches

# (for tests: the run size at which tokenize_rows scans, see _scans)
RUN_GAP_REGIONS = RUN_GAP


cdef inline Py_ssize_t _next_bound(OverlapIndex index, Py_ssize_t lo, Py_ssize_t b,
                                   coord_t s) noexcept nogil:
    # the first position in [lo, b) with maxend > s (b if none), maxend[lo - 1] <= s: the
    # SCAN_KEYS keys from lo compared at once (SSE2; those above s are the last ones),
    # then the next SCAN_KEYS; an answer further on through the skip levels
    cdef const coord_t* M = index._maxend
    cdef uint64_t above
    cdef int window
    for window in range(2):
        if lo + SCAN_KEYS > b:
            break
        above = (<uint64_t>gtok_above16(M + lo, s)
                 | (<uint64_t>gtok_above16(M + lo + 16, s) << 16)
                 | (<uint64_t>gtok_above16(M + lo + 32, s) << 32)
                 | (<uint64_t>gtok_above16(M + lo + 48, s) << 48))
        if above != 0:
            return lo + gtok_ctz64(above)
        lo += SCAN_KEYS
    else:
        return index._first_end_gt(lo, b, s, True)
    while lo < b and M[lo] <= s:
        lo += 1
    return lo


cdef inline bint _scans(OverlapIndex index, chrom_index_t c, Py_ssize_t n) noexcept nogil:
    """Whether :func:`_query_run` takes a run of n sorted queries on chromosome c: c has
    one component, and the queries are closer than RUN_GAP regions on average (further
    apart, each search reads cold lines: searching ahead wins)."""
    cdef Py_ssize_t j
    if c < 0 or c >= index.n_chroms:
        return False
    j = index._chrom_comps[c]
    if index._chrom_comps[c + 1] != j + 1:
        return False
    return n * <Py_ssize_t>RUN_GAP >= index._comp_bounds[j + 1] - index._comp_bounds[j]


cdef void _run_bounds(OverlapIndex index, Py_ssize_t a, Py_ssize_t b, const coord_t* qs,
                      Py_ssize_t n, Py_ssize_t* lows) noexcept nogil:
    """For each of n queries on the component [a, b), ``lows[i]``: the first position
    with maxend > qs[i] (b if none). The run is cut in CHAINS stretches, each scanned
    forward from its last answer (:func:`_next_bound`), the stretches a query at a time
    in turn: each answer waits for the last one of its stretch, so interleaving
    CHAINS of them keeps the CPU busy (one stretch alone runs at its load latency)."""
    cdef Py_ssize_t lo[CHAINS]
    cdef Py_ssize_t nxt[CHAINS]
    cdef Py_ssize_t end[CHAINS]
    cdef coord_t prev[CHAINS]
    cdef Py_ssize_t per = (n + CHAINS - 1) // CHAINS, t, i
    cdef int k
    cdef coord_t s
    for k in range(CHAINS):
        nxt[k] = min(n, k * per)
        end[k] = min(n, nxt[k] + per)
        lo[k] = a
        prev[k] = 0
        if k and nxt[k] < end[k]:
            lo[k] = index._first_end_gt(a, b, qs[nxt[k]], True)
            prev[k] = qs[nxt[k]]
    for t in range(per):
        for k in range(CHAINS):
            i = nxt[k] + t
            if i < end[k]:
                s = qs[i]
                if s < prev[k]:
                    lo[k] = a       # not sorted here: from the component's start
                prev[k] = s
                lo[k] = _next_bound(index, lo[k], b, s)
                lows[i] = lo[k]


cdef int _query_run(OverlapIndex index, chrom_index_t c, const coord_t* qs,
                    const coord_t* qe, Py_ssize_t n, IdBuffer* out, token_id_t unk_id,
                    bint unk_per_region, Py_ssize_t* lows) noexcept nogil:
    """Append the ids of the regions hit by n queries [qs[i], qe[i]) on chromosome c,
    which has one component (:func:`_scans`), query after query, as
    :meth:`OverlapIndex._query` would (and one ``unk_id`` for a query without a hit when
    ``unk_per_region``); return 0, or -1 when out of memory. ``lows``: room for n
    positions.

    The kernel for queries sorted by start and close together: each query's first
    candidate comes from :func:`_run_bounds`, then the first FIRST_TESTED candidates
    are tested without branches. Any order is answered right (a query starting before the
    last one is searched from the component's first region), sorted is fast."""
    cdef Py_ssize_t j = index._chrom_comps[c]
    cdef Py_ssize_t a = index._comp_bounds[j], b = index._comp_bounds[j + 1]
    cdef Py_ssize_t lo, i, k, t, m, first
    cdef coord_t s, e
    cdef const coord_t* S = index._starts
    cdef const coord_t* E = index._ends
    cdef const token_id_t* ids = index._ids
    _run_bounds(index, a, b, qs, n, lows)
    for i in range(n):
        s = qs[i]
        e = qe[i]
        lo = lows[i]
        # the hits: from lo while start < e, those with end > s
        if _reserve(out, FIRST_TESTED + 1) < 0:
            return -1
        first = out.n
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
        if unk_per_region and out.n == first and _push(out, unk_id) < 0:
            return -1
    return 0


def tokenize_rows(OverlapIndex index, const int32_t[::1] chroms, const uint32_t[::1] starts,
                  const uint32_t[::1] ends, order, uint32_t unk_id, bint unk_per_region):
    """Token ids of the query regions visited in ``order`` (an int64 array of row
    indices, or None for row order). Chromosome indices outside the index hit nothing.
    A query without a hit gives ``unk_id`` when ``unk_per_region``; otherwise a whole
    result without any hit is ``[unk_id]``.

    In row order, each run of queries on one chromosome goes to :func:`_query_run`
    when :func:`_scans` says so (sorted queries close together), else query by query
    to :meth:`OverlapIndex._query`, searched ahead; in a given order, all go that way.

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
    cdef Py_ssize_t* lows = NULL     # _query_run's room
    cdef Py_ssize_t lows_cap = 0
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
            if _scans(index, c, j - i):
                if j - i > lows_cap:
                    free(lows)
                    lows_cap = j - i
                    lows = <Py_ssize_t*>malloc(lows_cap * sizeof(Py_ssize_t))
                if (lows == NULL or _query_run(index, c, &starts[i], &ends[i], j - i, &out,
                                               unk_id, unk_per_region, lows) < 0):
                    bad = -2
            else:
                bad = index._query_rows(&chroms[0], &starts[0], &ends[0], n, NULL, i, j,
                                        &out, &scratch, &scratch_cap, &cur, unk_id,
                                        unk_per_region, NULL)
            i = j
        if bad == -1 and out.n == 0 and _push(&out, unk_id) < 0:
            bad = -2
    free(scratch)
    free(lows)
    if bad != -1:
        free(out.data)
        if bad >= 0:
            raise IndexError(f"order holds row {rows[bad]}, outside 0..{n - 1}")
        raise MemoryError()
    return _take_ids(&out)
