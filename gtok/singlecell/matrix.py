"""Single-cell matrices (AnnData / ``.h5ad``) to token documents, one per cell.

A cells x regions matrix (scATAC peaks: ``X[cell, peak] != 0`` when the cell has the peak)
becomes one document per cell, exactly what geniml's ``tokenize_anndata`` builds with its
per-cell loop (``tokenizer(features[x[row].nonzero()[1]])``), but vectorised: every ``var``
region is mapped to its universe ids once, then each cell's document is gathered from the
matrix rows by a small Cython kernel (:mod:`gtok._lib._cellgather`) without the GIL.

Semantics (docs/singlecell.md, "Which cells, which regions"):

- a cell's regions are the ``var`` regions (columns) whose stored value is non-zero
  (``!= 0``; explicit zeros stored in a sparse matrix do not count, negative values and NaN
  do), in the order scipy's ``x[row].nonzero()`` gives them to geniml, which hands them to
  gtars as an in-memory list (kept in order): a CSR row's stored order (h5ad files often
  hold unsorted rows, the gtars fixture among them), ascending columns for CSC and dense
  matrices;
- each region contributes its universe hits in (start, end) order; a region on a
  chromosome absent from the universe or without a hit contributes nothing; a cell whose
  document would be empty (no region, or no hit) is ``[unk_id]`` (gtars 0.10);
  ``unk="per_region"`` gives one ``<unk>`` per region without a hit instead;
- a column stored twice in one CSR row (a non-canonical matrix) counts twice, as in
  scipy's ``nonzero``.

Input: an ``.h5ad`` path (read with ``h5py`` alone, in row chunks: memory stays bounded by
the chunk, except for a CSC matrix, which is read whole and converted) or an in-memory
``anndata.AnnData`` (``X`` CSR, CSC, any scipy sparse, or dense). Region coordinates come
from ``var`` columns (``chr``/``start``/``end`` as geniml expects, or ``chrom``,
``chromosome``, ``seqnames`` / ``chromStart`` / ``chromEnd``) or, without such columns,
from ``var`` names ``chr1:100-200`` (also ``chr1-100-200`` and ``chr1_100_200``).

Malformed files: every part of an ``.h5ad`` file is checked before it is used, and any
problem is :class:`~gtok.errors.AnnDataFormatError` naming the file and the part
(``X/indptr``, ``var/chr/codes``...): a group where a dataset belongs or the reverse, a
scalar or 2-D array where a 1-D one belongs, a dtype (sparse ``indptr``/``indices`` and
categorical codes must be integers, data and dense matrices numbers), a length (``indptr``
one more than the rows, ``data`` as long as ``indices``, each ``var`` column one entry per
region), an index pointer that does not start at 0, decreases or does not end at the
stored entries, a column index outside the matrix, a ``shape`` attribute that is not two
non-negative integers or not the obs x var size, a missing part, an encoding gtok does not
read. What h5py raises while reading a part (``OSError``, ``KeyError``, ``RuntimeError``...
from a corrupt or truncated file) is turned into that error too, with h5py's words; the
system's own errors on the path (missing file, permission denied) stay ``OSError``.

Sparse indices stored as floats are refused, even whole-valued ones (``1.0``): anndata
and scipy always write integers, so a float index means a file written by something else,
and converting it would truncate ``1.5`` to ``1`` (checking every value for wholeness
would cost a pass over the largest array of the file, for files no known writer makes).

Limits: HDF5 keeps no checksums on most of a file (v0 superblocks, data), so a flipped bit
in data can give other documents without any error; and libhdf5 itself can crash or loop
forever on some corrupt structures (HDF5 2.0: a global heap collection with a zero-sized
object makes ``H5HG__cache_heap_deserialize`` loop; a damaged variable-length attribute
type segfaults in ``H5T__vlen_disk_write``). That happens in C, beyond the reach of any
Python code; read untrusted files in a separate process with a time limit.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, overload

import numpy as np

from gtok._lib._cellgather import check_rows, gather_cells
from gtok.columns import validate_columns
from gtok.errors import AnnDataFormatError, BedFormatError
from gtok.io.source import check_input
from gtok.tokenizer import Tokenizer

__all__ = ["tokenize_anndata", "CellsSummary", "COORD_COLUMNS"]

#: ``var`` column names tried, in order, for the chromosome, start and end of each region
COORD_COLUMNS = (
    ("chr", "chrom", "chromosome", "seqnames", "seqname"),
    ("start", "chromStart"),
    ("end", "chromEnd"),
)
_UNK_MODES = ("whole", "per_region")
_NAME_RE = re.compile(r"^(.+?)[:_-](\d+)[-_](\d+)$")
#: stored entries read per chunk (bounds memory: ~13 bytes an entry, plus the output)
CHUNK_ENTRIES = 1 << 22
_IN_MEMORY = "<AnnData>"


@dataclass
class CellsSummary:
    """What :func:`tokenize_anndata` wrote to a pack.

    Attributes
    ----------
    path : str
        The pack.
    n_cells, n_tokens : int
        Documents (one per cell) and tokens written.
    n_regions : int
        ``var`` regions (matrix columns).
    n_regions_unknown_chrom : int
        ``var`` regions on chromosomes absent from the universe.
    n_regions_without_hits : int
        ``var`` regions that hit no universe region (including those above).
    n_unk_cells : int
        Cells whose document is only ``[unk_id]`` (no region with a hit).
    """

    path: str
    n_cells: int = 0
    n_tokens: int = 0
    n_regions: int = 0
    n_regions_unknown_chrom: int = 0
    n_regions_without_hits: int = 0
    n_unk_cells: int = 0
    settings: dict = field(default_factory=dict)


@overload
def tokenize_anndata(
    tokenizer: Tokenizer | str | os.PathLike,
    adata: Any,
    out: None = None,
    *,
    layer: str | None = None,
    coords: Sequence[str] | str | None = None,
    unk: str = "whole",
    progress: Callable[[int, int], None] | None = None,
    fsync: bool = False,
) -> dict[str, np.ndarray]: ...
@overload
def tokenize_anndata(
    tokenizer: Tokenizer | str | os.PathLike,
    adata: Any,
    out: str | os.PathLike,
    *,
    layer: str | None = None,
    coords: Sequence[str] | str | None = None,
    unk: str = "whole",
    progress: Callable[[int, int], None] | None = None,
    fsync: bool = False,
) -> CellsSummary: ...
def tokenize_anndata(
    tokenizer: Tokenizer | str | os.PathLike,
    adata: Any,
    out: str | os.PathLike | None = None,
    *,
    layer: str | None = None,
    coords: Sequence[str] | str | None = None,
    unk: str = "whole",
    progress: Callable[[int, int], None] | None = None,
    fsync: bool = False,
) -> dict[str, np.ndarray] | CellsSummary:
    """Tokenize every cell of a cells x regions matrix: one document per cell.

    Parameters
    ----------
    tokenizer : Tokenizer or path
        The tokenizer (or its universe / gtars config path).
    adata : str, os.PathLike or anndata.AnnData
        An ``.h5ad`` file (read with ``h5py``, in row chunks) or an in-memory AnnData
        object (a backed one is read from its file).
    out : str or os.PathLike, optional
        Write a pack there (atomically; one document per cell, named by ``obs_names``,
        with the universe fingerprint and the settings in its metadata) and return a
        :class:`CellsSummary`. Without it, return ``{obs_name: ids}``.
    layer : str, optional
        Use ``layers[layer]`` instead of ``X``.
    coords : (str, str, str) or "names", optional
        The ``var`` columns holding chromosome, start and end; ``"names"`` parses the
        ``var`` names (``chr1:100-200``). Default: the first of :data:`COORD_COLUMNS`
        present in ``var``, else the ``var`` names.
    unk : {"whole", "per_region"}, default "whole"
        As in :meth:`Tokenizer.tokenize`: ``"whole"`` gives ``[unk_id]`` only for a cell
        without any hit (gtars 0.10, geniml); ``"per_region"`` gives one ``<unk>`` per
        region without a hit.
    progress : callable, optional
        Called as ``progress(cells_done, n_cells)`` after each chunk of rows.
    fsync : bool, default False
        Flush the pack to stable storage before renaming it into place.

    Returns
    -------
    dict or CellsSummary
        ``{obs_name: uint32 ids}`` (in cell order) without ``out``; else the summary.

    Raises
    ------
    gtok.errors.AnnDataFormatError
        No region coordinates in ``var``, a malformed coordinate, a matrix that is not
        cells x regions, a corrupt sparse matrix, a malformed or unreadable part of an
        ``.h5ad`` file (the message names the file, the part and the problem).
    ImportError
        ``h5py`` is needed to read an ``.h5ad`` path (``pip install 'gtok[singlecell]'``).
    ValueError
        Duplicate ``obs`` names when returning a dict (write a pack instead).

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import anndata, pandas as pd, scipy.sparse as sp
    >>> from gtok import Tokenizer, tokenize_anndata
    >>> folder = tempfile.mkdtemp()
    >>> universe = os.path.join(folder, "universe.bed")
    >>> _ = open(universe, "w").write("chr1\\t100\\t200\\nchr1\\t300\\t400\\nchr2\\t0\\t50\\n")
    >>> tok = Tokenizer(universe)
    >>> var = pd.DataFrame({"chr": ["chr1", "chr2", "chr9"], "start": [150, 10, 0],
    ...                     "end": [350, 20, 5]}, index=["p1", "p2", "p3"])
    >>> X = sp.csr_matrix(np.array([[1, 0, 1], [0, 2, 0], [0, 0, 3]]))
    >>> adata = anndata.AnnData(X=X, var=var, obs=pd.DataFrame(index=["c1", "c2", "c3"]))
    >>> docs = tokenize_anndata(tok, adata)
    >>> {name: ids.tolist() for name, ids in docs.items()}
    {'c1': [0, 1], 'c2': [2], 'c3': [3]}
    >>> summary = tokenize_anndata(tok, adata, os.path.join(folder, "cells.gtok"))
    >>> summary.n_cells, summary.n_unk_cells
    (3, 1)
    """
    if unk not in _UNK_MODES:
        raise ValueError(f"unk must be one of {_UNK_MODES}, not {unk!r}")
    tok = tokenizer if isinstance(tokenizer, Tokenizer) else Tokenizer(tokenizer)
    with _open_source(adata, layer) as src:
        var_ids, var_offsets, n_unknown = _map_var(tok, src, coords)
        n_cells = src.n_obs
        names = src.obs_names()
        per_region = unk == "per_region"
        unk_id = tok.unk_token_id
        settings = {"unk": unk, "layer": layer, "coords": src.coords_used}
        summary = CellsSummary(
            os.fspath(out) if out is not None else "",
            n_regions=src.n_var,
            n_regions_unknown_chrom=n_unknown,
            n_regions_without_hits=int(np.count_nonzero(np.diff(var_offsets) == 0)),
            settings=settings,
        )

        def documents() -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
            for row0, block in src.row_blocks():
                ids, offsets = _gather(src, row0, block, var_offsets, var_ids, unk_id, per_region)
                yield row0, ids, offsets
                if progress is not None:
                    progress(row0 + offsets.shape[0] - 1, n_cells)

        if out is None:
            if len(set(names)) != len(names):
                dup = _first_duplicate(names)
                raise ValueError(
                    f"{src.label}: obs name {dup!r} is used by more than one "
                    "cell; a dict cannot hold them all (write a pack with out=)"
                )
            result: dict[str, np.ndarray] = {}
            for row0, ids, offsets in documents():
                bounds = offsets.tolist()
                for i in range(len(bounds) - 1):
                    result[names[row0 + i]] = ids[bounds[i] : bounds[i + 1]]
            return result

        from gtok.io.pack import PackWriter

        meta = {
            "source": src.label,
            "settings": settings,
            "anndata": {
                "n_obs": n_cells,
                "n_vars": src.n_var,
                "var_unknown_chrom": n_unknown,
                "var_without_hits": summary.n_regions_without_hits,
            },
        }
        with PackWriter(out, tokenizer=tok, metadata=meta, fsync=fsync) as w:
            for row0, ids, offsets in documents():
                bounds = offsets.tolist()
                lengths = np.diff(offsets)
                summary.n_unk_cells += int(
                    np.count_nonzero((lengths == 1) & (ids[offsets[:-1]] == unk_id))
                )
                for i in range(len(bounds) - 1):
                    w.add(ids[bounds[i] : bounds[i + 1]], names[row0 + i])
            summary.n_cells = len(w)
            summary.n_tokens = w.n_tokens
        return summary


def _first_duplicate(names: list[str]) -> str:
    seen: set[str] = set()
    for n in names:
        if n in seen:
            return n
        seen.add(n)
    return ""  # pragma: no cover - only called when there is one


# ---------------------------------------------------------------------- var regions


def _map_var(
    tok: Tokenizer, src: _Source, coords: Sequence[str] | str | None
) -> tuple[np.ndarray, np.ndarray, int]:
    """Each var region's universe ids, once: ``(ids, offsets, n_unknown_chrom)``."""
    chroms, starts, ends = _var_coordinates(src, coords)
    chroms = _as_names(chroms)
    u = tok.universe
    try:
        cols = validate_columns(chroms, _as_integers(starts), _as_integers(ends), u.chroms, False)
    except BedFormatError as exc:
        k = exc.line_number - 1
        names = src.var_names()
        raise AnnDataFormatError(
            src.label, f"var region {exc.line_number} ({names[k]!r}): {exc.problem}: {exc.line!r}"
        ) from None
    ids, offsets = u.index.hits_per_query(cols.chroms, cols.starts, cols.ends)
    n_unknown = int(np.count_nonzero((cols.chroms < 0) | (cols.chroms >= len(u.chroms))))
    return ids, offsets, n_unknown


