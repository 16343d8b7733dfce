"""Packs: many token documents (one per region set or cell) in one memory-mapped file.

See ``docs/format.md`` for the byte layout. In short: the ``.gtok`` magic with flag ``0x81``
(uint16 ids) or ``0x82`` (uint32 ids), so gtars' reader rejects a pack cleanly; a 64-byte
header with its own CRC32; the tokens from byte 64 (64-byte aligned); a uint64 document
offset index; optional document names and a JSON metadata block; and a 48-byte trailer
with the payload's CRC32 and an end marker, without which the file is incomplete.

Opening is O(1) in the number of documents: it validates the magic, the header CRC, the
sizes and the trailer (the full payload CRC is :meth:`GtokPack.verify`). Documents are
zero-copy, read-only, dtype-aligned views of the mapping; a view keeps the mapping alive.
Packs are written by :class:`PackWriter`, one document at a time, atomically.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from gtok._lib._docindex import DocumentIndex
from gtok._lib._mapping import MappedFile
from gtok.errors import (
    ChecksumError,
    CorruptIndexError,
    FingerprintMismatchError,
    MissingTrailerError,
    PackFormatError,
    ShortFileError,
)
from gtok.io.atomic import AtomicFile
from gtok.io.container import (
    PACK_DTYPES,
    PACK_END_MARKER,
    PACK_FLAG_U16,
    PACK_FLAG_U32,
    PACK_FLAGS,
    PACK_HEADER,
    PACK_TRAILER,
    MappedViews,
    checked_ids,
    map_file,
    narrow_ids,
)

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = ["GtokPack", "PackWriter", "write_pack", "open_pack", "PACK_FLAGS", "PACK_VERSION"]

PACK_VERSION = 1
FEATURE_NAMES = 1
FEATURE_METADATA = 2
ALIGN = 64
END_MARKER = PACK_END_MARKER
HEADER = PACK_HEADER  # layouts in gtok.io.container (docs/format.md)
TRAILER = PACK_TRAILER
_DTYPES = PACK_DTYPES


def _pad(n: int) -> int:
    return (-n) % ALIGN


class GtokPack(MappedViews):
    """An open pack: documents as zero-copy views, names, metadata and the universe
    fingerprint. Made by :func:`gtok.open_gtok` for a pack file.

    Attributes
    ----------
    path : str
    version : int
        The pack format version (1).
    dtype : numpy.dtype
        ``uint16`` or ``uint32``.
    n_tokens, n_docs : int
    vocab_size : int or None
        The tokenizer's vocabulary size recorded at writing (None if unknown).
    fingerprint : str or None
        The universe fingerprint recorded at writing (None if unknown).

    Examples
    --------
    >>> import os, tempfile
    >>> from gtok import open_gtok, write_pack
    >>> path = os.path.join(tempfile.mkdtemp(), "cells.gtok")
    >>> write_pack(path, [[1, 2, 3], [], [7]], names=["a", "b", "c"])
    >>> with open_gtok(path) as pack:
    ...     print(len(pack), pack.doc(0).tolist(), pack.names, pack.doc(2).flags.aligned)
    3 [1, 2, 3] ['a', 'b', 'c'] True
    """

    __slots__ = (
        "path",
        "version",
        "dtype",
        "n_tokens",
        "n_docs",
        "vocab_size",
        "fingerprint",
        "_tokens",
        "_offsets",
        "_bounds",
        "_names",
        "_metadata",
        "_features",
        "_sections",
        "_payload_crc",
        "_data_offset",
        "_index_offset",
    )
    _tokens: np.ndarray | None
    _offsets: np.ndarray | None
    _bounds: DocumentIndex | None
    _names: list[str] | None
    _metadata: dict | None

    def __init__(self, mapping: MappedFile) -> None:
        self._mapping = None
        self._tokens = self._offsets = self._bounds = self._names = self._metadata = None
        self.path = os.fspath(mapping.path)
        size = mapping.size
        if size < HEADER.size + TRAILER.size:
            raise ShortFileError(
                self.path, f"pack is {size} bytes, shorter than its header and trailer: truncated"
            )
        head = mapping.header(HEADER.size)
        (
            _,
            flag,
            version,
            features,
            data_offset,
            n_tokens,
            n_docs,
            index_offset,
            fp,
            vocab_size,
            crc,
        ) = HEADER.unpack(head)
        if zlib.crc32(head[:60]) != crc:
            raise ChecksumError(self.path, "pack header does not match its CRC32: corrupt")
        if version != PACK_VERSION:
            raise PackFormatError(
                self.path,
                f"pack format version {version} is not supported "
                f"(this gtok reads version {PACK_VERSION})",
            )
        tail = bytes(memoryview(mapping)[size - TRAILER.size :])
        (names_offset, names_size, meta_offset, meta_size, payload_crc, trailer_crc, marker) = (
            TRAILER.unpack(tail)
        )
        if marker != END_MARKER:
            raise MissingTrailerError(
                self.path, "pack has no end marker: it was never finished, or it is truncated"
            )
        if zlib.crc32(tail[:36]) != trailer_crc:
            raise ChecksumError(self.path, "pack trailer does not match its CRC32: corrupt")
        dtype = _DTYPES.get(flag)
        if dtype is None:  # pragma: no cover - open_gtok only sends pack flags here
            raise PackFormatError(self.path, f"unknown pack flag 0x{flag:02x}")
        body_end = size - TRAILER.size
        data_end = data_offset + n_tokens * dtype.itemsize
        index_end = index_offset + (n_docs + 1) * 8
        problems = []
        if data_offset < HEADER.size or data_offset % ALIGN:
            problems.append(f"data offset {data_offset} is not a 64-byte boundary after the header")
        if data_end > index_offset or index_offset % 8 or index_end > body_end:
            problems.append(f"{n_tokens} tokens and {n_docs} documents do not fit in {size} bytes")
        for what, off, n, flag_bit in (
            ("names", names_offset, names_size, FEATURE_NAMES),
            ("metadata", meta_offset, meta_size, FEATURE_METADATA),
        ):
            if features & flag_bit and (off < index_end or off + n > body_end):
                problems.append(f"{what} section [{off}, {off + n}) lies outside the file")
        if problems:
            raise PackFormatError(self.path, "; ".join(problems) + ": truncated or corrupt")
        self.version = version
        self.dtype = dtype
        self.n_tokens = int(n_tokens)
        self.n_docs = int(n_docs)
        self.vocab_size = int(vocab_size) or None
        self.fingerprint = fp.hex() if any(fp) else None
        self._features = features
        self._sections = (names_offset, names_size, meta_offset, meta_size)
        self._payload_crc = payload_crc
        self._data_offset = data_offset
        self._index_offset = index_offset
        self._mapping = mapping
        first, last = (int(x) for x in self._offset_array()[[0, -1]])
        if first != 0 or last != self.n_tokens:
            raise CorruptIndexError(
                self.path, f"document offsets run from {first} to {last}, not 0 to {self.n_tokens}"
            )

    # ------------------------------------------------------------------ views

    def _live(self) -> MappedFile:
        if self._mapping is None:
            raise ValueError(f"{self.path}: the pack is closed")
        return self._mapping

    def _view(self, dtype: Any, count: int, offset: int) -> np.ndarray:
        return self._live().view(np.dtype(dtype), count, offset)

    def _offset_array(self) -> np.ndarray:
        return self._view("<u8", self.n_docs + 1, self._index_offset)

    @property
    def tokens(self) -> np.ndarray:
        """Every document's tokens, concatenated (a read-only view)."""
        if self._tokens is None:
            self._tokens = self._view(self.dtype, self.n_tokens, self._data_offset)
        return self._tokens

    @property
    def offsets(self) -> np.ndarray:
        """Document boundaries (``uint64``, ``n_docs + 1``): document i is
        ``tokens[offsets[i]:offsets[i + 1]]``."""
        if self._offsets is None:
            self._offsets = self._offset_array()
        return self._offsets

    def doc(self, i: int) -> np.ndarray:
        """Document ``i`` (negative counts from the end): a read-only view, no copy."""
        index = self._bounds
        if index is None:
            index = self._bounds = DocumentIndex(self.tokens, self.offsets, self.path)
        return index[i]

    __getitem__ = doc

    def __len__(self) -> int:
        return self.n_docs

    def __iter__(self) -> Iterator[np.ndarray]:
        for i in range(self.n_docs):
            yield self.doc(i)

    def lengths(self) -> np.ndarray:
        """Number of tokens of every document (``int64``)."""
        return np.diff(self.offsets.astype(np.int64))

    @property
    def names(self) -> list[str] | None:
        """Document names (e.g. source files or cell barcodes), or None if not stored."""
        if not self._features & FEATURE_NAMES:
            return None
        if self._names is None:
            off, size = self._sections[0], self._sections[1]
            n = self.n_docs
            if size < (n + 1) * 8:
                raise CorruptIndexError(
                    self.path,
                    f"names section is {size} bytes, too small for the offsets of {n} names",
                )
            raw = bytes(memoryview(self._live())[off : off + size])
            ends = np.frombuffer(raw, dtype="<u8", count=n + 1)
            text = raw[(n + 1) * 8 :]
            bounds = ends.tolist()
            if (
                bounds[0] != 0
                or bounds[-1] != len(text)
                or any(a > b for a, b in zip(bounds, bounds[1:]))
            ):
                raise CorruptIndexError(self.path, "document name offsets are inconsistent")
            try:
                self._names = [text[a:b].decode("utf-8") for a, b in zip(bounds, bounds[1:])]
            except UnicodeDecodeError as exc:
                raise PackFormatError(
                    self.path, f"a document name is not valid UTF-8 ({exc.reason}): corrupt"
                ) from None
        return list(self._names)

    @property
    def metadata(self) -> dict:
        """The JSON metadata block (tokenizer settings, special ids, creator...)."""
        if not self._features & FEATURE_METADATA:
            return {}
        if self._metadata is None:
            off, size = self._sections[2], self._sections[3]
            try:
                metadata = json.loads(bytes(memoryview(self._live())[off : off + size]))
            except (ValueError, RecursionError) as exc:  # (RecursionError: deep nesting)
                raise PackFormatError(self.path, f"metadata is not valid JSON ({exc})") from None
            if not isinstance(metadata, dict):
                raise PackFormatError(
                    self.path,
                    f"metadata is JSON {type(metadata).__name__}, not an object: the pack is "
                    "corrupt or was not written by gtok",
                )
            self._metadata = metadata
        return dict(self._metadata)

    def check_fingerprint(self, tokenizer: Any) -> None:
        """Raise :class:`~gtok.errors.FingerprintMismatchError` if the pack was written for
        another universe than ``tokenizer``'s (a pack without a fingerprint passes)."""
        if self.fingerprint is not None and self.fingerprint != tokenizer.fingerprint:
            raise FingerprintMismatchError(self.path, tokenizer.fingerprint, self.fingerprint)

    def verify(self) -> None:
        """Check the payload CRC32 and every document offset (reads the whole file).

        Raises :class:`~gtok.errors.ChecksumError` or
        :class:`~gtok.errors.CorruptIndexError`.
        """
        mapping = self._live()
        mv = memoryview(mapping)
        try:
            crc = zlib.crc32(mv[HEADER.size : mapping.size - TRAILER.size])
        finally:
            mv.release()
        if crc != self._payload_crc:
            raise ChecksumError(self.path, "pack payload does not match its CRC32: corrupt")
        offsets = self.offsets
        if np.any(offsets[1:] < offsets[:-1]):
            i = int(np.flatnonzero(offsets[1:] < offsets[:-1])[0])
            raise CorruptIndexError(self.path, f"document offsets are out of order at document {i}")
        if self._features & FEATURE_NAMES:
            self.names  # noqa: B018 - validates the name index

    # ------------------------------------------------------------------ lifetime

    def _drop_views(self) -> None:
        self._tokens = self._offsets = self._bounds = None

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (open_pack, (self.path,))  # unpickling reopens the file

    def __repr__(self) -> str:
        if self._mapping is None:
            return f"<GtokPack {getattr(self, 'path', '?')!r}, closed>"
        return (
            f"<GtokPack {self.path!r} v{self.version} {self.dtype.name}, {self.n_docs} "
            f"documents, {self.n_tokens} tokens>"
        )


