"""gtok's token ids against gtars 0.10 (the reference) and against a brute-force oracle of
docs/semantics.md §4, on hypothesis-generated universes and queries.

The oracle tests run without gtars, so the property still means something where gtars is
not installed; the gtars tests skip then.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gtok import Tokenizer
from gtok._lib._indexbuild import build_index

from _tok_helpers import (
    LAYOUTS,
    nested_block,
    oracle,
    oracle_vocab,
    queries,
    universes,
    write_bed,
)

# GTOK_HYPOTHESIS_EXAMPLES=2000 for a long bug hunt; the default keeps the suite quick.
SETTINGS = settings(
    max_examples=int(os.environ.get("GTOK_HYPOTHESIS_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

SPECIAL_NAMES = ("unk", "pad", "mask", "cls", "eos", "bos", "sep")


class Obj:
    """A region object that is not gtars' (duck-typed .chr/.start/.end)."""

    def __init__(self, chr, start, end):
        self.chr, self.start, self.end = chr, start, end


def columns(rows, kind):
    chroms = [c for c, _, _ in rows]
    starts = [s for _, s, _ in rows]
    ends = [e for _, _, e in rows]
    if kind == "numpy":
        return (
            np.array(chroms, dtype=object if not rows else None),
            np.array(starts, dtype=np.uint32),
            np.array(ends, dtype=np.uint32),
        )
    if kind == "int64":
        return (np.array(chroms), np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64))
    return (chroms, starts, ends)


def in_memory_forms(rows):
    """The in-memory inputs gtok accepts, all meaning the same regions in the same order."""
    yield "tuples", [tuple(r) for r in rows]
    yield "tuple_of_tuples", tuple(tuple(r) for r in rows)
    yield "lists", [list(r) for r in rows]
    yield "objects", [Obj(*r) for r in rows]
    yield "columns", columns(rows, "lists")
    yield "numpy_columns", columns(rows, "numpy")
    yield "int64_columns", columns(rows, "int64")


# ====================================================================== oracle (no gtars)


@SETTINGS
@given(data=st.data(), ulayout=st.sampled_from(LAYOUTS), qlayout=st.sampled_from(LAYOUTS))
def test_oracle_paths(data, ulayout, qlayout):
    urows = data.draw(universes())
    qrows = data.draw(queries(urows))
    with tempfile.TemporaryDirectory() as d:
        upath = write_bed(Path(d, "u.bed"), urows, ulayout)
        qpath = write_bed(Path(d, "q.bed"), qrows, qlayout)
        tok = Tokenizer(upath)
        assert tok.vocab_size == len(urows) + 7
        assert tok.get_vocab() == oracle_vocab(urows)
        for keep_order in (False, True):
            for per_region in (False, True):
                want = oracle(urows, qrows, sort=not keep_order, per_region=per_region)
                res = tok.tokenize(
                    qpath, keep_order=keep_order, unk="per_region" if per_region else "whole"
                )
                assert res.ids.dtype == np.uint32
                assert res.ids.tolist() == want, (keep_order, per_region)
                assert res.n_regions == len(qrows)
                known = {r[0] for r in urows}
                assert res.n_unknown_chrom == sum(c not in known for c, _, _ in qrows)
                assert res.n_skipped == 0
        assert tok(qpath)["input_ids"] == oracle(urows, qrows, sort=True)


@SETTINGS
@given(data=st.data())
def test_oracle_in_memory(data):
    urows = data.draw(universes())
    qrows = data.draw(queries(urows))
    with tempfile.TemporaryDirectory() as d:
        tok = Tokenizer(write_bed(Path(d, "u.bed"), urows))
    for per_region in (False, True):
        want = oracle(urows, qrows, sort=False, per_region=per_region)
        unk = "per_region" if per_region else "whole"
        for name, x in in_memory_forms(qrows):
            # in-memory input keeps its order, with or without keep_order
            assert tok.tokenize(x, unk=unk).ids.tolist() == want, name
            assert tok.tokenize(x, unk=unk, keep_order=True).ids.tolist() == want, name
    assert tok(list(qrows))["input_ids"] == oracle(urows, qrows, sort=False)


