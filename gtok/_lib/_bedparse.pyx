"""The BED text parser: bytes in, (chromosome index, start, end) columns out, without the GIL.

Rules (docs/semantics.md §4.8, §7), applied to every line:

- ``\\n`` or ``\\r\\n`` line ends, a missing final newline is fine;
- blank lines and lines starting with ``#``, ``track`` or ``browser`` are skipped anywhere;
- fields are tab-separated (a line without any tab is split on runs of spaces); columns
  1-3 are used and the rest are ignored;
- the first data line is a column header, and skipped, when its 2nd and 3rd fields are both
  words (non-numeric, with a letter);
- coordinates are decimal integers in 0..2**32-1 with start <= end; anything else is a bad
  line: the parser stops there (or counts and skips it, when asked).

Four paths, each handing what it does not take to the next, the first two while 144 bytes
remain, for lines up to 128 bytes: the common line whole from SSE2 byte masks, its fields'
ends from one mask and both numbers converted at once (``gtok_simd_line`` in
``_linescan.pxd``: 16.2 -> 12.2 ns a line on the benchmark's BED files, narrowPeak 18.1 ->
14.4); the common line found by its newline first (``_scan_line``: SSE2), so that the next
line's parse does not wait for this one's fields (the scalar parse of a line is a chain of
dependent loads: 16.1 -> 14.2 ns a line, narrowPeak 19 -> 15.5); the common line parsed
field by field, 8 bytes a load (``_fast_line``); then the general path on the whole line
(``_parse_line``), which decides every rule.
"""

from libc.stdint cimport UINT32_MAX, int32_t, int64_t, uint32_t, uint64_t
from libc.string cimport memchr, memcmp

from gtok._lib._chromtable cimport ChromTable
from gtok._lib._linescan cimport GTOK_NEWLINE_SCAN, gtok_newlines32, gtok_simd_line
from gtok._lib._swar cimport (GTOK_LITTLE_ENDIAN, _below_21, _digits, _eight_digits, _load8,
                               gtok_ctz64)
from gtok._lib._textfields cimport (NUM_BAD, NUM_NEGATIVE, NUM_OK, NUM_TOO_LARGE, _is_blank,
                               _is_word, _parse_coord)
from gtok._lib._lineproblem cimport (EMPTY_CHROM, END_NEGATIVE, END_NOT_INTEGER, END_TOO_LARGE, OK,
                               START_AFTER_END, START_NEGATIVE, START_NOT_INTEGER,
                               START_TOO_LARGE, TOO_FEW_FIELDS, OUT_OF_MEMORY)


cdef extern from *:
    # a hint, never a fault (an address past the buffer's end is fine)
    void __builtin_prefetch(const void* addr) noexcept nogil

cdef enum:
    PREFETCH_AHEAD = 2048   # bytes of text fetched ahead of the line parsed
    NAME_CACHE_BITS = 8
    NAME_CACHE = 256        # slots of the parser's chromosome-name cache
    SCAN_LINE = 128         # the longest line _scan_line takes (newline included)
    NOT_FAST = -2           # _cached_index: the line goes to the general path
    SCAN_TAIL = 144         # bytes readable from a line _scan_line takes


cdef struct ParseState:
    Py_ssize_t n_rows
    Py_ssize_t n_bad
    Py_ssize_t bad_line_no      # first bad line, 1-based
    Py_ssize_t bad_begin        # its byte range in the buffer
    Py_ssize_t bad_end
    int bad_code
    Py_ssize_t n_lines
    bint header_allowed         # in: the next data line may be a header; out: still so


cdef inline bint _starts_with_word(const unsigned char* s, Py_ssize_t n,
                                   const char* word, Py_ssize_t k) noexcept nogil:
    if n < k or memcmp(s, word, k) != 0:
        return False
    return n == k or s[k] == c' ' or s[k] == c'\t'


cdef inline Py_ssize_t _field_end(const unsigned char* s, Py_ssize_t i, Py_ssize_t n,
                                  bint tabs) noexcept nogil:
    # index of the delimiter ending the field that starts at i (or n)
    if tabs:
        while i < n and s[i] != c'\t':
            i += 1
    else:
        while i < n and s[i] != c' ':
            i += 1
    return i


