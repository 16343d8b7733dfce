"""Atomic file creation: write to a temporary file in the target folder, then rename.

A reader never sees a partial file: either the old file (or none) or the complete new one.
A failure at any point removes the temporary file and leaves the target untouched.

The temporary file is an implementation detail: an error creating, writing or renaming it
names the target and its folder ("cannot write tokens/a.gtok: permission denied on folder
tokens/"), never the hidden temporary, and keeps its type and ``errno``
(``PermissionError``, ``OSError`` with ``ENOSPC``...).
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, BinaryIO


class AtomicFile:
    """A file written under a temporary name next to ``path`` and renamed into place by
    :meth:`commit`; :meth:`discard` (or a failure) removes it. For streaming writers."""

    def __init__(self, path: str | os.PathLike, *, fsync: bool = False) -> None:
        self.path = os.fsdecode(path)
        self.fsync = fsync
        fd, self.tmp = _create_temporary(self.path)
        self.file: BinaryIO = os.fdopen(fd, "w+b")

    def commit(self) -> None:
        """Flush, close and rename the temporary file to ``path``."""
        try:
            self.file.flush()
            if self.fsync:
                os.fsync(self.file.fileno())
            self.file.close()
            os.replace(self.tmp, self.path)
        except OSError as exc:
            self.discard()
            raise write_error(exc, self.path) from None
        except BaseException:
            self.discard()
            raise

    def discard(self) -> None:
        """Close and remove the temporary file; ``path`` is untouched."""
        with contextlib.suppress(OSError):
            self.file.close()
        with contextlib.suppress(OSError):
            os.unlink(self.tmp)


def _create_temporary(path: str) -> tuple[int, str]:
    """Create a new hidden file next to ``path`` (its missing folders made first): its
    descriptor, open for reading and writing, and its name. Errors name ``path``."""
    folder = os.path.dirname(path) or "."
    base = os.path.basename(path)
    made_folder = False
    while True:
        tmp = os.path.join(folder, f".{base}.{os.urandom(6).hex()}.tmp")
        try:
            fd = os.open(
                tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666
            )
            return fd, tmp
        except FileExistsError:  # pragma: no cover - 48 random bits collided
            continue
        except FileNotFoundError as exc:
            if made_folder:  # (removed again meanwhile)
                raise write_error(exc, path) from None
        except OSError as exc:
            raise write_error(exc, path) from None
        # the folder is missing (made on the first write there, not checked on every one)
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            raise write_error(exc, path, making=exc.filename or folder) from None
        made_folder = True


def write_atomically(path: str | os.PathLike, parts: Sequence[Any], *, fsync: bool = False) -> None:
    """Write the buffers ``parts`` (bytes, contiguous arrays...) one after another to
    ``path`` as :func:`atomic_output` would, for a writer that holds all its bytes at
    once: one ``writev`` to the temporary file, no buffered file object (a few syscalls
    and ~50 us fewer a file, for the many small files of a batch run).

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "sub", "out.bin")
    >>> write_atomically(path, [b"comp", memoryview(b"lete")])
    >>> open(path, "rb").read()
    b'complete'
    """
    path = os.fsdecode(path)
    fd, tmp = _create_temporary(path)
    try:
        _write_all(fd, parts)
        if fsync:
            os.fsync(fd)
        # (marked closed first: close() frees the number even when it fails, as NFS's
        # delayed write errors do, and the number may be another thread's file by then)
        fd, open_fd = -1, fd
        os.close(open_fd)
        os.replace(tmp, path)
    except BaseException as exc:
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.errno is not None:
            raise write_error(exc, path) from None
        raise


def _write_all(fd: int, parts: Sequence[Any]) -> None:
    """Write every byte of ``parts`` to ``fd``, in order (partial writes resumed)."""
    views = [v for v in (memoryview(p).cast("B") for p in parts) if len(v)]
    writev = getattr(os, "writev", None)
    while views:
        # (at most IOV_MAX = 1024 buffers a call)
        n = writev(fd, views[:1024]) if writev is not None else os.write(fd, views[0])
        while views and n >= len(views[0]):
            n -= len(views[0])
            del views[0]
        if n:
            views[0] = views[0][n:]


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, *, fsync: bool = False) -> Iterator[BinaryIO]:
    """Open a temporary file next to ``path`` for writing; rename it to ``path`` on success.

    Missing parent folders are created. The temporary file is created with mode ``0o666``
    minus the umask, like an ordinary ``open(path, "wb")``. With ``fsync=True`` the data is
    flushed to stable storage before the rename (durable against power loss, slower).

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "sub", "out.bin")
    >>> with atomic_output(path) as f:
    ...     _ = f.write(b"complete")
    >>> open(path, "rb").read()
    b'complete'
    """
    out = AtomicFile(path, fsync=fsync)
    try:
        yield out.file
    except OSError as exc:
        out.discard()
        if exc.filename is not None or exc.errno is None:  # (not a write of this file)
            raise
        raise write_error(exc, out.path) from None
    except BaseException:
        out.discard()
        raise
    out.commit()


#: errno values that mean "this folder may not be written"
_FOLDER_REFUSED = (errno.EACCES, errno.EPERM, errno.EROFS)


def write_error(exc: OSError, path: str, *, making: str | None = None) -> OSError:
    """``exc``, met writing ``path`` through a temporary file next to it (or, with
    ``making``, creating the folder ``making`` for it), as an error of the same type and
    ``errno`` that names ``path`` and the folder, not the temporary file.

    >>> err = write_error(PermissionError(13, "Permission denied", "t/.a.gtok.1f.tmp"), "t/a.gtok")
    >>> type(err).__name__, err.errno, str(err)
    ('PermissionError', 13, '[Errno 13] cannot write t/a.gtok: permission denied on folder t/')
    """
    folder = os.path.join(os.path.dirname(path) or ".", "")
    reason = exc.strerror or str(exc)
    reason = reason[:1].lower() + reason[1:]
    if making is not None:
        problem = f"cannot create the folder {making}: {reason}"
    elif exc.errno in _FOLDER_REFUSED:
        problem = f"{reason} on folder {folder}"
    else:
        problem = f"{reason} (folder {folder})"
    try:
        return type(exc)(exc.errno, f"cannot write {path}: {problem}")
    except TypeError:  # (an OSError subclass with a constructor of its own)
        return OSError(exc.errno, f"cannot write {path}: {problem}")


def remove_stale_temporaries(outputs: Iterable[str]) -> None:
    """Remove the temporary files a killed earlier run left for these outputs (hidden
    ``.NAME.<12 hex>.tmp`` next to each, as :class:`AtomicFile` names them; never visible
    under the output's name).

    Only these outputs': the temporaries of other files in the folder may belong to another
    run (a shard) writing there right now.
    """
    by_folder: dict[str, set[str]] = {}
    for out in outputs:
        by_folder.setdefault(os.path.dirname(out) or ".", set()).add(os.path.basename(out))
    for folder, names in by_folder.items():
        try:
            entries = os.listdir(folder)
        except OSError:
            continue
        for entry in entries:
            if (
                entry.startswith(".")
                and entry.endswith(".tmp")
                and entry[1:-4].rpartition(".")[0] in names
            ):
                try:
                    os.unlink(os.path.join(folder, entry))
                except OSError:
                    pass
