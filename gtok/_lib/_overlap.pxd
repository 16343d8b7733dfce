from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t
from libc.stdlib cimport realloc

from gtok._lib._types cimport chrom_index_t, coord_t, token_id_t


cdef struct IdBuffer:
    token_id_t* data
    Py_ssize_t n
    Py_ssize_t cap


cdef inline int _push(IdBuffer* buf, token_id_t value) noexcept nogil:
    # append one id, doubling the buffer when full; -1 when out of memory
    cdef Py_ssize_t cap
    cdef token_id_t* data
    if buf.n == buf.cap:
        cap = 2 * buf.cap if buf.cap else 1024
        data = <token_id_t*>realloc(buf.data, cap * sizeof(token_id_t))
        if data == NULL:
            return -1
        buf.data = data
        buf.cap = cap
    buf.data[buf.n] = value
    buf.n += 1
    return 0


cdef inline int _reserve(IdBuffer* buf, Py_ssize_t extra) noexcept nogil:
    # room for ``extra`` more ids; -1 when out of memory
    cdef Py_ssize_t cap = buf.cap if buf.cap else 1024
    cdef token_id_t* data
    if buf.n + extra <= buf.cap:
        return 0
    while cap < buf.n + extra:
        cap *= 2
    data = <token_id_t*>realloc(buf.data, cap * sizeof(token_id_t))
    if data == NULL:
        return -1
    buf.data = data
    buf.cap = cap
    return 0


cdef object _take_ids(IdBuffer* buf)


cdef struct Hit:
    coord_t start
    coord_t end
    token_id_t id


cdef struct Cursors:
    # the searches ahead's state (OverlapIndex._cursors): per component the last lower
    # bound and its query start, twice (the second halves: _ahead's), then the hint slots
    Py_ssize_t* cursor
    coord_t* cursor_qs
    Py_ssize_t* hints
    Py_ssize_t n_comps


cdef enum:
    FAN = 16            # a skip level keeps every 16th key of the level below (64 bytes)
    N_LEVELS_MAX = 9    # the keys and up to 8 skip levels (16**8 = 2**32 regions)
    AHEAD = 16          # queries searched ahead (OverlapIndex._ahead) of the one answered
    BUCKET_REGIONS = 8  # regions a position bucket holds on average, at most


cdef class OverlapIndex:
    cdef readonly object starts, ends, maxend, ids, comp_bounds, chrom_comps, skips
    cdef readonly object buckets, bucket_bounds, bucket_shifts
    cdef const coord_t* _starts
    cdef const coord_t* _ends
    cdef const coord_t* _maxend
    cdef const token_id_t* _ids            # NULL: a region's id is its position
    cdef const int64_t* _comp_bounds
    cdef const int64_t* _chrom_comps
    # _level[0] is _maxend; _level[l][i] is the key at line position i * FAN**l, that is
    # _maxend[i * FAN**l - _skew] (the skip levels)
    cdef const coord_t* _level[N_LEVELS_MAX]
    cdef int _n_levels
    cdef Py_ssize_t _skew                 # maxend[k] is at line position k + _skew
    # the position buckets: chromosome c's are _buckets[_bucket_bounds[c]:_bucket_bounds[c
    # + 1]] (none: c has several components), bucket k holding [k, k + 1) << shift
    cdef const uint32_t* _buckets           # positions
    cdef const int64_t* _bucket_bounds
    cdef const uint8_t* _bucket_shifts
    cdef readonly Py_ssize_t n_chroms
    cdef readonly Py_ssize_t n_regions
    cdef readonly Py_ssize_t max_comps      # the most components a chromosome has (>= 1)

    cdef const void* _ptr(self, arr)
    cdef int _make_levels(self) except -1
    cdef int _make_buckets(self) except -1
    cdef Py_ssize_t _first_end_gt(self, Py_ssize_t lo, Py_ssize_t hi, coord_t x,
                                  bint exact) noexcept nogil
    cdef void _ahead(self, chrom_index_t c, coord_t qs, Py_ssize_t* cursor,
                     coord_t* cursor_qs, Py_ssize_t* hint) noexcept nogil
    cdef int _query(self, chrom_index_t c, coord_t qs, coord_t qe, IdBuffer* out,
                    Hit** scratch, Py_ssize_t* scratch_cap, Py_ssize_t* cursor,
                    coord_t* cursor_qs, const Py_ssize_t* hint) noexcept nogil
    cdef object _cursors(self, Cursors* cur)
    cdef Py_ssize_t _query_rows(self, const int32_t* chroms, const coord_t* starts,
                                const coord_t* ends, Py_ssize_t n, const int64_t* rows,
                                Py_ssize_t i0, Py_ssize_t i1, IdBuffer* out,
                                Hit** scratch, Py_ssize_t* scratch_cap, Cursors* cur,
                                token_id_t unk_id, bint unk_per_region,
                                int64_t* offsets) noexcept nogil
