"""Parquet interop: token documents to and from a parquet file (needs ``pyarrow``).

The parquet file holds one row per document: a ``tokens`` column of type ``list<int32>``
(the ids; the layout Hugging Face ``datasets`` and geniml's proposed parquet datasets read)
and, unless disabled, a ``name`` column (``string``: the pack document name or the
``.gtok`` file's path relative to its folder, without the extension). When the universe is
known (a tokenizer given, or every source pack records the same one), the file's schema
metadata carries it under ``b"gtok"`` as JSON (``fingerprint``, ``vocab_size``), and an
import with a tokenizer checks it.

Both directions stream: export writes a row group per batch of documents (bounded by
document and token counts), import reads record batches; memory stays bounded by a batch.
Both write atomically (a temporary file renamed into place): a failure leaves nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from gtok.errors import FingerprintMismatchError, ParquetFormatError
from gtok.io.atomic import AtomicFile
from gtok.io.gtokfile import open_gtok
from gtok.io.inputs import find_inputs, output_name
from gtok.io.manifest import check_manifests
from gtok.io.pack import GtokPack, PackWriter
from gtok.io.source import check_input

__all__ = ["export_parquet", "import_parquet", "ROW_GROUP_DOCS", "ROW_GROUP_TOKENS"]

#: a row group is written when it holds this many documents ...
ROW_GROUP_DOCS = 65_536
#: ... or this many tokens (64 MiB of int32)
ROW_GROUP_TOKENS = 1 << 24
_INT32_MAX = 0x7FFFFFFF
_U32_MAX = 0xFFFFFFFF
_META_KEY = b"gtok"


def _pyarrow() -> tuple[Any, Any, Any]:
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError(
            "parquet interop needs pyarrow: pip install 'gtok[singlecell]' (or pip install pyarrow)"
        ) from None
    return pa, pc, pq


def _documents(found: Sequence[tuple[str, str]]) -> Iterator[tuple[np.ndarray, str]]:
    for path, root in found:
        with open_gtok(path) as f:
            if isinstance(f, GtokPack):
                names = f.names or [""] * len(f)
                for i in range(len(f)):
                    yield f.doc(i), names[i]
            else:
                yield f.tokens, output_name(path, root)[: -len(".gtok")]


def export_parquet(
    sources: str | os.PathLike | Iterable[str | os.PathLike],
    out: str | os.PathLike,
    *,
    tokenizer: Any = None,
    name_column: str | None = "name",
    fsync: bool = False,
) -> tuple[int, int]:
    """Write the documents of packs and ``.gtok`` files to one parquet file.

    Parameters
    ----------
    sources : path or list of paths
        Packs, ``.gtok`` files, folders (searched recursively for ``*.gtok``) or globs; a
        pack contributes all its documents, a ``.gtok`` file one. Order: sorted inputs, as
        ``gtok pack``.
    out : str or os.PathLike
        The parquet file to write (atomically; parent folders are created).
    tokenizer : Tokenizer, optional
        Check every id against its vocabulary and every pack's (and batch manifest's)
        universe fingerprint; record the fingerprint in the file's metadata.
    name_column : str or None, default "name"
        Name of the document-name column; None writes only ``tokens``.
    fsync : bool, default False
        Flush to stable storage before the rename.

    Returns
    -------
    (n_docs, n_tokens) : tuple of int

    Examples
    --------
    >>> import os, tempfile
    >>> import pyarrow.parquet as pq
    >>> from gtok import write_pack
    >>> from gtok.io.parquet import export_parquet
    >>> folder = tempfile.mkdtemp()
    >>> write_pack(os.path.join(folder, "cells.gtok"), [[1, 2], [], [7]], names=["a", "b", "c"])
    >>> export_parquet(os.path.join(folder, "cells.gtok"), os.path.join(folder, "cells.parquet"))
    (3, 3)
    >>> table = pq.read_table(os.path.join(folder, "cells.parquet"))
    >>> kind = table.schema.field("tokens").type  # list<int32> (parquet names the item "element")
    >>> str(kind.value_type), table.column("tokens").to_pylist(), table.column("name").to_pylist()
    ('int32', [[1, 2], [], [7]], ['a', 'b', 'c'])
    """
    pa, _, pq = _pyarrow()
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    found = find_inputs([os.fspath(s) for s in sources], patterns=["*.gtok"])
    fingerprint, vocab_size = _recorded_universe(found, tokenizer)
    fields = [pa.field("tokens", pa.list_(pa.int32()))]
    if name_column is not None:
        if name_column == "tokens":
            raise ValueError("name_column must differ from 'tokens'")
        fields.append(pa.field(name_column, pa.string()))
    meta = {"fingerprint": fingerprint, "vocab_size": vocab_size}
    schema = pa.schema(fields, metadata={_META_KEY: json.dumps(meta).encode()})
    limit = tokenizer.vocab_size if tokenizer is not None else None
    n_docs = n_tokens = 0
    target = AtomicFile(out, fsync=fsync)
    try:
        with pq.ParquetWriter(target.tmp, schema) as writer:
            docs: list[np.ndarray] = []
            names: list[str] = []
            pending = 0

            def flush() -> None:
                lengths = np.fromiter((d.shape[0] for d in docs), dtype=np.int64, count=len(docs))
                offsets = np.zeros(len(docs) + 1, dtype=np.int32)
                np.cumsum(lengths, out=offsets[1:])
                values = (np.concatenate(docs) if docs else np.zeros(0)).astype(np.int32)
                cols = [pa.ListArray.from_arrays(pa.array(offsets), pa.array(values))]
                if name_column is not None:
                    cols.append(pa.array(names, pa.string()))
                writer.write_table(pa.Table.from_arrays(cols, schema=schema))

            for ids, name in _documents(found):
                if ids.shape[0]:
                    hi = int(ids.max())
                    if hi > _INT32_MAX:
                        raise OverflowError(
                            f"document {n_docs} ({name!r}) holds id {hi}, "
                            "too large for parquet's int32 tokens"
                        )
                    if limit is not None and hi >= limit:
                        raise ValueError(
                            f"document {n_docs} ({name!r}) holds id {hi}, "
                            f"outside the vocabulary (vocab_size {limit})"
                        )
                if pending + ids.shape[0] > ROW_GROUP_TOKENS and docs:
                    flush()
                    docs, names, pending = [], [], 0
                docs.append(ids)
                names.append(name)
                pending += int(ids.shape[0])
                n_docs += 1
                n_tokens += int(ids.shape[0])
                if len(docs) >= ROW_GROUP_DOCS:
                    flush()
                    docs, names, pending = [], [], 0
            if docs or n_docs == 0:
                flush()
        target.commit()
    except BaseException:
        target.discard()
        raise
    return n_docs, n_tokens


def _recorded_universe(
    found: Sequence[tuple[str, str]], tokenizer: Any
) -> tuple[str | None, int | None]:
    """The universe to record: the tokenizer's (after checking packs and manifests
    against it), else the one every source pack records, else none."""
    if tokenizer is not None:
        check_manifests({r for _, r in found}, tokenizer.fingerprint)
    seen: set[tuple[str | None, int | None]] = set()
    for path, _ in found:
        with open_gtok(path) as f:
            if isinstance(f, GtokPack):
                if tokenizer is not None:
                    f.check_fingerprint(tokenizer)
                seen.add((f.fingerprint, f.vocab_size))
            else:
                seen.add((None, None))
    if tokenizer is not None:
        return tokenizer.fingerprint, int(tokenizer.vocab_size)
    if len(seen) == 1:
        return next(iter(seen))
    return None, None


def import_parquet(
    path: str | os.PathLike,
    out: str | os.PathLike,
    *,
    tokenizer: Any = None,
    column: str = "tokens",
    name_column: str | None = "name",
    batch_rows: int = 65_536,
    fsync: bool = False,
) -> tuple[int, int]:
    """Write the documents of a parquet file's token column into a pack.

    Parameters
    ----------
    path : str or os.PathLike
        The parquet file: one document per row in ``column``, a list of integers.
    out : str or os.PathLike
        The pack to write (atomically).
    tokenizer : Tokenizer, optional
        Check every id below its vocab size, and the file's recorded universe (if any)
        against its fingerprint; the pack records the tokenizer's fingerprint.
    column : str, default "tokens"
        The token column.
    name_column : str or None, default "name"
        Document names, if the file has this string column (else the names are empty).
    batch_rows : int
        Rows read at a time (bounds memory).
    fsync : bool, default False
        Flush the pack to stable storage before the rename.

    Returns
    -------
    (n_docs, n_tokens) : tuple of int

    Raises
    ------
    gtok.errors.ParquetFormatError
        Not a parquet file, no such column, not a list of integers, a null document or
        id, a negative id, an id above 2**32 - 1 or outside the tokenizer's vocabulary
        (the message names the row). Nothing is written.

    Examples
    --------
    >>> import os, tempfile
    >>> import pyarrow as pa, pyarrow.parquet as pq
    >>> from gtok import open_gtok
    >>> from gtok.io.parquet import import_parquet
    >>> folder = tempfile.mkdtemp()
    >>> src = os.path.join(folder, "docs.parquet")
    >>> pq.write_table(pa.table({"tokens": [[5, 6], [7]], "name": ["x", "y"]}), src)
    >>> import_parquet(src, os.path.join(folder, "docs.gtok"))
    (2, 3)
    >>> pack = open_gtok(os.path.join(folder, "docs.gtok"))
    >>> pack.names, pack.doc(0).tolist()
    (['x', 'y'], [5, 6])
    """
    pa, pc, pq = _pyarrow()
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path}: is a folder, not a parquet file")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    check_input(path)  # (a named FIFO is never opened)
    try:
        pf = pq.ParquetFile(path)
        schema = pf.schema_arrow
    except _corrupt_errors() as exc:  # (a column name that is not UTF-8, too)
        raise ParquetFormatError(path, f"not a parquet file ({exc})") from None
    if column not in schema.names:
        raise ParquetFormatError(path, f"no column {column!r} (columns: {schema.names})")
    kind = schema.field(column).type
    if not (
        pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind)
    ) or not pa.types.is_integer(kind.value_type):
        raise ParquetFormatError(
            path, f"column {column!r} is {kind}, not a list of integers (e.g. list<int32>)"
        )
    names_col = (
        name_column
        if name_column in schema.names
        and name_column != column
        and (
            pa.types.is_string(schema.field(name_column).type)
            or pa.types.is_large_string(schema.field(name_column).type)
        )
        else None
    )
    recorded = _read_meta(schema)
    if (
        tokenizer is not None
        and recorded.get("fingerprint")
        and recorded["fingerprint"] != tokenizer.fingerprint
    ):
        raise FingerprintMismatchError(path, tokenizer.fingerprint, recorded["fingerprint"])
    limit = int(tokenizer.vocab_size) if tokenizer is not None else _U32_MAX + 1
    meta = {
        "source": os.path.abspath(path),
        "parquet": {"column": column, "recorded_universe": recorded},
    }
    row = 0
    with PackWriter(
        out, tokenizer=tokenizer, metadata=meta, names=names_col is not None, fsync=fsync
    ) as w:
        wanted = [column] + ([names_col] if names_col else [])
        for rb in _record_batches(pf, path, max(1, int(batch_rows)), wanted):
            arr = rb.column(0)
            if arr.null_count:
                k = int(np.flatnonzero(arr.is_null().to_numpy(zero_copy_only=False))[0])
                raise ParquetFormatError(path, f"row {row + k}: the document is null")
            lengths = pc.list_value_length(arr).to_numpy(zero_copy_only=False).astype(np.int64)
            flat = arr.flatten()
            if flat.null_count:
                raise ParquetFormatError(path, f"a null id in rows {row}..{row + len(arr) - 1}")
            values = flat.to_numpy(zero_copy_only=False)
            offsets = np.zeros(len(arr) + 1, dtype=np.int64)
            np.cumsum(lengths, out=offsets[1:])
            if values.size:
                bad = (
                    (values < 0) | (values >= limit)
                    if values.dtype.kind == "i"
                    else (values >= limit)
                )
                if bad.any():
                    p = int(np.flatnonzero(bad)[0])
                    k = int(np.searchsorted(offsets, p, side="right")) - 1
                    what = (
                        "negative"
                        if values[p] < 0
                        else f"outside the vocabulary (vocab_size {limit})"
                        if tokenizer is not None
                        else "above 2**32 - 1"
                    )
                    raise ParquetFormatError(path, f"row {row + k}: id {int(values[p])} is {what}")
            names = _names(rb, path) if names_col else None
            bounds = offsets.tolist()
            for i in range(len(arr)):
                w.add(
                    values[bounds[i] : bounds[i + 1]], None if names is None else (names[i] or "")
                )
            row += len(arr)
        recorded_rows = pf.metadata.num_rows
        if row != recorded_rows:
            # pyarrow may yield fewer rows, without an error, from a damaged page
            raise ParquetFormatError(
                path, f"corrupt data: {row} rows read, but the file records {recorded_rows}"
            )
        n_docs, n_tokens = len(w), w.n_tokens
    return n_docs, n_tokens


# what pyarrow raises for data it cannot decode (a corrupt page, bad UTF-8 in a string)
def _corrupt_errors() -> tuple[type[BaseException], ...]:
    return (_pyarrow()[0].ArrowException, OSError, UnicodeDecodeError)


def _record_batches(pf: Any, path: str, batch_rows: int, columns: list) -> Iterator[Any]:
    """``pf``'s record batches; a row group that cannot be decoded is a
    :class:`~gtok.errors.ParquetFormatError` naming the file."""
    batches = pf.iter_batches(batch_size=batch_rows, columns=columns)
    while True:
        try:
            rb = next(batches)
        except StopIteration:
            return
        except _corrupt_errors() as exc:
            raise ParquetFormatError(path, f"corrupt data ({type(exc).__name__}: {exc})") from None
        yield rb


def _names(rb: Any, path: str) -> list:
    try:
        return rb.column(1).to_pylist()
    except _corrupt_errors() as exc:
        raise ParquetFormatError(
            path, f"corrupt document names ({type(exc).__name__}: {exc})"
        ) from None


def _read_meta(schema: Any) -> dict:
    raw = (schema.metadata or {}).get(_META_KEY)
    if not raw:
        return {}
    try:
        meta = json.loads(raw)
    except ValueError:
        return {}
    return meta if isinstance(meta, dict) else {}
