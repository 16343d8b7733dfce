"""Packs (docs/semantics.md §3, docs/format.md "Pack, version 1"): exact round trips, the
universe fingerprint, atomic writing, every kind of damage giving a typed error that names
the file, zero-copy aligned read-only views that outlive the pack, and the ``gtok pack`` /
``gtok tokenize --pack`` / ``gtok info`` commands."""

from __future__ import annotations

import gc
import itertools
import os
import pickle
import shutil
import struct
import tempfile
import zlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import gtok
from gtok import GtokDataset, PackWriter, Tokenizer, open_gtok, read_gtok, write_gtok, write_pack
from gtok.cli import main
from gtok.errors import (
    ChecksumError,
    CorruptIndexError,
    FingerprintMismatchError,
    GtokFormatError,
    MissingTrailerError,
    PackFormatError,
)
from gtok.example import SAMPLES, example_path
from gtok.io.pack import HEADER, TRAILER, GtokPack

from batchdata import run_cli

UNIVERSE = example_path("universe.bed")
CREATOR = f"gtok {gtok.__version__}"


@pytest.fixture(scope="module")
def universe() -> Path:
    return Path(UNIVERSE)


@pytest.fixture(scope="module")
def other_tok(tmp_path_factory: pytest.TempPathFactory) -> Tokenizer:
    """A tokenizer of another universe: the example universe without its last region."""
    path = tmp_path_factory.mktemp("other") / "universe.bed"
    lines = Path(UNIVERSE).read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-1]))
    return Tokenizer(path)


