"""Input read as a stream -- gzip BED, pipes -- in bounded memory, and paths never opened.

Regression tests for: a gzip BED inflated whole (a 1 MB ``.gz`` of zeros ended in an
untyped ``MemoryError``; a 2 MB ``.gz`` of valid lines reached 3.2 GB), BGZF members that
inflate past the format's 64 KiB (1.3 GB for a 4.6 MB file), and a named FIFO given as an
input (opening it waited forever, and a first SIGTERM could not stop a ``-j 1`` run).
"""

from __future__ import annotations

import gzip
import os
import struct
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gtok import Tokenizer
from gtok.errors import BedFormatError, CorruptGzipError, FragmentFormatError
from gtok.io import bedtext, bgzf, source
from gtok.singlecell import fragments
from gtok.singlecell.fragments import tokenize_fragments

from batchdata import load_manifest, make_universe, run_cli, write_bed

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="FIFOs, /dev/fd, /proc")

UNIVERSE = "chr1\t100\t200\nchr1\t150\t400\nchr2\t0\t50\n"


@pytest.fixture
def universe(tmp_path):
    path = tmp_path / "universe.bed"
    path.write_text(UNIVERSE)
    return path


def _gz(path: Path, data: bytes) -> Path:
    path.write_bytes(gzip.compress(data, 1))
    return path


def _outcome(tok: Tokenizer, path: Path, **options):
    try:
        r = tok.tokenize(str(path), **options)
    except BedFormatError as exc:
        return ("error", exc.line_number, exc.problem, exc.line)
    return ("ok", r.ids.tolist(), r.n_skipped)


# ----------------------------------------------------------------- gzip read in blocks

LINES = st.sampled_from(
    [
        "chr1\t120\t160",
        "chr1\t300\t301\textra\tfields",
        "chr2\t0\t10",
        "chrUn\t5\t9",
        "chr1 130 140",
        "#comment",
        "track name=x",
        "",
        "name\tstart\tend",  # a header when first, a bad line later
        "chr1\t10",  # too few fields
        "chr1\t50\t40",  # start after end
        "chr1\tx\t9",
    ]
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lines=st.lists(LINES, max_size=40),
    crlf=st.booleans(),
    final_newline=st.booleans(),
    read_size=st.integers(1, 40),
    skip=st.booleans(),
)
def test_gzip_in_small_blocks_parses_as_the_plain_file(
    tmp_path, universe, monkeypatch, lines, crlf, final_newline, read_size, skip
):
    """Blocks cut anywhere (inside a line, a CRLF, a header) give the ids, bad-line numbers
    and skip counts of the plain file, parsed in one piece."""
    end = "\r\n" if crlf else "\n"
    text = end.join(lines) + (end if final_newline and lines else "")
    plain = tmp_path / "q.bed"
    plain.write_text(text)
    packed = _gz(tmp_path / "q.bed.gz", text.encode())
    tok = Tokenizer(str(universe))
    want = _outcome(tok, plain, skip_bad_lines=skip)
    monkeypatch.setattr(source, "READ_SIZE", read_size)
    monkeypatch.setattr(source, "TEXT_SIZE", read_size + 3)
    assert _outcome(tok, packed, skip_bad_lines=skip) == want


def test_gzip_of_zeros_is_a_bad_first_line_not_a_memory_error(tmp_path, universe):
    bomb = tmp_path / "zeros.bed.gz"
    member = gzip.compress(bytes(16 << 20), 9)
    bomb.write_bytes(member * 64)  # 1 GiB of zeros in ~1 MB
    assert bomb.stat().st_size < 2 << 20
    t0 = time.monotonic()
    with pytest.raises(BedFormatError) as e:
        Tokenizer(str(universe)).tokenize(str(bomb))
    assert time.monotonic() - t0 < 10  # stopped at the limit, not after inflating 1 GiB
    assert e.value.line_number == 1 and "longer than 16 MiB" in str(e.value)
    assert str(bomb) in str(e.value)


