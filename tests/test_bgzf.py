"""BGZF streams inflated in parallel (gtok.io.bgzf) and fragment files in BGZF: same text and
same cells as the sequential path and gtars; truncation, corruption and format switches
are errors or handled, never silently short."""

from __future__ import annotations

import gzip
import os
import random
import struct
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gtok.singlecell.fragments as fragments_module
from gtok import Tokenizer, tokenize_fragments
from gtok.errors import CorruptGzipError, FragmentFormatError
from gtok.io import bgzf

from _tok_helpers import universes, write_bed

SETTINGS = settings(
    max_examples=int(os.environ.get("GTOK_HYPOTHESIS_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def small_members(data: bytes, cuts: list[int], eof: bool = True) -> bytes:
    """BGZF with members cut at ``cuts`` (small members, so a test crosses many)."""
    bounds = [0] + sorted(c for c in cuts if 0 < c < len(data)) + [len(data)]
    out = b"".join(bgzf.compress(data[a:b], eof=False) for a, b in zip(bounds, bounds[1:]) if b > a)
    return out + (bgzf.compress(b"") if eof else b"")


def split(data: bytes, rng: random.Random) -> list[bytes]:
    """The compressed stream as read in blocks of random sizes."""
    out, i = [], 0
    while i < len(data):
        n = rng.randint(1, 300)
        out.append(data[i : i + n])
        i += n
    return out


def inflate(blocks, **kw) -> bytes:
    return b"".join(bgzf.inflate_members(iter(blocks), "x.gz", **kw))


@SETTINGS
@given(
    text=st.binary(max_size=3000),
    cuts=st.lists(st.integers(0, 3000), max_size=12),
    threads=st.integers(1, 3),
    seed=st.integers(0, 1000),
    batch=st.sampled_from([1, 200, 1 << 20]),
)
def test_round_trip_any_members_any_reads(text, cuts, threads, seed, batch, monkeypatch):
    monkeypatch.setattr(bgzf, "BATCH_BYTES", batch)
    data = small_members(text, cuts)
    assert bgzf.is_bgzf(data) and gzip.decompress(data) == text
    assert inflate(split(data, random.Random(seed)), threads=threads) == text


def test_large_text_several_threads():
    text = os.urandom(200_000).hex().encode()  # 400 kB: several 64 KiB blocks
    data = bgzf.compress(text)
    assert inflate([data[i : i + 65536] for i in range(0, len(data), 65536)], threads=4) == text


@pytest.mark.parametrize("where", ["inside_block", "at_block_boundary", "eof_missing"])
def test_truncated_streams_are_errors(where):
    text = b"x\t1\t2\tAAAC\n" * 20_000
    data = small_members(text, [50_000, 120_000])
    eof = len(bgzf.compress(b""))
    cut = {
        "inside_block": len(data) // 2,
        "at_block_boundary": len(small_members(text[:50_000], [], eof=False)),
        "eof_missing": len(data) - eof,
    }[where]
    with pytest.raises(CorruptGzipError, match="truncated"):
        inflate([data[:cut]])


def test_corrupt_block_and_inconsistent_size():
    text = b"chr1\t5\t9\tAAAC-1\n" * 5000
    data = bytearray(bgzf.compress(text))
    bad = bytes(data[:40]) + bytes(b ^ 0x55 for b in data[40:60]) + bytes(data[60:])
    with pytest.raises(CorruptGzipError):
        inflate([bad])
    # a block whose recorded size is larger than its gzip member: the extra bytes would be
    # dropped silently by zlib; here they are an error
    member = bgzf.compress(text[:1000], eof=False)
    size = struct.unpack_from("<H", member, 16)[0] + 1
    grown = member[:16] + struct.pack("<H", size) + member[18:] + b"??"
    with pytest.raises(CorruptGzipError, match="recorded size"):
        inflate([grown + bgzf.compress(b"")])


def test_switch_to_plain_gzip_and_zero_padding():
    a, b = b"first\n" * 1000, b"second\n" * 1000
    mixed = bgzf.compress(a, eof=False) + gzip.compress(b, mtime=0)
    seq = lambda rest: [gzip.decompress(b"".join(rest))]  # noqa: E731
    assert inflate([mixed], sequential=seq) == a + b
    with pytest.raises(CorruptGzipError, match="without its size"):
        inflate([mixed])
    padded = bgzf.compress(a) + b"\0" * 100
    assert inflate([padded]) == a
    with pytest.raises(CorruptGzipError, match="corrupt"):
        inflate([padded + b"\0junk"])  # in the padding's block
    with pytest.raises(CorruptGzipError, match="padding"):
        inflate([padded, b"junk"])  # in a later block


def test_a_block_size_below_its_header_is_not_bgzf():
    """A BC size smaller than the member's own header and trailer is not a BGZF member (it
    would move the reader backwards): an error, never a crash or a silent skip."""
    data = bytearray(bgzf.compress(b"chr1\t1\t2\tA\n" * 100))
    data[16:18] = (10).to_bytes(2, "little")  # the BC subfield's value: size - 1
    assert not bgzf.is_bgzf(bytes(data))
    with pytest.raises(CorruptGzipError):
        inflate([bytes(data[:7]), bytes(data[7:])])


def test_not_bgzf():
    assert not bgzf.is_bgzf(gzip.compress(b"abc"))
    assert not bgzf.is_bgzf(b"\x1f\x8b")
    assert not bgzf.is_bgzf(b"chr1\t1\t2\n" * 4)


# ------------------------------------------------------------------ fragment files


BARCODES = ["AAACGAACAGTCACGC-1", "TTTGTTGGTCGTTATG-1", "A", "CCCC-2"]


@SETTINGS
@given(data=st.data(), seed=st.integers(0, 100))
def test_bgzf_fragment_files_give_gtars_cells(data, seed, monkeypatch):
    gtars_tok = pytest.importorskip("gtars.tokenizers")
    monkeypatch.setattr(fragments_module, "_THREAD_ABOVE", 0)  # small files too
    monkeypatch.setattr(bgzf, "BATCH_BYTES", 300)
    urows = data.draw(universes(max_size=30))
    rng = random.Random(seed)
    chroms = sorted({c for c, _, _ in urows} | {"chrUn"})
    lines = [
        f"{rng.choice(chroms)}\t{(s := rng.randint(0, 3000))}\t{s + rng.randint(0, 400)}"
        f"\t{rng.choice(BARCODES)}\t1\n"
        for _ in range(rng.randint(1, 400))
    ]
    text = ("# header\n" + "".join(lines)).encode()
    with tempfile.TemporaryDirectory() as d:
        upath = write_bed(Path(d) / "u.bed", urows)
        fpath = Path(d) / "fragments.tsv.gz"
        fpath.write_bytes(small_members(text, [rng.randint(0, len(text)) for _ in range(6)]))
        expected = gtars_tok.tokenize_fragment_file(str(fpath), gtars_tok.Tokenizer(upath))
        assert tokenize_fragments(Tokenizer(upath), fpath, as_lists=True) == expected


def test_truncated_bgzf_fragment_file_leaves_no_pack(tmp_path, monkeypatch):
    monkeypatch.setattr(fragments_module, "_THREAD_ABOVE", 0)
    upath = write_bed(tmp_path / "u.bed", [("chr1", 0, 100), ("chr1", 200, 300)])
    text = b"".join(b"chr1\t%d\t%d\tAAAC-1\t1\n" % (i, i + 50) for i in range(0, 9000, 3))
    data = small_members(text, [10_000, 30_000])
    path = tmp_path / "f.tsv.gz"
    path.write_bytes(data[: -len(bgzf.compress(b""))])  # no end-of-file block
    out = tmp_path / "cells.gtok"
    with pytest.raises(CorruptGzipError, match="truncated"):
        tokenize_fragments(Tokenizer(upath), path, out)
    assert not out.exists()
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]  # no temporary


@pytest.mark.parametrize("threads_path", ["small_file", "big_file"])
def test_bgzf_cut_at_a_block_boundary_is_truncated_whatever_the_size(
    tmp_path, monkeypatch, threads_path
):
    # small files are inflated on one thread, big ones on several: both need the EOF block
    if threads_path == "big_file":
        monkeypatch.setattr(fragments_module, "_THREAD_ABOVE", 0)
    upath = write_bed(tmp_path / "u.bed", [("chr1", 0, 100)])
    text = b"".join(b"chr1\t%d\t%d\tAAAC-1\t1\n" % (i, i + 50) for i in range(0, 3000, 3))
    data = small_members(text, [5_000, 12_000], eof=False)  # complete blocks, no EOF block
    path = tmp_path / "f.tsv.gz"
    path.write_bytes(data)
    assert gzip.decompress(data) == text  # a plain gzip reader sees nothing wrong
    with pytest.raises(CorruptGzipError, match="end-of-file block"):
        tokenize_fragments(Tokenizer(upath), path)


# ------------------------------------------------------------------ any lines, any cuts

LINE_KINDS = [
    "chr1\t{s}\t{e}\t{bc}\t2\n",  # the common line (the parser's fast path)
    "chr1\t{s}\t{e}\t{bc}\n",  # no count column
    "chr2\t{s}\t{e}\t{bc}\t1\r\n",  # CRLF
    "chr1 {s} {e} {bc} 1\n",  # spaces: the general path
    "chrUn\t{s}\t{e}\t{bc}\t1\n",  # a chromosome the universe lacks
    "chr1\t{s}\t{e}\tBARCODE-LONGER-THAN-24-BYTES-{bc}\t1\n",
    "# a comment\n",
    "\n",
    "   \t \n",
    "chrom\tstart\tend\tbarcode\tcount\n",  # a header: fine first, a bad line later
    "chr1\t{s}\n",  # too few fields
    "chr1\tx{s}\t{e}\t{bc}\t1\n",  # not a number
    "chr1\t{e}\t{s}\t{bc}\t1\n",  # start after end (when e > s)
    "chr1\t4294967296\t1\t{bc}\t1\n",  # too large
]


@SETTINGS
@given(
    kinds=st.lists(st.integers(0, len(LINE_KINDS) - 1), min_size=1, max_size=300),
    seed=st.integers(0, 1000),
    skip=st.booleans(),
    batch=st.sampled_from([64, 300, 5000]),
    final_newline=st.booleans(),
)
def test_bgzf_chunks_read_as_one_text(kinds, seed, skip, batch, final_newline, monkeypatch):
    """A BGZF file is inflated in batches on several threads, and lines span the batches:
    the cells, counts and errors (with their line numbers) are those of the same text read
    in one go from a plain file, whatever the lines and wherever the members and batches
    are cut."""
    monkeypatch.setattr(fragments_module, "_THREAD_ABOVE", 0)
    monkeypatch.setattr(bgzf, "BATCH_BYTES", batch)
    rng = random.Random(seed)
    text = "".join(
        LINE_KINDS[k].format(
            s=(s := rng.randint(0, 900)), e=s + rng.randint(0, 300), bc=rng.choice(BARCODES)
        )
        for k in kinds
    )
    if not final_newline:
        text = text.rstrip("\n")
    data = text.encode()
    with tempfile.TemporaryDirectory() as d:
        upath = write_bed(
            Path(d) / "u.bed",
            [("chr1", 100, 200), ("chr1", 150, 400), ("chr2", 0, 500), ("chr1", 700, 900)],
        )
        tok = Tokenizer(upath)
        plain = Path(d) / "f.tsv"
        plain.write_bytes(data)
        packed = Path(d) / "f.tsv.gz"
        packed.write_bytes(small_members(data, [rng.randint(0, len(data)) for _ in range(8)]))

        def run(path):
            try:
                got = tokenize_fragments(tok, path, as_lists=True, skip_bad_lines=skip)
            except FragmentFormatError as exc:
                return "error", str(exc).replace(str(path), "F")
            s = got.summary
            return dict(got), (
                s.cells,
                s.fragments,
                s.tokens,
                s.lines,
                s.skipped_lines,
                s.unknown_chrom,
            )

        assert run(packed) == run(plain)
