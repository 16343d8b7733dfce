"""gtok against the recorded outputs of gtars 0.10.0 and geniml (tests/data/conformance).

Every case of ``expected_gtars_0.10.0.json`` is checked, and the ``.gtok`` files geniml's
test suite shipped for its six query files (ids in file order: ``keep_order=True``). The few
tests that call gtars itself skip where gtars is not installed.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from gtok import Tokenizer

from _tok_helpers import CONFORMANCE

SPECIAL_NAMES = ("unk", "pad", "mask", "cls", "eos", "bos", "sep")


def _cases():
    path = CONFORMANCE / "expected_gtars_0.10.0.json"
    return json.loads(path.read_text())["cases"]


CASES = _cases()
CASE_IDS = [f"{c['universe']}|{c['query']}" for c in CASES]
GENIML_QUERIES = [f"tokens{i}.bed" for i in range(1, 7)]

_tokenizers: dict = {}


def tokenizer(rel):
    """One tokenizer per universe for the module (building one is cheap, but why not)."""
    if rel not in _tokenizers:
        _tokenizers[rel] = Tokenizer(CONFORMANCE / rel)
    return _tokenizers[rel]


def read_gtok_v1(path):
    """A v1 ``.gtok`` read by hand (docs/semantics.md §2), independent of gtok's reader."""
    raw = path.read_bytes()
    assert raw[:4] == b"GTOK"
    assert raw[4] in (1, 2)
    dtype = "<u2" if raw[4] == 1 else "<u4"
    assert (len(raw) - 5) % np.dtype(dtype).itemsize == 0
    return np.frombuffer(raw[5:], dtype=dtype).tolist()


def regions_of(rel):
    rows = []
    for line in (CONFORMANCE / rel).read_text().splitlines():
        if line.strip():
            c, s, e = line.split("\t")[:3]
            rows.append((c, int(s), int(e)))
    return rows


def test_cases_present():
    assert len(CASES) >= 10
    assert {c["universe"] for c in CASES} >= {
        "gtars/peaks.bed",
        "gtars/peaks.bed.gz",
        "gtars/tokenizer.toml",
        "geniml/universe.uniq.bed",
    }


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_vocab_size_and_special_ids(case):
    tok = tokenizer(case["universe"])
    assert tok.vocab_size == case["vocab_size"]
    assert len(tok) == case["vocab_size"]
    for name in SPECIAL_NAMES:
        assert getattr(tok, f"{name}_token_id") == case["special_ids"][name], name
    assert list(case["special_ids"]) == list(SPECIAL_NAMES)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_ids_from_path(case):
    tok = tokenizer(case["universe"])
    query = CONFORMANCE / case["query"]
    want = case["ids_from_path"]
    assert tok(query)["input_ids"] == want
    assert tok(str(query))["input_ids"] == want
    res = tok.tokenize(query)
    assert res.ids.dtype == np.uint32
    assert res.ids.tolist() == want
    assert res.n_skipped == 0


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_ids_from_regions_in_file_order(case):
    tok = tokenizer(case["universe"])
    rows = regions_of(case["query"])
    want = case["ids_from_regions_in_file_order"]
    assert tok(rows)["input_ids"] == want
    assert tok.tokenize(rows).ids.tolist() == want
    cols = (
        [c for c, _, _ in rows],
        np.array([s for _, s, _ in rows]),
        np.array([e for _, _, e in rows]),
    )
    assert tok.tokenize(cols).ids.tolist() == want
    # a path with keep_order=True visits the file in the same order
    assert tok.tokenize(CONFORMANCE / case["query"], keep_order=True).ids.tolist() == want


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_strings_from_path(case):
    tok = tokenizer(case["universe"])
    res = tok.tokenize(CONFORMANCE / case["query"])
    assert tok.decode(res.ids) == case["strings_from_path"]
    assert res.to_tokens() == case["strings_from_path"]
    assert tok.convert_ids_to_tokens(res.ids.tolist()) == case["strings_from_path"]
    assert tok.convert_tokens_to_ids(case["strings_from_path"]) == case["ids_from_path"]


@pytest.mark.parametrize("query", GENIML_QUERIES)
def test_geniml_gtok_files_in_file_order(query):
    """geniml's shipped .gtok files: the ids of the queries in file order."""
    tok = tokenizer("geniml/universe.uniq.bed")
    want = read_gtok_v1(CONFORMANCE / "geniml" / query.replace(".bed", ".gtok"))
    assert tok.tokenize(CONFORMANCE / "geniml" / query, keep_order=True).ids.tolist() == want
    # every query there has a hit: the per-region unk mode changes nothing
    assert (
        tok.tokenize(CONFORMANCE / "geniml" / query, keep_order=True, unk="per_region").ids.tolist()
        == want
    )
    assert tok.tokenize(regions_of(f"geniml/{query}")).ids.tolist() == want


