# The fragment parser's barcode table: cell barcodes to dense cell indices (first
# appearance order), as inline C usable without the GIL.
#
# A barcode's key is its first 24 bytes as three words (zeros past its end) plus its
# length; a slot holds the key and the value inline (32 bytes), so a lookup of a 10x
# barcode ("AAACGAACAGTCACGC-1", 18 bytes) is one hash and, in a table at most half full,
# usually one cache line compared as four integers. Longer barcodes also compare their
# bytes past the 24th with the stored name. A slot's value is the cell index, or
# CELL_FILTERED for a barcode known to be absent from the allow-list (cached only when at
# most 24 bytes long, so that a cached key is always the whole barcode).

from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy, memset

cdef enum:
    CELL_EMPTY = -1        # a free slot
    CELL_FILTERED = -2     # not in the allow-list
    CELL_NO_MEMORY = -3
    CELL_MAX = 0x7FFFFFF0  # cells a table holds at most


cdef struct CellSlot:
    uint64_t w0
    uint64_t w1
    uint64_t w2
    uint32_t length
    int32_t value


cdef struct CellTable:
    CellSlot* slots
    Py_ssize_t n_slots     # a power of two
    int shift              # 64 - log2(n_slots)
    Py_ssize_t n_used
    char* names            # the cells' barcodes, concatenated
    Py_ssize_t names_len
    Py_ssize_t names_cap
    int64_t* offsets       # cell i's barcode is names[offsets[i]:offsets[i + 1]]
    Py_ssize_t n_cells
    Py_ssize_t offsets_cap


cdef inline void _ct_key(const unsigned char* s, Py_ssize_t n, uint64_t* w) noexcept nogil:
    # the key words of a barcode (the same words a little-endian load gives, masked)
    w[0] = 0
    w[1] = 0
    w[2] = 0
    memcpy(w, s, n if n < 24 else 24)


cdef inline Py_ssize_t _ct_home(const CellTable* t, uint64_t w0, uint64_t w1, uint64_t w2,
                                Py_ssize_t n) noexcept nogil:
    # multiplicative hash: the top bits of a product depend on every bit below them
    cdef uint64_t h = (w0 ^ (w1 * 0xD6E8FEB86659FD93ULL) ^ (w2 * 0xA0761D6478BD642FULL)
                       ^ <uint64_t>n) * 0x9E3779B97F4A7C15ULL
    return <Py_ssize_t>(h >> t.shift)


cdef inline int _ct_init(CellTable* t) noexcept nogil:
    cdef Py_ssize_t i
    memset(t, 0, sizeof(CellTable))
    t.n_slots = 1024
    t.shift = 64 - 10
    t.slots = <CellSlot*>malloc(t.n_slots * sizeof(CellSlot))
    t.offsets = <int64_t*>malloc(1024 * sizeof(int64_t))
    if t.slots == NULL or t.offsets == NULL:
        return -1
    t.offsets_cap = 1024
    t.offsets[0] = 0
    for i in range(t.n_slots):
        t.slots[i].value = CELL_EMPTY
    return 0


cdef inline void _ct_free(CellTable* t) noexcept nogil:
    free(t.slots)
    free(t.names)
    free(t.offsets)
    t.slots = NULL
    t.names = NULL
    t.offsets = NULL


cdef inline CellSlot* _ct_find(const CellTable* t, const unsigned char* s, Py_ssize_t n,
                               uint64_t w0, uint64_t w1, uint64_t w2) noexcept nogil:
    """The slot holding barcode s (n bytes, key words w0..w2), or the free slot where it
    goes."""
    cdef Py_ssize_t j = _ct_home(t, w0, w1, w2, n), mask = t.n_slots - 1
    cdef CellSlot* slot
    cdef const char* name
    cdef Py_ssize_t k
    while True:
        slot = &t.slots[j]
        if slot.value == CELL_EMPTY:
            return slot
        if (slot.w0 == w0 and slot.w1 == w1 and slot.w2 == w2
                and <Py_ssize_t>slot.length == n):
            if n <= 24:
                return slot
            name = t.names + t.offsets[slot.value]
            for k in range(24, n):
                if <unsigned char>name[k] != s[k]:
                    break
            else:
                return slot
        j = (j + 1) & mask


cdef inline int _ct_grow(CellTable* t) noexcept nogil:
    cdef CellSlot* old = t.slots
    cdef Py_ssize_t n_old = t.n_slots, i, j
    cdef CellSlot* slots = <CellSlot*>malloc(2 * n_old * sizeof(CellSlot))
    if slots == NULL:
        return -1
    t.slots = slots
    t.n_slots = 2 * n_old
    t.shift -= 1
    for i in range(t.n_slots):
        slots[i].value = CELL_EMPTY
    for i in range(n_old):
        if old[i].value != CELL_EMPTY:
            j = _ct_home(t, old[i].w0, old[i].w1, old[i].w2, old[i].length)
            while slots[j].value != CELL_EMPTY:
                j = (j + 1) & (t.n_slots - 1)
            slots[j] = old[i]
    free(old)
    return 0


cdef inline int32_t _ct_add(CellTable* t, CellSlot* slot, const unsigned char* s,
                            Py_ssize_t n, uint64_t w0, uint64_t w1, uint64_t w2,
                            bint filtered) noexcept nogil:
    """Store barcode s in ``slot`` (from _ct_find): a new cell (its index) or, when
    ``filtered``, CELL_FILTERED; CELL_NO_MEMORY when out of memory."""
    cdef Py_ssize_t cap
    cdef char* names
    cdef int64_t* offsets
    cdef int32_t value
    if filtered:
        if n > 24:
            return CELL_FILTERED    # not cached (see above)
        value = CELL_FILTERED
    else:
        if t.n_cells >= CELL_MAX:
            return CELL_NO_MEMORY
        if t.names_len + n > t.names_cap:
            cap = max(2 * t.names_cap, t.names_len + n, 4096)
            names = <char*>realloc(t.names, cap)
            if names == NULL:
                return CELL_NO_MEMORY
            t.names = names
            t.names_cap = cap
        if t.n_cells + 2 > t.offsets_cap:
            offsets = <int64_t*>realloc(t.offsets, 2 * t.offsets_cap * sizeof(int64_t))
            if offsets == NULL:
                return CELL_NO_MEMORY
            t.offsets = offsets
            t.offsets_cap *= 2
        if n:
            memcpy(t.names + t.names_len, s, n)
        t.names_len += n
        t.offsets[t.n_cells + 1] = t.names_len
        value = <int32_t>t.n_cells
        t.n_cells += 1
    slot.w0 = w0
    slot.w1 = w1
    slot.w2 = w2
    slot.length = <uint32_t>n
    slot.value = value
    t.n_used += 1
    if 2 * t.n_used > t.n_slots and _ct_grow(t) < 0:
        return CELL_NO_MEMORY
    return value
