"""Fragment files (``chrom start end barcode [count ...]``) to per-cell token ids, streamed.

:class:`FragmentTokenizer` is fed the (decompressed) text chunk by chunk; each call parses
the complete lines of its chunk without the GIL and returns how many bytes it consumed, so
the caller carries a partial last line over to the next chunk. Every fragment is tokenized
on its own with :meth:`gtok._overlap.OverlapIndex._query` (one ``<unk>`` when it hits
nothing, or lies on a chromosome absent from the universe) and its ids are appended to its
cell's buffer: one growing ``uint32`` buffer per cell, so memory is the output (4 bytes a
token) plus a small per-cell index, never an object per fragment.

Barcodes map to dense cell indices, in order of first appearance, through a
:class:`~gtok._chromtable.ChromTable` (a C hash table of byte strings); an optional second
table is the allow-list. Line rules (the policy and messages live in gtok.fragments):

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

from libc.stdint cimport UINT32_MAX, int32_t, int64_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc, qsort, realloc
from libc.string cimport memchr, memcpy

from gtok._chromtable cimport ChromTable
from gtok._overlap cimport Hit, IdBuffer, OverlapIndex

# Problems with a line (gtok.fragments.BAD_LINE_REASONS puts them in words).
cdef enum:
    OK = 0
    TOO_FEW_FIELDS = 1
    START_NOT_INTEGER = 2
    END_NOT_INTEGER = 3
    START_NEGATIVE = 4
    END_NEGATIVE = 5
    START_TOO_LARGE = 6
    END_TOO_LARGE = 7
    START_AFTER_END = 8
    EMPTY_CHROM = 9
    OUT_OF_MEMORY = 10
    EMPTY_BARCODE = 11
    SKIP = -1           # a column header line

cdef enum:
    NUM_OK = 0
    NUM_BAD = 1
    NUM_NEGATIVE = 2
    NUM_TOO_LARGE = 3

cdef enum:
    FIRST_CAP = 8       # ids a new cell's buffer holds before it first grows


cdef inline int _coord(const unsigned char* s, Py_ssize_t n, uint32_t* out) noexcept nogil:
    cdef uint64_t v = 0
    cdef Py_ssize_t i
    cdef bint negative = n > 0 and s[0] == c'-'
    if negative:
        s += 1
        n -= 1
    if n <= 0:
        return NUM_BAD
    for i in range(n):
        if s[i] < c'0' or s[i] > c'9':
            return NUM_BAD
        if v <= UINT32_MAX:
            v = v * 10 + (s[i] - c'0')
    if negative:
        return NUM_NEGATIVE if v != 0 else NUM_BAD
    if v > UINT32_MAX:
        return NUM_TOO_LARGE
    out[0] = <uint32_t>v
    return NUM_OK


cdef inline bint _is_word(const unsigned char* s, Py_ssize_t n) noexcept nogil:
    # a column name ("start", "chromEnd"): letters, digits, underscores; not a number
    cdef Py_ssize_t i
    cdef bint letter = False
    if n == 0 or (s[0] >= c'0' and s[0] <= c'9'):
        return False
    for i in range(n):
        if (s[i] >= c'a' and s[i] <= c'z') or (s[i] >= c'A' and s[i] <= c'Z') or s[i] == c'_':
            letter = True
        elif s[i] < c'0' or s[i] > c'9':
            return False
    return letter


cdef inline int _split4(const unsigned char* s, Py_ssize_t n, Py_ssize_t* a,
                        Py_ssize_t* e) noexcept nogil:
    # The first four fields' [a, e) ranges (leading spaces skipped); returns how many of
    # them the line has.
    cdef Py_ssize_t i = 0, first
    cdef int k
    while i < n and s[i] == c' ':
        i += 1
    first = i
    while i < n and s[i] != c'\t' and s[i] != c' ':
        i += 1
    if i == n or s[i] == c'\t' or memchr(s, c'\t', n) != NULL:
        i = first
        for k in range(4):
            a[k] = i
            while i < n and s[i] != c'\t':
                i += 1
            e[k] = i
            if i >= n:
                return k + 1
            i += 1
        return 4
    i = first
    for k in range(4):
        while i < n and s[i] == c' ':
            i += 1
        if i >= n:
            return k
        a[k] = i
        while i < n and s[i] != c' ':
            i += 1
        e[k] = i
    return 4


cdef inline bint _blank(const unsigned char* s, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        if s[i] != c' ' and s[i] != c'\t' and s[i] != c'\r':
            return False
    return True


cdef inline bint _same(const unsigned char* a, const unsigned char* b,
                       Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        if a[i] != b[i]:
            return False
    return True


cdef inline int _push(IdBuffer* buf, uint32_t value) noexcept nogil:
    cdef Py_ssize_t cap
    cdef uint32_t* data
    if buf.n == buf.cap:
        cap = 2 * buf.cap if buf.cap else FIRST_CAP
        data = <uint32_t*>realloc(buf.data, cap * sizeof(uint32_t))
        if data == NULL:
            return -1
        buf.data = data
        buf.cap = cap
    buf.data[buf.n] = value
    buf.n += 1
    return 0


cdef int _cmp_u32(const void* a, const void* b) noexcept nogil:
    cdef uint32_t x = (<const uint32_t*>a)[0], y = (<const uint32_t*>b)[0]
    return (x > y) - (x < y)


cdef inline Py_ssize_t _digits_tab(const unsigned char* s, Py_ssize_t i, Py_ssize_t n,
                                   uint32_t* out) noexcept nogil:
    # 1 to 9 decimal digits from i followed by a tab: the tab's index, else -1
    cdef Py_ssize_t j = i
    cdef uint32_t v = 0
    cdef unsigned char d
    while i < n:
        d = <unsigned char>(s[i] - c'0')   # one unsigned comparison tests for a digit
        if d > 9:
            break
        v = v * 10 + d
        i += 1
    if i == j or i - j > 9 or i >= n or s[i] != c'\t':
        return -1
    out[0] = v
    return i


cdef inline bint _fast_fields(const unsigned char* s, Py_ssize_t n, Py_ssize_t* a,
                              Py_ssize_t* e, uint32_t* start, uint32_t* end) noexcept nogil:
    """The common line, "chrom<TAB>digits<TAB>digits<TAB>barcode[<TAB>...]", in one pass;
    False lets the general path decide (spaces, long numbers, problems...)."""
    cdef Py_ssize_t i = 0
    cdef const unsigned char* p
    while i < n and s[i] != c'\t' and s[i] != c' ':
        i += 1
    if i == 0 or i >= n or s[i] != c'\t':
        return False
    a[0] = 0
    e[0] = i
    i = _digits_tab(s, i + 1, n, start)
    if i < 0:
        return False
    i = _digits_tab(s, i + 1, n, end)
    if i < 0 or end[0] < start[0]:
        return False
    i += 1
    a[3] = i
    p = <const unsigned char*>memchr(s + i, c'\t', n - i)   # the barcode's end
    e[3] = n if p == NULL else p - s
    return e[3] > i


cdef int _slow_fields(const unsigned char* s, Py_ssize_t n, Py_ssize_t* a, Py_ssize_t* e,
                      uint32_t* start, uint32_t* end, bint header_allowed) noexcept nogil:
    """Any line: its fields and coordinates, or SKIP (a column header) or a problem."""
    cdef int k = _split4(s, n, a, e), r1, r2
    if k < 3:
        return TOO_FEW_FIELDS
    r1 = _coord(s + a[1], e[1] - a[1], start)
    r2 = _coord(s + a[2], e[2] - a[2], end)
    if r1 != NUM_OK or r2 != NUM_OK:
        if (header_allowed and _is_word(s + a[1], e[1] - a[1])
                and _is_word(s + a[2], e[2] - a[2])):
            return SKIP
        if r1 != NUM_OK:
            return (START_NOT_INTEGER if r1 == NUM_BAD else
                    START_NEGATIVE if r1 == NUM_NEGATIVE else START_TOO_LARGE)
        return (END_NOT_INTEGER if r2 == NUM_BAD else
                END_NEGATIVE if r2 == NUM_NEGATIVE else END_TOO_LARGE)
    if k < 4:
        return TOO_FEW_FIELDS
    if start[0] > end[0]:
        return START_AFTER_END
    if e[0] == a[0]:
        return EMPTY_CHROM
    if e[3] == a[3]:
        return EMPTY_BARCODE
    return OK


@cython.final
cdef class FragmentTokenizer:
    """Streams fragment text into per-cell token buffers (see the module docstring).

    ``index`` and ``chroms`` are the universe's; ``allow`` (or None) is a table of the
    barcodes to keep. Feed text with :meth:`feed`; read the results with :meth:`counts`,
    :meth:`barcodes`, :meth:`make_unique` and :meth:`gather`.
    """

    cdef OverlapIndex index
    cdef ChromTable chroms
    cdef ChromTable cells
    cdef ChromTable allow
    cdef uint32_t unk_id
    cdef uint32_t n_regions
    cdef bint skip_bad
    cdef bint header_allowed
    cdef IdBuffer* bufs
    cdef int64_t* frags
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
        self.cells = ChromTable()
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
        free(self.cursor)
        free(self.cursor_qs)
        free(self.scratch)

    cdef int32_t _new_cell(self) noexcept nogil:
        # room for cell number n_cells (just added to self.cells); -1 when out of memory
        cdef Py_ssize_t cap
        cdef IdBuffer* bufs
        cdef int64_t* frags
        if self._n_cells == self.cells_cap:
            cap = 2 * self.cells_cap if self.cells_cap else 1024
            bufs = <IdBuffer*>realloc(self.bufs, cap * sizeof(IdBuffer))
            if bufs == NULL:
                return -1
            self.bufs = bufs
            frags = <int64_t*>realloc(self.frags, cap * sizeof(int64_t))
            if frags == NULL:
                return -1
            self.frags = frags
            self.cells_cap = cap
        self.bufs[self._n_cells].data = <uint32_t*>malloc(FIRST_CAP * sizeof(uint32_t))
        if self.bufs[self._n_cells].data == NULL:
            return -1
        self.bufs[self._n_cells].n = 0
        self.bufs[self._n_cells].cap = FIRST_CAP
        self.frags[self._n_cells] = 0
        self._n_cells += 1
        return <int32_t>(self._n_cells - 1)

    cdef int _line(self, const unsigned char* s, Py_ssize_t n, const unsigned char** last_bc,
                   Py_ssize_t* last_bc_len, int32_t* last_cell, const unsigned char** last_chr,
                   Py_ssize_t* last_chr_len, int32_t* last_c) noexcept nogil:
        """Parse and tokenize one non-blank, non-comment line; OK, SKIP or a problem."""
        cdef Py_ssize_t a[4]
        cdef Py_ssize_t e[4]
        cdef int code, got
        cdef uint32_t start = 0, end = 0
        cdef int32_t cell, c
        if not _fast_fields(s, n, a, e, &start, &end):
            code = _slow_fields(s, n, a, e, &start, &end, self.header_allowed)
            self.header_allowed = False
            if code != OK:
                return code
        self.header_allowed = False
        # the cell: consecutive lines often share it (files grouped by barcode)
        n = e[3] - a[3]
        if last_bc[0] != NULL and last_bc_len[0] == n and _same(last_bc[0], s + a[3], n):
            cell = last_cell[0]
        else:
            if self.allow is not None and self.allow.lookup(<const char*>(s + a[3]), n) < 0:
                cell = -1
            else:
                cell = self.cells.lookup_or_add(<const char*>(s + a[3]), n)
                if cell < 0:
                    return OUT_OF_MEMORY
                if cell == self._n_cells and self._new_cell() < 0:
                    return OUT_OF_MEMORY
            last_bc[0] = s + a[3]
            last_bc_len[0] = n
            last_cell[0] = cell
        if cell < 0:
            self.n_filtered += 1
            return OK
        self.n_fragments += 1
        self.frags[cell] += 1
        n = e[0] - a[0]
        if last_chr[0] != NULL and last_chr_len[0] == n and _same(last_chr[0], s + a[0], n):
            c = last_c[0]
        else:
            c = self.chroms.lookup(<const char*>(s + a[0]), n)
            last_chr[0] = s + a[0]
            last_chr_len[0] = n
            last_c[0] = c
        if c < 0:
            self.n_unknown_chrom += 1
            got = 0
        else:
            got = self.index._query(c, start, end, &self.bufs[cell], &self.scratch,
                                    &self.scratch_cap, self.cursor, self.cursor_qs)
            if got < 0:
                return OUT_OF_MEMORY
        if got == 0 and _push(&self.bufs[cell], self.unk_id) < 0:
            return OUT_OF_MEMORY
        return OK

    def feed(self, const unsigned char[::1] buf, bint final):
        """Parse the complete lines of ``buf`` (and a last line without newline when
        ``final``); returns the bytes consumed. Stops after a bad line unless skipping
        (``bad_line_no`` and ``bad_begin``/``bad_end``, offsets into ``buf``, describe
        the first bad line of this call)."""
        cdef Py_ssize_t n = buf.shape[0], pos = 0, eol, line_end, m
        cdef const unsigned char* b
        cdef const unsigned char* p
        cdef const unsigned char* s
        cdef const unsigned char* last_bc = NULL
        cdef const unsigned char* last_chr = NULL
        cdef Py_ssize_t last_bc_len = 0, last_chr_len = 0
        cdef int32_t last_cell = -1, last_c = -1
        cdef int code
        self.bad_line_no = 0
        self.bad_code = 0
        if n == 0:
            return 0
        b = &buf[0]
        with nogil:
            while pos < n:
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
                if m == 0 or s[0] == c'#' or _blank(s, m):
                    continue
                code = self._line(s, m, &last_bc, &last_bc_len, &last_cell, &last_chr,
                                  &last_chr_len, &last_c)
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
        cdef ChromTable t = self.cells
        return [t._names[t._offsets[i]:t._offsets[i + 1]] for i in range(t._n)]

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
