"""What ``.gtok`` files and packs share: the magic and flag bytes, telling the two apart,
checking a version-1 header, id validation and narrowing, and the lifetime rules of objects
that hand out views of a memory map.

Both formats start with the ASCII magic ``GTOK``; the byte after it is the flag: ``0x01`` /
``0x02`` for a version-1 token file (gtars' format: uint16 / uint32 ids, nothing else), and
``0x81`` / ``0x82`` for a pack (many documents). The byte layouts are in
``docs/format.md``; :mod:`gtok.io.gtokfile` and :mod:`gtok.io.pack` build on this module,
and neither imports the other's internals.

>>> import os, tempfile
>>> from gtok import write_gtok
>>> path = os.path.join(tempfile.mkdtemp(), "x.gtok")
>>> write_gtok(path, [1, 2, 70000])
>>> sniff_path(path), check_v1(map_file(path))
('v1', (dtype('uint32'), 3))
"""

from __future__ import annotations

import array
import os
import stat
import struct
import sys
import warnings
import zlib
from typing import Any

import numpy as np

from gtok._lib._encode import narrow
from gtok._lib._mapping import MappedFile, map_path
from gtok.errors import (
    BadMagicError,
    ChecksumError,
    ShortFileError,
    TrailingBytesError,
    UnknownFlagError,
)

__all__ = [
    "MAGIC",
    "HEADER_SIZE",
    "FLAG_U16",
    "FLAG_U32",
    "V1_DTYPES",
    "PACK_FLAG_U16",
    "PACK_FLAG_U32",
    "PACK_FLAGS",
    "PACK_DTYPES",
    "PACK_HEADER",
    "PACK_TRAILER",
    "PACK_END_MARKER",
    "POPULATE_LIMIT",
    "map_file",
    "is_pack",
    "check_v1",
    "sniff_path",
    "checked_ids",
    "narrow_ids",
    "MappedViews",
]

MAGIC = b"GTOK"
#: a version-1 file's header: the magic and the flag byte
HEADER_SIZE = 5
FLAG_U16 = 0x01
FLAG_U32 = 0x02
V1_DTYPES: dict[int, np.dtype] = {FLAG_U16: np.dtype("<u2"), FLAG_U32: np.dtype("<u4")}
PACK_FLAG_U16 = 0x81
PACK_FLAG_U32 = 0x82
PACK_FLAGS = (PACK_FLAG_U16, PACK_FLAG_U32)
PACK_DTYPES: dict[int, np.dtype] = {PACK_FLAG_U16: np.dtype("<u2"), PACK_FLAG_U32: np.dtype("<u4")}
PACK_END_MARKER = b"GTOKPACK"
# magic, flag, version, features, data offset, tokens, documents, index offset,
# fingerprint, vocab size, header CRC32 (of the 60 bytes before it)
PACK_HEADER = struct.Struct("<4sBBHQQQQ16sII")
# names offset/size, metadata offset/size, payload CRC32, trailer CRC32 (of the 36 bytes
# before it), end marker
PACK_TRAILER = struct.Struct("<QQQQII8s")
assert PACK_HEADER.size == 64 and PACK_TRAILER.size == 48
_MAX_U32 = 0xFFFFFFFF
# Files up to this size are pre-faulted at map time (one kernel call instead of a page fault
# per 4 KiB, cheaper when the whole file is read, as training does); larger files are mapped
# lazily so that opening stays O(1).
POPULATE_LIMIT = 64 << 20


# ------------------------------------------------------------------------------ ids

# array.array type code of a 4-byte unsigned int ("I" on every mainstream platform).
_U32_TYPECODE = next((c for c in "IL" if array.array(c).itemsize == 4), None)

# NumPy < 1.24 makes an object array of a ragged nested list (with a VisibleDeprecationWarning)
# where later NumPy raises ValueError; _asarray makes the old NumPy refuse it the same way.
_RAGGED_IS_OBJECT = np.lib.NumpyVersion(np.__version__) < "1.24.0"


