"""In-memory regions (issue 17): the column kinds users have (NumPy ``U`` / ``S`` / object,
lists, pandas ``Categorical`` and Arrow-backed strings, pyarrow string / binary /
dictionary arrays, integer columns of any width), ``tokenize_many`` and
``Tokenizer.from_regions``.

The new path (chromosome names mapped by the C hash table, one checking pass, the search in
sorted order, results in input order) is compared with the path it replaced
(``_memory_reference``), with a brute-force oracle, and with the same regions written as a
BED file; bad rows and ``skip_bad_lines`` included.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gtok import Tokenizer
from gtok.errors import BedFormatError

from _memory_reference import reference_tokenize
from _tok_helpers import oracle

# names: ASCII, non-ASCII, a byte that is not UTF-8 (os.fsdecode's lone surrogate), long
UNIVERSE_NAMES = ["chr1", "chr2", "chrÅ", "chr\udcff", "chrUn_KI270742v1_random", "1"]
# names no universe has: unknown; one standing for no bytes (a lone surrogate below U+DC80)
UNKNOWN_NAMES = ["chrY", "chr10", "chr1 ", "x\ud800"]
MISSING = ["", None, float("nan")]
BAD_COORDS = [-1, -(2**40), 2**32, 2**40]


def _bytes(name: str) -> bytes:
    return name.encode("utf-8", "surrogateescape")


def _encodable(name) -> bool:
    try:
        _bytes(name)
    except UnicodeEncodeError:
        return False
    return True


@st.composite
def universes(draw):
    n = draw(st.integers(0, 40))
    rows = []
    for _ in range(n):
        c = draw(st.sampled_from(UNIVERSE_NAMES))
        s = draw(st.integers(0, 3000))
        rows.append((c, s, s + draw(st.integers(0, 800))))
    if rows and draw(st.booleans()):
        rows += draw(st.lists(st.sampled_from(rows), max_size=5))  # repeated rows
    return rows


@st.composite
def queries(draw, bad=True):
    n = draw(st.integers(0, 60))
    names = UNIVERSE_NAMES + UNKNOWN_NAMES + (MISSING if bad else [])
    chroms, starts, ends = [], [], []
    for _ in range(n):
        c = draw(st.sampled_from(names))
        s = draw(st.integers(0, 4000))
        e = s + draw(st.integers(0, 600))
        if bad and draw(st.integers(0, 9)) == 0:
            which = draw(st.integers(0, 2))
            if which == 0:
                s = draw(st.sampled_from(BAD_COORDS))
            elif which == 1:
                e = draw(st.sampled_from(BAD_COORDS))
            else:
                s, e = e + 1, s  # start > end
        chroms.append(c)
        starts.append(s)
        ends.append(e)
    return chroms, starts, ends


def _pandas():
    return pytest.importorskip("pandas")


def _pyarrow():
    return pytest.importorskip("pyarrow")


CHROM_KINDS = [
    "list",
    "U",
    "S",
    "object",
    "object_bytes",
    "categorical",
    "series_arrow",
    "arrow_string",
    "arrow_large_string",
    "arrow_binary",
    "arrow_dictionary",
    "arrow_chunked",
]


def chrom_column(kind: str, names: list):
    """``names`` as a column of ``kind``, or None when that kind cannot hold them."""
    has_none = any(x is None or isinstance(x, float) for x in names)
    encodable = all(_encodable(x) for x in names if isinstance(x, str))
    as_bytes = [_bytes(x) if isinstance(x, str) and _encodable(x) else None for x in names]
    if kind == "list":
        return list(names)
    if kind == "U":
        return None if has_none else np.array(names, dtype=str)
    if kind == "S":
        return None if has_none or not encodable or not names else np.array(as_bytes)
    if kind == "object":
        return np.array(names, dtype=object)
    if kind == "object_bytes":
        return np.array(as_bytes, dtype=object) if encodable else None
    # Arrow holds UTF-8 only: no lone surrogates; NaN is given as null. (pandas factorizes
    # strings with lone surrogates as if they were equal: no surrogates in a Categorical.)
    plain = [None if (x is None or isinstance(x, float)) else x for x in names]
    utf8 = all(x is None or not any(0xD800 <= ord(ch) <= 0xDFFF for ch in x) for x in plain)
    if kind == "categorical":
        return _pandas().Categorical(names) if utf8 else None
    if kind == "series_arrow":
        pd = _pandas()
        _pyarrow()
        return pd.Series(plain, dtype="string[pyarrow]") if utf8 else None
    pa = _pyarrow()
    if kind == "arrow_string":
        return pa.array(plain, type=pa.string()) if utf8 else None
    if kind == "arrow_large_string":
        return pa.array(["pad"] + plain, type=pa.large_string())[1:] if utf8 else None
    if kind == "arrow_binary":
        return pa.array(as_bytes, type=pa.binary()) if encodable else None
    if kind == "arrow_dictionary":
        return pa.array(plain, type=pa.string()).dictionary_encode() if utf8 else None
    if kind == "arrow_chunked":
        if not utf8:
            return None
        k = len(plain) // 2
        return pa.chunked_array([plain[:k], plain[k:]], type=pa.string())
    raise AssertionError(kind)


COORD_KINDS = ["int64", "int32", "uint32", "uint64", "int16", "list", "object", "series"]


def coord_column(kind: str, values: list):
    lo, hi = min(values, default=0), max(values, default=0)
    if kind == "int64":
        return None if lo < -(2**63) or hi >= 2**63 else np.array(values, dtype=np.int64)
    if kind == "int32":
        return None if lo < -(2**31) or hi >= 2**31 else np.array(values, dtype=np.int32)
    if kind == "int16":
        return None if lo < -(2**15) or hi >= 2**15 else np.array(values, dtype=np.int16)
    if kind == "uint32":
        return None if lo < 0 or hi >= 2**32 else np.array(values, dtype=np.uint32)
    if kind == "uint64":
        return None if lo < 0 else np.array(values, dtype=np.uint64)
    if kind == "list":
        return list(values)
    if kind == "object":
        return np.array(values, dtype=object)
    if kind == "series":
        return _pandas().Series(values, dtype=np.int64, index=np.arange(len(values))[::-1])
    raise AssertionError(kind)


def _run(fn):
    try:
        return fn(), None
    except BedFormatError as exc:
        return None, exc


# ---------------------------------------------------------------------- tokenize


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    universes(),
    queries(),
    st.sampled_from(CHROM_KINDS),
    st.sampled_from(COORD_KINDS),
    st.sampled_from(["whole", "per_region"]),
    st.booleans(),
)
def test_column_kinds_match_the_path_they_replaced(u_rows, q, chrom_kind, coord_kind, unk, skip):
    names, starts, ends = q
    chroms = chrom_column(chrom_kind, names)
    s_col, e_col = coord_column(coord_kind, starts), coord_column(coord_kind, ends)
    if chroms is None or s_col is None or e_col is None:
        return
    tok = Tokenizer.from_regions(u_rows) if u_rows else Tokenizer.from_regions([], [], [])
    # (as an object array: the old path read a list through np.asarray, which makes NaN
    # among strings the name "nan"; NaN is no name, as in object arrays and pandas)
    ref_names = np.array(names, dtype=object)
    want, want_exc = _run(
        lambda: reference_tokenize(tok, ref_names, starts, ends, unk=unk, skip_bad_lines=skip)
    )
    got, got_exc = _run(lambda: tok.tokenize((chroms, s_col, e_col), unk=unk, skip_bad_lines=skip))
    if want_exc is not None:
        assert got_exc is not None, (got, want_exc)
        assert (got_exc.line_number, got_exc.problem) == (want_exc.line_number, want_exc.problem)
        assert got_exc.path == "<regions>"
        if chrom_kind in ("list", "U", "object") and coord_kind in ("int64", "list"):
            assert got_exc.line == want_exc.line
        return
    assert got_exc is None, got_exc
    want_ids, want_skipped = want
    np.testing.assert_array_equal(got.ids, want_ids)
    assert got.ids.dtype == np.uint32
    assert got.n_skipped == want_skipped
    assert got.n_regions == len(names) - want_skipped


@settings(max_examples=200, deadline=None)
@given(universes(), queries(bad=False), st.sampled_from(["whole", "per_region"]))
def test_matches_the_oracle_and_the_bed_file_in_file_order(tmp_path_factory, u_rows, q, unk):
    names, starts, ends = q
    tok = Tokenizer.from_regions(u_rows) if u_rows else Tokenizer.from_regions([], [], [])
    got = tok.tokenize((np.array(names, dtype=str), np.array(starts), np.array(ends)), unk=unk)
    rows = [(_bytes(c), s, e) for c, s, e in u_rows]
    qrows = [(_bytes(c) if _encodable(c) else c, s, e) for c, s, e in zip(names, starts, ends)]
    assert got.ids.tolist() == oracle(rows, qrows, sort=False, per_region=unk == "per_region")
    # the same queries as a BED file, visited in file order
    encodable = [(c, s, e) for c, s, e in zip(names, starts, ends) if _encodable(c)]
    folder = tmp_path_factory.mktemp("q")
    path = folder / "q.bed"
    path.write_bytes(b"".join(_bytes(c) + b"\t%d\t%d\n" % (s, e) for c, s, e in encodable))
    from_file = tok.tokenize(path, keep_order=True, unk=unk)
    cols = tuple(zip(*encodable)) if encodable else ([], [], [])
    in_memory = tok.tokenize((list(cols[0]), list(cols[1]), list(cols[2])), unk=unk)
    np.testing.assert_array_equal(in_memory.ids, from_file.ids)


def test_big_input_sorted_search_matches_row_order():
    """Many rows over many chromosomes, long and nested regions: the sorted search with its
    scatter back gives what the row-order search gives."""
    rng = np.random.default_rng(17)
    names = np.array([f"chr{k}" for k in range(30)])
    n_u = 20_000
    uc = names[rng.integers(0, 30, n_u)]
    us = rng.integers(0, 10**6, n_u)
    ue = us + np.where(rng.random(n_u) < 0.01, 10**5, rng.integers(0, 2000, n_u))
    tok = Tokenizer.from_regions(uc, us, ue)
    n = 200_000
    qnames = np.concatenate([names, ["chrZ", "chrM"]])
    qc = qnames[rng.integers(0, len(qnames), n)]
    qs = rng.integers(0, 10**6, n)
    qe = qs + rng.integers(0, 3000, n)
    for unk in ("whole", "per_region"):
        want, _ = reference_tokenize(tok, qc, qs, qe, unk=unk)
        np.testing.assert_array_equal(tok.tokenize((qc, qs, qe), unk=unk).ids, want)


def test_odd_numpy_layouts():
    tok = Tokenizer.from_regions(["chr1", "chr2"], [0, 0], [100, 100])
    chroms = np.array(["chr1", "chrX", "chr2", "chr1"] * 2)
    starts = np.array([5, 5, 5, 200] * 2)
    ends = starts + 10
    want = tok.tokenize((chroms.tolist(), starts.tolist(), ends.tolist())).ids
    big_endian = chroms.astype(">U4")
    assert tok.tokenize((big_endian, starts, ends)).ids.tolist() == want.tolist()
    strided = np.repeat(chroms, 2)[::2], np.repeat(starts, 2)[::2], np.repeat(ends, 2)[::2]
    assert tok.tokenize(strided).ids.tolist() == want.tolist()
    mixed = (chroms, starts.astype(np.uint64), ends.astype(np.int32))
    assert tok.tokenize(mixed).ids.tolist() == want.tolist()
    with pytest.raises(ValueError, match="shape"):
        tok.tokenize((chroms.reshape(2, 4), starts, ends))


def test_unsigned_coordinates_beyond_32_bits_are_reported():
    tok = Tokenizer.from_regions(["chr1"], [0], [100])
    with pytest.raises(BedFormatError, match="end is 2\\*\\*32 or larger") as info:
        tok.tokenize(
            (["chr1", "chr1"], np.array([1, 2], np.uint64), np.array([5, 2**63], np.uint64))
        )
    assert info.value.line_number == 2
    res = tok.tokenize(
        (["chr1", "chr1"], np.array([1, 2], np.uint64), np.array([5, 2**64 - 1], np.uint64)),
        skip_bad_lines=True,
    )
    assert res.ids.tolist() == [0] and res.n_skipped == 1


def test_pandas_series_error_names_the_position_not_the_label():
    pd = _pandas()
    tok = Tokenizer.from_regions(["chr1"], [0], [100])
    df = pd.DataFrame({"chrom": ["chr1", "chr1"], "start": [5, 50], "end": [10, 20]}, index=[7, 3])
    with pytest.raises(BedFormatError) as info:
        tok.tokenize(df)
    assert (info.value.line_number, info.value.line) == (2, "chr1\t50\t20")


def test_tables_are_read_by_their_column_names():
    pd = _pandas()
    pa = _pyarrow()
    tok = Tokenizer.from_regions(["chr1", "chr1"], [0, 200], [100, 300])
    want = [0, 1]
    df = pd.DataFrame({"chr": ["chr1", "chr1"], "chromStart": [5, 250], "chromEnd": [10, 260]})
    assert tok.tokenize(df).ids.tolist() == want
    assert tok.tokenize(pa.Table.from_pandas(df)).ids.tolist() == want
    assert tok.tokenize({"seqnames": ["chr1"], "Start": [5], "End": [6]}).ids.tolist() == [0]
    with pytest.raises(ValueError, match="no chrom"):
        tok.tokenize(pd.DataFrame({"x": [1], "start": [1], "end": [2]}))


def test_missing_names_in_arrow_backed_columns_are_bad_rows():
    pd = _pandas()
    _pyarrow()
    tok = Tokenizer.from_regions(["chr1"], [0], [100])
    chroms = pd.Series(["chr1", None], dtype="string[pyarrow]")
    with pytest.raises(BedFormatError, match="missing or empty") as info:
        tok.tokenize((chroms, [1, 2], [5, 6]))
    assert info.value.line_number == 2


# ---------------------------------------------------------------------- tokenize_many


@settings(max_examples=200, deadline=None)
@given(
    universes(),
    queries(),
    st.lists(st.integers(0, 60), max_size=8),
    st.sampled_from(["whole", "per_region"]),
    st.booleans(),
    st.sampled_from(["U", "object", "arrow_dictionary", "categorical"]),
)
def test_tokenize_many_is_tokenize_of_each_slice(u_rows, q, cuts, unk, skip, chrom_kind):
    names, starts, ends = q
    n = len(names)
    chroms = chrom_column(chrom_kind, names)
    if chroms is None:
        return
    tok = Tokenizer.from_regions(u_rows) if u_rows else Tokenizer.from_regions([], [], [])
    offsets = np.array([0] + sorted(min(c, n) for c in cuts) + [n], dtype=np.int64)
    got, exc = _run(
        lambda: tok.tokenize_many(
            (chroms, np.array(starts), np.array(ends)), offsets, unk=unk, skip_bad_lines=skip
        )
    )
    want = []
    first_bad = None
    for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist()):
        part, e = _run(
            lambda a=a, b=b: tok.tokenize(
                (names[a:b], starts[a:b], ends[a:b]), unk=unk, skip_bad_lines=skip
            ).ids.tolist()
        )
        if e is not None:
            first_bad = first_bad or (a + e.line_number, e.problem)
        want.append(part)
    if first_bad is not None:
        assert exc is not None and (exc.line_number, exc.problem) == first_bad
        return
    assert exc is None, exc
    ids, id_offsets = got
    assert ids.dtype == np.uint32 and id_offsets.dtype == np.int64
    assert len(id_offsets) == len(offsets)
    assert [ids[a:b].tolist() for a, b in zip(id_offsets[:-1], id_offsets[1:])] == want


def test_tokenize_many_edges():
    tok = Tokenizer.from_regions(["chr1"], [0], [100])
    unk = tok.unk_token_id
    ids, offs = tok.tokenize_many(([], [], []), [0])
    assert ids.tolist() == [] and offs.tolist() == [0]
    ids, offs = tok.tokenize_many(([], [], []), [0, 0, 0])
    assert ids.tolist() == [unk, unk] and offs.tolist() == [0, 1, 2]
    ids, offs = tok.tokenize_many((["chr1", "chr1"], [5, 500], [6, 501]), [0, 0, 1, 2])
    assert ids.tolist() == [unk, 0, unk] and offs.tolist() == [0, 1, 2, 3]
    for bad in ([0, 1], [1, 2], [0, 2, 1, 2], [[0, 2]], [0.0, 2.0]):
        with pytest.raises(ValueError, match="offsets"):
            tok.tokenize_many((["chr1", "chr1"], [5, 500], [6, 501]), bad)


# ---------------------------------------------------------------------- from_regions


def _write_universe(path, rows):
    path.write_bytes(b"".join(_bytes(c) + b"\t%d\t%d\n" % (s, e) for c, s, e in rows))


@settings(max_examples=150, deadline=None)
@given(universes(), queries(bad=False), st.sampled_from(["list", "U", "object", "arrow_string"]))
def test_from_regions_is_the_bed_file(tmp_path_factory, u_rows, q, kind):
    path = tmp_path_factory.mktemp("u") / "u.bed"
    _write_universe(path, u_rows)
    from_file = Tokenizer(path)
    names = [c for c, _, _ in u_rows]
    chroms = chrom_column(kind, names)
    if chroms is None:
        return
    starts = np.array([s for _, s, _ in u_rows], dtype=np.int64)
    ends = np.array([e for _, _, e in u_rows], dtype=np.int64)
    tok = Tokenizer.from_regions(chroms, starts, ends)
    assert tok.fingerprint == from_file.fingerprint
    assert tok.vocab_size == from_file.vocab_size
    assert tok.universe.chrom_names == from_file.universe.chrom_names
    assert tok.universe.source is None
    qn, qs, qe = q
    assert tok.tokenize((qn, qs, qe)).ids.tolist() == from_file.tokenize((qn, qs, qe)).ids.tolist()
    assert tok.get_vocab() == from_file.get_vocab()
    again = pickle.loads(pickle.dumps(tok))
    assert again.fingerprint == tok.fingerprint and again.universe.source is None


def test_from_regions_tables_and_special_tokens(tmp_path):
    pd = _pandas()
    pa = _pyarrow()
    rows = [("chr2", 10, 20), ("chr1", 0, 5), ("chr2", 10, 20), ("chr1", 3, 9)]
    path = tmp_path / "u.bed"
    _write_universe(path, rows)
    want = Tokenizer(path).fingerprint
    df = pd.DataFrame(rows, columns=["chrom", "start", "end"])
    assert Tokenizer.from_regions(df).fingerprint == want
    assert Tokenizer.from_regions(pa.Table.from_pandas(df)).fingerprint == want
    cat = pd.Categorical([r[0] for r in rows], categories=["chr1", "chr2"])
    assert Tokenizer.from_regions(cat, df["start"], df["end"]).fingerprint == want
    dict_arr = pa.array([r[0] for r in rows]).dictionary_encode()
    assert Tokenizer.from_regions(dict_arr, df["start"], df["end"]).fingerprint == want
    assert Tokenizer.from_regions(rows).fingerprint == want
    tok = Tokenizer.from_regions(rows, special_tokens={"unk": "<UNK>"})
    assert tok.unk_token == "<UNK>" and tok.fingerprint != want
    assert repr(tok).startswith("Tokenizer(<in memory>, 3 regions on 2 chromosomes")
    with pytest.raises(ValueError, match="special token"):
        Tokenizer.from_regions(rows, special_tokens={"foo": "x"})
    with pytest.raises(TypeError):
        Tokenizer.from_regions(["chr1"], [1])


@pytest.mark.parametrize(
    "rows, line, problem",
    [
        ([("chr1", 5, 1)], 1, "start is greater than end"),
        ([("chr1", 1, 5), ("", 1, 5)], 2, "missing or empty"),
        ([("chr1", 1, 5), ("chr1", -1, 5)], 2, "negative"),
        ([("chr1", 1, 5), ("x\ud800", 1, 5)], 2, "stands for no bytes"),
        ([("chr1", 1, 5), ("chr\t1", 1, 5)], 2, "tab or line break"),
        ([("#chr1", 1, 5)], 1, "'#'"),
        ([("chr1", 1, 5), ("track x", 1, 5)], 2, "'track' or 'browser'"),
        ([("chr1", 1, 5), ("chr1", 1.5, 5)], 2, "start is not an integer"),
        ([("chr1", 1, 5), ("chr1",)], 2, "must be (chrom, start, end)"),
    ],
)
def test_from_regions_bad_rows_raise(rows, line, problem):
    with pytest.raises(BedFormatError) as info:
        Tokenizer.from_regions(rows)
    assert info.value.line_number == line and problem in info.value.problem
    assert info.value.path == "<regions>"


def test_in_memory_universe_in_a_batch_run(tmp_path):
    from gtok.batch.run import pretokenize
    from gtok.io.manifest import load_manifest, manifest_path

    tok = Tokenizer.from_regions(["chr1", "chr1"], [0, 200], [100, 300])
    bed = tmp_path / "q.bed"
    bed.write_text("chr1\t5\t10\nchr1\t250\t260\n")
    out = tmp_path / "out"
    summary = pretokenize(tok, [str(bed)], str(out), jobs=1)
    assert summary.ok
    m = load_manifest(manifest_path(str(out), None))
    assert m["universe"]["path"] is None
    assert m["universe"]["fingerprint"] == tok.fingerprint