def _var_coordinates(src: _Source, coords: Sequence[str] | str | None) -> tuple[Any, Any, Any]:
    columns = src.var_columns()
    coords_given = coords is not None
    if coords is None:
        picked = [next((c for c in options if c in columns), None) for options in COORD_COLUMNS]
        if all(p is not None for p in picked):
            coords = [p for p in picked if p is not None]
        elif any(p is not None for p in picked):
            missing = [opts[0] for opts, p in zip(COORD_COLUMNS, picked) if p is None]
            raise AnnDataFormatError(
                src.label,
                f"var has {[p for p in picked if p]} but no "
                f"{' or '.join(missing)} column (region "
                "coordinates need chr, start and end; pass "
                "coords= to name other columns)",
            )
        else:
            coords = "names"
    if isinstance(coords, str):
        if coords != "names":
            raise ValueError(f"coords must be three var column names or 'names', not {coords!r}")
        src.coords_used = "var_names"
        return _parse_names(src, forced=coords_given)
    coords = list(coords)
    if len(coords) != 3:
        raise ValueError(f"coords must name three var columns (chr, start, end), not {coords}")
    missing = [c for c in coords if c not in columns]
    if missing:
        raise AnnDataFormatError(
            src.label, f"var has no column {missing[0]!r} (columns: {sorted(columns)})"
        )
    src.coords_used = coords
    return tuple(src.var_column(c) for c in coords)


