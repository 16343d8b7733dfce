"""A small C hash table from chromosome names to dense indices 0..n-1.

Parsing loops run without the GIL, so they cannot use a Python dict; this table stores the
names in one growing byte buffer and maps them through open addressing (a multiplicative hash,
power-of-two slots, linear probing). Indices are given in order of first insertion.
"""

from libc.stdint cimport int32_t, uint64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcmp, memcpy, memset

cdef enum:
    _MIN_SLOTS = 64


cdef inline uint64_t _head(const char* s, Py_ssize_t n) noexcept nogil:
    # the first (up to) 8 bytes of a name as one integer (one load when there are 8)
    cdef uint64_t w = 0
    cdef Py_ssize_t j
    if n >= 8:
        memcpy(&w, s, 8)
        return w
    for j in range(n):
        w = (w << 8) | <unsigned char>s[j]
    return w


cdef inline uint64_t _hash(uint64_t head, const char* s, Py_ssize_t n) noexcept nogil:
    # Names are short ("chr1", "chrUn_KI270742v1", cell barcodes "AAACGAACAGTCACGC-1"): mix
    # the 8-byte head and the length with one multiplication; longer names mix in the rest
    # 8 bytes at a time (one multiplication each, so a barcode costs three).
    cdef uint64_t h = (head ^ (<uint64_t>n << 56)) * 0x9E3779B97F4A7C15ULL
    cdef uint64_t w
    cdef Py_ssize_t j = 8, k
    while j < n:
        if j + 8 <= n:
            memcpy(&w, s + j, 8)
        else:
            w = 0
            for k in range(j, n):
                w = (w << 8) | <unsigned char>s[k]
        h = ((h ^ (h >> 32)) ^ w) * 0xD6E8FEB86659FD93ULL
        j += 8
    return h ^ (h >> 29)


cdef inline bint _same(const char* a, const char* b, Py_ssize_t n) noexcept nogil:
    # names are short: an inline loop beats a call to memcmp (8 bytes a step first)
    cdef Py_ssize_t i = 0
    cdef uint64_t x, y
    while i + 8 <= n:
        memcpy(&x, a + i, 8)
        memcpy(&y, b + i, 8)
        if x != y:
            return False
        i += 8
    for i in range(i, n):
        if a[i] != b[i]:
            return False
    return True


