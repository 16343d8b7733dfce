"""Single-cell fragment files to per-cell token ids (``gtok fragments``).

A fragment file (10x Genomics scATAC ``fragments.tsv.gz`` and the like) has one line per
fragment: ``chrom start end barcode [count ...]``, tab-separated, with ``#`` header lines;
it may be gzip-compressed (sniffed by its magic bytes, multi-member too) and sorted by
position or grouped by barcode. :func:`tokenize_fragments` tokenizes every fragment on its
own against the universe and collects the ids per cell (barcode), as gtars 0.10's
``tokenize_fragment_file`` does, and either returns them or writes a pack with one
document per cell.

Semantics (gtars 0.10's by default; the differences are listed in docs/singlecell.md):

- each fragment gives the ids of the universe regions it overlaps, in (start, end) order,
  or one ``<unk>`` when it overlaps none or lies on a chromosome absent from the universe;
- a cell's ids are its fragments' ids in file order; cells come in order of first
  appearance in the file;
- ``#`` lines and blank lines are skipped; a first line whose 2nd and 3rd fields are words
  is a column header and skipped; columns after the 4th (the count) are ignored;
- a line with fewer than 4 fields, a coordinate that is not an integer in 0..2**32-1,
  start > end, or an empty chromosome or barcode raises
  :class:`~gtok.errors.FragmentFormatError` naming the file, line number and line (or is
  counted and skipped with ``skip_bad_lines=True``); truncated or corrupt gzip raises
  :class:`~gtok.errors.CorruptGzipError`, and no pack is written.

The file is streamed: a regular file is memory-mapped and parsed in place, gzip is read
and decompressed a block at a time (by a background thread, ahead of the parser), and
memory holds only the token ids (4 bytes each) and a small record per cell. The parsing and search
loops (:mod:`gtok._lib._fragments`) run without
the GIL.
"""

from __future__ import annotations

import os
import queue
import stat
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, overload

import numpy as np

from gtok._lib._chromtable import ChromTable
from gtok._lib._fragments import FragmentTokenizer
from gtok._lib._lineproblem import LineProblem
from gtok._lib._mapping import map_path
from gtok.errors import FragmentFormatError, LineFormatError
from gtok.io import bgzf
from gtok.io.atomic import remove_stale_temporaries
from gtok.io.bedtext import BAD_LINE_REASONS as BED_LINE_REASONS
from gtok.io.bedtext import LINE_LIMIT
from gtok.io.gunzip import inflate, is_gzip
from gtok.io.pack import PackWriter
from gtok.io.source import check_input, text_blocks
from gtok.tokenizer import Tokenizer

__all__ = [
    "tokenize_fragments",
    "tokenize_fragment_file",
    "CellTokens",
    "FragmentSummary",
    "read_barcodes",
    "BAD_LINE_REASONS",
]

#: bytes of text parsed per call (plain files), and of compressed input read at a time
CHUNK_SIZE = 8 << 20
PACK_BATCH = 512  # cells written to a pack per call (bounds the memory of the copy)
GZIP_READ_SIZE = 1 << 20
#: gzip files larger than this are inflated by a background thread, ahead of the parser
_THREAD_ABOVE = 1 << 20

# The parser's problem codes, in words: the BED parser's (same codes), but four fields and
# a barcode.
BAD_LINE_REASONS: dict[int, str] = {
    **BED_LINE_REASONS,
    LineProblem.TOO_FEW_FIELDS: "fewer than 4 fields (a fragment line is chrom, start, end, "
    "barcode[, count], tab-separated)",
    LineProblem.EMPTY_BARCODE: "empty barcode",
    LineProblem.BARCODE_NOT_UTF8: "barcode is not UTF-8 text",
}

Progress = Callable[[int, int, int], None]


