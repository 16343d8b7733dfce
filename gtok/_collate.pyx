"""Batch kernels: documents of token ids into padded or flat training batches, without the GIL.

Each document is read through a pointer, its element type and its length (collected under the
GIL by :mod:`gtok.collate`); the kernels then truncate (head, a random window, or a random
ordered subset, each document with its own 64-bit seed) and write int32 or int64 output.
"""

from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc

cdef extern from "Python.h":
    void* PyLong_AsVoidPtr(object)

ctypedef fused out_t:
    int32_t
    int64_t

cdef enum:
    HEAD = 0
    RANDOM_WINDOW = 1
    RANDOM_SUBSET = 2

cdef enum:
    T_U16 = 0
    T_U32 = 1
    T_I32 = 2
    T_I64 = 3


cdef inline uint64_t _splitmix64(uint64_t* state) noexcept nogil:
    cdef uint64_t z
    state[0] += 0x9E3779B97F4A7C15ULL
    z = state[0]
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL
    return z ^ (z >> 31)


cdef inline int64_t _get(const void* src, int kind, Py_ssize_t i) noexcept nogil:
    if kind == T_U16:
        return (<const uint16_t*>src)[i]
    if kind == T_U32:
        return (<const uint32_t*>src)[i]
    if kind == T_I32:
        return (<const int32_t*>src)[i]
    return (<const int64_t*>src)[i]


cdef Py_ssize_t _copy_doc(const void* src, int kind, Py_ssize_t n, out_t* dst, Py_ssize_t take,
                          int mode, uint64_t seed) noexcept nogil:
    """Write ``take`` (<= n) of the document's ids to dst; return ``take``."""
    cdef Py_ssize_t i, start = 0, chosen = 0
    cdef uint64_t state = seed
    cdef double u
    if take >= n or mode == HEAD or mode == RANDOM_WINDOW:
        if take < n and mode == RANDOM_WINDOW:
            start = <Py_ssize_t>(_splitmix64(&state) % <uint64_t>(n - take + 1))
        for i in range(take):
            dst[i] = <out_t>_get(src, kind, start + i)
        return take
    # RANDOM_SUBSET: selection sampling (Knuth's algorithm S) keeps the document's order
    for i in range(n):
        if chosen == take:
            break
        u = (_splitmix64(&state) >> 11) * (1.0 / 9007199254740992.0)
        if u * (n - i) < take - chosen:
            dst[chosen] = <out_t>_get(src, kind, i)
            chosen += 1
    return chosen


cdef void _pad(const void** src, const int* kinds, const Py_ssize_t* n, const int64_t* take,
               const uint64_t* seeds, Py_ssize_t batch, int mode, out_t* out, Py_ssize_t width,
               out_t pad, uint8_t* mask) noexcept nogil:
    cdef Py_ssize_t b, j, got
    for b in range(batch):
        got = _copy_doc(src[b], kinds[b], n[b], out + b * width, take[b], mode, seeds[b])
        for j in range(got, width):
            out[b * width + j] = pad
        for j in range(width):
            mask[b * width + j] = j < got


cdef void _flat(const void** src, const int* kinds, const Py_ssize_t* n, const int64_t* take,
                const uint64_t* seeds, Py_ssize_t batch, int mode, out_t* out,
                const int64_t* cu) noexcept nogil:
    cdef Py_ssize_t b
    for b in range(batch):
        _copy_doc(src[b], kinds[b], n[b], out + cu[b], take[b], mode, seeds[b])


def fill(list docs, list kinds, const int64_t[::1] take, const uint64_t[::1] seeds, int mode,
         out, pad, mask, cu):
    """Fill ``out`` from ``docs`` (contiguous 1-D arrays of the given kind codes).

    Padded form: ``out`` is (B, width) and ``mask`` (B, width) uint8 (``cu`` is None).
    Flat form: ``out`` is 1-D, ``cu`` the int64 cumulative lengths (``mask`` is None).
    """
    cdef Py_ssize_t batch = len(docs), b, width = 0
    cdef const void** src = <const void**>malloc(max(batch, 1) * sizeof(void*))
    cdef int* kind = <int*>malloc(max(batch, 1) * sizeof(int))
    cdef Py_ssize_t* n = <Py_ssize_t*>malloc(max(batch, 1) * sizeof(Py_ssize_t))
    cdef int32_t[:, ::1] o32
    cdef int64_t[:, ::1] o64
    cdef int32_t[::1] f32
    cdef int64_t[::1] f64
    cdef uint8_t[:, ::1] m
    cdef const int64_t[::1] cuv
    cdef int32_t pad32
    cdef int64_t pad64
    if src == NULL or kind == NULL or n == NULL:
        free(src)
        free(kind)
        free(n)
        raise MemoryError()
    try:
        if take.shape[0] != batch or seeds.shape[0] != batch:
            raise ValueError("take and seeds need one entry per document")
        if cu is None:
            m = mask
            width = m.shape[1]
            if out.shape[0] != batch or out.shape[1] != width or m.shape[0] != batch:
                raise ValueError("output and mask must be (batch, width)")
        else:
            cuv = cu
            if cuv.shape[0] != batch + 1 or cuv[0] != 0 or cuv[batch] != out.shape[0]:
                raise ValueError("cu must be the batch's cumulative lengths")
        for b in range(batch):
            doc = docs[b]
            kind[b] = kinds[b]
            if (doc.ndim != 1 or not doc.flags.c_contiguous
                    or doc.dtype.itemsize != (2 if kind[b] == T_U16 else 8 if kind[b] == T_I64
                                              else 4)):
                raise ValueError(f"document {b} is not a contiguous array of its kind")
            src[b] = PyLong_AsVoidPtr(doc.ctypes.data)
            n[b] = doc.shape[0]
            if not 0 <= take[b] <= n[b] or (cu is None and take[b] > width):
                raise ValueError(f"take[{b}] = {take[b]} does not fit")
            if cu is not None and cuv[b + 1] - cuv[b] != take[b]:
                raise ValueError("cu must be the batch's cumulative lengths")
        if cu is None:
            if out.dtype.itemsize == 4:
                o32 = out
                pad32 = pad
                if batch and width:
                    with nogil:
                        _pad(src, kind, n, &take[0], &seeds[0], batch, mode, &o32[0, 0],
                             width, pad32, &m[0, 0])
            else:
                o64 = out
                pad64 = pad
                if batch and width:
                    with nogil:
                        _pad(src, kind, n, &take[0], &seeds[0], batch, mode, &o64[0, 0],
                             width, pad64, &m[0, 0])
        else:
            if out.shape[0] == 0 or batch == 0:
                return
            if out.dtype.itemsize == 4:
                f32 = out
                with nogil:
                    _flat(src, kind, n, &take[0], &seeds[0], batch, mode, &f32[0], &cuv[0])
            else:
                f64 = out
                with nogil:
                    _flat(src, kind, n, &take[0], &seeds[0], batch, mode, &f64[0], &cuv[0])
    finally:
        free(src)
        free(kind)
        free(n)