def open_pack(path: str | os.PathLike) -> GtokPack:
    """Open a pack (:func:`gtok.open_gtok` opens packs and version-1 files alike)."""
    return GtokPack(map_file(path))


class PackWriter:
    """Write a pack one document at a time; atomic (nothing is visible until :meth:`close`).

    Parameters
    ----------
    path : str or os.PathLike
        The pack to create (parent folders are created).
    tokenizer : Tokenizer, optional
        Records its fingerprint, vocab size and special-token ids, and picks the id width
        (uint16 when the vocabulary fits). Ids are checked to be below its vocab size.
    dtype : {"uint16", "uint32"}, optional
        Id width when there is no tokenizer (default uint32).
    metadata : dict, optional
        Extra JSON-serialisable metadata (merged over the tokenizer's).
    names : bool, default True
        Store document names (a missing name is stored as "").
    fsync : bool, default False
        Flush to stable storage before the final rename.

    Examples
    --------
    >>> import os, tempfile
    >>> from gtok import PackWriter, open_gtok
    >>> path = os.path.join(tempfile.mkdtemp(), "docs.gtok")
    >>> with PackWriter(path, dtype="uint16") as w:
    ...     w.add([5, 6], name="first")
    ...     w.add(range(3), name="second")
    >>> open_gtok(path).doc(1).tolist()
    [0, 1, 2]
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        tokenizer: Any = None,
        dtype: npt.DTypeLike | None = None,
        metadata: dict | None = None,
        names: bool = True,
        fsync: bool = False,
    ) -> None:
        self.path = os.fspath(path)
        self._limit = None
        meta: dict[str, Any] = {"creator": _creator()}
        fingerprint = b"\0" * 16
        vocab_size = 0
        if tokenizer is not None:
            vocab_size = int(tokenizer.vocab_size)
            fingerprint = bytes.fromhex(tokenizer.fingerprint)
            self._limit = vocab_size
            meta["tokenizer"] = {
                "universe": tokenizer.universe.source,
                "vocab_size": vocab_size,
                "fingerprint": tokenizer.fingerprint,
                "special_tokens": {
                    name: {
                        "token": getattr(tokenizer, f"{name}_token"),
                        "id": getattr(tokenizer, f"{name}_token_id"),
                    }
                    for name in ("unk", "pad", "mask", "cls", "eos", "bos", "sep")
                },
            }
            if dtype is None:
                dtype = np.uint16 if vocab_size <= 0x10000 else np.uint32
        self.dtype = np.dtype(dtype if dtype is not None else np.uint32).newbyteorder("<")
        if self.dtype.kind != "u" or self.dtype.itemsize not in (2, 4):
            raise TypeError(f"dtype must be uint16 or uint32, not {self.dtype}")
        self._max = 0xFFFF if self.dtype.itemsize == 2 else 0xFFFFFFFF
        self._flag = PACK_FLAG_U16 if self.dtype.itemsize == 2 else PACK_FLAG_U32
        if metadata:
            meta.update(metadata)
        #: the JSON metadata block; may be updated until :meth:`close`
        self.metadata = meta
        self._fingerprint = fingerprint
        self._vocab_size = vocab_size
        self._store_names = names
        self._names: list[bytes] = []
        self._offsets: list[int] = [0]
        self._crc = 0
        self._n_tokens = 0
        self._out = AtomicFile(self.path, fsync=fsync)
        self._out.file.write(b"\0" * HEADER.size)  # the header is written last
        self._closed = False

    def _write(self, data: Any) -> None:
        self._out.file.write(data)
        self._crc = zlib.crc32(data, self._crc)

    def add(self, ids: Iterable[int], name: str | None = None) -> None:
        """Append one document (its ids) with an optional name."""
        if self._closed:
            raise ValueError(f"{self.path}: the pack writer is closed")
        arr, hi = checked_ids(ids)
        self._write_ids(arr, hi)
        self._n_tokens += int(arr.size)
        self._offsets.append(self._n_tokens)
        if self._store_names:
            self._names.append((name or "").encode("utf-8"))

    def _write_ids(self, arr: np.ndarray, hi: int) -> None:
        # ids checked by checked_ids: they must fit the width and the vocabulary
        if arr.size and hi > self._max:
            raise OverflowError(f"id {hi} does not fit the pack's {self.dtype.name} ids")
        if self._limit is not None and arr.size and hi >= self._limit:
            raise ValueError(
                f"id {hi} is outside the tokenizer's vocabulary (vocab_size {self._limit})"
            )
        arr = narrow_ids(arr, self.dtype)
        if arr.size:
            self._write(arr.data)

    def add_many(self, ids: Any, offsets: Any, names: Iterable[str] | None = None) -> None:
        """Append several documents at once: document ``i`` is
        ``ids[offsets[i]:offsets[i + 1]]`` (``offsets`` starts at 0 and ends at
        ``len(ids)``), named ``names[i]`` when given. The same as calling :meth:`add` for
        each, with one check and one write for them all."""
        if self._closed:
            raise ValueError(f"{self.path}: the pack writer is closed")
        arr, hi = checked_ids(ids)
        if arr.ndim != 1:
            raise ValueError("ids must be one-dimensional")
        bounds = np.asarray(offsets, dtype=np.int64)
        if (
            bounds.ndim != 1
            or bounds.size == 0
            or bounds[0] != 0
            or bounds[-1] != arr.size
            or np.any(np.diff(bounds) < 0)
        ):
            raise ValueError("offsets must rise from 0 to len(ids)")
        docs = bounds.size - 1
        name_list = None if names is None else list(names)
        if name_list is not None and len(name_list) != docs:
            raise ValueError(f"{len(name_list)} names for {docs} documents")
        self._write_ids(arr, hi)
        self._offsets.extend((bounds[1:] + self._n_tokens).tolist())
        self._n_tokens += int(arr.size)
        if self._store_names:
            self._names.extend(
                (n or "").encode("utf-8")
                for n in (name_list if name_list is not None else [None] * docs)
            )

    def __len__(self) -> int:
        return len(self._offsets) - 1

    @property
    def n_tokens(self) -> int:
        """Tokens written so far."""
        return self._n_tokens

    def close(self) -> None:
        """Write the index, names, metadata, trailer and header; rename into place."""
        if self._closed:
            return
        self._closed = True
        try:
            pos = HEADER.size + self._n_tokens * self.dtype.itemsize
            self._write(b"\0" * _pad(pos))
            pos += _pad(pos)
            index_offset = pos
            self._write(np.asarray(self._offsets, dtype="<u8").data)
            pos += 8 * len(self._offsets)
            features = FEATURE_METADATA
            names_offset = names_size = 0
            if self._store_names:
                features |= FEATURE_NAMES
                ends = np.cumsum([0] + [len(n) for n in self._names], dtype=np.uint64)
                block = ends.astype("<u8").tobytes() + b"".join(self._names)
                names_offset, names_size = pos, len(block)
                self._write(block)
                pos += len(block)
            # strict JSON (no NaN/Infinity tokens), so any JSON reader can read it
            meta = json.dumps(self.metadata, sort_keys=True, allow_nan=False).encode()
            meta_offset, meta_size = pos, len(meta)
            self._write(meta)
            pos += len(meta)
            trailer = TRAILER.pack(
                names_offset, names_size, meta_offset, meta_size, self._crc, 0, END_MARKER
            )
            trailer = trailer[:36] + struct.pack("<I", zlib.crc32(trailer[:36])) + END_MARKER
            self._out.file.write(trailer)
            head = HEADER.pack(
                b"GTOK",
                self._flag,
                PACK_VERSION,
                features,
                HEADER.size,
                self._n_tokens,
                len(self._offsets) - 1,
                index_offset,
                self._fingerprint,
                self._vocab_size,
                0,
            )
            head = head[:60] + struct.pack("<I", zlib.crc32(head[:60]))
            self._out.file.seek(0)
            self._out.file.write(head)
            self._out.commit()
        except BaseException:
            self._out.discard()
            raise

    def abort(self) -> None:
        """Give up: remove the temporary file; nothing appears at ``path``."""
        if not self._closed:
            self._closed = True
            self._out.discard()

    def __enter__(self) -> PackWriter:
        return self

    def __exit__(self, exc_type: Any, *rest: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __del__(self) -> None:
        # a writer dropped without close() leaves nothing behind
        if not getattr(self, "_closed", True):
            self.abort()


def write_pack(
    path: str | os.PathLike,
    docs: Iterable[Iterable[int]],
    *,
    names: Sequence[str] | None = None,
    tokenizer: Any = None,
    dtype: npt.DTypeLike | None = None,
    metadata: dict | None = None,
) -> None:
    """Write documents (sequences of ids) to a pack in one call (see :class:`PackWriter`)."""
    with PackWriter(
        path, tokenizer=tokenizer, dtype=dtype, metadata=metadata, names=names is not None
    ) as w:
        for i, doc in enumerate(docs):
            if names is not None and i >= len(names):
                raise ValueError(
                    f"{len(names)} names for more documents than that; nothing was written"
                )
            w.add(doc, None if names is None else names[i])
        if names is not None and len(names) != len(w):
            raise ValueError(f"{len(names)} names for {len(w)} documents; nothing was written")


def _creator() -> str:
    from gtok import __version__

    return f"gtok {__version__}"
