"""Building the overlap index (:class:`gtok._lib._overlap.OverlapIndex`) of universe rows.

Rows already sorted by (chromosome, start, end) without a repeat -- a sorted BED file --
are indexed where they are. When moreover no region is moved to a second component (no
region contains half of the next 20), a region's id is its position and the index holds
the rows' own ``starts`` and ``ends`` arrays (no ``ids``, no copies; ``maxend`` only when
``ends`` decreases somewhere within a chromosome). Other rows are sorted first (a radix
sort by (chromosome, start), then each run of equal starts by end) and the repeats dropped.
"""

import numpy as np

from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t

from gtok._lib._overlap import OverlapIndex
from gtok._lib._radix cimport argsort_u64

cdef enum:
    WINDOW = 20         # how many following regions a region is compared with
    MAX_COMPONENTS = 10  # components per chromosome at most (the last takes all the rest)


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
            if (level < MAX_COMPONENTS - 1 and look >= WINDOW // 2
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


cdef bint _moves_any(const int32_t* chroms, const uint32_t* starts, const uint32_t* ends,
                     Py_ssize_t n, bint* ends_grow) noexcept nogil:
    """Rows in order: whether :func:`_components`' first pass would move any region to a
    second component (the same test), and whether ``ends`` never decreases within a
    chromosome (``ends_grow``)."""
    cdef Py_ssize_t a = 0, b, t, u, look, covered
    cdef uint32_t end
    cdef bint grow = True
    while a < n:
        b = a + 1
        while b < n and chroms[b] == chroms[a]:
            b += 1
        for t in range(a, b):
            end = ends[t]
            if t + 1 < b and ends[t + 1] < end:
                grow = False
            look = b - t - 1
            if look > WINDOW:
                look = WINDOW
            if look >= WINDOW // 2 and starts[t + 1] < end:
                covered = 0
                for u in range(1, look + 1):
                    if ends[t + u] <= end:
                        covered += 1
                if covered >= WINDOW // 2:
                    return True
        a = b
    ends_grow[0] = grow
    return False


def _in_place(chroms, starts, ends, Py_ssize_t n_chroms):
    """The index of rows in order of which none moves: the rows' own ``starts`` and
    ``ends``, a component per chromosome with rows, ids their positions (None), and
    ``maxend`` None unless ``ends`` decreases within a chromosome. None if a row moves."""
    cdef const int32_t[::1] c = chroms
    cdef const uint32_t[::1] st = starts, e = ends
    cdef Py_ssize_t n = c.shape[0], i, n_comps = 0
    cdef bint moves, grow = True
    cdef uint32_t mx = 0
    with nogil:
        moves = _moves_any(&c[0], &st[0], &e[0], n, &grow)
    if moves:
        return None
    chrom_comps_arr = np.zeros(n_chroms + 1, dtype=np.int64)
    comp_bounds_arr = np.zeros(n_chroms + 1, dtype=np.int64)
    cdef int64_t[::1] chrom_comps = chrom_comps_arr, comp_bounds = comp_bounds_arr
    cdef uint32_t[::1] o_max
    maxend = None
    with nogil:
        # the rows are in chromosome blocks, in order: a component per block
        for i in range(n):
            if i + 1 == n or c[i + 1] != c[i]:
                n_comps += 1
                comp_bounds[n_comps] = i + 1
                chrom_comps[c[i] + 1] = n_comps
        for i in range(1, n_chroms + 1):
            if chrom_comps[i] < chrom_comps[i - 1]:
                chrom_comps[i] = chrom_comps[i - 1]   # a chromosome without rows
    if not grow:
        maxend = np.empty(n, dtype=np.uint32)
        o_max = maxend
        with nogil:
            for i in range(n):
                if i == 0 or c[i] != c[i - 1] or e[i] > mx:
                    mx = e[i]
                o_max[i] = mx
    return OverlapIndex(starts, ends, maxend, None, comp_bounds_arr[:n_comps + 1].copy(),
                        chrom_comps_arr)


def build_index(chroms, starts, ends, Py_ssize_t n_chroms):
    """Build the overlap index of universe rows given in file order (``chroms``: int32
    indices, ``starts`` and ``ends``: uint32; contiguous arrays).

    Row ``i`` is on chromosome ``chroms[i]`` (0..n_chroms-1). A row equal to an earlier one
    (same chromosome, start and end) is a duplicate: it is indexed once, under the id of its
    first occurrence. The other rows get ids 0..N-1 in file order.

    Returns ``(index, unique_rows)``: the :class:`OverlapIndex` and, when some rows repeat,
    the int64 row numbers of the N distinct regions in id order (region ``id`` is row
    ``unique_rows[id]``); ``None`` when every row is distinct (region ``id`` is row ``id``).

    Rows already sorted by (chromosome index, start, end) without repeats -- a sorted BED
    file -- are indexed where they are; when no region moves to a second component, the
    index holds the ``starts`` and ``ends`` arrays given (its ``ids`` None). Other rows are
    sorted first.
    """
    cdef const int32_t[::1] c_view = chroms
    cdef const uint32_t[::1] s_view = starts, e_view = ends
    cdef Py_ssize_t n = c_view.shape[0], m, a, b, pos, n_comps = 0, bad
    cdef int32_t c
    cdef bint ordered = True
    if s_view.shape[0] != n or e_view.shape[0] != n:
        raise ValueError("universe columns differ in length")
    if n == 0:
        return (OverlapIndex(np.empty(0, np.uint32), np.empty(0, np.uint32), None, None,
                             np.zeros(1, np.int64), np.zeros(n_chroms + 1, np.int64)), None)
    with nogil:
        bad = _in_order(&c_view[0], &s_view[0], &e_view[0], n, n_chroms, &ordered)
    if bad >= 0:
        raise ValueError(f"row {bad} has chromosome index {c_view[bad]}, outside "
                         f"0..{n_chroms - 1}")
    if ordered:
        index = _in_place(chroms, starts, ends, n_chroms)
        if index is not None:
            return index, None
    # the distinct regions in (chromosome, start, end) order
    cdef const int32_t* s_chrom = &c_view[0]
    cdef const uint32_t* s_start = &s_view[0]
    cdef const uint32_t* s_end = &e_view[0]
    cdef const uint32_t* s_id = NULL   # the rows themselves: a region's id is its row
    cdef int32_t[::1] sorted_chroms
    cdef uint32_t[::1] sorted_starts, sorted_ends, sorted_ids
    unique_rows = None
    m = n
    if not ordered:
        unique_rows, sorted_chroms, sorted_starts, sorted_ends, sorted_ids = _sorted_distinct(
            c_view, s_view, e_view)
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
    # a chromosome has MAX_COMPONENTS components at most
    comp_bounds_arr = np.zeros(min(m, n_chroms * MAX_COMPONENTS) + 1, dtype=np.int64)
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
    del moved_arr
    index = OverlapIndex(o_start_arr, o_end_arr,
                         None if np.array_equal(o_max_arr, o_end_arr) else o_max_arr,
                         o_id_arr, comp_bounds_arr[:n_comps + 1].copy(), chrom_comps_arr)
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
