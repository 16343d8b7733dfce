"""Loops behind ``write_gtok``: range check and narrowing of integer id arrays, without the GIL."""

from libc.stdint cimport (int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t,
                          uint64_t)

ctypedef fused id_t:
    int8_t
    int16_t
    int32_t
    int64_t
    uint8_t
    uint16_t
    uint32_t
    uint64_t


cdef void _min_max(const id_t[::1] ids, int64_t* lo, uint64_t* hi) noexcept nogil:
    # Signed minimum (to find negatives) and unsigned maximum (to find ids >= 2**32).
    cdef Py_ssize_t i, n = ids.shape[0]
    cdef int64_t mn = 0
    cdef uint64_t mx = 0
    cdef id_t v
    if n > 0:
        mn = <int64_t>ids[0]
    for i in range(n):
        v = ids[i]
        if id_t is int8_t or id_t is int16_t or id_t is int32_t or id_t is int64_t:
            if v < mn:
                mn = v
            if v > 0 and <uint64_t>v > mx:
                mx = <uint64_t>v
        else:
            if <uint64_t>v > mx:
                mx = <uint64_t>v
            mn = 0
    lo[0] = mn
    hi[0] = mx


def id_range(const id_t[::1] ids):
    """Return ``(min, max)`` of ``ids`` (``(0, 0)`` when empty); ``min`` is clamped to <= 0
    for unsigned inputs, which is all the writer needs to reject negatives."""
    cdef int64_t lo
    cdef uint64_t hi
    with nogil:
        _min_max(ids, &lo, &hi)
    return lo, hi


ctypedef fused narrow_t:
    uint16_t
    uint32_t


def narrow(const id_t[::1] ids, narrow_t[::1] out):
    """Copy ``ids`` into ``out`` (uint16 or uint32). The caller has checked the range."""
    cdef Py_ssize_t i, n = ids.shape[0]
    if out.shape[0] != n:
        raise ValueError("output length differs from input length")
    with nogil:
        for i in range(n):
            out[i] = <narrow_t>ids[i]