@SETTINGS
@given(data=st.data())
def test_oracle_duplicate_universe_rows(data):
    """Duplicates keep their first id; later regions keep theirs (docs/semantics.md §4.2)."""
    urows = list(data.draw(universes(max_size=25)))
    dups = data.draw(st.lists(st.sampled_from(urows), min_size=1, max_size=8))
    for r in dups:
        urows.insert(data.draw(st.integers(0, len(urows))), r)
    qrows = data.draw(queries(urows))
    with tempfile.TemporaryDirectory() as d:
        tok = Tokenizer(write_bed(Path(d, "u.bed"), urows))
        n_distinct = len(dict.fromkeys(urows))
        assert tok.vocab_size == n_distinct + 7
        assert tok.get_vocab() == oracle_vocab(urows)
        assert tok.tokenize(qrows).ids.tolist() == oracle(urows, qrows, sort=False)
        qpath = write_bed(Path(d, "q.bed"), qrows)
        assert tok(qpath)["input_ids"] == oracle(urows, qrows, sort=True)


def _component_count(tok):
    idx = tok.universe.index
    return len(idx.comp_bounds) - 1, idx.n_chroms


def test_nested_universe_uses_several_components():
    """The multi-component search path is really exercised by such universes."""
    rows = [("chr1", 0, 100_000)] + [("chr1", 1000 * i, 1000 * i + 50) for i in range(40)]
    rows += [("chr2", 5, 10)]
    with tempfile.TemporaryDirectory() as d:
        tok = Tokenizer(write_bed(Path(d, "u.bed"), rows[::-1]))
    n_comps, n_chroms = _component_count(tok)
    assert n_comps > n_chroms
    q = [
        ("chr1", 990, 1060),
        ("chr1", 0, 1),
        ("chr1", 99_999, 200_000),
        ("chr1", 500, 500),
        ("chr1", 1020, 1020),
        ("chr2", 0, 100),
    ]
    rrows = rows[::-1]
    assert tok.tokenize(q).ids.tolist() == oracle(rrows, q, sort=False)


@SETTINGS
@given(block=nested_block(), data=st.data())
def test_oracle_nested_multi_component(block, data):
    """Universes that are mostly a nested block (several index components)."""
    extra = data.draw(universes(max_size=10, nested=False))
    urows = data.draw(st.permutations(list(dict.fromkeys(block + list(extra)))))
    qrows = data.draw(queries(urows, max_size=15))
    with tempfile.TemporaryDirectory() as d:
        tok = Tokenizer(write_bed(Path(d, "u.bed"), urows))
    n_comps, n_chroms = _component_count(tok)
    assert n_comps > n_chroms
    for per_region in (False, True):
        assert tok.tokenize(
            qrows, unk="per_region" if per_region else "whole"
        ).ids.tolist() == oracle(urows, qrows, sort=False, per_region=per_region)


@SETTINGS
@given(data=st.data())
def test_oracle_sorted_universe(data):
    """A sorted universe file (the usual kind) is indexed in place, without the sort; with a
    row repeated it takes the sorting path. Both against the oracle."""
    urows = sorted(data.draw(universes()))
    if data.draw(st.booleans()):
        urows = sorted(urows + data.draw(st.lists(st.sampled_from(urows), min_size=1, max_size=4)))
    qrows = data.draw(queries(urows))
    with tempfile.TemporaryDirectory() as d:
        tok = Tokenizer(write_bed(Path(d, "u.bed"), urows))
        assert tok.get_vocab() == oracle_vocab(urows)
        for per_region in (False, True):
            unk = "per_region" if per_region else "whole"
            assert tok.tokenize(qrows, unk=unk).ids.tolist() == oracle(
                urows, qrows, sort=False, per_region=per_region
            )
        assert tok(write_bed(Path(d, "q.bed"), qrows))["input_ids"] == oracle(
            urows, qrows, sort=True
        )


