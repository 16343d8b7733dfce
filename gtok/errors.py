"""Every exception gtok raises on bad input, in one place.

Format and content problems subclass :class:`ValueError`; problems of the file system keep
Python's own :class:`OSError` subclasses (``FileNotFoundError``, ``IsADirectoryError``,
``PermissionError``), with the path in the message. Each class carries the offending
``path`` as an attribute so callers (the batch command, datasets) can report it.
"""

from __future__ import annotations

import functools
import os
from typing import Any

__all__ = [
    "GtokError",
    "FileFormatError",
    "GtokFormatError",
    "BadMagicError",
    "UnknownFlagError",
    "ShortFileError",
    "TrailingBytesError",
    "PackFormatError",
    "ChecksumError",
    "MissingTrailerError",
    "CorruptIndexError",
    "FingerprintMismatchError",
    "SourceChangedError",
    "GtokWarning",
    "UncheckedUniverseWarning",
    "InputFormatError",
    "LineFormatError",
    "BedFormatError",
    "FragmentFormatError",
    "CorruptGzipError",
    "ConfigError",
    "AnnDataFormatError",
    "ParquetFormatError",
    "ManifestFormatError",
    "UnusableManifestWarning",
]


class GtokError(Exception):
    """Base class of every gtok-specific exception.

    Each one copies and pickles with its attributes (``copy.deepcopy``, ``pickle``: so it
    crosses process boundaries, as a worker's error must), rebuilt from the arguments its
    constructor took rather than from its message.
    """

    def _init_args(self) -> tuple:
        return self.args

    def __reduce__(self) -> tuple[Any, tuple, dict]:
        return (type(self), self._init_args(), dict(self.__dict__))


