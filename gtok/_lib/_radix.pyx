"""Radix sorts of regions: putting universe and query regions in (chromosome, start) order.

- ``argsort_u64``: a stable LSD radix argsort of 64-bit keys (the universe build uses the
  key ``chrom << 32 | start``). Digits are 11 bits wide (2,048 buckets, so the histograms
  stay in L1); digits that are the same for every key are skipped, and an input that is
  already sorted costs one check.
- ``gtars_keys``: a query file's rows in gtars' order (chromosome name as bytes, then
  start, stably), as 8-byte keys ``start << 32 | end``. A counting sort by chromosome
  first (one pass, a few dozen buckets, in row order), then each chromosome's keys --
  small enough to stay in cache -- sorted by start with LSD passes over the start's
  digits, which are stable: ties keep the file's order. Starts spread over many more
  cells than there are keys go by their top 20 bits (two passes), then an insertion
  pass orders the few keys sharing a cell (``_sort_top``: the benchmark files 9.4 -> 8.1
  ns a row; clustered starts, for which it would move more than n keys, are then sorted
  on all their digits). A chromosome already in order costs one check; the histograms
  of a chromosome's start digits are counted in one pass; a file already in gtars'
  order (every row kept) is found so by the counting pass. The
  keys are what the search reads (``gtok._lib._runs.tokenize_keys``): no columns are
  gathered in that order (the row in the keys and the columns gathered by it cost ~1 ns a
  row more on the benchmark files).
"""

import numpy as np

from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset

from gtok._lib._swar cimport gtok_clz64

cdef enum:
    DIGIT_BITS = 11
    N_BUCKETS = 2048
    N_DIGITS = 6            # 6 * 11 = 66 >= 64 bits


cdef int argsort_u64(uint64_t* keys, int64_t* order, Py_ssize_t n) noexcept nogil:
    """Sort ``keys`` in place, stably; ``order[i]`` becomes the original position of the
    i-th smallest key (``order`` is overwritten, not read). Returns 0, or -1 when out of
    memory (then ``keys`` and ``order`` are unspecified)."""
    cdef Py_ssize_t i, d, total, c
    cdef Py_ssize_t* hist
    cdef uint64_t* keys2
    cdef int64_t* order2
    cdef uint64_t* ksrc
    cdef uint64_t* kdst
    cdef int64_t* osrc
    cdef int64_t* odst
    cdef uint64_t* kt
    cdef int64_t* ot
    cdef unsigned int shift, digit
    cdef bint sorted_already = True
    for i in range(n):
        order[i] = i
    for i in range(1, n):
        if keys[i] < keys[i - 1]:
            sorted_already = False
            break
    if sorted_already:
        return 0
    hist = <Py_ssize_t*>malloc(N_DIGITS * N_BUCKETS * sizeof(Py_ssize_t))
    keys2 = <uint64_t*>malloc(n * sizeof(uint64_t))
    order2 = <int64_t*>malloc(n * sizeof(int64_t))
    if hist == NULL or keys2 == NULL or order2 == NULL:
        free(hist)
        free(keys2)
        free(order2)
        return -1
    # only the digits below the largest key's highest bit can differ
    cdef uint64_t largest = 0
    cdef Py_ssize_t n_digits = 0
    for i in range(n):
        largest |= keys[i]
    while n_digits < N_DIGITS and (largest >> (n_digits * DIGIT_BITS)) != 0:
        n_digits += 1
    memset(hist, 0, N_DIGITS * N_BUCKETS * sizeof(Py_ssize_t))
    for i in range(n):
        for d in range(n_digits):
            hist[d * N_BUCKETS + ((keys[i] >> (d * DIGIT_BITS)) & (N_BUCKETS - 1))] += 1
    ksrc, kdst, osrc, odst = keys, keys2, order, order2
    for d in range(n_digits):
        shift = d * DIGIT_BITS
        # a digit shared by every key does not reorder anything
        if hist[d * N_BUCKETS + ((ksrc[0] >> shift) & (N_BUCKETS - 1))] == n:
            continue
        total = 0
        for digit in range(N_BUCKETS):
            c = hist[d * N_BUCKETS + digit]
            hist[d * N_BUCKETS + digit] = total
            total += c
        for i in range(n):
            digit = (ksrc[i] >> shift) & (N_BUCKETS - 1)
            c = hist[d * N_BUCKETS + digit]
            hist[d * N_BUCKETS + digit] = c + 1
            kdst[c] = ksrc[i]
            odst[c] = osrc[i]
        kt = ksrc
        ksrc = kdst
        kdst = kt
        ot = osrc
        osrc = odst
        odst = ot
    if ksrc != keys:
        memcpy(keys, ksrc, n * sizeof(uint64_t))
        memcpy(order, osrc, n * sizeof(int64_t))
    free(hist)
    free(keys2)
    free(order2)
    return 0


