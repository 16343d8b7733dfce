"""Regions held in memory as columns: accepted kinds, checks, chromosome indices
(docs/semantics.md §4.7).

Chromosome names are looked up in the universe's :class:`ChromTable` by the loops of
:mod:`gtok._lib._memcols`, one pass over the column: NumPy ``U`` / ``S`` arrays as their
fixed-width bytes, object arrays and lists element by element (without making a Python
object per region), Arrow string columns as their buffers; a pandas ``Categorical`` or an
Arrow dictionary column by its categories only, then indexed by the codes. Coordinates of
any integer type are checked and narrowed to ``uint32`` in one more pass; other kinds
(floats, objects, mixed lists) are checked element by element first.

pandas and pyarrow are never imported here: a column is recognised as theirs only when the
user's program has imported them already.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

import numpy as np

from gtok._lib._chromtable import ChromTable
from gtok._lib._memcols import (
    Problem,
    check_coords,
    codes_from_fixed,
    codes_from_objects,
    codes_from_offsets,
)
from gtok.errors import BedFormatError
from gtok.io.bedtext import RegionColumns

__all__ = [
    "IN_MEMORY",
    "COLUMN_NAMES",
    "RegionRows",
    "as_columns",
    "table_columns",
    "validate_columns",
    "check_rows",
    "chrom_codes",
]

#: the "path" in the errors of in-memory regions
IN_MEMORY = "<regions>"

#: column names tried, in order, for the chromosome, start and end of a table's rows
COLUMN_NAMES = (
    ("chrom", "chr", "seqnames", "chromosome", "seqname", "Chromosome"),
    ("start", "chromStart", "Start"),
    ("end", "chromEnd", "End"),
)

_MAX_COORD = 0xFFFFFFFF
_SHAPE_PROBLEM = "a region must be (chrom, start, end) or have .chr, .start and .end"
_NO_BYTES = "chromosome name stands for no bytes (a lone surrogate)"
_PROBLEMS = {
    Problem.MALFORMED: _SHAPE_PROBLEM,
    Problem.CHROM_MISSING: "chromosome name is missing or empty",
    Problem.START_NOT_INT: "start is not an integer",
    Problem.END_NOT_INT: "end is not an integer",
    Problem.START_NEGATIVE: "start is negative",
    Problem.END_NEGATIVE: "end is negative",
    Problem.START_TOO_BIG: "start is 2**32 or larger",
    Problem.END_TOO_BIG: "end is 2**32 or larger",
    Problem.START_AFTER_END: "start is greater than end",
}
# the kernel's integer types; other integer columns are widened to int64 first
_KERNEL_DTYPES = {np.dtype(t) for t in (np.int32, np.int64, np.uint32, np.uint64)}


class RegionRows:
    """Checked rows (:class:`RegionColumns`) plus the input rows dropped as bad (``skipped``,
    int64 row numbers, empty unless ``skip_bad_lines``)."""

    __slots__ = ("columns", "skipped")

    def __init__(self, columns: RegionColumns, skipped: np.ndarray) -> None:
        self.columns = columns
        self.skipped = skipped


# ---------------------------------------------------------------------- input kinds


def _module(name: str) -> Any:
    """A module the user's program has imported already (None otherwise): gtok never
    imports pandas or pyarrow for this."""
    return sys.modules.get(name)


def _looks_like_region(x: Any) -> bool:
    """A gtars-style region object, or a (chrom, start, end) tuple/list."""
    if hasattr(x, "chr") and hasattr(x, "start") and hasattr(x, "end"):
        return True
    return (
        isinstance(x, (tuple, list))
        and len(x) == 3
        and isinstance(x[0], (str, bytes))
        and isinstance(x[1], (int, np.integer))
        and not isinstance(x[1], bool)
    )


def _is_columns(regions: Any) -> bool:
    """``(chroms, starts, ends)`` columns, as opposed to a tuple of three regions."""
    return (
        isinstance(regions, tuple)
        and len(regions) == 3
        and not isinstance(regions[0], (str, bytes))
        and all(hasattr(c, "__len__") for c in regions)
        and not any(_looks_like_region(c) for c in regions)
    )


def _is_table(x: Any) -> bool:
    """A table of named columns: pandas / polars DataFrame, pyarrow Table or RecordBatch,
    or a mapping of names to columns."""
    if isinstance(x, Mapping):
        return True
    if isinstance(x, (str, bytes, tuple, list, np.ndarray)):
        return False
    return hasattr(x, "column_names") or (hasattr(x, "columns") and hasattr(x, "__getitem__"))


def table_columns(table: Any) -> tuple[Any, Any, Any]:
    """The chromosome, start and end columns of a table (names: :data:`COLUMN_NAMES`)."""
    names = getattr(table, "column_names", None)
    if names is None:
        names = table.keys() if isinstance(table, Mapping) else table.columns
    names = [str(n) for n in names]
    picked = []
    for options in COLUMN_NAMES:
        name = next((c for c in options if c in names), None)
        if name is None:
            raise ValueError(
                f"the table has no {' / '.join(options)} column (columns: {names[:20]})"
            )
        picked.append(table[name])
    return picked[0], picked[1], picked[2]


def as_columns(regions: Any) -> tuple[Any, Any, Any, dict[int, str]]:
    """In-memory regions as ``(chroms, starts, ends, shape_bad)``: from columns as given,
    a table, or a sequence of regions (``shape_bad`` maps the positions of items that are
    no region to their text)."""
    if _is_columns(regions):
        chroms, starts, ends = regions
        return chroms, starts, ends, {}
    if _is_table(regions):
        chroms, starts, ends = table_columns(regions)
        return chroms, starts, ends, {}
    shape_bad: dict[int, str] = {}
    chroms_l: list[Any] = []
    starts_l: list[Any] = []
    ends_l: list[Any] = []
    for k, r in enumerate(regions):
        if hasattr(r, "chr") and hasattr(r, "start") and hasattr(r, "end"):
            c, s, e = r.chr, r.start, r.end
        elif isinstance(r, (str, bytes)):
            # indexable, but "chr1:1-2"[0:3] is not a region
            c = s = e = None
            shape_bad[k] = repr(r)
        else:
            try:
                c, s, e = r[0], r[1], r[2]
            except (TypeError, IndexError, KeyError):
                c = s = e = None
                shape_bad[k] = repr(r)
        chroms_l.append(c)
        starts_l.append(s)
        ends_l.append(e)
    return chroms_l, starts_l, ends_l, shape_bad


# ---------------------------------------------------------------------- chromosomes


def chrom_codes(chroms: Any, table: ChromTable, add: bool = False) -> np.ndarray:
    """Each name's index in ``table`` (``int32``): -1 for a name it lacks (or one that
    stands for no bytes), -2 for no name (empty, None, NaN, null). With ``add``, names the
    table lacks are added in order of first appearance (then -1 means no bytes)."""
    pa = _module("pyarrow")
    if pa is not None and isinstance(chroms, (pa.Array, pa.ChunkedArray)):
        return _arrow_codes(pa, chroms, table, add)
    pd = _module("pandas")
    if pd is not None:
        if isinstance(chroms, (pd.Series, pd.Index)):
            chroms = chroms.array
        if isinstance(chroms, pd.Categorical) and not add:
            return _lookup_codes(chrom_codes(np.asarray(chroms.categories), table), chroms.codes)
        if pa is not None and _arrow_backed(chroms):
            return _arrow_codes(pa, pa.array(chroms), table, add)
    if isinstance(chroms, (list, tuple)):
        return codes_from_objects(list(chroms), table, add)
    arr = chroms if isinstance(chroms, np.ndarray) else None
    if arr is None:
        try:
            arr = np.asarray(chroms)
        except (ValueError, TypeError):
            arr = None
        if arr is None or arr.ndim != 1 or arr.shape[0] != len(chroms):
            return codes_from_objects(list(chroms), table, add)
    if arr.ndim != 1:
        n = arr.shape[0] if arr.ndim else 0
        raise ValueError(f"the chromosome column has shape {arr.shape}, expected ({n},)")
    if arr.dtype.kind in "US" and arr.shape[0]:
        if not arr.dtype.isnative:
            arr = arr.astype(arr.dtype.newbyteorder("="))
        arr = np.ascontiguousarray(arr)
        raw = arr.view(np.uint8).reshape(-1)
        return codes_from_fixed(raw, arr.dtype.itemsize, arr.dtype.kind == "U", table, add)
    # objects (possibly mixed str / bytes / None) or numbers (looked up as str(x))
    return codes_from_objects(arr.tolist(), table, add)


def _arrow_backed(values: Any) -> bool:
    """A pandas array held in Arrow memory (``ArrowDtype``, ``string[pyarrow]``)."""
    dtype = getattr(values, "dtype", None)
    return hasattr(values, "__arrow_array__") and (
        getattr(dtype, "pyarrow_dtype", None) is not None
        or getattr(dtype, "storage", None) in ("pyarrow", "pyarrow_numpy")
    )


def _lookup_codes(category_codes: np.ndarray, codes: Any) -> np.ndarray:
    """Row codes from a categorical's codes (-1 or null: no name) and its categories'."""
    idx = np.asarray(codes)
    lookup = np.append(category_codes, np.int32(-2))  # code -1 -> the last entry: missing
    return lookup[np.where(idx < 0, len(category_codes), idx)].astype(np.int32, copy=False)


def _arrow_codes(pa: Any, arr: Any, table: ChromTable, add: bool) -> np.ndarray:
    if isinstance(arr, pa.ChunkedArray):
        parts = [_arrow_codes(pa, c, table, add) for c in arr.chunks]
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.int32)
    t = arr.type
    if pa.types.is_dictionary(t) and not add:
        dict_codes = chrom_codes(arr.dictionary, table)
        indices = arr.indices
        if arr.null_count:
            indices = indices.fill_null(0)
        codes = _lookup_codes(dict_codes, indices.to_numpy(zero_copy_only=False))
        if arr.null_count:
            codes[arr.is_null().to_numpy(zero_copy_only=False)] = -2
        return codes
    if pa.types.is_string(t) or pa.types.is_binary(t):
        otype = np.int32
    elif pa.types.is_large_string(t) or pa.types.is_large_binary(t):
        otype = np.int64
    else:
        return chrom_codes(arr.to_numpy(zero_copy_only=False), table, add)
    validity, offsets, data = arr.buffers()[:3]
    n = len(arr)
    offs = np.frombuffer(offsets, dtype=otype) if offsets is not None else np.zeros(1, otype)
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.empty(0, np.uint8)
    valid = (
        np.frombuffer(validity, dtype=np.uint8) if validity is not None and arr.null_count else None
    )
    return codes_from_offsets(raw, offs, arr.offset, n, valid, table, add)


# ---------------------------------------------------------------------- coordinates


def _as_int(v: Any) -> int | None:
    """``v`` as a Python int when it is an integer (not a bool), else None."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
        return None
    return int(v)


