"""Training batches (gtok.train.collate): ``pad_batch`` and ``flat_batch`` against a pure-NumPy
oracle for every kind of document, the three truncations (head exactly; random windows and
random ordered subsets by their defining property, their reproducibility and their spread),
errors, ``PadCollator`` (NumPy, torch, flat) and a DataLoader over a pack with workers."""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gtok import GtokDataset, write_pack
from gtok.train.collate import (
    TRUNCATIONS,
    FlatBatch,
    PadCollator,
    PaddedBatch,
    flat_batch,
    pad_batch,
)

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
I32_MAX = 2**31 - 1

# ------------------------------------------------------------------------ documents

# every form a document may take, with the largest id it can hold
FORMS = {
    "u16": 0xFFFF,
    "u32": 0xFFFFFFFF,
    "i32": I32_MAX,
    "i64": 2**62,
    "list": 2**62,
    "tuple": 2**40,
    "strided": 0xFFFFFFFF,
    "big_u32": 0xFFFFFFFF,
    "big_i64": 2**62,
    "big_u16": 0xFFFF,
    "u8": 0xFF,
    "i16": 2**15 - 1,
    "u64": 2**62,
    "readonly": 0xFFFF,
}
SIGNED = {"i32", "i64", "list", "tuple", "big_i64", "i16"}


def _make(form: str, values: list[int]) -> Any:
    if form == "list":
        return list(values)
    if form == "tuple":
        return tuple(values)
    if form == "strided":  # every other element of a larger array: not contiguous
        base = np.zeros(2 * len(values), dtype=np.uint32)
        base[::2] = values
        return base[::2]
    if form == "readonly":
        arr = np.array(values, dtype=np.uint16)
        arr.flags.writeable = False
        return arr
    dtype = {
        "u16": "=u2",
        "u32": "=u4",
        "i32": "=i4",
        "i64": "=i8",
        "big_u32": ">u4",
        "big_i64": ">i8",
        "big_u16": ">u2",
        "u8": "u1",
        "i16": "=i2",
        "u64": "=u8",
    }[form]
    return np.array(values, dtype=dtype)


@st.composite
def batches(draw: Any, max_id: int = 2**62, max_size: int = 30) -> tuple[list, list]:
    """``(docs, values)``: documents in random forms and their ids as Python lists."""
    docs, values = [], []
    for _ in range(draw(st.integers(0, 8))):
        form = draw(st.sampled_from(sorted(FORMS)))
        hi = min(FORMS[form], max_id)
        lo = -3 if form in SIGNED else 0
        vals = draw(st.lists(st.integers(lo, hi) | st.integers(0, 50), max_size=max_size))
        docs.append(_make(form, vals))
        values.append(vals)
    return docs, values


def _snapshot(docs: list) -> list:
    return [np.array(d, copy=True) if isinstance(d, np.ndarray) else list(d) for d in docs]


def _unchanged(docs: list, before: list) -> bool:
    return all(np.array_equal(np.asarray(d), b) for d, b in zip(docs, before))


# ------------------------------------------------------------------------ the oracle