def _asarray(ids: Any) -> np.ndarray:
    """``np.asarray(ids)``; a ragged nested sequence raises ValueError on every NumPy."""
    if not _RAGGED_IS_OBJECT:
        return np.asarray(ids)
    with warnings.catch_warnings():  # old NumPy only (not thread-safe, as catch_warnings is)
        warnings.simplefilter("error", np.VisibleDeprecationWarning)  # type: ignore[attr-defined]
        try:
            return np.asarray(ids)
        except np.VisibleDeprecationWarning:  # type: ignore[attr-defined]  # not in NumPy 2
            raise ValueError("ids must be 1-D: got a ragged nested sequence") from None


def _as_id_array(ids: Any) -> np.ndarray:
    """Return ``ids`` as a 1-D, C-contiguous, native-order integer array, or raise."""
    if isinstance(ids, (str, bytes, bytearray, os.PathLike)):
        raise TypeError(f"ids must be a sequence of integers, not {type(ids).__name__}")
    if not isinstance(ids, np.ndarray):
        if not hasattr(ids, "__len__") and not hasattr(ids, "__array__"):
            ids = list(ids)  # a generator or other one-shot iterable
        if isinstance(ids, (list, tuple)):
            if len(ids) == 0:
                return np.empty(0, dtype=np.uint16)
            if _U32_TYPECODE is not None and type(ids[0]) is not bool:
                # Fast path for lists (what gtars' tokenizer returns): array.array converts in
                # C, 3-4x faster than np.asarray, and itself refuses non-integers (TypeError)
                # and ids outside 0..2**32-1 (OverflowError). On failure the path below finds
                # the offending id and names it. A list starting with a bool goes the slow way,
                # so a list of bools is refused as before; a bool among ints is taken as 0/1,
                # as np.asarray and gtars take it (finding it would cost more than converting).
                try:
                    return np.frombuffer(array.array(_U32_TYPECODE, ids), dtype=np.uint32)
                except (TypeError, OverflowError, ValueError):
                    pass
        try:
            arr = _asarray(ids)
        except OverflowError as exc:
            raise OverflowError(f"ids must be in 0..{_MAX_U32}: {exc}") from None
        if isinstance(ids, (list, tuple)) and arr.ndim == 1 and arr.dtype.kind not in "iuO":
            # Not an integer array: either a non-integer is in there, or NumPy promoted Python
            # ints to float64 (it does for a list mixing ids >= 2**63 with smaller ones).
            # Check element by element so that an out-of-range int gets OverflowError and a
            # non-integer a TypeError naming its index. Only failing input comes here.
            arr = np.asarray(ids, dtype=object)
    else:
        arr = ids
    if arr.ndim != 1:
        if arr.ndim == 0:
            raise TypeError(f"ids must be a sequence of integers, not a scalar {arr.dtype}")
        raise ValueError(f"ids must be 1-D, got an array of shape {arr.shape}")
    if arr.dtype.kind == "O":
        return _object_ids(arr)
    if arr.dtype.kind not in "iu":
        if arr.size == 0:
            return np.empty(0, dtype=np.uint16)
        raise TypeError(f"ids must be integers, got an array of {arr.dtype}")
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    return np.ascontiguousarray(arr)


def _object_ids(arr: np.ndarray) -> np.ndarray:
    # NumPy made an object array: a non-integer, or an integer beyond 64 bits, is in there.
    for i, v in enumerate(arr):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"ids must be integers; ids[{i}] is {v!r} ({type(v).__name__})")
        if not 0 <= v <= _MAX_U32:
            raise OverflowError(f"ids must be in 0..{_MAX_U32}; ids[{i}] is {v}")
    return arr.astype(np.uint32)