cdef inline Py_ssize_t _next_field(const unsigned char* s, Py_ssize_t i, Py_ssize_t n,
                                   bint tabs) noexcept nogil:
    # start of the next field after the delimiter at i (or n when there is none)
    if i >= n:
        return n + 1
    if tabs:
        return i + 1
    while i < n and s[i] == c' ':
        i += 1
    return i


cdef struct LastChrom:
    # the previous line's chromosome: consecutive lines usually share it
    const unsigned char* name
    Py_ssize_t length
    int32_t index


cdef int _chrom_index(const unsigned char* s, Py_ssize_t n, ChromTable table,
                      ChromTable extra, bint add_chroms, LastChrom* last) noexcept nogil:
    # index of chromosome name s[:n] (see parse_bed), or OUT_OF_MEMORY as -OUT_OF_MEMORY
    cdef int32_t k
    cdef Py_ssize_t i
    if last.name != NULL and last.length == n:
        i = 0
        while i < n and last.name[i] == s[i]:
            i += 1
        if i == n:
            return last.index
    if add_chroms:
        k = table.lookup_or_add(<const char*>s, n)
        if k < 0:
            return -OUT_OF_MEMORY
    else:
        k = table.lookup(<const char*>s, n)
        if k < 0 and extra is not None:
            k = extra.lookup_or_add(<const char*>s, n)
            if k < 0:
                return -OUT_OF_MEMORY
            k += <int32_t>table._n
    last.name = s
    last.length = n
    last.index = k
    return k


cdef int _parse_line(const unsigned char* s, Py_ssize_t n, ChromTable table, ChromTable extra,
                     bint add_chroms, bint header_allowed, int32_t* chrom, uint32_t* start,
                     uint32_t* end, LastChrom* last) noexcept nogil:
    """Parse one non-blank, non-comment line. Returns OK, a problem code, or -1 for a
    column header to skip."""
    cdef Py_ssize_t a0 = 0, e0, a1, e1, a2, e2
    cdef int r1, r2
    cdef int32_t k
    cdef bint tabs
    tabs = memchr(s, c'\t', n) != NULL
    if not tabs:
        while a0 < n and s[a0] == c' ':
            a0 += 1
    e0 = _field_end(s, a0, n, tabs)
    a1 = _next_field(s, e0, n, tabs)
    if a1 > n:
        return TOO_FEW_FIELDS
    e1 = _field_end(s, a1, n, tabs)
    a2 = _next_field(s, e1, n, tabs)
    if a2 > n:
        return TOO_FEW_FIELDS
    e2 = _field_end(s, a2, n, tabs)
    if a2 == n and not tabs:
        return TOO_FEW_FIELDS
    r1 = _parse_coord(s + a1, e1 - a1, start)
    r2 = _parse_coord(s + a2, e2 - a2, end)
    if r1 != NUM_OK or r2 != NUM_OK:
        if (header_allowed and e1 > a1 and e2 > a2
                and _is_word(s + a1, e1 - a1) and _is_word(s + a2, e2 - a2)):
            return -1
        if r1 == NUM_BAD:
            return START_NOT_INTEGER
        if r1 == NUM_NEGATIVE:
            return START_NEGATIVE
        if r1 == NUM_TOO_LARGE:
            return START_TOO_LARGE
        if r2 == NUM_BAD:
            return END_NOT_INTEGER
        if r2 == NUM_NEGATIVE:
            return END_NEGATIVE
        return END_TOO_LARGE
    if start[0] > end[0]:
        return START_AFTER_END
    if e0 == a0:
        return EMPTY_CHROM
    k = _chrom_index(s + a0, e0 - a0, table, extra, add_chroms, last)
    if k == -OUT_OF_MEMORY:
        return OUT_OF_MEMORY
    chrom[0] = k
    return OK


