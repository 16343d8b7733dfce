"""Read-only memory maps that own their pages and count the views exported from them,
and page advice for arrays (:func:`advise_base_pages`).

A :class:`MappedFile` maps a whole file once and exposes it through the buffer protocol.
Every NumPy view made from it (through a ``memoryview``) holds a buffer export, so the
mapping is unmapped only when the last view is gone, and :meth:`MappedFile.close` refuses
(``BufferError``) to unmap under a living view. The file descriptor is only needed while
mapping: the caller closes it right after construction.
"""

cimport numpy as cnp

from gtok._lib._npy cimport PyArray_NewFromDescr
from cpython.buffer cimport PyBUF_WRITABLE, PyBuffer_FillInfo
from cpython.ref cimport Py_INCREF
from libc.errno cimport EINVAL, EISDIR, errno
from libc.stdint cimport uint8_t, uintptr_t
from posix.fcntl cimport O_CLOEXEC, O_NONBLOCK, O_RDONLY
from posix.fcntl cimport open as c_open
from posix.mman cimport MAP_FAILED, mmap, munmap
from posix.stat cimport S_ISDIR, S_ISREG, fstat, struct_stat
from posix.unistd cimport _SC_PAGESIZE, sysconf
from posix.unistd cimport close as c_close

cnp.import_array()

cdef extern from "Python.h":
    object PyMemoryView_FromObject(object)


cdef extern from *:
    """
    #include <sys/mman.h>
    #ifndef MADV_POPULATE_READ
    #define MADV_POPULATE_READ 22
    #endif
    #ifdef MADV_NOHUGEPAGE
    #define GTOK_MADV_NOHUGEPAGE MADV_NOHUGEPAGE
    #else
    #define GTOK_MADV_NOHUGEPAGE (-1)
    #endif
    #define GTOK_MAP_PRIVATE MAP_PRIVATE
    #define GTOK_PROT_RW (PROT_READ | PROT_WRITE)
    static inline Py_ssize_t gtok_atomic_add(Py_ssize_t* p, Py_ssize_t v) {
        return __atomic_add_fetch(p, v, __ATOMIC_SEQ_CST);
    }
    static inline Py_ssize_t gtok_atomic_load(Py_ssize_t* p) {
        return __atomic_load_n(p, __ATOMIC_SEQ_CST);
    }
    """
    int MADV_POPULATE_READ
    int GTOK_MADV_NOHUGEPAGE
    int GTOK_MAP_PRIVATE
    int GTOK_PROT_RW
    Py_ssize_t gtok_atomic_add(Py_ssize_t* p, Py_ssize_t v) noexcept nogil
    Py_ssize_t gtok_atomic_load(Py_ssize_t* p) noexcept nogil
    int madvise(void* addr, size_t length, int advice) nogil

import os


