"""A map-style dataset over ``.gtok`` token files and packs (docs/semantics.md §1, §3, §5).

:class:`GtokDataset` turns a folder of ``.gtok`` files, a list of files and packs, or a
batch manifest into one sequence of documents (one region set each): ``len(ds)``,
``ds[i]`` (a zero-copy, read-only view of the mapped ids) and ``for ids in ds``. It is what
geniml's ``Region2VecDataset`` is for a folder of ``.gtok`` files, plus packs, a universe
check, and the properties a PyTorch ``DataLoader`` needs: it pickles small, keeps no file
descriptor open and works in forked and spawned worker processes. The samplers and the
iterable dataset for multi-process, multi-GPU training are in :mod:`gtok.train.torchdata`.

Decisions
---------
- **Order.** A folder is searched recursively; its ``.gtok`` files (any case) are taken in
  sorted order of their path components (the files of a subfolder stay together). Hidden
  files and folders (name starting with ``.``, e.g. the temporary files of an interrupted
  write) and manifests are skipped. A list keeps its order; a manifest gives the outputs of
  its ``ok`` and ``skipped`` entries in manifest order. A pack contributes its documents in
  pack order, where it stands.
- **Opening.** Construction reads the first 5 bytes of every file (a pack and a token
  file differ there, and a file that is not a ``.gtok`` file fails now, naming it) and
  opens each pack (O(1): header, trailer, and no pre-faulting of its pages). No token of
  a version-1 file is read until it is asked for, and ``len()`` is then a sum.
- **Views.** ``ds[i]`` memory-maps a version-1 file on each call (no descriptor is kept; the
  view keeps its own mapping alive, so it outlives the dataset) or returns a view of an open
  pack. Ids are ``uint16`` or ``uint32`` as stored; a version-1 view is unaligned (byte 5).
- **Universe.** With ``tokenizer=``, every fingerprint recorded for the files (pack headers,
  the manifest of a manifest source, ``gtok-manifest*.json`` files found in a folder source)
  must equal ``tokenizer.fingerprint``, else :class:`~gtok.errors.FingerprintMismatchError`
  names both. Files for which nothing is recorded (plain ``.gtok`` files outside any
  manifest) get one :class:`~gtok.errors.UncheckedUniverseWarning`. Without a tokenizer,
  recorded fingerprints must still agree with each other (one dataset, one universe).
- **Pickling.** A dataset pickles as its source and a digest of its file list, not as its
  list, arrays or open packs: the new process lists the folder (or reads the manifest)
  again on first use, checks the digest (:class:`~gtok.errors.SourceChangedError` if the
  files changed) and reopens packs lazily. A list source pickles its paths (compressed).
"""

from __future__ import annotations

import bisect
import hashlib
import operator
import os
import sys
import warnings
import zlib
from collections.abc import Iterable, Iterator, Sequence
from types import FrameType
from typing import Any, Union

import numpy as np

from gtok.errors import FingerprintMismatchError, SourceChangedError, UncheckedUniverseWarning
from gtok.io.container import HEADER_SIZE, check_v1, is_pack, map_file, sniff_path
from gtok.io.manifest import done_outputs, is_manifest_name, load_manifest
from gtok.io.pack import GtokPack
from gtok.train.order import nonneg_int

__all__ = ["GtokDataset"]

PathLike = Union[str, "os.PathLike[str]"]

_DONE = ("ok", "skipped")
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # gtok/


