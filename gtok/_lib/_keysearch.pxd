# Searches of a sorted run of uint32 keys, inline and without the GIL, for the overlap
# index (_overlap): a binary search, a gallop forward from a position, and a branch-free
# halving over a line or two of keys.

from libc.stdint cimport uint32_t


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


cdef enum:
    BLOCK = 8           # a linear scan's length before galloping


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


cdef inline Py_ssize_t _line_gt(const uint32_t* key, Py_ssize_t lo, Py_ssize_t hi,
                                uint32_t x) noexcept nogil:
    # first index in [lo, hi) with key[i] > x (hi if none), keys not decreasing there; a
    # range of a line or two: halving it without branches (the loads hit the same line)
    cdef Py_ssize_t n = hi - lo, half
    while n > 1:
        half = n >> 1
        lo = lo + half if key[lo + half - 1] <= x else lo
        n -= half
    if n == 1 and key[lo] <= x:
        lo += 1
    return lo
