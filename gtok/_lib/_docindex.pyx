"""Fast per-document views of a pack: ``index[i]`` is ``tokens[offsets[i]:offsets[i + 1]]``.

NumPy slicing from Python costs several hundred nanoseconds (index parsing, a slice object);
here a document view is made directly through the NumPy C API, with the tokens array as its
base, so the view keeps the mapping alive like any other slice.
"""

cimport numpy as cnp

from gtok._lib._npy cimport PyArray_NewFromDescr
from cpython.ref cimport Py_INCREF
from libc.stdint cimport uint64_t

cnp.import_array()


from gtok.errors import CorruptIndexError


cdef class DocumentIndex:
    """Documents of a token array cut by an offsets array (both read-only views).

    Parameters
    ----------
    tokens : numpy.ndarray
        1-D, contiguous ``uint16``/``uint32`` (a pack's tokens).
    offsets : numpy.ndarray
        1-D, contiguous ``<u8``: ``n_docs + 1`` boundaries in tokens.
    path : str
        The pack, for error messages.
    """

    cdef object tokens
    cdef const uint64_t[::1] offsets
    cdef cnp.dtype descr
    cdef char* base_ptr
    cdef Py_ssize_t itemsize
    cdef Py_ssize_t n_tokens
    cdef readonly Py_ssize_t n_docs
    cdef object path

    def __cinit__(self, cnp.ndarray tokens, offsets, path):
        if tokens.ndim != 1 or not tokens.flags.c_contiguous:
            raise ValueError("tokens must be a 1-D contiguous array")
        self.tokens = tokens
        self.offsets = offsets
        self.descr = tokens.dtype
        self.base_ptr = <char*>cnp.PyArray_DATA(tokens)
        self.itemsize = tokens.dtype.itemsize
        self.n_tokens = tokens.shape[0]
        self.n_docs = self.offsets.shape[0] - 1
        self.path = path

    def __len__(self):
        return self.n_docs

    def __getitem__(self, Py_ssize_t i):
        cdef uint64_t start, end
        cdef cnp.npy_intp length
        cdef cnp.ndarray view
        if i < 0:
            i += self.n_docs
        if i < 0 or i >= self.n_docs:
            raise IndexError(f"document {i} out of range (pack has {self.n_docs})")
        start = self.offsets[i]
        end = self.offsets[i + 1]
        if not (start <= end and end <= <uint64_t>self.n_tokens):
            raise CorruptIndexError(self.path, f"document {i} spans [{start}, {end}): offsets "
                                               "are out of order or past the tokens")
        length = <cnp.npy_intp>(end - start)
        Py_INCREF(self.descr)  # PyArray_NewFromDescr steals a reference
        view = PyArray_NewFromDescr(
            cnp.ndarray, self.descr, 1, &length, NULL,
            <void*>(self.base_ptr + <Py_ssize_t>start * self.itemsize),
            cnp.NPY_ARRAY_C_CONTIGUOUS | cnp.NPY_ARRAY_ALIGNED, None)
        Py_INCREF(self.tokens)  # PyArray_SetBaseObject steals a reference
        cnp.PyArray_SetBaseObject(view, self.tokens)
        return view
