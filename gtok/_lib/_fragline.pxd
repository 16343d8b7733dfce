# Fragment-file line parsing for gtok._lib._fragments (inline C, without the GIL): the fast
# path reads the common line 8 bytes at a time straight from the text buffer; the general
# path splits any line into its fields and reports what is wrong with it. Line rules are in
# gtok._lib._fragments' docstring; the problem codes are put in words by gtok.singlecell.fragments.

from libc.stdint cimport UINT32_MAX, uint32_t, uint64_t
from libc.string cimport memchr

from gtok._lib._swar cimport GTOK_LITTLE_ENDIAN, _below_21, _digits, _load8, _zero_byte, gtok_ctz64
from gtok._lib._textfields cimport (NUM_BAD, NUM_NEGATIVE, NUM_OK, _is_blank, _is_word,
                               _parse_coord)
from gtok._lib._lineproblem cimport (EMPTY_BARCODE, EMPTY_CHROM, END_NEGATIVE, END_NOT_INTEGER,
                                     END_TOO_LARGE, OK, START_AFTER_END, START_NEGATIVE,
                                     START_NOT_INTEGER, START_TOO_LARGE, TOO_FEW_FIELDS)

cdef enum:
    SKIP = -1           # a column header line (not a problem: see _lineproblem.pxd)


cdef inline bint _is_utf8(const unsigned char* s, Py_ssize_t n) noexcept nogil:
    # Whether s[:n] is UTF-8 as Python's strict decoder takes it: no stray continuation
    # bytes, no overlong forms, no surrogates (U+D800-U+DFFF), nothing above U+10FFFF.
    cdef Py_ssize_t i = 0
    cdef unsigned char c, c1
    while i < n:
        c = s[i]
        if c < 0x80:
            i += 1
            continue
        if c < 0xC2 or c > 0xF4:
            return False
        if c < 0xE0:
            if i + 1 >= n or (s[i + 1] & 0xC0) != 0x80:
                return False
            i += 2
            continue
        if i + 2 >= n:
            return False
        c1 = s[i + 1]
        if (c1 & 0xC0) != 0x80 or (s[i + 2] & 0xC0) != 0x80:
            return False
        if c < 0xF0:
            if (c == 0xE0 and c1 < 0xA0) or (c == 0xED and c1 >= 0xA0):
                return False
            i += 3
            continue
        if i + 3 >= n or (s[i + 3] & 0xC0) != 0x80:
            return False
        if (c == 0xF0 and c1 < 0x90) or (c == 0xF4 and c1 >= 0x90):
            return False
        i += 4
    return True

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
        # tab-separated; spaces around a field are not part of it (gtars splits on any
        # whitespace, so "AAAC-1 " is the barcode "AAAC-1" there too)
        i = first
        for k in range(4):
            a[k] = i
            while i < n and s[i] != c'\t':
                i += 1
            e[k] = i
            while a[k] < e[k] and s[a[k]] == c' ':
                a[k] += 1
            while e[k] > a[k] and s[e[k] - 1] == c' ':
                e[k] -= 1
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


cdef struct Fields:
    # one data line's fields; key words are zero past the field's end
    const unsigned char* chrom
    Py_ssize_t chrom_len
    uint64_t chrom_word         # the chromosome name's first 8 bytes
    uint32_t start
    uint32_t end
    const unsigned char* bc
    Py_ssize_t bc_len
    uint64_t bc_w[3]            # the barcode's first 24 bytes (its _celltable key)


cdef inline uint64_t _low_bytes(uint64_t w, int k) noexcept nogil:
    # the first k (0..7) bytes of a little-endian word, zeros above
    return w & ((<uint64_t>1 << (8 * k)) - 1)


cdef inline Py_ssize_t _fast_line(const unsigned char* b, Py_ssize_t pos, Py_ssize_t n,
                                  Fields* f) noexcept nogil:
    """The common line at ``b[pos:n]``, "chrom<TAB>digits<TAB>digits<TAB>barcode" and a
    newline or more fields, parsed 8 bytes at a time straight from the buffer. Returns the
    position after its newline, or -1 to let the general path decide (comments, spaces,
    long numbers, barcodes over 23 bytes, problems, the buffer's last line...)."""
    cdef const unsigned char* s = b + pos
    cdef Py_ssize_t m = n - pos, i, k
    cdef uint64_t w, t, w1 = 0, w2 = 0
    cdef const unsigned char* p
    if not GTOK_LITTLE_ENDIAN or m < 8 or s[0] == c'#':
        return -1
    # the chromosome: ends at the first byte below 0x21, which must be a tab
    w = _load8(s)
    t = _below_21(w)
    if t != 0:
        i = gtok_ctz64(t) >> 3
        w = _low_bytes(w, <int>i)
    else:
        i = 8
        while i < m and s[i] >= 0x21:
            i += 1
    if i == 0 or i >= m or s[i] != c'\t':
        return -1
    f.chrom = s
    f.chrom_len = i
    f.chrom_word = w
    i = _digits(s, i + 1, m, &f.start)
    if i < 0 or i >= m or s[i] != c'\t':
        return -1
    i = _digits(s, i + 1, m, &f.end)
    if i < 0 or i >= m or s[i] != c'\t' or f.end < f.start:
        return -1
    # the barcode: up to 23 bytes, read as the three key words while finding its end
    i += 1
    if i + 24 > m:
        return -1
    f.bc = s + i
    w = _load8(s + i)
    t = _below_21(w)
    if t != 0:
        k = gtok_ctz64(t) >> 3
        w = _low_bytes(w, <int>k)
    else:
        w1 = _load8(s + i + 8)
        t = _below_21(w1)
        if t != 0:
            k = gtok_ctz64(t) >> 3
            w1 = _low_bytes(w1, <int>k)
            k += 8
        else:
            w2 = _load8(s + i + 16)
            t = _below_21(w2)
            if t == 0:
                return -1
            k = gtok_ctz64(t) >> 3
            w2 = _low_bytes(w2, <int>k)
            k += 16
    if k == 0:
        return -1
    f.bc_len = k
    f.bc_w[0] = w
    f.bc_w[1] = w1
    f.bc_w[2] = w2
    i += k                       # < m: the barcode's terminator
    if s[i] == c'\n':
        return pos + i + 1
    if s[i] == c'\r':
        if i + 1 < m and s[i + 1] == c'\n':
            return pos + i + 2
        return -1
    if s[i] != c'\t':
        return -1
    # the rest of the line (the count) is skipped: find its newline
    i += 1
    if i + 8 <= m:
        t = _zero_byte(_load8(s + i) ^ 0x0A0A0A0A0A0A0A0AULL)
        if t != 0:
            return pos + i + (gtok_ctz64(t) >> 3) + 1
        i += 8
    p = <const unsigned char*>memchr(s + i, c'\n', m - i)
    if p == NULL:
        return -1
    return (p - b) + 1


cdef inline int _slow_fields(const unsigned char* s, Py_ssize_t n, Py_ssize_t* a, Py_ssize_t* e,
                      uint32_t* start, uint32_t* end, bint header_allowed) noexcept nogil:
    """Any line: its fields and coordinates, or SKIP (a column header) or a problem."""
    cdef int k = _split4(s, n, a, e), r1, r2
    if k < 3:
        return TOO_FEW_FIELDS
    r1 = _parse_coord(s + a[1], e[1] - a[1], start)
    r2 = _parse_coord(s + a[2], e[2] - a[2], end)
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
