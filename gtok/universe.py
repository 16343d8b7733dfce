"""The universe: the vocabulary's regions, their overlap index, and where they came from.

A universe is read from a BED file (plain or gzip, sniffed) or from a gtars TOML config.
Region ids are 0..N-1 in file order; a region that appears again (same chromosome, start and
end) keeps its first id and is indexed once. (gtars indexes such a copy as well and then
returns shifted ids for the regions after it; gtok does not copy that bug.)
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

import numpy as np

from gtok._lib._chromtable import ChromTable
from gtok._lib._indexbuild import build_index
from gtok._lib._overlap import OverlapIndex
from gtok.columns import IN_MEMORY, check_rows
from gtok.errors import BedFormatError, ConfigError
from gtok.io.bedtext import read_regions
from gtok.io.source import check_input

try:  # (hashlib would load OpenSSL first: ~3 ms of every command's start, for one hash)
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - an interpreter without CPython's module
    from hashlib import blake2b

__all__ = [
    "Universe",
    "load_bed",
    "load_config",
    "load_columns",
    "SPECIAL_TOKEN_NAMES",
    "DEFAULT_SPECIAL_TOKENS",
]

# Seven special tokens follow the regions, in this order (docs/semantics.md §4.2).
SPECIAL_TOKEN_NAMES = ("unk", "pad", "mask", "cls", "eos", "bos", "sep")
DEFAULT_SPECIAL_TOKENS = {name: f"<{name}>" for name in SPECIAL_TOKEN_NAMES}
TOKENIZER_TYPES = ("bits",)


class Universe:
    """The regions (in id order), their chromosome table and overlap index.

    The regions are held once, by the index (its ``starts`` and ``ends``, in its order);
    the columns in id order are made from them. In a sorted universe file ids are index
    positions, so ``region_starts`` and ``region_ends`` are the index's arrays themselves;
    otherwise the universe keeps each id's index position (4 bytes a region) and makes
    them on each use. A region's chromosome comes from the index's chromosome blocks.

    Attributes
    ----------
    chroms : ChromTable
        Chromosome names to indices (order of first appearance in the universe file).
    region_chroms, region_starts, region_ends : numpy.ndarray
        Region ``id`` is ``chroms.name(region_chroms[id]):region_starts[id]-region_ends[id]``
        (``region_chroms`` made on each use, and the other two unless the universe file
        was sorted; :meth:`chroms_of`, :meth:`starts_of` and :meth:`ends_of` give some
        regions' columns).
    index : OverlapIndex
        The overlap search structure.
    special_tokens : dict
        Special-token name (``"unk"``...) to its string.
    source : str or None
        The file it was read from, for messages and manifests; None for regions given in
        memory (:func:`load_columns`).
    """

    def __init__(
        self,
        chroms: ChromTable,
        index: OverlapIndex,
        special_tokens: dict | None = None,
        source: str | None = None,
        n_rows: int = 0,
    ) -> None:
        self.chroms = chroms
        self.index = index
        self.special_tokens = dict(
            DEFAULT_SPECIAL_TOKENS if special_tokens is None else special_tokens
        )
        self.source = source
        self.n_rows = n_rows
        self.__post_init__()

    def __post_init__(self) -> None:
        names = self.chroms.names()
        self.chrom_names = names  # lossless (see ChromTable.name): for lookups and order
        # for display (a name that is not UTF-8 shows U+FFFD where its bad bytes are)
        self.chrom_labels = [_label(name) for name in names]
        self.chrom_rank = chrom_ranks(names)
        self._fingerprint: str | None = None
        # (a thread hashing the fingerprint and the dict it puts it in: see from_columns)
        self._hashing: tuple[threading.Thread, dict[str, str]] | None = None
        index = self.index
        # where each chromosome's regions start in the index (its components are in blocks)
        self._chrom_bounds = np.asarray(index.comp_bounds[index.chrom_comps], dtype=np.int64)
        # each id's position in the index (None: the id is the position)
        self._pos: np.ndarray | None = None
        if index.ids is not None:
            pos = np.empty(index.n_regions, dtype=np.uint32)
            pos[index.ids] = np.arange(index.n_regions, dtype=np.uint32)
            self._pos = pos

    def __repr__(self) -> str:
        return (
            f"Universe({self.n_regions} regions on {len(self.chrom_names)} chromosomes, "
            f"source={self.source!r})"
        )

    def _positions(self, ids: np.ndarray) -> np.ndarray:
        return ids if self._pos is None else self._pos[ids]

    def chroms_of(self, ids: np.ndarray) -> np.ndarray:
        """The chromosome indices of the regions ``ids`` (valid region ids; ``int32``)."""
        found = np.searchsorted(self._chrom_bounds, self._positions(ids), side="right") - 1
        return found.astype(np.int32, copy=False)

    def starts_of(self, ids: np.ndarray) -> np.ndarray:
        """The starts of the regions ``ids``."""
        return self.index.starts[self._positions(ids)]

    def ends_of(self, ids: np.ndarray) -> np.ndarray:
        """The ends of the regions ``ids``."""
        return self.index.ends[self._positions(ids)]

    @property
    def region_chroms(self) -> np.ndarray:
        """Each region's chromosome index (``int32``, in id order; made on each use)."""
        if self._pos is None:
            counts = np.diff(self._chrom_bounds)
            return np.repeat(np.arange(counts.shape[0], dtype=np.int32), counts)
        return self.chroms_of(np.arange(self.n_regions))

    @property
    def region_starts(self) -> np.ndarray:
        """Each region's start (``uint32``, in id order)."""
        return self.index.starts if self._pos is None else self.index.starts[self._pos]

    @property
    def region_ends(self) -> np.ndarray:
        """Each region's end (``uint32``, in id order)."""
        return self.index.ends if self._pos is None else self.index.ends[self._pos]

    @property
    def nbytes(self) -> int:
        """Bytes held by the regions: the index's arrays and each id's index position,
        each array once."""
        index = self.index
        held = {}
        for a in (
            self._pos,
            self._chrom_bounds,
            index.starts,
            index.ends,
            index.maxend,
            index.ids,
            index.comp_bounds,
            index.chrom_comps,
            index.skips,
            index.buckets,
            index.bucket_bounds,
            index.bucket_shifts,
        ):
            if a is not None:
                held[id(a if a.base is None else a.base)] = a.nbytes
        return sum(held.values())

    @property
    def n_regions(self) -> int:
        """Number of distinct regions (N)."""
        return int(self.index.n_regions)

    @property
    def fingerprint(self) -> str:
        """A 128-bit digest (hex) of the regions in id order and the special tokens.

        Two universes with the same fingerprint give the same ids for every input.
        """
        hashing = self._hashing
        if hashing is not None:  # (threads asking at once all wait for the one hash)
            hasher, result = hashing
            hasher.join()
            if self._fingerprint is None:
                self._fingerprint = result.get("fingerprint")  # (None if it failed)
            self._hashing = None
        if self._fingerprint is None:
            self._fingerprint = _digest(
                self.chrom_names,
                self.region_chroms,
                self.region_starts,
                self.region_ends,
                self.special_tokens,
            )
        return self._fingerprint

    @classmethod
    def from_columns(
        cls,
        chroms: ChromTable,
        row_chroms: np.ndarray,
        row_starts: np.ndarray,
        row_ends: np.ndarray,
        special_tokens: dict | None = None,
        source: str | None = None,
    ) -> Universe:
        """Build from universe rows in file order (duplicates allowed)."""
        specials = dict(special_tokens or DEFAULT_SPECIAL_TOKENS)
        n_rows = int(row_chroms.shape[0])
        # Every command needs the fingerprint. Unless rows repeat, it is that of the rows as
        # given: a large universe hashes them on a thread while the index is built (both
        # without the GIL), which takes the hashing off a command's start-up time.
        early: dict[str, str] = {}
        hasher = None
        if n_rows >= _HASH_ON_THREAD_ABOVE:
            names = chroms.names()

            def hash_rows() -> None:
                try:
                    fingerprint = _digest(names, row_chroms, row_starts, row_ends, specials)
                    early["fingerprint"] = fingerprint
                finally:
                    _HASHERS.discard(threading.current_thread())

            hasher = threading.Thread(target=hash_rows, name="gtok-fingerprint")
            _HASHERS.add(hasher)
            try:
                hasher.start()
            except RuntimeError:  # no thread to be had: hashed when first asked for
                _HASHERS.discard(hasher)
                hasher = None
        try:
            index, unique_rows = build_index(row_chroms, row_starts, row_ends, len(chroms))
        except BaseException:
            if hasher is not None:
                hasher.join()
            raise
        universe = cls(chroms, index, specials, source, n_rows)
        if hasher is not None:
            if unique_rows is None:
                # joined when the fingerprint is first asked for: a command's first work
                # overlaps the rest of the hashing
                universe._hashing = (hasher, early)
            else:  # duplicates: the fingerprint is of the distinct rows
                hasher.join()
        return universe

    def __getstate__(self) -> dict:
        # the index and the names: the rest is made again (__post_init__)
        if self._hashing is not None:
            self.fingerprint  # noqa: B018 (joins the thread hashing it)
        made = ("chrom_rank", "chrom_names", "chrom_labels", "_chrom_bounds", "_pos", "_hashing")
        return {k: v for k, v in self.__dict__.items() if k not in made}

    def __setstate__(self, state: dict) -> None:
        fingerprint = state.pop("_fingerprint", None)
        for key in ("chrom_names", "chrom_labels", "chrom_rank", "_chrom_bounds", "_pos"):
            state.pop(key, None)
        # pickled by an earlier version: the columns in id order (also held by the index)
        for key in ("region_chroms", "region_starts", "region_ends", "_region_chroms"):
            state.pop(key, None)
        self.__dict__.update(state)
        self.__post_init__()
        self._fingerprint = fingerprint


_HASH_ON_THREAD_ABOVE = 100_000  # rows: below, a thread costs more than it saves

# Fingerprint threads still hashing (Universe.from_columns): joined before this process
# forks (a fork while another thread runs is unsafe, and Python 3.12+ warns of it), so that
# a fork right after a tokenizer is made (a DataLoader's workers, a pool) finds none.
_HASHERS: set[threading.Thread] = set()


def _join_hashers() -> None:
    for hasher in list(_HASHERS):
        hasher.join()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_join_hashers)