def argsort_keys(uint64_t[::1] keys):
    """Python entry point (for tests): sort ``keys`` in place; return the stable order."""
    import numpy as np
    cdef Py_ssize_t n = keys.shape[0]
    out = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] order = out
    cdef int rc = 0
    if n:
        with nogil:
            rc = argsort_u64(&keys[0], &order[0], n)
    if rc:
        raise MemoryError()
    return out


cdef enum:
    START_DIGIT_BITS = 10   # per-chromosome passes: 1,024 buckets, three passes for 2^30
    START_BUCKETS = 1024
    SMALL_RUN = 48          # below this many rows, an insertion sort
    MAX_START_DIGITS = 4    # 4 * 10 >= 32 bits of start
    TOP_BITS = 20           # the start bits _sort_top's two passes sort by
    TOP_MAX_ROWS = 1 << 18  # rows above which _sort_top is not tried (its cells fill up)


cdef inline void _offsets(Py_ssize_t* h) noexcept nogil:
    # a digit's counts -> the first position of each of its buckets
    cdef Py_ssize_t c, j, total = 0
    for c in range(START_BUCKETS):
        j = h[c]
        h[c] = total
        total += j


cdef inline void _scatter(const uint64_t* src, uint64_t* dst, Py_ssize_t n,
                          unsigned int shift, Py_ssize_t* h) noexcept nogil:
    # one stable LSD pass: src's keys into dst by their digit at ``shift`` (h: _offsets)
    cdef Py_ssize_t i, c
    for i in range(n):
        c = (src[i] >> shift) & (START_BUCKETS - 1)
        dst[h[c]] = src[i]
        h[c] += 1


cdef inline bint _insertion_sort(uint64_t* keys, Py_ssize_t n,
                                 Py_ssize_t max_moves) noexcept nogil:
    # keys in order of their start by insertion (stable: starts compared, ties never
    # moved); False, keys partly sorted, once it has moved more than max_moves keys
    cdef Py_ssize_t i, j, moves = 0
    cdef uint64_t k
    for i in range(1, n):
        k = keys[i]
        if (keys[i - 1] >> 32) <= (k >> 32):
            continue
        j = i
        while j > 0 and (keys[j - 1] >> 32) > (k >> 32):
            keys[j] = keys[j - 1]
            j -= 1
        keys[j] = k
        moves += i - j
        if moves > max_moves:
            return False
    return True


cdef bint _sort_top(uint64_t* keys, uint64_t* tmp, Py_ssize_t n, int high,
                    Py_ssize_t* hist) noexcept nogil:
    """Sort keys by start, stably, when most starts differ in their top bits: two LSD
    passes over the TOP_BITS bits below bit ``high`` of the start (the bits above are
    the same in every key), then an insertion pass for the keys left out of order (those
    sharing these bits: few, for starts spread over many more cells than there are keys).
    Returns False when the insertion pass would move more than n keys (clustered
    starts): the keys are then a permutation in which equal starts still keep their
    order (both passes and the insertion are stable), for the caller to sort."""
    cdef Py_ssize_t i
    cdef uint64_t k
    cdef unsigned int sh0 = 32 + high - TOP_BITS, sh1 = 32 + high - START_DIGIT_BITS
    cdef Py_ssize_t* h0 = hist
    cdef Py_ssize_t* h1 = hist + START_BUCKETS
    memset(hist, 0, 2 * START_BUCKETS * sizeof(Py_ssize_t))
    for i in range(n):
        k = keys[i]
        h0[(k >> sh0) & (START_BUCKETS - 1)] += 1
        h1[(k >> sh1) & (START_BUCKETS - 1)] += 1
    _offsets(h0)
    _offsets(h1)
    _scatter(keys, tmp, n, sh0, h0)
    _scatter(tmp, keys, n, sh1, h1)
    return _insertion_sort(keys, n, n)