def test_geniml_universe_shape():
    """2,378 regions, unsorted, some over 100 Mb, no final newline: all read."""
    tok = tokenizer("geniml/universe.uniq.bed")
    raw = (CONFORMANCE / "geniml/universe.uniq.bed").read_bytes()
    assert not raw.endswith(b"\n")
    assert tok.universe.n_regions == 2378
    rows = regions_of("geniml/universe.uniq.bed")
    assert max(e - s for _, s, e in rows) > 100_000_000
    assert tok.decode(range(2378)) == [f"{c}:{s}-{e}" for c, s, e in rows]


def test_gtars_peaks_gtok_is_the_universe_in_file_order():
    tok = tokenizer("gtars/peaks.bed")
    want = read_gtok_v1(CONFORMANCE / "gtars/peaks.gtok")
    assert want == list(range(25))
    assert tok.tokenize(CONFORMANCE / "gtars/peaks.bed", keep_order=True).ids.tolist() == want


def test_gtars_to_tokenize_gtok_older_unk():
    """to_tokenize.gtok came from an older gtars: one <unk> per region without a hit,
    written with an id one too high (26 for an unk of 25). Ours: per-region mode gives the
    same ids with the right unk; the default gives today's gtars ids."""
    tok = tokenizer("gtars/peaks.bed")
    old = read_gtok_v1(CONFORMANCE / "gtars/to_tokenize.gtok")
    assert old == [22, 23, 24, 26]
    query = CONFORMANCE / "gtars/to_tokenize.bed"
    assert tok.tokenize(query, keep_order=True, unk="per_region").ids.tolist() == [
        22,
        23,
        24,
        tok.unk_token_id,
    ]
    assert tok.unk_token_id == old[-1] - 1
    assert tok.tokenize(query).ids.tolist() == [22, 23, 24]


@pytest.mark.parametrize(
    "universe", ["gtars/peaks.bed", "gtars/peaks.bed.gz", "gtars/tokenizer.toml"]
)
def test_three_ways_to_the_same_universe(universe):
    """BED, BED.gz and the TOML config pointing at the .gz give the same tokenizer."""
    tok = Tokenizer(CONFORMANCE / universe)
    plain = tokenizer("gtars/peaks.bed")
    assert tok.get_vocab() == plain.get_vocab()
    assert tok.fingerprint == plain.fingerprint
    assert tok.special_tokens_map == plain.special_tokens_map


def test_toml_config_constructors():
    path = CONFORMANCE / "gtars/tokenizer.toml"
    for tok in (Tokenizer(path), Tokenizer(str(path)), Tokenizer.from_config(path)):
        assert tok.vocab_size == 32
        assert tok(CONFORMANCE / "gtars/to_tokenize.bed")["input_ids"] == [22, 23, 24]


def test_gz_universe_from_bed_constructor():
    tok = Tokenizer.from_bed(CONFORMANCE / "gtars/peaks.bed.gz")
    assert tok.vocab_size == 32
    assert tok(CONFORMANCE / "gtars/to_tokenize.bed")["input_ids"] == [22, 23, 24]


def test_gz_universe_sniffed_not_named(tmp_path):
    """The gzip universe copied under a plain .bed name reads the same."""
    copy = tmp_path / "peaks.bed"
    shutil.copy(CONFORMANCE / "gtars/peaks.bed.gz", copy)
    tok = Tokenizer(copy)
    assert tok.get_vocab() == tokenizer("gtars/peaks.bed").get_vocab()


# ---------------------------------------------------------------------- live gtars


@pytest.fixture(scope="module")
def gtars_tokenizers():
    return pytest.importorskip("gtars.tokenizers")


@pytest.mark.parametrize(
    "universe",
    [
        "gtars/peaks.bed",
        "gtars/peaks.bed.gz",
        "gtars/tokenizer.toml",
        "geniml/universe.uniq.bed",
        "gtars/pbmc_hg38_var_peaks.bed",
    ],
)
def test_live_gtars_vocab(gtars_tokenizers, universe):
    ref = gtars_tokenizers.Tokenizer(str(CONFORMANCE / universe))
    tok = tokenizer(universe)
    assert tok.get_vocab() == ref.get_vocab()
    assert tok.vocab_size == ref.vocab_size
    assert tok.special_tokens_map == ref.special_tokens_map


@pytest.mark.parametrize(
    "query",
    [
        "gtars/pbmc_hg38_var_peaks.bed",
        "gtars/peaks.bed",
        *(f"geniml/{q}" for q in GENIML_QUERIES),
        "geniml/universe.uniq.bed",
    ],
)
@pytest.mark.parametrize("universe", ["gtars/pbmc_hg38_var_peaks.bed", "geniml/universe.uniq.bed"])
def test_live_gtars_cross(gtars_tokenizers, universe, query):
    """Every universe against every query file, gtars live."""
    ref = gtars_tokenizers.Tokenizer(str(CONFORMANCE / universe))
    tok = tokenizer(universe)
    assert tok(CONFORMANCE / query)["input_ids"] == ref(str(CONFORMANCE / query))["input_ids"]
