"""Fragment files (``chrom start end barcode [count ...]``) to per-cell token ids, streamed.

:class:`FragmentTokenizer` is fed the (decompressed) text chunk by chunk; each call parses
the complete lines of its chunk without the GIL and returns how many bytes it consumed, so
the caller carries a partial last line over to the next chunk. Every fragment is tokenized
on its own with :meth:`gtok._lib._overlap.OverlapIndex._query` (one ``<unk>`` when it hits
nothing, or lies on a chromosome absent from the universe) and its ids end up in its
cell's buffer: one growing ``uint32`` buffer per cell, so memory is the output (4 bytes a
token) plus a small per-cell index, never an object per fragment.

In a position-sorted file (what Cell Ranger writes) consecutive lines belong to different
cells, and appending each fragment's ids to its own cell's buffer would touch another
buffer -- another cache line and, among thousands of buffers, another page -- every line.
So ids are first logged in file order with their cell (sequential writes), and every
``FLUSH_AT`` ids, and at the end of each :meth:`FragmentTokenizer.feed`, the log is
grouped by cell (a stable counting sort over the cells it holds) and each group appended
to its cell's buffer with one copy. Order within a cell stays file order.

Lines are parsed 8 bytes at a time straight from the buffer (gtok._lib._fragline's fast path;
anything unusual goes the general way). Barcodes map to dense cell indices, in order of
first appearance, through gtok._lib._celltable (keys of up to 24 bytes held inline, compared as
words); the allow-list is a :class:`~gtok._lib._chromtable.ChromTable`, asked once per distinct
barcode of up to 24 bytes. Line rules (the policy and messages live in gtok.singlecell.fragments):

- ``\\n`` or ``\\r\\n`` line ends; lines starting with ``#`` and blank lines are skipped;
- fields are tab-separated (a line without a tab is split on runs of spaces); columns 1-4
  (chrom, start, end, barcode) are used, the rest (the count) ignored;
- the first data line is a column header, and skipped, when its 2nd and 3rd fields are words;
- coordinates are decimal integers in 0..2**32-1 with start <= end; the chromosome and the
  barcode are not empty. Anything else is a bad line: parsing stops there, or counts it and
  goes on when asked.
"""

cimport cython
import numpy as np

from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc, qsort, realloc
from libc.string cimport memchr, memcpy

from gtok._lib._celltable cimport (CELL_EMPTY, CELL_NO_MEMORY, CellSlot, CellTable, _ct_add,
                              _ct_find, _ct_free, _ct_init, _ct_key)
from gtok._lib._chromtable cimport ChromTable
from gtok._lib._overlap cimport Hit, IdBuffer, OverlapIndex, _push
from gtok._lib._lineproblem cimport BARCODE_NOT_UTF8, OK, OUT_OF_MEMORY
from gtok._lib._textfields cimport _is_blank
from gtok._lib._fragline cimport (SKIP, Fields, _fast_line, _is_utf8,
                             _slow_fields)

cdef enum:
    FIRST_CAP = 8       # ids a new cell's buffer holds before it first grows
    FLUSH_AT = 1 << 18  # ids logged before they are moved to their cells' buffers