cdef inline Py_ssize_t _fast_line(const unsigned char* s, Py_ssize_t n, uint32_t* start,
                                  uint32_t* end, Py_ssize_t* chrom_len,
                                  uint64_t* chrom_word) noexcept nogil:
    """The common line, "chrom<TAB>digits<TAB>digits" and then a newline or more fields,
    parsed in one pass. Returns the length of the line including its newline, or -1 to let
    the general path decide (comments, spaces, long numbers, errors...).

    A chromosome name of at most 8 bytes is also returned as one word (its bytes, zeros
    above), the key of the parser's name cache; a longer one gives 0."""
    cdef Py_ssize_t i = 0
    cdef uint32_t v = 0
    cdef unsigned char ch = s[0]
    cdef const unsigned char* p
    cdef uint64_t w = 0, t = 0
    if (ch == c'#' or ch == c't' or ch == c'b' or ch == c' ' or ch == c'\t' or ch == c'\r'
            or ch == c'\n'):
        return -1
    if GTOK_LITTLE_ENDIAN and n >= 8:
        # the first byte below 0x21 (tab, newline, carriage return, space...) ends the name
        w = _load8(s)
        t = _below_21(w)
    if t != 0:
        i = gtok_ctz64(t) >> 3
        w &= (<uint64_t>1 << (8 * i)) - 1
    else:
        w = 0
        while i < n and s[i] != c'\t' and s[i] != c'\n' and s[i] != c' ' and s[i] != c'\r':
            i += 1
    if i >= n or s[i] != c'\t':
        return -1
    chrom_len[0] = i
    chrom_word[0] = w
    i = _digits(s, i + 1, n, start)
    if i < 0 or i >= n or s[i] != c'\t':
        return -1
    i = _digits(s, i + 1, n, &v)
    if i < 0 or v < start[0]:
        return -1
    end[0] = v
    if i >= n:
        return n
    ch = s[i]
    if ch == c'\n':
        return i + 1
    if ch == c'\r':
        if i + 1 == n:
            return n
        if s[i + 1] == c'\n':
            return i + 2
        return -1
    if ch == c'\t':
        p = <const unsigned char*>memchr(s + i, c'\n', n - i)
        return n if p == NULL else (p - s) + 1
    return -1


cdef inline Py_ssize_t _digits9(const unsigned char* s, Py_ssize_t i,
                                uint32_t* out) noexcept nogil:
    # _digits with s[i:i + 9] readable: the index after 1 to 9 digits from i, i when there
    # is none (a 10th digit is left for the caller's test of the byte after them)
    cdef uint64_t x = _load8(s + i) ^ 0x3030303030303030ULL
    cdef uint64_t t = ((x + 0x7676767676767676ULL) | x) & 0x8080808080808080ULL
    cdef Py_ssize_t k = (gtok_ctz64(t) >> 3) if t != 0 else 8
    cdef uint32_t v = _eight_digits(x << ((8 * (8 - k)) & 63))
    cdef uint32_t d = <unsigned char>(s[i + 8] - c'0')
    cdef bint nine = (k == 8) & (d <= 9)
    out[0] = v * 10 + d if nine else v
    return i + k + nine


cdef inline bint _scan_line(const unsigned char* s, Py_ssize_t e, uint32_t* start,
                            uint32_t* end, Py_ssize_t* chrom_len,
                            uint64_t* chrom_word) noexcept nogil:
    """_fast_line for a line whose first newline, s[e], is known (e < SCAN_LINE, s[:SCAN_TAIL]
    readable). Returns whether it is the common line, with the fields and the name's word
    as _fast_line gives them; its length is then e + 1, a value that does not wait for the
    fields, so that the next line's parse starts before this one's ends.

    Its first character is not tested: the caller hands a name not in its cache, or not a
    word, to the general path when it starts with #, t or b or is empty."""
    cdef Py_ssize_t i = 0, j
    cdef uint32_t v = 0
    cdef uint64_t w = _load8(s)
    cdef uint64_t t = _below_21(w)
    cdef unsigned char ch
    if t != 0:
        i = gtok_ctz64(t) >> 3
        w &= (<uint64_t>1 << (8 * i)) - 1
    else:
        w = 0
        while s[i] != c'\t' and s[i] != c'\n' and s[i] != c' ' and s[i] != c'\r':
            i += 1
    if s[i] != c'\t':
        return False
    chrom_len[0] = i
    chrom_word[0] = w
    j = _digits9(s, i + 1, start)
    if j == i + 1 or s[j] != c'\t':
        return False
    i = _digits9(s, j + 1, &v)
    if i == j + 1 or v < start[0]:
        return False
    end[0] = v
    ch = s[i]
    return ch == c'\n' or ch == c'\t' or (ch == c'\r' and s[i + 1] == c'\n')


