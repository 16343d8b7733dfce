"""Atomic file creation: write to a temporary file in the target folder, then rename.

A reader never sees a partial file: either the old file (or none) or the complete new one.
A failure at any point removes the temporary file and leaves the target untouched.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from typing import BinaryIO, Iterator


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, *, fsync: bool = False) -> Iterator[BinaryIO]:
    """Open a temporary file next to ``path`` for writing; rename it to ``path`` on success.

    Missing parent folders are created. The temporary file is created with mode ``0o666``
    minus the umask, like an ordinary ``open(path, "wb")``. With ``fsync=True`` the data is
    flushed to stable storage before the rename (durable against power loss, slower).
    """
    path = os.fspath(path)
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    base = os.path.basename(path)
    while True:
        tmp = os.path.join(folder, f".{base}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0),
                         0o666)
            break
        except FileExistsError:  # pragma: no cover - 48 random bits collided
            continue
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
