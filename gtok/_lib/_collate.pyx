"""Batch kernels: documents of token ids into padded or flat training batches, without the GIL.

:func:`classify` reads each document's element type, length and data pointer through the
NumPy C API (documents of another type or layout are converted by :mod:`gtok.train.collate`
first); :func:`fill` then truncates (head, a random window, or a random ordered subset, each
document with its own 64-bit seed) and writes int32 or int64 output with the GIL released.
"""

cimport numpy as cnp
from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memset

cnp.import_array()

ctypedef fused out_t:
    int32_t
    int64_t

cdef enum:
    HEAD = 0
    RANDOM_WINDOW = 1
    RANDOM_SUBSET = 2

# element kinds of input documents
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


cdef inline void _copy_run(const void* src, int kind, Py_ssize_t start, Py_ssize_t count,
                           out_t* dst) noexcept nogil:
    # one loop per element type, so the compiler vectorises the widening copy
    cdef Py_ssize_t i
    cdef const uint16_t* s16
    cdef const uint32_t* s32
    cdef const int32_t* i32
    cdef const int64_t* i64
    if kind == T_U16:
        s16 = <const uint16_t*>src + start
        for i in range(count):
            dst[i] = <out_t>s16[i]
    elif kind == T_U32:
        s32 = <const uint32_t*>src + start
        for i in range(count):
            dst[i] = <out_t>s32[i]
    elif kind == T_I32:
        i32 = <const int32_t*>src + start
        for i in range(count):
            dst[i] = <out_t>i32[i]
    else:
        i64 = <const int64_t*>src + start
        for i in range(count):
            dst[i] = <out_t>i64[i]


cdef Py_ssize_t _copy_doc(const void* src, int kind, Py_ssize_t n, out_t* dst, Py_ssize_t take,
                          int mode, uint64_t seed) noexcept nogil:
    """Write ``take`` (<= n) of the document's ids to dst; return ``take``."""
    cdef Py_ssize_t i, start = 0, chosen = 0
    cdef uint64_t state = seed
    cdef double u
    if take >= n or mode == HEAD or mode == RANDOM_WINDOW:
        if take < n and mode == RANDOM_WINDOW:
            start = <Py_ssize_t>(_splitmix64(&state) % <uint64_t>(n - take + 1))
        _copy_run(src, kind, start, take, dst)
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


cdef void _pad(const void** src, const int8_t* kinds, const int64_t* n, const int64_t* take,
               const uint64_t* seeds, Py_ssize_t batch, int mode, out_t* out, Py_ssize_t width,
               out_t pad, uint8_t* mask) noexcept nogil:
    cdef Py_ssize_t b, j, got
    cdef out_t* row
    for b in range(batch):
        row = out + b * width
        got = _copy_doc(src[b], kinds[b], n[b], row, take[b], mode, seeds[b])
        for j in range(got, width):
            row[j] = pad
        memset(mask + b * width, 1, got)
        memset(mask + b * width + got, 0, width - got)


cdef void _flat(const void** src, const int8_t* kinds, const int64_t* n, const int64_t* take,
                const uint64_t* seeds, Py_ssize_t batch, int mode, out_t* out,
                const int64_t* cu) noexcept nogil:
    cdef Py_ssize_t b
    for b in range(batch):
        _copy_doc(src[b], kinds[b], n[b], out + cu[b], take[b], mode, seeds[b])


cdef int8_t _kind(cnp.ndarray arr) noexcept:
    # the kernel's element kind of a 1-D C-contiguous native array, or -1
    if cnp.PyArray_NDIM(arr) != 1 or not cnp.PyArray_IS_C_CONTIGUOUS(arr):
        return -1
    if not cnp.PyArray_ISNOTSWAPPED(arr):
        return -1
    t = cnp.PyArray_TYPE(arr)
    if t == cnp.NPY_UINT16:
        return T_U16
    if t == cnp.NPY_UINT32:
        return T_U32
    if t == cnp.NPY_INT32:
        return T_I32
    if t == cnp.NPY_INT64:
        return T_I64
    return -1


