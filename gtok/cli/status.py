"""The exit codes of the ``gtok`` commands, and which one an error that stopped a command
gives.

One rule for every command: what the command line named wrongly is a usage error (2) --
an input, universe or list file that is not there, a folder where a file goes, an option
that needs a package that is not installed; what went wrong with what it named is a
failure (1) -- a file whose content is not valid, a folder that cannot be written, a full
disk. ``gtok info`` and ``gtok verify`` report each file they cannot read as a finding
(1) and go on with the others.
"""

from __future__ import annotations

import signal

__all__ = [
    "EXIT_OK",
    "EXIT_FAILED",
    "EXIT_USAGE",
    "EXIT_INTERRUPTED",
    "EXIT_TERMINATED",
    "status_of",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 128 + signal.SIGTERM  # 143


def status_of(exc: BaseException) -> int:
    """The exit code for ``exc``, an error that stopped a command (see the module's rule).

    >>> status_of(FileNotFoundError("peaks.bed: no such file or folder"))
    2
    >>> status_of(PermissionError(13, "cannot write out.gtok: permission denied"))
    1
    """
    if isinstance(exc, (FileNotFoundError, IsADirectoryError, ImportError)):
        return EXIT_USAGE
    return EXIT_FAILED