@SETTINGS
@given(data=st.data())
def test_index_of_rows_in_order_equals_the_sorted_one(data):
    """Rows already in (chromosome, start, end) order are indexed where they are; the index
    is the one the sorting path builds from the same regions in any other order (its ids
    mapped through the permutation)."""
    rows = sorted(data.draw(universes()))
    names = sorted({c for c, _, _ in rows})
    chroms = np.array([names.index(c) for c, _, _ in rows], dtype=np.int32)
    starts = np.array([s for _, s, _ in rows], dtype=np.uint32)
    ends = np.array([e for _, _, e in rows], dtype=np.uint32)
    perm = np.array(data.draw(st.permutations(range(len(rows)))), dtype=np.int64)
    in_place, unique = build_index(chroms, starts, ends, len(names))
    assert unique is None
    shuffled, unique = build_index(chroms[perm], starts[perm], ends[perm], len(names))
    assert unique is None
    for name in ("starts", "ends", "maxend", "comp_bounds", "chrom_comps"):
        np.testing.assert_array_equal(getattr(in_place, name), getattr(shuffled, name), name)
    np.testing.assert_array_equal(_ids(in_place), perm[_ids(shuffled)])
    if in_place.ids is None:  # in place: the rows' own arrays (no copies)
        assert in_place.starts is starts and in_place.ends is ends


def _ids(index):
    """The index's ids (None in the index: a region's id is its position)."""
    return np.arange(index.n_regions) if index.ids is None else index.ids


def test_build_index_reports_repeats_and_bad_chromosomes():
    c = np.array([0, 0, 1, 0], dtype=np.int32)
    s = np.array([5, 1, 2, 5], dtype=np.uint32)
    e = np.array([9, 3, 4, 9], dtype=np.uint32)
    index, unique = build_index(c, s, e, 2)
    assert unique.tolist() == [0, 1, 2]  # row 3 repeats row 0
    assert index.ids.tolist() == [1, 0, 2]  # sorted: (0,1,3) (0,5,9) (1,2,4)
    empty, unique = build_index(c[:0], s[:0], e[:0], 2)
    assert empty.n_regions == 0 and unique is None
    # in order, with a chromosome between two others that has no rows
    index, unique = build_index(
        np.array([0, 0, 2], dtype=np.int32),
        np.array([1, 2, 2], dtype=np.uint32),
        np.array([3, 4, 4], dtype=np.uint32),
        3,
    )
    assert unique is None
    assert index.chrom_comps.tolist() == [0, 1, 1, 2]
    assert index.ids is None and index.starts.tolist() == [1, 2, 2]  # ids: positions
    with pytest.raises(ValueError, match="row 2 has chromosome index 1, outside 0..0"):
        build_index(c, s, e, 1)


# ====================================================================== gtars (the reference)


@pytest.fixture(scope="module")
def gtars_mods():
    tokenizers = pytest.importorskip("gtars.tokenizers")
    models = pytest.importorskip("gtars.models")
    return tokenizers, models


def _gtars_regions(models, rows):
    return [models.Region(c, int(s), int(e), None) for c, s, e in rows]


def _check_vocab(tok, ref):
    assert tok.vocab_size == ref.vocab_size
    assert tok.get_vocab() == ref.get_vocab()
    assert tok.special_tokens_map == ref.special_tokens_map
    for name in SPECIAL_NAMES:
        assert getattr(tok, f"{name}_token_id") == getattr(ref, f"{name}_token_id"), name
        assert getattr(tok, f"{name}_token") == getattr(ref, f"{name}_token"), name


@SETTINGS
@given(data=st.data(), ulayout=st.sampled_from(LAYOUTS), qlayout=st.sampled_from(LAYOUTS))
def test_gtars_paths(gtars_mods, data, ulayout, qlayout):
    tokenizers, models = gtars_mods
    urows = data.draw(universes())
    qrows = data.draw(queries(urows))
    with tempfile.TemporaryDirectory() as d:
        upath = write_bed(Path(d, "u.bed"), urows, ulayout)
        qpath = write_bed(Path(d, "q.bed"), qrows, qlayout)
        ref = tokenizers.Tokenizer(upath)
        tok = Tokenizer(upath)
        _check_vocab(tok, ref)
        if not qrows:  # gtars refuses an empty file; an empty region set is legal here
            assert tok(qpath)["input_ids"] == [tok.unk_token_id]
            return
        want = ref(qpath)["input_ids"]
        assert tok(qpath)["input_ids"] == want
        assert tok.tokenize(qpath).ids.tolist() == want
        assert tok.tokenize(Path(qpath)).ids.tolist() == want
        # gtars given the regions in file order == our keep_order
        in_order = ref(_gtars_regions(models, qrows))["input_ids"]
        assert tok.tokenize(qpath, keep_order=True).ids.tolist() == in_order
        assert tok.decode(want) == ref.decode(want)


