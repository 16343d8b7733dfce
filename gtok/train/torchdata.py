"""PyTorch helpers: a resumable distributed sampler, a sharded iterable dataset, tensors.

Importing this module does not import torch; :class:`GtokSampler` and
:class:`GtokIterableDataset` import it when first used (an ``ImportError`` that says how
to install it if it is missing). :func:`rank_indices`, the order both of them use, needs
only NumPy (for JAX or plain loops).

Map-style training (a :class:`~gtok.GtokDataset` and a sampler)::

    from torch.utils.data import DataLoader
    from gtok import GtokDataset
    from gtok.train.torchdata import GtokSampler

    ds = GtokDataset("tokens/", tokenizer=tok)          # folder, manifest, packs...
    sampler = GtokSampler(ds, shuffle=True, seed=0)     # rank/world size from torch.distributed
    loader = DataLoader(ds, batch_size=32, sampler=sampler, num_workers=4,
                        collate_fn=collate)             # e.g. gtok.train.collate.PadCollator(...)
    for epoch in range(start_epoch, n_epochs):
        sampler.set_epoch(epoch)                        # also sets ds.set_epoch(epoch)
        for step, batch in enumerate(loader):
            ...
            if step % 1000 == 999:                      # checkpoint mid-epoch
                state = sampler.state_dict(consumed=(step + 1) * 32)

    # resume: build the same sampler, then
    sampler.load_state_dict(state)                      # the next pass starts where it stopped

Iterable-style training (the dataset shards itself by rank, then by worker)::

    from gtok.train.torchdata import GtokIterableDataset
    ids = GtokIterableDataset("tokens/", shuffle=True, seed=0, batch_size=32)
    loader = DataLoader(ids, batch_size=32, num_workers=4, collate_fn=collate)
    for epoch in ...:
        ids.set_epoch(epoch)
        for step, batch in enumerate(loader):
            ...
            state = ids.state_dict(consumed=(step + 1) * 32)

Rules both follow (the same as ``torch.utils.data.DistributedSampler``, but with an order
that is a pure function of ``(seed, epoch)`` through NumPy's ``SeedSequence``, so
``seed=0, epoch=1`` and ``seed=1, epoch=0`` differ):

- **Ranks.** Each of ``num_replicas`` ranks gets ``ceil(n / num_replicas)`` indices (the
  shuffled order is padded by wrapping around to a multiple of ``num_replicas``), or
  ``floor(n / num_replicas)`` with ``drop_last=True`` (the tail is dropped). Rank ``r``
  takes positions ``r, r + num_replicas, ...`` of the (padded) order.
- **Resume.** A state is ``(seed, epoch, consumed)``: ``consumed`` samples of this rank's
  order for that epoch were used. After ``load_state_dict`` the next pass over that epoch
  starts at sample ``consumed``; a later pass, or ``set_epoch`` with another epoch, starts
  at 0 again. Every rank consumes the same number of samples per step, so one state (say
  rank 0's) resumes every rank.
- **Counting.** ``state_dict()`` counts what was yielded, which is exact only when the
  process that calls it iterated itself (the sampler always does; the iterable dataset
  with ``num_workers=0``). DataLoader workers prefetch, so with workers pass
  ``state_dict(consumed=n)``, ``n`` = samples your loop took from the current pass (e.g.
  ``(step + 1) * batch_size``); the DataLoader keeps the order, so that is exact.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from gtok.train.order import rank_indices, samples_per_rank

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from gtok.train.torchclasses import GtokIterableDataset, GtokSampler

__all__ = ["GtokSampler", "GtokIterableDataset", "rank_indices", "samples_per_rank", "to_tensor"]

_LAZY = ("GtokSampler", "GtokIterableDataset")


def __getattr__(name: str) -> Any:
    # GtokSampler and GtokIterableDataset subclass torch classes: built on first access
    if name in _LAZY:
        _require_torch(f"gtok.train.torchdata.{name}")
        from gtok.train import torchclasses

        value = getattr(torchclasses, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'gtok.train.torchdata' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def _require_torch(what: str) -> Any:
    try:
        import torch
    except ImportError as exc:
        raise ImportError(
            f"{what} needs PyTorch, which is not installed here: "
            "pip install torch (or pip install 'gtok[torch]')"
        ) from exc
    return torch


def to_tensor(ids: Any, dtype: Any = None) -> torch.Tensor:
    """Token ids (a ``GtokDataset`` view, a list, an array) as a torch tensor.

    One copy, into ``int64`` (what ``torch.nn.Embedding`` takes) or ``dtype``; the result
    is writable and owns its memory, whatever the input (a read-only, unaligned view of a
    mapped file included).

    >>> to_tensor([3, 1, 2])
    tensor([3, 1, 2])
    """
    torch = _require_torch("gtok.train.torchdata.to_tensor")
    if dtype is None:
        dtype = torch.int64
    if isinstance(ids, torch.Tensor):
        return ids.to(dtype=dtype, copy=True)
    arr = np.asarray(ids)
    if arr.dtype.kind not in "iu":
        if arr.size:
            raise TypeError(f"token ids must be integers, not {arr.dtype}")
        arr = arr.astype(np.int64)
    # astype copies into aligned, writable, native int64 memory
    return torch.from_numpy(arr.astype(np.int64)).to(dtype=dtype)