class FileFormatError(GtokError, ValueError):
    """A file's content is not what it should be (the base of the two kinds below).

    Attributes
    ----------
    path : str
        The file (``"<regions>"`` for in-memory region input).
    problem : str
        What is wrong, in words.
    """

    def __init__(self, path: str | os.PathLike, problem: str) -> None:
        self.path = os.fspath(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")

    def _init_args(self) -> tuple:
        return (self.path, self.problem)


class GtokFormatError(FileFormatError):
    """A ``.gtok`` file or pack is not a valid token file."""


class BadMagicError(GtokFormatError):
    """The file does not start with the 4 bytes ``GTOK``."""


class UnknownFlagError(GtokFormatError):
    """The byte after the magic is not a known width or pack flag."""


class ShortFileError(GtokFormatError):
    """The file is shorter than the 5-byte header."""


class TrailingBytesError(GtokFormatError):
    """The data is not a whole number of ids: the file is truncated or corrupt."""


class PackFormatError(GtokFormatError):
    """A gtok pack (many documents in one file) is damaged or not a pack."""


class ChecksumError(PackFormatError):
    """A pack's header, trailer or payload does not match its CRC32."""


class MissingTrailerError(PackFormatError):
    """A pack has no end marker: it was never finished (or was truncated)."""


class CorruptIndexError(PackFormatError):
    """A pack's document offsets are out of order or point outside its tokens."""


class FingerprintMismatchError(GtokError, ValueError):
    """Tokens made with one universe were given with a tokenizer of another.

    Also raised when the files of one dataset record different universes (then
    ``reference`` names the file whose fingerprint ``expected`` is).

    Attributes
    ----------
    expected, found : str
        The tokenizer's fingerprint and the one recorded with the tokens.
    source : str
        Where the recorded fingerprint came from (a pack or a manifest).
    reference : str
        What ``expected`` belongs to (default: "the tokenizer's universe").

    Examples
    --------
    >>> err = FingerprintMismatchError("tokens/gtok-manifest.json", "aa11", "bb22")
    >>> print(err)  # doctest: +NORMALIZE_WHITESPACE
    tokens/gtok-manifest.json: tokenized with universe fingerprint bb22, but the tokenizer's
    universe has fingerprint aa11: these ids mean other regions
    """

    def __init__(
        self, source: str, expected: str, found: str, *, reference: str = "the tokenizer's universe"
    ) -> None:
        self.source = source
        self.expected = expected
        self.found = found
        self.reference = reference
        super().__init__(
            f"{source}: tokenized with universe fingerprint {found}, but {reference} "
            f"has fingerprint {expected}: these ids mean other regions"
        )

    def __reduce__(self) -> tuple[Any, tuple, dict]:
        rebuild = functools.partial(type(self), reference=self.reference)
        return (rebuild, (self.source, self.expected, self.found), dict(self.__dict__))


class SourceChangedError(GtokError, RuntimeError):
    """The files behind a dataset changed after it was made.

    A :class:`~gtok.GtokDataset` pickles as its source (a folder or manifest is listed again
    in the new process, e.g. a DataLoader worker); this is raised when that listing, or a
    file's kind or document count, no longer matches what the dataset was built from, since
    the same index would then give another document.

    Attributes
    ----------
    path : str
        The folder, manifest or file that changed.
    """

    def __init__(self, path: str | os.PathLike, problem: str) -> None:
        self.path = os.fspath(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")

    def _init_args(self) -> tuple:
        return (self.path, self.problem)


class GtokWarning(UserWarning):
    """Base class of every warning gtok gives.

    From Python they are ordinary warnings (``warnings.simplefilter("ignore", GtokWarning)``
    silences them all); the ``gtok`` command prints them as ``gtok: warning: ...`` lines.
    """


class UncheckedUniverseWarning(GtokWarning):
    """A dataset was given a tokenizer, but some of its files record no universe.

    A version-1 ``.gtok`` file is only ids (gtars' format has no header room for more); its
    universe is known from a pack header or from the gtok manifest of the batch run that
    wrote it. Files with neither cannot be checked against the tokenizer. Silence with
    ``warnings.simplefilter("ignore", UncheckedUniverseWarning)`` once you know they match.
    """


class InputFormatError(FileFormatError):
    """A region file (BED, gzip, config) cannot be read as what it claims to be."""


class LineFormatError(InputFormatError):
    """A line of a text input is malformed (the base of :class:`BedFormatError` and
    :class:`FragmentFormatError`).

    Attributes
    ----------
    line_number : int
        1-based line number in the (decompressed) file, or the 1-based region number for
        in-memory input (0 when no single line is at fault).
    line : str
        The offending line (shortened when very long).
    problem : str
        What is wrong with it.
    """

    def __init__(self, path: str | os.PathLike, line_number: int, line: str, problem: str) -> None:
        self.line_number = line_number
        self.line = line
        shown = line if len(line) <= 200 else line[:200] + "..."
        where = f"line {line_number}: " if line_number else ""
        super().__init__(path, f"{where}{problem}: {shown!r}")
        self.problem = problem

    def _init_args(self) -> tuple:
        return (self.path, self.line_number, self.line, self.problem)


class BedFormatError(LineFormatError):
    """A BED line is malformed: fewer than 3 fields, a coordinate that is not an integer in
    0..2**32-1, start > end, or an empty chromosome name."""


class FragmentFormatError(LineFormatError):
    """A fragment-file line is malformed: fewer than 4 fields (chrom, start, end,
    barcode), a coordinate that is not an integer in 0..2**32-1, start > end, an empty
    chromosome or barcode; or a barcode that is not UTF-8."""


class CorruptGzipError(InputFormatError):
    """Gzip-compressed input is truncated or corrupt; nothing from it is used."""


class ConfigError(InputFormatError):
    """A tokenizer config (gtars TOML) is invalid or points at a missing universe."""


class AnnDataFormatError(InputFormatError):
    """A cells x regions matrix (``.h5ad`` file or AnnData) cannot be tokenized: no region
    coordinates in ``var``, a malformed coordinate, or a matrix that is missing, of the
    wrong shape or corrupt; for a file, also any part of the wrong kind, dtype or length,
    or one h5py cannot read (the message names the part, e.g. ``X/indptr``). ``path`` is
    the file (``"<AnnData>"`` for an in-memory one)."""


class ParquetFormatError(InputFormatError):
    """A parquet file of token documents lacks the token column, has the wrong column
    type, or holds ids that are not valid (negative, null, or outside the vocabulary)."""


class ManifestFormatError(FileFormatError):
    """A ``gtok-manifest*.json`` file is not a usable manifest: invalid JSON, another
    format, or a field of the wrong kind (``"files"`` not a list, an entry without its
    ``"output"``...). ``problem`` says which."""


class UnusableManifestWarning(GtokWarning):
    """A manifest in an output folder could not be used (see :class:`ManifestFormatError`):
    ``--resume`` treats it as absent and redoes the inputs it would have skipped."""