def classify(list docs):
    """``(kinds, lengths)``: each document's element kind (-1 when it is not a 1-D
    contiguous uint16/uint32/int32/int64 NumPy array and needs converting) and length."""
    cdef Py_ssize_t batch = len(docs), b
    kinds_arr = cnp.PyArray_EMPTY(1, [batch], cnp.NPY_INT8, 0)
    lengths_arr = cnp.PyArray_ZEROS(1, [batch], cnp.NPY_INT64, 0)
    cdef int8_t[::1] kinds = kinds_arr
    cdef int64_t[::1] lengths = lengths_arr
    for b in range(batch):
        doc = docs[b]
        if isinstance(doc, cnp.ndarray):
            kinds[b] = _kind(<cnp.ndarray>doc)
            if kinds[b] >= 0:
                lengths[b] = cnp.PyArray_DIM(<cnp.ndarray>doc, 0)
        else:
            kinds[b] = -1
    return kinds_arr, lengths_arr


def fill(list docs, const int8_t[::1] kinds, const int64_t[::1] take,
         const uint64_t[::1] seeds, int mode, cnp.ndarray out, pad, mask, cu):
    """Fill ``out`` from ``docs`` (classified by :func:`classify`, every kind >= 0).

    Padded form: ``out`` is (B, width) and ``mask`` (B, width) uint8 (``cu`` is None).
    Flat form: ``out`` is 1-D, ``cu`` the int64 cumulative lengths (``mask`` is None).
    """
    cdef Py_ssize_t batch = len(docs), b, width = 0
    cdef const void** src = <const void**>malloc(max(batch, 1) * sizeof(void*))
    cdef int64_t* n = <int64_t*>malloc(max(batch, 1) * sizeof(int64_t))
    cdef uint8_t[:, ::1] m
    cdef const int64_t[::1] cuv
    cdef cnp.ndarray doc
    cdef bint wide = out.dtype.itemsize == 8
    cdef int32_t pad32 = 0
    cdef int64_t pad64 = 0
    if src == NULL or n == NULL:
        free(src)
        free(n)
        raise MemoryError()
    try:
        if kinds.shape[0] != batch or take.shape[0] != batch or seeds.shape[0] != batch:
            raise ValueError("kinds, take and seeds need one entry per document")
        if out.dtype.num not in (cnp.NPY_INT32, cnp.NPY_INT64) or not out.flags.c_contiguous:
            raise ValueError("out must be a C-contiguous int32 or int64 array")
        if cu is None:
            m = mask
            width = m.shape[1]
            if out.ndim != 2 or out.shape[0] != batch or out.shape[1] != width \
                    or m.shape[0] != batch:
                raise ValueError("output and mask must be (batch, width)")
            if wide:
                pad64 = pad
            else:
                pad32 = pad
        else:
            cuv = cu
            if (out.ndim != 1 or cuv.shape[0] != batch + 1 or cuv[0] != 0
                    or cuv[batch] != out.shape[0]):
                raise ValueError("cu must be the batch's cumulative lengths")
        for b in range(batch):
            doc = docs[b]
            if kinds[b] < 0 or _kind(doc) != kinds[b]:
                raise ValueError(f"document {b} is not a contiguous array of its kind")
            src[b] = cnp.PyArray_DATA(doc)
            n[b] = cnp.PyArray_DIM(doc, 0)
            if not 0 <= take[b] <= n[b] or (cu is None and take[b] > width):
                raise ValueError(f"take[{b}] = {take[b]} does not fit")
            if cu is not None and cuv[b + 1] - cuv[b] != take[b]:
                raise ValueError("cu must be the batch's cumulative lengths")
        if batch == 0:
            return
        if cu is None:
            if width == 0:
                return
            if wide:
                with nogil:
                    _pad(src, &kinds[0], n, &take[0], &seeds[0], batch, mode,
                         <int64_t*>cnp.PyArray_DATA(out), width, pad64, &m[0, 0])
            else:
                with nogil:
                    _pad(src, &kinds[0], n, &take[0], &seeds[0], batch, mode,
                         <int32_t*>cnp.PyArray_DATA(out), width, pad32, &m[0, 0])
        elif out.shape[0]:
            if wide:
                with nogil:
                    _flat(src, &kinds[0], n, &take[0], &seeds[0], batch, mode,
                          <int64_t*>cnp.PyArray_DATA(out), &cuv[0])
            else:
                with nogil:
                    _flat(src, &kinds[0], n, &take[0], &seeds[0], batch, mode,
                          <int32_t*>cnp.PyArray_DATA(out), &cuv[0])
    finally:
        free(src)
        free(n)
