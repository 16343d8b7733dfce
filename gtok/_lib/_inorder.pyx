"""Tokenizing regions in their given order, searched in sorted order.

In-memory regions keep their order (gtars), but searching them in that order costs a cache
miss or two per region in a large universe. ``tokenize_docs`` takes the rows a chunk at a
time (``CHUNK`` rows: its arrays stay in cache), sorts the chunk's rows by (chromosome,
start) with :func:`gtok._lib._radix.argsort_u64`, searches them in that order -- each search
gallops a few steps from the last -- into the chunk's buffer, then copies each row's hits
out in input order. The ids are the same as searching row by row.

Many documents at once: rows ``offsets[d]..offsets[d + 1] - 1`` are document ``d``; each
gets what tokenizing its rows alone gives (its own ``<unk>``), and all are searched
together.
"""

import numpy as np

from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

from gtok._lib._overlap cimport AHEAD, Cursors, Hit, IdBuffer, OverlapIndex, _push, _reserve
from gtok._lib._radix cimport argsort_u64

cdef enum:
    CHUNK = 1 << 15     # rows sorted and searched at a time


cdef struct Chunk:
    uint64_t* keys      # (chromosome << 32 | start) of the chunk's rows on the index
    int64_t* order      # argsort_u64's order of keys
    uint32_t* row_of    # keys[k] is row row_of[k] of the chunk
    uint32_t* hits      # per row of the chunk: its hit count
    int64_t* first      # per row of the chunk: where its hits start in the chunk buffer


cdef void _free_chunk(Chunk* ch) noexcept nogil:
    free(ch.keys)
    free(ch.order)
    free(ch.row_of)
    free(ch.hits)
    free(ch.first)


