"""The ``Tokenizer``: region sets in, gtars 0.10's token ids out (docs/semantics.md §4, §5).

This module is the policy layer: it accepts the kinds of input users have (paths, lists of
regions, column arrays), chooses the visiting order (gtars sorts a file's regions by
chromosome name as bytes, then start; in-memory regions keep their order), and names
things as gtars does. The loops live in :mod:`gtok._lib._bedparse` (parsing) and
:mod:`gtok._lib._overlap` (ordering and overlap search), both without the GIL, so ``tokenize``
can run in several threads at once.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, overload

import numpy as np

from gtok._lib._chromtable import ChromTable
from gtok._lib._radix import gtars_order
from gtok.errors import BedFormatError
from gtok.io.bedtext import RegionColumns, read_regions
from gtok.io.pretrained import locate_pretrained, write_pretrained
from gtok.universe import (
    SPECIAL_TOKEN_NAMES,
    Universe,
    chrom_ranks,
    load_bed,
    load_config,
    name_bytes,
)

__all__ = ["Tokenizer", "TokenizedRegionSet", "BatchEncoding"]

_MAX_COORD = 0xFFFFFFFF
_IN_MEMORY = "<regions>"
_UNK_MODES = ("whole", "per_region")


class TokenizedRegionSet:
    """The result of :meth:`Tokenizer.tokenize`: token ids plus counts about the input.

    Attributes
    ----------
    ids : numpy.ndarray
        The token ids (``uint32``). ``np.asarray(result)`` gives the same array.
    n_regions : int
        Query regions read (after skipped bad lines).
    n_unknown_chrom : int
        Query regions on chromosomes absent from the universe (they contribute nothing,
        or one ``<unk>`` each in per-region mode).
    n_skipped : int
        Bad lines skipped (with ``skip_bad_lines=True``).
    """

    __slots__ = ("ids", "n_regions", "n_unknown_chrom", "n_skipped", "_tokenizer")

    def __init__(
        self,
        ids: np.ndarray,
        tokenizer: Tokenizer,
        n_regions: int = 0,
        n_unknown_chrom: int = 0,
        n_skipped: int = 0,
    ) -> None:
        self.ids = ids
        self._tokenizer = tokenizer
        self.n_regions = n_regions
        self.n_unknown_chrom = n_unknown_chrom
        self.n_skipped = n_skipped

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def __iter__(self) -> Iterator[int]:
        return iter(self.ids.tolist())

    def __getitem__(self, i: Any) -> Any:
        return self.ids[i]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if copy:
            return np.array(self.ids, dtype=dtype)
        return self.ids if dtype is None else self.ids.astype(dtype, copy=False)

    def tolist(self) -> list[int]:
        """The ids as a Python list."""
        return self.ids.tolist()

    def to_tokens(self) -> list[str]:
        """The ids as gtars' region strings (``"chr1:100-200"``) and special tokens."""
        return self._tokenizer.decode(self.ids)

    @property
    def attention_mask(self) -> np.ndarray:
        """All ones, one per id (gtars' ``attention_mask``)."""
        return np.ones(self.ids.shape[0], dtype=np.uint8)

    def __repr__(self) -> str:
        head = ", ".join(str(i) for i in self.ids[:8].tolist())
        more = ", ..." if self.ids.shape[0] > 8 else ""
        return f"TokenizedRegionSet([{head}{more}], {len(self)} ids)"


