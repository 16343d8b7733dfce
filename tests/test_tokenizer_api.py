"""The Tokenizer facade (docs/semantics.md §5): vocabulary and decoding, result objects, pickling,
fingerprints, threads, input kinds."""

from __future__ import annotations

import copy
import gzip
import os
import pickle
import random
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from gtok import BatchEncoding, TokenizedRegionSet, Tokenizer

from _tok_helpers import CONFORMANCE, oracle, write_bed

SPECIAL_NAMES = ("unk", "pad", "mask", "cls", "eos", "bos", "sep")

UNIVERSE = [
    ("chr2", 500, 600),
    ("chr1", 100, 200),
    ("chr1", 150, 250),
    ("chr1", 0, 1000),
    ("chrX", 10, 20),
    ("chr10", 7, 8),
]
N = len(UNIVERSE)


@pytest.fixture
def upath(tmp_path):
    return write_bed(tmp_path / "universe.bed", UNIVERSE)


@pytest.fixture
def universe(upath):
    return upath


# ====================================================================== vocabulary


def test_vocab_layout(tok):
    assert tok.vocab_size == len(tok) == N + 7
    vocab = tok.get_vocab()
    assert len(vocab) == N + 7
    for i, (c, s, e) in enumerate(UNIVERSE):
        assert vocab[f"{c}:{s}-{e}"] == i
    for k, name in enumerate(SPECIAL_NAMES):
        assert getattr(tok, f"{name}_token") == f"<{name}>"
        assert getattr(tok, f"{name}_token_id") == N + k
        assert vocab[f"<{name}>"] == N + k
    assert tok.special_tokens_map == {f"{n}_token": f"<{n}>" for n in SPECIAL_NAMES}
    # get_vocab hands out a copy
    vocab["chr1:100-200"] = 99
    assert tok.get_vocab()["chr1:100-200"] == 1


def test_decode_and_convert_round_trips(tok):
    everything = list(range(tok.vocab_size))
    tokens = tok.decode(everything)
    assert tokens[:N] == [f"{c}:{s}-{e}" for c, s, e in UNIVERSE]
    assert tokens[N:] == [f"<{n}>" for n in SPECIAL_NAMES]
    assert tok.convert_tokens_to_ids(tokens) == everything
    assert tok.encode(tokens) == everything
    assert tok.convert_ids_to_tokens(everything) == tokens
    for i in everything:
        assert tok.convert_ids_to_tokens(i) == tokens[i]
        assert tok.convert_ids_to_tokens(np.uint32(i)) == tokens[i]
        assert tok.convert_tokens_to_ids(tokens[i]) == i
    assert {t: i for i, t in enumerate(tokens)} == tok.get_vocab()
    # arrays and results decode as well
    res = tok.tokenize([("chr1", 120, 160)])
    assert (
        tok.decode(res)
        == tok.decode(res.ids)
        == tok.decode(res.ids.tolist())
        == res.to_tokens()
        == ["chr1:0-1000", "chr1:100-200", "chr1:150-250"]
    )
    assert tok.decode(np.array([[1, 2]], dtype=np.int64)) == ["chr1:100-200", "chr1:150-250"]
    assert tok.decode([]) == [] and tok.convert_ids_to_tokens([]) == []
    assert tok.convert_tokens_to_ids([]) == [] and tok.encode([]) == []


def test_unknown_token_strings_give_unk(tok):
    assert tok.convert_tokens_to_ids("chr1:1-2") == tok.unk_token_id
    assert tok.convert_tokens_to_ids(["chr1:100-200", "nope", "<pad>"]) == [
        1,
        tok.unk_token_id,
        tok.pad_token_id,
    ]


def test_decode_refuses_ids_outside_the_vocabulary(tok):
    """gtars decodes an out-of-range id as <unk>; a silent wrong answer we do not copy."""
    for bad in ([tok.vocab_size], [-1], [0, 2**40]):
        with pytest.raises(ValueError, match="outside the vocabulary"):
            tok.decode(bad)
    with pytest.raises(TypeError):
        tok.decode([1.5])


