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
from collections.abc import Iterable, Iterator
from typing import Any, overload

import numpy as np

from gtok._lib._chromtable import ChromTable
from gtok._lib._inorder import tokenize_docs
from gtok._lib._radix import gtars_keys
from gtok._lib._runs import tokenize_keys, tokenize_rows
from gtok.columns import as_columns, check_rows
from gtok.io.bedtext import read_regions
from gtok.io.pretrained import locate_pretrained, write_pretrained
from gtok.scratch import SCRATCH_ROWS, scratch_array
from gtok.universe import (
    SPECIAL_TOKEN_NAMES,
    Universe,
    chrom_ranks,
    load_bed,
    load_columns,
    load_config,
    name_bytes,
)

__all__ = ["Tokenizer", "TokenizedRegionSet", "BatchEncoding"]

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
    def from_regions(
        cls,
        chroms: Any,
        starts: Any = None,
        ends: Any = None,
        *,
        special_tokens: dict[str, str] | None = None,
    ) -> Tokenizer:
        """A tokenizer whose universe is given in memory.

        Parameters
        ----------
        chroms, starts, ends
            The universe regions as columns (NumPy, pandas, pyarrow, lists); or, alone, a
            table (pandas / polars DataFrame, pyarrow Table, a mapping of columns) with
            chromosome, start and end columns (``chrom``/``chr``/``seqnames``,
            ``start``/``chromStart``, ``end``/``chromEnd``), or a sequence of
            ``(chrom, start, end)`` regions.
        special_tokens : dict, optional
            Special-token strings by name (``{"unk": "<UNK>"}``; names as in a gtars TOML
            config), the others default to ``<unk>``, ``<pad>``...

        Returns
        -------
        Tokenizer
            The same ids and fingerprint as a tokenizer of a BED file holding these rows in
            this order (ids in row order, a repeated row keeping its first id).
            ``tok.universe.source`` is None: no file; manifests and packs record none.

        Raises
        ------
        gtok.errors.BedFormatError
            A bad row (never skipped: later ids would shift), for path ``<regions>``,
            line number = its 1-based position; or a chromosome name a BED file cannot
            hold (a tab or line break; ``#`` first; ``track`` or ``browser`` first word).

        Examples
        --------
        >>> from gtok import Tokenizer
        >>> tok = Tokenizer.from_regions(["chr1", "chr1", "chr2"], [100, 300, 0], [200, 400, 50])
        >>> tok.vocab_size, tok.tokenize([("chr1", 150, 350)]).ids.tolist()
        (10, [0, 1])
        """
        if starts is None and ends is None:
            chroms, starts, ends, shape_bad = as_columns(chroms)
        elif starts is None or ends is None:
            raise TypeError("from_regions takes chroms, starts and ends, or one table")
        else:
            shape_bad = {}
        self = cls.__new__(cls)
        self._set_universe(load_columns(chroms, starts, ends, special_tokens, shape_bad))
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
                u.chroms_of(ids).tolist(),
                u.starts_of(ids).tolist(),
                u.ends_of(ids).tolist(),
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
        if not _is_path(regions):
            chroms, starts, ends, shape_bad = as_columns(regions)
            cols = check_rows(chroms, starts, ends, u.chroms, skip_bad_lines, shape_bad).columns
            # searched in (chromosome, start) order, returned in the given order
            ids, _ = tokenize_docs(
                u.index,
                cols.chroms,
                cols.starts,
                cols.ends,
                np.array([0, len(cols)], dtype=np.int64),
                self.unk_token_id,
                per_region,
            )
            n_known = int(np.count_nonzero(cols.chroms >= 0))
            return TokenizedRegionSet(ids, self, len(cols), len(cols) - n_known, cols.n_skipped)
        path = os.fsdecode(regions)
        sort = not keep_order
        extra = ChromTable() if (per_region and sort) else None
        # scratch columns: used below and dropped before this thread parses again
        cols = read_regions(
            path, u.chroms, extra=extra, skip_bad_lines=skip_bad_lines, scratch=True
        )
        chroms, starts, ends = cols.chroms, cols.starts, cols.ends
        # in gtars' order: searched from the sort keys (start << 32 | end)
        ordered = None
        if sort:
            rank = (
                u.chrom_rank
                if extra is None or len(extra) == 0
                else _ranks_with(u.chrom_names, extra.names())
            )
            ordered = gtars_keys(chroms, starts, ends, rank, _key_buffers(len(chroms)))
        if ordered is not None:
            keys, bounds, slice_chroms = ordered
            ids = tokenize_keys(u.index, keys, bounds, slice_chroms, self.unk_token_id, per_region)
        else:  # (in file order, or already in gtars' order)
            ids = tokenize_rows(u.index, chroms, starts, ends, None, self.unk_token_id, per_region)
        if sort and (extra is None or len(extra) == 0):
            # the rows kept in gtars' order are those on the universe's chromosomes
            n_known = len(cols) if ordered is None else ordered[0].shape[0]
        else:
            n_known = int(np.count_nonzero((chroms >= 0) & (chroms < len(u.chroms))))
        return TokenizedRegionSet(ids, self, len(cols), len(cols) - n_known, cols.n_skipped)

    def tokenize_many(
        self,
        regions: Any,
        offsets: Any,
        *,
        unk: str = "whole",
        skip_bad_lines: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Many in-memory region sets (documents) at once, given as flat columns.

        Parameters
        ----------
        regions
            Every document's regions one after another: ``(chroms, starts, ends)`` columns
            (NumPy, pandas, pyarrow, lists), a table (pandas / polars DataFrame, pyarrow
            Table) with chromosome, start and end columns (``chrom``/``chr``/``seqnames``,
            ``start``/``chromStart``, ``end``/``chromEnd``), or a sequence of regions.
        offsets
            ``n_docs + 1`` non-decreasing integers from 0 to the number of regions:
            document ``d`` is regions ``offsets[d]`` to ``offsets[d + 1] - 1``.
        unk, skip_bad_lines
            As in :meth:`tokenize`.

        Returns
        -------
        ids : numpy.ndarray
            ``uint32``: the documents' ids one after another.
        id_offsets : numpy.ndarray
            ``int64``, ``n_docs + 1``: document ``d``'s ids are
            ``ids[id_offsets[d]:id_offsets[d + 1]]``, what ``tokenize`` gives for its
            regions alone (in their order; ``[unk_token_id]`` for a document without any
            hit, an empty one included, with ``unk="whole"``).

        Raises
        ------
        gtok.errors.BedFormatError
            A bad region; its line number is its 1-based position in the flat columns.

        Examples
        --------
        >>> import os, tempfile
        >>> import numpy as np
        >>> from gtok import Tokenizer
        >>> tok = Tokenizer.from_regions(["chr1", "chr1", "chr2"], [100, 300, 0], [200, 400, 50])
        >>> chroms = np.array(["chr1", "chr2", "chr1", "chrX"])
        >>> starts = np.array([150, 10, 320, 0])
        >>> ends = np.array([350, 20, 330, 9])
        >>> ids, id_offsets = tok.tokenize_many((chroms, starts, ends), [0, 2, 3, 4])
        >>> [ids[a:b].tolist() for a, b in zip(id_offsets[:-1], id_offsets[1:])]
        [[0, 1, 2], [1], [3]]

        A dataframe holding many region sets, sorted by set, needs offsets where the set
        changes (``np.flatnonzero(np.diff(codes)) + 1``, bracketed by 0 and the length).
        """
        if unk not in _UNK_MODES:
            raise ValueError(f"unk must be one of {_UNK_MODES}, not {unk!r}")
        u = self._universe
        chroms, starts, ends, shape_bad = as_columns(regions)
        n = len(chroms)
        offs = _document_offsets(offsets, n)
        rows = check_rows(chroms, starts, ends, u.chroms, skip_bad_lines, shape_bad)
        if rows.skipped.shape[0]:
            offs = offs - np.searchsorted(rows.skipped, offs, side="left")
        cols = rows.columns
        return tokenize_docs(
            u.index,
            cols.chroms,
            cols.starts,
            cols.ends,
            offs,
            self.unk_token_id,
            unk == "per_region",
        )

    def __call__(self, regions: Any, **options: Any) -> BatchEncoding:
        """gtars' call form: ``{"input_ids": [...], "attention_mask": [...]}``."""
        ids = self.tokenize(regions, **options).ids.tolist()
        return BatchEncoding(input_ids=ids, attention_mask=[1] * len(ids))

    def __repr__(self) -> str:
        u = self._universe
        source = "<in memory>" if u.source is None else repr(u.source)
        return (
            f"Tokenizer({source}, {u.n_regions} regions on {len(u.chroms)} "
            f"chromosomes, vocab_size={self.vocab_size})"
        )


def _tokenizer_from_universe(universe: Universe) -> Tokenizer:
    tok = Tokenizer.__new__(Tokenizer)
    tok._set_universe(universe)
    return tok


def _key_buffers(n: int) -> tuple[np.ndarray, np.ndarray] | None:
    """This thread's scratch buffers for ``gtars_keys`` of ``n`` rows (the keys are
    searched at once and dropped), or None for a large input (fresh arrays then)."""
    if n > SCRATCH_ROWS:
        return None
    return (scratch_array("order.keys", np.uint64, n), scratch_array("order.spare", np.uint64, n))


def _ranks_with(names: list[str], extra: list[str]) -> np.ndarray:
    """Ranks by name (as bytes) of the universe chromosomes followed by ``extra`` ones."""
    return chrom_ranks(names + extra)


# ---------------------------------------------------------------------- in-memory input


def _document_offsets(offsets: Any, n: int) -> np.ndarray:
    """``offsets`` as int64, checked: from 0 to ``n``, not decreasing."""
    arr = np.asarray(offsets)
    if arr.ndim != 1 or arr.shape[0] < 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise ValueError("offsets must be a 1-d array of integers, n_docs + 1 long")
    offs = arr.astype(np.int64)
    if offs[0] != 0 or offs[offs.shape[0] - 1] != n or np.any(np.diff(offs) < 0):
        raise ValueError(f"offsets must not decrease, from 0 to the number of regions ({n})")
    return offs