cdef inline int32_t _cached_index(const unsigned char* s, Py_ssize_t chrom_len,
                                  uint64_t word, uint64_t* cache_word,
                                  int32_t* cache_index, ChromTable table, ChromTable extra,
                                  bint add_chroms, LastChrom* last) noexcept nogil:
    # the index of a fast line's name s[:chrom_len] (word: its key, 0 for none), through
    # the name cache: -1 for a name the table lacks (without ``extra``), or NOT_FAST to
    # hand the line to the general path (a name starting with #, t or b, which may be a
    # comment or a track or browser line; an empty one; out of memory)
    cdef unsigned int slot = 0, slot2 = 0
    cdef int32_t k
    if word != 0:
        # two-way: a name's slot or the next one (shuffled files alternate between names,
        # and two that share a slot would evict each other)
        slot = <unsigned int>((word * 0x9E3779B97F4A7C15ULL) >> (64 - NAME_CACHE_BITS))
        slot2 = (slot + 1) & (NAME_CACHE - 1)
        if cache_word[slot] == word:
            return cache_index[slot]
        if cache_word[slot2] == word:
            return cache_index[slot2]
    if chrom_len == 0 or s[0] == c'#' or s[0] == c't' or s[0] == c'b':
        return NOT_FAST
    k = _chrom_index(s, chrom_len, table, extra, add_chroms, last)
    if k == -OUT_OF_MEMORY:
        return NOT_FAST
    if word != 0:
        if cache_word[slot] != 0 and cache_word[slot2] == 0:
            slot = slot2
        cache_word[slot] = word
        cache_index[slot] = k
    return k


cdef void _parse(const unsigned char* buf, Py_ssize_t n, ChromTable table, ChromTable extra,
                 bint add_chroms, bint skip_bad, int32_t* chroms, uint32_t* starts,
                 uint32_t* ends, Py_ssize_t capacity, ParseState* st) noexcept nogil:
    cdef Py_ssize_t pos = 0, eol, line_end, line_no = 0, n_rows = st.n_rows
    cdef const unsigned char* p
    cdef const unsigned char* s
    cdef Py_ssize_t m
    cdef bint header_allowed = st.header_allowed
    cdef int code
    cdef LastChrom last
    last.name = NULL
    last.length = 0
    last.index = -1
    cdef Py_ssize_t advance, chrom_len, e, first_row
    cdef int32_t k
    cdef uint64_t word
    cdef unsigned int newlines, slot
    # names of up to 8 bytes -> index: a direct-mapped cache in front of the hash table
    # (key = the name's bytes as one word; 0 marks an empty slot, no name is empty here)
    cdef uint64_t cache_word[NAME_CACHE]
    cdef int32_t cache_index[NAME_CACHE]
    for slot in range(NAME_CACHE):
        cache_word[slot] = 0
    while pos < n:
        if GTOK_NEWLINE_SCAN:
            # the common lines, each found by its newline (SSE2) while its fields are
            # parsed; the line after the run takes the path below
            first_row = n_rows
            while pos <= n - SCAN_TAIL and n_rows < capacity:
                s = buf + pos
                # the text a few thousand bytes on, asked for now: reads from memory (a
                # file's pages, or bytes no cache holds) otherwise wait ~5 ns a line
                __builtin_prefetch(s + PREFETCH_AHEAD)
                __builtin_prefetch(s + PREFETCH_AHEAD + 64)
                # the whole line from SSE2 masks (it reads the 16 bytes before the line:
                # the first line's take the scalar path), else its newline first
                e = gtok_simd_line(s, starts + n_rows, ends + n_rows, &chrom_len,
                                   &word) if pos >= 16 else -1
                if e < 0:
                    e = 0
                    newlines = gtok_newlines32(s)
                    while newlines == 0 and e < SCAN_LINE - 32:
                        e += 32
                        newlines = gtok_newlines32(s + e)
                    if newlines == 0:
                        break
                    e += gtok_ctz64(newlines)
                    if not _scan_line(s, e, starts + n_rows, ends + n_rows, &chrom_len,
                                      &word):
                        break
                k = _cached_index(s, chrom_len, word, cache_word, cache_index, table, extra,
                                  add_chroms, &last)
                if k == NOT_FAST:
                    break
                chroms[n_rows] = k
                n_rows += 1
                pos += e + 1
            if n_rows != first_row:  # (one line a row: counted once, out of the loop)
                line_no += n_rows - first_row
                header_allowed = False
            if pos >= n:
                break
        line_no += 1
        if n_rows < capacity:
            __builtin_prefetch(buf + pos + PREFETCH_AHEAD)
            advance = _fast_line(buf + pos, n - pos, starts + n_rows, ends + n_rows,
                                 &chrom_len, &word)
            if advance > 0:
                k = _cached_index(buf + pos, chrom_len, word, cache_word, cache_index, table,
                                  extra, add_chroms, &last)
                if k != NOT_FAST:
                    chroms[n_rows] = k
                    n_rows += 1
                    header_allowed = False
                    pos += advance
                    continue
        p = <const unsigned char*>memchr(buf + pos, c'\n', n - pos)
        eol = n if p == NULL else p - buf
        line_end = eol
        if line_end > pos and buf[line_end - 1] == c'\r':
            line_end -= 1
        s = buf + pos
        m = line_end - pos
        pos = eol + 1
        if (m == 0 or s[0] == c'#' or _is_blank(s, m)
                or (s[0] == c't' and _starts_with_word(s, m, "track", 5))
                or (s[0] == c'b' and _starts_with_word(s, m, "browser", 7))):
            continue
        if n_rows >= capacity:  # cannot happen: capacity counts the lines
            code = OUT_OF_MEMORY
        else:
            code = _parse_line(s, m, table, extra, add_chroms, header_allowed,
                               chroms + n_rows, starts + n_rows, ends + n_rows, &last)
        header_allowed = False
        if code == OK:
            n_rows += 1
        elif code == -1:
            continue
        else:
            st.n_bad += 1
            if st.n_bad == 1:
                st.bad_line_no = line_no
                st.bad_begin = s - buf
                st.bad_end = line_end
                st.bad_code = code
            if not skip_bad or code == OUT_OF_MEMORY:
                break
    st.n_rows = n_rows
    st.n_lines = line_no
    st.header_allowed = header_allowed