cdef void _sort_by_start(uint64_t* keys, uint64_t* tmp, Py_ssize_t n,
                         Py_ssize_t* hist, bint* try_top) noexcept nogil:
    """Sort keys ``start << 32 | end`` by start (their high half), stably, in place:
    ties keep their order (LSD passes over the start's digits are stable, and the
    insertion sort compares starts only). ``tmp`` holds n keys, ``hist``
    MAX_START_DIGITS * START_BUCKETS counters. Already sorted input costs one check; the
    histograms of all the digits that differ are counted in one pass. ``_sort_top`` is
    tried while ``try_top[0]``, which it clears when it gives up (a file's clustered
    starts are likely so on every chromosome: its other chromosomes do not waste its two
    passes)."""
    cdef Py_ssize_t i
    cdef uint64_t k, spread = 0, lo_start
    cdef uint64_t* src = keys
    cdef uint64_t* dst = tmp
    cdef uint64_t* t
    cdef Py_ssize_t* h
    cdef unsigned int shift
    cdef unsigned int shifts[MAX_START_DIGITS]
    cdef int d, n_digits = 0, high
    for i in range(1, n):
        if (keys[i] >> 32) < (keys[i - 1] >> 32):
            break
    else:
        return
    if n < SMALL_RUN:
        _insertion_sort(keys, n, n * n)
        return
    lo_start = keys[0] >> 32
    for i in range(n):
        spread |= (keys[i] >> 32) ^ lo_start   # the bits in which some starts differ
    high = 64 - gtok_clz64(spread)          # (spread != 0: the keys are not in order)
    if high > TOP_BITS and n <= TOP_MAX_ROWS and try_top[0]:
        if _sort_top(keys, tmp, n, high, hist):
            return
        try_top[0] = False
    # the digits (START_DIGIT_BITS wide, from bit 32 of the key) in which starts differ
    shift = 32
    while shift < 64 and (spread >> (shift - 32)) != 0:
        if (spread >> (shift - 32)) & (START_BUCKETS - 1):
            shifts[n_digits] = shift
            n_digits += 1
        shift += START_DIGIT_BITS
    memset(hist, 0, n_digits * START_BUCKETS * sizeof(Py_ssize_t))
    if n_digits == 3:   # the common case (starts spread over 2**20..2**30), unrolled
        for i in range(n):
            k = keys[i]
            hist[(k >> shifts[0]) & (START_BUCKETS - 1)] += 1
            hist[START_BUCKETS + ((k >> shifts[1]) & (START_BUCKETS - 1))] += 1
            hist[2 * START_BUCKETS + ((k >> shifts[2]) & (START_BUCKETS - 1))] += 1
    else:
        for i in range(n):
            k = keys[i]
            for d in range(n_digits):
                hist[d * START_BUCKETS + ((k >> shifts[d]) & (START_BUCKETS - 1))] += 1
    for d in range(n_digits):
        h = hist + d * START_BUCKETS
        _offsets(h)
        _scatter(src, dst, n, shifts[d], h)
        t = src
        src = dst
        dst = t
    if src != keys:
        memcpy(keys, src, n * sizeof(uint64_t))