cdef class ChromTable:
    """Chromosome names to indices, usable from ``nogil`` code.

    Examples
    --------
    >>> from gtok._lib._chromtable import ChromTable
    >>> t = ChromTable(["chr1", "chr2"])
    >>> t.index("chr2"), t.index("chrM"), len(t), t.names()
    (1, -1, 2, ['chr1', 'chr2'])
    """

    def __cinit__(self, names=()):
        self._names = NULL
        self._offsets = NULL
        self._heads = NULL
        self._slots = NULL
        self._n = 0
        self._names_len = 0
        self._names_cap = 0
        self._offsets_cap = 0
        self._n_slots = 0
        if not self._grow_slots(_MIN_SLOTS):
            raise MemoryError()
        self._offsets = <Py_ssize_t*>malloc(8 * sizeof(Py_ssize_t))
        self._heads = <uint64_t*>malloc(8 * sizeof(uint64_t))
        if self._offsets == NULL or self._heads == NULL:
            raise MemoryError()
        self._offsets_cap = 8
        self._offsets[0] = 0
        cdef bytes b
        for name in names:
            b = name.encode("utf-8", "surrogateescape") if isinstance(name, str) else bytes(name)
            if self.lookup_or_add(b, len(b)) < 0:
                raise MemoryError()

    def __dealloc__(self):
        free(self._names)
        free(self._offsets)
        free(self._heads)
        free(self._slots)

    cdef bint _grow_slots(self, Py_ssize_t n_slots) noexcept nogil:
        cdef int32_t* slots = <int32_t*>malloc(n_slots * sizeof(int32_t))
        cdef Py_ssize_t i, j
        cdef uint64_t h
        if slots == NULL:
            return False
        memset(slots, 0xFF, n_slots * sizeof(int32_t))  # every slot -1
        for i in range(self._n):
            h = _hash(self._heads[i], self._names + self._offsets[i],
                      self._offsets[i + 1] - self._offsets[i])
            j = <Py_ssize_t>(h & <uint64_t>(n_slots - 1))
            while slots[j] >= 0:
                j = (j + 1) & (n_slots - 1)
            slots[j] = <int32_t>i
        free(self._slots)
        self._slots = slots
        self._n_slots = n_slots
        return True

    cdef int32_t lookup(self, const char* name, Py_ssize_t length) noexcept nogil:
        """Index of ``name``, or -1."""
        cdef uint64_t head = _head(name, length)
        cdef uint64_t h = _hash(head, name, length)
        cdef Py_ssize_t j = <Py_ssize_t>(h & <uint64_t>(self._n_slots - 1))
        cdef int32_t k
        cdef Py_ssize_t off
        while True:
            k = self._slots[j]
            if k < 0:
                return -1
            if self._heads[k] == head:
                off = self._offsets[k]
                if (self._offsets[k + 1] - off == length
                        and (length <= 8 or _same(self._names + off + 8, name + 8, length - 8))):
                    return k
            j = (j + 1) & (self._n_slots - 1)

    cdef int32_t add(self, const char* name, Py_ssize_t length) noexcept nogil:
        """Append ``name`` (known to be absent); its index, or -2 when out of memory."""
        cdef Py_ssize_t cap
        cdef char* names
        cdef Py_ssize_t* offsets
        cdef uint64_t* heads
        cdef uint64_t h
        cdef Py_ssize_t j
        if self._n >= 0x7FFFFFF0:
            return -2
        if 2 * (self._n + 1) > self._n_slots:
            if not self._grow_slots(2 * self._n_slots):
                return -2
        if self._names_len + length > self._names_cap:
            cap = max(2 * self._names_cap, self._names_len + length, 256)
            names = <char*>realloc(self._names, cap)
            if names == NULL:
                return -2
            self._names = names
            self._names_cap = cap
        if self._n + 2 > self._offsets_cap:
            cap = 2 * self._offsets_cap
            offsets = <Py_ssize_t*>realloc(self._offsets, cap * sizeof(Py_ssize_t))
            if offsets == NULL:
                return -2
            self._offsets = offsets
            heads = <uint64_t*>realloc(self._heads, cap * sizeof(uint64_t))
            if heads == NULL:
                return -2
            self._heads = heads
            self._offsets_cap = cap
        if length:
            memcpy(self._names + self._names_len, name, length)
        self._names_len += length
        self._offsets[self._n + 1] = self._names_len
        self._heads[self._n] = _head(name, length)
        h = _hash(self._heads[self._n], name, length)
        j = <Py_ssize_t>(h & <uint64_t>(self._n_slots - 1))
        while self._slots[j] >= 0:
            j = (j + 1) & (self._n_slots - 1)
        self._slots[j] = <int32_t>self._n
        self._n += 1
        return <int32_t>(self._n - 1)

    cdef int32_t lookup_or_add(self, const char* name, Py_ssize_t length) noexcept nogil:
        cdef int32_t k = self.lookup(name, length)
        if k >= 0:
            return k
        return self.add(name, length)

    def __len__(self):
        return self._n

    def index(self, name):
        """Index of ``name`` (``bytes``, or ``str`` standing for bytes as ``os.fsdecode``
        does: UTF-8, other bytes as lone surrogates), or -1 when absent. A ``str`` that
        stands for no bytes (another lone surrogate) names no chromosome: -1."""
        cdef bytes b
        if isinstance(name, str):
            try:
                b = name.encode("utf-8", "surrogateescape")
            except UnicodeEncodeError:
                return -1
        else:
            b = bytes(name)
        return self.lookup(b, len(b))

    def name_bytes(self, Py_ssize_t i):
        """The name at index ``i``, as stored (``bytes``)."""
        if not 0 <= i < self._n:
            raise IndexError(i)
        return self._names[self._offsets[i]:self._offsets[i + 1]]

    def name(self, Py_ssize_t i):
        """The name at index ``i`` as ``str``, losslessly: bytes that are not UTF-8 become
        lone surrogates (``surrogateescape``, as ``os.fsdecode``); ``index`` maps it back."""
        return self.name_bytes(i).decode("utf-8", "surrogateescape")

    def names(self):
        """All names in index order, as ``str`` (see :meth:`name`)."""
        return [self.name(i) for i in range(self._n)]

    def __reduce__(self):
        return (ChromTable, ([self._names[self._offsets[i]:self._offsets[i + 1]]
                              for i in range(self._n)],))
