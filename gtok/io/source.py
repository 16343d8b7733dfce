"""Where text input comes from, and which paths are never opened.

A region, fragment or barcode file is one of:

- a **regular file**: memory-mapped by the readers when it is plain text (no copy), read as a
  stream when it is gzip (sniffed by its magic bytes, never by its name);
- an **anonymous pipe** (``<(zcat x.bed.gz)``, ``/dev/stdin`` fed by ``|``) or a **character
  device**: read as a stream;
- anything else -- a **named FIFO** (``mkfifo``), a socket, a block device -- is an
  ``OSError`` naming the path, raised without opening it: opening a FIFO waits for a
  writer that may never come, and neither the run nor its signal handling may hang on
  that. (To feed a named FIFO, read it through a pipe: ``<(cat my.fifo)``.)

A stream is read in blocks and gzip inflated a block at a time (:func:`text_blocks`), so
memory holds a few blocks, never the whole text: a 1 MB ``.gz`` that inflates to 1 GB
costs no more than any other file.

>>> import gzip, os, tempfile
>>> folder = tempfile.mkdtemp()
>>> path = os.path.join(folder, "x.bed.gz")
>>> with open(path, "wb") as f:
...     _ = f.write(gzip.compress(b"chr1\\t10\\t20\\n" * 3))
>>> _ = check_input(path)  # may be read
>>> b"".join(text_blocks(path))
b'chr1\\t10\\t20\\nchr1\\t10\\t20\\nchr1\\t10\\t20\\n'
>>> os.mkfifo(os.path.join(folder, "f.bed"))
>>> check_input(os.path.join(folder, "f.bed"))  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
OSError: [Errno 22] a named FIFO is not read (it could wait forever for a writer; ...
"""

from __future__ import annotations

import errno
import functools
import os
import stat
from collections.abc import Generator

from gtok.io.gunzip import GZIP_MAGIC, inflate, is_gzip

__all__ = ["READ_SIZE", "TEXT_SIZE", "check_input", "is_stream", "text_blocks"]

#: bytes read from a stream at a time
READ_SIZE = 1 << 20
#: at most this much text comes out of :func:`text_blocks` at a time
TEXT_SIZE = 4 << 20


@functools.cache
def _pipe_device() -> int:
    """The device number of anonymous pipes (Linux: pipefs), which named FIFOs lack."""
    r, w = os.pipe()
    try:
        return os.fstat(r).st_dev
    finally:
        os.close(r)
        os.close(w)


def check_input(path: str) -> os.stat_result:
    """``os.stat(path)`` for a path gtok may read; an ``OSError`` naming the path otherwise.

    Raises ``FileNotFoundError``/``PermissionError`` as ``os.stat`` does,
    ``IsADirectoryError`` for a folder, and ``OSError(EINVAL)`` for a named FIFO, a socket
    or a block device, none of which is opened.
    """
    st = os.stat(path)
    mode = st.st_mode
    if stat.S_ISREG(mode) or stat.S_ISCHR(mode):
        return st
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", path)
    if stat.S_ISFIFO(mode):
        if st.st_dev == _pipe_device():
            return st
        raise OSError(
            errno.EINVAL,
            "a named FIFO is not read (it could wait forever for a writer; "
            "pass it through a pipe instead: <(cat FIFO))",
            path,
        )
    what = "a socket" if stat.S_ISSOCK(mode) else "not a regular file"
    raise OSError(errno.EINVAL, f"{what}, not read", path)


def is_stream(st: os.stat_result) -> bool:
    """Whether a path that passed :func:`check_input` is a pipe or device (not a file)."""
    return not stat.S_ISREG(st.st_mode)


def text_blocks(path: str) -> Generator[bytes, None, None]:
    """The text of ``path`` (which passed :func:`check_input`), read and, when it is gzip,
    inflated in blocks: none holds more than :data:`TEXT_SIZE` bytes of text (nor, when
    plain, :data:`READ_SIZE`). Raises :class:`~gtok.errors.CorruptGzipError` for a truncated
    or corrupt gzip stream."""
    read_size, text_size = READ_SIZE, TEXT_SIZE
    with open(path, "rb") as f:
        first = f.read(max(read_size, len(GZIP_MAGIC)))  # (enough to sniff gzip)

        def reads() -> Generator[bytes, None, None]:
            block = first
            while block:
                yield block
                block = f.read(read_size)

        if is_gzip(first):
            yield from inflate(reads(), path, text_size)
        else:
            yield from reads()
