"""BED input: region columns parsed from a path (plain or gzip) or from text in memory.

This module holds the policy around :mod:`gtok._lib._bedparse` (the loop): how files are read
(:mod:`gtok.io.source`: a plain file is memory-mapped and parsed in place; gzip, sniffed by
its magic bytes, and pipes are parsed a block of whole lines at a time, in bounded memory),
and how a bad line becomes a :class:`~gtok.errors.BedFormatError` naming the file, the line
number and the line.

In streamed input (gzip, a pipe) a line is held whole before it is parsed, so a line longer
than :data:`LINE_LIMIT` (16 MiB; real BED lines are at most a few kB) is a bad line: a
``BedFormatError``, or counted and skipped with ``skip_bad_lines``. A plain file, parsed
where it lies, has no such limit.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Generator, Iterator
from dataclasses import dataclass

import numpy as np

from gtok._lib._bedparse import capacity_for, parse_bed
from gtok._lib._chromtable import ChromTable
from gtok._lib._lineproblem import LineProblem
from gtok._lib._mapping import advise_base_pages, map_path
from gtok.errors import BedFormatError
from gtok.io import source
from gtok.io.gunzip import is_gzip
from gtok.io.source import check_input, is_stream, text_blocks
from gtok.scratch import SCRATCH_ROWS, scratch_array

__all__ = [
    "RegionColumns",
    "read_regions",
    "parse_regions",
    "chromosomes_lacking",
    "BAD_LINE_REASONS",
    "LINE_LIMIT",
]

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

#: the longest line streamed input (gzip, pipes) may hold
LINE_LIMIT = 16 << 20
_TOO_LONG = f"line longer than {LINE_LIMIT >> 20} MiB (the limit for gzip or piped input)"


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


def _columns_for(
    capacity: int, scratch: bool, kept: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three empty columns of ``capacity`` rows: fresh (see :func:`_fresh_column` for
    ``kept``), or (``scratch``, for parses of at most :data:`gtok.scratch.SCRATCH_ROWS`
    rows' capacity: files up to ~6 MB) views of this thread's scratch columns, valid until
    this thread's next parse with ``scratch``."""
    if not scratch or capacity > SCRATCH_ROWS:
        return (
            _fresh_column(capacity, np.int32, kept),
            _fresh_column(capacity, np.uint32, kept),
            _fresh_column(capacity, np.uint32, kept),
        )
    return (
        scratch_array("parse.chroms", np.int32, capacity),
        scratch_array("parse.starts", np.uint32, capacity),
        scratch_array("parse.ends", np.uint32, capacity),
    )


# a column this large could hold a (2 MiB) transparent huge page
_HUGE_PAGE = 2 << 20


