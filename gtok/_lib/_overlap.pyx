"""The chromosome-partitioned sorted-array overlap index, and its searches.

Layout. The distinct universe regions are sorted by (chromosome, start, end). Each
chromosome's run is split into a few *components* (the idea of an augmented interval list):
a region that contains at least half of the next 20 regions is moved to the next component,
so long regions (a 170 Mb region among 1 kb ones) do not make every search scan. The
components are stored one after another in parallel uint32 arrays: ``starts``, ``ends``,
``maxend`` (the running maximum of ``ends`` within the component) and ``ids``. Two of them
are often not stored at all:

* ``ids`` is None when a region's id is its position: a universe file already sorted
  (chromosomes in blocks, then start, then end, no repeated row) in which no region is moved
  to a second component. ``starts`` and ``ends`` are then the universe's own columns (the
  :class:`~gtok.universe.Universe` holds the same arrays for decoding): 8 bytes a region;
* ``maxend`` is ``ends`` itself (the same array) when ``ends`` never decreases within a
  component (every non-overlapping universe, and any whose regions have one width).

Skip levels. The search for a query's first candidate reads ``maxend``, a key that does
not decrease within a component. Above it sit small *skip levels*, made when the index is
(not pickled): level 1 holds every 16th key, level 2 every 16th key of level 1, and so on
up to a level of at most 16 keys; about 0.27 bytes a region. Positions are counted from
the start of maxend's first 64-byte line (the *skew*) and the levels are aligned, so 16
keys of a level are one line. Searching from a position (the last query's, when queries
come sorted), the search climbs while the rest of that position's line holds no larger
key, then reads one line a level on the way down: the upper levels stay in cache, instead
of the ~20 dependent reads of a binary search or a gallop over a 40 MB array.

Position buckets. A chromosome of one component also has a table of *buckets*, made with
the skip levels: its span cut in 2**shift-wide buckets (the shift the smallest giving at
most BUCKET_REGIONS = 8 regions a bucket on average), bucket k holding the first position
whose maxend is > k << shift. A query starting at qs has its first candidate between
buckets qs >> shift and the next, usually fewer than 16 keys apart: one table read and 16
keys compared at once, whatever came before (:func:`gtok._lib._runs.tokenize_rows`, for
runs of queries in gtars' order). At most 0.5 bytes a region (and 16 a chromosome).

Search ahead. A kernel that has its queries in advance calls :meth:`OverlapIndex._ahead`
for query i + AHEAD before answering query i: that search reads only the skip levels and
fetches (``__builtin_prefetch``) the lines of maxend, starts and ids the query will read,
without waiting; it leaves, per component, a position at most 16 before the first
candidate (a *hint*). :meth:`OverlapIndex._query` given the hint reads one line already
in cache, so the cache misses of 16 queries overlap instead of following one another.

Search. A query [qs, qe) hits u when ``u.start < qe and u.end > qs`` (half-open, strict).
In one component, the candidates with ``start < qe`` are a prefix (``starts`` does not
decrease), and within it the first index whose ``maxend > qs`` bounds the rest (the skip
levels), so the scan visits only possible hits, plus the few regions nested inside them.
Hits come out in (start, end) order; when two components of a chromosome both hit, the
query's hits are sorted by (start, end) once.

The index is built by :func:`gtok._lib._indexbuild.build_index`; queries in gtars' order
are tokenized by :func:`gtok._lib._runs.tokenize_rows`, in-memory ones by
:func:`gtok._lib._inorder.tokenize_docs`.
"""

import numpy as np

from libc.stdint cimport UINT32_MAX, int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport free, qsort, realloc

from gtok._lib._keysearch cimport _first_ge, _gallop_ge, _line_gt
from gtok._lib._types cimport chrom_index_t, coord_t, token_id_t
from cython.view cimport array as cvarray

cdef extern from *:
    void __builtin_prefetch(const void* addr) noexcept nogil

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