@SETTINGS
@given(data=st.data())
def test_gtars_in_memory(gtars_mods, data):
    tokenizers, models = gtars_mods
    urows = data.draw(universes())
    qrows = data.draw(queries(urows))
    with tempfile.TemporaryDirectory() as d:
        upath = write_bed(Path(d, "u.bed"), urows)
        ref = tokenizers.Tokenizer(upath)
        tok = Tokenizer(upath)
    regions = _gtars_regions(models, qrows)
    want = ref(regions)["input_ids"]
    assert tok(regions)["input_ids"] == want  # gtars' own Region objects
    assert tok.tokenize(regions).ids.tolist() == want
    for name, x in in_memory_forms(qrows):
        assert tok.tokenize(x).ids.tolist() == want, name
        assert tok(x)["input_ids"] == want, name


@SETTINGS
@given(block=nested_block(), data=st.data())
def test_gtars_nested_multi_component(gtars_mods, block, data):
    tokenizers, models = gtars_mods
    extra = data.draw(universes(max_size=10, nested=False))
    urows = data.draw(st.permutations(list(dict.fromkeys(block + list(extra)))))
    qrows = data.draw(queries(urows, max_size=15))
    with tempfile.TemporaryDirectory() as d:
        upath = write_bed(Path(d, "u.bed"), urows)
        qpath = write_bed(Path(d, "q.bed"), qrows)
        ref = tokenizers.Tokenizer(upath)
        tok = Tokenizer(upath)
        _check_vocab(tok, ref)
        if qrows:
            assert tok(qpath)["input_ids"] == ref(qpath)["input_ids"]
        assert tok(qrows)["input_ids"] == ref(_gtars_regions(models, qrows))["input_ids"]


@SETTINGS
@given(data=st.data())
def test_gtars_duplicate_universe_rows(gtars_mods, data):
    """The documented exception: with repeated universe rows gtars' vocabulary is ours, but
    its ids are not (it indexes the copies and shifts later ids); ours follow
    docs/semantics.md §4.2."""
    tokenizers, models = gtars_mods
    urows = list(data.draw(universes(max_size=25)))
    dups = data.draw(st.lists(st.sampled_from(urows), min_size=1, max_size=8))
    for r in dups:
        urows.insert(data.draw(st.integers(0, len(urows))), r)
    qrows = data.draw(queries(urows))
    with tempfile.TemporaryDirectory() as d:
        upath = write_bed(Path(d, "u.bed"), urows)
        qpath = write_bed(Path(d, "q.bed"), qrows)
        ref = tokenizers.Tokenizer(upath)
        tok = Tokenizer(upath)
        _check_vocab(tok, ref)
        assert tok(qpath)["input_ids"] == oracle(urows, qrows, sort=True)
        assert tok(qrows)["input_ids"] == oracle(urows, qrows, sort=False)


def test_gtars_duplicate_difference_is_real(gtars_mods, tmp_path):
    """Pin the gtars bug we do not copy, so a fixed gtars shows up here."""
    tokenizers, _ = gtars_mods
    rows = [
        ("chr1", 100, 200),
        ("chr1", 300, 400),
        ("chr1", 100, 200),
        ("chr1", 500, 600),
        ("chr2", 1, 5),
    ]
    upath = write_bed(tmp_path / "u.bed", rows)
    qpath = write_bed(tmp_path / "q.bed", [("chr1", 0, 1000), ("chr2", 0, 10)])
    ref = tokenizers.Tokenizer(upath)
    tok = Tokenizer(upath)
    assert tok.get_vocab() == ref.get_vocab()
    assert tok(qpath)["input_ids"] == [0, 1, 2, 3]
    assert ref(qpath)["input_ids"] != [0, 1, 2, 3]