@dataclass
class FragmentSummary:
    """What :func:`tokenize_fragments` read and kept.

    Attributes
    ----------
    source : str
        The fragment file.
    output : str or None
        The pack written (None when the ids were returned).
    cells : int
        Cells kept (documents).
    cells_seen : int
        Distinct barcodes with at least one fragment (after the allow-list).
    fragments : int
        Fragments of the kept cells.
    fragments_read : int
        Well-formed fragment lines read (all barcodes).
    tokens : int
        Token ids of the kept cells.
    not_in_barcodes : int
        Fragments whose barcode is not in the allow-list (skipped).
    unknown_chrom : int
        Fragments (of allowed barcodes) on chromosomes absent from the universe.
    skipped_lines : int
        Bad lines skipped (``skip_bad_lines=True``).
    lines : int
        Lines read, headers and comments included.
    seconds : float
        Wall time.
    settings : dict
        ``barcodes`` (count, or None), ``min_fragments``, ``min_tokens``, ``unique``,
        ``skip_bad_lines``.
    """

    source: str
    output: str | None = None
    cells: int = 0
    cells_seen: int = 0
    fragments: int = 0
    fragments_read: int = 0
    tokens: int = 0
    not_in_barcodes: int = 0
    unknown_chrom: int = 0
    skipped_lines: int = 0
    lines: int = 0
    seconds: float = 0.0
    settings: dict = field(default_factory=dict)
    #: the first skipped bad line (``skip_bad_lines=True``), for messages
    first_skipped: FragmentFormatError | None = field(default=None, repr=False)

    def as_dict(self) -> dict:
        """The summary as JSON-ready data (as recorded in a pack's metadata)."""
        d = asdict(self)
        d.pop("first_skipped")
        d["first_skipped"] = str(self.first_skipped) if self.first_skipped else None
        return d


class CellTokens(dict):
    """``barcode -> ids`` (what :func:`tokenize_fragments` returns without ``out``), in
    cell order (first appearance in the file), with the run's :class:`FragmentSummary` as
    ``.summary``."""

    summary: FragmentSummary


def read_barcodes(source: str | os.PathLike | Iterable[str | bytes]) -> list[bytes]:
    """An allow-list of barcodes: a file (plain or gzip, one barcode per line, first
    tab-separated field; blank and ``#`` lines skipped), or an iterable of strings.

    A file is read a block at a time; a line longer than 16 MiB is a
    :class:`~gtok.errors.LineFormatError` (no barcode list has one: the file is not one).
    """
    if not isinstance(source, (str, bytes, os.PathLike)):
        return [b.encode() if isinstance(b, str) else bytes(b) for b in source]
    path = os.fsdecode(source)
    check_input(path)
    out: list[bytes] = []
    carry = b""
    n_lines = 0
    for block in text_blocks(path):
        lines = (carry + block).split(b"\n")
        carry = lines.pop()
        if len(carry) > LINE_LIMIT:
            raise LineFormatError(
                path,
                n_lines + len(lines) + 1,
                carry[:200].decode("utf-8", "replace"),
                f"line longer than {LINE_LIMIT >> 20} MiB",
            )
        n_lines += len(lines)
        out.extend(_barcodes_in(lines))
    out.extend(_barcodes_in([carry]))
    return out


def _barcodes_in(lines: list[bytes]) -> Iterator[bytes]:
    for line in lines:
        line = line.split(b"\t", 1)[0].strip()
        if line and not line.startswith(b"#"):
            yield line


# ---------------------------------------------------------------------- streaming


def _bad_line(path: str, buf: Any, ft: FragmentTokenizer) -> FragmentFormatError:
    line = bytes(buf[ft.bad_begin : ft.bad_end]).decode("utf-8", "replace")
    return FragmentFormatError(
        path, ft.bad_line_no, line, BAD_LINE_REASONS.get(ft.bad_code, f"problem {ft.bad_code}")
    )


