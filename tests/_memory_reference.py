"""The in-memory column path as it was before issue 17 (np.unique over the names, checks
one NumPy mask each, the search in row order): the reference the new path is tested
against (tests/test_memory_columns.py). Copied verbatim but for the imports and the
search, query by query in row order (``OverlapIndex.tokenize`` before it moved to
``gtok._lib._runs.tokenize_rows``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from gtok._lib._runs import tokenize_rows
from gtok.errors import BedFormatError

_MAX_COORD = 0xFFFFFFFF
_IN_MEMORY = "<regions>"
_SHAPE_PROBLEM = "a region must be (chrom, start, end) or have .chr, .start and .end"


def reference_tokenize(tok, chroms, starts, ends, *, unk="whole", skip_bad_lines=False):
    """``(ids, n_skipped)`` as ``tok.tokenize((chroms, starts, ends))`` gave them."""
    u = tok.universe
    cols = validate_columns(chroms, starts, ends, u.chroms, skip_bad_lines)
    rows = np.arange(len(cols.chroms), dtype=np.int64)  # query by query, in row order
    ids = tokenize_rows(
        u.index, cols.chroms, cols.starts, cols.ends, rows, tok.unk_token_id, unk == "per_region"
    )
    return ids, cols.n_skipped


class _Columns:
    def __init__(self, chroms, starts, ends, n_skipped, first):
        self.chroms, self.starts, self.ends = chroms, starts, ends
        self.n_skipped, self.first_skipped = n_skipped, first


def _as_int(v: Any) -> int | None:
    """``v`` as a Python int when it is an integer (not a bool), else None."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
        return None
    return int(v)