def tokenize_docs(OverlapIndex index, const int32_t[::1] chroms, const uint32_t[::1] starts,
                  const uint32_t[::1] ends, const int64_t[::1] offsets, uint32_t unk_id,
                  bint unk_per_region):
    """Token ids of documents given as row ranges (``offsets``: ``n_docs + 1`` int64, from
    0 to the number of rows, not decreasing), each as
    :func:`gtok._lib._runs.tokenize_rows` gives for its rows in row order.

    Returns ``(ids, id_offsets)``: document ``d``'s ids are
    ``ids[id_offsets[d]:id_offsets[d + 1]]`` (uint32 ids, int64 offsets).
    """
    cdef Py_ssize_t n = chroms.shape[0], n_docs = offsets.shape[0] - 1
    cdef Py_ssize_t a, b, i, j, k, m, d = 0, h, doc_start = 0, n_chroms = index.n_chroms
    cdef int64_t got
    cdef int32_t c
    cdef bint failed = False
    if starts.shape[0] != n or ends.shape[0] != n:
        raise ValueError("query columns differ in length")
    if n_docs < 0 or offsets[0] != 0 or offsets[n_docs] != n:
        raise ValueError("offsets must run from 0 to the number of rows")
    for d in range(n_docs):
        if offsets[d + 1] < offsets[d]:
            raise ValueError("offsets must not decrease")
    d = 0
    id_offsets_arr = np.zeros(n_docs + 1, dtype=np.int64)
    cdef int64_t[::1] id_offsets = id_offsets_arr
    cdef Py_ssize_t slot, n_slot = index.max_comps
    cdef Cursors cur
    held = index._cursors(&cur)  # (holds the arrays cur points into)
    cdef Py_ssize_t n_comps = cur.n_comps
    cdef Py_ssize_t* cursor_ptr = cur.cursor
    cdef uint32_t* cursor_qs_ptr = cur.cursor_qs
    cdef Py_ssize_t* hints = cur.hints
    cdef IdBuffer out, buf
    cdef Hit* scratch = NULL
    cdef Py_ssize_t scratch_cap = 0
    cdef Chunk ch
    cdef Py_ssize_t size = min(n, <Py_ssize_t>CHUNK) + 1
    out.data = NULL
    out.n = out.cap = 0
    buf.data = NULL
    buf.n = buf.cap = 0
    with nogil:
        ch.keys = <uint64_t*>malloc(size * sizeof(uint64_t))
        ch.order = <int64_t*>malloc(size * sizeof(int64_t))
        ch.row_of = <uint32_t*>malloc(size * sizeof(uint32_t))
        ch.hits = <uint32_t*>malloc(size * sizeof(uint32_t))
        ch.first = <int64_t*>malloc(size * sizeof(int64_t))
        failed = (ch.keys == NULL or ch.order == NULL or ch.row_of == NULL
                  or ch.hits == NULL or ch.first == NULL or _reserve(&out, n + n_docs) < 0)
        a = 0
        while a < n and not failed:
            b = min(n, a + <Py_ssize_t>CHUNK)
            # the chunk's rows on the index's chromosomes, sorted by (chromosome, start)
            m = 0
            for j in range(b - a):
                ch.hits[j] = 0
                c = chroms[a + j]
                if 0 <= c < n_chroms:
                    ch.keys[m] = (<uint64_t>c << 32) | starts[a + j]
                    ch.row_of[m] = <uint32_t>j
                    m += 1
            if argsort_u64(ch.keys, ch.order, m) < 0:
                failed = True
                break
            # the search, in that order, into the chunk's buffer
            # (each searched ahead, AHEAD rows before it: OverlapIndex._query_rows)
            buf.n = 0
            for k in range(min(m, <Py_ssize_t>AHEAD)):
                index._ahead(<int32_t>(ch.keys[k] >> 32), <uint32_t>ch.keys[k],
                             cursor_ptr + n_comps, cursor_qs_ptr + n_comps, &hints[k * n_slot])
            for k in range(m):
                j = ch.row_of[ch.order[k]]
                ch.first[j] = buf.n
                slot = (k % AHEAD) * n_slot
                got = index._query(<int32_t>(ch.keys[k] >> 32), <uint32_t>ch.keys[k],
                                   ends[a + j], &buf, &scratch, &scratch_cap, cursor_ptr,
                                   cursor_qs_ptr, &hints[slot])
                if got < 0:
                    failed = True
                    break
                ch.hits[j] = <uint32_t>got
                if k + AHEAD < m:
                    index._ahead(<int32_t>(ch.keys[k + AHEAD] >> 32),
                                 <uint32_t>ch.keys[k + AHEAD], cursor_ptr + n_comps,
                                 cursor_qs_ptr + n_comps, &hints[slot])
            if failed or _reserve(&out, buf.n + (b - a) + n_docs) < 0:
                failed = True
                break
            # the hits out in input order; documents closed as their rows end (a document
            # without any id is one <unk>)
            for j in range(b - a):
                i = a + j
                while d < n_docs and offsets[d + 1] <= i:
                    if out.n == doc_start:
                        out.data[out.n] = unk_id
                        out.n += 1
                    id_offsets[d + 1] = out.n
                    d += 1
                    doc_start = out.n
                h = ch.hits[j]
                if h:  # (room reserved above: the hits, one <unk> a row and a document)
                    memcpy(&out.data[out.n], &buf.data[ch.first[j]], h * sizeof(uint32_t))
                    out.n += h
                elif unk_per_region:
                    out.data[out.n] = unk_id
                    out.n += 1
            a = b
        while not failed and d < n_docs:
            if out.n == doc_start and _push(&out, unk_id) < 0:
                failed = True
                break
            id_offsets[d + 1] = out.n
            d += 1
            doc_start = out.n
        _free_chunk(&ch)
        free(buf.data)
        free(scratch)
    if failed:
        free(out.data)
        raise MemoryError()
    try:
        ids_arr = np.empty(out.n, dtype=np.uint32)
    except BaseException:
        free(out.data)
        raise
    cdef uint32_t[::1] ids = ids_arr
    if out.n:
        memcpy(&ids[0], out.data, out.n * sizeof(uint32_t))
    free(out.data)
    return ids_arr, id_offsets_arr