class BatchEncoding(dict):
    """gtars' ``tokenizer(x)`` result: ``{"input_ids": [...], "attention_mask": [...]}``,
    also readable as attributes."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _is_path(x: Any) -> bool:
    return isinstance(x, (str, bytes, os.PathLike))


class Tokenizer:
    """Turns region sets into the ids of the universe regions they overlap.

    Parameters
    ----------
    path : str or os.PathLike
        The universe: a BED file (plain or gzip, sniffed; columns 1-3 used) or a gtars
        TOML config (a name ending in ``.toml``). :meth:`from_pretrained` reads a
        tokenizer folder or Hugging Face Hub repository.

    Notes
    -----
    Ids 0..N-1 are the distinct universe regions in file order; seven special tokens
    follow: ``<unk>``, ``<pad>``, ``<mask>``, ``<cls>``, ``<eos>``, ``<bos>``, ``<sep>``.
    A query region hits a universe region when they overlap by at least one base
    (half-open coordinates, touching is not overlap).

    Examples
    --------
    >>> import os, tempfile
    >>> from gtok import Tokenizer
    >>> folder = tempfile.mkdtemp()
    >>> universe = os.path.join(folder, "universe.bed")
    >>> _ = open(universe, "w").write("chr1\\t100\\t200\\nchr1\\t300\\t400\\nchr2\\t0\\t50\\n")
    >>> tok = Tokenizer(universe)
    >>> tok.vocab_size, tok.unk_token_id
    (10, 3)
    >>> tok.tokenize([("chr1", 150, 350), ("chr3", 0, 10)]).ids
    array([0, 1], dtype=uint32)
    >>> tok.decode([0, 1, 3])
    ['chr1:100-200', 'chr1:300-400', '<unk>']
    """

    def __init__(self, path: str | os.PathLike) -> None:
        path = os.fsdecode(path)
        if path.lower().endswith(".toml"):
            universe = load_config(path)
        else:
            universe = load_bed(path)
        self._set_universe(universe)

    def _set_universe(self, universe: Universe) -> None:
        self._universe = universe
        n = universe.n_regions
        self._special_ids = {name: n + k for k, name in enumerate(SPECIAL_TOKEN_NAMES)}
        self._vocab: dict[str, int] | None = None

    @classmethod
    def from_bed(cls, path: str | os.PathLike) -> Tokenizer:
        """A tokenizer whose universe is a BED file (plain or gzip)."""
        self = cls.__new__(cls)
        self._set_universe(load_bed(path))
        return self

    @classmethod
    def from_config(cls, path: str | os.PathLike) -> Tokenizer:
        """A tokenizer from a gtars TOML config (``universe = "relative/path.bed.gz"``,
        optional ``tokenizer_type = "bits"`` and ``special_tokens``)."""
        self = cls.__new__(cls)
        self._set_universe(load_config(path))
        return self

    @classmethod
    def from_pretrained(
        cls, folder_or_repo_id: str | os.PathLike, revision: str | None = None
    ) -> Tokenizer:
        """A tokenizer from a folder or a Hugging Face Hub model repository, as gtars'
        ``Tokenizer.from_pretrained``.

        Parameters
        ----------
        folder_or_repo_id : str or os.PathLike
            A local folder holding ``tokenizer.toml`` (a gtars config, as
            :meth:`save_pretrained` writes), ``universe.bed.gz`` (gtars' layout) or
            ``universe.bed`` (geniml's models), the first found of these being read; a
            local file, read as ``Tokenizer(path)``; or, when no such path exists, a Hub
            repository id ``owner/name``. A local path wins over a repository of the
            same name; a path object is always local.
        revision : str, optional
            For a Hub repository: a branch, tag or commit hash (default ``main``). An
            error with a local path.

        Raises
        ------
        FileNotFoundError
            Nothing to read: the message says where gtok looked (the folder, the
            repository, the cache in offline mode).
        ImportError
            A repository id without ``huggingface_hub``.
        gtok.errors.ConfigError, gtok.errors.BedFormatError
            The files found are not a valid config or universe.

        Notes
        -----
        A Hub repository needs ``huggingface_hub`` (``pip install "gtok[hub]"``). Its
        files are fetched into the Hugging Face cache (``HF_HOME``, ``HF_HUB_CACHE``) and
        read from there; with ``HF_HUB_OFFLINE=1`` nothing is downloaded, and the cached
        files are used. gtars reads only ``universe.bed.gz`` and takes no revision.

        Examples
        --------
        >>> import os, tempfile
        >>> from gtok import Tokenizer
        >>> folder = tempfile.mkdtemp()
        >>> bed = os.path.join(folder, "universe.bed")
        >>> _ = open(bed, "w").write("chr1\\t100\\t200\\nchr2\\t0\\t50\\n")
        >>> tok = Tokenizer.from_pretrained(folder)
        >>> tok.vocab_size, tok.tokenize([("chr2", 10, 20)]).ids
        (9, array([1], dtype=uint32))
        """
        return cls(locate_pretrained(folder_or_repo_id, revision))

    def save_pretrained(self, folder: str | os.PathLike) -> str:
        """Write this tokenizer to ``folder``, for :meth:`from_pretrained` (gtok's or gtars').

        The folder (created with its parents if missing) gets ``universe.bed.gz``, the
        distinct universe regions in id order (gtars reads them back to the same ids), and
        ``tokenizer.toml``, a gtars config naming it and the special tokens. Each file is
        replaced atomically; other files in the folder (a model's weights, a README) are
        left alone, so a model folder or a Hub repository's clone can take it.

        Returns
        -------
        str
            The folder.

        Examples
        --------
        >>> import os, tempfile
        >>> from gtok import Tokenizer
        >>> folder = tempfile.mkdtemp()
        >>> bed = os.path.join(folder, "u.bed")
        >>> _ = open(bed, "w").write("chr1\\t100\\t200\\nchr2\\t0\\t50\\n")
        >>> tok = Tokenizer(bed)
        >>> saved = tok.save_pretrained(os.path.join(folder, "my-tokenizer"))
        >>> sorted(os.listdir(saved))
        ['tokenizer.toml', 'universe.bed.gz']
        >>> Tokenizer.from_pretrained(saved).fingerprint == tok.fingerprint
        True
        """
        u = self._universe
        return write_pretrained(
            folder,
            [name_bytes(name) for name in u.chrom_names],
            u.region_chroms,
            u.region_starts,
            u.region_ends,
            {name: u.special_tokens[name] for name in SPECIAL_TOKEN_NAMES},
        )

    # ------------------------------------------------------------------ pickling

    def __reduce__(self) -> tuple[Any, tuple[Universe]]:
        # The universe pickles as its arrays and index: unpickling neither reads nor parses
        # the universe file, nor sorts anything again.
        return (_tokenizer_from_universe, (self._universe,))

    # ------------------------------------------------------------------ vocabulary

    @property
    def universe(self) -> Universe:
        """The universe (regions, chromosome table, index)."""
        return self._universe

    @property
    def fingerprint(self) -> str:
        """Hex digest identifying the vocabulary (regions in id order + special tokens)."""
        return self._universe.fingerprint

    @property
    def vocab_size(self) -> int:
        """Number of regions plus the seven special tokens."""
        return self._universe.n_regions + len(SPECIAL_TOKEN_NAMES)

    def __len__(self) -> int:
        return self.vocab_size

    def _special(self, name: str) -> str:
        return self._universe.special_tokens[name]

    unk_token = property(lambda self: self._special("unk"), doc="The unknown token string.")
    pad_token = property(lambda self: self._special("pad"), doc="The padding token string.")
    mask_token = property(lambda self: self._special("mask"), doc="The mask token string.")
    cls_token = property(lambda self: self._special("cls"), doc="The CLS token string.")
    eos_token = property(lambda self: self._special("eos"), doc="The end token string.")
    bos_token = property(lambda self: self._special("bos"), doc="The begin token string.")
    sep_token = property(lambda self: self._special("sep"), doc="The separator string.")
    unk_token_id = property(lambda self: self._special_ids["unk"], doc="Id of ``<unk>`` (N).")
    pad_token_id = property(lambda self: self._special_ids["pad"], doc="Id of ``<pad>``.")
    mask_token_id = property(lambda self: self._special_ids["mask"], doc="Id of ``<mask>``.")
    cls_token_id = property(lambda self: self._special_ids["cls"], doc="Id of ``<cls>``.")
    eos_token_id = property(lambda self: self._special_ids["eos"], doc="Id of ``<eos>``.")
    bos_token_id = property(lambda self: self._special_ids["bos"], doc="Id of ``<bos>``.")
    sep_token_id = property(lambda self: self._special_ids["sep"], doc="Id of ``<sep>``.")

    @property
    def special_tokens_map(self) -> dict[str, str]:
        """``{"unk_token": "<unk>", ...}`` as gtars."""
        return {f"{name}_token": self._special(name) for name in SPECIAL_TOKEN_NAMES}

    def get_vocab(self) -> dict[str, int]:
        """Token string to id, regions (``"chr1:100-200"``) and special tokens."""
        if self._vocab is None:
            vocab = dict(
                zip(
                    self._region_strings(np.arange(self._universe.n_regions)),
                    range(self._universe.n_regions),
                )
            )
            for name in SPECIAL_TOKEN_NAMES:
                vocab[self._special(name)] = self._special_ids[name]
            self._vocab = vocab
        return dict(self._vocab)

    def _region_strings(self, ids: np.ndarray) -> list[str]:
        u = self._universe
        names = u.chrom_labels
        return [
            f"{names[c]}:{s}-{e}"
            for c, s, e in zip(
                u.region_chroms[ids].tolist(),
                u.region_starts[ids].tolist(),
                u.region_ends[ids].tolist(),
            )
        ]

    def convert_ids_to_tokens(self, ids: int | Iterable[int]) -> str | list[str]:
        """Id(s) to token string(s): ``"chr1:100-200"`` or a special token."""
        if isinstance(ids, (int, np.integer)):
            return self.decode([ids])[0]
        return self.decode(ids)

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Token ids to gtars' strings: ``"chr:start-end"`` for regions, the special token
        strings for N..N+6. Raises ``ValueError`` for an id outside the vocabulary."""
        arr = np.asarray(ids if not isinstance(ids, TokenizedRegionSet) else ids.ids)
        if arr.size == 0:
            return []
        if arr.dtype.kind not in "iu":
            raise TypeError(f"ids must be integers, got {arr.dtype}")
        arr = arr.astype(np.int64, copy=False).ravel()
        n = self._universe.n_regions
        bad = (arr < 0) | (arr >= self.vocab_size)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"id {int(arr[i])} at position {i} is outside the vocabulary "
                f"(0..{self.vocab_size - 1})"
            )
        is_region = arr < n
        if is_region.all():
            return self._region_strings(arr)
        out: list[str] = [""] * arr.shape[0]
        positions = np.flatnonzero(is_region)
        for p, s in zip(positions.tolist(), self._region_strings(arr[positions])):
            out[p] = s
        specials = [self._special(name) for name in SPECIAL_TOKEN_NAMES]
        for p in np.flatnonzero(~is_region).tolist():
            out[p] = specials[int(arr[p]) - n]
        return out

    @overload
    def convert_tokens_to_ids(self, tokens: str) -> int: ...  # type: ignore[overload-overlap]
    @overload
    def convert_tokens_to_ids(self, tokens: Iterable[str]) -> list[int]: ...
    def convert_tokens_to_ids(self, tokens: str | Iterable[str]) -> int | list[int]:
        """Token string(s) to id(s); a string not in the vocabulary gives ``unk_token_id``."""
        vocab = self._vocab if self._vocab is not None else self.get_vocab()
        unk = self.unk_token_id
        if isinstance(tokens, str):
            return vocab.get(tokens, unk)
        return [vocab.get(t, unk) for t in tokens]

    def encode(self, tokens: str | Iterable[str]) -> list[int]:
        """Token string(s) to a list of ids, as gtars: ``encode("chr1:100-200")`` is
        ``[id]`` (a list even for one string, unlike :meth:`convert_tokens_to_ids`)."""
        if isinstance(tokens, str):
            return [self.convert_tokens_to_ids(tokens)]
        return self.convert_tokens_to_ids(tokens)

    def get_special_tokens_mask(self, tokens: Iterable[str] | Iterable[int]) -> list:
        """Which tokens are special.

        Token strings give booleans, as gtars (``["chr1:1-2", "<unk>"]`` -> ``[False,
        True]``); ids give 0/1, as Hugging Face tokenizers (``[0, unk_id]`` -> ``[0, 1]``).
        """
        if isinstance(tokens, (str, bytes)):
            raise TypeError(
                "get_special_tokens_mask takes a sequence of tokens or ids, not a single string"
            )
        items = tokens.ids if isinstance(tokens, TokenizedRegionSet) else tokens
        if not isinstance(items, np.ndarray):
            items = list(items)
            if any(isinstance(t, str) for t in items):
                specials = {self._special(name) for name in SPECIAL_TOKEN_NAMES}
                return [t in specials for t in items]
        arr = np.asarray(items, dtype=np.int64)
        return (arr >= self._universe.n_regions).astype(np.int64).tolist()

    # ------------------------------------------------------------------ tokenizing

    def tokenize(
        self,
        regions: Any,
        *,
        keep_order: bool = False,
        unk: str = "whole",
        skip_bad_lines: bool = False,
    ) -> TokenizedRegionSet:
        """Token ids of the universe regions each query region overlaps.

        Parameters
        ----------
        regions
            A path (BED, BED.gz, narrowPeak, any file with 3+ tab-separated columns; gzip
            is sniffed); a sequence of ``(chrom, start, end)`` tuples or of objects with
            ``.chr``, ``.start``, ``.end``; or a ``(chroms, starts, ends)`` tuple of
            equal-length columns (lists, NumPy/pandas/pyarrow arrays).
        keep_order : bool, default False
            For a path, visit regions in file order instead of gtars' order (sorted by
            chromosome name as bytes, then start, stably). In-memory input always keeps
            its order, as in gtars.
        unk : {"whole", "per_region"}, default "whole"
            ``"whole"``: regions without a hit contribute nothing, and a result without
            any hit is ``[unk_token_id]`` (gtars 0.10). ``"per_region"``: each region
            without a hit contributes one ``unk_token_id`` (older gtars and geniml).
        skip_bad_lines : bool, default False
            Skip malformed lines and count them (``result.n_skipped``) instead of raising.

        Returns
        -------
        TokenizedRegionSet
            ``.ids`` is a ``uint32`` array: each region's hits in universe (start, end)
            order, regions one after another, a region hit k times appearing k times.

        Raises
        ------
        FileNotFoundError, IsADirectoryError
            For a missing path or a folder.
        gtok.errors.BedFormatError
            A malformed line (file, line number and line in the message).
        gtok.errors.CorruptGzipError
            Truncated or corrupt gzip input.
        """
        if unk not in _UNK_MODES:
            raise ValueError(f"unk must be one of {_UNK_MODES}, not {unk!r}")
        per_region = unk == "per_region"
        u = self._universe
        if _is_path(regions):
            path = os.fsdecode(regions)
            sort = not keep_order
            extra = ChromTable() if (per_region and sort) else None
            cols = read_regions(path, u.chroms, extra=extra, skip_bad_lines=skip_bad_lines)
        else:
            sort = False
            extra = None
            cols = _columns_from_memory(regions, u.chroms, skip_bad_lines)
        chroms, starts, ends = cols.chroms, cols.starts, cols.ends
        if sort:
            rank = (
                u.chrom_rank
                if extra is None or len(extra) == 0
                else _ranks_with(u.chrom_names, extra.names())
            )
            _, chroms, starts, ends = gtars_order(chroms, starts, ends, rank)
        ids = u.index.tokenize(chroms, starts, ends, None, self.unk_token_id, per_region)
        n_known = np.count_nonzero((cols.chroms >= 0) & (cols.chroms < len(u.chroms)))
        return TokenizedRegionSet(ids, self, len(cols), len(cols) - int(n_known), cols.n_skipped)

    def __call__(self, regions: Any, **options: Any) -> BatchEncoding:
        """gtars' call form: ``{"input_ids": [...], "attention_mask": [...]}``."""
        ids = self.tokenize(regions, **options).ids.tolist()
        return BatchEncoding(input_ids=ids, attention_mask=[1] * len(ids))

    def __repr__(self) -> str:
        u = self._universe
        return (
            f"Tokenizer({u.source!r}, {u.n_regions} regions on {len(u.chroms)} "
            f"chromosomes, vocab_size={self.vocab_size})"
        )


def _tokenizer_from_universe(universe: Universe) -> Tokenizer:
    tok = Tokenizer.__new__(Tokenizer)
    tok._set_universe(universe)
    return tok


def _ranks_with(names: list[str], extra: list[str]) -> np.ndarray:
    """Ranks by name (as bytes) of the universe chromosomes followed by ``extra`` ones."""
    return chrom_ranks(names + extra)


# ---------------------------------------------------------------------- in-memory input


def _looks_like_region(x: Any) -> bool:
    """A gtars-style region object, or a (chrom, start, end) tuple/list."""
    if hasattr(x, "chr") and hasattr(x, "start") and hasattr(x, "end"):
        return True
    return (
        isinstance(x, (tuple, list))
        and len(x) == 3
        and isinstance(x[0], (str, bytes))
        and isinstance(x[1], (int, np.integer))
        and not isinstance(x[1], bool)
    )


def _is_columns(regions: Any) -> bool:
    """``(chroms, starts, ends)`` columns, as opposed to a tuple of three regions."""
    return (
        isinstance(regions, tuple)
        and len(regions) == 3
        and not isinstance(regions[0], (str, bytes))
        and all(hasattr(c, "__len__") for c in regions)
        and not any(_looks_like_region(c) for c in regions)
    )


_SHAPE_PROBLEM = "a region must be (chrom, start, end) or have .chr, .start and .end"


def _columns_from_memory(regions: Any, table: ChromTable, skip_bad_lines: bool) -> RegionColumns:
    shape_bad: dict[int, str] = {}
    if _is_columns(regions):
        chroms, starts, ends = regions
    else:
        chroms, starts, ends = [], [], []
        for k, r in enumerate(regions):
            if hasattr(r, "chr") and hasattr(r, "start") and hasattr(r, "end"):
                c, s, e = r.chr, r.start, r.end
            elif isinstance(r, (str, bytes)):
                # indexable, but "chr1:1-2"[0:3] is not a region
                c = s = e = None
                shape_bad[k] = repr(r)
            else:
                try:
                    c, s, e = r[0], r[1], r[2]
                except (TypeError, IndexError, KeyError):
                    c = s = e = None
                    shape_bad[k] = repr(r)
            chroms.append(c)
            starts.append(s)
            ends.append(e)
    return validate_columns(chroms, starts, ends, table, skip_bad_lines, shape_bad)


def _as_int(v: Any) -> int | None:
    """``v`` as a Python int when it is an integer (not a bool), else None."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
        return None
    return int(v)


def _as_coords(values: Any, which: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates as int64, plus a mask of entries that are not integers."""
    arr = np.asarray(values) if not isinstance(values, (list, tuple)) else None
    if arr is None:
        # A Python list: np.asarray would coerce a mix ([100, "x"], [100, 1.5]) to one
        # type and make the good entries look bad, so look at the entries as given
        # unless they are all integers.
        try:
            arr = np.asarray(values)
        except (ValueError, TypeError):
            arr = np.empty(len(values), dtype=object)
            arr[:] = values
        # (np.asarray also turns True into 1 among ints: a bool is not a coordinate)
        if arr.dtype.kind not in "iu" or not set(map(type, values)).isdisjoint((bool, np.bool_)):
            items = list(values)
        else:
            items = None
    else:
        items = None if arr.dtype.kind in "iu" else arr.tolist()
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"the {which} column has shape {arr.shape}, expected ({n},)")
    if items is None:
        if arr.dtype == np.uint64:
            big = arr > _MAX_COORD
            return np.where(big, _MAX_COORD + 1, arr).astype(np.int64), np.zeros(n, bool)
        return arr.astype(np.int64, copy=False), np.zeros(n, bool)
    # object / float / str / mixed: check element by element
    out = np.zeros(n, dtype=np.int64)
    bad = np.zeros(n, dtype=bool)
    for i, v in enumerate(items):
        x = _as_int(v)
        if x is None:
            bad[i] = True
        else:
            out[i] = min(max(x, -1), _MAX_COORD + 1)
    return out, bad


def validate_columns(
    chroms: Sequence[Any],
    starts: Any,
    ends: Any,
    table: ChromTable,
    skip_bad_lines: bool,
    shape_bad: dict[int, str] | None = None,
) -> RegionColumns:
    """Regions given as columns (chromosome names, starts, ends), checked as BED lines are:
    chromosome indices in ``table`` (-1 for names it lacks) and ``uint32`` coordinates.

    A bad region raises :class:`~gtok.errors.BedFormatError` naming its index (as the line
    number: 1-based), or is counted and dropped with ``skip_bad_lines``. ``shape_bad`` maps
    indices of regions that were malformed before they became columns to their text.
    """
    n = len(chroms)
    chrom_idx, chrom_bad = _chrom_indices(chroms, table)
    s, s_bad = _as_coords(starts, "start", n)
    e, e_bad = _as_coords(ends, "end", n)
    malformed = np.zeros(n, dtype=bool)
    if shape_bad:
        malformed[np.fromiter(shape_bad, dtype=np.int64, count=len(shape_bad))] = True
        # a malformed region's placeholder values are not separate problems
        s_bad &= ~malformed
        e_bad &= ~malformed
        chrom_bad &= ~malformed
    problems = [
        (malformed, _SHAPE_PROBLEM),
        (chrom_bad, "chromosome name is missing or empty"),
        (s_bad, "start is not an integer"),
        (e_bad, "end is not an integer"),
        (s < 0, "start is negative"),
        (e < 0, "end is negative"),
        (s > _MAX_COORD, "start is 2**32 or larger"),
        (e > _MAX_COORD, "end is 2**32 or larger"),
        (s > e, "start is greater than end"),
    ]
    bad = np.zeros(n, dtype=bool)
    first: BedFormatError | None = None
    first_at = n
    for mask, problem in problems:
        if mask.any():
            i = int(np.flatnonzero(mask)[0])
            if i < first_at:
                first_at = i
                text = (
                    shape_bad[i]
                    if shape_bad and i in shape_bad
                    else _region_text(chroms, starts, ends, i)
                )
                first = BedFormatError(_IN_MEMORY, i + 1, text, problem)
            bad |= mask
    if first is not None and not skip_bad_lines:
        raise first
    keep = ~bad
    n_bad = int(bad.sum())
    if n_bad:
        chrom_idx, s, e = chrom_idx[keep], s[keep], e[keep]
    return RegionColumns(
        np.ascontiguousarray(chrom_idx, dtype=np.int32),
        s.astype(np.uint32),
        e.astype(np.uint32),
        n_bad,
        first,
    )


def _region_text(chroms: Any, starts: Any, ends: Any, i: int) -> str:
    return f"{chroms[i]!s}\t{starts[i]!s}\t{ends[i]!s}"


def _is_missing_name(x: Any) -> bool:
    return (
        x is None
        or (isinstance(x, float) and x != x)
        or (isinstance(x, (str, bytes)) and len(x) == 0)
    )


def _chrom_indices(chroms: Any, table: ChromTable) -> tuple[np.ndarray, np.ndarray]:
    """Universe chromosome index of each name (-1 when absent), via the distinct names;
    and a mask of missing names (None, NaN, empty)."""
    n = len(chroms)
    if n == 0:
        return np.empty(0, dtype=np.int32), np.zeros(0, dtype=bool)
    arr = np.asarray(chroms) if not isinstance(chroms, (list, tuple)) else None
    if arr is None:
        try:
            arr = np.asarray(chroms)
        except (ValueError, TypeError):
            arr = None
        if arr is not None and (arr.ndim != 1 or arr.shape[0] != n):
            arr = None
        if arr is None:
            arr = np.empty(n, dtype=object)
            arr[:] = list(chroms)
    if arr.ndim != 1:
        raise ValueError(f"the chromosome column has shape {arr.shape}, expected ({n},)")
    if arr.dtype.kind in "US":
        missing = arr == arr.dtype.type()
        names, inverse = np.unique(arr, return_inverse=True)
        lookup = np.array([table.index(x) for x in names.tolist()], dtype=np.int32)
        return lookup[inverse.ravel()], missing
    # objects (possibly mixed str / bytes / None) or numbers: one entry at a time
    missing = np.zeros(n, dtype=bool)
    out = np.empty(n, dtype=np.int32)
    seen: dict[Any, int] = {}
    for i, x in enumerate(arr.tolist()):
        if _is_missing_name(x):
            missing[i] = True
            out[i] = -1
            continue
        if not isinstance(x, (str, bytes)):
            x = str(x)
        k = seen.get(x)
        if k is None:
            k = seen[x] = table.index(x)
        out[i] = k
    return out, missing