def capacity_for(Py_ssize_t n_bytes):
    """An upper bound on the number of records in ``n_bytes`` of BED text: every record
    takes at least 6 bytes ("c\\t0\\t0\\n"; 5 for a last line without newline). Arrays of
    this size cost no memory for the pages never written."""
    return n_bytes // 6 + 1


def parse_bed(const unsigned char[::1] buf, ChromTable table, ChromTable extra, bint add_chroms,
              bint skip_bad, int32_t[::1] chroms, uint32_t[::1] starts, uint32_t[::1] ends,
              bint header_allowed=True):
    """Parse BED text into the three output columns (each ``capacity_for(len(buf))`` long).

    Chromosome names are looked up in ``table``; with ``add_chroms`` new names are added to
    it, otherwise a name not in ``table`` is added to ``extra`` and its index is offset by
    ``len(table)`` (so unknown chromosomes keep distinct indices >= ``len(table)``).

    ``header_allowed``: whether the first data line may be a column header (False for a
    block of text that continues a file whose data lines have begun).

    Returns ``(n_rows, n_bad, n_lines, bad_line_no, bad_begin, bad_end, bad_code,
    header_allowed)``: the first bad line's number, byte range and problem code (0 when
    every line was good), and whether a header may still follow (no data line yet).
    """
    cdef ParseState st
    cdef Py_ssize_t n = buf.shape[0]
    cdef Py_ssize_t capacity = min(chroms.shape[0], min(starts.shape[0], ends.shape[0]))
    st.n_rows = 0
    st.n_bad = 0
    st.bad_line_no = 0
    st.bad_begin = 0
    st.bad_end = 0
    st.bad_code = 0
    st.n_lines = 0
    st.header_allowed = header_allowed
    if n == 0:
        return 0, 0, 0, 0, 0, 0, 0, header_allowed
    if capacity == 0:
        raise ValueError("output columns are empty")
    with nogil:
        _parse(&buf[0], n, table, extra, add_chroms, skip_bad, &chroms[0], &starts[0],
               &ends[0], capacity, &st)
    return (st.n_rows, st.n_bad, st.n_lines, st.bad_line_no, st.bad_begin, st.bad_end,
            st.bad_code, st.header_allowed)
