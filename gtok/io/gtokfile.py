"""Reading and writing ``.gtok`` token files (SPEC §2): the policy around the Cython loops.

Version 1 is gtars' format: ``b"GTOK"``, one width flag byte (``0x01`` uint16 ids, ``0x02``
uint32 ids), then the ids, little-endian, and nothing else. The writer picks uint16 if and
only if every id is <= 65535 (an empty list included), exactly as
``gtars.utils.write_tokens_to_gtok`` does, so both produce the same bytes. Unlike gtars, the
reader refuses a file whose data is not a whole number of ids.

Reading memory-maps the file and returns a read-only NumPy view of the mapped ids: no copy,
no open file descriptor, and the mapping lives as long as any view of it (see
:mod:`gtok._lib._mapping`).
"""

from __future__ import annotations

import array
import os
import sys
import warnings
import zlib
from typing import Any, Iterable

import numpy as np

from gtok.io.atomic import atomic_output
from gtok._lib._encode import id_range, narrow
from gtok._lib._mapping import MappedFile, map_path
from gtok.errors import (BadMagicError, ShortFileError, TrailingBytesError,
                         UnknownFlagError)

__all__ = ["write_gtok", "read_gtok", "open_gtok", "GtokFile", "MAGIC"]

MAGIC = b"GTOK"
HEADER_SIZE = 5
FLAG_U16 = 0x01
FLAG_U32 = 0x02
_PACK_FLAGS = (0x81, 0x82)
_DTYPES = {FLAG_U16: np.dtype("<u2"), FLAG_U32: np.dtype("<u4")}
_MAX_U16 = 0xFFFF
_MAX_U32 = 0xFFFFFFFF
# Files up to this size are pre-faulted at map time (one kernel call instead of a page fault
# per 4 KiB, cheaper when the whole file is read, as training does); larger files are mapped
# lazily so that opening stays O(1).
POPULATE_LIMIT = 64 << 20


# --------------------------------------------------------------------------------- writing

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
        warnings.simplefilter("error", np.VisibleDeprecationWarning)
        try:
            return np.asarray(ids)
        except np.VisibleDeprecationWarning:
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
    lo, hi = id_range(arr)
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


def encode_ids(ids: Any) -> tuple[int, np.ndarray]:
    """Validate ``ids`` and return ``(flag, array)``: the v1 width flag and the ids as a
    little-endian ``uint16``/``uint32`` array, ready to write after the 5-byte header.

    Raises ``TypeError`` for non-integers and ``OverflowError`` for ids outside 0..2**32-1.
    """
    arr, hi = checked_ids(ids)
    flag = FLAG_U16 if hi <= _MAX_U16 else FLAG_U32
    return flag, narrow_ids(arr, _DTYPES[flag])


def write_gtok(path: str | os.PathLike, ids: Iterable[int], *, fsync: bool = False) -> None:
    """Write token ids to a version-1 ``.gtok`` file, byte-identical to gtars.

    Parameters
    ----------
    path : str or os.PathLike
        The output file. Missing parent folders are created. The file is written to a
        temporary name in the same folder and renamed into place, so no reader ever sees a
        partial file, and a failed write leaves no file behind.
    ids : sequence of int or integer array
        Token ids in 0..2**32-1: a list, tuple, range, NumPy integer array, or anything
        ``np.asarray`` turns into one (a CPU torch tensor, for example).
    fsync : bool, default False
        Flush the data to disk before the rename (survives a power cut; slower).

    Raises
    ------
    TypeError
        ``ids`` holds non-integers, or the arguments are swapped (``write_gtok(ids, path)``).
    OverflowError
        An id is negative or >= 2**32. Nothing is written.

    Examples
    --------
    >>> import os, tempfile
    >>> from gtok import write_gtok, read_gtok
    >>> path = os.path.join(tempfile.mkdtemp(), "sample.gtok")
    >>> write_gtok(path, [42, 101, 999])
    >>> open(path, "rb").read()
    b'GTOK\\x01*\\x00e\\x00\\xe7\\x03'
    >>> read_gtok(path).tolist()
    [42, 101, 999]
    """
    if not isinstance(path, (str, bytes, os.PathLike)):
        if isinstance(ids, (str, os.PathLike)):
            raise TypeError(
                "write_gtok takes (path, ids), in that order, like gtars' "
                "write_tokens_to_gtok(path, ids) and np.save(path, arr); "
                "it was given (ids, path)"
            )
        raise TypeError(f"path must be a str or os.PathLike, not {type(path).__name__}")
    flag, arr = encode_ids(ids)  # validates everything before any file is touched
    with atomic_output(path, fsync=fsync) as f:
        f.write(MAGIC + bytes((flag,)))
        if arr.size:
            f.write(arr.data)


