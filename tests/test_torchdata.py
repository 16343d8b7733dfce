"""gtok.train.torchdata: rank orders, GtokSampler, GtokIterableDataset with DataLoader workers
(fork and spawn), resuming mid-epoch, to_tensor."""

from __future__ import annotations

import doctest
import multiprocessing
import os
import pickle
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch.utils.data import DataLoader  # noqa: E402

import gtok.train.torchdata as td  # noqa: E402
from gtok import GtokDataset, write_gtok, write_pack  # noqa: E402
from gtok.train.torchdata import (  # noqa: E402
    GtokIterableDataset,
    GtokSampler,
    rank_indices,
    samples_per_rank,
    to_tensor,
)

N_FILES, N_PACKED = 43, 60
N = N_FILES + N_PACKED
B = 4


def collate_list(batch: list[np.ndarray]) -> list[np.ndarray]:
    """The simplest collate: the list of id arrays (module level: spawn workers import it)."""
    return batch


def _methods() -> list[str]:
    return [m for m in ("fork", "spawn") if m in multiprocessing.get_all_start_methods()]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of 43 version-1 files and one pack of 60 documents; document k (in dataset
    order) starts with the id k, so a batch says which documents it holds."""
    root = tmp_path_factory.mktemp("tokens")
    rng = np.random.default_rng(0)

    def doc(k: int) -> np.ndarray:
        return np.concatenate([[k], rng.integers(0, 5000, size=int(rng.integers(0, 20)))])

    for k in range(N_FILES):
        write_gtok(root / f"a{k:04d}.gtok", doc(k))
    write_pack(root / "z.gtok", [doc(k) for k in range(N_FILES, N)])
    return root


def _ids(batches: list[list[np.ndarray]]) -> list[int]:
    return [int(ids[0]) for batch in batches for ids in batch]


def _loader(ds: Any, workers: int, method: str | None = None, **kw: Any) -> DataLoader:
    ctx = multiprocessing.get_context(method) if workers and method else None
    return DataLoader(
        ds,
        batch_size=B,
        num_workers=workers,
        collate_fn=collate_list,
        multiprocessing_context=ctx,
        **kw,
    )


# ------------------------------------------------------------------------- orders


def test_rank_indices_split_pad_and_drop() -> None:
    for n, r in [(10, 3), (9, 3), (2, 3), (1, 1), (0, 2), (103, 2)]:
        parts = [rank_indices(n, epoch=1, seed=5, num_replicas=r, rank=k) for k in range(r)]
        assert {len(p) for p in parts} == {samples_per_rank(n, r)}
        got = np.concatenate(parts) if n else np.array([])
        assert set(got.tolist()) == set(range(n))
        assert len(got) - n == samples_per_rank(n, r) * r - n  # only the padding repeats
        dropped = [
            rank_indices(n, epoch=1, seed=5, num_replicas=r, rank=k, drop_last=True)
            for k in range(r)
        ]
        flat = np.concatenate(dropped).tolist() if n else []
        assert len(flat) == len(set(flat)) == (n // r) * r
    a = rank_indices(50, epoch=0, seed=1)
    assert a.tolist() == rank_indices(50, epoch=0, seed=1).tolist()
    assert a.tolist() != rank_indices(50, epoch=1, seed=1).tolist()
    # (seed, epoch) is not collapsed into seed + epoch
    assert rank_indices(50, epoch=1, seed=0).tolist() != rank_indices(50, epoch=0, seed=1).tolist()
    assert rank_indices(5, shuffle=False, num_replicas=2, rank=1).tolist() == [1, 3, 0]
    with pytest.raises(ValueError):
        rank_indices(5, num_replicas=2, rank=2)
    with pytest.raises(ValueError):
        rank_indices(5, seed=-1)


def test_sampler_two_ranks_equal_counts_union_all_and_epochs(source: Path) -> None:
    ds = GtokDataset(source)
    for drop_last in (False, True):
        r0 = GtokSampler(ds, seed=3, num_replicas=2, rank=0, drop_last=drop_last)
        r1 = GtokSampler(ds, seed=3, num_replicas=2, rank=1, drop_last=drop_last)
        a, b = list(r0), list(r1)
        assert len(a) == len(b) == len(r0) == len(r1) == samples_per_rank(N, 2, drop_last)
        if drop_last:
            assert not set(a) & set(b) and len(set(a) | set(b)) == N - 1
        else:
            assert set(a) | set(b) == set(range(N)) and len(a) + len(b) == N + 1
        assert list(r0) == a  # same seed + epoch: same order
        r0.set_epoch(1)
        r1.set_epoch(1)
        assert list(r0) != a and set(r0) | set(r1) == set(a) | set(b)
        r0.set_epoch(0)
        assert list(r0) == a
    assert list(GtokSampler(N, shuffle=False)) == list(range(N))
    assert list(GtokSampler(N, seed=4)) != list(GtokSampler(N, seed=3))
    # the sampler's epoch reaches the dataset (for shuffle_regions)
    s = GtokSampler(ds)
    s.set_epoch(7)
    assert ds.epoch == 7


@pytest.mark.parametrize("workers,method", [(0, None)] + [(2, m) for m in _methods()])
def test_dataloader_with_sampler_every_document_once(
    source: Path, workers: int, method: str | None
) -> None:
    fds = len(os.listdir("/proc/self/fd"))
    ds = GtokDataset(source)
    sampler = GtokSampler(ds, seed=1)
    loader = _loader(ds, workers, method, sampler=sampler)
    for epoch in (0, 1) if method != "spawn" else (0,):
        sampler.set_epoch(epoch)
        seen = _ids(list(loader))
        assert sorted(seen) == list(range(N))
        assert seen == rank_indices(N, epoch=epoch, seed=1).tolist()
    if workers == 0:
        assert len(os.listdir("/proc/self/fd")) == fds  # nothing kept open


def _run_sampler(
    ds: GtokDataset, workers: int, state: dict | None, stop: int | None, epoch: int = 0
) -> tuple[list[int], dict | None]:
    sampler = GtokSampler(ds, seed=2, num_replicas=2, rank=1)
    if state is not None:
        sampler.load_state_dict(state)
    sampler.set_epoch(epoch if state is None else state["epoch"])
    loader = _loader(ds, workers, "fork" if "fork" in _methods() else "spawn", sampler=sampler)
    seen: list[int] = []
    for step, batch in enumerate(loader):
        seen += [int(ids[0]) for ids in batch]
        if stop is not None and step + 1 == stop:
            consumed = (step + 1) * B if workers else None  # workers prefetch: say it
            return seen, sampler.state_dict(consumed=consumed)
    return seen, sampler.state_dict()


@pytest.mark.parametrize("workers", [0, 2])
def test_sampler_resume_mid_epoch_equals_uninterrupted(source: Path, workers: int) -> None:
    ds = GtokDataset(source)
    full, end_state = _run_sampler(ds, workers, None, None)
    assert end_state["consumed"] == len(full) == samples_per_rank(N, 2)
    head, state = _run_sampler(ds, workers, None, 3)
    assert state["consumed"] == 3 * B and state["epoch"] == 0
    state = pickle.loads(pickle.dumps(state))  # as a checkpoint would
    tail, state2 = _run_sampler(ds, workers, state, 2)  # resume, stop again
    assert state2["consumed"] == 5 * B  # counts from the start of the epoch
    rest, _ = _run_sampler(ds, workers, state2, None)
    assert head + tail + rest == full
    # the resumed sampler's next epoch is the uninterrupted one's
    s = GtokSampler(ds, seed=2, num_replicas=2, rank=1)
    s.load_state_dict(state2)
    assert len(s) == samples_per_rank(N, 2) - 5 * B
    assert list(s) == full[5 * B :]
    assert list(s) == full  # a second pass over the epoch starts at 0
    s.set_epoch(1)
    assert list(s) == rank_indices(N, epoch=1, seed=2, num_replicas=2, rank=1).tolist()


def test_sampler_state_checks() -> None:
    s = GtokSampler(10, seed=1)
    it = iter(s)
    next(it), next(it), next(it)
    state = s.state_dict()
    assert state["consumed"] == 3 and state["seed"] == 1 and state["epoch"] == 0
    assert s.state_dict(consumed=1)["consumed"] == 1
    with pytest.raises(ValueError, match="past the end"):
        s.state_dict(consumed=11)
    with pytest.raises(ValueError, match="n=10"):
        GtokSampler(11).load_state_dict(state)
    with pytest.raises(ValueError, match="num_replicas"):
        GtokSampler(10, num_replicas=2, rank=0).load_state_dict(state)
    with pytest.raises(ValueError, match="not a gtok sampler state"):
        s.load_state_dict({"epoch": 1})
    t = GtokSampler(10, seed=99)
    t.load_state_dict(state)  # takes the state's seed
    assert t.seed == 1 and list(t) == list(GtokSampler(10, seed=1))[3:]
    t.set_epoch(0)  # the same epoch keeps the resume position...
    t.load_state_dict(state)
    t.set_epoch(0)
    assert len(list(t)) == 7
    t.load_state_dict(state)
    t.set_epoch(1)  # ...another epoch starts at 0
    assert len(list(t)) == 10
    with pytest.raises(ValueError):
        GtokSampler(10, num_replicas=2, rank=2)


# ------------------------------------------------------------------------- iterable


def _iterable(source: Any, rank: int = 0, world: int = 1, **kw: Any) -> GtokIterableDataset:
    return GtokIterableDataset(source, seed=4, rank=rank, world_size=world, batch_size=B, **kw)


@pytest.mark.parametrize("workers,method", [(0, None)] + [(2, m) for m in _methods()])
def test_iterable_two_ranks_every_document_once(
    source: Path, workers: int, method: str | None
) -> None:
    per_rank = []
    for rank in (0, 1):
        ds = _iterable(source, rank, 2)
        assert len(ds) == samples_per_rank(N, 2)
        want = rank_indices(N, epoch=0, seed=4, num_replicas=2, rank=rank).tolist()
        # spawned workers start slowly (they import torch): one rank through them is enough
        seen = want if method == "spawn" and rank else _ids(list(_loader(ds, workers, method)))
        # batches come out in exactly this rank's order, whatever the number of workers
        assert seen == want
        per_rank.append(seen)
    assert len(per_rank[0]) == len(per_rank[1])
    assert set(per_rank[0]) | set(per_rank[1]) == set(range(N))
    assert len(per_rank[0]) + len(per_rank[1]) == N + 1  # one pad, by wrapping
    if method != "spawn":  # another epoch: another order (workers see set_epoch)
        ds = _iterable(source)
        first = _ids(list(_loader(ds, workers, method)))
        ds.set_epoch(1)
        second = _ids(list(_loader(ds, workers, method)))
        assert sorted(first) == sorted(second) == list(range(N)) and first != second


def _run_iterable(
    source: Path, workers: int, state: dict | None, stop: int | None
) -> tuple[list[int], dict | None]:
    ds = _iterable(source, 1, 2, shuffle_regions=True)
    if state is not None:
        ds.load_state_dict(state)
    ds.set_epoch(state["epoch"] if state is not None else 0)
    loader = _loader(ds, workers, "fork" if "fork" in _methods() else "spawn")
    seen: list[int] = []
    for step, batch in enumerate(loader):
        seen += [int(ids.sum()) for ids in batch]  # shuffled regions: the sum is stable
        if stop is not None and step + 1 == stop:
            return seen, ds.state_dict(consumed=None if workers == 0 else (step + 1) * B)
    return seen, None


@pytest.mark.parametrize("workers", [0, 2])
def test_iterable_resume_mid_epoch_equals_uninterrupted(source: Path, workers: int) -> None:
    full, _ = _run_iterable(source, workers, None, None)
    head, state = _run_iterable(source, workers, None, 3)
    assert state is not None and state["consumed"] == 3 * B
    tail, state2 = _run_iterable(source, workers, pickle.loads(pickle.dumps(state)), 2)
    assert state2 is not None and state2["consumed"] == 5 * B
    rest, _ = _run_iterable(source, workers, state2, None)
    assert head + tail + rest == full
    # resuming with another number of workers is exact too
    other, _ = _run_iterable(source, 2 - workers, state2, None)
    assert other == rest


def test_iterable_state_needs_consumed_with_workers(source: Path) -> None:
    ds = _iterable(source)
    with pytest.raises(ValueError, match="consumed="):
        ds.state_dict()
    assert ds.state_dict(consumed=0)["consumed"] == 0
    it = iter(ds)
    next(it)
    assert ds.state_dict()["consumed"] == 1


def test_iterable_pickles_small_and_shuffles_regions(source: Path) -> None:
    ds = _iterable(source, shuffle_regions=True)
    blob = pickle.dumps(ds)
    assert len(blob) < 2048
    back = pickle.loads(blob)
    assert [x.tolist() for x in back] == [x.tolist() for x in ds]
    plain = GtokDataset(source)
    order = rank_indices(N, epoch=0, seed=4)
    for ids, k in zip(ds, order.tolist()):
        assert sorted(ids.tolist()) == sorted(plain[k].tolist())
    with pytest.raises(ValueError):
        GtokIterableDataset(plain, shuffle_regions=True)
    assert len(GtokIterableDataset(plain, rank=0, world_size=1)) == N


# ------------------------------------------------------------------------- tensors


def test_to_tensor(tmp_path: Path) -> None:
    write_gtok(tmp_path / "x.gtok", [7, 70000, 3])
    view = GtokDataset(tmp_path / "x.gtok")[0]  # read-only and unaligned (byte 5)
    assert not view.flags.writeable and not view.flags.aligned
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = to_tensor(view)
    assert t.dtype == torch.int64 and t.tolist() == [7, 70000, 3]
    assert to_tensor([1, 2]).tolist() == [1, 2]
    assert to_tensor(np.array([], dtype=np.uint16)).dtype == torch.int64
    assert to_tensor(view, dtype=torch.int32).dtype == torch.int32
    assert to_tensor(torch.tensor([1, 2], dtype=torch.int16)).dtype == torch.int64
    with pytest.raises(TypeError):
        to_tensor([1.5])


def test_torchdata_docstring_examples() -> None:
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = finder.find(td) + finder.find(GtokSampler) + finder.find(GtokIterableDataset)
    assert sum(len(t.examples) for t in tests) >= 10
    for t in tests:
        runner.run(t)
    assert runner.failures == 0


def test_the_readme_checkpoint_pattern_with_a_short_last_batch(tmp_path):
    """The README counted consumed samples as (step + 1) * batch_size, which is past the
    end of the epoch whenever the last batch is short (70 documents, batches of 32): it now
    counts the samples of each batch, which state_dict accepts and resumes from."""
    paths = []
    for k in range(70):
        paths.append(tmp_path / f"d{k:02d}.gtok")
        write_gtok(paths[-1], [k, k + 1])
    ds = GtokDataset([str(p) for p in paths])
    sampler = GtokSampler(ds, seed=0, num_replicas=1, rank=0)
    loader = DataLoader(ds, batch_size=32, sampler=sampler, collate_fn=collate_list)
    seen = 0
    states = []
    for batch in loader:
        seen += len(batch)
        states.append(sampler.state_dict(consumed=seen))
    assert seen == 70 and states[-1]["consumed"] == 70
    # resume after the first batch: the rest of the epoch, in the same order
    first_pass = [
        int(b[0])
        for batch in DataLoader(ds, batch_size=1, sampler=sampler, collate_fn=collate_list)
        for b in batch
    ]
    again = GtokSampler(ds, seed=0, num_replicas=1, rank=0)
    again.load_state_dict(states[0])
    rest = [
        int(b[0])
        for batch in DataLoader(ds, batch_size=1, sampler=again, collate_fn=collate_list)
        for b in batch
    ]
    assert rest == first_pass[32:]
