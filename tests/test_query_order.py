"""gtars' query order (chromosome name as bytes, then start, stably) from the radix kernel,
against NumPy's stable lexsort, on random and adversarial columns."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gtok._lib._radix import gtars_order


def expected(chroms, starts, ends, rank):
    ok = (chroms >= 0) & (chroms < len(rank))
    r = np.full(len(chroms), -1, dtype=np.int64)
    r[ok] = rank[chroms[ok]]
    keep = np.flatnonzero(r >= 0)
    order = keep[np.lexsort((starts[keep], r[keep]))]  # lexsort is stable
    return order, chroms[order], starts[order], ends[order]


def check(chroms, starts, ends, rank):
    got = gtars_order(chroms, starts, ends, rank)
    want = expected(chroms, starts, ends, rank)
    for g, w, dtype in zip(got, want, (np.int64, np.int32, np.uint32, np.uint32)):
        assert g.dtype == dtype
        np.testing.assert_array_equal(g, w)


@st.composite
def columns(draw):
    n_chroms = draw(st.integers(1, 12))
    n = draw(st.integers(0, 400))
    # few distinct starts (ties), small ones, or the whole uint32 range
    top = draw(st.sampled_from([3, 1000, 2**20, 2**32 - 1]))
    chroms = np.array(
        draw(st.lists(st.integers(-2, n_chroms + 2), min_size=n, max_size=n)), dtype=np.int32
    )
    starts = np.array(draw(st.lists(st.integers(0, top), min_size=n, max_size=n)), dtype=np.uint32)
    if draw(st.booleans()):
        starts.sort()
    ends = (starts + 1).astype(np.uint32)
    rank = np.array(draw(st.permutations(range(n_chroms))), dtype=np.int32)
    drop = draw(st.lists(st.booleans(), min_size=n_chroms, max_size=n_chroms))
    rank[np.array(drop, dtype=bool)] = -1
    return chroms, starts, ends, rank


@settings(max_examples=200, deadline=None)
@given(columns())
def test_matches_a_stable_lexsort(cols):
    check(*cols)


@pytest.mark.parametrize("n", [0, 1, 47, 48, 49, 5000, 200_000])
@pytest.mark.parametrize("layout", ["shuffled", "sorted", "reversed", "one_start"])
def test_sizes_around_the_kernel_thresholds(n, layout):
    rng = np.random.default_rng(n)
    chroms = rng.integers(0, 25, n).astype(np.int32)
    starts = rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32)
    if layout == "sorted":
        order = np.lexsort((starts, chroms))
        chroms, starts = chroms[order], starts[order]
    elif layout == "reversed":
        starts = np.sort(starts)[::-1].copy()
    elif layout == "one_start":
        starts[:] = 7
    ends = starts.copy()
    rank = rng.permutation(25).astype(np.int32)
    check(chroms, starts, ends, rank)


def test_rejects_ranks_outside_the_table():
    z = np.zeros(3, dtype=np.uint32)
    with pytest.raises(ValueError, match="rank"):
        gtars_order(np.zeros(3, np.int32), z, z, np.array([5], np.int32))
    with pytest.raises(ValueError, match="differ in length"):
        gtars_order(np.zeros(3, np.int32), z[:2], z, np.array([0], np.int32))