def _as_coords(values: Any, which: str, n: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Coordinates as an integer array the kernel takes, plus a mask of entries that are
    not integers (None when all are)."""
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
        if arr.dtype not in _KERNEL_DTYPES or not arr.dtype.isnative:
            arr = arr.astype(np.int64)
        return np.ascontiguousarray(arr), None
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


def _to_int64(arr: np.ndarray) -> np.ndarray:
    if arr.dtype == np.uint64:
        return np.where(arr > _MAX_COORD, _MAX_COORD + 1, arr).astype(np.int64)
    return arr.astype(np.int64, copy=False)


# ---------------------------------------------------------------------- checks


def _item(column: Any, i: int) -> Any:
    if hasattr(column, "iloc"):  # pandas: by position, not by label
        return column.iloc[i]
    x = column[i]
    return x.as_py() if hasattr(x, "as_py") else x


def _region_text(chroms: Any, starts: Any, ends: Any, i: int) -> str:
    return f"{_item(chroms, i)!s}\t{_item(starts, i)!s}\t{_item(ends, i)!s}"


def check_rows(
    chroms: Any,
    starts: Any,
    ends: Any,
    table: ChromTable,
    skip_bad_lines: bool,
    shape_bad: dict[int, str] | None = None,
    add: bool = False,
) -> RegionRows:
    """:func:`validate_columns`, also giving the rows it dropped. With ``add``, names the
    table lacks are added to it (a universe being read: a name standing for no bytes is a
    bad row then)."""
    n = len(chroms)
    codes = chrom_codes(chroms, table, add)
    if codes.shape[0] != n:
        raise ValueError(f"the chromosome column has {codes.shape[0]} names, expected {n}")
    s, s_bad = _as_coords(starts, "start", n)
    e, e_bad = _as_coords(ends, "end", n)
    if s.dtype != e.dtype:
        s, e = _to_int64(s), _to_int64(e)
    flags = np.empty(0, dtype=np.uint8)
    if shape_bad or s_bad is not None or e_bad is not None:
        flags = np.zeros(n, dtype=np.uint8)
        if e_bad is not None:
            flags[e_bad] = Problem.END_NOT_INT
        if s_bad is not None:
            flags[s_bad] = Problem.START_NOT_INT
        if shape_bad:
            flags[np.fromiter(shape_bad, dtype=np.int64, count=len(shape_bad))] = Problem.MALFORMED
    out_s = np.empty(n, dtype=np.uint32)
    out_e = np.empty(n, dtype=np.uint32)
    no_status = np.empty(0, dtype=np.uint8)
    n_bad, first, problem, _ = check_coords(codes, s, e, flags, out_s, out_e, no_status)
    no_bytes = -1
    if add:  # a name that stands for no bytes cannot be a universe chromosome
        unencodable = np.flatnonzero(codes == -1)
        if unencodable.shape[0]:
            no_bytes = int(unencodable[0])
    if no_bytes >= 0 and (n_bad == 0 or no_bytes < first):
        text = _region_text(chroms, starts, ends, no_bytes)
        raise BedFormatError(IN_MEMORY, no_bytes + 1, text, _NO_BYTES)
    skipped = np.empty(0, dtype=np.int64)
    error = None
    if n_bad:
        text = (
            shape_bad[first]
            if shape_bad and first in shape_bad
            else _region_text(chroms, starts, ends, first)
        )
        error = BedFormatError(IN_MEMORY, first + 1, text, _PROBLEMS[Problem(problem)])
        if not skip_bad_lines:
            raise error
        status = np.empty(n, dtype=np.uint8)
        check_coords(codes, s, e, flags, out_s, out_e, status)
        keep = status == 0
        skipped = np.flatnonzero(~keep)
        codes, out_s, out_e = codes[keep], out_s[keep], out_e[keep]
    cols = RegionColumns(codes, out_s, out_e, int(skipped.shape[0]), error)
    return RegionRows(cols, skipped)


def validate_columns(
    chroms: Any,
    starts: Any,
    ends: Any,
    table: ChromTable,
    skip_bad_lines: bool,
    shape_bad: dict[int, str] | None = None,
) -> RegionColumns:
    """Regions given as columns (chromosome names, starts, ends), checked as BED lines are:
    chromosome indices in ``table`` (-1 for names it lacks) and ``uint32`` coordinates.

    A bad region raises :class:`~gtok.errors.BedFormatError` naming its index (as the line
    number: 1-based), or is counted and dropped with ``skip_bad_lines``. ``shape_bad`` maps
    indices of regions that were malformed before they became columns to their text.
    """
    return check_rows(chroms, starts, ends, table, skip_bad_lines, shape_bad).columns