def gtars_keys(chroms_in, starts_in, ends_in, const int32_t[::1] chrom_rank, work=None):
    """A query file's rows in gtars' order -- by (chromosome name as bytes, start),
    stably -- as sort keys, one slice per chromosome, for a search that reads each row
    where it lies (:func:`gtok._lib._runs.tokenize_keys`: no columns gathered).

    ``chroms_in``, ``starts_in``, ``ends_in``: contiguous int32, uint32, uint32 columns.
    ``chrom_rank[c]`` is chromosome c's position among the names sorted as bytes (0 to
    ``len(chrom_rank) - 1``, no rank twice: ValueError), or -1 to drop its rows (a
    chromosome absent from the universe contributes nothing).

    Returns None when the rows are in that order already, with no row dropped (one pass
    finds so: the columns can be searched as they are). Otherwise ``(keys, bounds,
    slice_chroms)``: ``keys`` (uint64) holds ``start << 32 | end`` for each kept row, in
    gtars' order; the rows of rank ``r`` are ``keys[bounds[r]:bounds[r + 1]]`` (``bounds``:
    intp, ``len(chrom_rank) + 1``), on chromosome ``slice_chroms[r]`` (int32; -1 for a rank
    no chromosome has).

    ``work``: None, or two uint64 arrays at least as long as the input (the keys and
    their second buffer, a thread's scratch); ``keys`` is then a view of the first.

    Examples
    --------
    >>> import numpy as np
    >>> from gtok._lib._radix import gtars_keys
    >>> keys, bounds, slice_chroms = gtars_keys(np.array([1, 0, 1, 2], np.int32),
    ...                                         np.array([5, 9, 2, 1], np.uint32),
    ...                                         np.array([6, 10, 3, 2], np.uint32),
    ...                                         np.array([1, 0, -1], np.int32))
    >>> (keys >> 32).tolist(), (keys & 0xFFFFFFFF).tolist(), bounds.tolist()
    ([2, 5, 9], [3, 6, 10], [0, 2, 3, 3])
    >>> slice_chroms.tolist()
    [1, 0, -1]
    """
    cdef const int32_t[::1] chroms = chroms_in
    cdef const uint32_t[::1] starts = starts_in
    cdef const uint32_t[::1] ends = ends_in
    cdef Py_ssize_t n = chroms.shape[0], n_ranks = chrom_rank.shape[0]
    cdef Py_ssize_t i, m = 0, b, pos, big = 0
    cdef int32_t c, rk, prev_rk = -1
    cdef uint32_t prev_start = 0
    cdef bint failed = False, in_order = True, try_top = True
    if starts.shape[0] != n or ends.shape[0] != n:
        raise ValueError("query columns differ in length")
    inverse_arr = np.full(n_ranks + 1, -1, dtype=np.int32)
    cdef int32_t[::1] inverse = inverse_arr     # rank -> chromosome
    for i in range(n_ranks):
        rk = chrom_rank[i]
        if rk >= n_ranks:
            raise ValueError("chrom_rank holds a rank outside 0..len(chrom_rank) - 1")
        if rk >= 0:
            if inverse[rk] >= 0:
                raise ValueError("chrom_rank gives a rank to two chromosomes")
            inverse[rk] = <int32_t>i
    bounds_arr = np.zeros(n_ranks + 1, dtype=np.intp)
    cdef Py_ssize_t[::1] bounds = bounds_arr
    with nogil:
        # counting sort by rank: bounds[rk + 1] counts, then prefix sums give each
        # chromosome's slice; the same pass finds whether the rows are in order already
        for i in range(n):
            c = chroms[i]
            rk = chrom_rank[c] if 0 <= c < n_ranks else -1
            if rk >= 0:
                bounds[rk + 1] += 1
                if in_order:
                    if rk < prev_rk or (rk == prev_rk and starts[i] < prev_start):
                        in_order = False
                    prev_rk = rk
                    prev_start = starts[i]
            else:
                in_order = False
    if in_order:
        return None
    cdef uint64_t[::1] keys
    cdef uint64_t[::1] spare
    cdef uint64_t* tmp = NULL
    cdef bint own_tmp = work is None
    if work is None:
        keys_arr = np.empty(n, dtype=np.uint64)
    else:
        if len(work) != 2 or any(len(w) < n for w in work):
            raise ValueError("work: two uint64 arrays, each at least as long as the input")
        keys_arr = work[0]
        spare = work[1]
        tmp = &spare[0] if n else NULL
    keys = keys_arr
    cdef Py_ssize_t* hist = NULL
    with nogil:
        for b in range(n_ranks):
            if bounds[b + 1] > big:
                big = bounds[b + 1]
            bounds[b + 1] += bounds[b]
        m = bounds[n_ranks]
        # scattering in row order keeps every slice in row order
        for i in range(n):
            c = chroms[i]
            rk = chrom_rank[c] if 0 <= c < n_ranks else -1
            if rk >= 0:
                keys[bounds[rk]] = (<uint64_t>starts[i] << 32) | <uint64_t>ends[i]
                bounds[rk] += 1
        # bounds[rk] now holds the end of slice rk: the start of slice rk + 1
        if own_tmp:
            tmp = <uint64_t*>malloc(big * sizeof(uint64_t) + 1)
        hist = <Py_ssize_t*>malloc(MAX_START_DIGITS * START_BUCKETS * sizeof(Py_ssize_t))
        if (tmp == NULL and big) or hist == NULL:
            failed = True
        else:
            pos = 0
            for b in range(n_ranks):
                if bounds[b] > pos:
                    _sort_by_start(&keys[pos], tmp, bounds[b] - pos, hist, &try_top)
                pos = bounds[b]
            # back to each slice's start: slice rk is bounds[rk]..bounds[rk + 1]
            for b in range(n_ranks, 0, -1):
                bounds[b] = bounds[b - 1]
            bounds[0] = 0
        if own_tmp:
            free(tmp)
        free(hist)
    if failed:
        raise MemoryError()
    return keys_arr[:m], bounds_arr, inverse_arr[:n_ranks]