cdef object _take_ids(IdBuffer* buf):
    """The buffer's ids as a uint32 array that owns them: the buffer, shrunk to its ids
    (in place, as a rule), is handed to the array, which frees it (no copy: ~0.4 ns an id,
    4 ms of a 200-file run). Frees the buffer on failure."""
    cdef cvarray owner
    cdef token_id_t* data
    if buf.n == 0:
        free(buf.data)
        buf.data = NULL
        buf.cap = 0
        return np.empty(0, dtype=np.uint32)
    data = <token_id_t*>realloc(buf.data, buf.n * sizeof(token_id_t))
    if data != NULL:
        buf.data = data
    try:
        owner = cvarray(shape=(buf.n,), itemsize=sizeof(token_id_t), format="I",
                        allocate_buffer=False)
    except BaseException:
        free(buf.data)
        buf.data = NULL
        raise
    owner.data = <char*>buf.data
    owner.callback_free_data = free
    buf.data = NULL
    buf.n = buf.cap = 0
    return np.asarray(owner)


def _as_u32(arr):
    # the array itself when it is one already (shared with the universe's columns, also
    # after unpickling: np.ascontiguousarray would give a new view of an unpickled one)
    if isinstance(arr, np.ndarray) and arr.dtype == np.uint32 and arr.flags.c_contiguous:
        return arr
    return np.ascontiguousarray(arr, dtype=np.uint32)


