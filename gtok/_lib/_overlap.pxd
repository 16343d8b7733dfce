from libc.stdint cimport int32_t, int64_t, uint32_t
from libc.stdlib cimport realloc


cdef struct IdBuffer:
    uint32_t* data
    Py_ssize_t n
    Py_ssize_t cap


cdef inline int _push(IdBuffer* buf, uint32_t value) noexcept nogil:
    # append one id, doubling the buffer when full; -1 when out of memory
    cdef Py_ssize_t cap
    cdef uint32_t* data
    if buf.n == buf.cap:
        cap = 2 * buf.cap if buf.cap else 1024
        data = <uint32_t*>realloc(buf.data, cap * sizeof(uint32_t))
        if data == NULL:
            return -1
        buf.data = data
        buf.cap = cap
    buf.data[buf.n] = value
    buf.n += 1
    return 0


cdef struct Hit:
    uint32_t start
    uint32_t end
    uint32_t id


cdef class OverlapIndex:
    cdef readonly object starts, ends, maxend, ids, comp_bounds, chrom_comps
    cdef const uint32_t* _starts
    cdef const uint32_t* _ends
    cdef const uint32_t* _maxend
    cdef const uint32_t* _ids
    cdef const int64_t* _comp_bounds
    cdef const int64_t* _chrom_comps
    cdef readonly Py_ssize_t n_chroms
    cdef readonly Py_ssize_t n_regions

    cdef const void* _ptr(self, arr)
    cdef int _query(self, int32_t c, uint32_t qs, uint32_t qe, IdBuffer* out,
                    Hit** scratch, Py_ssize_t* scratch_cap, Py_ssize_t* cursor,
                    uint32_t* cursor_qs) noexcept nogil
