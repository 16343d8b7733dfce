from libc.stdint cimport int32_t, uint64_t


cdef class ChromTable:
    cdef char* _names
    cdef Py_ssize_t _names_len
    cdef Py_ssize_t _names_cap
    cdef Py_ssize_t* _offsets
    cdef uint64_t* _heads
    cdef Py_ssize_t _n
    cdef Py_ssize_t _offsets_cap
    cdef int32_t* _slots
    cdef Py_ssize_t _n_slots

    cdef bint _grow_slots(self, Py_ssize_t n_slots) noexcept nogil
    cdef int32_t lookup(self, const char* name, Py_ssize_t length) noexcept nogil
    cdef int32_t add(self, const char* name, Py_ssize_t length) noexcept nogil
    cdef int32_t lookup_or_add(self, const char* name, Py_ssize_t length) noexcept nogil