@pytest.mark.parametrize(
    "case",
    [
        # one query, many hits, every hit nested in the long one
        (
            [("chr1", 0, 2**32 - 1)] + [("chr1", 10 * i, 10 * i + 5) for i in range(50)],
            [("chr1", 0, 2**32 - 1), ("chr1", 3, 3), ("chr1", 250, 250)],
        ),
        # identical queries repeated, unknown chromosomes only, nothing hit
        ([("chr2", 100, 200), ("chr10", 100, 200)], [("chrY", 100, 200)] * 3),
        (
            [("chr2", 100, 200), ("chr10", 100, 200)],
            [("chr2", 200, 300), ("chr2", 0, 100), ("chr2", 150, 150)] * 2,
        ),
        # empty query
        ([("chr1", 5, 6)], []),
        # chromosome name order chr1 < chr10 < chr2 < chrUn_x < chrX
        (
            [
                ("chrX", 0, 10),
                ("chr2", 0, 10),
                ("chrUn_x", 0, 10),
                ("chr10", 0, 10),
                ("chr1", 0, 10),
            ],
            [
                ("chrX", 1, 2),
                ("chr2", 5, 6),
                ("chrUn_x", 1, 2),
                ("chr10", 1, 2),
                ("chr1", 1, 2),
                ("chr1", 0, 1),
            ],
        ),
    ],
)
def test_gtars_fixed_cases(gtars_mods, tmp_path, case):
    tokenizers, models = gtars_mods
    urows, qrows = case
    upath = write_bed(tmp_path / "u.bed", urows)
    qpath = write_bed(tmp_path / "q.bed", qrows)
    ref = tokenizers.Tokenizer(upath)
    tok = Tokenizer(upath)
    _check_vocab(tok, ref)
    assert (
        tok(_gtars_regions(models, qrows))["input_ids"]
        == ref(_gtars_regions(models, qrows))["input_ids"]
        == oracle(urows, qrows, sort=False)
    )
    if qrows:  # gtars refuses an empty file (we give [unk])
        assert tok(qpath)["input_ids"] == ref(qpath)["input_ids"] == oracle(urows, qrows, sort=True)


# ====================================================================== larger fixed cases


def _np_oracle(urows, qrows, sort):
    """The oracle with NumPy doing the scan (for inputs too big for the pure-Python one)."""
    names = sorted({c for c, _, _ in urows} | {c for c, _, _ in qrows})
    code = {c: i for i, c in enumerate(names)}
    uc = np.array([code[c] for c, _, _ in urows])
    us = np.array([s for _, s, _ in urows], dtype=np.int64)
    ue = np.array([e for _, _, e in urows], dtype=np.int64)
    ids = np.arange(len(urows))
    q = list(qrows)
    if sort:
        q = sorted(q, key=lambda r: (r[0].encode(), r[1]))
    out = []
    for c, s, e in q:
        hit = (uc == code[c]) & (us < e) & (ue > s)
        h = ids[hit]
        out.extend(h[np.lexsort((h, ue[hit], us[hit]))].tolist())
    return out or [len(urows)]


def _deep_universe(seed):
    """Russian dolls (150 deep: more levels than the index's 10 components), long regions
    over many short ones, 300 chromosomes (the chromosome table grows), unsorted."""
    rng = np.random.default_rng(seed)
    rows = []
    for level in range(150):  # nested dolls, each holding many
        rows.append(("chr1", 100 * level, 10_000_000 - 100 * level))
    for _ in range(800):
        s = int(rng.integers(0, 10_000_000))
        rows.append(("chr1", s, s + int(rng.integers(0, 5000))))
    for i in range(300):
        c = f"scaffold_{i}" if i % 3 else f"chr{i}"
        s = int(rng.integers(0, 100_000))
        rows.append((c, s, s + int(rng.integers(0, 2000))))
        rows.append((c, 0, 2**32 - 1))
    for _ in range(400):
        s = int(rng.integers(0, 50_000))
        rows.append(("chr2", s, s + int(rng.integers(0, 300))))
    rows = list(dict.fromkeys(rows))
    rng.shuffle(rows)
    rows = [(c, int(s), int(e)) for c, s, e in rows]
    names = sorted({c for c, _, _ in rows}) + ["chrUnknown"]
    queries = []
    for _ in range(1500):
        c = (
            names[int(rng.integers(0, len(names)))]
            if rng.random() < 0.3
            else ("chr1" if rng.random() < 0.6 else "chr2")
        )
        s = int(rng.integers(0, 10_000_000 if c == "chr1" else 100_000))
        queries.append((c, s, s + int(rng.choice([0, 1, 50, 5000, 200_000]))))
    return rows, queries


