"""Epoch orders for distributed training, resumable, without torch.

The order of an epoch is a pure function of ``(seed, epoch)`` (NumPy's ``SeedSequence``),
split among ranks as ``torch.utils.data.DistributedSampler`` splits it. The torch classes
of :mod:`gtok.train.torchdata` use it; so can JAX or a plain loop.
"""

from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np

__all__ = ["rank_indices", "samples_per_rank", "nonneg_int"]


def nonneg_int(name: str, value: Any) -> int:
    """``value`` as an ``int``; ``TypeError``/``ValueError`` naming ``name`` unless it is a
    non-negative integer."""
    try:
        v = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, not {type(value).__name__}") from None
    if v < 0:
        raise ValueError(f"{name} must be >= 0, not {v}")
    return v


def samples_per_rank(n: int, num_replicas: int = 1, drop_last: bool = False) -> int:
    """How many indices each rank gets in an epoch over ``n`` documents.

    ``ceil(n / num_replicas)`` (the order is padded by wrapping around), or
    ``n // num_replicas`` with ``drop_last`` (the tail is dropped).

    >>> samples_per_rank(10, 3), samples_per_rank(10, 3, drop_last=True)
    (4, 3)
    """
    n = nonneg_int("n", n)
    num_replicas = nonneg_int("num_replicas", num_replicas)
    if num_replicas < 1:
        raise ValueError(f"num_replicas must be >= 1, not {num_replicas}")
    return n // num_replicas if drop_last else math.ceil(n / num_replicas)


def rank_indices(
    n: int,
    *,
    epoch: int = 0,
    seed: int = 0,
    shuffle: bool = True,
    num_replicas: int = 1,
    rank: int = 0,
    drop_last: bool = False,
) -> np.ndarray:
    """The document indices rank ``rank`` visits in epoch ``epoch``, in order.

    The full order is ``np.random.default_rng([seed, epoch]).permutation(n)`` (or
    ``arange(n)`` without ``shuffle``), padded by wrapping around to a multiple of
    ``num_replicas`` (or cut to one with ``drop_last``); rank ``r`` takes every
    ``num_replicas``-th index from position ``r``. A pure function of its arguments.

    Returns
    -------
    numpy.ndarray
        ``int64``, :func:`samples_per_rank` long.

    Examples
    --------
    >>> rank_indices(5, shuffle=False, num_replicas=2, rank=1).tolist()
    [1, 3, 0]
    >>> a = rank_indices(8, epoch=0, seed=1); b = rank_indices(8, epoch=1, seed=1)
    >>> sorted(a.tolist()) == sorted(b.tolist()) == list(range(8)), a.tolist() != b.tolist()
    (True, True)
    """
    num_samples = samples_per_rank(n, num_replicas, drop_last)
    rank = nonneg_int("rank", rank)
    if rank >= num_replicas:
        raise ValueError(f"rank must be in 0..{num_replicas - 1}, not {rank}")
    seed = nonneg_int("seed", seed)
    epoch = nonneg_int("epoch", epoch)
    if shuffle:
        order = np.random.default_rng([seed, epoch]).permutation(n)
    else:
        order = np.arange(n, dtype=np.int64)
    total = num_samples * num_replicas
    if total > n:  # pad by wrapping around (n > 0 here)
        order = np.resize(order, total)
    return order[rank:total:num_replicas].astype(np.int64, copy=False)
