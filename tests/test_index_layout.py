"""The overlap index's layout (gtok/_lib/_overlap.pyx): skip levels over ``maxend``, the
search ahead, and the arrays it does not store (``ids`` when they are positions,
``maxend`` when it is ``ends``, a sorted universe's columns shared with the index).

Every search is checked against brute force: hits per query in universe (start, end)
order, half-open and strict, zero-length queries included; for universes large enough to
have several skip levels, at every alignment of ``maxend`` in its cache lines, with
queries sorted (dense and sparse steps) and unsorted.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gtok import Tokenizer
from gtok._lib._indexbuild import build_index
from gtok._lib._inorder import tokenize_docs
from gtok._lib._overlap import OverlapIndex
from gtok._lib._runs import first_candidates, tokenize_keys, tokenize_rows

from _guarded import LINUX_ONLY, run_guarded
from _tok_helpers import oracle, queries, universes, write_bed

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _brute_hits(u, q):
    """Per query, the ids hit (regions in id order = row order, all distinct), in
    (start, end, id) order."""
    uc, us, ue = u
    out = []
    for c, s, e in zip(*q):
        idx = np.flatnonzero((uc == c) & (us < e) & (ue > s))
        order = np.lexsort((idx, ue[idx], us[idx]))
        out.append(idx[order].tolist())
    return out


def _aligned(values, dtype, skew):
    """``values`` in a new array whose data starts ``skew`` items past a 64-byte line."""
    values = np.asarray(values, dtype=dtype)
    size = np.dtype(dtype).itemsize
    buf = np.empty(values.shape[0] + 64, dtype=dtype)
    first = (-buf.ctypes.data % 64) // size + skew
    out = buf[first : first + values.shape[0]]
    out[:] = values
    return out


def _universe(rng, n, kind):
    """n distinct regions on chromosomes 0..2 (3: none), sorted by (chromosome, start, end)
    unless ``kind`` says shuffled; ``nested`` adds long regions holding many others."""
    per = np.bincount(rng.integers(0, 3, n), minlength=3)
    cols = []
    for c, k in enumerate(per):
        widths = rng.integers(1, 200, k)
        gaps = rng.integers(0, 300, k)
        starts = np.cumsum(gaps + np.concatenate(([0], widths[:-1]))) if k else gaps
        cols.append((np.full(k, c), starts, starts + widths))
    c, s, e = (np.concatenate(x) for x in zip(*cols))
    if kind in ("nested", "shuffled_nested") and n:
        pick = rng.integers(0, n, max(1, n // 50))
        s_long = s[pick]
        c, s, e = (
            np.concatenate((c, c[pick])),
            np.concatenate((s, s_long)),
            np.concatenate((e, s_long + rng.integers(1000, 100_000, pick.shape[0]))),
        )
    if kind in ("overlapping",):
        e = e + rng.integers(0, 500, e.shape[0])
    rows = sorted(set(zip(c.tolist(), s.tolist(), e.tolist())))
    if kind.startswith("shuffled"):
        rows = [rows[i] for i in rng.permutation(len(rows))]
    arr = np.array(rows, dtype=np.int64).reshape(-1, 3)
    return arr[:, 0].astype(np.int32), arr[:, 1].astype(np.uint32), arr[:, 2].astype(np.uint32)


def _queries(rng, u, m, kind):
    uc, us, ue = u
    if kind == "unsorted" or us.shape[0] == 0:
        c = rng.integers(-1, 5, m).astype(np.int32)
        s = rng.integers(0, int(ue.max(initial=1000)) + 1000, m)
    else:
        # near universe regions; sorted by (chromosome, start): a dense or a sparse stream
        step = 1 if kind == "dense" else 300
        pick = (
            np.sort(rng.integers(0, us.shape[0], m))
            if kind == "sparse"
            else (np.arange(m) * step % us.shape[0])
        )
        c = uc[pick]
        s = us[pick].astype(np.int64) + rng.integers(-150, 150, m)
        s = np.clip(s, 0, None)
    length = rng.choice([0, 0, 1, 50, 400, 5000, 10**6], m)
    s = s.astype(np.int64)
    e = np.minimum(s + length, 2**32 - 1)
    if kind != "unsorted":
        order = np.lexsort((s, c))
        c, s, e = c[order], s[order], e[order]
    return c.astype(np.int32), s.astype(np.uint32), e.astype(np.uint32)


@pytest.mark.parametrize("n", [0, 1, 15, 16, 17, 300, 5000, 70_000])
@pytest.mark.parametrize("kind", ["sorted", "overlapping", "nested", "shuffled_nested"])
def test_searches_equal_brute_force(n, kind):
    rng = np.random.default_rng(n * 7 + len(kind))
    u = _universe(rng, n, kind)
    uc, us, ue = u
    for skew in (0, 5, 15) if n < 70_000 else (0, 11):
        c, s, e = uc.copy(), _aligned(us, np.uint32, skew), _aligned(ue, np.uint32, skew)
        index, unique = build_index(c, s, e, 4)
        assert unique is None
        if kind in ("sorted", "overlapping") and n:
            # in place: the rows' own arrays, ids their positions
            assert index.ids is None and index.starts is s and index.ends is e
            same = uc[1:] == uc[:-1]
            grows = bool(np.all(ue[1:][same] >= ue[:-1][same]))
            assert (index.maxend is index.ends) == grows
        for qkind in ("dense", "sparse", "unsorted"):
            q = _queries(rng, u, 600, qkind)
            want = _brute_hits(u, q)
            ids, offsets = index.hits_per_query(*q)
            got = [ids[a:b].tolist() for a, b in zip(offsets[:-1], offsets[1:])]
            assert got == want, (kind, skew, qkind)
            flat = [i for hits in want for i in hits]
            unk = np.uint32(len(us))
            assert tokenize_rows(index, *q, None, unk, False).tolist() == (flat or [unk])
            order = np.argsort(q[1], kind="stable")  # visiting order given by rows
            want_o = [i for r in order for i in want[r]]
            assert tokenize_rows(index, *q, order, unk, False).tolist() == (want_o or [unk])
            _check_keys(index, q, unk)
            # in memory: chunks sorted and searched ahead, put back in row order
            docs, doc_offsets = tokenize_docs(
                index, *q, np.array([0, len(q[0]) // 3, len(q[0])]), unk, True
            )
            per_row = [hits or [int(unk)] for hits in want]
            assert docs.tolist() == [i for hits in per_row for i in hits]


def _as_keys(q):
    """Queries ``q`` (in visiting order) as :func:`tokenize_keys` takes them: keys
    ``start << 32 | end``, a slice per run of one chromosome (runs of a chromosome may
    repeat)."""
    c, s, e = q
    n = len(c)
    keys = (s.astype(np.uint64) << np.uint64(32)) | e.astype(np.uint64)
    bounds = np.concatenate(([0], np.flatnonzero(c[1:] != c[:-1]) + 1, [n] if n else []))
    bounds = bounds.astype(np.intp)
    return keys, bounds, c[bounds[:-1]].astype(np.int32)


def _check_keys(index, q, unk):
    """tokenize_keys on ``q`` as keys gives tokenize_rows' ids for ``q`` in row order,
    whole and per region."""
    for per_region in (False, True):
        want = tokenize_rows(index, *q, None, unk, per_region)
        np.testing.assert_array_equal(tokenize_keys(index, *_as_keys(q), unk, per_region), want)


def _picked(u, c, picks):
    """Queries near the universe regions ``picks`` (positions among chromosome c's), in
    the order given: starts up to 150 before or after them, lengths 0 to 5,000."""
    uc, us, _ = u
    pos = np.flatnonzero(uc == c)[np.asarray(picks, dtype=np.int64)]
    rng = np.random.default_rng(len(pos))
    s = np.clip(us[pos].astype(np.int64) + rng.integers(-150, 150, len(pos)), 0, None)
    e = s + rng.choice([0, 1, 50, 400, 5000], len(pos))
    return np.full(len(pos), c, np.int32), s.astype(np.uint32), e.astype(np.uint32)


def _check_runs(u, q, index):
    """tokenize_rows in row order (runs), per region and whole, and each query on its
    own (given rows: never a run), against brute force; each query's first candidate
    from the buckets: the first position with maxend > start, exactly."""
    got = first_candidates(index, q[0], q[1])
    for i, (c, s) in enumerate(zip(*q[:2])):
        if not 0 <= c < index.n_chroms or index.chrom_comps[c + 1] != index.chrom_comps[c] + 1:
            assert got[i] == -1
            continue
        a, b = index.comp_bounds[index.chrom_comps[c] : index.chrom_comps[c] + 2]
        assert got[i] == a + _first_above(index.maxend[a:b], s), (i, c, s)
    want = _brute_hits(u, q)
    unk = np.uint32(len(u[0]))
    flat = [i for hits in want for i in hits]
    assert tokenize_rows(index, *q, None, unk, False).tolist() == (flat or [int(unk)])
    per_region = [i for hits in want for i in (hits or [int(unk)])]
    assert tokenize_rows(index, *q, None, unk, True).tolist() == per_region
    rows = np.arange(len(q[0]), dtype=np.int64)
    assert tokenize_rows(index, *q, rows, unk, True).tolist() == per_region
    _check_keys(index, q, unk)


@pytest.mark.parametrize("kind", ["sorted", "overlapping", "shuffled", "nested"])
def test_runs_from_buckets_or_searched_query_by_query(kind):
    """In row order, a run of queries on a chromosome of one component is answered from
    its position buckets (``_query_run``), other runs query by query with searches
    ahead: both give brute force's ids, for runs dense, sparse, with long jumps, unsorted
    inside, repeated, at the chromosome's first and last regions and past them; with and
    without a <unk> per region."""
    rng = np.random.default_rng(len(kind))
    u = _universe(rng, 30_000, kind)
    index, _ = build_index(*u, 4)
    chrom_rows = [np.flatnonzero(u[0] == c) for c in range(3)]
    n0, n1, n2 = (len(r) for r in chrom_rows)
    has_buckets = np.diff(index.bucket_bounds) > 0
    one_component = np.diff(index.chrom_comps) == 1
    assert has_buckets.tolist() == one_component.tolist()
    assert has_buckets[:3].all() if kind != "nested" else not has_buckets.any()
    dense = np.sort(rng.integers(0, n0, n0 // 8))
    sparse = np.sort(rng.integers(0, n1, max(2, n1 // 500)))
    jumps = np.concatenate(  # clusters far apart
        (np.arange(0, 300), np.arange(n2 // 2, n2 // 2 + 300), np.arange(n2 - 300, n2))
    )
    unsorted = rng.permutation(np.arange(0, n2, 3))
    ends = np.array([0, 0, 1, n0 - 2, n0 - 1, n0 - 1])  # a chromosome's first and last
    runs = [_picked(u, 0, dense), _picked(u, 1, sparse), _picked(u, 2, jumps)]
    runs += [_picked(u, 2, unsorted), _picked(u, 0, ends), _picked(u, 1, [3] * 40)]
    beyond = (np.array([0, 3, 2], np.int32), np.array([2**32 - 10, 5, 0], np.uint32))
    runs.append(beyond + (np.array([2**32 - 1, 6, 0], np.uint32),))
    _check_runs(u, tuple(np.concatenate(x) for x in zip(*runs)), index)


def test_slices_are_checked_against_the_keys():
    u = _universe(np.random.default_rng(1), 300, "sorted")
    index, _ = build_index(*u, 4)
    keys, bounds, slice_chroms = _as_keys(_picked(u, 0, [1, 5, 9]))
    assert tokenize_keys(index, keys, bounds, slice_chroms, 7, False).shape[0] >= 1
    for bad_bounds, bad_chroms in [
        ([0, 4], [0]),  # past the keys
        ([1, 3], [0]),  # not from 0
        ([0, 3], [0, 0]),  # a chromosome too many
    ]:
        with pytest.raises(ValueError, match="do not fit"):
            tokenize_keys(index, keys, np.array(bad_bounds, np.intp),
                          np.array(bad_chroms, np.int32), 7, False)  # fmt: skip
    with pytest.raises(ValueError, match="decrease"):
        tokenize_keys(index, keys, np.array([0, 2, 1, 3], np.intp), np.zeros(3, np.int32), 7, False)


def _first_above(maxend, x):
    return int(np.searchsorted(maxend, x, side="right"))


def test_buckets_hold_the_first_position_above_their_edge():
    """Bucket k of a chromosome: the first position of its component whose maxend is
    > k << shift, the shift the smallest that gives at most 8 regions a bucket on
    average, the last bucket past the largest end; about half a byte a region."""
    rng = np.random.default_rng(11)
    u = _universe(rng, 20_000, "overlapping")
    index, _ = build_index(*u, 4)
    maxend = index.maxend
    total = 0
    for c in range(3):
        a, b = index.comp_bounds[index.chrom_comps[c] : index.chrom_comps[c] + 2]
        lo, hi = index.bucket_bounds[c : c + 2]
        shift = int(index.bucket_shifts[c])
        m = maxend[a:b]
        assert hi - lo == (int(m[-1]) >> shift) + 2
        assert ((int(m[-1]) >> shift) + 1) * 8 <= b - a
        assert shift == 0 or ((int(m[-1]) >> (shift - 1)) + 1) * 8 > b - a
        edges = np.arange(hi - lo, dtype=np.int64) << shift
        want = [a + _first_above(m, x) for x in edges]
        assert index.buckets[lo:hi].tolist() == want
        assert index.buckets[hi - 1] == b
        total += hi - lo
    assert total * 4 <= 0.5 * len(u[0]) + 16 * 3


def test_crowded_buckets_and_tiny_chromosomes():
    """Regions crowded into a few buckets (the first candidate more than 16 keys, or more
    than two lines, past the bucket's first position), chromosomes of 1 to 7 regions
    (buckets 2**32 wide) followed by others' smaller keys, queries past a chromosome's
    last region and at the index's end (fewer than 16 keys left): every path of the
    bucket search against brute force."""
    rng = np.random.default_rng(12)
    cols = []
    for c, k in ((0, 1), (1, 7), (2, 3)):
        s = np.sort(rng.choice(10**9, k, replace=False)).astype(np.int64)
        cols.append((np.full(k, c), s, s + 500))
    spread = np.sort(rng.choice(10**8, 4000, replace=False)).astype(np.int64)
    crowd = 5_000_000 + np.arange(2000) * 3  # 2,000 regions in 6 kb
    small = 20_000_000 + np.arange(24) * 100  # 24 regions in a bucket of ~200 kb
    s3 = np.unique(np.concatenate((spread, crowd, small)))
    cols.append((np.full(len(s3), 3), s3, s3 + rng.integers(1, 3, s3.shape[0])))
    c, s, e = (np.concatenate(x) for x in zip(*cols))
    u = (c.astype(np.int32), s.astype(np.uint32), e.astype(np.uint32))
    index, _ = build_index(*u, 5)
    assert index.bucket_shifts[:3].tolist() == [32, 32, 32]
    picks = np.concatenate((np.arange(0, len(s3), 7), np.arange(1990, 2100), [len(s3) - 1]))
    q3 = _picked(u, 3, np.sort(picks))
    on_crowd = (np.full(200, 3, np.int32), np.sort(rng.integers(5_000_000, 5_006_000, 200)))
    on_crowd += (on_crowd[1] + rng.integers(0, 10, 200),)
    tiny = [_picked(u, k, np.arange(n)) for k, n in ((0, 1), (1, 7), (2, 3))]
    past = (np.arange(4, dtype=np.int32), np.full(4, 2**32 - 10), np.full(4, 2**32 - 1))
    # starts in the last bucket (past the largest end), at its edge and a little further
    for c in range(4):
        a, b = index.comp_bounds[index.chrom_comps[c] : index.chrom_comps[c] + 2]
        shift = int(index.bucket_shifts[c])
        edge = ((int(index.maxend[b - 1]) >> shift) + 1) << shift
        if edge < 2**32 - 2:
            s_ = np.array([edge, edge + 1, min(edge + (1 << shift) - 1, 2**32 - 2)])
            past = tuple(np.concatenate(x) for x in zip(past, (np.full(3, c), s_, s_ + 1)))
    q = tuple(
        np.concatenate(x).astype(t)
        for x, t in zip(zip(*tiny, past, q3, on_crowd), (np.int32, np.uint32, np.uint32))
    )
    _check_runs(u, q, index)


_SEARCH_PAST_THE_END = """
from gtok._lib._indexbuild import build_index
from gtok._lib._overlap import OverlapIndex
from gtok._lib._runs import tokenize_rows

rng = np.random.default_rng(0)
for n in (1, 5, 17, 40, 300):
    s = np.sort(rng.choice(10**6, n, replace=False)).astype(np.uint32)
    u = (np.zeros(n, np.int32), s, s + 5)
    index0, _ = build_index(*u, 1)
    ends = guarded(index0.ends)
    index = OverlapIndex(guarded(index0.starts), ends, None, None, index0.comp_bounds,
                         index0.chrom_comps)
    q = (np.zeros(3 * n, np.int32), np.concatenate((s, s + 4, s + 6)),
         np.concatenate((s + 1, s + 6, s + 7)))
    for order in (None, np.arange(3 * n)):
        assert tokenize_rows(index, *q, order, 9, True).tolist() == tokenize_rows(
            index0, *q, order, 9, True).tolist()
print("ok")
"""


@LINUX_ONLY
def test_searches_never_read_past_the_index_arrays():
    """The index's columns ending right before a page that may not be read (a read past
    them would crash): queries on the last regions (the 16-key window must not reach past
    the end) give the same ids as on ordinary arrays. In a child process."""
    run_guarded(_SEARCH_PAST_THE_END)


def test_an_empty_component_hits_nothing():
    """A hand-made index whose chromosome has one empty component (build_index never
    makes one): built without reading before its arrays, and it hits nothing."""
    empty = np.empty(0, np.uint32)
    index = OverlapIndex(empty, empty, None, None, np.array([0, 0]), np.array([0, 1]))
    assert index.bucket_bounds.tolist() == [0, 0]
    q = (np.zeros(2, np.int32), np.array([0, 5], np.uint32), np.array([10, 6], np.uint32))
    assert tokenize_rows(index, *q, None, 7, True).tolist() == [7, 7]


def test_in_memory_chunks_and_search_ahead_across_them():
    """More rows than one in-memory chunk (32,768): the search ahead starts again in each."""
    rng = np.random.default_rng(3)
    u = _universe(rng, 20_000, "nested")
    index, _ = build_index(*u, 4)
    q = _queries(rng, u, 70_000, "unsorted")
    q = tuple(np.concatenate((x, x[:5000])) for x in q)
    want = _brute_hits(u, q)
    unk = len(u[0])
    docs, _ = tokenize_docs(index, *q, np.array([0, len(q[0])]), unk, True)
    assert docs.tolist() == [i for hits in want for i in (hits or [unk])]


def test_pickled_index_is_its_arrays_and_shares_them():
    """A sorted universe pickles as its two columns (8 bytes a region), the index and
    the universe sharing them after unpickling too; the skip levels are made again."""
    rng = np.random.default_rng(1)
    c, s, e = _universe(rng, 50_000, "sorted")
    names = ["chr1", "chr2", "chr3"]
    tok = Tokenizer.from_regions((np.array(names)[c], s, e))
    u = tok.universe
    n = u.n_regions
    assert u.index.ids is None and u.index.maxend is u.index.ends
    assert u.region_starts is u.index.starts and u.region_ends is u.index.ends
    assert u.nbytes <= 9 * n  # (+ the skip levels and the buckets, made again)
    data = pickle.dumps(tok, protocol=5)
    assert len(data) < 8.5 * n
    back = pickle.loads(data)
    v = back.universe
    assert v.region_starts is v.index.starts and v.region_ends is v.index.ends
    assert v.region_chroms.tolist() == u.region_chroms.tolist() == c.tolist()
    q = _queries(rng, (c, s, e), 2000, "unsorted")
    regions = (np.array(names + ["chrX", "chrY"])[np.clip(q[0], 0, 4)], q[1], q[2])
    assert back.tokenize(regions).ids.tolist() == tok.tokenize(regions).ids.tolist()
    assert back.decode(np.arange(n)) == tok.decode(np.arange(n))


@pytest.mark.parametrize("layout", ["sorted", "shuffled", "nested"])
def test_universe_columns_and_chromosomes(tmp_path, layout):
    rng = np.random.default_rng(5)
    kind = {"sorted": "sorted", "shuffled": "shuffled", "nested": "nested"}[layout]
    c, s, e = _universe(rng, 3000, kind)
    names = np.array(["chr2", "chr1", "chrM", "chrZ"])  # chromosome 3 has no region
    rows = list(zip(names[c].tolist(), s.tolist(), e.tolist()))
    tok = Tokenizer(write_bed(tmp_path / "u.bed", rows))
    u = tok.universe
    assert [u.chrom_names[k] for k in u.region_chroms.tolist()] == [r[0] for r in rows]
    ids = rng.integers(0, len(rows), 500)
    assert u.chroms_of(ids).tolist() == u.region_chroms[ids].tolist()
    assert tok.decode(ids) == [f"{rows[i][0]}:{rows[i][1]}-{rows[i][2]}" for i in ids]
    # sorted: starts and ends; shuffled: also ids and each id's position; nested: and
    # maxend; each with the skip levels (~0.27 B) and the buckets (at most 0.5 B)
    held = {"sorted": 9.0, "shuffled": 17.0, "nested": 21.0}[layout]
    assert u.nbytes <= held * len(rows) + 1024
    data = pickle.dumps(tok, protocol=5)  # without the positions (made again)
    assert len(data) <= (held - 4 * (layout != "sorted")) * len(rows) + 4096
    back = pickle.loads(data).universe
    for name in ("region_chroms", "region_starts", "region_ends"):
        np.testing.assert_array_equal(getattr(back, name), getattr(u, name), name)
    assert u.starts_of(ids).tolist() == [rows[i][1] for i in ids]
    assert u.ends_of(ids).tolist() == [rows[i][2] for i in ids]


@SETTINGS
@given(data=st.data())
def test_random_universes_sorted_and_not(tmp_path, data):
    """Random universes (overlapping, nested, long, zero-length regions; repeated rows;
    the file sorted -- indexed in place -- or not): every way in gives the oracle's ids."""
    rows = data.draw(universes())
    if data.draw(st.booleans()):
        rows = sorted(rows)
    if rows and data.draw(st.booleans()):  # repeated rows: the first keeps its id
        rows = rows + data.draw(st.lists(st.sampled_from(rows), max_size=5))
    qrows = data.draw(queries(rows))
    tok = Tokenizer(write_bed(tmp_path / "u.bed", rows))
    assert tok.tokenize(qrows).ids.tolist() == oracle(rows, qrows, sort=False)
    assert tok(write_bed(tmp_path / "q.bed", qrows))["input_ids"] == oracle(rows, qrows, sort=True)
    if qrows:
        per = tok.tokenize(qrows, unk="per_region")
        assert per.ids.tolist() == oracle(rows, qrows, sort=False, per_region=True)
