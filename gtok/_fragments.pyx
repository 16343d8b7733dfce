"""Fragment files (``chrom start end barcode [count ...]``) to per-cell token ids, streamed.

:class:`FragmentTokenizer` is fed the (decompressed) text chunk by chunk; each call parses
the complete lines of its chunk without the GIL and returns how many bytes it consumed, so
the caller carries a partial last line over to the next chunk. Every fragment is tokenized
on its own with :meth:`gtok._overlap.OverlapIndex._query` (one ``<unk>`` when it hits
nothing, or lies on a chromosome absent from the universe) and its ids are appended to its
cell's buffer: one growing ``uint32`` buffer per cell, so memory is the output (4 bytes a
token) plus a small per-cell index, never an object per fragment.

Lines are parsed 8 bytes at a time straight from the buffer (gtok._fragline's fast path;
anything unusual goes the general way). Barcodes map to dense cell indices, in order of
first appearance, through gtok._celltable (keys of up to 24 bytes held inline, compared as
words); the allow-list is a :class:`~gtok._chromtable.ChromTable`, asked once per distinct
barcode of up to 24 bytes. Line rules (the policy and messages live in gtok.fragments):

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

from gtok._celltable cimport (CELL_EMPTY, CELL_NO_MEMORY, CellSlot, CellTable, _ct_add,
                              _ct_find, _ct_free, _ct_init, _ct_key)
from gtok._chromtable cimport ChromTable
from gtok._overlap cimport Hit, IdBuffer, OverlapIndex, _push
from gtok._textfields cimport _is_blank
from gtok._fragline cimport (OK, OUT_OF_MEMORY, SKIP, Fields, _fast_line,
                             _slow_fields)

cdef enum:
    FIRST_CAP = 8       # ids a new cell's buffer holds before it first grows


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


cdef struct CellBuf:
    IdBuffer ids
    int64_t frags


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
    cdef CellBuf* bufs
    cdef Py_ssize_t _n_cells
    cdef Py_ssize_t cells_cap
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
                free(self.bufs[i].ids.data)
        free(self.bufs)
        _ct_free(&self.cells)
        free(self.cursor)
        free(self.cursor_qs)
        free(self.scratch)

    cdef int _new_cell(self) noexcept nogil:
        # room for cell number n_cells (just added to self.cells); -1 when out of memory
        cdef Py_ssize_t cap
        cdef CellBuf* bufs
        cdef CellBuf* cb
        if self._n_cells == self.cells_cap:
            cap = 2 * self.cells_cap if self.cells_cap else 1024
            bufs = <CellBuf*>realloc(self.bufs, cap * sizeof(CellBuf))
            if bufs == NULL:
                return -1
            self.bufs = bufs
            self.cells_cap = cap
        cb = &self.bufs[self._n_cells]
        cb.ids.data = <uint32_t*>malloc(FIRST_CAP * sizeof(uint32_t))
        if cb.ids.data == NULL:
            return -1
        cb.ids.n = 0
        cb.ids.cap = FIRST_CAP
        cb.frags = 0
        self._n_cells += 1
        return 0

    cdef int _record(self, Fields* f, Last* last) noexcept nogil:
        """Tokenize one parsed fragment into its cell; OK or OUT_OF_MEMORY."""
        cdef int32_t cell, c
        cdef CellSlot* slot
        cdef CellBuf* cb
        cdef int got
        if (f.bc_len == last.bc_len and f.bc_w[0] == last.bc_w[0]
                and f.bc_w[1] == last.bc_w[1] and f.bc_w[2] == last.bc_w[2]):
            cell = last.cell
        else:
            slot = _ct_find(&self.cells, f.bc, f.bc_len, f.bc_w[0], f.bc_w[1], f.bc_w[2])
            cell = slot.value
            if cell == CELL_EMPTY:
                cell = _ct_add(&self.cells, slot, f.bc, f.bc_len, f.bc_w[0], f.bc_w[1],
                               f.bc_w[2], self.allow is not None
                               and self.allow.lookup(<const char*>f.bc, f.bc_len) < 0)
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
        cb = &self.bufs[cell]
        cb.frags += 1
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
            got = self.index._query(c, f.start, f.end, &cb.ids, &self.scratch,
                                    &self.scratch_cap, self.cursor, self.cursor_qs)
            if got < 0:
                return OUT_OF_MEMORY
        if got == 0 and _push(&cb.ids, self.unk_id) < 0:
            return OUT_OF_MEMORY
        return OK

    cdef int _line(self, const unsigned char* s, Py_ssize_t n, Fields* f,
                   Last* last) noexcept nogil:
        """Parse (the general way) and tokenize one non-blank, non-comment line; OK, SKIP
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
        return self._record(f, last)

    def feed(self, const unsigned char[::1] buf, bint final):
        """Parse the complete lines of ``buf`` (and a last line without newline when
        ``final``); returns the bytes consumed. Stops after a bad line unless skipping
        (``bad_line_no`` and ``bad_begin``/``bad_end``, offsets into ``buf``, describe
        the first bad line of this call)."""
        cdef Py_ssize_t n = buf.shape[0], pos = 0, eol, line_end, m, nxt
        cdef const unsigned char* b
        cdef const unsigned char* p
        cdef const unsigned char* s
        cdef Fields f
        cdef Last last
        cdef int code
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
                    s = b + pos
                    line_end = nxt - 1
                    if line_end > pos and b[line_end - 1] == c'\r':
                        line_end -= 1
                    self.n_lines += 1
                    pos = nxt
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
                    code = self._line(s, m, &f, &last)
                if code == OK or code == SKIP:
                    continue
                self.n_bad += 1
                if self.bad_line_no == 0:
                    self.bad_line_no = self.n_lines
                    self.bad_begin = s - b
                    self.bad_end = line_end
                    self.bad_code = code
                if not self.skip_bad or code == OUT_OF_MEMORY:
                    break
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
                f[i] = self.bufs[i].frags
                t[i] = self.bufs[i].ids.n
                d = self.bufs[i].ids.data
                k = 0
                for j in range(self.bufs[i].ids.n):
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
                d = self.bufs[i].ids.data
                n = self.bufs[i].ids.n
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
                self.bufs[i].ids.n = k

    def gather(self, const int64_t[::1] keep):
        """The ids of cells ``keep`` (in that order) concatenated, and the int64 offsets
        (``len(keep) + 1``). Each gathered cell's buffer is freed: gather once."""
        cdef Py_ssize_t m = keep.shape[0], i, total = 0
        cdef int64_t c
        for i in range(m):
            c = keep[i]
            if c < 0 or c >= self._n_cells or self.bufs[c].ids.data == NULL:
                raise IndexError(f"cell {c} is not available")
            total += self.bufs[c].ids.n
        ids_arr = np.empty(total, dtype=np.uint32)
        offsets_arr = np.empty(m + 1, dtype=np.int64)
        cdef uint32_t[::1] ids = ids_arr
        cdef int64_t[::1] offsets = offsets_arr
        cdef Py_ssize_t pos = 0
        with nogil:
            offsets[0] = 0
            for i in range(m):
                c = keep[i]
                if self.bufs[c].ids.n:
                    memcpy(&ids[pos], self.bufs[c].ids.data, self.bufs[c].ids.n * sizeof(uint32_t))
                pos += self.bufs[c].ids.n
                offsets[i + 1] = pos
                free(self.bufs[c].ids.data)
                self.bufs[c].ids.data = NULL
                self.bufs[c].ids.n = 0
                self.bufs[c].ids.cap = 0
        return ids_arr, offsets_arr

    def take(self, Py_ssize_t c):
        """Cell ``c``'s ids as a new uint32 array; its buffer is freed."""
        if c < 0 or c >= self._n_cells or self.bufs[c].ids.data == NULL:
            raise IndexError(f"cell {c} is not available")
        cdef Py_ssize_t n = self.bufs[c].ids.n
        out = np.empty(n, dtype=np.uint32)
        cdef uint32_t[::1] v = out
        if n:
            memcpy(&v[0], self.bufs[c].ids.data, n * sizeof(uint32_t))
        free(self.bufs[c].ids.data)
        self.bufs[c].ids.data = NULL
        self.bufs[c].ids.n = 0
        self.bufs[c].ids.cap = 0
        return out