def name_bytes(name: str) -> bytes:
    """A chromosome name as the bytes it stands for (see ``ChromTable.name``)."""
    return name.encode("utf-8", "surrogateescape")


def _label(name: str) -> str:
    return name_bytes(name).decode("utf-8", "replace")


def chrom_ranks(names: list[str]) -> np.ndarray:
    """Each name's rank in the order gtars visits a file's regions: by the name's bytes."""
    rank = np.empty(len(names), dtype=np.int32)
    order = sorted(range(len(names)), key=lambda i: name_bytes(names[i]))
    rank[np.array(order, dtype=np.int64)] = np.arange(len(names), dtype=np.int32)
    return rank


def _digest(
    chrom_names: list[str],
    chroms: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    special_tokens: dict,
) -> str:
    """The fingerprint of regions given in id order (see :attr:`Universe.fingerprint`)."""
    h = blake2b(digest_size=16, person=b"gtok-universe1")
    h.update(len(chrom_names).to_bytes(8, "little"))
    for name in chrom_names:
        raw = name_bytes(name)  # the bytes of the universe file, whatever they are
        h.update(len(raw).to_bytes(8, "little") + raw)
    h.update(int(starts.shape[0]).to_bytes(8, "little"))
    for arr, dtype in ((chroms, "<i4"), (starts, "<u4"), (ends, "<u4")):
        h.update(np.ascontiguousarray(arr, dtype=dtype).data)
    for name in SPECIAL_TOKEN_NAMES:
        raw = special_tokens[name].encode()
        h.update(len(raw).to_bytes(8, "little") + raw)
    return h.hexdigest()