def test_encode_a_single_token_gives_a_list(tok):
    """gtars' encode("chr1:100-200") is [1], a list, unlike convert_tokens_to_ids."""
    assert tok.encode("chr1:100-200") == [1]
    assert tok.encode("nope") == [tok.unk_token_id]
    assert tok.convert_tokens_to_ids("chr1:100-200") == 1


def test_special_tokens_mask(tok):
    # gtars' form: token strings in, booleans out
    assert tok.get_special_tokens_mask(["chr1:100-200", "<unk>", "<sep>", "zzz"]) == [
        False,
        True,
        True,
        False,
    ]
    # ids in, 0/1 out (the Hugging Face form)
    assert tok.get_special_tokens_mask([0, N, N + 6, N - 1]) == [0, 1, 1, 0]
    assert tok.get_special_tokens_mask([]) == []


def test_get_vocab_matches_gtars(upath, tok):
    tokenizers = pytest.importorskip("gtars.tokenizers")
    ref = tokenizers.Tokenizer(upath)
    assert tok.get_vocab() == ref.get_vocab()
    ids = list(range(ref.vocab_size))
    assert tok.decode(ids) == ref.decode(ids)
    assert tok.convert_ids_to_tokens(ids) == ref.convert_ids_to_tokens(ids)
    tokens = ref.decode(ids) + ["chr9:1-2"]
    assert tok.convert_tokens_to_ids(tokens) == ref.convert_tokens_to_ids(tokens)
    assert tok.encode(tokens) == ref.encode(tokens)
    assert tok.encode(tokens[0]) == ref.encode(tokens[0])
    assert tok.get_special_tokens_mask(tokens) == ref.get_special_tokens_mask(tokens)


# ====================================================================== results


def test_tokenized_region_set(tok):
    res = tok.tokenize([("chr1", 120, 160), ("chrZ", 1, 2), ("chr2", 550, 551)])
    assert isinstance(res, TokenizedRegionSet)
    assert res.ids.dtype == np.uint32 and res.ids.ndim == 1
    assert res.ids.tolist() == [3, 1, 2, 0]
    arr = np.asarray(res)
    assert arr.dtype == np.uint32 and arr.tolist() == [3, 1, 2, 0]
    assert np.asarray(res, dtype=np.int64).dtype == np.int64
    assert np.asarray(res, dtype=np.int64).tolist() == [3, 1, 2, 0]
    copied = np.array(res, copy=True)
    copied[0] = 99
    assert res.ids[0] == 3
    assert len(res) == 4 and list(res) == [3, 1, 2, 0] and res.tolist() == [3, 1, 2, 0]
    assert res[1] == 1 and res[-1] == 0 and res[1:3].tolist() == [1, 2]
    assert res.attention_mask.tolist() == [1, 1, 1, 1]
    assert (res.n_regions, res.n_unknown_chrom, res.n_skipped) == (3, 1, 0)
    assert "TokenizedRegionSet" in repr(res)
    again = pickle.loads(pickle.dumps(res))
    assert again.ids.tolist() == res.ids.tolist() and again.n_unknown_chrom == 1


@pytest.mark.parametrize("keep_order", [False, True])
@pytest.mark.parametrize("unk", ["whole", "per_region"])
@pytest.mark.parametrize("layout", ["shuffled", "in_gtars_order", "all_known"])
def test_regions_on_unknown_chromosomes_are_counted_in_every_order(
    tok, tmp_path, keep_order, unk, layout
):
    rows = [("chr2", 550, 551), ("chrZ", 1, 2), ("chr1", 120, 160), ("chrQ", 5, 6)]
    rows += [("chr1", 0, 1), ("chrZ", 3, 4), ("chrX", 0, 15)]
    if layout == "in_gtars_order":  # names as bytes, then starts
        rows = sorted(rows, key=lambda r: (r[0].encode(), r[1]))
    elif layout == "all_known":
        rows = [r for r in rows if r[0] not in ("chrZ", "chrQ")]
    res = tok.tokenize(write_bed(tmp_path / "q.bed", rows), keep_order=keep_order, unk=unk)
    names = {c for c, _, _ in UNIVERSE}
    assert res.n_regions == len(rows)
    assert res.n_unknown_chrom == sum(c not in names for c, _, _ in rows)


