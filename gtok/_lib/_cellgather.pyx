"""Per-cell documents from a cells x regions sparse matrix (CSR rows), without the GIL.

Each ``var`` region (matrix column) has been mapped once to its universe ids
(``var_ids[var_offsets[j]:var_offsets[j + 1]]``); a cell's document is the concatenation,
over its stored non-zero entries in stored order, of those ids. The policy (what counts
as non-zero, ``<unk>`` rules, input formats) lives in :mod:`gtok.singlecell.matrix`.
"""

import numpy as np

from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t

ctypedef fused index_t:
    int32_t
    int64_t

def check_rows(const index_t[::1] indptr, const index_t[::1] indices, Py_ssize_t n_cols):
    """Check a CSR block: ``indptr`` non-decreasing and within ``indices`` (counted from
    ``indptr[0]``), every column in ``0..n_cols-1`` (in any order).

    Returns the first row with a problem (a column outside the matrix or an inconsistent
    ``indptr``: the data is corrupt), or -1."""
    cdef Py_ssize_t n_rows = indptr.shape[0] - 1, i, p, a, b, base, nnz = indices.shape[0]
    cdef Py_ssize_t bad_row = -1
    cdef index_t col
    if n_rows < 0:
        raise ValueError("indptr is empty")
    base = indptr[0]
    with nogil:
        for i in range(n_rows):
            a = indptr[i] - base
            b = indptr[i + 1] - base
            if a < 0 or b < a or b > nnz:
                bad_row = i
                break
            for p in range(a, b):
                col = indices[p]
                if col < 0 or col >= n_cols:
                    bad_row = i
                    break
            if bad_row >= 0:
                break
    return bad_row


def gather_cells(const index_t[::1] indptr, const index_t[::1] indices,
                 const uint8_t[::1] keep, const int64_t[::1] var_offsets,
                 const uint32_t[::1] var_ids, uint32_t unk_id, bint unk_per_region):
    """Documents of the rows of a checked CSR block (see :func:`check_rows`).

    ``keep`` (one byte per stored entry, or empty for all) marks the entries that count
    (non-zero values); entries are visited in stored order (a column stored twice counts
    twice, as scipy's ``nonzero`` gives it). A kept column without universe hits
    contributes nothing, or one ``unk_id`` with ``unk_per_region``; a row whose document
    would be empty gets ``[unk_id]``.

    Returns ``(ids, offsets)``: ``uint32`` ids and ``int64`` offsets (``n_rows + 1``),
    row i's document being ``ids[offsets[i]:offsets[i + 1]]``."""
    cdef Py_ssize_t n_rows = indptr.shape[0] - 1, i, p, a, b, base, k, h0, h1
    cdef Py_ssize_t n_var = var_offsets.shape[0] - 1, total = 0, count, w
    cdef bint use_keep = keep.shape[0] != 0
    cdef index_t col
    if n_rows < 0:
        raise ValueError("indptr is empty")
    if use_keep and keep.shape[0] != indices.shape[0]:
        raise ValueError("keep and indices differ in length")
    if n_var < 0 or var_offsets[n_var] > var_ids.shape[0]:
        raise ValueError("var offsets do not match the var ids")
    offsets_arr = np.empty(n_rows + 1, dtype=np.int64)
    cdef int64_t[::1] offsets = offsets_arr
    base = indptr[0]
    with nogil:
        offsets[0] = 0
        for i in range(n_rows):
            a = indptr[i] - base
            b = indptr[i + 1] - base
            count = 0
            for p in range(a, b):
                if use_keep and not keep[p]:
                    continue
                col = indices[p]
                k = var_offsets[col + 1] - var_offsets[col]
                if k == 0 and unk_per_region:
                    k = 1
                count += k
            if count == 0:
                count = 1
            total += count
            offsets[i + 1] = total
    ids_arr = np.empty(total, dtype=np.uint32)
    cdef uint32_t[::1] ids = ids_arr
    with nogil:
        w = 0
        for i in range(n_rows):
            a = indptr[i] - base
            b = indptr[i + 1] - base
            for p in range(a, b):
                if use_keep and not keep[p]:
                    continue
                col = indices[p]
                h0 = var_offsets[col]
                h1 = var_offsets[col + 1]
                if h0 == h1:
                    if unk_per_region:
                        ids[w] = unk_id
                        w += 1
                    continue
                for k in range(h0, h1):
                    ids[w] = var_ids[k]
                    w += 1
            if w == offsets[i]:
                ids[w] = unk_id
                w += 1
    return ids_arr, offsets_arr
