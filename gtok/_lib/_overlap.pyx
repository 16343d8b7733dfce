"""The chromosome-partitioned sorted-array overlap index, and the tokenize kernel.

Layout. The distinct universe regions are sorted by (chromosome, start, end). Each
chromosome's run is split into a few *components* (the idea of an augmented interval list):
a region that contains at least half of the next 20 regions is moved to the next component,
so long regions (a 170 Mb region among 1 kb ones) do not make every search scan. Each
component stores four parallel uint32 arrays: ``starts``, ``ends``, ``maxend`` (the running
maximum of ``ends`` within the component) and ``ids``; 16 bytes a region. A chromosome
without long regions has one component, and a non-overlapping universe has
``maxend == ends``.

Search. A query [qs, qe) hits u when ``u.start < qe and u.end > qs`` (half-open, strict).
In one component, the candidates with ``start < qe`` are a prefix (binary search on
``starts``), and within it the first index whose ``maxend > qs`` bounds the rest (binary
search on ``maxend``), so the scan visits only possible hits, plus the few regions nested
inside them. Hits come out in (start, end) order; when two components of a chromosome both
hit, the query's hits are sorted by (start, end) once.
"""

import numpy as np

from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc, qsort, realloc

from gtok._lib._radix cimport argsort_u64
from gtok._lib._types cimport chrom_index_t, coord_t, token_id_t

cdef enum:
    WINDOW = 20         # how many following regions a region is compared with
    MAX_LEVELS = 10     # components per chromosome at most (the last takes all the rest)


# IdBuffer and Hit, and OverlapIndex's fields, are declared in _overlap.pxd (so the
# fragment tokenizer can call OverlapIndex._query without the GIL).


cdef int _cmp_hits(const void* a, const void* b) noexcept nogil:
    cdef const Hit* x = <const Hit*>a
    cdef const Hit* y = <const Hit*>b
    if x.start != y.start:
        return -1 if x.start < y.start else 1
    if x.end != y.end:
        return -1 if x.end < y.end else 1
    return 0


