"""Stable LSD radix sort of 64-bit keys, carrying the original positions along.

Used to put regions in (chromosome, start) order: the key is ``chrom_rank << 32 | start``.
Digits are 11 bits wide (2,048 buckets, so the histograms stay in L1); digits that are the
same for every key are skipped, so a typical genome needs four passes, and an input that
is already sorted costs one check.
"""

from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset

cdef enum:
    DIGIT_BITS = 11
    N_BUCKETS = 2048
    N_DIGITS = 6            # 6 * 11 = 66 >= 64 bits


cdef int argsort_u64(uint64_t* keys, int64_t* order, Py_ssize_t n) noexcept nogil:
    """Sort ``keys`` in place, stably; ``order[i]`` becomes the original position of the
    i-th smallest key (``order`` is overwritten, not read). Returns 0, or -1 when out of
    memory (then ``keys`` and ``order`` are unspecified)."""
    cdef Py_ssize_t i, d, total, c
    cdef Py_ssize_t* hist
    cdef uint64_t* keys2
    cdef int64_t* order2
    cdef uint64_t* ksrc
    cdef uint64_t* kdst
    cdef int64_t* osrc
    cdef int64_t* odst
    cdef uint64_t* kt
    cdef int64_t* ot
    cdef unsigned int shift, digit
    cdef bint sorted_already = True
    for i in range(n):
        order[i] = i
    for i in range(1, n):
        if keys[i] < keys[i - 1]:
            sorted_already = False
            break
    if sorted_already:
        return 0
    hist = <Py_ssize_t*>malloc(N_DIGITS * N_BUCKETS * sizeof(Py_ssize_t))
    keys2 = <uint64_t*>malloc(n * sizeof(uint64_t))
    order2 = <int64_t*>malloc(n * sizeof(int64_t))
    if hist == NULL or keys2 == NULL or order2 == NULL:
        free(hist)
        free(keys2)
        free(order2)
        return -1
    # only the digits below the largest key's highest bit can differ
    cdef uint64_t largest = 0
    cdef Py_ssize_t n_digits = 0
    for i in range(n):
        largest |= keys[i]
    while n_digits < N_DIGITS and (largest >> (n_digits * DIGIT_BITS)) != 0:
        n_digits += 1
    memset(hist, 0, N_DIGITS * N_BUCKETS * sizeof(Py_ssize_t))
    for i in range(n):
        for d in range(n_digits):
            hist[d * N_BUCKETS + ((keys[i] >> (d * DIGIT_BITS)) & (N_BUCKETS - 1))] += 1
    ksrc, kdst, osrc, odst = keys, keys2, order, order2
    for d in range(n_digits):
        shift = d * DIGIT_BITS
        # a digit shared by every key does not reorder anything
        if hist[d * N_BUCKETS + ((ksrc[0] >> shift) & (N_BUCKETS - 1))] == n:
            continue
        total = 0
        for digit in range(N_BUCKETS):
            c = hist[d * N_BUCKETS + digit]
            hist[d * N_BUCKETS + digit] = total
            total += c
        for i in range(n):
            digit = (ksrc[i] >> shift) & (N_BUCKETS - 1)
            c = hist[d * N_BUCKETS + digit]
            hist[d * N_BUCKETS + digit] = c + 1
            kdst[c] = ksrc[i]
            odst[c] = osrc[i]
        kt = ksrc
        ksrc = kdst
        kdst = kt
        ot = osrc
        osrc = odst
        odst = ot
    if ksrc != keys:
        memcpy(keys, ksrc, n * sizeof(uint64_t))
        memcpy(order, osrc, n * sizeof(int64_t))
    free(hist)
    free(keys2)
    free(order2)
    return 0


def argsort_keys(uint64_t[::1] keys):
    """Python entry point (for tests): sort ``keys`` in place; return the stable order."""
    import numpy as np
    cdef Py_ssize_t n = keys.shape[0]
    out = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] order = out
    cdef int rc = 0
    if n:
        with nogil:
            rc = argsort_u64(&keys[0], &order[0], n)
    if rc:
        raise MemoryError()
    return out