def test_call_form(tok, tmp_path):
    q = write_bed(tmp_path / "q.bed", [("chr2", 550, 551), ("chr1", 120, 160)])
    out = tok(q)
    assert isinstance(out, BatchEncoding) and isinstance(out, dict)
    assert out == {"input_ids": [3, 1, 2, 0], "attention_mask": [1, 1, 1, 1]}
    assert out.input_ids == out["input_ids"]
    assert all(type(i) is int for i in out["input_ids"])
    with pytest.raises(AttributeError):
        out.nothing
    # options pass through
    assert tok(q, keep_order=True)["input_ids"] == [0, 3, 1, 2]
    assert tok([("chrZ", 1, 2), ("chrY", 1, 2)], unk="per_region")["input_ids"] == [N, N]


def test_keep_order_and_unk_modes(tok, tmp_path):
    rows = [
        ("chrX", 15, 16),
        ("chrZ", 1, 2),
        ("chr10", 7, 8),
        ("chr1", 2000, 3000),
        ("chr1", 150, 160),
    ]
    q = write_bed(tmp_path / "q.bed", rows)
    assert tok.tokenize(q).ids.tolist() == [3, 1, 2, 5, 4]  # chr1 < chr10 < chrX
    assert tok.tokenize(q, keep_order=True).ids.tolist() == [4, 5, 3, 1, 2]
    # per region: unknown chromosomes sort among the others by name (chrZ last)
    assert tok.tokenize(q, unk="per_region").ids.tolist() == [3, 1, 2, N, 5, 4, N]
    assert tok.tokenize(q, keep_order=True, unk="per_region").ids.tolist() == [4, N, 5, N, 3, 1, 2]
    assert tok.tokenize(rows, unk="per_region").ids.tolist() == oracle(
        UNIVERSE, rows, sort=False, per_region=True
    )


# ====================================================================== input kinds


class Region:
    def __init__(self, chr, start, end):
        self.chr, self.start, self.end = chr, start, end


ROWS = [("chr1", 120, 160), ("chrZ", 1, 2), ("chr2", 550, 551), ("chr1", 0, 1), ("chrX", 0, 15)]


