"""gtars' query order (chromosome name as bytes, then start, stably) from the radix kernel,
against NumPy's stable lexsort, on random and adversarial columns."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gtok._lib._radix import gtars_keys


def expected(chroms, starts, ends, rank):
    ok = (chroms >= 0) & (chroms < len(rank))
    r = np.full(len(chroms), -1, dtype=np.int64)
    r[ok] = rank[chroms[ok]]
    keep = np.flatnonzero(r >= 0)
    order = keep[np.lexsort((starts[keep], r[keep]))]  # lexsort is stable
    return order, chroms[order], starts[order], ends[order]


def work_buffers(n, extra=3):
    # longer than needed and full of garbage: the kernel must not read what it did not write
    rng = np.random.default_rng(n)
    return tuple(rng.integers(0, 2**31, n + extra).astype(np.uint64) for _ in range(2))


def ordered(chroms, starts, ends, rank, work=None):
    """gtars_keys' order as (chroms, starts, ends), checking its slices: each rank's keys
    on its chromosome; None when it finds the rows in order already."""
    got = gtars_keys(chroms, starts, ends, rank, work)
    if got is None:
        return None
    keys, bounds, slice_chroms = got
    assert keys.dtype == np.uint64 and bounds.dtype == np.intp and slice_chroms.dtype == np.int32
    assert len(bounds) == len(rank) + 1 and bounds[0] == 0 and bounds[-1] == len(keys)
    assert np.all(np.diff(bounds) >= 0)
    out_chroms = np.full(len(keys), -9, np.int32)
    for r in range(len(rank)):
        if bounds[r + 1] > bounds[r]:
            assert rank[slice_chroms[r]] == r
            out_chroms[bounds[r] : bounds[r + 1]] = slice_chroms[r]
    return out_chroms, (keys >> 32).astype(np.uint32), (keys & 0xFFFFFFFF).astype(np.uint32)


def check(chroms, starts, ends, rank):
    # (the ends tell rows with the same chromosome and start apart: the order is stable)
    order, *want = expected(chroms, starts, ends, rank)
    got = ordered(chroms, starts, ends, rank)
    if got is None:  # in order already, no row dropped
        np.testing.assert_array_equal(order, np.arange(len(chroms)))
        assert ordered(chroms, starts, ends, rank, work_buffers(len(chroms))) is None
        return
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    # the same into reused buffers (a thread's scratch)
    got = ordered(chroms, starts, ends, rank, work_buffers(len(chroms)))
    for g, w in zip(got, want):
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
    ends = np.array(draw(st.lists(st.integers(0, 2**32 - 1), min_size=n, max_size=n)), np.uint32)
    rank = np.array(draw(st.permutations(range(n_chroms))), dtype=np.int32)
    drop = draw(st.lists(st.booleans(), min_size=n_chroms, max_size=n_chroms))
    rank[np.array(drop, dtype=bool)] = -1
    return chroms, starts, ends, rank


@settings(max_examples=200, deadline=None)
@given(columns())
def test_matches_a_stable_lexsort(cols):
    check(*cols)


@pytest.mark.parametrize("n", [0, 1, 47, 48, 49, 5000, 200_000])
@pytest.mark.parametrize(
    "layout", ["shuffled", "sorted", "reversed", "one_start", "shared_cells", "clustered"]
)
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
    elif layout == "shared_cells":
        # spread over 2**26, every 4th start near the one before (same cell of the top 20
        # bits, or equal): the two passes leave those out of order, the insertion orders
        starts = rng.integers(0, 2**26, n).astype(np.uint32)
        starts[1::4] = starts[:-1:4] + rng.integers(0, 64, len(starts[1::4])).astype(np.uint32)
    elif layout == "clustered":
        # nearly all in one cell of the top 20 bits: the insertion gives up, all the digits
        # are sorted
        starts = (2**30 + rng.integers(0, 2**11, n)).astype(np.uint32)
        starts[: min(n, 2)] = 3
    ends = np.arange(n, dtype=np.uint32)  # (tells equal starts apart: the order is stable)
    rank = rng.permutation(25).astype(np.int32)
    check(chroms, starts, ends, rank)


def test_rejects_ranks_outside_the_table_or_given_twice():
    z = np.zeros(3, dtype=np.uint32)
    with pytest.raises(ValueError, match="rank"):
        gtars_keys(np.zeros(3, np.int32), z, z, np.array([5], np.int32))
    with pytest.raises(ValueError, match="differ in length"):
        gtars_keys(np.zeros(3, np.int32), z[:2], z, np.array([0], np.int32))
    # (gtok ranks distinct names: a rank twice would put two chromosomes in one slice)
    with pytest.raises(ValueError, match="two chromosomes"):
        gtars_keys(np.array([1, 0], np.int32), z[:2], z[:2], np.array([0, 0], np.int32))


def test_work_buffers_hold_the_keys_returned():
    rng = np.random.default_rng(3)
    n = 1000
    chroms = rng.integers(0, 5, n).astype(np.int32)
    starts = rng.integers(0, 1 << 30, n).astype(np.uint32)
    rank = np.arange(5, dtype=np.int32)
    work = work_buffers(n)
    keys, _, _ = gtars_keys(chroms, starts, starts, rank, work)
    assert np.shares_memory(keys, work[0])
    with pytest.raises(ValueError, match="at least as long"):
        gtars_keys(chroms, starts, starts, rank, work_buffers(n - 4, 0))
    with pytest.raises(ValueError, match="two uint64 arrays"):
        gtars_keys(chroms, starts, starts, rank, work + work[:1])


def _gtars_sorted(chroms, starts, rank):
    order = np.lexsort((starts, rank[chroms]))
    return chroms[order].copy(), starts[order].copy()


@pytest.mark.parametrize("n", [1, 2, 47, 48, 5000])
def test_columns_already_in_order_come_back_as_they_are(n):
    # in gtars' order (rank, then start), with ties in start: one pass, no copy
    rng = np.random.default_rng(n)
    rank = rng.permutation(25).astype(np.int32)
    chroms = rng.integers(0, 25, n).astype(np.int32)
    starts = rng.integers(0, 50, n).astype(np.uint32)  # many ties
    chroms, starts = _gtars_sorted(chroms, starts, rank)
    ends = starts + 3
    check(chroms, starts, ends, rank)
    assert gtars_keys(chroms, starts, ends, rank) is None


@pytest.mark.parametrize("how", ["by_index", "by_start_only", "one_row_out", "dropped_chrom"])
def test_columns_in_another_order_are_sorted(how):
    rng = np.random.default_rng(7)
    n = 3000
    rank = np.roll(np.arange(25, dtype=np.int32), 5)  # name order differs from index order
    chroms = rng.integers(0, 25, n).astype(np.int32)
    starts = rng.integers(0, 1 << 28, n).astype(np.uint32)
    if how == "by_index":  # sorted by (chromosome index, start): not gtars' order
        order = np.lexsort((starts, chroms))
        chroms, starts = chroms[order], starts[order]
    elif how == "by_start_only":
        order = np.argsort(starts, kind="stable")
        chroms, starts = chroms[order], starts[order]
    else:
        chroms, starts = _gtars_sorted(chroms, starts, rank)
        if how == "one_row_out":  # the last row's start goes back by one
            starts[-1] = starts[-2] - 1 if chroms[-1] == chroms[-2] else starts[-1]
            chroms[-1], chroms[-2] = chroms[-2], chroms[-1]
        else:
            rank = rank.copy()
            rank[chroms[n // 2]] = -1
    ends = starts + 1
    check(chroms, starts, ends, rank)
    assert gtars_keys(chroms, starts, ends, rank) is not None


@pytest.mark.parametrize("top", [1 << 10, 1 << 20, 1 << 30, 2**32 - 1])
def test_starts_spread_over_any_number_of_digits(top):
    rng = np.random.default_rng(top)
    n = 4000
    chroms = rng.integers(0, 3, n).astype(np.int32)
    starts = rng.integers(0, top, n, dtype=np.uint64).astype(np.uint32)
    starts[:5] = [0, top, top - 1, 1 << 10, 1 << 20 if top > 1 << 20 else 0]
    check(chroms, starts, starts.copy(), np.array([2, 0, 1], np.int32))


@pytest.mark.parametrize("layout", ["gtars", "by_index", "shuffled", "with_unknown"])
def test_a_file_tokenizes_as_its_rows_in_gtars_order(tmp_path, layout):
    # a file already in gtars' order (names as bytes: chr1 < chr10 < chr2, ties in start)
    # takes the no-copy path; the others are sorted; all give the ids of the rows put in
    # that order by a stable lexsort and tokenized as in-memory columns (kept in order)
    from gtok import Tokenizer

    names = ["chr1", "chr2", "chr10"]
    tok = Tokenizer.from_regions(
        [n for n in names for _ in range(50)],
        [i * 100 for _ in names for i in range(50)],
        [i * 100 + 150 for _ in names for i in range(50)],
    )
    rng = np.random.default_rng(3)
    n = 400
    chrom = rng.choice(names + (["chrZ"] if layout == "with_unknown" else []), n)
    starts = rng.integers(0, 5000, n) // 50 * 50  # ties
    ends = starts + rng.integers(1, 300, n)
    if layout in ("gtars", "with_unknown"):
        order = np.lexsort((starts, chrom.astype("S")))
    elif layout == "by_index":
        order = np.lexsort((starts, [names.index(c) for c in chrom]))
    else:
        order = np.arange(n)
    chrom, starts, ends = chrom[order], starts[order], ends[order]
    path = tmp_path / "q.bed"
    path.write_text("".join(f"{c}\t{s}\t{e}\n" for c, s, e in zip(chrom, starts, ends)))
    gt = np.lexsort((starts, chrom.astype("S")))
    want = tok.tokenize((chrom[gt], starts[gt], ends[gt])).ids
    np.testing.assert_array_equal(tok.tokenize(str(path)).ids, want)