def _as_coords(values: Any, which: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates as int64, plus a mask of entries that are not integers."""
    arr = np.asarray(values) if not isinstance(values, (list, tuple)) else None
    if arr is None:
        # A Python list: np.asarray would coerce a mix ([100, "x"], [100, 1.5]) to one
        # type and make the good entries look bad, so look at the entries as given
        # unless they are all integers.
        try:
            arr = np.asarray(values)
        except (ValueError, TypeError):
            arr = np.empty(len(values), dtype=object)
            arr[:] = values
        # (np.asarray also turns True into 1 among ints: a bool is not a coordinate)
        if arr.dtype.kind not in "iu" or not set(map(type, values)).isdisjoint((bool, np.bool_)):
            items = list(values)
        else:
            items = None
    else:
        items = None if arr.dtype.kind in "iu" else arr.tolist()
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"the {which} column has shape {arr.shape}, expected ({n},)")
    if items is None:
        if arr.dtype == np.uint64:
            big = arr > _MAX_COORD
            return np.where(big, _MAX_COORD + 1, arr).astype(np.int64), np.zeros(n, bool)
        return arr.astype(np.int64, copy=False), np.zeros(n, bool)
    # object / float / str / mixed: check element by element
    out = np.zeros(n, dtype=np.int64)
    bad = np.zeros(n, dtype=bool)
    for i, v in enumerate(items):
        x = _as_int(v)
        if x is None:
            bad[i] = True
        else:
            out[i] = min(max(x, -1), _MAX_COORD + 1)
    return out, bad


def validate_columns(
    chroms: Sequence[Any],
    starts: Any,
    ends: Any,
    table: Any,
    skip_bad_lines: bool,
    shape_bad: dict[int, str] | None = None,
):
    """Regions given as columns (chromosome names, starts, ends), checked as BED lines are:
    chromosome indices in ``table`` (-1 for names it lacks) and ``uint32`` coordinates.

    A bad region raises :class:`~gtok.errors.BedFormatError` naming its index (as the line
    number: 1-based), or is counted and dropped with ``skip_bad_lines``. ``shape_bad`` maps
    indices of regions that were malformed before they became columns to their text.
    """
    n = len(chroms)
    chrom_idx, chrom_bad = _chrom_indices(chroms, table)
    s, s_bad = _as_coords(starts, "start", n)
    e, e_bad = _as_coords(ends, "end", n)
    malformed = np.zeros(n, dtype=bool)
    if shape_bad:
        malformed[np.fromiter(shape_bad, dtype=np.int64, count=len(shape_bad))] = True
        # a malformed region's placeholder values are not separate problems
        s_bad &= ~malformed
        e_bad &= ~malformed
        chrom_bad &= ~malformed
    problems = [
        (malformed, _SHAPE_PROBLEM),
        (chrom_bad, "chromosome name is missing or empty"),
        (s_bad, "start is not an integer"),
        (e_bad, "end is not an integer"),
        (s < 0, "start is negative"),
        (e < 0, "end is negative"),
        (s > _MAX_COORD, "start is 2**32 or larger"),
        (e > _MAX_COORD, "end is 2**32 or larger"),
        (s > e, "start is greater than end"),
    ]
    bad = np.zeros(n, dtype=bool)
    first: BedFormatError | None = None
    first_at = n
    for mask, problem in problems:
        if mask.any():
            i = int(np.flatnonzero(mask)[0])
            if i < first_at:
                first_at = i
                text = (
                    shape_bad[i]
                    if shape_bad and i in shape_bad
                    else _region_text(chroms, starts, ends, i)
                )
                first = BedFormatError(_IN_MEMORY, i + 1, text, problem)
            bad |= mask
    if first is not None and not skip_bad_lines:
        raise first
    keep = ~bad
    n_bad = int(bad.sum())
    if n_bad:
        chrom_idx, s, e = chrom_idx[keep], s[keep], e[keep]
    return _Columns(
        np.ascontiguousarray(chrom_idx, dtype=np.int32),
        s.astype(np.uint32),
        e.astype(np.uint32),
        n_bad,
        first,
    )


def _region_text(chroms: Any, starts: Any, ends: Any, i: int) -> str:
    return f"{chroms[i]!s}\t{starts[i]!s}\t{ends[i]!s}"


def _is_missing_name(x: Any) -> bool:
    return (
        x is None
        or (isinstance(x, float) and x != x)
        or (isinstance(x, (str, bytes)) and len(x) == 0)
    )


def _chrom_indices(chroms: Any, table: Any) -> tuple[np.ndarray, np.ndarray]:
    """Universe chromosome index of each name (-1 when absent), via the distinct names;
    and a mask of missing names (None, NaN, empty)."""
    n = len(chroms)
    if n == 0:
        return np.empty(0, dtype=np.int32), np.zeros(0, dtype=bool)
    arr = np.asarray(chroms) if not isinstance(chroms, (list, tuple)) else None
    if arr is None:
        try:
            arr = np.asarray(chroms)
        except (ValueError, TypeError):
            arr = None
        if arr is not None and (arr.ndim != 1 or arr.shape[0] != n):
            arr = None
        if arr is None:
            arr = np.empty(n, dtype=object)
            arr[:] = list(chroms)
    if arr.ndim != 1:
        raise ValueError(f"the chromosome column has shape {arr.shape}, expected ({n},)")
    if arr.dtype.kind in "US":
        missing = arr == arr.dtype.type()
        names, inverse = np.unique(arr, return_inverse=True)
        lookup = np.array([table.index(x) for x in names.tolist()], dtype=np.int32)
        return lookup[inverse.ravel()], missing
    # objects (possibly mixed str / bytes / None) or numbers: one entry at a time
    missing = np.zeros(n, dtype=bool)
    out = np.empty(n, dtype=np.int32)
    seen: dict[Any, int] = {}
    for i, x in enumerate(arr.tolist()):
        if _is_missing_name(x):
            missing[i] = True
            out[i] = -1
            continue
        if not isinstance(x, (str, bytes)):
            x = str(x)
        k = seen.get(x)
        if k is None:
            k = seen[x] = table.index(x)
        out[i] = k
    return out, missing