def checked_ids(ids: Any) -> tuple[np.ndarray, int]:
    """Validate ``ids``; return them as a native integer array with their maximum.

    Raises ``TypeError`` for non-integers and ``OverflowError`` for ids outside 0..2**32-1.
    """
    arr = _as_id_array(ids)
    if arr.size == 0:
        return arr, 0
    # (NumPy's reductions use the CPU's widest vectors: 4x the plain loop of id_range on
    # a tokenizer's uint32 ids, ~5 ms of a 200-file run)
    hi = int(arr.max())
    lo = 0 if arr.dtype.kind == "u" else int(arr.min())
    if lo < 0:
        i = int(np.flatnonzero(arr < 0)[0])
        raise OverflowError(f"ids must be in 0..{_MAX_U32}; ids[{i}] is {int(arr[i])} (negative)")
    if hi > _MAX_U32:
        i = int(np.flatnonzero(arr > _MAX_U32)[0])
        raise OverflowError(f"ids must be in 0..{_MAX_U32}; ids[{i}] is {int(arr[i])}")
    return arr, int(hi)


def narrow_ids(arr: np.ndarray, target: np.dtype) -> np.ndarray:
    """``arr`` (checked by :func:`checked_ids` to fit ``target``) as a little-endian
    ``uint16``/``uint32`` array; no copy when it already is one."""
    target = np.dtype(target)
    native = target.newbyteorder("=")
    if arr.dtype != native or arr.size == 0:
        out = np.empty(arr.shape[0], dtype=native)
        if arr.size:
            narrow(arr, out)
        arr = out
    if sys.byteorder == "big":  # pragma: no cover - no big-endian CI machine
        arr = arr.astype(native.newbyteorder("<"))
    return arr


# ---------------------------------------------------------------------- mapping, sniffing


def map_file(path: str | os.PathLike, populate: bool | None = None) -> MappedFile:
    """Memory-map a whole regular file read-only; the descriptor is closed before returning.

    ``populate``: pre-fault the pages now (True), or as they are touched (False); default
    (None): for files up to :data:`POPULATE_LIMIT` bytes.

    Raises ``FileNotFoundError``/``IsADirectoryError``/``PermissionError`` naming the path,
    and ``OSError`` for anything that is not a regular file (a FIFO is never opened for
    reading, so it cannot hang).
    """
    if populate is None:
        limit = POPULATE_LIMIT
    else:
        limit = sys.maxsize if populate else -1
    return map_path(os.fspath(path), limit)


def is_pack(mapping: MappedFile) -> bool:
    head = mapping.header(HEADER_SIZE)
    return len(head) == HEADER_SIZE and head[:4] == MAGIC and head[4] in PACK_FLAGS


def sniff_path(path: str) -> str:
    """``"pack"`` or ``"v1"`` from a file's first 5 bytes, without mapping it; raises the
    typed errors of :func:`gtok.read_gtok` for anything else. No descriptor outlives the
    call, and a FIFO is never waited on."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise type(exc)(exc.errno, exc.strerror, path) from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(f"{path}: is a folder, not a .gtok file")
        if not stat.S_ISREG(st.st_mode):
            raise OSError(f"{path}: not a regular file")
        head = os.pread(fd, HEADER_SIZE, 0)
    finally:
        os.close(fd)
    if len(head) < HEADER_SIZE:
        raise ShortFileError(
            path,
            f"file is {len(head)} byte(s), shorter than the 5-byte "
            ".gtok header: truncated, or not a .gtok file",
        )
    if head[:4] != MAGIC:
        raise BadMagicError(
            path, f"does not start with b'GTOK' (found {head[:4]!r}): not a .gtok file"
        )
    if head[4] in PACK_FLAGS:
        return "pack"
    if head[4] not in V1_DTYPES:
        raise UnknownFlagError(path, f"unknown width flag 0x{head[4]:02x}")
    return "v1"


def check_v1(mapping: MappedFile) -> tuple[np.dtype, int]:
    """Validate a mapped v1 file's header and size; return ``(dtype, n_tokens)``."""
    path, size = mapping.path, mapping.size
    head = mapping.header(HEADER_SIZE)
    if size < HEADER_SIZE:
        raise ShortFileError(
            path,
            f"file is {size} byte(s), shorter than the 5-byte .gtok header "
            "(b'GTOK' and a width flag): truncated, or not a .gtok file",
        )
    if head[:4] != MAGIC:
        raise BadMagicError(
            path, f"does not start with b'GTOK' (found {head[:4]!r}): not a .gtok file"
        )
    flag = head[4]
    dtype = V1_DTYPES.get(flag)
    if dtype is None:
        raise UnknownFlagError(
            path,
            f"unknown width flag 0x{flag:02x} (expected 0x01 for "
            "uint16 ids, 0x02 for uint32 ids, or 0x81/0x82 for a "
            "pack)",
        )
    _refuse_damaged_pack(mapping, flag)
    payload = size - HEADER_SIZE
    if payload % dtype.itemsize:
        raise TrailingBytesError(
            path,
            f"{payload} data bytes is not a whole number of {dtype.itemsize}-byte ids "
            f"({payload % dtype.itemsize} trailing byte(s)): the file is truncated or corrupt",
        )
    return dtype, payload // dtype.itemsize