# --------------------------------------------------------------------------------- reading


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


def _check_v1(mapping: MappedFile) -> tuple[np.dtype, int]:
    """Validate a mapped v1 file's header and size; return ``(dtype, n_tokens)``."""
    path, size = mapping.path, mapping.size
    head = mapping.header(HEADER_SIZE)
    if size < HEADER_SIZE:
        raise ShortFileError(
            path, f"file is {size} byte(s), shorter than the 5-byte .gtok header "
            "(b'GTOK' and a width flag): truncated, or not a .gtok file")
    if head[:4] != MAGIC:
        raise BadMagicError(path, f"does not start with b'GTOK' (found {head[:4]!r}): "
                                  "not a .gtok file")
    flag = head[4]
    dtype = _DTYPES.get(flag)
    if dtype is None:
        raise UnknownFlagError(path, f"unknown width flag 0x{flag:02x} (expected 0x01 for "
                                     "uint16 ids, 0x02 for uint32 ids, or 0x81/0x82 for a "
                                     "pack)")
    _refuse_damaged_pack(mapping, flag)
    payload = size - HEADER_SIZE
    if payload % dtype.itemsize:
        raise TrailingBytesError(
            path, f"{payload} data bytes is not a whole number of {dtype.itemsize}-byte ids "
            f"({payload % dtype.itemsize} trailing byte(s)): the file is truncated or corrupt")
    return dtype, payload // dtype.itemsize


def _refuse_damaged_pack(mapping: MappedFile, flag: int) -> None:
    """Raise ``ChecksumError`` for a pack whose flag byte lost its high bit.

    Flags 0x81/0x82 differ from the version-1 flags 0x01/0x02 by one bit, and a version-1
    file has no checksum, so one flipped bit would otherwise turn a damaged pack into a
    token stream of header, index and trailer bytes, read without an error. A file that
    ends with the pack end marker and whose first 60 bytes, with the pack flag put back,
    match the header CRC32 is such a pack (a gtars file matches both by chance with
    probability below 2**-90).
    """
    from gtok.io.pack import END_MARKER, HEADER, TRAILER
    size = mapping.size
    if size < HEADER.size + TRAILER.size:
        return
    with memoryview(mapping) as mv:
        if bytes(mv[size - len(END_MARKER):]) != END_MARKER:
            return
    head = mapping.header(HEADER.size)
    restored = head[:4] + bytes((flag | 0x80,)) + head[5:60]
    if zlib.crc32(restored) == int.from_bytes(head[60:64], "little"):
        from gtok.errors import ChecksumError
        raise ChecksumError(mapping.path, f"flag byte 0x{flag:02x} is damaged: the file is a "
                                          f"pack (its header CRC32 matches flag "
                                          f"0x{flag | 0x80:02x} and it ends with the pack end "
                                          "marker), not a version-1 token stream")


def _view(mapping: MappedFile, dtype: np.dtype, count: int, offset: int) -> np.ndarray:
    # The array's base holds a buffer export of the mapping, so the mapping can neither be
    # unmapped by close() nor freed while the view exists.
    return mapping.view(dtype, count, offset)


