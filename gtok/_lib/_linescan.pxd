# SSE2 scanners for the BED parser's common lines (_bedparse): C, as they are almost all
# intrinsics. x86-64 only (SSE2 is part of it: no dispatch); on other CPUs they find
# nothing and every line takes the parser's scalar paths.
#
# - gtok_newlines32: the newlines among 32 bytes (a line's end found first);
# - gtok_simd_line: a whole common line, "name<TAB>start<TAB>end" then a newline or a tab
#   (more fields), its fields found from one byte mask instead of a chain of dependent
#   scalar steps, and both numbers converted at once. On the benchmark files 16.2 -> 12.2
#   ns a line (BED, from memory), narrowPeak 18.1 -> 14.4, in cache 13.7 -> 10.3.

from libc.stdint cimport uint32_t, uint64_t

from gtok._lib._swar cimport gtok_ctz64

cdef extern from *:
    """
    #if defined(__SSE2__) || defined(_M_X64) || defined(_M_AMD64)
    #include <emmintrin.h>
    #define GTOK_NEWLINE_SCAN 1
    /* bit i set when s[i] is a newline, for the 32 bytes from s */
    static inline unsigned gtok_newlines32(const unsigned char* s) {
        const __m128i nl = _mm_set1_epi8('\\n');
        unsigned lo = (unsigned)_mm_movemask_epi8(
            _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i*)s), nl));
        unsigned hi = (unsigned)_mm_movemask_epi8(
            _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i*)(s + 16)), nl));
        return lo | (hi << 16);
    }
    #else
    /* other CPUs: no scan, every line takes _fast_line */
    #define GTOK_NEWLINE_SCAN 0
    static inline unsigned gtok_newlines32(const unsigned char* s) { (void)s; return 0; }
    #endif

    /* x86-64 only (_mm_cvtsi128_si64) */
    #if (defined(__SSE2__) && defined(__x86_64__)) || defined(_M_X64) || defined(_M_AMD64)
    #include <stdint.h>
    #include <string.h>
    /* 16 zeros then 16 0xff: the 16 bytes from gtok_last_bytes + k keep their last k */
    static const unsigned char gtok_last_bytes[32] = {
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255};

    /* bit i set when s[i] <= 0x20 (tab, newline, space, CR, other controls), for the 32
       bytes of a and b */
    static inline uint32_t gtok_controls32(__m128i a, __m128i b) {
        const __m128i sp = _mm_set1_epi8(0x20);
        unsigned lo = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(a, sp), a));
        unsigned hi = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(b, sp), b));
        return lo | (hi << 16);
    }

    /* The common line "name<TAB>start<TAB>end" then a newline or a tab (more fields).
       Returns the index of the line's newline (< 128), with the fields as the parser's
       _scan_line gives them (the name's length and its bytes as a word when it is shorter
       than 8, else 0); -1 when not sure: the caller's scalar paths decide. May write
       *start and *end before it returns -1. Reads s[-16:128]: the caller makes sure that
       these bytes are in the buffer. */
    static inline Py_ssize_t gtok_simd_line(const unsigned char* s, uint32_t* start,
                                            uint32_t* end, Py_ssize_t* chrom_len,
                                            uint64_t* word) {
        const __m128i a = _mm_loadu_si128((const __m128i*)s);
        const __m128i b = _mm_loadu_si128((const __m128i*)(s + 16));
        /* where a field may end; three bits above the window make sure that the three
           lowest exist: each of them is tested through its byte below (s[32:35] is
           readable) */
        uint64_t le = (uint64_t)gtok_controls32(a, b) | (7ULL << 32);
        uint64_t t1, t2, term, l1, l2, w, se, lines;
        unsigned char c;
        __m128i va, vb, lo8, q, o, d9;
        t1 = (uint64_t)(unsigned)gtok_ctz64(le);         /* the name's end */
        le &= le - 1;
        t2 = (uint64_t)(unsigned)gtok_ctz64(le);         /* the start's end */
        le &= le - 1;
        term = (uint64_t)(unsigned)gtok_ctz64(le);       /* the end's end */
        c = s[term];
        l1 = t2 - t1 - 1;
        l2 = term - t2 - 1;
        /* the name holds no byte <= 0x20 (so no space, CR...), two tabs, numbers of 1 to
           9 bytes (unsigned: 0 wraps), then a newline or a tab (a CR goes to _scan_line) */
        if ((s[t1] != '\\t') | (s[t2] != '\\t') | (l1 - 1 >= 9) | (l2 - 1 >= 9)
                | ((c != '\\t') & (c != '\\n')))
            return -1;
        /* each number right-aligned in the 16 bytes that end at its delimiter, as digit
           values; the bytes before it (other fields, the previous line) masked off */
        va = _mm_and_si128(_mm_sub_epi8(_mm_loadu_si128((const __m128i*)(s + t2 - 16)),
                                        _mm_set1_epi8('0')),
                           _mm_loadu_si128((const __m128i*)(gtok_last_bytes + l1)));
        vb = _mm_and_si128(_mm_sub_epi8(_mm_loadu_si128((const __m128i*)(s + term - 16)),
                                        _mm_set1_epi8('0')),
                           _mm_loadu_si128((const __m128i*)(gtok_last_bytes + l2)));
        /* digits only: a byte above 9 gets its top bit (saturating add) */
        if (_mm_movemask_epi8(_mm_adds_epu8(_mm_max_epu8(va, vb), _mm_set1_epi8(0x76))) != 0)
            return -1;
        /* the last 8 digits of both (start in the low half, end in the high one): groups
           of 4 from two multiply-adds (even and odd bytes), then groups of 8 */
        lo8 = _mm_unpackhi_epi64(va, vb);
        q = _mm_add_epi32(
            _mm_madd_epi16(_mm_and_si128(lo8, _mm_set1_epi16(0xff)),
                           _mm_set1_epi32((10 << 16) | 1000)),
            _mm_madd_epi16(_mm_srli_epi16(lo8, 8), _mm_set1_epi32((1 << 16) | 100)));
        o = _mm_add_epi64(_mm_mul_epu32(q, _mm_set1_epi32(10000)), _mm_srli_epi64(q, 32));
        /* and a 9th digit in front of them (byte 7) */
        d9 = _mm_srli_epi64(_mm_unpacklo_epi64(va, vb), 56);
        o = _mm_add_epi64(o, _mm_mul_epu32(d9, _mm_set1_epi32(100000000)));
        se = (uint64_t)_mm_cvtsi128_si64(_mm_shuffle_epi32(o, _MM_SHUFFLE(3, 1, 2, 0)));
        *start = (uint32_t)se;
        *end = (uint32_t)(se >> 32);
        if ((uint32_t)(se >> 32) < (uint32_t)se)
            return -1;
        memcpy(&w, s, 8);
        *word = t1 < 8 ? w & ((1ULL << (8 * t1)) - 1) : 0;
        *chrom_len = (Py_ssize_t)t1;
        if (c == '\\n')
            return (Py_ssize_t)term;
        /* more fields: the line's newline, in the same 32 bytes, or the 96 after them */
        {
            const __m128i nl = _mm_set1_epi8('\\n');
            unsigned lo = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(a, nl));
            unsigned hi = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(b, nl));
            lines = lo | (hi << 16);
        }
        if (lines != 0)
            return gtok_ctz64(lines);
        lines = (uint64_t)gtok_newlines32(s + 32) | ((uint64_t)gtok_newlines32(s + 64) << 32);
        if (lines != 0)
            return 32 + gtok_ctz64(lines);
        lines = gtok_newlines32(s + 96);
        if (lines != 0)
            return 96 + gtok_ctz64(lines);
        return -1;
    }
    #else
    static inline Py_ssize_t gtok_simd_line(const unsigned char* s, uint32_t* start,
                                            uint32_t* end, Py_ssize_t* chrom_len,
                                            uint64_t* word) {
        (void)s; (void)start; (void)end; (void)chrom_len; (void)word;
        return -1;
    }
    #endif
    """
    const bint GTOK_NEWLINE_SCAN
    unsigned int gtok_newlines32(const unsigned char* s) noexcept nogil
    Py_ssize_t gtok_simd_line(const unsigned char* s, uint32_t* start, uint32_t* end,
                              Py_ssize_t* chrom_len, uint64_t* word) noexcept nogil