cdef inline Py_ssize_t _first_ge(const uint32_t* a, Py_ssize_t lo, Py_ssize_t hi,
                                 uint32_t x) noexcept nogil:
    # first index in [lo, hi) with a[i] >= x (hi if none)
    cdef Py_ssize_t mid
    while lo < hi:
        mid = lo + (hi - lo) // 2
        if a[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef inline Py_ssize_t _first_gt(const uint32_t* a, Py_ssize_t lo, Py_ssize_t hi,
                                 uint32_t x) noexcept nogil:
    # first index in [lo, hi) with a[i] > x (hi if none)
    cdef Py_ssize_t mid
    while lo < hi:
        mid = lo + (hi - lo) // 2
        if a[mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef enum:
    BLOCK = 8           # skip-ahead stride before the short linear scan
    BLOCK_STEPS = 4     # a sorted query stream moves ~20 regions per query in a dense universe


cdef inline Py_ssize_t _gallop_gt(const uint32_t* a, Py_ssize_t lo, Py_ssize_t hi,
                                  uint32_t x) noexcept nogil:
    # _first_gt, searching forward from lo: skip ahead by blocks of 8 (a few predictable
    # branches for the usual step of ~20 regions), scan the last block linearly; a long
    # jump falls back to doubling steps and a binary search
    cdef Py_ssize_t step = 1, prev, k
    for k in range(BLOCK_STEPS):
        if lo + BLOCK < hi and a[lo + BLOCK - 1] <= x:
            lo += BLOCK
        else:
            break
    else:
        if lo < hi and a[lo] <= x:
            prev = lo
            while lo + step < hi and a[lo + step] <= x:
                prev = lo + step
                step *= 2
            return _first_gt(a, prev + 1, min(lo + step, hi), x)
    while lo < hi and a[lo] <= x:
        lo += 1
    return lo


cdef inline Py_ssize_t _gallop_ge(const uint32_t* a, Py_ssize_t lo, Py_ssize_t hi,
                                  uint32_t x) noexcept nogil:
    # _first_ge, searching forward from lo: the answer is usually within a few regions
    cdef Py_ssize_t step = 1, prev, stop = min(lo + BLOCK, hi)
    while lo < stop:
        if a[lo] >= x:
            return lo
        lo += 1
    if lo >= hi or a[lo] >= x:
        return lo
    prev = lo
    while lo + step < hi and a[lo + step] < x:
        prev = lo + step
        step *= 2
    return _first_ge(a, prev + 1, min(lo + step, hi), x)


cdef object _take_ids(IdBuffer* buf):
    """The buffer's ids as a new uint32 array; frees the buffer (also on failure)."""
    cdef uint32_t[::1] res
    cdef Py_ssize_t i
    try:
        result = np.empty(buf.n, dtype=np.uint32)
        res = result
    except BaseException:
        free(buf.data)
        buf.data = NULL
        raise
    with nogil:
        for i in range(buf.n):
            res[i] = buf.data[i]
    free(buf.data)
    buf.data = NULL
    buf.n = buf.cap = 0
    return result


cdef class OverlapIndex:
    """The universe's overlap index (see the module docstring). Build with
    :func:`build_index`; it pickles as its arrays, so unpickling does not sort again."""

    def __init__(self, starts, ends, maxend, ids, comp_bounds, chrom_comps):
        self.starts = np.ascontiguousarray(starts, dtype=np.uint32)
        self.ends = np.ascontiguousarray(ends, dtype=np.uint32)
        self.maxend = np.ascontiguousarray(maxend, dtype=np.uint32)
        self.ids = np.ascontiguousarray(ids, dtype=np.uint32)
        self.comp_bounds = np.ascontiguousarray(comp_bounds, dtype=np.int64)
        self.chrom_comps = np.ascontiguousarray(chrom_comps, dtype=np.int64)
        n = self.starts.shape[0]
        if not (self.ends.shape[0] == self.maxend.shape[0] == self.ids.shape[0] == n):
            raise ValueError("index arrays differ in length")
        if self.chrom_comps.shape[0] < 1 or self.comp_bounds.shape[0] < 1:
            raise ValueError("empty component tables")
        n_bounds = self.comp_bounds.shape[0]
        # no negative indices anywhere in this package: it is compiled with wraparound=False
        if (self.chrom_comps[0] != 0
                or self.chrom_comps[self.chrom_comps.shape[0] - 1] != n_bounds - 1
                or self.comp_bounds[0] != 0 or self.comp_bounds[n_bounds - 1] != n
                or np.any(np.diff(self.chrom_comps) < 0) or np.any(np.diff(self.comp_bounds) < 0)):
            raise ValueError("inconsistent component tables")
        self.n_regions = n
        self.n_chroms = self.chrom_comps.shape[0] - 1
        self._starts = <const uint32_t*>self._ptr(self.starts)
        self._ends = <const uint32_t*>self._ptr(self.ends)
        self._maxend = <const uint32_t*>self._ptr(self.maxend)
        self._ids = <const uint32_t*>self._ptr(self.ids)
        self._comp_bounds = <const int64_t*>self._ptr(self.comp_bounds)
        self._chrom_comps = <const int64_t*>self._ptr(self.chrom_comps)

    cdef const void* _ptr(self, arr):
        cdef const uint8_t[::1] view = arr.view(np.uint8)
        if view.shape[0] == 0:
            return NULL
        return &view[0]

    def __reduce__(self):
        return (OverlapIndex, (self.starts, self.ends, self.maxend, self.ids, self.comp_bounds,
                               self.chrom_comps))

    @property
    def nbytes(self):
        """Bytes held by the index arrays."""
        return sum(a.nbytes for a in (self.starts, self.ends, self.maxend, self.ids,
                                      self.comp_bounds, self.chrom_comps))

    cdef int _query(self, chrom_index_t c, coord_t qs, coord_t qe, IdBuffer* out,
                    Hit** scratch, Py_ssize_t* scratch_cap, Py_ssize_t* cursor,
                    coord_t* cursor_qs) noexcept nogil:
        """Append the ids of the regions hit by [qs, qe) on chromosome c; return how many
        (or -1 when out of memory).

        ``cursor[j]`` remembers component j's last lower bound and ``cursor_qs[j]`` the
        query start it was found for: the bound only grows with the query start, so when
        queries come sorted (gtars' order) each search gallops a few steps from there
        instead of a cache-missing binary search over the whole chromosome."""
        cdef Py_ssize_t j, a, b, hi, lo, k, first = out.n, n_comps, h, hits
        cdef int comps_hit = 0
        cdef Hit* s
        if c < 0 or c >= self.n_chroms:
            return 0
        n_comps = self._chrom_comps[c + 1] - self._chrom_comps[c]
        for j in range(self._chrom_comps[c], self._chrom_comps[c + 1]):
            a = self._comp_bounds[j]
            b = self._comp_bounds[j + 1]
            if qs >= cursor_qs[j]:
                lo = _gallop_gt(self._maxend, cursor[j], b, qs)
            else:
                lo = _first_gt(self._maxend, a, b, qs)
            cursor[j] = lo
            cursor_qs[j] = qs
            hi = _gallop_ge(self._starts, lo, b, qe)
            h = out.n
            for k in range(lo, hi):
                if self._ends[k] > qs:
                    if _push(out, self._ids[k]) < 0:
                        return -1
            if out.n > h:
                comps_hit += 1
        hits = out.n - first
        if comps_hit > 1:
            # hits from several components: restore (start, end) order for this query
            if hits > scratch_cap[0]:
                s = <Hit*>realloc(scratch[0], hits * sizeof(Hit))
                if s == NULL:
                    return -1
                scratch[0] = s
                scratch_cap[0] = hits
            s = scratch[0]
            h = 0
            for j in range(self._chrom_comps[c], self._chrom_comps[c + 1]):
                a = self._comp_bounds[j]
                b = self._comp_bounds[j + 1]
                hi = _first_ge(self._starts, a, b, qe)
                lo = _first_gt(self._maxend, a, hi, qs)
                for k in range(lo, hi):
                    if self._ends[k] > qs:
                        s[h].start = self._starts[k]
                        s[h].end = self._ends[k]
                        s[h].id = self._ids[k]
                        h += 1
            qsort(s, hits, sizeof(Hit), _cmp_hits)
            for h in range(hits):
                out.data[first + h] = s[h].id
        return hits

    def _new_cursors(self):
        # per component: the last lower bound found (from the component's first region)
        # and the query start it was found for (see _query)
        n_comps = self.comp_bounds.shape[0] - 1
        return (np.asarray(self.comp_bounds[:n_comps], dtype=np.intp).copy(),
                np.zeros(n_comps, dtype=np.uint32))

    def tokenize(self, const int32_t[::1] chroms, const uint32_t[::1] starts,
                 const uint32_t[::1] ends, order, uint32_t unk_id, bint unk_per_region):
        """Token ids of the query regions visited in ``order`` (an int64 array of row
        indices, or None for row order). Chromosome indices outside the index hit nothing.
        A query without a hit gives ``unk_id`` when ``unk_per_region``; otherwise a whole
        result without any hit is ``[unk_id]``."""
        cdef Py_ssize_t n = chroms.shape[0], m, i, r = 0, got
        cdef const int64_t[::1] rows
        cdef const int64_t* rows_ptr = NULL
        cdef IdBuffer out
        cdef Hit* scratch = NULL
        cdef Py_ssize_t scratch_cap = 0
        cdef bint failed = False
        cdef Py_ssize_t n_comps = self.comp_bounds.shape[0] - 1
        cursor_arr, cursor_qs_arr = self._new_cursors()
        cdef Py_ssize_t[::1] cursor = cursor_arr
        cdef uint32_t[::1] cursor_qs = cursor_qs_arr
        cdef Py_ssize_t* cursor_ptr = &cursor[0] if n_comps else NULL
        cdef uint32_t* cursor_qs_ptr = &cursor_qs[0] if n_comps else NULL
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
            for i in range(m):
                r = rows_ptr[i] if rows_ptr != NULL else i
                if r < 0 or r >= n:
                    failed = True
                    break
                got = self._query(chroms[r], starts[r], ends[r], &out, &scratch, &scratch_cap,
                                  cursor_ptr, cursor_qs_ptr)
                if got < 0 or (got == 0 and unk_per_region and _push(&out, unk_id) < 0):
                    failed = True
                    break
            if not failed and out.n == 0:
                failed = _push(&out, unk_id) < 0
        free(scratch)
        if failed:
            free(out.data)
            if r < 0 or r >= n:
                raise IndexError(f"order holds row {r}, outside 0..{n - 1}")
            raise MemoryError()
        return _take_ids(&out)

    def hits_per_query(self, const int32_t[::1] chroms, const uint32_t[::1] starts,
                       const uint32_t[::1] ends):
        """Each query's hits separately: ``(ids, offsets)``, query i's hits being
        ``ids[offsets[i]:offsets[i + 1]]`` (int64 offsets, ``n + 1`` of them), in the same
        order :meth:`tokenize` gives them; a query without a hit has none (no ``<unk>``)."""
        cdef Py_ssize_t n = chroms.shape[0], i, got
        cdef IdBuffer out
        cdef Hit* scratch = NULL
        cdef Py_ssize_t scratch_cap = 0
        cdef bint failed = False
        cdef Py_ssize_t n_comps = self.comp_bounds.shape[0] - 1
        cursor_arr, cursor_qs_arr = self._new_cursors()
        cdef Py_ssize_t[::1] cursor = cursor_arr
        cdef uint32_t[::1] cursor_qs = cursor_qs_arr
        cdef Py_ssize_t* cursor_ptr = &cursor[0] if n_comps else NULL
        cdef uint32_t* cursor_qs_ptr = &cursor_qs[0] if n_comps else NULL
        if starts.shape[0] != n or ends.shape[0] != n:
            raise ValueError("query columns differ in length")
        offsets_arr = np.zeros(n + 1, dtype=np.int64)
        cdef int64_t[::1] offsets = offsets_arr
        out.data = NULL
        out.n = 0
        out.cap = 0
        with nogil:
            for i in range(n):
                got = self._query(chroms[i], starts[i], ends[i], &out, &scratch, &scratch_cap,
                                  cursor_ptr, cursor_qs_ptr)
                if got < 0:
                    failed = True
                    break
                offsets[i + 1] = out.n
        free(scratch)
        if failed:
            free(out.data)
            raise MemoryError()
        return _take_ids(&out), offsets_arr


cdef void _sort_runs_by_end(const uint64_t* keys, const uint32_t* ends, int64_t* order,
                            Py_ssize_t n) noexcept nogil:
    # Within each run of equal (chromosome, start) keys, order rows by end; a stable
    # insertion sort, so equal regions stay in row (file) order. Runs are short.
    cdef Py_ssize_t a = 0, b, i, j
    cdef int64_t row
    while a < n:
        b = a + 1
        while b < n and keys[b] == keys[a]:
            b += 1
        for i in range(a + 1, b):
            row = order[i]
            j = i
            while j > a and ends[order[j - 1]] > ends[row]:
                order[j] = order[j - 1]
                j -= 1
            order[j] = row
        a = b


cdef inline Py_ssize_t _at(const int64_t* rows, Py_ssize_t a, Py_ssize_t t) noexcept nogil:
    # the t-th region of a component pass: position a + t on the first pass, rows[t] later
    return a + t if rows == NULL else rows[t]


cdef Py_ssize_t _components(const uint32_t* s_start, const uint32_t* s_end,
                            const uint32_t* s_id, Py_ssize_t a, Py_ssize_t b,
                            int64_t* moved_a, int64_t* moved_b, uint32_t* o_start,
                            uint32_t* o_end, uint32_t* o_max, uint32_t* o_id, Py_ssize_t pos,
                            int64_t* comp_bounds, Py_ssize_t* n_comps) noexcept nogil:
    """Split the sorted regions [a, b) of one chromosome into components and write them at
    ``pos`` in the output arrays; return the new end position.

    The first pass reads the regions in place; the regions a pass moves to the next
    component are listed in ``moved_a`` / ``moved_b`` (each room for b - a positions, used in
    turn), so a chromosome without long regions touches neither. ``s_id`` NULL means a
    region's id is its position."""
    cdef Py_ssize_t n_cur = b - a, n_moved, n_kept, t, u, look, covered, level = 0, k
    cdef const int64_t* rows = NULL
    cdef int64_t* moved = moved_a
    cdef uint32_t mx, end
    while n_cur > 0:
        n_moved = 0
        n_kept = 0
        mx = 0
        for t in range(n_cur):
            k = _at(rows, a, t)
            end = s_end[k]
            covered = 0
            look = n_cur - t - 1
            if look > WINDOW:
                look = WINDOW
            # a region that ends before the next one starts covers nothing: the usual,
            # non-overlapping case costs one comparison
            if (level < MAX_LEVELS - 1 and look >= WINDOW // 2
                    and s_start[_at(rows, a, t + 1)] < end):
                for u in range(1, look + 1):
                    if s_end[_at(rows, a, t + u)] <= end:
                        covered += 1
            if covered >= WINDOW // 2:
                moved[n_moved] = k
                n_moved += 1
            else:
                # kept: written out in order (the lists are read, never compacted, so the
                # look-ahead above always sees this pass's regions)
                o_start[pos] = s_start[k]
                o_end[pos] = end
                o_id[pos] = <uint32_t>k if s_id == NULL else s_id[k]
                if end > mx:
                    mx = end
                o_max[pos] = mx
                pos += 1
                n_kept += 1
        if n_kept:
            n_comps[0] += 1
            comp_bounds[n_comps[0]] = pos
        rows = moved
        moved = moved_b if moved == moved_a else moved_a
        n_cur = n_moved
        level += 1
    return pos


cdef Py_ssize_t _in_order(const int32_t* chroms, const uint32_t* starts, const uint32_t* ends,
                          Py_ssize_t n, Py_ssize_t n_chroms, bint* ordered) noexcept nogil:
    """Check every row's chromosome index (return the first row outside 0..n_chroms-1, or
    -1) and whether the rows are strictly increasing by (chromosome, start, end): sorted,
    without a repeated row (``ordered``)."""
    cdef Py_ssize_t i
    cdef bint inc = True
    for i in range(n):
        if chroms[i] < 0 or chroms[i] >= n_chroms:
            return i
        if inc and i and (chroms[i] < chroms[i - 1] or (chroms[i] == chroms[i - 1] and (
                starts[i] < starts[i - 1] or (starts[i] == starts[i - 1]
                                              and ends[i] <= ends[i - 1])))):
            inc = False
    ordered[0] = inc
    return -1


def build_index(const int32_t[::1] chroms, const uint32_t[::1] starts,
                const uint32_t[::1] ends, Py_ssize_t n_chroms):
    """Build the overlap index of universe rows given in file order.

    Row ``i`` is on chromosome ``chroms[i]`` (0..n_chroms-1). A row equal to an earlier one
    (same chromosome, start and end) is a duplicate: it is indexed once, under the id of its
    first occurrence. The other rows get ids 0..N-1 in file order.

    Returns ``(index, unique_rows)``: the :class:`OverlapIndex` and, when some rows repeat,
    the int64 row numbers of the N distinct regions in id order (region ``id`` is row
    ``unique_rows[id]``); ``None`` when every row is distinct (region ``id`` is row ``id``).

    Rows already sorted by (chromosome index, start, end) without repeats -- a sorted BED
    file -- are indexed where they are; other rows are sorted first.
    """
    cdef Py_ssize_t n = chroms.shape[0], m, a, b, pos, n_comps = 0, bad
    cdef int32_t c
    cdef bint ordered = True
    if starts.shape[0] != n or ends.shape[0] != n:
        raise ValueError("universe columns differ in length")
    if n == 0:
        return (OverlapIndex(np.empty(0, np.uint32), np.empty(0, np.uint32),
                             np.empty(0, np.uint32), np.empty(0, np.uint32),
                             np.zeros(1, np.int64), np.zeros(n_chroms + 1, np.int64)), None)
    with nogil:
        bad = _in_order(&chroms[0], &starts[0], &ends[0], n, n_chroms, &ordered)
    if bad >= 0:
        raise ValueError(f"row {bad} has chromosome index {chroms[bad]}, outside "
                         f"0..{n_chroms - 1}")
    # the distinct regions in (chromosome, start, end) order
    cdef const int32_t* s_chrom = &chroms[0]
    cdef const uint32_t* s_start = &starts[0]
    cdef const uint32_t* s_end = &ends[0]
    cdef const uint32_t* s_id = NULL   # the rows themselves: a region's id is its row
    cdef int32_t[::1] sorted_chroms
    cdef uint32_t[::1] sorted_starts, sorted_ends, sorted_ids
    unique_rows = None
    m = n
    if not ordered:
        unique_rows, sorted_chroms, sorted_starts, sorted_ends, sorted_ids = _sorted_distinct(
            chroms, starts, ends)
        m = sorted_ids.shape[0]
        if m == n:
            unique_rows = None
        s_chrom = &sorted_chroms[0]
        s_start = &sorted_starts[0]
        s_end = &sorted_ends[0]
        s_id = &sorted_ids[0]
    o_start_arr = np.empty(m, dtype=np.uint32)
    o_end_arr = np.empty(m, dtype=np.uint32)
    o_max_arr = np.empty(m, dtype=np.uint32)
    o_id_arr = np.empty(m, dtype=np.uint32)
    # a chromosome has MAX_LEVELS components at most
    comp_bounds_arr = np.zeros(min(m, n_chroms * MAX_LEVELS) + 1, dtype=np.int64)
    chrom_comps_arr = np.zeros(n_chroms + 1, dtype=np.int64)
    # the passes' lists of moved regions: only pages that a pass writes are ever touched
    moved_arr = np.empty(2 * m, dtype=np.int64)
    cdef uint32_t[::1] o_start = o_start_arr, o_end = o_end_arr, o_max = o_max_arr
    cdef uint32_t[::1] o_id = o_id_arr
    cdef int64_t[::1] chrom_comps = chrom_comps_arr, comp_bounds = comp_bounds_arr
    cdef int64_t[::1] moved = moved_arr
    with nogil:
        # one chromosome after another (sorted by chromosome index), components each
        pos = 0
        a = 0
        for c in range(n_chroms):
            chrom_comps[c] = n_comps
            b = a
            while b < m and s_chrom[b] == c:
                b += 1
            if b > a:
                pos = _components(s_start, s_end, s_id, a, b, &moved[0], &moved[m],
                                  &o_start[0], &o_end[0], &o_max[0], &o_id[0], pos,
                                  &comp_bounds[0], &n_comps)
            a = b
        chrom_comps[n_chroms] = n_comps
    index = OverlapIndex(o_start_arr, o_end_arr, o_max_arr, o_id_arr,
                         comp_bounds_arr[:n_comps + 1].copy(), chrom_comps_arr)
    return index, unique_rows


def _sorted_distinct(const int32_t[::1] chroms, const uint32_t[::1] starts,
                     const uint32_t[::1] ends):
    """Rows that are not in order: sort them by (chromosome, start, end), stably, and drop
    the repeats. Returns ``(unique_rows, chroms, starts, ends, ids)``: the row numbers of
    the distinct regions in id (file) order, and the distinct regions' columns and ids in
    sorted order."""
    cdef Py_ssize_t n = chroms.shape[0], i, k, m
    cdef int rc = 0
    keys_arr = np.empty(n, dtype=np.uint64)
    order_arr = np.empty(n, dtype=np.int64)
    row_id_arr = np.empty(n, dtype=np.int64)
    cdef uint64_t[::1] keys = keys_arr
    cdef int64_t[::1] order = order_arr
    cdef int64_t[::1] row_id = row_id_arr
    with nogil:
        for i in range(n):
            keys[i] = (<uint64_t>chroms[i] << 32) | starts[i]
        rc = argsort_u64(&keys[0], &order[0], n)
        if rc == 0:
            _sort_runs_by_end(&keys[0], &ends[0], &order[0], n)
            # duplicates are now adjacent, the first occurrence first: mark the others
            for i in range(n):
                row_id[i] = 0
            for k in range(1, n):
                if keys[k] == keys[k - 1] and ends[order[k]] == ends[order[k - 1]]:
                    row_id[order[k]] = -1   # a repeat of an earlier row
    if rc:
        raise MemoryError()
    # ids in file order for the distinct rows
    is_unique = row_id_arr == 0
    unique_rows = np.flatnonzero(is_unique)
    m = unique_rows.shape[0]
    row_id_arr[unique_rows] = np.arange(m, dtype=np.int64)
    del is_unique
    s_chrom_arr = np.empty(m, dtype=np.int32)
    s_start_arr = np.empty(m, dtype=np.uint32)
    s_end_arr = np.empty(m, dtype=np.uint32)
    s_id_arr = np.empty(m, dtype=np.uint32)
    cdef int32_t[::1] s_chrom = s_chrom_arr
    cdef uint32_t[::1] s_start = s_start_arr, s_end = s_end_arr, s_id = s_id_arr
    with nogil:
        m = 0
        for k in range(n):
            i = order[k]
            if row_id[i] >= 0:
                s_start[m] = starts[i]
                s_end[m] = ends[i]
                s_id[m] = <uint32_t>row_id[i]
                s_chrom[m] = chroms[i]
                m += 1
    return unique_rows.astype(np.int64, copy=False), s_chrom_arr, s_start_arr, s_end_arr, s_id_arr
