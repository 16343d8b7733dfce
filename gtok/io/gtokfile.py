"""Reading and writing ``.gtok`` token files (docs/semantics.md §2): the policy around the
Cython loops.

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

import os
from collections.abc import Iterable
from typing import Any

import numpy as np

from gtok._lib._mapping import MappedFile
from gtok.io.atomic import write_atomically
from gtok.io.container import (
    FLAG_U16,
    FLAG_U32,
    HEADER_SIZE,
    MAGIC,
    V1_DTYPES,
    MappedViews,
    check_v1,
    checked_ids,
    is_pack,
    map_file,
    narrow_ids,
)
from gtok.io.pack import GtokPack

__all__ = ["write_gtok", "read_gtok", "open_gtok", "GtokFile", "encode_ids"]

_MAX_U16 = 0xFFFF


# --------------------------------------------------------------------------------- writing


def encode_ids(ids: Any) -> tuple[int, np.ndarray]:
    """Validate ``ids`` and return ``(flag, array)``: the v1 width flag and the ids as a
    little-endian ``uint16``/``uint32`` array, ready to write after the 5-byte header.

    Raises ``TypeError`` for non-integers and ``OverflowError`` for ids outside 0..2**32-1.
    """
    arr, hi = checked_ids(ids)
    flag = FLAG_U16 if hi <= _MAX_U16 else FLAG_U32
    return flag, narrow_ids(arr, V1_DTYPES[flag])


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
    write_atomically(path, (MAGIC + bytes((flag,)), arr), fsync=fsync)


# --------------------------------------------------------------------------------- reading


def _view(mapping: MappedFile, dtype: np.dtype, count: int, offset: int) -> np.ndarray:
    # The array's base holds a buffer export of the mapping, so the mapping can neither be
    # unmapped by close() nor freed while the view exists.
    return mapping.view(dtype, count, offset)


def read_gtok(path: str | os.PathLike, *, copy: bool = False) -> np.ndarray:
    """Read a ``.gtok`` file as a zero-copy, read-only NumPy view of its ids.

    Parameters
    ----------
    path : str or os.PathLike
        A version-1 ``.gtok`` file (as written by gtok or gtars).
    copy : bool, default False
        Return an array of its own (writable, no mapping behind it) instead of a view of
        the mapped file: for files another program may truncate or rewrite in place while
        the ids are in use (a view of such a file can change under you, or end the process
        with SIGBUS, as with ``numpy.memmap``; gtok's own writers replace files atomically,
        which is safe).

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
    >>> read_gtok(path, copy=True).flags.writeable
    True
    """
    mapping = map_file(path, populate=True if copy else None)
    if is_pack(mapping):
        pack = GtokPack(mapping)
        if not copy:
            return pack.tokens
        with pack:  # (leaving it unmaps the file: no view of it is left)
            return pack.tokens.copy()
    dtype, n = check_v1(mapping)
    # the array's base holds a buffer export of the mapping: the mapping can neither be
    # unmapped by close() nor freed while the view exists
    ids = mapping.view(dtype, n, HEADER_SIZE)
    if not copy:
        return ids
    owned = ids.copy()
    del ids
    mapping.close()  # unmapped now, not when collected
    return owned


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

    __slots__ = ("path", "version", "dtype", "n_tokens", "_tokens")
    _tokens: np.ndarray | None

    def __init__(self, path: str | os.PathLike, mapping: MappedFile | None = None) -> None:
        self._mapping = None
        self._tokens = None
        self.path = os.fspath(path)
        if mapping is None:
            mapping = map_file(self.path)
        self.dtype, self.n_tokens = check_v1(mapping)
        self.version = 1
        self._mapping = mapping

    @property
    def tokens(self) -> np.ndarray:
        """The ids: a read-only ``uint16``/``uint32`` view of the mapped file, no copy."""
        if self._mapping is None:
            raise ValueError(f"{self.path}: the file is closed")
        if self._tokens is None:
            self._tokens = self._mapping.view(self.dtype, self.n_tokens, HEADER_SIZE)
        return self._tokens

    def __len__(self) -> int:
        return self.n_tokens

    def _drop_views(self) -> None:
        self._tokens = None

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (open_gtok, (self.path,))

    def __repr__(self) -> str:
        state = "closed" if self._mapping is None else f"{self.n_tokens} tokens"
        return f"<GtokFile {self.path!r} v{self.version} {self.dtype.name}, {state}>"


def open_gtok(path: str | os.PathLike) -> GtokFile | GtokPack:
    """Open a ``.gtok`` file or pack: header fields plus zero-copy views.

    Returns a :class:`GtokFile` for a version-1 token file, or a
    :class:`gtok.io.pack.GtokPack` for a pack (many documents; ``doc(i)``, ``names``...).
    Raises the same errors as :func:`read_gtok`.
    """
    mapping = map_file(path)
    if is_pack(mapping):
        return GtokPack(mapping)
    return GtokFile(path, mapping)