class GtokDataset:
    """Documents of ``.gtok`` files and packs as one indexable, iterable sequence.

    Parameters
    ----------
    source : path or sequence of paths
        - a folder: its ``.gtok`` files, recursively, in sorted order (hidden files and
          manifests skipped; manifests found there are used for the universe check);
        - a batch manifest (``gtok-manifest*.json``, written by ``gtok tokenize``): the
          outputs of its ``ok``/``skipped`` entries, in manifest order;
        - one ``.gtok`` file or pack;
        - a list of ``.gtok`` files and/or packs, in the given order.

        A version-1 file is one document; a pack contributes each of its documents.
    tokenizer : Tokenizer, optional
        Check that the tokens were made with this tokenizer's universe (see the module
        docs): raises :class:`~gtok.errors.FingerprintMismatchError` naming both
        fingerprints on a mismatch, warns :class:`~gtok.errors.UncheckedUniverseWarning` for
        files that record no universe. Only its fingerprint and vocab size are kept.
    shuffle_regions : bool, default False
        Return each document's ids in a random order, a function of ``(seed, epoch,
        index)`` only (``np.random.default_rng([seed, epoch, index])``): the same in any
        process, different each :meth:`set_epoch`. The shuffled ids are a new array (the
        only case where ``ds[i]`` copies).
    seed : int, default 0
        Non-negative seed of ``shuffle_regions``.

    Attributes
    ----------
    fingerprint : str or None
        The universe fingerprint recorded for the files (pack headers, manifests), or None.
    vocab_size : int or None
        The tokenizer's vocabulary size, else the one recorded (pack header, manifest).
    epoch : int
        The epoch set by :meth:`set_epoch` (used by ``shuffle_regions``).

    Raises
    ------
    FileNotFoundError, IsADirectoryError
        A missing file, a folder without ``.gtok`` files, a folder inside a list.
    gtok.errors.GtokFormatError
        A file that is not a ``.gtok`` file or pack (a ``ValueError``).
    gtok.errors.FingerprintMismatchError
        The files were tokenized with another universe than ``tokenizer``'s (or with
        different universes).

    Examples
    --------
    >>> import os, tempfile
    >>> from gtok import GtokDataset, write_gtok, write_pack
    >>> folder = tempfile.mkdtemp()
    >>> write_gtok(os.path.join(folder, "a.gtok"), [42, 101, 99])
    >>> write_gtok(os.path.join(folder, "b.gtok"), [7])
    >>> ds = GtokDataset(folder)
    >>> len(ds), ds[0].tolist(), ds[-1].flags.writeable
    (2, [42, 101, 99], False)
    >>> for ids in ds:
    ...     print(ids)
    [ 42 101  99]
    [7]

    Packs and files mix in a list; a pack gives each of its documents:

    >>> pack = os.path.join(folder, "cells.pack")
    >>> write_pack(pack, [[1, 2], [3], [4, 5, 6]])
    >>> ds = GtokDataset([pack, os.path.join(folder, "b.gtok")])
    >>> len(ds), [ids.tolist() for ids in ds]
    (4, [[1, 2], [3], [4, 5, 6], [7]])

    Shuffled regions are reproducible per (seed, epoch, index):

    >>> ds = GtokDataset(os.path.join(folder, "a.gtok"), shuffle_regions=True, seed=1)
    >>> sorted(ds[0].tolist()), ds[0].tolist() == ds[0].tolist()
    ([42, 99, 101], True)
    """

    def __init__(
        self,
        source: PathLike | Sequence[PathLike],
        *,
        tokenizer: Any = None,
        shuffle_regions: bool = False,
        seed: int = 0,
    ) -> None:
        self.seed = nonneg_int("seed", seed)
        self.shuffle_regions = bool(shuffle_regions)
        self.epoch = 0
        self._packs: dict[int, GtokPack] = {}

        kind, where, paths, manifests = _resolve_source(source)
        self._kind = kind  # "folder" | "manifest" | "paths"
        self._where = where  # the folder or manifest (absolute); None for "paths"
        self._paths: list[str] | None = paths
        self._digest = _digest(paths)
        counts = np.empty(len(paths), dtype=np.int64)  # documents; -1 for a version-1 file
        for f, path in enumerate(paths):
            if _sniff_is_pack(path):
                pack = _open_pack(path)
                self._packs[f] = pack
                counts[f] = pack.n_docs
            else:
                counts[f] = -1
        self._set_counts(counts)

        recorded = self._recorded_universes(manifests)
        expected = getattr(tokenizer, "fingerprint", None) if tokenizer is not None else None
        if tokenizer is not None and not isinstance(expected, str):
            raise TypeError(
                "tokenizer must be a gtok Tokenizer (an object with a "
                f".fingerprint string), not {type(tokenizer).__name__}"
            )
        self._check_universe(recorded, expected, len(paths))
        self._expected = expected
        self.fingerprint: str | None = (
            expected if expected is not None else next((fp for _, fp, _ in recorded), None)
        )
        vocab = None
        if tokenizer is not None:
            vocab = int(tokenizer.vocab_size)
        else:
            vocab = next((v for _, _, v in recorded if v), None)
        self.vocab_size: int | None = vocab

    # ------------------------------------------------------------------ construction

    def _set_counts(self, counts: np.ndarray) -> None:
        self._counts = counts
        self._is_pack = (counts >= 0).tolist()
        if not any(self._is_pack):
            self._starts: list[int] | None = None  # every file is one document
            self._n = int(counts.size)
        else:
            docs = np.where(counts >= 0, counts, 1)
            starts = np.zeros(counts.size + 1, dtype=np.int64)
            np.cumsum(docs, out=starts[1:])
            self._starts = starts.tolist()
            self._n = int(starts[-1])

    def _recorded_universes(
        self, manifests: list[tuple[str, dict | None]]
    ) -> list[tuple[str, str, int | None]]:
        """Every recorded ``(where, fingerprint, vocab_size)``; also notes the files for
        which nothing is recorded (``self._unchecked``)."""
        paths = self._paths
        assert paths is not None
        recorded: list[tuple[str, str, int | None]] = []
        covered: set[str] = set()
        for mpath, data in manifests:
            if data is not None:  # the manifest is the source
                outputs = paths
            else:  # a manifest found in a folder: one that cannot be read covers nothing
                try:
                    data = load_manifest(mpath)
                    outputs = done_outputs(mpath, data, strict=False)
                except (OSError, ValueError):
                    continue
            universe = data.get("universe")
            universe = universe if isinstance(universe, dict) else {}
            fp = universe.get("fingerprint")
            if self._kind == "manifest":
                mine = outputs  # the manifest is the source: all of it is used
            else:
                present = set(outputs)
                mine = [p for p in paths if p in present]
            if fp and mine:
                vocab = universe.get("vocab_size")
                recorded.append((mpath, fp, vocab if isinstance(vocab, int) else None))
                covered.update(mine)
        self._unchecked = []
        for f, path in enumerate(paths):
            pack = self._packs.get(f)
            if pack is not None and pack.fingerprint is not None:
                recorded.append((path, pack.fingerprint, pack.vocab_size))
            elif path not in covered:
                self._unchecked.append(path)
        return recorded

    def _check_universe(
        self, recorded: list[tuple[str, str, int | None]], expected: str | None, n_files: int
    ) -> None:
        if expected is not None:
            for where, fp, _ in recorded:
                if fp != expected:
                    raise FingerprintMismatchError(where, expected, fp)
            if self._unchecked:
                k = len(self._unchecked)
                _warn(
                    f"{k} of {n_files} file(s) (e.g. {self._unchecked[0]}) record no "
                    "universe (a version-1 .gtok file holds only ids; packs and the "
                    "gtok-manifest.json of a batch run record it): they cannot be checked "
                    "against the tokenizer's universe (give the output folder or its "
                    "manifest as the source, or use packs)",
                    UncheckedUniverseWarning,
                )
        elif recorded:
            where0, fp0, _ = recorded[0]
            for where, fp, _ in recorded[1:]:
                if fp != fp0:
                    raise FingerprintMismatchError(where, fp0, fp, reference=where0)

    # ------------------------------------------------------------------ access

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, index: int) -> np.ndarray:
        """Document ``index`` (negative counts from the end): a read-only ``uint16`` or
        ``uint32`` view of the mapped file, no copy (a shuffled copy with
        ``shuffle_regions``)."""
        i = operator.index(index)
        n = self._n
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"document {index} out of range (the dataset has {n})")
        paths = self._paths if self._paths is not None else self._restore_paths()
        starts = self._starts
        if starts is None:
            ids = _read_v1(paths[i])
        else:
            f = bisect.bisect_right(starts, i) - 1
            if self._is_pack[f]:
                ids = self._pack(f).doc(i - starts[f])
            else:
                ids = _read_v1(paths[f])
        if self.shuffle_regions:
            rng = np.random.default_rng([self.seed, self.epoch, i])
            ids = ids[rng.permutation(ids.shape[0])]  # = rng.permutation(ids), from a view
        return ids

    def __iter__(self) -> Iterator[np.ndarray]:
        """The documents in index order (as ``ds[0]``, ``ds[1]``, ...)."""
        for i in range(self._n):
            yield self[i]

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch: ``shuffle_regions`` gives another order in each epoch.

        With DataLoader worker processes, call it before the epoch's loop starts (before
        ``iter(loader)``): workers get a copy of the dataset when the loop starts, and
        persistent workers (``persistent_workers=True``) keep the copy of the first epoch.
        """
        self.epoch = nonneg_int("epoch", epoch)

    def locate(self, index: int) -> tuple[str, int | None]:
        """Where document ``index`` is stored: ``(path, None)`` for a version-1 file,
        ``(path, document number)`` for a pack."""
        i = operator.index(index)
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError(f"document {index} out of range (the dataset has {self._n})")
        paths = self._paths if self._paths is not None else self._restore_paths()
        if self._starts is None:
            return paths[i], None
        f = bisect.bisect_right(self._starts, i) - 1
        return paths[f], (i - self._starts[f] if self._is_pack[f] else None)

    @property
    def files(self) -> list[str]:
        """The files (absolute paths), in dataset order."""
        paths = self._paths if self._paths is not None else self._restore_paths()
        return list(paths)

    @property
    def source(self) -> str | None:
        """The folder or manifest the dataset was made from (None for a list)."""
        return self._where

    def _pack(self, f: int) -> GtokPack:
        pack = self._packs.get(f)
        if pack is None:
            assert self._paths is not None
            path = self._paths[f]
            pack = _open_pack(path)
            if pack.n_docs != int(self._counts[f]):
                raise SourceChangedError(
                    path,
                    f"pack now has {pack.n_docs} documents, not "
                    f"{int(self._counts[f])} as when the dataset "
                    "was made",
                )
            self._packs[f] = pack
        return pack

    # ------------------------------------------------------------------ pickling

    def __getstate__(self) -> dict[str, Any]:
        state = {
            "v": 1,
            "kind": self._kind,
            "where": self._where,
            "digest": self._digest,
            "counts": _pack_ints(self._counts),
            "seed": self.seed,
            "epoch": self.epoch,
            "shuffle_regions": self.shuffle_regions,
            "fingerprint": self.fingerprint,
            "expected": self._expected,
            "vocab_size": self.vocab_size,
        }
        if self._kind == "paths":
            paths = self._paths if self._paths is not None else self._restore_paths()
            state["paths"] = zlib.compress("\0".join(paths).encode("utf-8", "surrogateescape"))
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._kind = state["kind"]
        self._where = state["where"]
        self._digest = state["digest"]
        self.seed = state["seed"]
        self.epoch = state["epoch"]
        self.shuffle_regions = state["shuffle_regions"]
        self.fingerprint = state["fingerprint"]
        self._expected = state["expected"]
        self.vocab_size = state["vocab_size"]
        self._unchecked = []
        self._packs = {}
        self._paths = None
        if "paths" in state:
            text = zlib.decompress(state["paths"]).decode("utf-8", "surrogateescape")
            self._paths = text.split("\0") if text else []
        self._set_counts(_unpack_ints(state["counts"]))

    def _restore_paths(self) -> list[str]:
        """List the folder (or read the manifest) again, in a process that unpickled the
        dataset; the list must be the one the dataset was made from."""
        assert self._where is not None
        if self._kind == "folder":
            paths, _ = _scan_folder(self._where)
        else:
            paths = done_outputs(self._where, load_manifest(self._where))
        if _digest(paths) != self._digest or len(paths) != self._counts.size:
            what = "folder" if self._kind == "folder" else "manifest"
            raise SourceChangedError(
                self._where,
                f"the {what} now lists {len(paths)} .gtok file(s), not the "
                f"{self._counts.size} the dataset was made from (files were added, removed "
                "or renamed): make the dataset again",
            )
        self._paths = paths
        return paths

    def __repr__(self) -> str:
        where = self._where if self._where is not None else f"{self._counts.size} file(s)"
        return (
            f"<GtokDataset {where!s}: {self._n} documents"
            f"{', shuffle_regions' if self.shuffle_regions else ''}>"
        )


# ---------------------------------------------------------------------------- sources


def _resolve_source(
    source: Any,
) -> tuple[str, str | None, list[str], list[tuple[str, dict | None]]]:
    """``(kind, where, files, manifests)`` for a dataset source; each manifest comes with
    its parsed content when it was already read."""
    if isinstance(source, (str, os.PathLike)):
        path = os.path.abspath(os.fspath(source))
        if os.path.isdir(path):
            files, manifests = _scan_folder(path)
            if not files:
                raise FileNotFoundError(f"{os.fspath(source)}: folder holds no .gtok files")
            return "folder", path, files, [(m, None) for m in manifests]
        if not os.path.exists(path):
            raise FileNotFoundError(f"{os.fspath(source)}: no such file or folder")
        if is_manifest_name(os.path.basename(path)):
            data = load_manifest(path)
            return "manifest", path, done_outputs(path, data), [(path, data)]
        return "paths", None, [path], []
    if isinstance(source, (bytes, bytearray)) or not isinstance(source, Iterable):
        raise TypeError(
            "source must be a folder, a .gtok file or pack, a gtok manifest, or "
            f"a list of .gtok files and packs; not {type(source).__name__}"
        )
    files = []
    for item in source:
        if not isinstance(item, (str, os.PathLike)):
            raise TypeError(f"source lists {item!r}: expected paths of .gtok files or packs")
        path = os.path.abspath(os.fspath(item))
        if os.path.isdir(path):
            raise IsADirectoryError(
                f"{os.fspath(item)}: a folder inside a list of files; "
                "give the folder itself as the source instead"
            )
        files.append(path)
    return "paths", None, files, []


def _component_key(root: str) -> Any:
    skip = len(root if root.endswith(os.sep) else root + os.sep)
    return lambda p: p[skip:].split(os.sep)


def _scan_folder(root: str) -> tuple[list[str], list[str]]:
    """The ``.gtok`` files under ``root`` in sorted component order, and the manifests."""
    files: list[str] = []
    manifests: list[str] = []
    seen: set[str] = set()

    def fail(err: OSError) -> None:
        raise err

    for folder, dirs, names in os.walk(root, onerror=fail, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:  # a symlink loop, or a folder reached twice
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in names:
            if name.startswith("."):
                continue
            if name.lower().endswith(".gtok"):
                files.append(os.path.join(folder, name))
            elif is_manifest_name(name):
                manifests.append(os.path.join(folder, name))
    key = _component_key(root)
    files.sort(key=key)
    manifests.sort(key=key)
    return files, manifests


# ---------------------------------------------------------------------------- files


def _sniff_is_pack(path: str) -> bool:
    return sniff_path(path) == "pack"


def _open_pack(path: str) -> GtokPack:
    # Mapped lazily: opening stays O(1) even for packs below the pre-fault limit (a
    # dataset over many packs would otherwise read them all when it is made, and again in
    # each spawned worker); documents are faulted in as they are read.
    mapping = map_file(path, populate=False)
    if not is_pack(mapping):
        raise SourceChangedError(path, "is no longer a pack")
    return GtokPack(mapping)


def _read_v1(path: str) -> np.ndarray:
    mapping = map_file(path)
    if is_pack(mapping):
        raise SourceChangedError(path, "is now a pack, not a version-1 .gtok file")
    dtype, n = check_v1(mapping)
    return mapping.view(dtype, n, HEADER_SIZE)


# ---------------------------------------------------------------------------- helpers


def _digest(paths: Sequence[str]) -> str:
    h = hashlib.blake2b(digest_size=16)
    for p in paths:
        h.update(p.encode("utf-8", "surrogateescape"))
        h.update(b"\0")
    return h.hexdigest()


def _pack_ints(arr: np.ndarray) -> bytes:
    return zlib.compress(np.ascontiguousarray(arr, dtype="<i8").tobytes())


def _unpack_ints(blob: bytes) -> np.ndarray:
    return np.frombuffer(zlib.decompress(blob), dtype="<i8").astype(np.int64)


def _warn(message: str, category: type[Warning]) -> None:
    """Warn, attributed to the first caller outside the gtok package."""
    frame: FrameType | None
    level, frame = 2, sys._getframe(1)  # stacklevel 2 is our caller
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(
        _PACKAGE_DIR + os.sep
    ):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)
