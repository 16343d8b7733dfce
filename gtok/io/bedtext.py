"""BED input: bytes from a path (gzip sniffed), parsed into region columns.

This module holds the policy around :mod:`gtok._lib._bedparse` (the loop): how files are read,
how gzip is detected (by its magic bytes, never by the file name; multi-member streams
included), and how a bad line becomes a :class:`~gtok.errors.BedFormatError` naming the
file, the line number and the line.
"""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import dataclass

import numpy as np

from gtok._lib._bedparse import capacity_for, parse_bed
from gtok._lib._chromtable import ChromTable
from gtok._lib._lineproblem import LineProblem
from gtok._lib._mapping import map_path
from gtok.errors import BedFormatError
from gtok.io.gunzip import gunzip, is_gzip

__all__ = ["RegionColumns", "read_text", "parse_regions", "BAD_LINE_REASONS"]

# Input files up to this size are pre-faulted when mapped (they are read whole, at once).
_POPULATE_LIMIT = sys.maxsize

# The parser's problem codes, in words.
BAD_LINE_REASONS: dict[int, str] = {
    LineProblem.TOO_FEW_FIELDS: "fewer than 3 fields (a BED line needs chrom, start and end, "
    "tab-separated)",
    LineProblem.START_NOT_INTEGER: "start is not an integer",
    LineProblem.END_NOT_INTEGER: "end is not an integer",
    LineProblem.START_NEGATIVE: "start is negative",
    LineProblem.END_NEGATIVE: "end is negative",
    LineProblem.START_TOO_LARGE: "start is 2**32 or larger",
    LineProblem.END_TOO_LARGE: "end is 2**32 or larger",
    LineProblem.START_AFTER_END: "start is greater than end",
    LineProblem.EMPTY_CHROM: "empty chromosome name",
    LineProblem.OUT_OF_MEMORY: "out of memory",
}


def read_text(path: str | os.PathLike) -> bytes | memoryview:
    """The bytes of a BED file, decompressed when they are gzip (sniffed by magic).

    A regular file is memory-mapped, not copied: the result is then a read-only
    ``memoryview`` of the mapping (unmapped once the view is released); a pipe such as
    ``<(zcat x.bed.gz)`` is read. Raises ``FileNotFoundError``/``IsADirectoryError`` naming
    the path, and :class:`~gtok.errors.CorruptGzipError` for a truncated or corrupt gzip
    stream.
    """
    path = os.fspath(path)
    if stat.S_ISREG(os.stat(path).st_mode):
        mapping = map_path(path, _POPULATE_LIMIT)
        if not is_gzip(mapping.header(2)):
            return memoryview(mapping)
        try:
            with memoryview(mapping) as raw:
                return gunzip(raw, path)
        finally:
            mapping.close()
    # a pipe (`<(zcat x.bed.gz)`), a device or a folder: read it (open names the problem)
    with open(path, "rb") as f:
        data = f.read()
    return gunzip(data, path) if is_gzip(data) else data


@dataclass(frozen=True)
class RegionColumns:
    """Parsed regions as columns (row ``i`` is ``chroms[i], starts[i], ends[i]``).

    ``chroms`` holds indices into the chromosome table the parse used; with an ``extra``
    table, names unknown to the main table have indices ``>= len(table)`` (into ``extra``).
    ``n_skipped`` counts bad lines skipped on request.
    """

    chroms: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    n_skipped: int = 0
    first_skipped: BedFormatError | None = None

    def __len__(self) -> int:
        return int(self.chroms.shape[0])


def _bad_line(
    path: str, data: bytes | memoryview, line_no: int, begin: int, end: int, code: int
) -> BedFormatError:
    line = bytes(data[begin:end]).decode("utf-8", "replace")
    return BedFormatError(path, line_no, line, BAD_LINE_REASONS.get(code, f"problem {code}"))


def parse_regions(
    data: bytes | memoryview,
    path: str,
    table: ChromTable,
    *,
    add_chroms: bool = False,
    extra: ChromTable | None = None,
    skip_bad_lines: bool = False,
    trim: bool = False,
) -> RegionColumns:
    """Parse BED text ``data`` (already decompressed) read from ``path``.

    With ``add_chroms`` new chromosome names are added to ``table`` (building a universe);
    otherwise a name missing from ``table`` is added to ``extra`` and gets an index
    ``>= len(table)``, or gets -1 when there is no ``extra``. Raises
    :class:`~gtok.errors.BedFormatError` at the
    first bad line, unless ``skip_bad_lines``, which counts them instead. ``trim`` (for
    columns kept long, such as a universe's) shrinks the columns to their rows; otherwise
    they are views of the parser's larger buffers (for columns used briefly).
    """
    capacity = capacity_for(len(data))
    chroms = np.empty(capacity, dtype=np.int32)
    starts = np.empty(capacity, dtype=np.uint32)
    ends = np.empty(capacity, dtype=np.uint32)
    n_rows, n_bad, _, bad_no, bad_begin, bad_end, code = parse_bed(
        data, table, extra, add_chroms, skip_bad_lines, chroms, starts, ends
    )
    first_bad = None
    if n_bad:
        first_bad = _bad_line(path, data, bad_no, bad_begin, bad_end, code)
        if code == LineProblem.OUT_OF_MEMORY:
            raise MemoryError(f"{path}: out of memory while parsing")
        if not skip_bad_lines:
            raise first_bad
    if n_rows < capacity:
        if trim:
            # give the unused tail back (realloc shrinks in place: no copy); a view of the
            # prefix would keep the whole capacity, and its touched huge pages, alive
            for column in (chroms, starts, ends):
                column.resize(n_rows, refcheck=False)
        else:
            chroms, starts, ends = chroms[:n_rows], starts[:n_rows], ends[:n_rows]
    return RegionColumns(chroms, starts, ends, n_bad, first_bad)