class _Feeder:
    """Feeds text to the parser, carrying partial lines over, turning bad lines into
    errors and reporting progress."""

    def __init__(
        self, ft: FragmentTokenizer, path: str, skip: bool, progress: Progress | None, total: int
    ) -> None:
        self.ft = ft
        self.path = path
        self.skip = skip
        self.progress = progress
        self.total = total
        self.first_bad: FragmentFormatError | None = None
        self.carry = b""
        self.skipping = False  # dropping the rest of a line longer than LINE_LIMIT

    def feed(self, buf: Any, final: bool) -> int:
        used = self.ft.feed(buf, final)
        if self.ft.bad_line_no:
            if self.ft.bad_code == LineProblem.OUT_OF_MEMORY:
                raise MemoryError(f"{self.path}: out of memory while tokenizing fragments")
            if self.first_bad is None:
                self.first_bad = _bad_line(self.path, buf, self.ft)
            if not self.skip:
                raise self.first_bad
        return used

    def text(self, chunk: bytes) -> None:
        """Parse a chunk of a text stream (lines may span chunks; a line longer than
        :data:`~gtok.io.bedtext.LINE_LIMIT` is a bad line, never held whole)."""
        rest: bytes | memoryview = chunk
        if self.carry or self.skipping:
            # the line begun in the previous chunk: completed and parsed on its own
            nl = chunk.find(b"\n")
            if not self.skipping and len(self.carry) + (len(chunk) if nl < 0 else nl) > LINE_LIMIT:
                self._too_long()
            if nl < 0:
                if not self.skipping:
                    self.carry += chunk
                return
            rest = memoryview(chunk)[nl + 1 :]
            if self.skipping:
                self.skipping = False
            else:
                head = self.carry + chunk[: nl + 1]
                self.carry = b""
                used = self.feed(head, False)
                if used < len(head):  # (only after a bad line that stopped the parse)
                    return
        used = self.feed(rest, False)
        self.carry = bytes(rest[used:])

    def _too_long(self) -> None:
        """The line in ``carry`` is too long: an error, or (skipping bad lines) dropped and
        counted as one bad line, the rest of it skipped as it comes."""
        error = FragmentFormatError(
            self.path, self.ft.n_lines + 1, self.carry[:200].decode("utf-8", "replace"),
            f"line longer than {LINE_LIMIT >> 20} MiB (the limit for gzip or piped input)",
        )  # fmt: skip
        if not self.skip:
            raise error
        first = self.first_bad
        self.feed(b"!\n", False)  # a stand-in bad line keeps the parser's counts right
        self.first_bad = first or error
        self.carry, self.skipping = b"", True

    def finish(self) -> None:
        if self.carry:
            self.feed(self.carry, True)
            self.carry = b""

    def report(self, done: int) -> None:
        if self.progress is not None:
            self.progress(done, self.total, self.ft.n_fragments + self.ft.n_filtered)


_END = object()


def _ahead(items: Iterator[Any], depth: int = 3) -> Generator[Any, None, None]:
    """``items``, produced by a background thread up to ``depth`` ahead: gzip is inflated
    (zlib releases the GIL) while the parser works on the previous chunk (also without
    the GIL). Errors in the thread are raised here; closing stops and joins the thread."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_END)
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)

    thread = threading.Thread(target=run, name="gtok-inflate", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def _inflate_threads() -> int:
    """Threads inflating BGZF blocks: one CPU of those this process may use is left to
    the parser (which is as busy as one inflating thread), the others inflate (at most 4).
    On 2 CPUs, a second inflating thread made the call ~10 % slower: three busy threads
    took turns on two CPUs, and the parser, which the rest waits for, lost its turns."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(4, cpus - 1))


def _stream(path: str, feeder: _Feeder, chunk_size: int, read_size: int) -> None:
    st = check_input(path)
    regular = stat.S_ISREG(st.st_mode)
    if regular:
        feeder.total = st.st_size
        mapping = map_path(path, 0)
        if not is_gzip(mapping.header(2)):
            error = None
            try:
                _stream_plain_mapped(mapping, feeder, chunk_size)
            except BaseException as exc:
                # the tracebacks' frames hold views of the mapping: drop them so it closes
                error = exc
                link: BaseException | None = exc
                while link is not None:
                    link.__traceback__ = None
                    link = link.__context__
            finally:
                mapping.close()
            if error is not None:
                raise error
            return
        mapping.close()
    # gzip, and pipes (`<(zcat x)`), devices, folders (open names the problem): read in
    # blocks, so memory holds a few blocks, never the file or its text
    with open(path, "rb") as f:
        first = f.read(read_size)
        done = len(first)

        def reads() -> Generator[bytes, None, None]:
            nonlocal done
            block = first
            while block:
                yield block
                block = f.read(read_size)
                done += len(block)

        texts = reads()
        if is_gzip(first):
            big = not regular or st.st_size > _THREAD_ABOVE
            if bgzf.is_bgzf(first):
                # BGZF (bgzip, Cell Ranger): blocks inflated on several threads, in order,
                # and its end-of-file block required (small files too: one thread)
                texts = bgzf.inflate_members(
                    texts,
                    path,
                    threads=_inflate_threads() if big else 1,
                    sequential=lambda rest: inflate(rest, path, chunk_size),
                )
            else:
                texts = inflate(texts, path, chunk_size)
                if big:
                    texts = _ahead(texts)
        try:
            for text in texts:
                feeder.text(text)
                feeder.report(done)
        finally:
            texts.close()  # (stops and joins the inflating thread before f closes)
        feeder.finish()
        feeder.report(done)