def _parse_names(src: _Source, forced: bool) -> tuple[list, list, list]:
    names = src.var_names()
    chroms, starts, ends = [], [], []
    for k, name in enumerate(names):
        m = _NAME_RE.match(name)
        if m is None:
            shown = ", ".join(sorted(src.var_columns())) or "none"
            why = (
                ""
                if forced
                else (
                    f"no region coordinates: var has no chr/start/end "
                    f"columns (columns: {shown}) and "
                )
            )
            raise AnnDataFormatError(
                src.label, f"{why}var name {k + 1} ({name!r}) is not chr:start-end"
            )
        chroms.append(m.group(1))
        starts.append(int(m.group(2)))
        ends.append(int(m.group(3)))
    return chroms, starts, ends


def _as_names(values: Any) -> Any:
    """Chromosome names as a NumPy string array when they all are ``str`` (the tokenizer
    then looks up each distinct name once), else as given (and checked one by one)."""
    arr = np.asarray(values, dtype=object) if not isinstance(values, np.ndarray) else values
    if arr.dtype.kind == "O" and arr.ndim == 1 and all(type(v) is str for v in arr.tolist()):
        return arr.astype(str) if arr.shape[0] else arr
    return values


def _as_integers(values: Any) -> Any:
    """Coordinates as given in a var column, with what geniml's ``int(x)`` accepts turned
    into integers: whole floats and digit strings (anything else stays, and is reported)."""
    arr = np.asarray(values)
    if arr.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            if np.all(np.isfinite(arr)) and np.all(arr == np.floor(arr)):
                return arr.astype(np.int64)
        # some are not whole: convert the whole ones, so that only the others are reported
        return [int(v) if np.isfinite(v) and v.is_integer() else v for v in arr.tolist()]
    if arr.dtype.kind in "USO":
        out = []
        for v in arr.tolist():
            if isinstance(v, bytes):
                v = v.decode("utf-8", "replace")
            if isinstance(v, str) and v.strip().isdigit():
                v = int(v.strip())
            elif isinstance(v, float) and v.is_integer():
                v = int(v)
            out.append(v)
        return out
    return arr