@pytest.mark.parametrize("seed", [1, 2])
def test_oracle_deep_nesting_many_chromosomes(tmp_path, seed):
    urows, qrows = _deep_universe(seed)
    tok = Tokenizer(write_bed(tmp_path / "u.bed", urows))
    n_comps, n_chroms = _component_count(tok)
    assert n_comps > n_chroms and n_chroms == len({c for c, _, _ in urows})
    idx = tok.universe.index
    chr1 = tok.universe.chroms.index("chr1")
    assert idx.chrom_comps[chr1 + 1] - idx.chrom_comps[chr1] == 10  # every level in use
    assert tok.tokenize(qrows).ids.tolist() == _np_oracle(urows, qrows, sort=False)
    q = write_bed(tmp_path / "q.bed", qrows)
    assert tok.tokenize(q).ids.tolist() == _np_oracle(urows, qrows, sort=True)


@pytest.mark.parametrize("seed", [5, 6])
def test_oracle_lengths_of_every_scale(tmp_path, seed):
    """Region lengths log-uniform from 1 bp to 1 Gb: each component pass moves a different
    subset of the last one's regions (not a prefix, as with nested dolls), for 6+ passes on
    a chromosome. The file sorted (indexed in place) and shuffled (sorted first) give the
    same index, ids mapped, and the oracle's tokens."""
    rng = np.random.default_rng(seed)
    n = 20_000
    lengths = np.exp(rng.uniform(0, np.log(1e9), n)).astype(np.int64)
    starts = rng.integers(0, 2**31, n)
    ends = np.minimum(starts + lengths, 2**32 - 1)
    chroms = np.where(rng.random(n) < 0.8, "chr1", "chr2")
    rows = sorted(dict.fromkeys(zip(chroms.tolist(), starts.tolist(), ends.tolist())))
    perm = rng.permutation(len(rows))
    shuffled = [rows[i] for i in perm]
    q = []
    for _ in range(3000):
        c = "chr1" if rng.random() < 0.7 else ("chr2" if rng.random() < 0.9 else "chrX")
        s = int(rng.integers(0, 2**31))
        q.append((c, s, s + int(rng.choice([0, 1, 100, 10_000, 10**6, 10**8]))))
    in_place = Tokenizer(write_bed(tmp_path / "sorted.bed", rows))
    resorted = Tokenizer(write_bed(tmp_path / "shuffled.bed", shuffled))
    a, b = in_place.universe.index, resorted.universe.index
    assert np.diff(a.chrom_comps).max() >= 6
    for name in ("starts", "ends", "maxend", "comp_bounds", "chrom_comps"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), name)
    np.testing.assert_array_equal(_ids(a), perm[_ids(b)])
    assert in_place.tokenize(q).ids.tolist() == _np_oracle(rows, q, sort=False)
    assert resorted.tokenize(q).ids.tolist() == _np_oracle(shuffled, q, sort=False)


def test_gtars_deep_nesting_many_chromosomes(gtars_mods, tmp_path):
    tokenizers, models = gtars_mods
    urows, qrows = _deep_universe(3)
    upath = write_bed(tmp_path / "u.bed", urows)
    qpath = write_bed(tmp_path / "q.bed", qrows)
    ref = tokenizers.Tokenizer(upath)
    tok = Tokenizer(upath)
    _check_vocab(tok, ref)
    assert tok(qpath)["input_ids"] == ref(qpath)["input_ids"]
    assert tok(qrows)["input_ids"] == ref(_gtars_regions(models, qrows))["input_ids"]


def test_gtars_equal_starts_keep_file_order(gtars_mods, tmp_path):
    """The path order sorts by (chromosome, start) only, stably: equal starts keep the
    file's order whatever their ends."""
    tokenizers, _ = gtars_mods
    urows = [("chr1", 0, 100), ("chr1", 100, 200), ("chr1", 150, 300), ("chr2", 0, 10)]
    qrows = [
        ("chr2", 5, 6),
        ("chr1", 90, 250),
        ("chr1", 90, 95),
        ("chr1", 90, 160),
        ("chr1", 10, 20),
        ("chr2", 5, 6),
        ("chr1", 90, 95),
    ]
    upath = write_bed(tmp_path / "u.bed", urows)
    qpath = write_bed(tmp_path / "q.bed", qrows)
    ref = tokenizers.Tokenizer(upath)
    tok = Tokenizer(upath)
    assert tok(qpath)["input_ids"] == ref(qpath)["input_ids"] == oracle(urows, qrows, sort=True)
    rev = write_bed(tmp_path / "r.bed", qrows[::-1])
    assert tok(rev)["input_ids"] == ref(rev)["input_ids"] == oracle(urows, qrows[::-1], sort=True)