def _refuse_token_file(path: str) -> None:
    """A ``.gtok`` file or pack given as a universe: say what it is (it would otherwise
    fail as a BED file with a puzzling first line)."""
    if os.path.isfile(path):
        with open(path, "rb") as f:
            if f.read(4) == b"GTOK":
                raise ConfigError(
                    path,
                    "a .gtok token file (or pack), not a universe: the universe is the BED "
                    "file (or gtars TOML config) the tokens were made with",
                )


def load_bed(path: str | os.PathLike, special_tokens: dict | None = None) -> Universe:
    """Read a universe from a BED file (plain or gzip; columns 1-3 used)."""
    path = os.fspath(path)
    _refuse_token_file(path)
    table = ChromTable()
    cols = read_regions(path, table, add_chroms=True, trim=True)
    return Universe.from_columns(table, cols.chroms, cols.starts, cols.ends, special_tokens, path)


def load_columns(
    chroms: Any,
    starts: Any,
    ends: Any,
    special_tokens: dict | None = None,
    shape_bad: dict[int, str] | None = None,
) -> Universe:
    """A universe from regions in memory: the ids, index and fingerprint a BED file of the
    same rows in the same order gives. A bad row raises ``BedFormatError`` (path
    ``<regions>``, line number = 1-based row); so does a chromosome name that a BED line
    could not hold (a tab or line break, ``#`` first, ``track`` or ``browser`` as its first
    word)."""
    specials = dict(DEFAULT_SPECIAL_TOKENS)
    for name, token in (special_tokens or {}).items():
        if name not in SPECIAL_TOKEN_NAMES or not isinstance(token, str):
            raise ValueError(
                f"bad special token {name!r}: {token!r} (names: {SPECIAL_TOKEN_NAMES}, "
                "tokens: strings)"
            )
        specials[name] = token
    table = ChromTable()
    cols = check_rows(chroms, starts, ends, table, False, shape_bad, add=True).columns
    for k, name in enumerate(table.names()):
        problem = _bed_name_problem(name_bytes(name))
        if problem:
            row = int(np.flatnonzero(cols.chroms == k)[0])
            text = f"{name}\t{cols.starts[row]}\t{cols.ends[row]}"
            raise BedFormatError(IN_MEMORY, row + 1, text, problem)
    return Universe.from_columns(table, cols.chroms, cols.starts, cols.ends, specials, None)