# ---------------------------------------------------------------------- gathering


def _gather(
    src: _Source,
    row0: int,
    block: tuple,
    var_offsets: np.ndarray,
    var_ids: np.ndarray,
    unk_id: int,
    per_region: bool,
) -> tuple[np.ndarray, np.ndarray]:
    indptr, indices, keep = block
    indptr = np.asarray(indptr)
    indices = np.asarray(indices)
    if indices.dtype.kind not in _INTEGERS:
        raise AnnDataFormatError(
            src.label, f"{src.what} has {indices.dtype} column indices, not integers"
        )
    if (
        indices.dtype == np.int32
        and indptr.dtype != np.int32
        and (indptr.shape[0] == 0 or int(indptr[-1]) <= 0x7FFFFFFF)
    ):
        indptr = indptr.astype(np.int32)  # (the row pointers are few; the indices are not)
    if indptr.dtype != indices.dtype or indptr.dtype not in (np.int32, np.int64):
        indptr = indptr.astype(np.int64)
        indices = indices.astype(np.int64)
    indptr = np.ascontiguousarray(indptr)
    indices = np.ascontiguousarray(indices)
    keep = _EMPTY_KEEP if keep is None else np.ascontiguousarray(keep, dtype=np.uint8)
    row = check_rows(indptr, indices, src.n_var)
    if row >= 0:
        raise AnnDataFormatError(
            src.label,
            f"{src.what}/indices is corrupt at cell {row0 + row + 1}: a column index (or "
            f"row pointer) outside the {src.n_obs} x {src.n_var} matrix",
        )
    return gather_cells(indptr, indices, keep, var_offsets, var_ids, unk_id, per_region)


_EMPTY_KEEP = np.zeros(0, dtype=np.uint8)


def _keep_mask(data: Any) -> np.ndarray | None:
    """Which stored entries are non-zero (None when all are, the usual case)."""
    nz = np.asarray(data) != 0
    return None if nz.all() else nz.view(np.uint8)


def _dense_block(chunk: Any) -> tuple[np.ndarray, np.ndarray, None]:
    """CSR arrays of a dense row chunk's non-zero entries (columns sorted)."""
    chunk = np.asarray(chunk)
    rows, cols = np.nonzero(chunk)
    indptr = np.zeros(chunk.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=chunk.shape[0]), out=indptr[1:])
    return indptr, cols.astype(np.int64), None