@pytest.mark.parametrize(
    "kind",
    [
        "tuples",
        "lists",
        "objects",
        "generator",
        "list_columns",
        "tuple_columns",
        "numpy_str_int64",
        "numpy_str_uint32",
        "numpy_str_int32",
        "numpy_str_uint64",
        "numpy_bytes",
        "numpy_object",
        "numpy_noncontiguous",
        "mixed_numpy_scalars",
    ],
)
def test_in_memory_input_kinds(tok, kind):
    chroms = [c for c, _, _ in ROWS]
    starts = [s for _, s, _ in ROWS]
    ends = [e for _, _, e in ROWS]
    x = {
        "tuples": lambda: list(ROWS),
        "lists": lambda: [list(r) for r in ROWS],
        "objects": lambda: [Region(*r) for r in ROWS],
        "generator": lambda: (r for r in ROWS),
        "list_columns": lambda: (chroms, starts, ends),
        "tuple_columns": lambda: (tuple(chroms), tuple(starts), tuple(ends)),
        "numpy_str_int64": lambda: (
            np.array(chroms),
            np.array(starts, np.int64),
            np.array(ends, np.int64),
        ),
        "numpy_str_uint32": lambda: (
            np.array(chroms),
            np.array(starts, np.uint32),
            np.array(ends, np.uint32),
        ),
        "numpy_str_int32": lambda: (
            np.array(chroms),
            np.array(starts, np.int32),
            np.array(ends, np.int32),
        ),
        "numpy_str_uint64": lambda: (
            np.array(chroms),
            np.array(starts, np.uint64),
            np.array(ends, np.uint64),
        ),
        "numpy_bytes": lambda: (
            np.array([c.encode() for c in chroms]),
            np.array(starts),
            np.array(ends),
        ),
        "numpy_object": lambda: (
            np.array(chroms, dtype=object),
            np.array(starts, dtype=object),
            np.array(ends, dtype=object),
        ),
        "numpy_noncontiguous": lambda: (
            np.repeat(chroms, 2)[::2],
            np.repeat(starts, 2)[::2],
            np.repeat(ends, 2)[::2],
        ),
        "mixed_numpy_scalars": lambda: [
            (np.str_(c), np.int64(s), np.uint32(e)) for c, s, e in ROWS
        ],
    }[kind]()
    want = oracle(UNIVERSE, ROWS, sort=False)
    res = tok.tokenize(x)
    assert res.ids.tolist() == want == [3, 1, 2, 0, 3, 4]
    assert (res.n_regions, res.n_unknown_chrom) == (5, 1)


def test_gtars_region_objects(tok):
    models = pytest.importorskip("gtars.models")
    regions = [models.Region(c, s, e, None) for c, s, e in ROWS]
    assert tok.tokenize(regions).ids.tolist() == [3, 1, 2, 0, 3, 4]


def test_path_kinds(tok, tmp_path):
    q = write_bed(tmp_path / "q.bed", ROWS)
    want = oracle(UNIVERSE, ROWS, sort=True)
    assert tok.tokenize(q).ids.tolist() == want
    assert tok.tokenize(Path(q)).ids.tolist() == want
    assert tok.tokenize(str(q)).ids.tolist() == want
    assert Tokenizer(Path(tmp_path / "universe.bed")).fingerprint == tok.fingerprint


# ====================================================================== pickling