def _stream_plain_mapped(mapping: Any, feeder: _Feeder, chunk_size: int) -> None:
    # parsed in place, a window at a time: no copy of the text
    n = len(mapping)
    with memoryview(mapping) as mv:
        pos = 0
        window = chunk_size
        while pos < n:
            end = min(pos + window, n)
            part = mv[pos:end]
            used = feeder.feed(part, end == n)
            del part
            if used == 0 and end < n:  # a line longer than the window
                window *= 2
                continue
            window = chunk_size
            pos += used
            feeder.report(pos)
            if end == n:
                break


# ---------------------------------------------------------------------- the API


def _as_tokenizer(tokenizer: Tokenizer | str | os.PathLike) -> Tokenizer:
    return tokenizer if isinstance(tokenizer, Tokenizer) else Tokenizer(tokenizer)


def _check_count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, not {value!r}")
    return int(value)


@overload
def tokenize_fragments(
    tokenizer: Tokenizer | str | os.PathLike,
    path: str | os.PathLike,
    out: None = None,
    *,
    barcodes: str | os.PathLike | Iterable[str] | None = None,
    min_fragments: int = 0,
    min_tokens: int = 0,
    unique: bool = False,
    skip_bad_lines: bool = False,
    as_lists: bool = False,
    progress: Progress | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> CellTokens: ...
@overload
def tokenize_fragments(
    tokenizer: Tokenizer | str | os.PathLike,
    path: str | os.PathLike,
    out: str | os.PathLike,
    *,
    barcodes: str | os.PathLike | Iterable[str] | None = None,
    min_fragments: int = 0,
    min_tokens: int = 0,
    unique: bool = False,
    skip_bad_lines: bool = False,
    as_lists: bool = False,
    progress: Progress | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> FragmentSummary: ...
def tokenize_fragments(
    tokenizer: Tokenizer | str | os.PathLike,
    path: str | os.PathLike,
    out: str | os.PathLike | None = None,
    *,
    barcodes: str | os.PathLike | Iterable[str] | None = None,
    min_fragments: int = 0,
    min_tokens: int = 0,
    unique: bool = False,
    skip_bad_lines: bool = False,
    as_lists: bool = False,
    progress: Progress | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> CellTokens | FragmentSummary:
    """Tokenize a fragment file: token ids per cell, returned or written to a pack.

    Parameters
    ----------
    tokenizer : Tokenizer or path
        The universe (a :class:`~gtok.Tokenizer`, or a BED/TOML path to build one).
    path : str or os.PathLike
        The fragment file (``chrom start end barcode [count ...]``; plain or gzip).
    out : str or os.PathLike, optional
        Write a pack here (atomically; one document per cell, named by its barcode, with
        the universe fingerprint and this run's settings and counts in its metadata) and
        return the :class:`FragmentSummary`. Without ``out`` the ids are returned.
    barcodes : path or iterable of str, optional
        Allow-list: only these cells are kept (a file holds one barcode per line).
    min_fragments : int, default 0
        Keep cells with at least this many fragments.
    min_tokens : int, default 0
        Keep cells with at least this many universe-region tokens (``<unk>`` not counted;
        counted after ``unique``).
    unique : bool, default False
        Keep each cell's distinct universe regions once, sorted by id, without ``<unk>``
        (what a peak-by-cell matrix holds); a cell without any hit is then empty.
    skip_bad_lines : bool, default False
        Count and skip malformed lines instead of raising.
    as_lists : bool, default False
        Give each cell's ids as a list of ints (gtars' form) instead of a ``uint32`` array.
    progress : callable, optional
        Called as ``progress(bytes_done, bytes_total, fragments)`` after each chunk
        (compressed bytes for gzip).
    chunk_size : int
        Bytes of text parsed per call (for tests; the default suits files of any size).

    Returns
    -------
    CellTokens or FragmentSummary
        Without ``out``: ``{barcode: ids}`` in order of first appearance, with
        ``.summary``. With ``out``: the summary.

    Raises
    ------
    FileNotFoundError, IsADirectoryError
        A missing file or a folder.
    gtok.errors.FragmentFormatError
        A malformed line (file, line number and line in the message), or a barcode that
        is not UTF-8.
    gtok.errors.CorruptGzipError
        Truncated or corrupt gzip input (no pack is written).

    Examples
    --------
    >>> import os, tempfile
    >>> from gtok import Tokenizer, tokenize_fragments
    >>> folder = tempfile.mkdtemp()
    >>> universe = os.path.join(folder, "peaks.bed")
    >>> _ = open(universe, "w").write("chr1\\t100\\t200\\nchr1\\t150\\t300\\n")
    >>> frags = os.path.join(folder, "fragments.tsv")
    >>> _ = open(frags, "w").write("# a header\\nchr1\\t120\\t160\\tAAAC-1\\t1\\n"
    ...                            "chr1\\t500\\t600\\tAAAC-1\\t2\\n"
    ...                            "chr1\\t160\\t170\\tGGTA-1\\t1\\n")
    >>> tok = Tokenizer(universe)
    >>> cells = tokenize_fragments(tok, frags, as_lists=True)
    >>> cells                              # <unk> is id 2 here
    {'AAAC-1': [0, 1, 2], 'GGTA-1': [0, 1]}
    >>> tokenize_fragments(tok, frags, unique=True, min_tokens=2, as_lists=True)
    {'AAAC-1': [0, 1], 'GGTA-1': [0, 1]}
    >>> s = tokenize_fragments(tok, frags, os.path.join(folder, "cells.gtok"))
    >>> s.cells, s.fragments, s.tokens
    (2, 3, 5)
    """
    started = time.monotonic()
    path = os.fsdecode(path)
    min_fragments = _check_count("min_fragments", min_fragments)
    min_tokens = _check_count("min_tokens", min_tokens)
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, not {chunk_size!r}")
    tok = _as_tokenizer(tokenizer)
    u = tok.universe
    allow_list = None if barcodes is None else read_barcodes(barcodes)
    allow = None if allow_list is None else ChromTable(allow_list)
    ft = FragmentTokenizer(u.index, u.chroms, tok.unk_token_id, allow, skip_bad_lines)
    feeder = _Feeder(ft, path, skip_bad_lines, progress, 0)
    _stream(path, feeder, chunk_size, min(GZIP_READ_SIZE, max(chunk_size, 64)))
    names = _barcode_names(ft.barcodes())
    if unique:
        ft.make_unique()
    frags, tokens, hits = ft.counts()
    keep = np.flatnonzero((frags >= min_fragments) & (hits >= min_tokens)).astype(np.int64)
    summary = FragmentSummary(
        source=path,
        output=None if out is None else os.fspath(out),
        cells=int(keep.size),
        cells_seen=len(names),
        fragments=int(frags[keep].sum()),
        fragments_read=int(ft.n_fragments + ft.n_filtered),
        tokens=int(tokens[keep].sum()),
        not_in_barcodes=int(ft.n_filtered),
        unknown_chrom=int(ft.n_unknown_chrom),
        skipped_lines=int(ft.n_bad),
        lines=int(ft.n_lines),
        settings={
            "barcodes": None if allow_list is None else len(allow_list),
            "min_fragments": min_fragments,
            "min_tokens": min_tokens,
            "unique": bool(unique),
            "skip_bad_lines": bool(skip_bad_lines),
        },
        first_skipped=feeder.first_bad,
    )
    if out is None:
        ids, offsets = ft.gather(keep)
        del ft
        result = CellTokens()
        bounds = offsets.tolist()
        for k, cell in enumerate(keep.tolist()):
            doc = ids[bounds[k] : bounds[k + 1]]
            result[names[cell]] = doc.tolist() if as_lists else doc
        summary.seconds = time.monotonic() - started
        result.summary = summary
        return result
    remove_stale_temporaries([os.fspath(out)])  # (left by a run killed while writing)
    w = PackWriter(out, tokenizer=tok)
    try:
        for i in range(0, keep.size, PACK_BATCH):  # a few hundred cells' ids at a time
            part = keep[i : i + PACK_BATCH]
            ids, offsets = ft.gather(part)
            w.add_many(ids, offsets, [names[cell] for cell in part.tolist()])
            del ids
        summary.seconds = time.monotonic() - started
        w.metadata["fragments"] = summary.as_dict()
        w.close()
    except BaseException:
        w.abort()
        raise
    return summary


def _barcode_names(raw: list[bytes]) -> list[str]:
    # (the parser took only UTF-8 barcodes as cells: a line with another is a bad line)
    return [b.decode("utf-8") for b in raw]


def tokenize_fragment_file(
    path: str | os.PathLike, tokenizer: Tokenizer | str | os.PathLike
) -> dict[str, list[int]]:
    """gtars' ``tokenize_fragment_file(path, tokenizer)``: ``{barcode: [ids]}``.

    The same ids as gtars 0.10 for every file gtars accepts (see docs/singlecell.md for what gtok
    accepts or refuses beyond that); cells come in order of first appearance.
    """
    return dict(tokenize_fragments(tokenizer, path, as_lists=True))