def _csc_to_csr(
    n_obs: int, n_var: int, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR arrays of a CSC matrix (stable: columns stay ascending within each row, as
    scipy's ``csc[row].nonzero()`` gives them)."""
    indptr = np.asarray(indptr, dtype=np.int64)
    if indptr.shape[0] != n_var + 1 or (indptr.shape[0] and indptr[-1] != len(indices)):
        raise ValueError("CSC index pointer does not match the matrix")
    cols = np.repeat(np.arange(n_var, dtype=np.int64), np.diff(indptr))
    rows = np.asarray(indices, dtype=np.int64)
    if rows.size and (rows.min() < 0 or rows.max() >= n_obs):
        raise ValueError("CSC row index outside the matrix")
    order = np.argsort(rows, kind="stable")
    out_ptr = np.zeros(n_obs + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_obs), out=out_ptr[1:])
    return out_ptr, cols[order], np.asarray(data)[order]


# ---------------------------------------------------------------------- sources


class _Source:
    """A cells x regions matrix with obs names and var columns, read in row blocks."""

    label: str
    n_obs: int
    n_var: int
    what: str = "X"
    coords_used: Any = None

    def __enter__(self) -> _Source:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        pass

    def obs_names(self) -> list[str]:
        raise NotImplementedError

    def var_names(self) -> list[str]:
        raise NotImplementedError

    def var_columns(self) -> set[str]:
        raise NotImplementedError

    def var_column(self, name: str) -> Any:
        raise NotImplementedError

    def row_blocks(self) -> Iterator[tuple[int, tuple]]:
        """``(first_row, (indptr, indices, keep))`` for consecutive row ranges."""
        raise NotImplementedError


def _row_ranges(indptr: np.ndarray, n_rows: int) -> Iterator[tuple[int, int]]:
    """Consecutive row ranges holding about :data:`CHUNK_ENTRIES` stored entries each."""
    r = 0
    while r < n_rows:
        target = int(indptr[r]) + CHUNK_ENTRIES
        end = int(np.searchsorted(indptr, target, side="right")) - 1
        end = min(max(end, r + 1), n_rows)
        yield r, end
        r = end


def _csr_blocks(
    indptr: np.ndarray, indices: Any, data: Any, n_rows: int
) -> Iterator[tuple[int, tuple]]:
    for r0, r1 in _row_ranges(indptr, n_rows):
        a, b = int(indptr[r0]), int(indptr[r1])
        yield r0, (indptr[r0 : r1 + 1], indices[a:b], _keep_mask(data[a:b]))


def _dense_blocks(x: Any, n_rows: int, n_cols: int) -> Iterator[tuple[int, tuple]]:
    step = max(1, CHUNK_ENTRIES // max(n_cols, 1))
    for r0 in range(0, n_rows, step):
        yield r0, _dense_block(x[r0 : min(r0 + step, n_rows)])


def _open_source(adata: Any, layer: str | None) -> _Source:
    if isinstance(adata, (str, bytes, os.PathLike)):
        return _H5adSource(os.fsdecode(adata), layer)
    if all(hasattr(adata, a) for a in ("X", "var", "obs_names", "var_names")):
        if (
            getattr(adata, "isbacked", False)
            and not getattr(adata, "is_view", False)
            and getattr(adata, "filename", None)
        ):
            return _BackedSource(adata, layer)
        return _AnnDataSource(adata, layer)
    raise TypeError(f"expected an .h5ad path or an anndata.AnnData, not {type(adata).__name__}")


class _AnnDataSource(_Source):
    """An in-memory AnnData (duck-typed: ``X``/``layers``, ``var``, ``obs_names``)."""

    def __init__(self, adata: Any, layer: str | None) -> None:
        self.label = _IN_MEMORY
        self.adata = adata
        if layer is None:
            x = adata.X
            what = "X"
        else:
            layers = getattr(adata, "layers", {})
            if layer not in layers:
                raise AnnDataFormatError(
                    self.label, f"no layer {layer!r} (layers: {sorted(layers.keys())})"
                )
            x = layers[layer]
            what = f"layers[{layer!r}]"
        self.what = what
        if x is None:
            raise AnnDataFormatError(self.label, f"{what} is empty (None)")
        self.n_obs, self.n_var = (int(s) for s in adata.shape)
        if hasattr(x, "tocsr") and hasattr(x, "format"):
            x = x if x.format == "csr" else x.tocsr()
            if tuple(x.shape) != (self.n_obs, self.n_var):
                raise AnnDataFormatError(
                    self.label, f"{what} has shape {x.shape}, not {(self.n_obs, self.n_var)}"
                )
            self.csr = x
            self.dense = None
        else:
            try:
                arr = np.asarray(x)
            except (TypeError, ValueError):
                arr = None
            if (
                arr is None
                or arr.ndim != 2
                or arr.dtype.kind not in "biuf"
                or tuple(arr.shape) != (self.n_obs, self.n_var)
            ):
                raise AnnDataFormatError(
                    self.label,
                    f"{what} is not a {self.n_obs} x "
                    f"{self.n_var} numeric matrix "
                    f"({type(x).__name__})",
                )
            self.csr = None
            self.dense = arr

    def obs_names(self) -> list[str]:
        return [str(n) for n in self.adata.obs_names]

    def var_names(self) -> list[str]:
        return [str(n) for n in self.adata.var_names]

    def var_columns(self) -> set[str]:
        return {str(c) for c in self.adata.var.columns}

    def var_column(self, name: str) -> Any:
        col = self.adata.var[name]
        values = col.to_numpy() if hasattr(col, "to_numpy") else np.asarray(col)
        if values.dtype.kind == "O":
            return values.tolist()
        return values

    def row_blocks(self) -> Iterator[tuple[int, tuple]]:
        if self.csr is not None:
            m = self.csr
            yield from _csr_blocks(np.asarray(m.indptr), m.indices, m.data, self.n_obs)
        else:
            yield from _dense_blocks(self.dense, self.n_obs, self.n_var)


class _BackedSource(_AnnDataSource):
    """A backed AnnData (``read_h5ad(path, backed="r")``): the matrix is read from its
    file in row blocks (bounded memory), the names and ``var`` from the object, which may
    have been changed in memory since it was opened."""

    def __init__(self, adata: Any, layer: str | None) -> None:
        self.label = _IN_MEMORY
        self.adata = adata
        self.file = _H5adSource(os.fspath(adata.filename), layer)
        self.n_obs, self.n_var = (int(n) for n in adata.shape)
        if (self.file.n_obs, self.file.n_var) != (self.n_obs, self.n_var):
            self.file.close()
            raise AnnDataFormatError(
                self.file.label,
                f"the backed AnnData is {self.n_obs} x "
                f"{self.n_var}, its file "
                f"{self.file.n_obs} x {self.file.n_var}",
            )
        self.label = self.file.label
        self.what = self.file.what

    def close(self) -> None:
        self.file.close()

    def row_blocks(self) -> Iterator[tuple[int, tuple]]:
        return self.file.row_blocks()


def _h5py() -> Any:
    try:
        import h5py
    except ImportError:
        raise ImportError(
            "reading .h5ad files needs h5py: pip install 'gtok[singlecell]' (or pip install h5py)"
        ) from None
    return h5py


# ---------------------------------------------------------------------- .h5ad files

#: what h5py raises when part of a file cannot be read (flipped bits, a truncated file):
#: raised while reading a part, these become an AnnDataFormatError naming the file and part
_READ_ERRORS = (OSError, RuntimeError, KeyError, ValueError, TypeError, IndexError)
#: the dtype kinds each dataset may have, in words for the message
_NUMBERS, _INTEGERS = "biuf", "iu"
_KIND_WORDS = {_NUMBERS: "numbers", _INTEGERS: "integers", "biu": "booleans"}
#: why whole floats are refused as sparse indices too (the decision, in the message)
_FLOAT_INDICES = (
    "gtok reads sparse indices only as integers, as anndata and scipy write them; a float "
    "index (even a whole one) means the file was not written by them"
)


@contextmanager
def _reading(label: str, part: str) -> Iterator[None]:
    """h5py's errors while reading ``part`` become an AnnDataFormatError naming it."""
    try:
        yield
    except AnnDataFormatError:
        raise
    except _READ_ERRORS as exc:
        raise AnnDataFormatError(
            label, f"{part} cannot be read: the file is corrupt ({type(exc).__name__}: {exc})"
        ) from exc


class _Part:
    """A 1-D (or 2-D, for a dense X) h5py dataset of a file, read in slices; h5py's errors
    name the file and the part."""

    def __init__(self, node: Any, label: str, part: str) -> None:
        self.node, self.label, self.part = node, label, part
        with _reading(label, part):
            self.shape = node.shape
            self.dtype = node.dtype

    def __getitem__(self, key: Any) -> Any:
        with _reading(self.label, self.part):
            return self.node[key]

    def strings(self) -> list:
        with _reading(self.label, self.part):
            return _read_strings(self.node)


def _kind(node: Any) -> str:
    """What an h5py object is, in words: "group", "dataset", "named datatype"..."""
    h5py = _h5py()
    if isinstance(node, h5py.Dataset):
        return "dataset"
    if isinstance(node, h5py.Group):
        return "group"
    return "named datatype" if isinstance(node, h5py.Datatype) else type(node).__name__


def _read_strings(node: Any) -> Any:
    """A string dataset's values as Python ``str`` (h5py returns ``bytes``)."""
    try:
        return node.asstr()[()].tolist()
    except (TypeError, ValueError, AttributeError, UnicodeDecodeError):
        return _decode(node[()])


def _decode(values: np.ndarray) -> list:
    out = values.tolist()
    return [v.decode("utf-8") if isinstance(v, bytes) else v for v in out]


def _dims(raw: Any) -> tuple[int, int] | None:
    """A sparse matrix's ``shape`` attribute as two non-negative integers, or None."""
    arr = np.asarray(raw) if raw is not None else None
    if arr is None or arr.shape != (2,) or arr.dtype.kind not in _INTEGERS or np.any(arr < 0):
        return None
    return int(arr[0]), int(arr[1])


def _indptr_problem(indptr: np.ndarray, nnz: int) -> str | None:
    """What is wrong with a sparse matrix's index pointer (None: nothing)."""
    if indptr[0] != 0:
        return f"starts at {indptr[0]}, not 0"
    drops = np.flatnonzero(np.diff(indptr) < 0)
    if drops.size:
        k = int(drops[0])
        return f"decreases after entry {k + 1} ({indptr[k]}, then {indptr[k + 1]})"
    if indptr[-1] != nnz:
        return f"ends at {indptr[-1]}, but there are {nnz} stored entries"
    return None


class _H5adSource(_Source):
    """An ``.h5ad`` file read with h5py: X (or a layer) as CSR/CSC groups or a dense
    dataset, ``obs``/``var`` dataframes as groups (``_index`` attribute, columns as
    datasets, categoricals as ``codes`` + ``categories``).

    Every part is checked before it is used (a group or dataset where the other is
    expected, a scalar, a dtype, a length, the index pointer), and h5py's errors while
    reading a part (a corrupt file) are :class:`AnnDataFormatError` naming the part."""

    def __init__(self, path: str, layer: str | None) -> None:
        h5py = _h5py()
        self.label = path
        if os.path.isdir(path):
            raise IsADirectoryError(f"{path}: is a folder, not an .h5ad file")
        if not os.path.exists(path):
            raise FileNotFoundError(f"{path}: no such file")
        check_input(path)  # (a named FIFO is never opened)
        with open(path, "rb"):  # permission denied & co. stay the system's OSError
            pass
        try:
            self.f = h5py.File(path, "r")
        except _READ_ERRORS as exc:
            if isinstance(exc, OSError) and exc.errno is not None:
                raise  # the system's own error, not the content's
            raise AnnDataFormatError(
                path, f"not an HDF5 (.h5ad) file ({type(exc).__name__}: {exc})"
            ) from exc
        try:
            self._setup(layer)
        except BaseException:
            self.f.close()
            raise

    def _fail(self, problem: str) -> AnnDataFormatError:
        return AnnDataFormatError(self.label, problem)

    def _setup(self, layer: str | None) -> None:
        self.obs = self._frame("obs")
        self.var = self._frame("var")
        self.what, x = self._matrix(layer)
        self.n_obs = self._index(self.obs, "obs").shape[0]
        self.n_var = self._index(self.var, "var").shape[0]
        if _kind(x) == "dataset":
            self._setup_dense(x)
        elif _kind(x) == "group":
            self._setup_sparse(x)
        else:
            raise self._fail(f"{self.what} is a {_kind(x)}, not a matrix")

    def close(self) -> None:
        self.f.close()

    # parts ---------------------------------------------------------------------

    def _child(self, group: Any, key: str, part: str) -> Any:
        """``group[key]``, None when there is none."""
        if _kind(group) != "group":
            raise self._fail(f"{part.rpartition('/')[0]} is a {_kind(group)}, not a group")
        with _reading(self.label, part):
            return group.get(key)

    def _attr(self, node: Any, name: str, part: str) -> str | None:
        with _reading(self.label, f"the attributes of {part}"):
            return _attr(node, name)

    def _vector(
        self, node: Any, part: str, kinds: str | None, length: int | None, per: str = ""
    ) -> _Part:
        """``node`` as a 1-D dataset (of one of the dtype ``kinds``; ``length`` long, one
        entry ``per`` something)."""
        if node is None:
            raise self._fail(f"no {part} in the file")
        if _kind(node) != "dataset":
            raise self._fail(f"{part} is a {_kind(node)}, not a dataset")
        p = _Part(node, self.label, part)
        if p.shape is None or len(p.shape) != 1:
            shape = "a scalar" if p.shape == () else f"of shape {p.shape}"
            raise self._fail(f"{part} is {shape}, not a 1-D array")
        if kinds is not None and p.dtype.kind not in kinds:
            why = f" ({_FLOAT_INDICES})" if p.dtype.kind == "f" and kinds == _INTEGERS else ""
            raise self._fail(f"{part} holds {p.dtype} values, not {_KIND_WORDS[kinds]}{why}")
        if length is not None and p.shape[0] != length:
            raise self._fail(f"{part} has {p.shape[0]} entries, not {length} (one {per})")
        return p

    def _member(self, group: Any, key: str, part: str, kinds: str | None) -> _Part:
        """A column's ``key`` dataset, one entry per var region."""
        where = f"{part}/{key}"
        return self._vector(
            self._child(group, key, where), where, kinds, self.n_var, "per var region"
        )

    def _frame(self, name: str) -> Any:
        node = self._child(self.f, name, name)
        if node is None:
            raise self._fail(f"no '{name}' in the file: not an AnnData .h5ad")
        if _kind(node) not in ("group", "dataset"):
            raise self._fail(f"{name} is a {_kind(node)}, not a dataframe")
        return node

    def _matrix(self, layer: str | None) -> tuple[str, Any]:
        if layer is None:
            x = self._child(self.f, "X", "X")
            if x is None:
                raise self._fail("no 'X' matrix in the file")
            return "X", x
        layers = self._child(self.f, "layers", "layers")
        x = self._child(layers, layer, f"layers/{layer}") if _kind(layers) == "group" else None
        if x is None:
            have = [] if _kind(layers) != "group" else self._keys(layers, "layers")
            raise self._fail(f"no layer {layer!r} (layers: {sorted(have)})")
        return f"layers/{layer}", x

    def _keys(self, group: Any, part: str) -> list[str]:
        with _reading(self.label, part):
            return list(group.keys())

    # dataframes ---------------------------------------------------------------

    def _index(self, group: Any, name: str) -> _Part:
        """A dataframe's index: the dataset of its names (a structured array's too)."""
        if _kind(group) == "dataset":  # anndata < 0.7: a structured array
            p = self._vector(group, name, None, None)
            key = self._attr(group, "_index", name) or "index"
            if p.dtype.names is None or key not in p.dtype.names:
                raise self._fail(f"{name} has no index ({key!r})")
            return p
        key = self._attr(group, "_index", name) or "_index"
        part = f"{name}/{key}"
        node = self._child(group, key, part)
        if node is None:
            raise self._fail(f"{name} has no index ({key!r})")
        if _kind(node) == "group" and self._attr(node, "encoding-type", part) == (
            "nullable-string-array"
        ):
            node, part = self._child(node, "values", f"{part}/values"), f"{part}/values"
        return self._vector(node, part, None, None)

    def _names(self, group: Any, name: str) -> list[str]:
        p = self._index(group, name)
        if p.dtype.names is not None:  # a structured array: the index field
            key = self._attr(group, "_index", name) or "index"
            with _reading(self.label, f"{name} index"):
                return [str(v) for v in _decode(p[key])]
        return [str(v) for v in p.strings()]

    def obs_names(self) -> list[str]:
        return self._names(self.obs, "obs")

    def var_names(self) -> list[str]:
        if getattr(self, "_var_names", None) is None:
            self._var_names = self._names(self.var, "var")
        return self._var_names

    def var_columns(self) -> set[str]:
        if _kind(self.var) == "dataset":
            names = _Part(self.var, self.label, "var").dtype.names
            return set(names or ()) - {self._attr(self.var, "_index", "var") or "index"}
        key = self._attr(self.var, "_index", "var") or "_index"
        return set(self._keys(self.var, "var")) - {key}

    def var_column(self, name: str) -> Any:
        part = f"var/{name}"
        if _kind(self.var) == "dataset":
            with _reading(self.label, part):
                values = self.var[name]
                return _decode(values) if values.dtype.kind in "OS" else values
        node = self._child(self.var, name, part)
        if _kind(node) == "dataset":
            col = self._vector(node, part, None, self.n_var, "per var region")
            return col.strings() if col.dtype.kind in "OS" else col[:]
        enc = self._attr(node, "encoding-type", part) if _kind(node) == "group" else None
        if enc == "categorical":
            return self._categorical(node, part)
        if enc in ("nullable-integer", "nullable-boolean", "nullable-string-array"):
            return self._nullable(node, part, enc)
        raise self._fail(f"var column {name!r} has an encoding gtok does not read ({enc!r})")

    def _categorical(self, node: Any, part: str) -> np.ndarray:
        codes = np.asarray(self._member(node, "codes", part, _INTEGERS)[:], dtype=np.int64)
        cats_node = self._child(node, "categories", f"{part}/categories")
        cats_part = self._vector(cats_node, f"{part}/categories", None, None)
        cats = np.empty(cats_part.shape[0] + 1, dtype=object)
        cats[:-1] = cats_part.strings() if cats_part.dtype.kind in "OS" else cats_part[:].tolist()
        cats[-1] = None  # code -1 (missing), or a code outside the categories
        codes[(codes < 0) | (codes >= cats.shape[0] - 1)] = cats.shape[0] - 1
        return cats[codes]

    def _nullable(self, node: Any, part: str, enc: str) -> list:
        values_part = self._member(node, "values", part, None)
        with _reading(self.label, values_part.part):
            raw = values_part[:]
            values = _decode(raw) if enc == "nullable-string-array" else raw.tolist()
        if self._child(node, "mask", f"{part}/mask") is not None:
            mask = self._member(node, "mask", part, "biu")[:].tolist()
            values = [None if m else v for v, m in zip(values, mask)]
        return values

    # the matrix ----------------------------------------------------------------

    def _setup_dense(self, x: Any) -> None:
        p = _Part(x, self.label, self.what)
        if p.shape != (self.n_obs, self.n_var) or p.dtype.kind not in _NUMBERS:
            raise self._fail(
                f"{self.what} is a {p.shape} {p.dtype} dataset, not a {self.n_obs} x "
                f"{self.n_var} numeric matrix"
            )
        self.kind = "dense"
        self.x = p

    def _setup_sparse(self, x: Any) -> None:
        enc = self._attr(x, "encoding-type", self.what) or (
            (self._attr(x, "h5sparse_format", self.what) or "") + "_matrix"
        )
        if enc not in ("csr_matrix", "csc_matrix"):
            raise self._fail(
                f"{self.what} is neither a dense matrix nor a CSR/CSC sparse matrix "
                f"(encoding {enc!r})"
            )
        self.kind = enc[:3]
        self._check_shape(x)
        indptr = self._sparse_part(x, "indptr", _INTEGERS, None)
        self.indices = self._sparse_part(x, "indices", _INTEGERS, None)
        nnz = self.indices.shape[0]
        self.data = self._sparse_part(x, "data", _NUMBERS, nnz)
        self.indptr = self._read_indptr(indptr)

    def _sparse_part(self, x: Any, key: str, kinds: str, length: int | None) -> _Part:
        part = f"{self.what}/{key}"
        per = f"per entry of {self.what}/indices"
        return self._vector(self._child(x, key, part), part, kinds, length, per)

    def _check_shape(self, x: Any) -> None:
        with _reading(self.label, f"the attributes of {self.what}"):
            raw = x.attrs.get("shape", x.attrs.get("h5sparse_shape"))
        shape = _dims(raw)
        if shape is None:
            raise self._fail(
                f"{self.what} has no valid 'shape' attribute (two non-negative integers): {raw!r}"
            )
        if shape != (self.n_obs, self.n_var):
            raise self._fail(
                f"{self.what} has shape {shape}, but obs and var have {self.n_obs} and "
                f"{self.n_var} entries"
            )

    def _read_indptr(self, p: _Part) -> np.ndarray:
        n = self.n_obs if self.kind == "csr" else self.n_var
        if p.shape[0] != n + 1:
            rows = "cells" if self.kind == "csr" else "var regions"
            raise self._fail(
                f"{p.part} has {p.shape[0]} entries, not {n + 1} (one more than the {n} "
                f"{rows}): the index pointer does not match the matrix"
            )
        indptr = np.asarray(p[:], dtype=np.int64)
        problem = _indptr_problem(indptr, self.indices.shape[0])
        if problem is not None:
            raise self._fail(f"{p.part}: the index pointer {problem} (corrupt {self.kind})")
        return indptr

    def row_blocks(self) -> Iterator[tuple[int, tuple]]:
        if self.kind == "dense":
            yield from _dense_blocks(self.x, self.n_obs, self.n_var)
        elif self.kind == "csr":
            yield from _csr_blocks(self.indptr, self.indices, self.data, self.n_obs)
        else:  # CSC: read whole, convert (rows of a CSC matrix are scattered on disk)
            try:
                indptr, indices, data = _csc_to_csr(
                    self.n_obs, self.n_var, self.indptr, self.indices[:], self.data[:]
                )
            except ValueError as exc:
                raise self._fail(f"{self.indices.part}: corrupt csc_matrix: {exc}") from None
            yield from _csr_blocks(indptr, indices, data, self.n_obs)


def _attr(node: Any, name: str) -> str | None:
    v = node.attrs.get(name)
    if v is None:
        return None
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return str(v)