def _files(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


def _check_typed(err: BaseException, path: Path | str) -> None:
    """A format problem: a GtokFormatError subclass (never the bare base class) naming
    the file, as attribute and in the message."""
    assert isinstance(err, GtokFormatError), repr(err)
    assert type(err) is not GtokFormatError, repr(err)
    assert err.path == str(path)
    assert str(path) in str(err)


def _fix_crcs(raw: bytearray) -> bytearray:
    """Recompute the header, payload and trailer CRC32s after a deliberate edit, so that
    only the edited field is wrong."""
    raw[60:64] = struct.pack("<I", zlib.crc32(bytes(raw[:60])))
    end = len(raw) - TRAILER.size
    raw[end + 32 : end + 36] = struct.pack("<I", zlib.crc32(bytes(raw[HEADER.size : end])))
    raw[end + 36 : end + 40] = struct.pack("<I", zlib.crc32(bytes(raw[end : end + 36])))
    return raw


# ------------------------------------------------------------------------ round trips

_DIR = tempfile.mkdtemp(prefix="gtok-pack-tests-")
_COUNTER = itertools.count()


def teardown_module() -> None:
    shutil.rmtree(_DIR, ignore_errors=True)


_json_scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=8)
_json = st.recursive(
    _json_scalars,
    lambda kids: (
        st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=6), kids, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def packs(draw: Any) -> tuple[str, list[list[int]], list[Any], list[str] | None, dict | None]:
    dtype = draw(st.sampled_from(["uint16", "uint32"]))
    top = 0xFFFF if dtype == "uint16" else 0xFFFFFFFF
    ids = st.integers(0, top) | st.integers(0, 40)  # small ids too, so both widths show
    docs = draw(st.lists(st.lists(ids, max_size=40), max_size=12))
    # the same documents as the writer may receive them: lists, arrays, ranges-free tuples
    forms = []
    for d in docs:
        kind = draw(st.sampled_from(["list", "tuple", "u32", "i64", "native"]))
        forms.append(
            d
            if kind == "list"
            else tuple(d)
            if kind == "tuple"
            else np.array(d, dtype=np.uint32)
            if kind == "u32"
            else np.array(d, dtype=np.int64)
            if kind == "i64"
            else np.array(d, dtype=dtype)
        )
    names = draw(st.none() | st.lists(st.text(max_size=12), min_size=len(docs), max_size=len(docs)))
    metadata = draw(st.none() | st.dictionaries(st.text(max_size=8), _json, max_size=4))
    return dtype, docs, forms, names, metadata


def _check_pack(
    path: str, dtype: str, docs: list[list[int]], names: list[str] | None, metadata: dict | None
) -> None:
    n = len(docs)
    with open_gtok(path) as pack:
        assert isinstance(pack, GtokPack)
        assert (len(pack), pack.n_docs, pack.version) == (n, n, 1)
        assert pack.dtype == np.dtype(dtype)
        assert pack.n_tokens == sum(map(len, docs))
        for i, d in enumerate(docs):
            view = pack.doc(i)
            assert view.dtype == np.dtype(dtype)
            assert view.tolist() == d
            assert pack[i - n].tolist() == d
        assert [v.tolist() for v in pack] == docs
        for bad in (n, -n - 1):
            with pytest.raises(IndexError):
                pack.doc(bad)
        assert pack.names == names
        expected_meta = {"creator": CREATOR, **(metadata or {})}
        assert pack.metadata == expected_meta
        lengths = pack.lengths()
        assert lengths.dtype == np.int64 and lengths.tolist() == [len(d) for d in docs]
        assert pack.offsets.dtype == np.uint64
        assert pack.offsets.tolist() == np.cumsum([0] + [len(d) for d in docs]).tolist()
        assert (pack.fingerprint, pack.vocab_size) == (None, None)
        pack.check_fingerprint(SimpleNamespace(fingerprint="ab" * 16))  # none recorded
        pack.verify()
    concat = read_gtok(path)
    assert concat.dtype == np.dtype(dtype)
    assert concat.tolist() == [t for d in docs for t in d]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(packs())
@example(("uint16", [], [], None, None))  # an empty pack
@example(("uint32", [], [], [], {}))  # an empty pack with (no) names
@example(
    (
        "uint16",
        [[], [], []],
        [[], (), np.array([], np.int64)],
        ["", "é", "细胞 🧬"],
        {"é": ["ü", None]},
    )
)
def test_write_pack_round_trip(case: tuple) -> None:
    dtype, docs, forms, names, metadata = case
    path = os.path.join(_DIR, f"p{next(_COUNTER)}.gtok")
    write_pack(path, forms, names=names, dtype=dtype, metadata=metadata)
    _check_pack(path, dtype, docs, names, metadata)
    os.unlink(path)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(packs())
def test_pack_writer_round_trip(case: tuple) -> None:
    """The streaming writer, one document at a time; a missing name is stored as ""."""
    dtype, docs, forms, names, metadata = case
    path = os.path.join(_DIR, f"w{next(_COUNTER)}.gtok")
    with PackWriter(path, dtype=dtype, metadata=metadata) as w:
        for i, d in enumerate(forms):
            w.add(d, name=None if names is None else names[i])
            assert len(w) == i + 1
        assert w.n_tokens == sum(map(len, docs))
        assert not os.path.exists(path)  # nothing visible before close
    _check_pack(path, dtype, docs, [""] * len(docs) if names is None else names, metadata)
    os.unlink(path)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(packs(), st.integers(1, 4))
def test_pack_writer_add_many_round_trip(case: tuple, parts: int) -> None:
    """add_many, several documents a call (split into up to ``parts`` calls), writes the
    same pack as add one at a time."""
    dtype, docs, forms, names, metadata = case
    path = os.path.join(_DIR, f"m{next(_COUNTER)}.gtok")
    cuts = sorted({0, len(docs), *(len(docs) * k // parts for k in range(1, parts))})
    with PackWriter(path, dtype=dtype, metadata=metadata) as w:
        for a, b in zip(cuts, cuts[1:]):
            part = [np.asarray(d, dtype=np.int64) for d in docs[a:b]]
            ids = np.concatenate(part) if part else np.zeros(0, dtype=np.int64)
            offsets = np.cumsum([0] + [len(d) for d in part])
            w.add_many(ids, offsets, None if names is None else names[a:b])
            assert len(w) == b
    _check_pack(path, dtype, docs, [""] * len(docs) if names is None else names, metadata)
    os.unlink(path)


def test_pack_writer_add_many_checks(tmp_path: Path) -> None:
    path = tmp_path / "p.gtok"
    with PackWriter(path, dtype="uint16") as w:
        for ids, offsets in (
            ([1, 2], [0, 3]),
            ([1, 2], [1, 2]),
            ([1, 2], [0, 2, 1, 2]),
            ([1, 2], []),
        ):
            with pytest.raises(ValueError, match="offsets"):
                w.add_many(ids, offsets)
        with pytest.raises(ValueError, match="names"):
            w.add_many([1, 2], [0, 1, 2], ["a"])
        with pytest.raises(OverflowError, match="uint16"):
            w.add_many([1, 0x10000], [0, 2])
        assert len(w) == 0 and w.n_tokens == 0
        w.add_many([7, 8, 9], [0, 0, 3], ["e", "f"])
    p = open_gtok(path)
    assert [d.tolist() for d in p] == [[], [7, 8, 9]] and p.names == ["e", "f"]


def test_layout_matches_format_md(tmp_path: Path) -> None:
    path = tmp_path / "p.gtok"
    write_pack(
        path, [[1, 2, 3], [], [70000]], names=["a", "", "bé"], dtype="uint32", metadata={"k": 1}
    )
    raw = path.read_bytes()
    (
        magic,
        flag,
        version,
        features,
        data_offset,
        n_tokens,
        n_docs,
        index_offset,
        fp,
        vocab,
        crc,
    ) = HEADER.unpack(raw[:64])
    assert (magic, flag, version, features) == (b"GTOK", 0x82, 1, 3)
    assert (data_offset, n_tokens, n_docs) == (64, 4, 3)
    assert index_offset % 64 == 0 and index_offset >= 64 + 4 * 4
    assert (fp, vocab) == (b"\0" * 16, 0)
    assert crc == zlib.crc32(raw[:60])
    assert np.frombuffer(raw, "<u4", 4, 64).tolist() == [1, 2, 3, 70000]
    assert raw[64 + 16 : index_offset] == b"\0" * (index_offset - 80)
    assert np.frombuffer(raw, "<u8", 4, index_offset).tolist() == [0, 3, 3, 4]
    (n_off, n_size, m_off, m_size, pcrc, tcrc, marker) = TRAILER.unpack(raw[-48:])
    assert marker == b"GTOKPACK" and tcrc == zlib.crc32(raw[-48:-12])
    assert pcrc == zlib.crc32(raw[64:-48])
    assert n_off == index_offset + 32
    assert raw[n_off : n_off + n_size] == (struct.pack("<4Q", 0, 1, 1, 4) + "abé".encode())
    assert m_off == n_off + n_size and m_off + m_size == len(raw) - 48
    assert raw[m_off : m_off + m_size] == b'{"creator": "%s", "k": 1}' % CREATOR.encode()


def test_write_pack_names_must_match_documents(tmp_path: Path) -> None:
    for names in (["a"], ["a", "b", "c"]):
        with pytest.raises(ValueError, match="names"):
            write_pack(tmp_path / "p.gtok", [[1], [2]], names=names)
        assert _files(tmp_path) == []


def test_bad_ids_and_dtypes_write_nothing(tmp_path: Path) -> None:
    path = tmp_path / "p.gtok"
    with pytest.raises(OverflowError, match="uint16"):
        write_pack(path, [[1], [0xFFFF, 0x10000]], dtype="uint16")
    with pytest.raises(OverflowError):
        write_pack(path, [[2**32]])
    with pytest.raises(OverflowError):
        write_pack(path, [[-1]])
    with pytest.raises(TypeError):
        write_pack(path, [[1.5]])
    for dtype in ("int32", "uint8", "uint64", "float32"):
        with pytest.raises(TypeError, match="uint16 or uint32"):
            PackWriter(path, dtype=dtype)
    assert _files(tmp_path) == []
    write_pack(path, [[0xFFFF]], dtype="uint16")  # the largest uint16 id fits
    assert read_gtok(path).tolist() == [0xFFFF]


def test_closed_writer_refuses_more(tmp_path: Path) -> None:
    w = PackWriter(tmp_path / "p.gtok")
    w.add([1])
    w.close()
    w.close()  # harmless
    with pytest.raises(ValueError, match="closed"):
        w.add([2])
    assert open_gtok(tmp_path / "p.gtok").doc(0).tolist() == [1]


# ------------------------------------------------------------------------ universe


def test_tokenizer_records_its_universe(
    tmp_path: Path, tok: Tokenizer, other_tok: Tokenizer
) -> None:
    docs = [tok.tokenize(example_path(s)).ids for s in SAMPLES]
    path = tmp_path / "cells.gtok"
    write_pack(path, docs, names=list(SAMPLES), tokenizer=tok, metadata={"run": 7})
    pack = open_gtok(path)
    assert pack.fingerprint == tok.fingerprint and pack.vocab_size == tok.vocab_size
    assert pack.dtype == np.uint16  # the vocabulary (3244) fits
    for i, d in enumerate(docs):
        assert np.array_equal(pack.doc(i), d)
    meta = pack.metadata
    assert meta["run"] == 7 and meta["creator"] == CREATOR
    assert meta["tokenizer"]["fingerprint"] == tok.fingerprint
    assert meta["tokenizer"]["vocab_size"] == tok.vocab_size
    assert meta["tokenizer"]["special_tokens"]["pad"] == {
        "token": tok.pad_token,
        "id": tok.pad_token_id,
    }
    assert meta["tokenizer"]["special_tokens"]["unk"]["id"] == tok.unk_token_id
    pack.check_fingerprint(tok)
    pack.check_fingerprint(Tokenizer(UNIVERSE))  # the same universe, another object
    assert other_tok.fingerprint != tok.fingerprint
    with pytest.raises(FingerprintMismatchError) as info:
        pack.check_fingerprint(other_tok)
    assert tok.fingerprint in str(info.value) and other_tok.fingerprint in str(info.value)
    assert str(path) in str(info.value)
    assert (info.value.expected, info.value.found) == (other_tok.fingerprint, tok.fingerprint)
    # a dataset given the other tokenizer refuses the pack too
    with pytest.raises(FingerprintMismatchError):
        GtokDataset(path, tokenizer=other_tok)
    # the tokenizer's width can be overridden
    write_pack(tmp_path / "wide.gtok", docs, tokenizer=tok, dtype="uint32")
    assert open_gtok(tmp_path / "wide.gtok").dtype == np.uint32


def test_ids_outside_the_vocabulary_are_refused(tmp_path: Path, tok: Tokenizer) -> None:
    path = tmp_path / "p.gtok"
    with PackWriter(path, tokenizer=tok) as w:
        w.add([0, tok.vocab_size - 1])  # the last special token is in the vocabulary
        with pytest.raises(ValueError, match=f"vocab_size {tok.vocab_size}"):
            w.add([1, tok.vocab_size])
        assert len(w) == 1  # the refused document was not added
    assert [d.tolist() for d in open_gtok(path)] == [[0, tok.vocab_size - 1]]
    with pytest.raises(ValueError, match="vocab"):
        write_pack(tmp_path / "q.gtok", [[1], [tok.vocab_size + 5]], tokenizer=tok)
    assert not (tmp_path / "q.gtok").exists()


# ------------------------------------------------------------------------ atomicity


def test_exception_inside_the_writer_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError):
        with PackWriter(tmp_path / "p.gtok") as w:
            w.add([1, 2, 3])
            assert len(_files(tmp_path)) == 1  # the temporary file, hidden
            assert _files(tmp_path)[0].startswith(".p.gtok.")
            raise RuntimeError("boom")
    assert _files(tmp_path) == []


def test_abandoned_writer_leaves_nothing(tmp_path: Path) -> None:
    w = PackWriter(tmp_path / "sub" / "p.gtok")
    w.add([1, 2, 3])
    assert len(_files(tmp_path / "sub")) == 1
    del w
    gc.collect()
    assert _files(tmp_path / "sub") == []
    w = PackWriter(tmp_path / "sub" / "p.gtok")
    w.abort()
    w.abort()
    with pytest.raises(ValueError, match="closed"):
        w.add([1])
    assert _files(tmp_path / "sub") == []


def test_failed_rewrite_keeps_the_existing_pack(tmp_path: Path) -> None:
    path = tmp_path / "p.gtok"
    write_pack(path, [[1, 2], [3]], names=["a", "b"])
    before = path.read_bytes()
    view = open_gtok(path).doc(0)
    with pytest.raises(RuntimeError):
        with PackWriter(path) as w:
            w.add([9, 9, 9])
            raise RuntimeError("boom")
    with pytest.raises(OverflowError):
        write_pack(path, [[5], [70000]], dtype="uint16")
    with pytest.raises(ValueError):
        write_pack(path, [[5]], names=["a", "b"])
    w = PackWriter(path)
    w.add([4])
    del w
    gc.collect()
    assert path.read_bytes() == before
    assert _files(tmp_path) == ["p.gtok"]
    assert view.tolist() == [1, 2]
    # a successful rewrite replaces it, and an old view keeps the old pages
    write_pack(path, [[7]])
    assert read_gtok(path).tolist() == [7]
    assert view.tolist() == [1, 2]


def test_metadata_that_is_not_strict_json_writes_nothing(tmp_path: Path) -> None:
    """The metadata block is JSON for any reader: no sets, no NaN or Infinity tokens
    (Python's json writes those by default); a failure at close leaves nothing."""
    path = tmp_path / "p.gtok"
    write_pack(path, [[1]], metadata={"old": True})
    before = path.read_bytes()
    for bad in ({"x": {1}}, {"x": float("nan")}, {"x": [float("inf")]}):
        with pytest.raises((TypeError, ValueError)):
            write_pack(path, [[2]], metadata=bad)
        w = PackWriter(path)
        w.add([3])
        w.metadata["late"] = bad
        with pytest.raises((TypeError, ValueError)):
            w.close()
    assert _files(tmp_path) == ["p.gtok"] and path.read_bytes() == before


# ------------------------------------------------------------------------ damage


def _sample_pack(folder: Path, dtype: str, parity_like_v1: bool = True) -> Path:
    """A pack with names and metadata. With ``parity_like_v1`` its size is chosen so that
    the same bytes would also be a whole number of ids for a version-1 reader (the worst
    case: a damaged flag byte must not make them readable as one token stream)."""
    width = np.dtype(dtype).itemsize
    for k in range(8):
        path = folder / f"sample-{dtype}.gtok"
        write_pack(
            path,
            [[1, 2, 3], [], [4, 5], list(range(40))],
            names=["a", "bb", "", "é"],
            dtype=dtype,
            metadata={"pad": "x" * k},
        )
        if not parity_like_v1 or (path.stat().st_size - 5) % width == 0:
            return path
    raise AssertionError("no padding gave the wanted size")  # pragma: no cover


def _expect_typed(path: Path) -> GtokFormatError:
    for read in (open_gtok, read_gtok):
        with pytest.raises(GtokFormatError) as info:
            read(path)
        _check_typed(info.value, path)
    return info.value


@pytest.mark.parametrize("dtype", ["uint16", "uint32"])
def test_every_header_byte_flip_is_caught(tmp_path: Path, dtype: str) -> None:
    good = _sample_pack(tmp_path, dtype).read_bytes()
    bad_path = tmp_path / "bad.gtok"
    for pos in range(HEADER.size):
        for mask in (0xFF, *(1 << b for b in range(8))):
            raw = bytearray(good)
            raw[pos] ^= mask
            bad_path.write_bytes(bytes(raw))
            try:
                _expect_typed(bad_path)
            except BaseException as exc:
                raise AssertionError(f"header byte {pos} ^ 0x{mask:02x}: {exc!r}") from exc


@pytest.mark.parametrize("dtype", ["uint16", "uint32"])
def test_pack_flag_without_its_high_bit_is_not_a_token_stream(tmp_path: Path, dtype: str) -> None:
    """0x81/0x82 are one bit away from the v1 flags 0x01/0x02; a v1 file has no CRC, so
    the reader must recognise the damaged pack rather than return its bytes as ids."""
    path = _sample_pack(tmp_path, dtype)
    raw = bytearray(path.read_bytes())
    raw[4] &= 0x7F
    path.write_bytes(bytes(raw))
    with pytest.raises(ChecksumError, match="flag byte 0x0[12] is damaged") as info:
        read_gtok(path)
    _check_typed(info.value, path)
    with pytest.raises(ChecksumError):
        GtokDataset(path)[0]
    # a genuine v1 file of the same size that ends with the same 8 bytes (but whose
    # header bytes are ids, not a pack header, and whose last 48 bytes are no pack trailer
    # matching its CRC32) is still a token stream
    raw[5:64] = bytes(range(1, 60))
    raw[-48] ^= 0xFF
    ids = np.frombuffer(bytes(raw[5:]), dtype=np.dtype(dtype).newbyteorder("<"))
    write_gtok(path, ids)
    assert path.read_bytes().endswith(b"GTOKPACK")
    assert read_gtok(path).tolist() == ids.tolist()


def test_every_proper_prefix_is_refused(tmp_path: Path) -> None:
    good = _sample_pack(tmp_path, "uint16").read_bytes()
    bad_path = tmp_path / "short.gtok"
    for size in range(len(good)):
        bad_path.write_bytes(good[:size])
        try:
            _expect_typed(bad_path)
        except BaseException as exc:
            raise AssertionError(f"prefix of {size} bytes: {exc!r}") from exc
    bad_path.write_bytes(good[: -TRAILER.size])
    with pytest.raises(MissingTrailerError):
        open_gtok(bad_path)


def test_every_trailer_byte_flip_is_caught(tmp_path: Path) -> None:
    good = _sample_pack(tmp_path, "uint32").read_bytes()
    bad_path = tmp_path / "bad.gtok"
    for pos in range(len(good) - TRAILER.size, len(good)):
        raw = bytearray(good)
        raw[pos] ^= 0x10
        bad_path.write_bytes(bytes(raw))
        err = _expect_typed(bad_path)
        assert isinstance(err, (ChecksumError, MissingTrailerError)), (pos, err)


@pytest.mark.parametrize("dtype", ["uint16", "uint32"])
def test_payload_damage_is_found_by_verify(tmp_path: Path, dtype: str) -> None:
    good = _sample_pack(tmp_path, dtype).read_bytes()
    bad_path = tmp_path / "bad.gtok"
    for pos in range(HEADER.size, len(good) - TRAILER.size):
        raw = bytearray(good)
        raw[pos] ^= 0xFF
        bad_path.write_bytes(bytes(raw))
        try:
            pack = open_gtok(bad_path)
        except GtokFormatError as exc:  # the first or last offset: found at open
            _check_typed(exc, bad_path)
            continue
        with pack:
            with pytest.raises(ChecksumError) as info:
                pack.verify()
            _check_typed(info.value, bad_path)
            for i in range(len(pack)):  # reading never crashes: a view or a typed error
                try:
                    pack.doc(i).tolist()
                except CorruptIndexError as exc:
                    _check_typed(exc, bad_path)
            for attr in ("names", "metadata"):
                try:
                    getattr(pack, attr)
                except PackFormatError as exc:
                    _check_typed(exc, bad_path)


def _index_offset(path: Path) -> int:
    with open_gtok(path) as pack:
        return pack._index_offset


def test_offsets_out_of_order(tmp_path: Path) -> None:
    path = _sample_pack(tmp_path, "uint16")  # offsets 0, 3, 3, 5, 45
    index = _index_offset(path)
    raw = bytearray(path.read_bytes())
    assert np.frombuffer(bytes(raw), "<u8", 5, index).tolist() == [0, 3, 3, 5, 45]
    raw[index + 16 : index + 24] = struct.pack("<Q", 4)  # 0, 3, 4, 5, 45 (fine)
    raw[index + 8 : index + 16] = struct.pack("<Q", 6)  # 0, 6, 4, 5, 45: out of order
    path.write_bytes(bytes(_fix_crcs(raw)))
    pack = open_gtok(path)  # O(1) open: only the first and last offsets
    assert pack.doc(3).tolist() == list(range(40))  # documents not involved still read
    assert pack.doc(2).tolist() == [5]  # tokens[4:5]
    for i in (1, -3):
        with pytest.raises(CorruptIndexError) as info:
            pack.doc(i)
        _check_typed(info.value, path)
    with pytest.raises(CorruptIndexError, match="out of order at document 1") as info:
        pack.verify()
    _check_typed(info.value, path)


def test_offset_past_the_tokens(tmp_path: Path) -> None:
    path = _sample_pack(tmp_path, "uint32")
    index = _index_offset(path)
    raw = bytearray(path.read_bytes())
    raw[index + 8 : index + 16] = struct.pack("<Q", 2**63 + 1)
    path.write_bytes(bytes(_fix_crcs(raw)))
    pack = open_gtok(path)
    for i in (0, 1):
        with pytest.raises(CorruptIndexError) as info:
            pack.doc(i)
        _check_typed(info.value, path)
    with pytest.raises(CorruptIndexError):
        pack.verify()


@pytest.mark.parametrize(
    "field, value",
    [
        ("version", 2),
        ("version", 0),
        ("data_offset", 65),
        ("data_offset", 0),
        ("data_offset", 2**63),
        ("n_tokens", 46),
        ("n_tokens", 44),
        ("n_tokens", 2**62),
        ("n_tokens", 2**64 - 1),
        ("n_docs", 5),
        ("n_docs", 3),
        ("n_docs", 2**61),
        ("n_docs", 2**64 - 1),
        ("index_offset", 8),
        ("index_offset", 3),
        ("index_offset", 2**64 - 64),
    ],
)
def test_header_fields_with_a_valid_crc_are_still_checked(
    tmp_path: Path, field: str, value: int
) -> None:
    """A header that passes its CRC but whose sizes are wrong (a bad writer) is refused
    at open, never read out of bounds."""
    path = _sample_pack(tmp_path, "uint16")
    raw = bytearray(path.read_bytes())
    where = {
        "version": (5, "<B"),
        "data_offset": (8, "<Q"),
        "n_tokens": (16, "<Q"),
        "n_docs": (24, "<Q"),
        "index_offset": (32, "<Q"),
    }[field]
    struct.pack_into(where[1], raw, where[0], value)
    path.write_bytes(bytes(_fix_crcs(raw)))
    _expect_typed(path)


def test_sections_outside_the_file_are_refused(tmp_path: Path) -> None:
    path = _sample_pack(tmp_path, "uint16")
    good = path.read_bytes()
    end = len(good) - TRAILER.size
    for field, value in ((0, 10), (8, 2**40), (16, 10), (24, 2**63), (16, end)):
        raw = bytearray(good)
        struct.pack_into("<Q", raw, end + field, value)
        if (field, value) == (16, end):
            struct.pack_into("<Q", raw, end + 24, 1)  # one byte into the trailer
        path.write_bytes(bytes(_fix_crcs(raw)))
        with pytest.raises(PackFormatError, match="outside the file") as info:
            open_gtok(path)
        _check_typed(info.value, path)


def test_damaged_metadata_is_a_typed_error(tmp_path: Path) -> None:
    path = _sample_pack(tmp_path, "uint16")
    with open_gtok(path) as pack:
        m_off = pack._sections[2]
    raw = bytearray(path.read_bytes())
    raw[m_off] = ord("[")  # no longer a JSON object... nor valid JSON
    raw[m_off + 1] = ord("}")
    path.write_bytes(bytes(_fix_crcs(raw)))
    pack = open_gtok(path)
    with pytest.raises(PackFormatError, match="JSON") as info:
        pack.metadata
    _check_typed(info.value, path)


@pytest.mark.parametrize(
    "text", ["[1, 2]", "null", "42", '"text"', "[" * 100_000 + "]" * 100_000], ids=str.__len__
)
def test_metadata_that_is_json_but_not_an_object_is_a_format_error(
    tmp_path: Path, text: str
) -> None:
    """Valid JSON, every CRC right, but not an object (or nested past the parser's
    recursion limit): a PackFormatError naming the file, never TypeError/RecursionError;
    ``gtok info`` reports it without a traceback."""
    path = tmp_path / "odd.gtok"
    write_pack(path, [[1, 2], [3]], metadata={"pad": "x" * 200_010})
    with open_gtok(path) as pack:
        m_off, m_size = pack._sections[2], pack._sections[3]
    raw = bytearray(path.read_bytes())
    raw[m_off : m_off + m_size] = text.encode().ljust(m_size)  # JSON allows trailing spaces
    path.write_bytes(bytes(_fix_crcs(raw)))
    pack = open_gtok(path)
    assert pack.doc(0).tolist() == [1, 2]  # the documents are intact
    with pytest.raises(PackFormatError) as info:
        pack.metadata
    _check_typed(info.value, path)
    pack.close()
    r = run_cli("info", str(path))
    assert "Traceback" not in r.stderr and str(path) in r.stderr + r.stdout


# ------------------------------------------------------------------------ views


def test_views_are_aligned_read_only_and_zero_copy(tmp_path: Path) -> None:
    for dtype in ("uint16", "uint32"):
        path = tmp_path / f"{dtype}.gtok"
        rng = np.random.default_rng(1)
        docs = [rng.integers(0, 60000, size=int(n)) for n in rng.integers(0, 30, size=50)]
        write_pack(path, docs, dtype=dtype)
        pack = open_gtok(path)
        tokens = pack.tokens
        assert tokens.ctypes.data % 64 == 0
        assert not tokens.flags.writeable
        for i, d in enumerate(docs):
            view = pack.doc(i)
            assert view.flags.aligned and view.flags.c_contiguous
            assert view.ctypes.data % view.itemsize == 0
            assert not view.flags.writeable and not view.flags.owndata
            assert np.array_equal(view, d)
            if len(d):
                assert np.shares_memory(view, tokens)
                with pytest.raises(ValueError):
                    view[0] = 1
        assert not pack.offsets.flags.writeable


def test_views_outlive_the_pack_and_its_dataset(tmp_path: Path) -> None:
    path = tmp_path / "p.gtok"
    docs = [[1, 2, 3], [], [4, 5], list(range(1000))]
    write_pack(path, docs, names=["a", "b", "c", "d"])
    pack = open_gtok(path)
    views = [pack.doc(i) for i in range(4)]
    tokens = pack.tokens
    del pack
    gc.collect()
    with open_gtok(path) as pack:
        in_block = pack.doc(3)
    assert pack.closed
    ds = GtokDataset(path)
    from_ds = [ds[i] for i in range(len(ds))]
    del ds
    gc.collect()
    os.unlink(path)  # the mapping does not need the name
    assert [v.tolist() for v in views] == docs
    assert [v.tolist() for v in from_ds] == docs
    assert in_block.tolist() == docs[3]
    assert tokens.tolist() == [t for d in docs for t in d]


def test_close_with_a_live_view_raises(tmp_path: Path) -> None:
    path = tmp_path / "p.gtok"
    write_pack(path, [[1, 2], [3]])
    pack = open_gtok(path)
    view = pack.doc(1)
    with pytest.raises(BufferError):
        pack.close()
    assert not pack.closed and pack.doc(0).tolist() == [1, 2]
    assert view.tolist() == [3]
    del view
    gc.collect()
    pack.close()
    assert pack.closed
    pack.close()  # twice is harmless
    with pytest.raises(ValueError, match="closed"):
        pack.doc(0)
    # a pack whose views were never taken closes at once
    pack = open_gtok(path)
    pack.names, pack.metadata, pack.lengths()
    pack.close()
    assert "closed" in repr(pack)


def test_pickle_reopens(tmp_path: Path) -> None:
    path = tmp_path / "p.gtok"
    write_pack(path, [[1, 2], [3]], names=["x", "y"], metadata={"m": 1})
    pack = open_gtok(path)
    blob = pickle.dumps(pack)
    assert len(blob) < 300
    again = pickle.loads(blob)
    assert isinstance(again, GtokPack) and again is not pack
    assert [d.tolist() for d in again] == [[1, 2], [3]]
    assert again.names == ["x", "y"] and again.metadata["m"] == 1
    pack.close()
    assert pickle.loads(pickle.dumps(again)).doc(1).tolist() == [3]


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")
def test_no_descriptor_stays_open(tmp_path: Path) -> None:
    path = tmp_path / "p.gtok"
    write_pack(path, [[1, 2], [3]], names=["x", "y"])

    def fds_on(p: Path) -> list[str]:
        found = []
        for fd in os.listdir("/proc/self/fd"):
            try:
                if os.readlink(f"/proc/self/fd/{fd}") == str(p):
                    found.append(fd)
            except OSError:
                pass
        return found

    before = len(os.listdir("/proc/self/fd"))
    pack = open_gtok(path)
    views = [pack.doc(0), pack.tokens, read_gtok(path)]
    pack.verify()
    ds = GtokDataset(path)
    views.append(ds[1])
    assert fds_on(path) == []
    assert len(os.listdir("/proc/self/fd")) == before
    assert [v.tolist() for v in views] == [[1, 2], [1, 2, 3], [1, 2, 3], [3]]


# ------------------------------------------------------------------------ command line


def _v1_folder(root: Path, tok: Tokenizer) -> Path:
    """Three v1 files (one in a subfolder) and a pack, all for the example universe."""
    folder = root / "tokens"
    ids = [tok.tokenize(example_path(s)).ids for s in SAMPLES]
    write_gtok(folder / "sample1.gtok", ids[0])
    write_gtok(folder / "B" / "sample2.gtok", ids[1])
    write_gtok(folder / "sample3.gtok", ids[2])
    write_pack(
        folder / "cells.gtok",
        [ids[2][:5], [], ids[0][-3:]],
        names=["c1", "c2", "c3"],
        tokenizer=tok,
    )
    (folder / "notes.txt").write_text("not a token file\n")
    return folder


def test_cli_pack_equals_packing_by_hand(
    tmp_path: Path, tok: Tokenizer, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _v1_folder(tmp_path, tok)
    out = tmp_path / "out" / "all.gtok"
    assert main(["pack", str(out), str(folder), "-u", UNIVERSE]) == 0
    assert "6 documents" in capsys.readouterr().err
    by_hand = tmp_path / "by_hand.gtok"
    with PackWriter(by_hand, tokenizer=tok) as w:
        for f in sorted(str(p) for p in folder.rglob("*.gtok")):
            with open_gtok(f) as g:
                if isinstance(g, GtokPack):
                    for name, d in zip(g.names, g):
                        w.add(d, name=name)
                else:
                    w.add(g.tokens, name=os.path.relpath(f, folder)[: -len(".gtok")])
    assert out.read_bytes() == by_hand.read_bytes()
    pack = open_gtok(out)
    assert pack.names == ["B/sample2", "c1", "c2", "c3", "sample1", "sample3"]
    assert pack.fingerprint == tok.fingerprint
    pack.verify()


def test_cli_pack_refuses_another_universe(
    tmp_path: Path, tok: Tokenizer, other_tok: Tokenizer, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _v1_folder(tmp_path, tok)
    out = tmp_path / "out.gtok"
    other = other_tok.universe.source
    assert main(["pack", str(out), str(folder), "-u", other, "-q"]) == 1
    err = capsys.readouterr().err
    assert "cells.gtok" in err and tok.fingerprint in err
    assert not out.exists()
    write_gtok(folder / "zbig.gtok", [tok.vocab_size])  # an id beyond the vocabulary
    (folder / "cells.gtok").unlink()
    assert main(["pack", str(out), str(folder), "-u", UNIVERSE, "-q"]) == 1
    assert "vocab" in capsys.readouterr().err
    assert not out.exists() and _files(tmp_path) == ["tokens"]
    # without a universe there is no check, and the ids are stored as uint32
    assert main(["pack", str(out), str(folder), "-q"]) == 0
    assert open_gtok(out).fingerprint is None and open_gtok(out).dtype == np.uint32


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_cli_tokenize_to_pack(
    tmp_path: Path, tok: Tokenizer, jobs: str, capsys: pytest.CaptureFixture[str]
) -> None:
    peaks = tmp_path / "peaks"
    peaks.mkdir()
    for s in SAMPLES:
        shutil.copy(example_path(s), peaks / s)
    (peaks / "sub").mkdir()
    shutil.copy(example_path(SAMPLES[0]), peaks / "sub" / "again.bed")
    (peaks / "bad.bed").write_text("chr1\t100\t200\nchr1\tten\t300\n")
    out = tmp_path / "cells.gtok"
    code = main(["tokenize", UNIVERSE, str(peaks), "--pack", str(out), "-j", jobs])
    err = capsys.readouterr().err
    assert code == 1
    bad = str(peaks / "bad.bed")
    assert bad in err and "1 failed" in err
    inputs = sorted(str(p) for p in peaks.rglob("*") if p.is_file() and p.name != "bad.bed")
    pack = open_gtok(out)
    assert pack.names == ["sample1", "sample2", "sample3", "sub/again"]
    assert len(pack) == len(inputs) == 4
    for i, p in enumerate(inputs):
        assert np.array_equal(pack.doc(i), tok.tokenize(p).ids), p
    assert pack.fingerprint == tok.fingerprint and pack.vocab_size == tok.vocab_size
    failed = pack.metadata["failed"]
    assert [f["input"] for f in failed] == [bad]
    assert "BedFormatError" in failed[0]["error"] and "line 2" in failed[0]["error"]
    assert pack.metadata["settings"] == {
        "keep_order": False,
        "unk": "whole",
        "skip_bad_lines": False,
    }
    pack.verify()


def test_cli_tokenize_to_pack_all_good_and_fail_fast(tmp_path: Path, tok: Tokenizer) -> None:
    out = tmp_path / "ok.gtok"
    inputs = [example_path(s) for s in SAMPLES]
    assert main(["tokenize", UNIVERSE, *inputs, "--pack", str(out), "-q", "-j", "1"]) == 0
    pack = open_gtok(out)
    assert "failed" not in pack.metadata
    assert [d.tolist() for d in pack] == [tok.tokenize(p).ids.tolist() for p in inputs]
    bad = tmp_path / "a_bad.bed"
    bad.write_text("chr1\t5\n")
    again = tmp_path / "again.gtok"
    assert (
        main(
            [
                "tokenize",
                UNIVERSE,
                str(bad),
                *inputs,
                "--pack",
                str(again),
                "-q",
                "-j",
                "1",
                "--fail-fast",
            ]
        )
        == 1
    )
    assert not again.exists()


def test_cli_info_on_a_pack(
    tmp_path: Path, tok: Tokenizer, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cells.gtok"
    docs = [tok.tokenize(example_path(s)).ids for s in SAMPLES]
    write_pack(path, docs, names=list(SAMPLES), tokenizer=tok)
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    assert fields["format"] == "gtok pack v1"
    assert fields["documents"] == "3"
    assert fields["tokens"] == str(sum(len(d) for d in docs))
    assert fields["fingerprint"] == tok.fingerprint
    assert fields["vocab size"] == str(tok.vocab_size)
    assert fields["names"] == "yes"
    empty = tmp_path / "empty.gtok"
    write_pack(empty, [])
    assert main(["info", str(empty)]) == 0
    out = capsys.readouterr().out
    assert "documents:   0" in out and "fingerprint: None" in out
    damaged = tmp_path / "damaged.gtok"
    damaged.write_bytes(path.read_bytes()[:-1])
    assert main(["info", str(damaged)]) == 1
    assert str(damaged) in capsys.readouterr().err