cdef class MappedFile:
    """A read-only mapping of ``size`` bytes of an open file descriptor.

    Parameters
    ----------
    fd : int
        An open, readable file descriptor. It is not kept: close it after construction.
    size : int
        The number of bytes to map (the file's size). Zero maps nothing.
    path : str
        The file's path, kept for messages and pickling by the caller.
    populate : bool
        Pre-fault the pages at map time (``MADV_POPULATE_READ`` on Linux). Cheaper than
        faulting page by page when the whole file is read soon after; leave off for large
        files read sparsely.
    """

    cdef const uint8_t* _addr
    cdef Py_ssize_t _size
    cdef Py_ssize_t _exports
    cdef bint _closed
    cdef readonly object path

    def __cinit__(self, int fd, Py_ssize_t size, path, bint populate=False):
        cdef void* addr
        self._addr = NULL
        self._size = 0
        self._exports = 0
        self._closed = False
        self.path = path
        if size < 0:
            raise ValueError(f"negative mapping size {size}")
        if size > 0:
            # A private mapping, writable by copy-on-write: the views handed out are
            # read-only, but a consumer that writes anyway (torch.from_numpy(ids) ignores
            # the read-only flag) gets private copies of the pages it touches, never a
            # segmentation fault, and the file is never modified.
            with nogil:
                addr = mmap(NULL, <size_t>size, GTOK_PROT_RW, GTOK_MAP_PRIVATE, fd, 0)
                if addr != MAP_FAILED and populate:
                    # pre-fault for reading (Linux >= 5.14; harmless where unsupported),
                    # cheaper than a page fault per 4 KiB when the whole file is read
                    madvise(addr, <size_t>size, MADV_POPULATE_READ)
            if addr == MAP_FAILED:
                raise OSError(errno, f"cannot memory-map {path!s}: {os.strerror(errno)}")
            self._addr = <const uint8_t*>addr
            self._size = size

    def __dealloc__(self):
        # Runs only once no view holds a reference (views keep a memoryview, which keeps us).
        if self._addr != NULL:
            munmap(<void*>self._addr, <size_t>self._size)
            self._addr = NULL

    def __getbuffer__(self, Py_buffer* buffer, int flags):
        if self._closed:
            raise ValueError(f"mapping of {self.path!s} is closed")
        if flags & PyBUF_WRITABLE:
            raise BufferError(f"mapping of {self.path!s} is read-only")
        # A zero-length mapping still needs a valid, non-NULL pointer for the buffer protocol.
        PyBuffer_FillInfo(buffer, self,
                          <void*>(self._addr if self._addr != NULL else <const uint8_t*>b""),
                          self._size, 1, flags)
        gtok_atomic_add(&self._exports, 1)

    def __releasebuffer__(self, Py_buffer* buffer):
        gtok_atomic_add(&self._exports, -1)

    def __len__(self):
        return self._size

    @property
    def size(self):
        """Number of bytes mapped."""
        return self._size

    @property
    def exports(self):
        """Number of buffer exports (views) currently alive."""
        return gtok_atomic_load(&self._exports)

    @property
    def closed(self):
        """Whether :meth:`close` unmapped the file."""
        return self._closed

    def header(self, Py_ssize_t n):
        """Return a copy of the first ``min(n, size)`` bytes."""
        if self._closed:
            raise ValueError(f"mapping of {self.path!s} is closed")
        if n > self._size:
            n = self._size
        if n <= 0:
            return b""
        return (<const char*>self._addr)[:n]

    def view(self, cnp.dtype dtype, Py_ssize_t count, Py_ssize_t offset):
        """A read-only 1-D array of ``count`` items of ``dtype`` from byte ``offset``.

        Its base is a ``memoryview`` of this mapping (a buffer export), so the mapping lives
        as long as the array, and :meth:`close` refuses while it does.
        """
        cdef cnp.npy_intp n = count
        if self._closed:
            raise ValueError(f"mapping of {self.path!s} is closed")
        if count < 0 or offset < 0 or offset + count * dtype.itemsize > self._size:
            raise ValueError(f"{count} items of {dtype} at byte {offset} do not fit in the "
                             f"{self._size} bytes of {self.path!s}")
        holder = PyMemoryView_FromObject(self)
        Py_INCREF(dtype)  # PyArray_NewFromDescr steals a reference
        arr = PyArray_NewFromDescr(
            cnp.ndarray, dtype, 1, &n, NULL,
            <void*>((self._addr if self._addr != NULL else <const uint8_t*>b"") + offset),
            cnp.NPY_ARRAY_C_CONTIGUOUS, None)
        Py_INCREF(holder)  # PyArray_SetBaseObject steals a reference
        cnp.PyArray_SetBaseObject(arr, holder)
        return arr

    def close(self):
        """Unmap now. Raise ``BufferError`` if a view still uses the mapping."""
        if self._closed:
            return
        cdef Py_ssize_t alive = gtok_atomic_load(&self._exports)
        if alive > 0:
            raise BufferError(
                f"cannot close {self.path!s}: {alive} view(s) of its tokens are still "
                "alive; delete them (or copy what you keep) first"
            )
        if self._addr != NULL:
            munmap(<void*>self._addr, <size_t>self._size)
            self._addr = NULL
        self._closed = True


def map_path(path, Py_ssize_t populate_limit):
    """Map the whole regular file at ``path``; the descriptor is closed before returning.

    Files of at most ``populate_limit`` bytes are pre-faulted. Errors are ``OSError``
    subclasses naming the path (``FileNotFoundError``, ``IsADirectoryError``,
    ``PermissionError``...). A FIFO or device is refused without being read, so it cannot
    hang.
    """
    cdef bytes raw = os.fsencode(path)
    cdef const char* cpath = raw
    cdef int fd
    cdef int err
    cdef struct_stat st
    with nogil:
        fd = c_open(cpath, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
    if fd < 0:
        err = errno
        raise OSError(err, os.strerror(err), path)
    try:
        if fstat(fd, &st) != 0:
            err = errno
            raise OSError(err, os.strerror(err), path)
        if S_ISDIR(st.st_mode):
            raise IsADirectoryError(EISDIR, "is a folder, not a file", path)
        if not S_ISREG(st.st_mode):
            raise OSError(EINVAL, "not a regular file", path)
        return MappedFile(fd, st.st_size, path, st.st_size <= populate_limit)
    finally:
        c_close(fd)


def advise_base_pages(cnp.ndarray array not None):
    """Ask the kernel to back the whole pages of ``array``'s data with base pages, not
    transparent huge pages (``MADV_NOHUGEPAGE``; nothing where that does not exist); return
    whether it was done.

    NumPy advises huge pages for every array of 4 MiB or more. For an array written once
    front to back, as a parse's columns are, they save little, and each costs the zeroing
    of 2 MiB at its first touch, which on a virtual machine whose host reclaims the guest's
    free huge pages is also a host fault per 4 KiB (2-15 ms each seen here).
    """
    cdef uintptr_t page = <uintptr_t>sysconf(_SC_PAGESIZE)
    cdef uintptr_t start = <uintptr_t>cnp.PyArray_DATA(array)
    cdef uintptr_t end = start + <uintptr_t>cnp.PyArray_NBYTES(array)
    if not cnp.PyArray_IS_C_CONTIGUOUS(array):
        raise ValueError("advise_base_pages takes a C-contiguous array")
    if GTOK_MADV_NOHUGEPAGE < 0:
        return False
    start = (start + page - 1) & ~(page - 1)
    end &= ~(page - 1)
    if end <= start:
        return False
    return madvise(<void*>start, <size_t>(end - start), GTOK_MADV_NOHUGEPAGE) == 0
