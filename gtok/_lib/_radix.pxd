from libc.stdint cimport int64_t, uint64_t

cdef int argsort_u64(uint64_t* keys, int64_t* order, Py_ssize_t n) noexcept nogil
