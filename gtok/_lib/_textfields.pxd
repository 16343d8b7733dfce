# Field helpers shared by the text parsers (_bedparse, _fragments): a coordinate in
# 0..2**32-1, a column-header word, a blank line. Inline C, without the GIL. (Their line
# problem codes are the enum in _lineproblem.pxd.)

from libc.stdint cimport UINT32_MAX, uint32_t, uint64_t

# results of one coordinate parse
cdef enum:
    NUM_OK = 0
    NUM_BAD = 1
    NUM_NEGATIVE = 2
    NUM_TOO_LARGE = 3


cdef inline int _parse_coord(const unsigned char* s, Py_ssize_t n, uint32_t* out) noexcept nogil:
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
    # A column name such as "start" or "chromEnd": letters, digits and underscores, not
    # starting with a digit (so "1.5" or "1e3" are malformed numbers, not words).
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


cdef inline bint _is_blank(const unsigned char* s, Py_ssize_t n) noexcept nogil:
    # only spaces, tabs and carriage returns
    cdef Py_ssize_t i
    for i in range(n):
        if s[i] != c' ' and s[i] != c'\t' and s[i] != c'\r':
            return False
    return True