def _refuse_damaged_pack(mapping: MappedFile, flag: int) -> None:
    """Raise ``ChecksumError`` for a damaged pack that would read as a version-1 file.

    Flags 0x81/0x82 differ from the version-1 flags 0x01/0x02 by one bit, and a version-1
    file has no checksum, so a damaged pack header (a flipped bit, or bytes lost after the
    magic) could otherwise turn a pack into a token stream of header, index and trailer
    bytes, read without an error. A file that ends with the pack end marker is such a pack
    when its trailer matches the trailer's CRC32 (whatever happened to the header), or its
    first 60 bytes, with the pack flag put back, match the header CRC32 (a gtars file
    matches either by chance with probability below 2**-90).
    """
    size = mapping.size
    if size < PACK_HEADER.size + PACK_TRAILER.size:
        return
    with memoryview(mapping) as mv:
        tail = bytes(mv[size - PACK_TRAILER.size :])
    if tail[-len(PACK_END_MARKER) :] != PACK_END_MARKER:
        return
    head = mapping.header(PACK_HEADER.size)
    restored = head[:4] + bytes((flag | 0x80,)) + head[5:60]
    if zlib.crc32(restored) == int.from_bytes(head[60:64], "little"):
        raise ChecksumError(
            mapping.path,
            f"flag byte 0x{flag:02x} is damaged: the file is a "
            f"pack (its header CRC32 matches flag "
            f"0x{flag | 0x80:02x} and it ends with the pack end "
            "marker), not a version-1 token stream",
        )
    if zlib.crc32(tail[:36]) == int.from_bytes(tail[36:40], "little"):
        raise ChecksumError(
            mapping.path,
            f"flag byte 0x{flag:02x} says version 1, but the file ends with a pack "
            "trailer that matches its CRC32: a pack whose header is damaged, not a "
            "version-1 token stream",
        )


# ------------------------------------------------------------------------- lifetimes


class MappedViews:
    """Lifetime rules shared by :class:`gtok.io.gtokfile.GtokFile` and
    :class:`gtok.io.pack.GtokPack`: an
    object that owns a memory map (``self._mapping``) and hands out views of it."""

    __slots__ = ("_mapping",)
    _mapping: MappedFile | None

    def _drop_views(self) -> None:  # pragma: no cover - each subclass drops its own
        raise NotImplementedError

    @property
    def closed(self) -> bool:
        """Whether the file was closed."""
        return self._mapping is None

    def close(self) -> None:
        """Unmap the file now.

        Raises ``BufferError`` if a view is still alive elsewhere (the mapping is then left
        intact, and the file stays open). Closing twice is harmless.
        """
        if self._mapping is None:
            return
        self._drop_views()
        self._mapping.close()
        self._mapping = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info: object) -> None:
        # Leaving the block releases this object's hold on the mapping. Views that escaped
        # the block keep the pages mapped until they are garbage; that is not an error here
        # (use close() to insist on unmapping now).
        self._drop_views()
        mapping, self._mapping = self._mapping, None
        if mapping is not None and mapping.exports == 0:
            mapping.close()