def oracle_pad(
    values: list[list[int]], pad_id: int, max_len: int | None, dtype: Any, pad_to: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    kept = [v if max_len is None else v[:max_len] for v in values]
    width = max((len(k) for k in kept), default=0) if pad_to is None else pad_to
    ids = np.full((len(kept), width), pad_id, dtype=dtype)
    mask = np.zeros((len(kept), width), dtype=bool)
    for b, k in enumerate(kept):
        ids[b, : len(k)] = k
        mask[b, : len(k)] = True
    return ids, mask, np.array([len(k) for k in kept], dtype=np.int64)


def _check_padded(
    batch: PaddedBatch, ids: np.ndarray, mask: np.ndarray, lengths: np.ndarray
) -> None:
    assert isinstance(batch, PaddedBatch)
    assert batch.input_ids.dtype == ids.dtype and batch.input_ids.shape == ids.shape
    assert batch.input_ids.flags.c_contiguous and batch.input_ids.flags.writeable
    assert np.array_equal(batch.input_ids, ids)
    assert batch.attention_mask.dtype == np.bool_ and np.array_equal(batch.attention_mask, mask)
    assert batch.lengths.dtype == np.int64 and np.array_equal(batch.lengths, lengths)


@SETTINGS
@given(data=st.data(), dtype=st.sampled_from([np.int32, np.int64]))
@example(data=None, dtype=np.int64)  # the empty batch
def test_pad_batch_head_matches_oracle(data: Any, dtype: Any) -> None:
    if data is None:
        docs, values, pad_id, max_len, extra = [], [], 0, None, None
    else:
        docs, values = data.draw(batches(I32_MAX if dtype is np.int32 else 2**62))
        top = I32_MAX if dtype is np.int32 else 2**63 - 1
        pad_id = data.draw(st.integers(-top - 1, top) | st.integers(0, 10))
        max_len = data.draw(st.none() | st.integers(0, 35))
        extra = data.draw(st.none() | st.integers(0, 5))
    before = _snapshot(docs)
    kept_width = max(
        (len(v) if max_len is None else min(len(v), max_len) for v in values), default=0
    )
    pad_to = None if extra is None else kept_width + extra
    batch = pad_batch(docs, pad_id, max_len=max_len, dtype=dtype, pad_to=pad_to)
    _check_padded(batch, *oracle_pad(values, pad_id, max_len, dtype, pad_to))
    if pad_to is not None:
        assert batch.input_ids.shape == (len(docs), pad_to)
    assert _unchanged(docs, before)
    # the same ids as the flat layout
    flat = flat_batch(docs, max_len=max_len, dtype=dtype)
    assert np.array_equal(flat.input_ids, batch.input_ids[batch.attention_mask])


@SETTINGS
@given(data=st.data(), dtype=st.sampled_from([np.int32, np.int64]))
@example(data=None, dtype=np.int32)  # the empty batch
def test_flat_batch_head_matches_oracle(data: Any, dtype: Any) -> None:
    if data is None:
        docs, values, max_len = [], [], None
    else:
        docs, values = data.draw(batches(I32_MAX if dtype is np.int32 else 2**62))
        max_len = data.draw(st.none() | st.integers(0, 35))
    before = _snapshot(docs)
    kept = [v if max_len is None else v[:max_len] for v in values]
    batch = flat_batch(docs, max_len=max_len, dtype=dtype)
    assert isinstance(batch, FlatBatch)
    assert batch.input_ids.dtype == dtype
    assert batch.input_ids.tolist() == [t for k in kept for t in k]
    assert batch.cu_seqlens.dtype == np.int64
    assert batch.cu_seqlens.tolist() == np.cumsum([0] + [len(k) for k in kept]).tolist()
    assert _unchanged(docs, before)


def test_empty_batch_and_empty_documents() -> None:
    b = pad_batch([], pad_id=7)
    assert b.input_ids.shape == (0, 0) and b.attention_mask.shape == (0, 0)
    assert b.lengths.shape == (0,)
    assert pad_batch((), pad_id=7, pad_to=4).input_ids.shape == (0, 4)
    f = flat_batch([])
    assert f.input_ids.shape == (0,) and f.cu_seqlens.tolist() == [0]
    b = pad_batch([[], np.array([], np.uint16), np.array([], np.float64)], pad_id=7)
    assert b.input_ids.shape == (3, 0) and b.lengths.tolist() == [0, 0, 0]
    b = pad_batch([[], [1]], pad_id=7, pad_to=3, dtype=np.int32)
    assert b.input_ids.tolist() == [[7, 7, 7], [1, 7, 7]]
    assert b.attention_mask.tolist() == [[False] * 3, [True, False, False]]
    b = pad_batch([[1, 2], [3]], pad_id=0, max_len=0, truncation="random_subset", rng=1)
    assert b.input_ids.shape == (2, 0) and b.lengths.tolist() == [0, 0]


# ------------------------------------------------------------------------ random truncation


def _is_window(kept: list[int], doc: list[int]) -> bool:
    k = len(kept)
    return any(doc[s : s + k] == kept for s in range(len(doc) - k + 1))


def _is_subsequence(kept: list[int], doc: list[int]) -> bool:
    it = iter(doc)
    return all(any(x == y for y in it) for x in kept)


@SETTINGS
@given(
    batch=batches(I32_MAX, max_size=60),
    max_len=st.integers(0, 25),
    mode=st.sampled_from(["random_window", "random_subset"]),
    seed=st.integers(0, 2**64 - 1),
    dtype=st.sampled_from([np.int32, np.int64]),
)
def test_random_truncations_keep_the_right_ids(
    batch: tuple, max_len: int, mode: str, seed: int, dtype: Any
) -> None:
    docs, values = batch
    before = _snapshot(docs)
    b = pad_batch(docs, -1, max_len=max_len, truncation=mode, rng=seed, dtype=dtype)
    assert b.input_ids.dtype == dtype
    expected_len = [min(len(v), max_len) for v in values]
    assert b.lengths.tolist() == expected_len
    for row, mask, n, v in zip(b.input_ids.tolist(), b.attention_mask, expected_len, values):
        assert mask.tolist() == [True] * n + [False] * (b.input_ids.shape[1] - n)
        kept = row[:n]
        assert all(x == -1 for x in row[n:])
        if len(v) <= max_len:
            assert kept == v  # nothing to cut: the whole document, as it is
        elif mode == "random_window":
            assert _is_window(kept, v), (kept, v)
        else:
            assert _is_subsequence(kept, v), (kept, v)
    # the same seed (or generator state) gives the same batch, padded or flat
    again = pad_batch(docs, -1, max_len=max_len, truncation=mode, rng=seed, dtype=dtype)
    assert np.array_equal(again.input_ids, b.input_ids)
    gen1, gen2 = np.random.default_rng(seed), np.random.default_rng(seed)
    from_gen = pad_batch(docs, -1, max_len=max_len, truncation=mode, rng=gen1, dtype=dtype)
    flat = flat_batch(docs, max_len=max_len, truncation=mode, rng=gen2, dtype=dtype)
    assert np.array_equal(from_gen.input_ids, b.input_ids)
    assert np.array_equal(flat.input_ids, b.input_ids[b.attention_mask])
    assert flat.cu_seqlens.tolist() == np.cumsum([0] + expected_len).tolist()
    assert gen1.bit_generator.state == gen2.bit_generator.state
    assert _unchanged(docs, before)


@pytest.mark.parametrize("mode", ["random_window", "random_subset"])
def test_random_truncation_varies_with_the_seed_and_the_generator_state(mode: str) -> None:
    doc = np.arange(1000, dtype=np.uint32)
    by_seed = {
        tuple(pad_batch([doc], 0, max_len=10, truncation=mode, rng=s).input_ids[0])
        for s in range(30)
    }
    assert len(by_seed) >= 28
    gen = np.random.default_rng(5)
    by_state = {
        tuple(pad_batch([doc], 0, max_len=10, truncation=mode, rng=gen).input_ids[0])
        for _ in range(30)
    }
    assert len(by_state) >= 28
    # the documents of one batch are cut independently of each other
    rows = pad_batch([doc] * 30, 0, max_len=10, truncation=mode, rng=3).input_ids
    assert len({tuple(r) for r in rows}) >= 28
    # head is the same whatever the seed
    heads = {tuple(pad_batch([doc], 0, max_len=10, rng=s).input_ids[0]) for s in range(5)}
    assert heads == {tuple(range(10))}


def test_random_window_start_is_uniform() -> None:
    n, k, draws = 20, 5, 4000
    rows = pad_batch(
        [np.arange(n, dtype=np.uint16)] * draws, 0, max_len=k, truncation="random_window", rng=11
    ).input_ids
    assert np.all(np.diff(rows, axis=1) == 1)  # contiguous
    starts = collections.Counter(rows[:, 0].tolist())
    assert sorted(starts) == list(range(n - k + 1))  # the last window is reachable too
    expected = draws / (n - k + 1)
    assert all(abs(c - expected) < 5 * np.sqrt(expected) for c in starts.values()), starts


def test_random_subset_is_uniform() -> None:
    n, k, draws = 6, 3, 4000
    rows = pad_batch(
        [np.arange(n, dtype=np.int64)] * draws, 0, max_len=k, truncation="random_subset", rng=12
    ).input_ids
    assert np.all(np.diff(rows, axis=1) > 0)  # order kept, no repeats
    subsets = collections.Counter(map(tuple, rows.tolist()))
    assert len(subsets) == 20  # every 3-subset of 6
    expected = draws / 20
    assert all(abs(c - expected) < 5 * np.sqrt(expected) for c in subsets.values()), subsets
    inclusion = np.bincount(rows.ravel(), minlength=n) / draws
    assert np.allclose(inclusion, k / n, atol=0.05)


def test_rng_untouched_when_nothing_is_cut() -> None:
    gen = np.random.default_rng(0)
    state = gen.bit_generator.state
    pad_batch([[1, 2], [3]], 0, max_len=5, truncation="random_subset", rng=gen)
    pad_batch([[1, 2], [3]], 0, truncation="random_window", rng=gen)
    assert gen.bit_generator.state == state


# ------------------------------------------------------------------------ errors


def test_errors() -> None:
    docs = [[1, 2, 3], [4]]
    with pytest.raises(ValueError, match="document 1 has shape"):
        pad_batch([[1], np.zeros((2, 2), np.int64)], 0)
    with pytest.raises(ValueError, match="1-D"):
        flat_batch([[[1, 2], [3, 4]]])
    with pytest.raises(ValueError, match="shape"):
        pad_batch([np.int64(5)], 0)
    with pytest.raises(TypeError, match="document 0 holds float64"):
        pad_batch([np.array([1.0, 2.0])], 0)
    with pytest.raises(TypeError, match="float"):
        flat_batch([[1], [2.5]])
    with pytest.raises(TypeError):
        pad_batch([np.array([True])], 0)
    for fn in (
        lambda t: pad_batch(docs, 0, truncation=t),
        lambda t: flat_batch(docs, truncation=t),
        lambda t: PadCollator(0, truncation=t),
    ):
        for bad in ("tail", "random", "", "HEAD"):
            with pytest.raises(ValueError, match="truncation"):
                fn(bad)
    for pad_id in (2**31, -(2**31) - 1):
        with pytest.raises(OverflowError, match="pad_id"):
            pad_batch(docs, pad_id, dtype=np.int32)
    pad_batch(docs, 2**31, dtype=np.int64)
    with pytest.raises(OverflowError, match="pad_id"):
        pad_batch(docs, 2**63, dtype=np.int64)
    for fn in (lambda: pad_batch(docs, 0, max_len=-1), lambda: flat_batch(docs, max_len=-1)):
        with pytest.raises(ValueError, match="max_len"):
            fn()
    with pytest.raises(ValueError, match="pad_to=2"):
        pad_batch(docs, 0, pad_to=2)
    with pytest.raises(ValueError, match="pad_to"):
        pad_batch(docs, 0, max_len=2, pad_to=1)
    pad_batch(docs, 0, max_len=2, pad_to=2)  # pad_to counts the truncated length
    for dtype in (np.uint16, np.int16, np.float32, np.uint64):
        with pytest.raises(TypeError, match="int32 or int64"):
            pad_batch(docs, 0, dtype=dtype)
        with pytest.raises(TypeError, match="int32 or int64"):
            flat_batch(docs, dtype=dtype)
    with pytest.raises(ValueError, match="return_tensors"):
        PadCollator(0, return_tensors="tf")


def test_uint64_ids_beyond_int64_are_refused() -> None:
    """2**63 is the first uint64 that int64 cannot hold (it used to wrap to -2**63)."""
    for fn in (lambda d: pad_batch(d, 0), lambda d: flat_batch(d)):
        for bad in (2**63, 2**64 - 1):
            with pytest.raises(OverflowError, match="document 1 holds ids beyond int64"):
                fn([[1], np.array([5, bad], dtype=np.uint64)])
    top = np.array([2**63 - 1], dtype=np.uint64)
    assert pad_batch([top], 0).input_ids.tolist() == [[2**63 - 1]]
    assert flat_batch([[2**63 - 1]]).input_ids.tolist() == [2**63 - 1]


def test_ids_beyond_int32_are_refused_for_an_int32_batch() -> None:
    """uint32 and int64 ids that int32 cannot hold raise, naming the document, instead of
    wrapping to other (negative) ids."""
    from gtok._lib._collate import classify
    from gtok.train.collate import _KIND_I64, _KIND_U32

    kinds, _ = classify([np.zeros(1, np.uint32), np.zeros(1, np.int64)])
    assert kinds.tolist() == [_KIND_U32, _KIND_I64]
    fns = (
        lambda d, **kw: pad_batch(d, 0, dtype=np.int32, **kw),
        lambda d, **kw: flat_batch(d, dtype=np.int32, **kw),
    )
    bad_docs = [
        np.array([1, 2**31], np.uint32),
        np.array([2**32 - 1], np.uint32),
        np.array([5, 2**31], np.int64),
        np.array([-(2**31) - 1], np.int64),
        [1, 2**40],
        np.array([2**31], ">u4"),
        np.array([2**31, 0], np.uint64),
        np.array([0, 0, 2**31, 0], np.uint32)[::2],
    ]
    for fn in fns:
        for bad in bad_docs:
            with pytest.raises(OverflowError, match="document 1 holds id .* int32"):
                fn([[1], bad])
            with pytest.raises(OverflowError):  # even where truncation would drop it
                fn([bad], max_len=1)
    edge = [np.array([2**31 - 1], np.uint32), np.array([-(2**31), 2**31 - 1], np.int64)]
    assert flat_batch(edge, dtype=np.int32).input_ids.tolist() == [2**31 - 1, -(2**31), 2**31 - 1]
    b = pad_batch(
        [np.array([2**31 - 1], np.uint32), np.array([-(2**31)], np.int64)], 0, dtype=np.int32
    )
    assert b.input_ids.tolist() == [[2**31 - 1], [-(2**31)]]
    for bad in bad_docs:  # an int64 batch holds them all
        assert pad_batch([bad], 0).input_ids.tolist() == [np.asarray(bad).tolist()]


# ------------------------------------------------------------------------ PadCollator

DOCS = [
    np.array([5, 6, 7, 8], np.uint16),
    np.array([9], np.uint16),
    np.array([], np.uint16),
    np.array([1, 2, 3], np.uint16),
]


def test_pad_collator_numpy() -> None:
    out = PadCollator(pad_id=99, return_tensors="np")(DOCS)
    assert sorted(out) == ["attention_mask", "input_ids", "lengths"]
    ids, mask, lengths = oracle_pad([d.tolist() for d in DOCS], 99, None, np.int64, None)
    assert np.array_equal(out["input_ids"], ids) and out["input_ids"].dtype == np.int64
    assert np.array_equal(out["attention_mask"], mask)
    assert np.array_equal(out["lengths"], lengths)
    out = PadCollator(pad_id=99, max_len=2, pad_to=3, dtype=np.int32, return_tensors="np")(DOCS)
    assert out["input_ids"].dtype == np.int32
    assert out["input_ids"].tolist() == [[5, 6, 99], [9, 99, 99], [99] * 3, [1, 2, 99]]
    flat = PadCollator(pad_id=99, flat=True, max_len=3, return_tensors="np")(DOCS)
    assert sorted(flat) == ["cu_seqlens", "input_ids"]
    assert flat["input_ids"].tolist() == [5, 6, 7, 9, 1, 2, 3]
    assert flat["cu_seqlens"].tolist() == [0, 3, 4, 4, 7]


def test_pad_collator_random_truncation_is_reproducible() -> None:
    docs = [np.arange(100, dtype=np.uint32)] * 4
    a = PadCollator(0, max_len=8, truncation="random_subset", seed=3, return_tensors="np")
    b = PadCollator(0, max_len=8, truncation="random_subset", seed=3, return_tensors="np")
    first = [a(docs)["input_ids"] for _ in range(3)]
    assert all(np.array_equal(x, b(docs)["input_ids"]) for x in first)
    assert not np.array_equal(first[0], first[1])  # the generator moves on between batches
    c = PadCollator(0, max_len=8, truncation="random_subset", seed=4, return_tensors="np")
    assert not np.array_equal(first[0], c(docs)["input_ids"])


def test_pad_collator_torch() -> None:
    torch = pytest.importorskip("torch")
    out = PadCollator(pad_id=99, max_len=3)(DOCS)
    assert all(isinstance(v, torch.Tensor) for v in out.values())
    assert out["input_ids"].dtype == torch.int64
    assert out["attention_mask"].dtype == torch.bool
    assert out["input_ids"].tolist() == [[5, 6, 7], [9, 99, 99], [99] * 3, [1, 2, 3]]
    assert out["lengths"].tolist() == [3, 1, 0, 3]
    emb = torch.nn.Embedding(100, 2)
    assert emb(out["input_ids"]).shape == (4, 3, 2)  # ready for an embedding layer
    out = PadCollator(pad_id=99, dtype=np.int32, return_tensors="pt", flat=True)(DOCS)
    assert out["input_ids"].dtype == torch.int32 and out["cu_seqlens"].dtype == torch.int64
    assert out["input_ids"].tolist() == [5, 6, 7, 8, 9, 1, 2, 3]


@pytest.fixture(scope="module")
def pack_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(7)
    docs = [rng.integers(0, 3000, size=int(n)) for n in rng.integers(0, 40, size=37)]
    docs[3] = np.array([], np.int64)
    path = tmp_path_factory.mktemp("collate") / "cells.gtok"
    write_pack(path, docs, dtype="uint16")
    return path


@pytest.mark.parametrize("workers", [0, 2])
@pytest.mark.parametrize("flat", [False, True])
def test_dataloader_over_a_pack(pack_path: Path, workers: int, flat: bool) -> None:
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader

    ds = GtokDataset(pack_path)
    collate = PadCollator(pad_id=3001, max_len=30, flat=flat)
    loader = DataLoader(ds, batch_size=5, collate_fn=collate, num_workers=workers)
    batches = list(loader)
    assert len(batches) == 8  # 37 documents, 5 a batch
    docs = [ds[i].tolist() for i in range(len(ds))]
    for k, batch in enumerate(batches):
        chunk = docs[5 * k : 5 * k + 5]
        if flat:
            kept = [d[:30] for d in chunk]
            assert batch["input_ids"].tolist() == [t for d in kept for t in d]
            assert batch["cu_seqlens"].tolist() == np.cumsum([0] + [len(d) for d in kept]).tolist()
        else:
            ids, mask, lengths = oracle_pad(chunk, 3001, 30, np.int64, None)
            assert isinstance(batch["input_ids"], torch.Tensor)
            assert np.array_equal(batch["input_ids"].numpy(), ids)
            assert np.array_equal(batch["attention_mask"].numpy(), mask)
            assert np.array_equal(batch["lengths"].numpy(), lengths)


def test_truncations_constant() -> None:
    assert TRUNCATIONS == ("head", "random_window", "random_subset")
