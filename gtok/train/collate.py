"""Training batches from token documents: padding, truncation and a ready ``collate_fn``.

The loops are in :mod:`gtok._lib._collate` (no GIL). Documents are any 1-D integer arrays:
views from :func:`gtok.read_gtok`, :class:`gtok.GtokDataset` items or pack documents.
Truncation to ``max_len`` keeps the head (default), a random contiguous window, or a random
subset of the ids in their original order; randomness comes from a seeded NumPy generator,
so a run is reproducible.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gtok._lib._collate import classify, fill
from gtok._lib._encode import id_range

__all__ = ["pad_batch", "flat_batch", "PadCollator", "PaddedBatch", "FlatBatch", "TRUNCATIONS"]

TRUNCATIONS = ("head", "random_window", "random_subset")
# element kinds of gtok._lib._collate.classify whose ids may not fit an int32 batch
_KIND_U32, _KIND_I64 = 1, 3
_I32 = np.iinfo(np.int32)


@dataclass
class PaddedBatch:
    """``input_ids`` (B, L), ``attention_mask`` (B, L) bool and ``lengths`` (B,) int64."""

    input_ids: np.ndarray
    attention_mask: np.ndarray
    lengths: np.ndarray


@dataclass
class FlatBatch:
    """``input_ids`` (sum of lengths,) and ``cu_seqlens`` (B + 1,) int64: document b is
    ``input_ids[cu_seqlens[b]:cu_seqlens[b + 1]]`` (the varlen-attention layout)."""

    input_ids: np.ndarray
    cu_seqlens: np.ndarray


def _output_dtype(dtype: Any) -> np.dtype:
    out = np.dtype(dtype)
    if out not in (np.dtype(np.int32), np.dtype(np.int64)):
        raise TypeError(f"dtype must be int32 or int64, not {out}")
    return out


def _prepare(
    docs: Sequence[Any],
    max_len: int | None,
    truncation: str,
    rng: np.random.Generator | int | None,
    out_dtype: np.dtype,
) -> tuple[list, np.ndarray, np.ndarray, np.ndarray, int]:
    if truncation not in TRUNCATIONS:
        raise ValueError(f"truncation must be one of {TRUNCATIONS}, not {truncation!r}")
    if max_len is not None and max_len < 0:
        raise ValueError(f"max_len must be >= 0, not {max_len}")
    docs = list(docs)
    kinds, n = classify(docs)
    for i in np.flatnonzero(kinds < 0).tolist():  # lists, other dtypes, strided views
        arr = np.asarray(docs[i])
        if arr.ndim != 1:
            raise ValueError(f"document {i} has shape {arr.shape}; documents are 1-D")
        if arr.dtype.kind not in "iu" and arr.size:
            raise TypeError(f"document {i} holds {arr.dtype}, not integer ids")
        if arr.dtype.kind == "u" and arr.dtype.itemsize == 8 and arr.size and arr.max() >= 2**63:
            raise OverflowError(f"document {i} holds ids beyond int64")
        docs[i] = np.ascontiguousarray(arr, dtype=np.int64)
    if np.any(kinds < 0):
        kinds, n = classify(docs)
    if out_dtype.itemsize == 4:  # uint32 and int64 ids may not fit: refuse, never wrap
        for i in np.flatnonzero((kinds == _KIND_U32) | (kinds == _KIND_I64)).tolist():
            lo, hi = id_range(docs[i])
            if lo < _I32.min or hi > _I32.max:
                bad = int(lo) if lo < _I32.min else int(hi)
                raise OverflowError(
                    f"document {i} holds id {bad}, which does not fit an "
                    "int32 batch (use dtype=np.int64)"
                )
    take = n if max_len is None else np.minimum(n, max_len)
    if truncation == "head" or not np.any(take < n):
        seeds = np.zeros(len(docs), dtype=np.uint64)
    else:
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        seeds = gen.integers(0, 2**63, size=len(docs), dtype=np.uint64)
    return docs, kinds, np.ascontiguousarray(take), seeds, TRUNCATIONS.index(truncation)


def pad_batch(
    docs: Sequence[Any],
    pad_id: int,
    *,
    max_len: int | None = None,
    truncation: str = "head",
    rng: np.random.Generator | int | None = None,
    dtype: Any = np.int64,
    pad_to: int | None = None,
) -> PaddedBatch:
    """Pad documents into an (B, L) array.

    Parameters
    ----------
    docs : sequence of 1-D integer arrays
    pad_id : int
        The padding id (``tokenizer.pad_token_id``).
    max_len : int, optional
        Truncate documents longer than this.
    truncation : {"head", "random_window", "random_subset"}
        Which ``max_len`` ids to keep from a longer document: the first ones, a random
        contiguous window, or a random subset in document order.
    rng : numpy Generator or int seed, optional
        Randomness for the random truncations.
    dtype : int32 or int64
        Output id type (int64 for ``torch.nn.Embedding``). A document id that the type
        cannot hold raises ``OverflowError`` (never wraps).
    pad_to : int, optional
        Width L (at least the longest truncated document); default: the longest.

    Examples
    --------
    >>> import numpy as np
    >>> from gtok.train.collate import pad_batch
    >>> b = pad_batch([np.array([5, 6, 7], np.uint16), np.array([9], np.uint16)], pad_id=0)
    >>> b.input_ids.tolist(), b.attention_mask.tolist(), b.lengths.tolist()
    ([[5, 6, 7], [9, 0, 0]], [[True, True, True], [True, False, False]], [3, 1])
    """
    out_dtype = _output_dtype(dtype)
    arrays, kinds, take, seeds, mode = _prepare(docs, max_len, truncation, rng, out_dtype)
    width = int(take.max()) if take.size else 0
    if pad_to is not None:
        if pad_to < width:
            raise ValueError(f"pad_to={pad_to} is shorter than the longest document ({width})")
        width = pad_to
    info = np.iinfo(out_dtype)
    if not info.min <= pad_id <= info.max:
        raise OverflowError(f"pad_id {pad_id} does not fit {out_dtype}")
    out = np.empty((len(arrays), width), dtype=out_dtype)
    mask = np.empty((len(arrays), width), dtype=np.uint8)
    fill(arrays, kinds, take, seeds, mode, out, pad_id, mask, None)
    return PaddedBatch(out, mask.view(np.bool_), take.astype(np.int64, copy=True))


def flat_batch(
    docs: Sequence[Any],
    *,
    max_len: int | None = None,
    truncation: str = "head",
    rng: np.random.Generator | int | None = None,
    dtype: Any = np.int64,
) -> FlatBatch:
    """Concatenate documents (truncated as in :func:`pad_batch`) with cumulative lengths.

    >>> from gtok.train.collate import flat_batch
    >>> b = flat_batch([[1, 2, 3], [4]], max_len=2)
    >>> b.input_ids.tolist(), b.cu_seqlens.tolist()
    ([1, 2, 4], [0, 2, 3])
    """
    out_dtype = _output_dtype(dtype)
    arrays, kinds, take, seeds, mode = _prepare(docs, max_len, truncation, rng, out_dtype)
    cu = np.zeros(len(arrays) + 1, dtype=np.int64)
    np.cumsum(take, out=cu[1:])
    out = np.empty(int(cu[-1]), dtype=out_dtype)
    fill(arrays, kinds, take, seeds, mode, out, 0, None, cu)
    return FlatBatch(out, cu)


class PadCollator:
    """A ``collate_fn`` for ``torch.utils.data.DataLoader`` over token documents.

    Returns ``{"input_ids", "attention_mask", "lengths"}`` (padded) or ``{"input_ids",
    "cu_seqlens"}`` (``flat=True``), as torch tensors when torch is installed and
    ``return_tensors="pt"`` (the default), else NumPy arrays. Random truncation draws from
    a generator seeded with ``seed`` (each DataLoader worker gets a copy: pass a different
    seed per worker through ``worker_init_fn`` if their draws must differ).

    Parameters
    ----------
    pad_id : int
        ``tokenizer.pad_token_id``.
    max_len, truncation, dtype, pad_to
        As :func:`pad_batch`.
    seed : int
        Seed of the random truncations.
    flat : bool
        Produce the flat (varlen) layout instead of padding.
    return_tensors : {"pt", "np"}

    Examples
    --------
    >>> from gtok.train.collate import PadCollator
    >>> collate = PadCollator(pad_id=10, max_len=2, return_tensors="np")
    >>> collate([[1, 2, 3], [4]])["input_ids"].tolist()
    [[1, 2], [4, 10]]
    """

    def __init__(
        self,
        pad_id: int,
        *,
        max_len: int | None = None,
        truncation: str = "head",
        seed: int = 0,
        dtype: Any = np.int64,
        pad_to: int | None = None,
        flat: bool = False,
        return_tensors: str = "pt",
    ) -> None:
        if truncation not in TRUNCATIONS:
            raise ValueError(f"truncation must be one of {TRUNCATIONS}, not {truncation!r}")
        if return_tensors not in ("pt", "np"):
            raise ValueError("return_tensors must be 'pt' or 'np'")
        self.pad_id = pad_id
        self.max_len = max_len
        self.truncation = truncation
        self.dtype = np.dtype(dtype)
        self.pad_to = pad_to
        self.flat = flat
        self.return_tensors = return_tensors
        self.rng = np.random.default_rng(seed)

    def __call__(self, docs: Sequence[Any]) -> dict[str, Any]:
        if self.flat:
            fb = flat_batch(
                docs,
                max_len=self.max_len,
                truncation=self.truncation,
                rng=self.rng,
                dtype=self.dtype,
            )
            out: dict[str, Any] = {"input_ids": fb.input_ids, "cu_seqlens": fb.cu_seqlens}
        else:
            pb = pad_batch(
                docs,
                self.pad_id,
                max_len=self.max_len,
                truncation=self.truncation,
                rng=self.rng,
                dtype=self.dtype,
                pad_to=self.pad_to,
            )
            out = {
                "input_ids": pb.input_ids,
                "attention_mask": pb.attention_mask,
                "lengths": pb.lengths,
            }
        if self.return_tensors == "pt":
            import torch

            out = {k: torch.from_numpy(v) for k, v in out.items()}
        return out