def read_gtok(path: str | os.PathLike) -> np.ndarray:
    """Read a ``.gtok`` file as a zero-copy, read-only NumPy view of its ids.

    Parameters
    ----------
    path : str or os.PathLike
        A version-1 ``.gtok`` file (as written by gtok or gtars).

    Returns
    -------
    numpy.ndarray
        ``uint16`` or ``uint32`` (as stored), read-only, viewing the memory-mapped file. The
        mapping stays alive as long as the array (or any view of it) does; no file
        descriptor is kept open. Use ``ids.astype(np.int64)`` for an embedding layer.

    Raises
    ------
    FileNotFoundError, IsADirectoryError
        The path is missing or is a folder.
    gtok.errors.GtokFormatError
        Bad magic, unknown flag, a file shorter than 5 bytes, or a trailing partial id
        (each a subclass: ``BadMagicError``, ``UnknownFlagError``, ``ShortFileError``,
        ``TrailingBytesError``; all are ``ValueError``).

    Examples
    --------
    >>> import os, tempfile
    >>> from gtok import write_gtok, read_gtok
    >>> path = os.path.join(tempfile.mkdtemp(), "big.gtok")
    >>> write_gtok(path, [7, 70000])
    >>> ids = read_gtok(path)
    >>> ids.dtype, ids.tolist(), ids.flags.writeable
    (dtype('uint32'), [7, 70000], False)
    """
    mapping = map_file(path)
    if _is_pack(mapping):
        from gtok.io.pack import GtokPack
        return GtokPack(mapping).tokens
    dtype, n = _check_v1(mapping)
    return _view(mapping, dtype, n, HEADER_SIZE)


class MappedViews:
    """Lifetime rules shared by :class:`GtokFile` and :class:`gtok.io.pack.GtokPack`: an
    object that owns a memory map (``self._mapping``) and hands out views of it."""

    __slots__ = ()

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

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (open_gtok, (self.path,))


class GtokFile(MappedViews):
    """An open ``.gtok`` file: its header fields and a zero-copy view of its ids.

    Made by :func:`open_gtok`. Use it as a context manager or call :meth:`close`. It pickles
    as its path (unpickling reopens the file), so it crosses process boundaries cheaply.

    Attributes
    ----------
    path : str
        The file.
    version : int
        The format version (1 for gtars-compatible token files).
    dtype : numpy.dtype
        ``uint16`` or ``uint32``, as stored.
    n_tokens : int
        The number of ids (also ``len(f)``).

    Examples
    --------
    >>> import os, tempfile
    >>> from gtok import write_gtok, open_gtok
    >>> path = os.path.join(tempfile.mkdtemp(), "sample.gtok")
    >>> write_gtok(path, [3, 1, 2])
    >>> with open_gtok(path) as f:
    ...     print(f.version, f.dtype, len(f), int(f.tokens.sum()))
    1 uint16 3 6
    """

    __slots__ = ("path", "version", "dtype", "n_tokens", "_mapping", "_tokens")

    def __init__(self, path: str | os.PathLike, mapping: MappedFile | None = None) -> None:
        self._mapping = None
        self._tokens = None
        self.path = os.fspath(path)
        if mapping is None:
            mapping = map_file(self.path)
        self.dtype, self.n_tokens = _check_v1(mapping)
        self.version = 1
        self._mapping = mapping

    @property
    def tokens(self) -> np.ndarray:
        """The ids: a read-only ``uint16``/``uint32`` view of the mapped file, no copy."""
        if self._mapping is None:
            raise ValueError(f"{self.path}: the file is closed")
        if self._tokens is None:
            self._tokens = _view(self._mapping, self.dtype, self.n_tokens, HEADER_SIZE)
        return self._tokens

    def __len__(self) -> int:
        return self.n_tokens

    def _drop_views(self) -> None:
        self._tokens = None

    def __repr__(self) -> str:
        state = "closed" if self._mapping is None else f"{self.n_tokens} tokens"
        return f"<GtokFile {self.path!r} v{self.version} {self.dtype.name}, {state}>"


def _is_pack(mapping: MappedFile) -> bool:
    head = mapping.header(HEADER_SIZE)
    return len(head) == HEADER_SIZE and head[:4] == MAGIC and head[4] in _PACK_FLAGS


def open_gtok(path: str | os.PathLike) -> Any:
    """Open a ``.gtok`` file or pack: header fields plus zero-copy views.

    Returns a :class:`GtokFile` for a version-1 token file, or a
    :class:`gtok.io.pack.GtokPack` for a pack (many documents; ``doc(i)``, ``names``...).
    Raises the same errors as :func:`read_gtok`.
    """
    mapping = map_file(path)
    if _is_pack(mapping):
        from gtok.io.pack import GtokPack
        return GtokPack(mapping)
    return GtokFile(path, mapping)
