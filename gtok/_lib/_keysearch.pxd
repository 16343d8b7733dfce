# Searches of a sorted run of uint32 keys, inline and without the GIL, for the overlap
# index (_overlap): a binary search, a gallop forward from a position, a branch-free
# halving over a line or two of keys, and the keys above a value among 16 (SSE2 where
# the CPU has it: every x86-64 one).

from libc.stdint cimport uint32_t

cdef extern from *:
    """
    #if defined(__SSE2__) || defined(_M_X64) || defined(_M_AMD64)
    #include <emmintrin.h>
    /* bit i set when k[i] > x, for the 16 keys from k (unsigned: both sides' top bits
       flipped for the signed comparison) */
    static inline unsigned gtok_above16(const uint32_t* k, uint32_t x) {
        const __m128i flip = _mm_set1_epi32((int)0x80000000u);
        const __m128i v = _mm_xor_si128(_mm_set1_epi32((int)x), flip);
        unsigned m = 0;
        int i;
        for (i = 0; i < 4; i++) {
            __m128i a = _mm_xor_si128(_mm_loadu_si128((const __m128i*)(k + 4 * i)), flip);
            __m128i above = _mm_cmpgt_epi32(a, v);
            m |= (unsigned)_mm_movemask_ps(_mm_castsi128_ps(above)) << (4 * i);
        }
        return m;
    }
    #else
    static inline unsigned gtok_above16(const uint32_t* k, uint32_t x) {
        unsigned m = 0;
        int i;
        for (i = 0; i < 16; i++)
            m |= (unsigned)(k[i] > x) << i;
        return m;
    }
    #endif
    """
    unsigned int gtok_above16(const uint32_t* k, uint32_t x) noexcept nogil


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