@pytest.mark.parametrize("protocol", range(2, pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_round_trip(tok, tmp_path, protocol):
    q = write_bed(tmp_path / "q.bed", ROWS)
    blob = pickle.dumps(tok, protocol=protocol)
    back = pickle.loads(blob)
    assert back.fingerprint == tok.fingerprint
    assert back.get_vocab() == tok.get_vocab()
    assert back.tokenize(q).ids.tolist() == tok.tokenize(q).ids.tolist()
    assert back.tokenize(ROWS).ids.tolist() == tok.tokenize(ROWS).ids.tolist()
    assert back.special_tokens_map == tok.special_tokens_map
    assert copy.deepcopy(tok).fingerprint == tok.fingerprint
    assert copy.copy(tok).tokenize(ROWS).ids.tolist() == tok.tokenize(ROWS).ids.tolist()


def test_unpickling_does_not_read_the_universe(tmp_path):
    u = write_bed(
        tmp_path / "universe.bed", UNIVERSE + [("chr1", i * 10, i * 10 + 5) for i in range(200)]
    )
    q = write_bed(tmp_path / "q.bed", ROWS)
    tok = Tokenizer(u)
    want = tok.tokenize(q).ids.tolist()
    fingerprint = tok.fingerprint
    blob = pickle.dumps(tok)
    os.remove(u)
    back = pickle.loads(blob)
    assert back.tokenize(q).ids.tolist() == want
    assert back.fingerprint == fingerprint
    assert back.vocab_size == tok.vocab_size


def test_pickle_keeps_custom_special_tokens(tmp_path):
    write_bed(tmp_path / "universe.bed", UNIVERSE)
    cfg = tmp_path / "tok.toml"
    cfg.write_text(
        'universe = "universe.bed"\nspecial_tokens = [{name = "pad", token = "[PAD]"}]\n'
    )
    tok = Tokenizer(cfg)
    (tmp_path / "universe.bed").unlink()
    back = pickle.loads(pickle.dumps(tok))
    assert back.pad_token == "[PAD]" and back.fingerprint == tok.fingerprint


# ====================================================================== fingerprints


def _fp(tmp_path, rows, name, layout="plain"):
    return Tokenizer(write_bed(tmp_path / name, rows, layout)).fingerprint


def test_fingerprint_same_content_same_fingerprint(tmp_path, tok):
    fp = tok.fingerprint
    assert isinstance(fp, str) and len(fp) == 32 and int(fp, 16) >= 0
    assert _fp(tmp_path, UNIVERSE, "a.bed", "gzip") == fp
    assert _fp(tmp_path, UNIVERSE, "b.bed", "crlf") == fp
    assert _fp(tmp_path, UNIVERSE, "c.bed", "no_final_newline") == fp
    # a repeated row does not change the vocabulary, so not the fingerprint
    assert _fp(tmp_path, UNIVERSE + [UNIVERSE[0]], "d.bed") == fp
    # the file's name is not part of it
    assert _fp(tmp_path, UNIVERSE, "other-name.bed") == fp


@pytest.mark.parametrize("dup", [False, True])
def test_fingerprint_hashed_during_the_build_is_the_same(tmp_path, tok, monkeypatch, dup):
    """A large universe's fingerprint is hashed on a thread while its index is built
    (from the rows as read; thrown away when rows repeat): the same value either way."""
    import gtok.universe as universe_module

    monkeypatch.setattr(universe_module, "_HASH_ON_THREAD_ABOVE", 0)
    rows = UNIVERSE + ([UNIVERSE[1], UNIVERSE[0]] if dup else [])
    early = _fp(tmp_path, rows, "e.bed")
    later = Tokenizer(write_bed(tmp_path / "f.bed", rows))
    assert (later.universe._hashing is not None) == (not dup)  # joined when first asked for
    assert later.fingerprint == early
    later.universe._fingerprint = None  # computed again, from the stored regions
    assert early == later.fingerprint == tok.fingerprint


def _slow_digest(monkeypatch, calls):
    """Make the fingerprint's hash take 0.3 s (and count its calls): long enough that a
    tokenizer made with a thread hashing it is used while it still runs."""
    import gtok.universe as universe_module

    digest = universe_module._digest

    def slow(*args):
        calls.append(threading.current_thread().name)
        time.sleep(0.3)
        return digest(*args)

    monkeypatch.setattr(universe_module, "_digest", slow)
    monkeypatch.setattr(universe_module, "_HASH_ON_THREAD_ABOVE", 0)


def test_fingerprint_asked_by_threads_at_once_is_hashed_once(tmp_path, tok, monkeypatch):
    want = tok.fingerprint
    calls: list[str] = []
    _slow_digest(monkeypatch, calls)
    fresh = Tokenizer(write_bed(tmp_path / "t.bed", UNIVERSE))
    got: list[str] = []
    askers = [threading.Thread(target=lambda: got.append(fresh.fingerprint)) for _ in range(4)]
    for t in askers:
        t.start()
    for t in askers:
        t.join()
    assert got == [want] * 4
    assert calls == ["gtok-fingerprint"]  # the thread's hash only, none again


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork")
def test_no_hashing_thread_runs_when_the_process_forks(tmp_path, tok, monkeypatch):
    """A fork right after a tokenizer is made (a DataLoader's workers, a pool) waits for
    the thread hashing its fingerprint: no other thread runs at the fork (unsafe, and
    Python 3.12+ warns of it)."""
    want = tok.fingerprint
    calls: list[str] = []
    _slow_digest(monkeypatch, calls)
    fresh = Tokenizer(write_bed(tmp_path / "f.bed", UNIVERSE))
    hasher = fresh.universe._hashing[0]
    assert hasher.is_alive()
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # (3.12+: fork with threads)
        pid = os.fork()
        if pid == 0:  # the child: nothing else, at once
            os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0
    assert not hasher.is_alive()
    assert fresh.fingerprint == want and calls == ["gtok-fingerprint"]


def test_fingerprint_still_hashing_when_pickled(tmp_path, tok, monkeypatch):
    """A tokenizer pickled (to a worker) while its fingerprint is hashed on a thread
    carries the fingerprint, not the thread."""
    import gtok.universe as universe_module

    monkeypatch.setattr(universe_module, "_HASH_ON_THREAD_ABOVE", 0)
    fresh = Tokenizer(write_bed(tmp_path / "p.bed", UNIVERSE))
    assert fresh.universe._hashing is not None
    clone = pickle.loads(pickle.dumps(fresh))
    assert clone.universe._fingerprint == tok.fingerprint == fresh.fingerprint


def test_universe_columns_hold_just_their_rows(tok):
    """The universe's columns are trimmed to its rows (not views of the parser's larger
    buffers, which would stay alive as long as the tokenizer)."""
    u = tok.universe
    for column in (u.region_chroms, u.region_starts, u.region_ends):
        assert column.base is None and column.shape == (u.n_regions,)


@pytest.mark.parametrize("change", ["one_bp", "order", "extra", "fewer", "chrom_name"])
def test_fingerprint_differs_for_another_universe(tmp_path, tok, change):
    rows = list(UNIVERSE)
    if change == "one_bp":
        rows[2] = ("chr1", 150, 251)
    elif change == "order":
        rows[0], rows[1] = rows[1], rows[0]
    elif change == "extra":
        rows.append(("chr3", 1, 2))
    elif change == "fewer":
        rows.pop()
    else:
        rows[4] = ("chrx", 10, 20)
    assert _fp(tmp_path, rows, "u2.bed") != tok.fingerprint


@pytest.mark.parametrize("name", SPECIAL_NAMES)
def test_fingerprint_differs_for_other_special_tokens(tmp_path, upath, tok, name):
    cfg = tmp_path / "tok.toml"
    cfg.write_text('universe = "universe.bed"\n')
    assert Tokenizer(cfg).fingerprint == tok.fingerprint
    cfg.write_text(
        f'universe = "universe.bed"\nspecial_tokens = [{{name = "{name}", '
        f'token = "[{name.upper()}]"}}]\n'
    )
    other = Tokenizer(cfg)
    assert other.fingerprint != tok.fingerprint
    assert other.get_vocab()[f"[{name.upper()}]"] == getattr(tok, f"{name}_token_id")


# ====================================================================== threads


def _big_case(tmp_path):
    rng = random.Random(1234)
    chroms = ["chr1", "chr2", "chr10", "chrX"]
    universe = []
    for c in chroms:
        pos = 0
        for _ in range(5000):
            pos += rng.randrange(50, 400)
            universe.append((c, pos, pos + rng.randrange(0, 600)))
        universe.append((c, 0, pos // 2))  # a long one: several components
    rng.shuffle(universe)
    u = write_bed(tmp_path / "universe.bed", universe)
    files = []
    for k in range(4):
        rows = [
            (rng.choice(chroms + ["chrUn"]), s, s + rng.randrange(0, 3000))
            for s in (rng.randrange(0, 1_200_000) for _ in range(60_000))
        ]
        files.append(write_bed(tmp_path / f"q{k}.bed", rows, "gzip" if k % 2 else "plain"))
    return u, files


def test_threads_give_the_sequential_ids(tmp_path):
    u, files = _big_case(tmp_path)
    tok = Tokenizer(u)
    sequential = [tok.tokenize(f).ids for f in files]
    sequential_kept = [tok.tokenize(f, keep_order=True, unk="per_region").ids for f in files]
    barrier = threading.Barrier(4)

    def work(k):
        barrier.wait()
        out = []
        for _ in range(3):
            out.append(tok.tokenize(files[k]).ids)
            out.append(tok.tokenize(files[k], keep_order=True, unk="per_region").ids)
        return out

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(work, range(4)))
    for k, out in enumerate(results):
        for a, b in zip(out[::2], out[1::2]):
            np.testing.assert_array_equal(a, sequential[k])
            np.testing.assert_array_equal(b, sequential_kept[k])


def test_threads_in_memory_columns(tmp_path):
    u, files = _big_case(tmp_path)
    tok = Tokenizer(u)
    inputs = []
    for f in files:
        with open(f, "rb") as fh:
            raw = fh.read()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        fields = [line.split("\t") for line in raw.decode().splitlines()]
        inputs.append(
            (
                np.array([x[0] for x in fields]),
                np.array([int(x[1]) for x in fields]),
                np.array([int(x[2]) for x in fields]),
            )
        )
    sequential = [tok.tokenize(x).ids for x in inputs]
    # the C parser at scale agrees with Python's reading of the same files
    for f, ids in zip(files, sequential):
        np.testing.assert_array_equal(tok.tokenize(f, keep_order=True).ids, ids)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda x: tok.tokenize(x).ids, inputs * 2))
    for k, ids in enumerate(results):
        np.testing.assert_array_equal(ids, sequential[k % 4])


def test_threads_share_a_fresh_tokenizer(tmp_path):
    """First use from many threads at once (lazy vocabulary, decode) is safe."""
    u = write_bed(tmp_path / "universe.bed", UNIVERSE)
    for _ in range(5):
        tok = Tokenizer(u)
        with ThreadPoolExecutor(4) as pool:
            vocabs = list(pool.map(lambda _, tok=tok: tok.get_vocab(), range(8)))
            ids = list(
                pool.map(
                    lambda _, tok=tok: tok.convert_tokens_to_ids(["chr1:100-200", "x"]), range(8)
                )
            )
        assert all(v == vocabs[0] for v in vocabs) and len(vocabs[0]) == N + 7
        assert all(i == [1, N] for i in ids)


# ====================================================================== constructors, repr


def test_constructors_agree(upath, tok):
    assert Tokenizer.from_bed(upath).fingerprint == tok.fingerprint
    assert "universe.bed" in repr(tok) and str(tok.vocab_size) in repr(tok)


def test_from_config_on_conformance_data():
    tok = Tokenizer.from_config(CONFORMANCE / "gtars" / "tokenizer.toml")
    assert tok.fingerprint == Tokenizer.from_bed(CONFORMANCE / "gtars" / "peaks.bed").fingerprint


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_a_tuple_of_regions_is_not_mistaken_for_columns(tok, n):
    """(r1, r2, r3) is three regions, not (chroms, starts, ends)."""
    rows = [("chr1", 150, 350), ("chrX", 0, 15), ("chr2", 0, 510), ("chr10", 7, 8)][:n]
    want = oracle(UNIVERSE, rows, sort=False)
    assert tok.tokenize(tuple(rows)).ids.tolist() == want
    assert tok.tokenize(tuple(list(r) for r in rows)).ids.tolist() == want
    assert tok.tokenize(tuple(Region(*r) for r in rows)).ids.tolist() == want
    # columns of three still are columns
    cols = tuple(zip(*[("chr1", 150, 350), ("chrX", 0, 15), ("chr2", 0, 510)]))
    assert tok.tokenize(cols).ids.tolist() == [3, 1, 2, 4, 0]


def test_a_tuple_of_three_gtars_regions(tok):
    models = pytest.importorskip("gtars.models")
    rows = [("chr1", 150, 350), ("chrX", 0, 15), ("chr2", 0, 510)]
    regions = tuple(models.Region(c, s, e, None) for c, s, e in rows)
    assert tok.tokenize(regions).ids.tolist() == oracle(UNIVERSE, rows, sort=False)