def test_too_long_line_is_skipped_as_a_bad_line(tmp_path, universe, monkeypatch):
    monkeypatch.setattr(source, "READ_SIZE", 64)
    monkeypatch.setattr(source, "TEXT_SIZE", 100)
    monkeypatch.setattr(bedtext, "LINE_LIMIT", 1000)
    long = "chr1\t120\t160\t" + "x" * 5000
    text = f"chr1\t120\t160\n{long}\nchr2\t0\t10\n{long}\n{long}"
    path = _gz(tmp_path / "q.bed.gz", text.encode())
    tok = Tokenizer(str(universe))
    r = tok.tokenize(str(path), skip_bad_lines=True)
    assert r.n_skipped == 3
    assert r.ids.tolist() == tok.tokenize([("chr1", 120, 160), ("chr2", 0, 10)]).ids.tolist()
    with pytest.raises(BedFormatError) as e:
        tok.tokenize(str(path))
    assert e.value.line_number == 2 and "longer than" in e.value.problem


def _peak_rss_mb(code: str, cwd: Path) -> float:
    """The growth of peak RSS (MB) of a fresh interpreter running ``code`` after its
    imports."""
    run = (
        "import resource\n"
        "from gtok.io.bedtext import read_regions\n"
        "from gtok._lib._chromtable import ChromTable\n"
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        f"{code}\n"
        "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024)\n"
    )
    out = subprocess.run([sys.executable, "-c", run], capture_output=True, text=True, cwd=cwd)
    assert out.returncode == 0, out.stderr
    return float(out.stdout.split()[-1])


def test_gzip_bed_is_parsed_in_bounded_memory(tmp_path):
    """390 MB of text in a 0.75 MB gzip: memory holds the regions' columns (12 bytes per
    region), not the text (13 bytes per line) as well."""
    line = b"chr1\t120\t160\n" * 1000
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    path = tmp_path / "many.bed.gz"
    with open(path, "wb") as f:
        for _ in range(30_000):  # 30 M regions
            f.write(c.compress(line))
        f.write(c.flush())
    rss = _peak_rss_mb(
        f"cols = read_regions({str(path)!r}, ChromTable())\nassert len(cols) == 30_000_000\n",
        tmp_path,
    )
    assert rss < 343 * 1.5, rss  # the columns (343 MiB), a piece of them, blocks of text


# ----------------------------------------------------------------- BGZF


