# SWAR ("SIMD within a register") helpers shared by the text parsers (_bedparse,
# _fragments): 8 bytes of text read as one little-endian word, so that the first byte of
# the text is the lowest byte of the word. Every trick here assumes that byte order;
# callers test GTOK_LITTLE_ENDIAN (a compile-time constant) and take a byte loop otherwise.

from libc.stdint cimport uint32_t, uint64_t
from libc.string cimport memcpy

cdef extern from *:
    """
    #if defined(_MSC_VER)
    #include <intrin.h>
    static inline int gtok_ctz64(unsigned long long x) {
        unsigned long i; _BitScanForward64(&i, x); return (int)i;
    }
    static inline int gtok_clz64(unsigned long long x) {
        unsigned long i; _BitScanReverse64(&i, x); return 63 - (int)i;
    }
    #define GTOK_LITTLE_ENDIAN 1
    #else
    static inline int gtok_ctz64(unsigned long long x) { return __builtin_ctzll(x); }
    static inline int gtok_clz64(unsigned long long x) { return __builtin_clzll(x); }
    #if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    #define GTOK_LITTLE_ENDIAN 1
    #else
    #define GTOK_LITTLE_ENDIAN 0
    #endif
    #endif
    """
    int gtok_ctz64(unsigned long long x) noexcept nogil   # x != 0
    int gtok_clz64(unsigned long long x) noexcept nogil   # x != 0
    const bint GTOK_LITTLE_ENDIAN


cdef inline uint64_t _load8(const unsigned char* s) noexcept nogil:
    cdef uint64_t w
    memcpy(&w, s, 8)
    return w


cdef inline uint64_t _below_21(uint64_t w) noexcept nogil:
    # The top bit of each byte below 0x21 (tab, newline, carriage return, space and other
    # controls) is set, exactly up to the first such byte (a borrow can only mark bytes
    # after it); zero when there is none.
    return (w - 0x2121212121212121ULL) & ~w & 0x8080808080808080ULL


cdef inline uint64_t _zero_byte(uint64_t w) noexcept nogil:
    # The top bit of each zero byte is set, exactly up to the first one (as above).
    return (w - 0x0101010101010101ULL) & ~w & 0x8080808080808080ULL


cdef inline uint32_t _eight_digits(uint64_t x) noexcept nogil:
    # x: eight digit values 0..9, the first (most significant) in the lowest byte. Pairs,
    # then quads, then the octet are combined with one multiply-add each.
    x = (x * 10 + (x >> 8)) & 0x00FF00FF00FF00FFULL
    x = (x * 100 + (x >> 16)) & 0x0000FFFF0000FFFFULL
    x = (x * 10000 + (x >> 32)) & 0x00000000FFFFFFFFULL
    return <uint32_t>x


cdef inline Py_ssize_t _digits(const unsigned char* s, Py_ssize_t i, Py_ssize_t n,
                               uint32_t* out) noexcept nogil:
    # 1 to 9 decimal digits from i (so no overflow): the index after them, else -1
    cdef Py_ssize_t j = i, k
    cdef uint32_t v = 0
    cdef unsigned char d
    cdef uint64_t x, t
    if GTOK_LITTLE_ENDIAN and i + 8 <= n:
        # XOR maps exactly the bytes '0'..'9' to 0..9; adding 0x76 sets a byte's top bit
        # when it is above 9 (a carry only spills into later bytes, past the first
        # non-digit, which is all we look for)
        x = _load8(s + i) ^ 0x3030303030303030ULL
        t = ((x + 0x7676767676767676ULL) | x) & 0x8080808080808080ULL
        if t != 0:
            k = gtok_ctz64(t) >> 3          # how many digits lead
            if k == 0:
                return -1
            out[0] = _eight_digits(x << (8 * (8 - k)))   # zeros in front of k digits
            return i + k
        v = _eight_digits(x)
        i += 8
        if i < n:
            d = <unsigned char>(s[i] - c'0')
            if d <= 9:                       # a 9th digit; a 10th goes the slow way
                if i + 1 < n and <unsigned char>(s[i + 1] - c'0') <= 9:
                    return -1
                v = v * 10 + d
                i += 1
        out[0] = v
        return i
    while i < n:
        d = <unsigned char>(s[i] - c'0')   # one unsigned comparison tests for a digit
        if d > 9:
            break
        v = v * 10 + d
        i += 1
    if i == j or i - j > 9:
        return -1
    out[0] = v
    return i
