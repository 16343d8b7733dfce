"""Every exception gtok raises on bad input, in one place.

Format and content problems subclass :class:`ValueError`; problems of the file system keep
Python's own :class:`OSError` subclasses (``FileNotFoundError``, ``IsADirectoryError``,
``PermissionError``), with the path in the message. Each class carries the offending
``path`` as an attribute so callers (the batch command, datasets) can report it.
"""

from __future__ import annotations

import os

__all__ = [
    "GtokError",
    "GtokFormatError",
    "BadMagicError",
    "UnknownFlagError",
    "ShortFileError",
    "TrailingBytesError",
]


class GtokError(Exception):
    """Base class of every gtok-specific exception."""


class GtokFormatError(GtokError, ValueError):
    """A ``.gtok`` file is not a valid token file.

    Attributes
    ----------
    path : str
        The file.
    problem : str
        What is wrong, in words.
    """

    def __init__(self, path: str | os.PathLike, problem: str) -> None:
        self.path = os.fspath(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class BadMagicError(GtokFormatError):
    """The file does not start with the 4 bytes ``GTOK``."""


class UnknownFlagError(GtokFormatError):
    """The byte after the magic is not a known width or pack flag."""


class ShortFileError(GtokFormatError):
    """The file is shorter than the 5-byte header."""


class TrailingBytesError(GtokFormatError):
    """The data is not a whole number of ids: the file is truncated or corrupt."""