cdef class OverlapIndex:
    """The universe's overlap index (see the module docstring). Build with
    :func:`~gtok._lib._indexbuild.build_index`; it pickles as its arrays (``maxend`` as None
    when it is ``ends``; the skip levels are made again), so unpickling does not sort
    again."""

    def __init__(self, starts, ends, maxend, ids, comp_bounds, chrom_comps):
        self.starts = _as_u32(starts)
        self.ends = _as_u32(ends)
        # None: ends never decreases within a component (maxend is ends)
        self.maxend = self.ends if maxend is None else _as_u32(maxend)
        # None: a region's id is its position
        self.ids = None if ids is None else _as_u32(ids)
        self.comp_bounds = np.ascontiguousarray(comp_bounds, dtype=np.int64)
        self.chrom_comps = np.ascontiguousarray(chrom_comps, dtype=np.int64)
        n = self.starts.shape[0]
        if not (self.ends.shape[0] == self.maxend.shape[0] == n
                and (self.ids is None or self.ids.shape[0] == n)):
            raise ValueError("index arrays differ in length")
        if self.ids is None and n > 2**32:
            raise ValueError("too many regions for uint32 ids")
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
        # the most components a chromosome has (1 at least)
        self.max_comps = max(1, int(np.diff(self.chrom_comps).max(initial=0)))
        self._starts = <const uint32_t*>self._ptr(self.starts)
        self._ends = <const uint32_t*>self._ptr(self.ends)
        self._maxend = <const uint32_t*>self._ptr(self.maxend)
        self._ids = NULL if self.ids is None else <const uint32_t*>self._ptr(self.ids)
        self._comp_bounds = <const int64_t*>self._ptr(self.comp_bounds)
        self._chrom_comps = <const int64_t*>self._ptr(self.chrom_comps)
        self._make_levels()
        self._make_buckets()

    cdef const void* _ptr(self, arr):
        cdef const uint8_t[::1] view = arr.view(np.uint8)
        if view.shape[0] == 0:
            return NULL
        return &view[0]

    cdef int _make_levels(self) except -1:
        # the skip levels (module docstring), in one array aligned to 64 bytes: level
        # l >= 1 at a multiple of FAN keys, so a line position that is a multiple of FAN
        # starts a line at every level
        cdef Py_ssize_t n, size, i, l, total = 0, skew
        cdef Py_ssize_t offsets[N_LEVELS_MAX]
        cdef Py_ssize_t sizes[N_LEVELS_MAX]
        cdef int n_levels = 1
        cdef uint32_t* level
        cdef const uint32_t* below
        # maxend[k] is at line position k + skew (maxend's own lines: 4-byte keys)
        skew = (<size_t>self._maxend % 64) // 4
        n = self.n_regions + skew
        size = n
        sizes[0] = n
        while size > FAN and n_levels < N_LEVELS_MAX:
            size = (size + FAN - 1) // FAN
            offsets[n_levels] = total
            sizes[n_levels] = size
            total += (size + FAN - 1) // FAN * FAN
            n_levels += 1
        buf = np.empty(total + FAN, dtype=np.uint32)
        first = (-buf.ctypes.data) % 64 // 4
        self.skips = buf[first:first + total]
        self._n_levels = n_levels
        self._skew = skew
        self._level[0] = self._maxend
        if total == 0:
            return 0
        level = <uint32_t*>self._ptr(self.skips)
        with nogil:
            for l in range(1, n_levels):
                self._level[l] = level + offsets[l]
                below = self._level[l - 1]
                for i in range(sizes[l]):
                    # (line positions below the skew hold no key: never read)
                    if l > 1:
                        level[offsets[l] + i] = below[i * FAN]
                    elif i * FAN >= skew:
                        level[offsets[l] + i] = below[i * FAN - skew]
                    else:
                        level[offsets[l] + i] = 0
        return 0

    cdef int _make_buckets(self) except -1:
        # the position buckets (module docstring) of each chromosome of one component:
        # bucket k holds the first position whose maxend is > k << shift, the shift the
        # smallest giving at most BUCKET_REGIONS regions a bucket on average; the last
        # bucket lies past the largest end (its position: the component's end)
        cdef Py_ssize_t c, j, a, b, k, p, n_chroms = self.n_chroms
        cdef uint64_t span, edge
        cdef int shift
        cdef const coord_t* M = self._maxend
        bounds_arr = np.zeros(n_chroms + 1, dtype=np.int64)
        shifts_arr = np.zeros(n_chroms, dtype=np.uint8)
        cdef int64_t[::1] bounds = bounds_arr
        cdef uint8_t[::1] shifts = shifts_arr
        cdef uint32_t* T
        with nogil:
            for c in range(n_chroms):
                bounds[c + 1] = bounds[c]
                j = self._chrom_comps[c]
                if self._chrom_comps[c + 1] != j + 1 or self.n_regions > UINT32_MAX:
                    continue    # (several components: searched by _query)
                a = self._comp_bounds[j]
                b = self._comp_bounds[j + 1]
                if b == a:
                    continue    # (an empty component: a hand-made index; hits nothing)
                span = M[b - 1]     # the largest end (maxend does not decrease)
                shift = 0
                while shift < 32 and ((span >> shift) + 1) * BUCKET_REGIONS > <uint64_t>(b - a):
                    shift += 1
                shifts[c] = shift
                bounds[c + 1] = bounds[c] + <Py_ssize_t>(span >> shift) + 2
        self.buckets = np.empty(bounds[n_chroms], dtype=np.uint32)
        self.bucket_bounds = bounds_arr
        self.bucket_shifts = shifts_arr
        self._buckets = <const uint32_t*>self._ptr(self.buckets)
        self._bucket_bounds = &bounds[0]
        self._bucket_shifts = <const uint8_t*>self._ptr(shifts_arr)
        T = <uint32_t*>self._buckets
        with nogil:
            for c in range(n_chroms):
                if bounds[c + 1] == bounds[c]:
                    continue
                j = self._chrom_comps[c]
                b = self._comp_bounds[j + 1]
                p = self._comp_bounds[j]
                for k in range(bounds[c + 1] - bounds[c]):
                    edge = <uint64_t>k << shifts[c]
                    while p < b and M[p] <= edge:
                        p += 1
                    T[bounds[c] + k] = <uint32_t>p
        return 0

    def __reduce__(self):
        return (OverlapIndex, (self.starts, self.ends,
                               None if self.maxend is self.ends else self.maxend, self.ids,
                               self.comp_bounds, self.chrom_comps))

    @property
    def nbytes(self):
        """Bytes held by the index arrays (an array it shares with the universe's columns
        counted here too; an array held twice, once)."""
        held = {}
        for a in (self.starts, self.ends, self.maxend, self.ids, self.comp_bounds,
                  self.chrom_comps, self.skips, self.buckets, self.bucket_bounds,
                  self.bucket_shifts):
            if a is not None:
                a = a if a.base is None else a.base
                held[id(a)] = a.nbytes
        return sum(held.values())

    cdef Py_ssize_t _first_end_gt(self, Py_ssize_t lo, Py_ssize_t hi, coord_t x,
                                  bint exact) noexcept nogil:
        """The first k in [lo, hi) with maxend[k] > x (hi if none); [lo, hi) lies in one
        component (where maxend does not decrease). Not ``exact``: a position at most FAN
        before it, found without reading maxend itself (only the skip levels; the lines
        of the FAN keys are fetched, not waited for).

        In *line positions* (a position plus the skew: multiples of FAN start a 64-byte
        line of maxend, and of every level), a level-l key at i is the key at line
        position i * FAN**l, and the range [lo, hi) is [ceil(lo / FAN**l),
        ceil(hi / FAN**l)) there. From lo, climb while the rest of lo's line at a level
        holds no key > x (that line is usually in cache: the last search read it), then
        on the way down search one line of each level (_line_gt)."""
        cdef Py_ssize_t los[N_LEVELS_MAX]
        cdef Py_ssize_t his[N_LEVELS_MAX]
        cdef Py_ssize_t i, j, e, skew = self._skew
        cdef int l = 0
        cdef const coord_t* key = self._maxend
        lo += skew
        hi += skew
        # level 0 (keys at line position v are maxend[v - skew])
        e = (lo | (FAN - 1)) + 1
        if e >= hi or self._n_levels == 1:
            return _line_gt(key, lo - skew, hi - skew, x) if exact else lo - skew
        # (searching ahead, not even lo's line is read: its keys may still be on their way)
        if exact and key[e - 1 - skew] > x:
            return _line_gt(key, lo - skew, e - skew, x)   # in lo's line
        while True:
            los[l] = lo
            his[l] = hi
            lo = (lo + FAN - 1) // FAN
            hi = (hi + FAN - 1) // FAN
            l += 1
            key = self._level[l]
            e = (lo | (FAN - 1)) + 1
            if e >= hi:
                break
            if key[e - 1] > x:
                hi = e          # the answer is in lo's line
                break
            if l + 1 >= self._n_levels:
                break           # the top level (FAN keys at most, in two lines at most)
        j = _line_gt(key, lo, hi, x)
        while l > 0:
            # level l's answer j: key j * FAN of the level below is > x (unless past its
            # range), key (j - 1) * FAN is <= x (unless before it)
            l -= 1
            e = j * FAN
            if e > his[l]:
                e = his[l]
            i = (j - 1) * FAN
            if i < los[l]:
                i = los[l]
            if l:
                key = self._level[l]
                j = _line_gt(key, i, e, x)
            else:
                key = self._maxend
                i -= skew
                e -= skew
                if not exact:
                    return i
                # the scan that follows reads these lines: fetch them with the keys'
                __builtin_prefetch(self._starts + i)
                if self._maxend != self._ends:
                    __builtin_prefetch(self._ends + i)
                if self._ids != NULL:
                    __builtin_prefetch(self._ids + i)
                j = _line_gt(key, i, e, x)
        return j

    cdef void _ahead(self, chrom_index_t c, coord_t qs, Py_ssize_t* cursor,
                     coord_t* cursor_qs, Py_ssize_t* hint) noexcept nogil:
        """Search ahead for a later query starting at qs on chromosome c: per component
        of c, a position at most FAN before the query's first candidate into ``hint``
        (one slot of :meth:`_cursors`' hints), its lines fetched but not waited for.
        Called AHEAD queries before the query's :meth:`_query` (given the same slot), so
        the misses of several queries overlap, and :meth:`_query` then reads a line in
        cache. With its own cursors (:meth:`_cursors`' second halves)."""
        cdef Py_ssize_t j, a, lo
        if c < 0 or c >= self.n_chroms:
            return
        a = self._chrom_comps[c]
        for j in range(a, self._chrom_comps[c + 1]):
            lo = self._first_end_gt(cursor[j] if qs >= cursor_qs[j] else self._comp_bounds[j],
                                    self._comp_bounds[j + 1], qs, False)
            cursor[j] = lo
            cursor_qs[j] = qs
            hint[j - a] = lo
            __builtin_prefetch(self._maxend + lo)
            __builtin_prefetch(self._starts + lo)
            if self._maxend != self._ends:
                __builtin_prefetch(self._ends + lo)
            if self._ids != NULL:
                __builtin_prefetch(self._ids + lo)

    cdef int _query(self, chrom_index_t c, coord_t qs, coord_t qe, IdBuffer* out,
                    Hit** scratch, Py_ssize_t* scratch_cap, Py_ssize_t* cursor,
                    coord_t* cursor_qs, const Py_ssize_t* hint) noexcept nogil:
        """Append the ids of the regions hit by [qs, qe) on chromosome c; return how many
        (or -1 when out of memory).

        ``hint``: NULL, or the slot :meth:`_ahead` filled for this query: per component,
        a position at most FAN before the first candidate (the cursors are then unused).

        ``cursor[j]`` remembers component j's last lower bound and ``cursor_qs[j]`` the
        query start it was found for: the bound only grows with the query start, so when
        queries come sorted (gtars' order) each search starts from there (reading a line or
        two near it) instead of from the component's first region."""
        cdef Py_ssize_t j, a, b, hi, lo, k, first = out.n, h, hits
        cdef int comps_hit = 0
        cdef Hit* s
        cdef const token_id_t* ids = self._ids
        if c < 0 or c >= self.n_chroms:
            return 0
        for j in range(self._chrom_comps[c], self._chrom_comps[c + 1]):
            a = self._comp_bounds[j]
            b = self._comp_bounds[j + 1]
            if hint != NULL:
                lo = hint[j - self._chrom_comps[c]]
                lo = _line_gt(self._maxend, lo, min(lo + FAN, b), qs)
            else:
                lo = self._first_end_gt(cursor[j] if qs >= cursor_qs[j] else a, b, qs, True)
                cursor[j] = lo
                cursor_qs[j] = qs
            hi = _gallop_ge(self._starts, lo, b, qe)
            h = out.n
            for k in range(lo, hi):
                if self._ends[k] > qs:
                    if _push(out, <token_id_t>k if ids == NULL else ids[k]) < 0:
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
                lo = self._first_end_gt(a, hi, qs, True)
                for k in range(lo, hi):
                    if self._ends[k] > qs:
                        s[h].start = self._starts[k]
                        s[h].end = self._ends[k]
                        s[h].id = <token_id_t>k if ids == NULL else ids[k]
                        h += 1
            qsort(s, hits, sizeof(Hit), _cmp_hits)
            for h in range(hits):
                out.data[first + h] = s[h].id
        return hits

    cdef Py_ssize_t _query_rows(self, const int32_t* chroms, const coord_t* starts,
                                const coord_t* ends, Py_ssize_t n, const int64_t* rows,
                                Py_ssize_t i0, Py_ssize_t i1, IdBuffer* out,
                                Hit** scratch, Py_ssize_t* scratch_cap, Cursors* cur,
                                token_id_t unk_id, bint unk_per_region,
                                int64_t* offsets) noexcept nogil:
        """Append the ids of queries i0..i1 - 1 (query i is row ``rows[i]``, or row i when
        ``rows`` is NULL), each with :meth:`_query`, searched AHEAD queries ahead
        (``cur``: :meth:`_cursors`); when
        ``offsets`` is not NULL, ``offsets[i + 1]`` is where query i's ids end. Return -1
        when done, -2 when out of memory, or the first query whose row is outside
        0..n - 1."""
        cdef Py_ssize_t i, r, k, got, n_comps = cur.n_comps
        cdef Py_ssize_t* cursors = cur.cursor
        cdef coord_t* cursor_qs = cur.cursor_qs
        cdef Py_ssize_t* hints = cur.hints
        for i in range(i0, min(i1, i0 + <Py_ssize_t>AHEAD)):
            r = rows[i] if rows != NULL else i
            if 0 <= r < n:
                self._ahead(chroms[r], starts[r], cursors + n_comps, cursor_qs + n_comps,
                            &hints[(i % AHEAD) * self.max_comps])
        for i in range(i0, i1):
            r = rows[i] if rows != NULL else i
            if r < 0 or r >= n:
                return i
            k = (i % AHEAD) * self.max_comps
            got = self._query(chroms[r], starts[r], ends[r], out, scratch, scratch_cap,
                              cursors, cursor_qs, &hints[k])
            if got < 0 or (got == 0 and unk_per_region and _push(out, unk_id) < 0):
                return -2
            if offsets != NULL:
                offsets[i + 1] = out.n
            if i + AHEAD < i1:
                r = rows[i + AHEAD] if rows != NULL else i + AHEAD
                if 0 <= r < n:
                    self._ahead(chroms[r], starts[r], cursors + n_comps,
                                cursor_qs + n_comps, &hints[k])
        return -1

    cdef object _cursors(self, Cursors* cur):
        # The searches ahead's arrays, their data in ``cur``; the caller keeps the tuple
        # returned while it uses ``cur``. Per component: the last lower bound found (from
        # the component's first region) and the query start it was found for (see
        # _query); twice: the second half for the searches ahead (_ahead). Then AHEAD
        # slots of max_comps hints (_ahead): the hints of query i are at
        # (i % AHEAD) * max_comps.
        n_comps = self.comp_bounds.shape[0] - 1
        first = np.asarray(self.comp_bounds[:n_comps], dtype=np.intp)
        arrays = (np.concatenate((first, first)), np.zeros(2 * n_comps, dtype=np.uint32),
                  np.zeros(AHEAD * self.max_comps, dtype=np.intp))
        cdef Py_ssize_t[::1] cursor = arrays[0], hints = arrays[2]
        cdef coord_t[::1] cursor_qs = arrays[1]
        cur.n_comps = n_comps
        cur.cursor = &cursor[0] if n_comps else NULL
        cur.cursor_qs = &cursor_qs[0] if n_comps else NULL
        cur.hints = &hints[0]
        return arrays

    def hits_per_query(self, const int32_t[::1] chroms, const uint32_t[::1] starts,
                       const uint32_t[::1] ends):
        """Each query's hits separately: ``(ids, offsets)``, query i's hits being
        ``ids[offsets[i]:offsets[i + 1]]`` (int64 offsets, ``n + 1`` of them), in the
        order :func:`gtok._lib._runs.tokenize_rows` gives them; a query without a hit has
        none (no ``<unk>``)."""
        cdef Py_ssize_t n = chroms.shape[0], got = -1
        cdef IdBuffer out
        cdef Hit* scratch = NULL
        cdef Py_ssize_t scratch_cap = 0
        cdef Cursors cur
        held = self._cursors(&cur)  # (holds the arrays cur points into)
        if starts.shape[0] != n or ends.shape[0] != n:
            raise ValueError("query columns differ in length")
        offsets_arr = np.zeros(n + 1, dtype=np.int64)
        cdef int64_t[::1] offsets = offsets_arr
        out.data = NULL
        out.n = 0
        out.cap = 0
        if n:
            with nogil:
                got = self._query_rows(&chroms[0], &starts[0], &ends[0], n, NULL, 0, n, &out,
                                       &scratch, &scratch_cap, &cur, 0, False, &offsets[0])
        free(scratch)
        if got != -1:
            free(out.data)
            raise MemoryError()
        return _take_ids(&out), offsets_arr