cdef inline bint _same(const unsigned char* a, const unsigned char* b,
                       Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        if a[i] != b[i]:
            return False
    return True


cdef int _cmp_u32(const void* a, const void* b) noexcept nogil:
    cdef uint32_t x = (<const uint32_t*>a)[0], y = (<const uint32_t*>b)[0]
    return (x > y) - (x < y)


cdef struct Last:
    # the previous line's chromosome and barcode (consecutive lines often share them);
    # the pointers are into the current feed's buffer
    const unsigned char* chrom
    Py_ssize_t chrom_len        # -1: none
    uint64_t chrom_word
    int32_t c
    Py_ssize_t bc_len           # -1: none
    uint64_t bc_w[3]
    int32_t cell


cdef struct CellStamp:
    # a cell's place among the cells of the log being flushed (see _flush)
    uint32_t flush
    int32_t local


@cython.final
cdef class FragmentTokenizer:
    """Streams fragment text into per-cell token buffers (see the module docstring).

    ``index`` and ``chroms`` are the universe's; ``allow`` (or None) is a table of the
    barcodes to keep. Feed text with :meth:`feed`; read the results with :meth:`counts`,
    :meth:`barcodes`, :meth:`make_unique` and :meth:`gather`.
    """

    cdef OverlapIndex index
    cdef ChromTable chroms
    cdef CellTable cells
    cdef ChromTable allow
    cdef uint32_t unk_id
    cdef uint32_t n_regions
    cdef bint skip_bad
    cdef bint header_allowed
    # per cell: its ids, its fragment count, its place in a flush (all cells_cap long)
    cdef IdBuffer* bufs
    cdef int64_t* frags
    cdef CellStamp* stamps
    cdef Py_ssize_t _n_cells
    cdef Py_ssize_t cells_cap
    # the log: ids in file order, each with its cell, moved to the cells' buffers by _flush
    cdef IdBuffer log
    cdef int32_t* log_cells
    cdef Py_ssize_t log_cells_cap
    # _flush's scratch: the ids grouped by cell, the cells, their runs' ends
    cdef uint32_t* grouped
    cdef Py_ssize_t grouped_cap
    cdef int32_t* flush_cells
    cdef Py_ssize_t* flush_ends
    cdef Py_ssize_t flush_cap
    cdef uint32_t n_flushes
    cdef Py_ssize_t* cursor
    cdef uint32_t* cursor_qs
    cdef Hit* scratch
    cdef Py_ssize_t scratch_cap
    cdef readonly int64_t n_lines, n_fragments, n_bad, n_filtered, n_unknown_chrom
    # the first bad line of the last feed (bad_line_no 0: none), in that feed's buffer
    cdef readonly int64_t bad_line_no
    cdef readonly Py_ssize_t bad_begin, bad_end
    cdef readonly int bad_code

    def __cinit__(self, OverlapIndex index not None, ChromTable chroms not None,
                  uint32_t unk_id, ChromTable allow=None, bint skip_bad=False):
        cdef Py_ssize_t n_comps = index.comp_bounds.shape[0] - 1, j
        self.index = index
        self.chroms = chroms
        if _ct_init(&self.cells) < 0:
            raise MemoryError()
        self.allow = allow
        self.unk_id = unk_id
        self.n_regions = <uint32_t>index.n_regions
        self.skip_bad = skip_bad
        self.header_allowed = True
        self.cursor = <Py_ssize_t*>malloc((n_comps + 1) * sizeof(Py_ssize_t))
        self.cursor_qs = <uint32_t*>malloc((n_comps + 1) * sizeof(uint32_t))
        if self.cursor == NULL or self.cursor_qs == NULL:
            raise MemoryError()
        for j in range(n_comps):
            self.cursor[j] = index._comp_bounds[j]
            self.cursor_qs[j] = 0

    def __dealloc__(self):
        cdef Py_ssize_t i
        if self.bufs != NULL:
            for i in range(self._n_cells):
                free(self.bufs[i].data)
        free(self.bufs)
        free(self.frags)
        free(self.stamps)
        free(self.log.data)
        free(self.log_cells)
        free(self.grouped)
        free(self.flush_cells)
        free(self.flush_ends)
        _ct_free(&self.cells)
        free(self.cursor)
        free(self.cursor_qs)
        free(self.scratch)

    cdef int _new_cell(self) noexcept nogil:
        # room for cell number n_cells (just added to self.cells); -1 when out of memory
        cdef Py_ssize_t cap
        cdef void* grown
        cdef IdBuffer* buf
        if self._n_cells == self.cells_cap:
            cap = 2 * self.cells_cap if self.cells_cap else 1024
            grown = realloc(self.bufs, cap * sizeof(IdBuffer))
            if grown == NULL:
                return -1
            self.bufs = <IdBuffer*>grown
            grown = realloc(self.frags, cap * sizeof(int64_t))
            if grown == NULL:
                return -1
            self.frags = <int64_t*>grown
            grown = realloc(self.stamps, cap * sizeof(CellStamp))
            if grown == NULL:
                return -1
            self.stamps = <CellStamp*>grown
            self.cells_cap = cap
        buf = &self.bufs[self._n_cells]
        buf.data = <uint32_t*>malloc(FIRST_CAP * sizeof(uint32_t))
        if buf.data == NULL:
            return -1
        buf.n = 0
        buf.cap = FIRST_CAP
        self.frags[self._n_cells] = 0
        self.stamps[self._n_cells].flush = 0
        self._n_cells += 1
        return 0

    cdef int _flush(self) noexcept nogil:
        """Move the logged ids to their cells' buffers, in order; OK or OUT_OF_MEMORY."""
        cdef Py_ssize_t n = self.log.n, i, l, n_local = 0, a, b, cap
        cdef const uint32_t* ids = self.log.data
        cdef const int32_t* cells = self.log_cells
        cdef int32_t c, prev = -1
        cdef int32_t here = 0
        cdef CellStamp* st
        cdef IdBuffer* buf
        cdef void* grown
        if n == 0:
            return OK
        if n > self.grouped_cap:
            cap = max(n, 2 * self.grouped_cap)
            free(self.grouped)
            self.grouped = <uint32_t*>malloc(cap * sizeof(uint32_t))
            if self.grouped == NULL:
                self.grouped_cap = 0
                return OUT_OF_MEMORY
            self.grouped_cap = cap
        cap = min(n, self._n_cells)
        if cap > self.flush_cap:
            cap = max(cap, 2 * self.flush_cap)
            free(self.flush_cells)
            free(self.flush_ends)
            self.flush_cells = <int32_t*>malloc(cap * sizeof(int32_t))
            self.flush_ends = <Py_ssize_t*>malloc(cap * sizeof(Py_ssize_t))
            if self.flush_cells == NULL or self.flush_ends == NULL:
                self.flush_cap = 0
                return OUT_OF_MEMORY
            self.flush_cap = cap
        self.n_flushes += 1
        if self.n_flushes == 0:      # (wrapped: no stamp may look current)
            for i in range(self._n_cells):
                self.stamps[i].flush = 0
            self.n_flushes = 1
        # the cells in order of first appearance in the log, and how many ids each has
        for i in range(n):
            c = cells[i]
            if c != prev:
                st = &self.stamps[c]
                if st.flush != self.n_flushes:
                    st.flush = self.n_flushes
                    st.local = <int32_t>n_local
                    self.flush_cells[n_local] = c
                    self.flush_ends[n_local] = 0
                    n_local += 1
                here = st.local
                prev = c
            self.flush_ends[here] += 1
        # each cell's run starts where the previous one ends (ends become starts here,
        # and ends again once the ids are placed)
        a = 0
        for l in range(n_local):
            b = a + self.flush_ends[l]
            self.flush_ends[l] = a
            a = b
        prev = -1
        for i in range(n):
            c = cells[i]
            if c != prev:
                here = self.stamps[c].local
                prev = c
            self.grouped[self.flush_ends[here]] = ids[i]
            self.flush_ends[here] += 1
        # room in every cell first (out of memory then leaves the buffers as they were),
        # then one copy per cell
        a = 0
        for l in range(n_local):
            b = self.flush_ends[l]
            buf = &self.bufs[self.flush_cells[l]]
            if buf.n + (b - a) > buf.cap:
                cap = max(2 * buf.cap, buf.n + (b - a))
                grown = realloc(buf.data, cap * sizeof(uint32_t))
                if grown == NULL:
                    return OUT_OF_MEMORY
                buf.data = <uint32_t*>grown
                buf.cap = cap
            a = b
        a = 0
        for l in range(n_local):
            b = self.flush_ends[l]
            buf = &self.bufs[self.flush_cells[l]]
            memcpy(buf.data + buf.n, self.grouped + a, (b - a) * sizeof(uint32_t))
            buf.n += b - a
            a = b
        self.log.n = 0
        return OK

    cdef int _record(self, Fields* f, Last* last) noexcept nogil:
        """Tokenize one parsed fragment into the log; OK, BARCODE_NOT_UTF8 (a new
        barcode that is not UTF-8: a bad line) or OUT_OF_MEMORY."""
        cdef int32_t cell, c
        cdef bint filtered
        cdef CellSlot* slot
        cdef Py_ssize_t first, k
        cdef int32_t* grown
        cdef int got
        if (f.bc_len == last.bc_len and f.bc_w[0] == last.bc_w[0]
                and f.bc_w[1] == last.bc_w[1] and f.bc_w[2] == last.bc_w[2]):
            cell = last.cell
        else:
            slot = _ct_find(&self.cells, f.bc, f.bc_len, f.bc_w[0], f.bc_w[1], f.bc_w[2])
            cell = slot.value
            if cell == CELL_EMPTY:
                filtered = (self.allow is not None
                            and self.allow.lookup(<const char*>f.bc, f.bc_len) < 0)
                # a cell's barcode names it (a str): text, checked once per new barcode
                if not filtered and not _is_utf8(f.bc, f.bc_len):
                    return BARCODE_NOT_UTF8
                cell = _ct_add(&self.cells, slot, f.bc, f.bc_len, f.bc_w[0], f.bc_w[1],
                               f.bc_w[2], filtered)
                if cell == CELL_NO_MEMORY:
                    return OUT_OF_MEMORY
                if cell == self._n_cells and self._new_cell() < 0:
                    return OUT_OF_MEMORY
            last.bc_len = f.bc_len if f.bc_len <= 24 else -1   # longer: the words differ
            last.bc_w[0] = f.bc_w[0]
            last.bc_w[1] = f.bc_w[1]
            last.bc_w[2] = f.bc_w[2]
            last.cell = cell
        if cell < 0:
            self.n_filtered += 1
            return OK
        self.n_fragments += 1
        self.frags[cell] += 1
        first = self.log.n
        if (f.chrom_len == last.chrom_len and f.chrom_word == last.chrom_word
                and (f.chrom_len <= 8 or _same(last.chrom + 8, f.chrom + 8, f.chrom_len - 8))):
            c = last.c
        else:
            c = self.chroms.lookup(<const char*>f.chrom, f.chrom_len)
            last.chrom = f.chrom
            last.chrom_len = f.chrom_len
            last.chrom_word = f.chrom_word
            last.c = c
        if c < 0:
            self.n_unknown_chrom += 1
            got = 0
        else:
            got = self.index._query(c, f.start, f.end, &self.log, &self.scratch,
                                    &self.scratch_cap, self.cursor, self.cursor_qs, NULL)
            if got < 0:
                self.log.n = first      # (every logged id has its cell)
                return OUT_OF_MEMORY
        if got == 0 and _push(&self.log, self.unk_id) < 0:
            self.log.n = first
            return OUT_OF_MEMORY
        if self.log.n > self.log_cells_cap:
            grown = <int32_t*>realloc(self.log_cells, self.log.cap * sizeof(int32_t))
            if grown == NULL:
                self.log.n = first
                return OUT_OF_MEMORY
            self.log_cells = grown
            self.log_cells_cap = self.log.cap
        for k in range(first, self.log.n):
            self.log_cells[k] = cell
        if self.log.n >= FLUSH_AT:
            return self._flush()
        return OK

    cdef int _line(self, const unsigned char* s, Py_ssize_t n, Fields* f) noexcept nogil:
        """Parse (the general way) one non-blank, non-comment line into ``f``; OK, SKIP
        or a problem."""
        cdef Py_ssize_t a[4]
        cdef Py_ssize_t e[4]
        cdef int code = _slow_fields(s, n, a, e, &f.start, &f.end, self.header_allowed)
        self.header_allowed = False
        if code != OK:
            return code
        f.chrom = s + a[0]
        f.chrom_len = e[0] - a[0]
        f.chrom_word = 0
        memcpy(&f.chrom_word, f.chrom, f.chrom_len if f.chrom_len < 8 else 8)
        f.bc = s + a[3]
        f.bc_len = e[3] - a[3]
        _ct_key(f.bc, f.bc_len, f.bc_w)
        return OK

    def feed(self, const unsigned char[::1] buf, bint final):
        """Parse the complete lines of ``buf`` (and a last line without newline when
        ``final``); returns the bytes consumed. Stops after a bad line unless skipping
        (``bad_line_no`` and ``bad_begin``/``bad_end``, offsets into ``buf``, describe
        the first bad line of this call). Every line before the stop is tokenized and in
        its cell's buffer on return."""
        cdef Py_ssize_t n = buf.shape[0], pos = 0, eol, line_end, m, nxt
        cdef const unsigned char* b
        cdef const unsigned char* p
        cdef const unsigned char* s
        cdef Fields f
        cdef Last last
        cdef int code = OK
        last.chrom_len = -1
        last.bc_len = -1
        self.bad_line_no = 0
        self.bad_code = 0
        if n == 0:
            return 0
        b = &buf[0]
        with nogil:
            while pos < n:
                nxt = _fast_line(b, pos, n, &f)
                if nxt >= 0:
                    self.n_lines += 1
                    s = b + pos
                    line_end = pos = nxt
                    self.header_allowed = False
                    code = self._record(&f, &last)
                else:
                    p = <const unsigned char*>memchr(b + pos, c'\n', n - pos)
                    if p == NULL:
                        if not final:
                            break
                        eol = n
                    else:
                        eol = p - b
                    line_end = eol
                    if line_end > pos and b[line_end - 1] == c'\r':
                        line_end -= 1
                    s = b + pos
                    m = line_end - pos
                    self.n_lines += 1
                    pos = eol + 1 if eol < n else n
                    if m == 0 or s[0] == c'#' or _is_blank(s, m):
                        continue
                    code = self._line(s, m, &f)
                    if code == OK:
                        code = self._record(&f, &last)
                if code == OK or code == SKIP:
                    continue
                self.n_bad += 1
                if self.bad_line_no == 0 or code == OUT_OF_MEMORY:
                    # the first bad line; out of memory wins over it (it must stop the run)
                    self.bad_line_no = self.n_lines
                    self.bad_begin = s - b
                    self.bad_end = line_end
                    self.bad_code = code
                if not self.skip_bad or code == OUT_OF_MEMORY:
                    break
            # every line read is in its cell's buffer when feed returns
            if code != OUT_OF_MEMORY and self._flush() != OK:
                self.n_bad += 1
                self.bad_line_no = self.n_lines
                self.bad_begin = self.bad_end = pos
                self.bad_code = OUT_OF_MEMORY
        return pos

    @property
    def n_cells(self):
        """Cells seen so far (barcodes kept by the allow-list)."""
        return self._n_cells

    def barcodes(self):
        """The cells' barcodes as ``bytes``, in cell (first appearance) order."""
        cdef const CellTable* t = &self.cells
        return [t.names[t.offsets[i]:t.offsets[i + 1]] for i in range(t.n_cells)]

    def counts(self):
        """Per cell: ``(fragments, tokens, hits)`` as int64 arrays, where ``hits`` counts
        the tokens that are universe regions (not ``<unk>``)."""
        cdef Py_ssize_t i, j, n = self._n_cells
        frags_arr = np.zeros(n, dtype=np.int64)
        tokens_arr = np.zeros(n, dtype=np.int64)
        hits_arr = np.zeros(n, dtype=np.int64)
        cdef int64_t[::1] f = frags_arr, t = tokens_arr, h = hits_arr
        cdef int64_t k
        cdef uint32_t limit = self.n_regions
        cdef const uint32_t* d
        with nogil:
            for i in range(n):
                f[i] = self.frags[i]
                t[i] = self.bufs[i].n
                d = self.bufs[i].data
                k = 0
                for j in range(self.bufs[i].n):
                    k += d[j] < limit
                h[i] = k
        return frags_arr, tokens_arr, hits_arr

    def make_unique(self):
        """Keep each cell's distinct universe regions once, sorted by id (``<unk>``
        dropped)."""
        cdef Py_ssize_t i, j, k, n
        cdef uint32_t* d
        cdef uint32_t limit = self.n_regions
        with nogil:
            for i in range(self._n_cells):
                d = self.bufs[i].data
                n = self.bufs[i].n
                k = 0
                for j in range(n):
                    if d[j] < limit:
                        d[k] = d[j]
                        k += 1
                if k > 1:
                    qsort(d, k, sizeof(uint32_t), _cmp_u32)
                    n = k
                    k = 1
                    for j in range(1, n):
                        if d[j] != d[k - 1]:
                            d[k] = d[j]
                            k += 1
                self.bufs[i].n = k

    def gather(self, const int64_t[::1] keep):
        """The ids of cells ``keep`` (in that order) concatenated, and the int64 offsets
        (``len(keep) + 1``). Each gathered cell's buffer is freed: gather once."""
        cdef Py_ssize_t m = keep.shape[0], i, total = 0
        cdef int64_t c
        for i in range(m):
            c = keep[i]
            if c < 0 or c >= self._n_cells or self.bufs[c].data == NULL:
                raise IndexError(f"cell {c} is not available")
            total += self.bufs[c].n
        ids_arr = np.empty(total, dtype=np.uint32)
        offsets_arr = np.empty(m + 1, dtype=np.int64)
        cdef uint32_t[::1] ids = ids_arr
        cdef int64_t[::1] offsets = offsets_arr
        cdef Py_ssize_t pos = 0
        with nogil:
            offsets[0] = 0
            for i in range(m):
                c = keep[i]
                if self.bufs[c].n:
                    memcpy(&ids[pos], self.bufs[c].data, self.bufs[c].n * sizeof(uint32_t))
                pos += self.bufs[c].n
                offsets[i + 1] = pos
                free(self.bufs[c].data)
                self.bufs[c].data = NULL
                self.bufs[c].n = 0
                self.bufs[c].cap = 0
        return ids_arr, offsets_arr

    def take(self, Py_ssize_t c):
        """Cell ``c``'s ids as a new uint32 array; its buffer is freed."""
        if c < 0 or c >= self._n_cells or self.bufs[c].data == NULL:
            raise IndexError(f"cell {c} is not available")
        cdef Py_ssize_t n = self.bufs[c].n
        out = np.empty(n, dtype=np.uint32)
        cdef uint32_t[::1] v = out
        if n:
            memcpy(&v[0], self.bufs[c].data, n * sizeof(uint32_t))
        free(self.bufs[c].data)
        self.bufs[c].data = NULL
        self.bufs[c].n = 0
        self.bufs[c].cap = 0
        return out