def _fresh_column(n: int, dtype: type, kept: bool) -> np.ndarray:
    """A new uninitialised column of ``n`` items: with ``kept`` (columns kept long, a
    universe's, which its index searches) as NumPy makes it -- on huge pages for 4 MiB or
    more, fewer TLB misses in the search (the 10 M-region universe's searches ~10 %
    faster); otherwise (a query file's columns, sorted once and dropped) on base pages
    (4 KiB): the parse writes them once, front to back (their capacity is an upper bound:
    the tail is never touched), and a huge page's first touch costs the zeroing of all 2
    MiB -- on a virtual machine whose host takes back its guests' free huge pages, also a
    host fault per 4 KiB (on this project's VMs a huge page's first touch took 2-15 ms)."""
    column: np.ndarray = np.empty(n, dtype=dtype)
    if not kept and column.nbytes >= _HUGE_PAGE:
        advise_base_pages(column)
    return column


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
    scratch: bool = False,
) -> RegionColumns:
    """Parse BED text ``data`` (already decompressed) read from ``path``.

    With ``add_chroms`` new chromosome names are added to ``table`` (building a universe);
    otherwise a name missing from ``table`` is added to ``extra`` and gets an index
    ``>= len(table)``, or gets -1 when there is no ``extra``. Raises
    :class:`~gtok.errors.BedFormatError` at the
    first bad line, unless ``skip_bad_lines``, which counts them instead. ``trim`` (for
    columns kept long, such as a universe's) shrinks the columns to their rows; otherwise
    they are views of the parser's larger buffers (for columns used briefly). ``scratch``
    (not with ``trim``): for a small input those buffers are the calling thread's scratch
    columns, overwritten by its next parse with ``scratch`` (for columns used at once and
    dropped, as :meth:`Tokenizer.tokenize <gtok.Tokenizer.tokenize>` does).
    """
    capacity = capacity_for(len(data))
    chroms, starts, ends = _columns_for(capacity, scratch and not trim, kept=trim)
    n_rows, n_bad, _, bad_no, bad_begin, bad_end, code, _ = parse_bed(
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


def read_regions(
    path: str | os.PathLike,
    table: ChromTable,
    *,
    add_chroms: bool = False,
    extra: ChromTable | None = None,
    skip_bad_lines: bool = False,
    trim: bool = False,
    scratch: bool = False,
) -> RegionColumns:
    """Parse the BED file at ``path`` (plain or gzip, a file or a pipe), as
    :func:`parse_regions` parses text (with ``scratch``, streamed input longer than the
    scratch columns gets columns of its own).

    Raises ``FileNotFoundError``/``IsADirectoryError``/``PermissionError`` naming the path,
    ``OSError`` for a named FIFO or socket (never opened), :class:`~gtok.errors.BedFormatError`
    and :class:`~gtok.errors.CorruptGzipError`.
    """
    path = os.fspath(path)
    if not is_stream(check_input(path)):
        mapping = map_path(path, _POPULATE_LIMIT)
        try:
            if not is_gzip(mapping.header(2)):
                with memoryview(mapping) as data:
                    return parse_regions(
                        data, path, table, add_chroms=add_chroms, extra=extra,
                        skip_bad_lines=skip_bad_lines, trim=trim, scratch=scratch,
                    )  # fmt: skip
        finally:
            mapping.close()
    return _parse_stream(
        path, table, add_chroms, extra, skip_bad_lines, scratch and not trim, kept=trim
    )


def chromosomes_lacking(path: str | os.PathLike, table: ChromTable) -> list[str]:
    """The chromosome names of the BED file at ``path`` that ``table`` lacks, sorted (bad
    lines skipped); errors as :func:`read_regions`."""
    extra = ChromTable()
    read_regions(path, table, extra=extra, skip_bad_lines=True)
    return sorted(extra.names())


class _ColumnPieces:
    """Region columns filled a block of text at a time, in pieces of up to
    :attr:`PIECE_ROWS` rows, joined at the end (no copy when there is one piece).

    Memory stays near the columns' own size: each piece is one large allocation (mapped
    pages: those never written cost nothing, and a freed piece goes back to the system at
    once), trimmed in place when full, and the pieces are freed one by one as they are
    copied into the joined columns. (Growing one array instead would copy it, and the
    copy doubles the peak.) With ``scratch`` the first piece is the calling thread's
    scratch columns (:data:`~gtok.scratch.SCRATCH_ROWS` rows): a small input's columns
    are then views of them, as :func:`parse_regions` gives with ``scratch`` (a fresh
    piece costs a page fault and the kernel's zeroing for every page it touches).
    """

    PIECE_ROWS = 8 << 20

    def __init__(self, scratch: bool = False, kept: bool = False) -> None:
        self.pieces: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.n = 0
        self.chroms = self.starts = self.ends = np.empty(0, dtype=np.uint32)
        # the first piece: this thread's scratch columns (see _columns_for)
        self.scratch_first = scratch
        self.kept = kept  # (see _fresh_column)
        self.in_scratch = False

    def room(self, rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Views of the next ``rows`` free rows (of a new piece, if this one lacks them)."""
        if self.n + rows > self.chroms.shape[0]:
            self._seal()
            self.in_scratch = self.scratch_first and rows <= SCRATCH_ROWS
            self.scratch_first = False
            if self.in_scratch:
                self.chroms, self.starts, self.ends = _columns_for(SCRATCH_ROWS, True)
            else:
                self.chroms, self.starts, self.ends = _columns_for(
                    max(rows, self.PIECE_ROWS), False, self.kept
                )
            self.n = 0
        at = self.n
        return self.chroms[at:], self.starts[at:], self.ends[at:]

    def _seal(self) -> None:
        if self.n:
            n = self.n
            if self.in_scratch:
                # (views: a later piece's join copies them before the thread parses again)
                self.pieces.append((self.chroms[:n], self.starts[:n], self.ends[:n]))
            else:
                for column in (self.chroms, self.starts, self.ends):
                    column.resize(n, refcheck=False)  # (realloc shrinks in place)
                self.pieces.append((self.chroms, self.starts, self.ends))
            self.n = 0

    def columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        self._seal()
        pieces, self.pieces = self.pieces, []
        if len(pieces) == 1:
            return pieces[0]
        total = sum(len(piece[0]) for piece in pieces)
        out = _columns_for(total, False, self.kept)
        at = 0
        while pieces:
            piece = pieces.pop(0)
            for column, part in zip(out, piece):
                column[at : at + len(part)] = part
            at += len(piece[0])
            del piece, part  # (the piece is freed before the next one is copied)
        return out


def _parse_stream(
    path: str,
    table: ChromTable,
    add_chroms: bool,
    extra: ChromTable | None,
    skip_bad: bool,
    scratch: bool,
    kept: bool,
) -> RegionColumns:
    """Parse a gzip file or a pipe a block of whole lines at a time (into the thread's
    scratch columns first, with ``scratch``; ``kept``: see :func:`_fresh_column`)."""
    cols = _ColumnPieces(scratch, kept)
    n_lines = n_bad = 0
    first_bad: BedFormatError | None = None
    header_allowed = True
    for block, too_long in _line_blocks(text_blocks(path), LINE_LIMIT):
        if too_long:
            n_lines += 1
            header_allowed = False
            bad = 1
            error = BedFormatError(path, n_lines, too_long.decode("utf-8", "replace"), _TOO_LONG)
        else:
            chroms, starts, ends = cols.room(capacity_for(len(block)))
            rows, bad, lines, bad_no, bad_begin, bad_end, code, header_allowed = parse_bed(
                block, table, extra, add_chroms, skip_bad, chroms, starts, ends, header_allowed
            )
            del chroms, starts, ends  # (views: the piece may be trimmed in place later)
            cols.n += rows
            if not bad:
                n_lines += lines
                continue
            if code == LineProblem.OUT_OF_MEMORY:
                raise MemoryError(f"{path}: out of memory while parsing")
            error = _bad_line(path, block, n_lines + bad_no, bad_begin, bad_end, code)
            n_lines += lines
        if not skip_bad:
            raise error
        n_bad += bad
        first_bad = first_bad or error
    return RegionColumns(*cols.columns(), n_bad, first_bad)


def _line_blocks(
    texts: Iterator[bytes], limit: int
) -> Generator[tuple[bytes | memoryview, bytes], None, None]:
    """Cut a stream of text blocks into blocks of whole lines (the stream's last line may
    lack its newline): ``(block, b"")``; a line longer than ``limit`` is dropped, in
    bounded memory, and reported as ``(b"", its first bytes)``."""
    assert limit > source.TEXT_SIZE  # a line within one text block is never too long
    pending: list[bytes] = []  # the pieces of a line cut by the end of a block
    pending_len = 0
    skipping = False  # dropping the rest of a too-long line
    for text in texts:
        nl = text.find(b"\n")
        if skipping or pending:
            if not skipping and pending_len + (len(text) if nl < 0 else nl) > limit:
                yield b"", b"".join(pending)[:1000]
                pending, pending_len, skipping = [], 0, True
            if nl < 0:
                if not skipping:
                    pending.append(text)
                    pending_len += len(text)
                continue
            if skipping:
                text, skipping = text[nl + 1 :], False
        cut = text.rfind(b"\n") + 1
        if cut:
            start = 0
            if pending:  # the cut line, whole (the rest of the block is not copied)
                start = nl + 1
                yield b"".join(pending) + text[:start], b""
                pending, pending_len = [], 0
            if cut > start:
                yield memoryview(text)[start:cut], b""
            text = text[cut:]
        if text:
            pending.append(text)
            pending_len += len(text)
    if pending:
        yield b"".join(pending), b""
