"""The torch classes of :mod:`gtok.train.torchdata` (imports torch; import that module instead).

Both classes report ``__module__ == "gtok.train.torchdata"``: that is where users (and pickle)
find them, through the module's lazy attributes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
import torch.utils.data

from gtok.train.dataset import GtokDataset
from gtok.train.order import nonneg_int, rank_indices, samples_per_rank

__all__ = ["GtokSampler", "GtokIterableDataset"]

_STATE_VERSION = 1


def _dist_defaults(num_replicas: int | None, rank: int | None) -> tuple[int, int]:
    """World size and rank: given, else from an initialised torch.distributed, else 1/0."""
    dist = torch.distributed
    ready = dist.is_available() and dist.is_initialized()
    if num_replicas is None:
        num_replicas = dist.get_world_size() if ready else 1
    if rank is None:
        rank = dist.get_rank() if ready else 0
    num_replicas = nonneg_int("num_replicas", num_replicas)
    rank = nonneg_int("rank", rank)
    if num_replicas < 1:
        raise ValueError(f"num_replicas must be >= 1, not {num_replicas}")
    if rank >= num_replicas:
        raise ValueError(f"rank must be in 0..{num_replicas - 1}, not {rank}")
    return num_replicas, rank


class _Position:
    """Where a rank is in its epoch order, and what a state records (shared logic).

    ``_offset`` is where the current pass started (or the next pass will start);
    ``_yielded`` counts what this process handed out in the current pass; ``_started``
    says whether a pass began since the last ``set_epoch``/``load_state_dict``.
    """

    n: int
    seed: int
    epoch: int
    shuffle: bool
    drop_last: bool
    num_replicas: int
    rank: int

    def _init_position(self) -> None:
        self.epoch = 0
        self._offset = 0
        self._yielded = 0
        self._started = False

    @property
    def num_samples(self) -> int:
        """Indices this rank visits in a whole epoch (equal on every rank)."""
        return samples_per_rank(self.n, self.num_replicas, self.drop_last)

    def _order(self) -> np.ndarray:
        return rank_indices(
            self.n,
            epoch=self.epoch,
            seed=self.seed,
            shuffle=self.shuffle,
            num_replicas=self.num_replicas,
            rank=self.rank,
            drop_last=self.drop_last,
        )

    def _begin_pass(self) -> int:
        """Start a pass; return the position it starts at."""
        if self._started:  # a second pass over the same epoch starts from the beginning
            self._offset = 0
        self._started = True
        self._yielded = 0
        return self._offset

    def _set_epoch(self, epoch: int) -> None:
        epoch = nonneg_int("epoch", epoch)
        if epoch != self.epoch:
            self._offset = 0
        self.epoch = epoch
        self._yielded = 0
        self._started = False

    def _remaining(self) -> int:
        return self.num_samples - (0 if self._started else self._offset)

    def _state(self, consumed: int | None) -> dict[str, Any]:
        if consumed is None:
            consumed = self._yielded
        consumed = nonneg_int("consumed", consumed)
        position = self._offset + consumed
        if position > self.num_samples:
            raise ValueError(
                f"consumed={consumed} from a pass that started at sample "
                f"{self._offset} is past the end of the epoch "
                f"({self.num_samples} samples per rank)"
            )
        return {
            "version": _STATE_VERSION,
            "seed": self.seed,
            "epoch": self.epoch,
            "consumed": position,
            "n": self.n,
            "num_replicas": self.num_replicas,
            "shuffle": self.shuffle,
            "drop_last": self.drop_last,
        }

    def _load(self, state: dict[str, Any]) -> None:
        try:
            version, _n = state["version"], state["n"]
            seed, epoch, consumed = state["seed"], state["epoch"], state["consumed"]
        except (KeyError, TypeError):
            raise ValueError(
                "not a gtok sampler state (expected the dict of state_dict())"
            ) from None
        if version != _STATE_VERSION:
            raise ValueError(f"state version {version} is not supported")
        for key, mine in (
            ("n", self.n),
            ("num_replicas", self.num_replicas),
            ("shuffle", self.shuffle),
            ("drop_last", self.drop_last),
        ):
            if key in state and state[key] != mine:
                raise ValueError(
                    f"the state was saved with {key}={state[key]!r}, this one has {key}="
                    f"{mine!r}: the order would differ, so it cannot resume exactly"
                )
        seed, epoch, consumed = (
            nonneg_int(k, v) for k, v in (("seed", seed), ("epoch", epoch), ("consumed", consumed))
        )
        if consumed > self.num_samples:
            raise ValueError(
                f"consumed={consumed} is past the end of the epoch "
                f"({self.num_samples} samples per rank)"
            )
        self.seed, self.epoch, self._offset = seed, epoch, consumed
        self._yielded = 0
        self._started = False


class GtokSampler(_Position, torch.utils.data.Sampler):
    """A distributed, resumable index sampler for map-style datasets.

    Like :class:`torch.utils.data.DistributedSampler` (equal counts per rank, padding by
    wrapping around unless ``drop_last``), but the order is a pure function of ``(seed,
    epoch)`` (:func:`gtok.train.torchdata.rank_indices`) and it can resume mid-epoch exactly
    (:meth:`state_dict`, :meth:`load_state_dict`). Works without a process group: give
    ``num_replicas`` and ``rank``.

    Parameters
    ----------
    dataset_or_len : Sized or int
        The dataset (anything with ``len()``) or its length. If it has ``set_epoch`` (a
        :class:`~gtok.GtokDataset`), :meth:`set_epoch` calls it too.
    shuffle : bool, default True
        Shuffle the order each epoch; else ``0, 1, 2, ...`` (split across ranks).
    seed : int, default 0
        Non-negative; the same on every rank.
    num_replicas, rank : int, optional
        Default: ``torch.distributed``'s world size and rank when it is initialised, else
        1 and 0.
    drop_last : bool, default False
        Drop the tail that does not divide evenly among ranks instead of padding.

    Examples
    --------
    >>> from gtok.train.torchdata import GtokSampler
    >>> s = GtokSampler(10, seed=0, num_replicas=2, rank=1)
    >>> len(s), sorted(set(s) | set(GtokSampler(10, num_replicas=2, rank=0))) == list(range(10))
    (5, True)
    >>> it = iter(s); first = [next(it), next(it)]
    >>> state = s.state_dict()        # 2 indices consumed (num_workers=0: exact)
    >>> state["consumed"]
    2
    >>> t = GtokSampler(10, seed=0, num_replicas=2, rank=1); t.load_state_dict(state)
    >>> list(t) == list(s)[2:]
    True
    """

    def __init__(
        self,
        dataset_or_len: Any,
        *,
        shuffle: bool = True,
        seed: int = 0,
        num_replicas: int | None = None,
        rank: int | None = None,
        drop_last: bool = False,
    ) -> None:
        if isinstance(dataset_or_len, (int, np.integer)):
            self.n = nonneg_int("dataset_or_len", dataset_or_len)
            self._dataset = None
        else:
            self.n = len(dataset_or_len)
            self._dataset = dataset_or_len
        self.num_replicas, self.rank = _dist_defaults(num_replicas, rank)
        self.shuffle = bool(shuffle)
        self.seed = nonneg_int("seed", seed)
        self.drop_last = bool(drop_last)
        self._init_position()

    def __iter__(self) -> Iterator[int]:
        """This rank's indices for the epoch, from the resume position (if any)."""
        start = self._begin_pass()
        for i in self._order()[start:].tolist():
            self._yielded += 1
            yield i

    def __len__(self) -> int:
        """Indices the next pass yields (fewer than ``num_samples`` after a resume)."""
        return self._remaining()

    def set_epoch(self, epoch: int) -> None:
        """Use the order of ``epoch`` (call it before each epoch); also sets the dataset's
        epoch when the sampler was given a dataset with ``set_epoch``."""
        self._set_epoch(epoch)
        if self._dataset is not None and hasattr(self._dataset, "set_epoch"):
            self._dataset.set_epoch(self.epoch)

    def state_dict(self, consumed: int | None = None) -> dict[str, Any]:
        """The position to resume from: ``{"seed", "epoch", "consumed", ...}``.

        Parameters
        ----------
        consumed : int, optional
            Samples your loop took from the current pass (since ``iter(loader)``; for
            batches of ``B``, ``(step + 1) * B``). Default: the indices this sampler
            yielded in the current pass, exact with ``num_workers=0``. DataLoader workers
            prefetch indices ahead of the loop, so with workers pass it (the DataLoader
            keeps the sampler's order, so the count is exact).

        Returns
        -------
        dict
            ``seed``, ``epoch`` and ``consumed``, counted from the start of the epoch (a
            resumed pass adds the position it started at); also ``n``, ``num_replicas``,
            ``shuffle`` and ``drop_last``, which :meth:`load_state_dict` checks.
        """
        return self._state(consumed)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Resume: the next pass over ``state["epoch"]`` (with ``state["seed"]``) starts at
        sample ``state["consumed"]`` of this rank's order. ``ValueError`` if the state
        was saved for another dataset size, number of replicas, ``shuffle`` or
        ``drop_last``."""
        self._load(state)
        if self._dataset is not None and hasattr(self._dataset, "set_epoch"):
            self._dataset.set_epoch(self.epoch)

    def __repr__(self) -> str:
        return (
            f"<GtokSampler n={self.n} rank={self.rank}/{self.num_replicas} "
            f"epoch={self.epoch} seed={self.seed} shuffle={self.shuffle}>"
        )


class GtokIterableDataset(_Position, torch.utils.data.IterableDataset):
    """An iterable dataset over ``.gtok`` files and packs that shards itself by rank, then
    by DataLoader worker, and resumes mid-epoch.

    Each rank visits the same order as :class:`GtokSampler` would give it
    (:func:`gtok.train.torchdata.rank_indices`: equal counts per rank). Within a rank,
    DataLoader workers take turns by blocks of ``batch_size`` samples: worker ``w`` of
    ``W`` takes blocks ``w, w + W, ...``. The DataLoader collects one batch from each
    worker in turn, so with ``batch_size`` equal to the DataLoader's, the batches come
    out in exactly this rank's order, with any number of workers, and a state saved from
    the count of consumed samples resumes exactly. (With another ``batch_size`` every
    document still comes once per epoch; only the order, and so the exactness of a
    resume, is lost.)

    Parameters
    ----------
    source : path, list of paths, or GtokDataset
        What :class:`~gtok.GtokDataset` accepts, or a ready one (then ``tokenizer`` and
        ``shuffle_regions`` are its own and must not be given).
    shuffle : bool, default True
        Shuffle the document order each epoch.
    seed : int, default 0
        Seeds the document order and ``shuffle_regions``.
    rank, world_size : int, optional
        Default: ``torch.distributed``'s when it is initialised, else 0 and 1.
    drop_last : bool, default False
        Drop the tail that does not divide among ranks instead of padding by wrapping.
    tokenizer : Tokenizer, optional
        Check the universe (see :class:`~gtok.GtokDataset`).
    shuffle_regions : bool, default False
        Shuffle the ids within each document (see :class:`~gtok.GtokDataset`).
    batch_size : int, default 1
        The DataLoader's ``batch_size`` (the block workers take turns by).

    Notes
    -----
    Workers get a copy of this object when the DataLoader's loop starts, so call
    :meth:`set_epoch` (and :meth:`load_state_dict`) before ``iter(loader)``, and do not
    use ``persistent_workers=True`` (its workers would keep the first epoch). With
    workers, the copies iterate, not this object: give ``state_dict(consumed=...)``.

    Examples
    --------
    >>> import os, tempfile
    >>> from gtok import write_pack
    >>> from gtok.train.torchdata import GtokIterableDataset, rank_indices
    >>> path = os.path.join(tempfile.mkdtemp(), "docs.gtok")
    >>> write_pack(path, [[i] for i in range(6)])
    >>> ds = GtokIterableDataset(path, seed=0, rank=0, world_size=2)
    >>> [int(ids[0]) for ids in ds] == rank_indices(6, num_replicas=2, rank=0).tolist()
    True
    """

    def __init__(
        self,
        source: Any,
        *,
        shuffle: bool = True,
        seed: int = 0,
        rank: int | None = None,
        world_size: int | None = None,
        drop_last: bool = False,
        tokenizer: Any = None,
        shuffle_regions: bool = False,
        batch_size: int = 1,
    ) -> None:
        self.seed = nonneg_int("seed", seed)
        if isinstance(source, GtokDataset):
            if tokenizer is not None or shuffle_regions:
                raise ValueError(
                    "give tokenizer= and shuffle_regions= to the GtokDataset "
                    "itself, not with a ready GtokDataset"
                )
            self.dataset = source
        else:
            self.dataset = GtokDataset(
                source, tokenizer=tokenizer, shuffle_regions=shuffle_regions, seed=self.seed
            )
        self.n = len(self.dataset)
        self.num_replicas, self.rank = _dist_defaults(world_size, rank)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.batch_size = nonneg_int("batch_size", batch_size)
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, not {self.batch_size}")
        self._init_position()

    @property
    def world_size(self) -> int:
        """The number of ranks (``num_replicas``)."""
        return self.num_replicas

    def _positions(self, start: int, count: int) -> np.ndarray:
        """Positions (from ``start``) of this worker's share of ``count`` samples."""
        info = torch.utils.data.get_worker_info()
        if info is None or info.num_workers <= 1:
            return np.arange(start, start + count)
        pos = np.arange(count)
        return start + pos[(pos // self.batch_size) % info.num_workers == info.id]

    def __iter__(self) -> Iterator[np.ndarray]:
        """This rank's (and worker's) documents for the epoch, from the resume position."""
        start = self._begin_pass()
        order = self._order()
        ds = self.dataset
        for p in self._positions(start, order.size - start).tolist():
            ids = ds[int(order[p])]
            self._yielded += 1
            yield ids

    def __len__(self) -> int:
        """Documents this rank yields in the next pass (all its workers together)."""
        return self._remaining()

    def set_epoch(self, epoch: int) -> None:
        """Use the order (and region shuffle) of ``epoch``; call it before each epoch."""
        self._set_epoch(epoch)
        self.dataset.set_epoch(self.epoch)

    def state_dict(self, consumed: int | None = None) -> dict[str, Any]:
        """The position to resume from (see :meth:`GtokSampler.state_dict`).

        ``consumed``: the samples your loop took from the current pass. It may be left out
        only when this process iterated the dataset itself (``num_workers=0``); with
        workers, copies iterate, so leaving it out raises ``ValueError``.
        """
        if consumed is None and not self._started:
            raise ValueError(
                "this GtokIterableDataset has not been iterated in this process (DataLoader "
                "workers iterate copies of it), so it cannot count what was consumed: pass "
                "state_dict(consumed=<samples your loop took from this pass>)"
            )
        return self._state(consumed)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Resume: the next pass over ``state["epoch"]`` starts at sample
        ``state["consumed"]`` of this rank's order (split among workers as always, by
        blocks of ``batch_size`` from there)."""
        self._load(state)
        self.dataset.set_epoch(self.epoch)

    def __repr__(self) -> str:
        return (
            f"<GtokIterableDataset {self.dataset!r} rank={self.rank}/{self.num_replicas}"
            f" epoch={self.epoch} seed={self.seed} shuffle={self.shuffle}>"
        )


for _cls in (GtokSampler, GtokIterableDataset):
    _cls.__module__ = "gtok.train.torchdata"
del _cls