def _bgzf_member(text: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = c.compress(text) + c.flush()
    size = 18 + len(deflated) + 8
    assert size <= 0x10000
    return (
        b"\x1f\x8b\x08\x04"
        + struct.pack("<IBBH", 0, 0, 0xFF, 6)
        + b"BC"
        + struct.pack("<HH", 2, size - 1)
        + deflated
        + struct.pack("<II", zlib.crc32(text), len(text) & 0xFFFFFFFF)
    )


def test_bgzf_member_over_64_kib_of_text_is_refused(tmp_path, tok):
    frag = b"chr1\t1000\t1400\tAAAC-1\n"
    big = _bgzf_member(frag * (24_000_000 // len(frag)))  # 24 MB of text in ~25 kB
    path = tmp_path / "fragments.tsv.gz"
    path.write_bytes(bgzf.compress(frag * 10, eof=False) + big * 20 + bgzf.compress(b""))
    with pytest.raises(CorruptGzipError, match="more than 65536 bytes of text") as e:
        tokenize_fragments(tok, path)
    assert str(path) in str(e.value)


def test_bgzf_tiny_members_inflate_a_few_at_a_time(tmp_path):
    """Members of 64 KiB of text that compress to ~100 bytes: a task takes at most
    ``BATCH_MEMBERS`` of them, so the text in flight stays a few MiB."""
    member = _bgzf_member(b"\n" * 65536)
    data = member * 2000 + bgzf.compress(b"")
    sizes = [len(text) for text in bgzf.inflate_members(iter([data]), "x.gz", threads=2)]
    assert sum(sizes) == 2000 * 65536
    assert max(sizes) <= bgzf.BATCH_MEMBERS * 65536


# ----------------------------------------------------------------- what is never opened


def test_named_fifo_input_is_refused_without_waiting(tmp_path, universe):
    fifo = tmp_path / "q.bed"
    os.mkfifo(fifo)
    tok = Tokenizer(str(universe))
    with pytest.raises(OSError, match="named FIFO") as e:
        tok.tokenize(str(fifo))
    assert str(fifo) in str(e.value)
    with pytest.raises(OSError, match="named FIFO"):
        Tokenizer(str(fifo))  # as a universe


def _fifo_readers():
    def parquet(path, tmp):
        pytest.importorskip("pyarrow")
        import gtok

        gtok.import_parquet(path, tmp / "out.gtok")

    def h5ad(path, tmp):
        pytest.importorskip("h5py")
        import gtok

        gtok.tokenize_anndata(Tokenizer(str(tmp / "universe.bed")), str(path))

    def config(path, tmp):
        Tokenizer(str(path))

    def manifest(path, tmp):
        from gtok.io.manifest import load_manifest

        load_manifest(str(path))

    return {
        "cells.parquet": parquet,
        "cells.h5ad": h5ad,
        "tokenizer.toml": config,
        "gtok-manifest.json": manifest,
    }


@pytest.mark.parametrize("name", sorted(_fifo_readers()))
def test_every_reader_refuses_a_named_fifo(tmp_path, universe, name):
    fifo = tmp_path / name
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="named FIFO") as e:
        _fifo_readers()[name](fifo, tmp_path)
    assert str(fifo) in str(e.value)


def test_folder_and_socket_inputs_say_what_they_are(tmp_path, universe):
    import socket

    tok = Tokenizer(str(universe))
    with pytest.raises(IsADirectoryError, match="is a folder") as e:
        tok.tokenize(str(tmp_path))
    assert str(tmp_path) in str(e.value)
    sock_path = tmp_path / "s.bed"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(sock_path))
        with pytest.raises(OSError, match="a socket"):
            tok.tokenize(str(sock_path))


def test_anonymous_pipe_is_read(tmp_path, universe):
    """``<(zcat x.bed.gz)`` gives a path like /dev/fd/63: a pipe, read as a stream."""
    tok = Tokenizer(str(universe))
    text = b"chr1\t120\t160\nchr2\t0\t10\n" * 1000
    plain = tmp_path / "q.bed"
    plain.write_bytes(text)
    for data in (text, gzip.compress(text)):
        r, w = os.pipe()

        def writer(w: int = w, data: bytes = data) -> None:
            with open(w, "wb") as f:
                f.write(data)

        t = threading.Thread(target=writer)
        t.start()
        try:
            got = tok.tokenize(f"/dev/fd/{r}")
        finally:
            t.join()
            os.close(r)
        assert np.array_equal(got.ids, tok.tokenize(str(plain)).ids)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_named_fifo_fails_as_an_input_and_the_run_goes_on(tmp_path, jobs):
    """A FIFO named on the command line fails alone, at once (no open that waits), with
    ``-j 1`` too; the other inputs are tokenized."""
    universe = make_universe(tmp_path / "universe.bed")
    good = write_bed(tmp_path / "in" / "a.bed", 50, 1)
    fifo = tmp_path / "in" / "b.bed"
    os.mkfifo(fifo)
    out = tmp_path / "out"
    t0 = time.monotonic()
    r = run_cli("tokenize", universe, good, fifo, "-o", out, "-j", jobs, timeout=60)
    assert time.monotonic() - t0 < 30
    assert r.returncode == 1, r.stderr
    assert "named FIFO" in r.stderr and "Traceback" not in r.stderr
    manifest = load_manifest(out / "gtok-manifest.json")
    st = {Path(e["input"]).name: e["status"] for e in manifest["files"]}
    assert st == {"a.bed": "ok", "b.bed": "error"}


# ----------------------------------------------------------------- fragments


def test_fragment_line_over_the_limit(tmp_path, tok, monkeypatch):
    monkeypatch.setattr(fragments, "LINE_LIMIT", 1000)
    good = b"chr1\t1000\t1400\tAAAC-1\n"
    long = b"chr1\t1000\t1400\t" + b"A" * 5000 + b"\n"
    path = _gz(tmp_path / "f.tsv.gz", good + long + good + long)
    with pytest.raises(FragmentFormatError, match="longer than") as e:
        tokenize_fragments(tok, path, chunk_size=100)
    assert e.value.line_number == 2
    got = tokenize_fragments(tok, path, chunk_size=100, skip_bad_lines=True)
    assert got.summary.skipped_lines == 2 and got.summary.lines == 4
    assert "longer than" in str(got.summary.first_skipped)
