# NumPy C-API declarations the extensions need beyond numpy's own numpy.pxd, in one place.
# A module that uses them also cimports numpy and calls numpy.import_array() once (each
# extension module has its own pointer to NumPy's API table).

cimport numpy as cnp


cdef extern from "numpy/arrayobject.h":
    # steals a reference to descr; returns a new reference
    object PyArray_NewFromDescr(type subtype, cnp.dtype descr, int nd, cnp.npy_intp* dims,
                                cnp.npy_intp* strides, void* data, int flags, object obj)