def _bed_name_problem(raw: bytes) -> str:
    """Why a BED line cannot start with this chromosome name ("" when it can)."""
    if any(c in raw for c in b"\t\n\r"):
        return "chromosome name holds a tab or line break (a BED file could not hold it)"
    if raw.startswith(b"#"):
        return "chromosome name starts with '#' (a comment line in a BED file)"
    if raw.split(b" ", 1)[0] in (b"track", b"browser"):
        return "chromosome name starts with 'track' or 'browser' (skipped in a BED file)"
    return ""


def load_config(path: str | os.PathLike) -> Universe:
    """Read a gtars tokenizer config (TOML).

    Keys: ``universe`` (path of the BED file, relative to the config's folder),
    ``tokenizer_type`` (``"bits"``, the default; gtars' ``"ailist"`` orders hits
    differently and is refused rather than silently given other ids), and
    ``special_tokens`` (a list of ``{name = "unk", token = "<UNK>"}`` tables).
    """
    # here, not at the top: only a config needs it (3 ms of every command's start)
    if sys.version_info >= (3, 11):
        import tomllib as _toml
    else:  # pragma: no cover - Python 3.10
        import tomli as _toml
    path = os.fspath(path)
    check_input(path)  # (a named FIFO is never opened)
    with open(path, "rb") as f:
        raw = f.read()
    try:
        config = _toml.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, _toml.TOMLDecodeError) as exc:
        raise ConfigError(path, f"not a valid TOML tokenizer config ({exc})") from None
    universe = config.get("universe")
    if not isinstance(universe, str) or not universe:
        raise ConfigError(path, "missing 'universe = \"path/to/universe.bed\"'")
    kind = config.get("tokenizer_type", "bits")
    if kind not in TOKENIZER_TYPES:
        raise ConfigError(
            path,
            f'tokenizer_type {kind!r} is not supported (use "bits"; '
            "gtars' \"ailist\" orders each region's hits differently)",
        )
    specials = dict(DEFAULT_SPECIAL_TOKENS)
    entries = config.get("special_tokens", [])
    if not isinstance(entries, list):
        raise ConfigError(path, "special_tokens must be a list of {name, token} tables")
    for entry in entries:
        if (
            not isinstance(entry, dict)
            or entry.get("name") not in SPECIAL_TOKEN_NAMES
            or not isinstance(entry.get("token"), str)
        ):
            raise ConfigError(
                path,
                f"bad special token entry {entry!r}: expected "
                f'{{name = one of {SPECIAL_TOKEN_NAMES}, token = "..."}}',
            )
        specials[entry["name"]] = entry["token"]
    bed = os.path.join(os.path.dirname(os.path.abspath(path)), universe)
    if not os.path.isfile(bed):
        raise ConfigError(path, f"universe file {universe!r} not found (looked for {bed})")
    return load_bed(bed, specials)
