"""Benchmark: gzip inflaters for gtok's inputs -- zlib (stdlib) vs ISA-L (``isal``) vs
libdeflate (``deflate``).

gtok inflates three kinds of gzip input: BGZF fragment files (``gtok.io.bgzf``: members of at
most 64 KiB inflated one by one, on worker threads), plain gzip fragment files (streamed,
``gtok.singlecell.fragments``) and gzip BED files (``gtok.io.bedtext``). This script measures which
inflater is fastest for each, and whether it lets threads run in parallel (drops the GIL).

Data (fixed seed, written to a temporary folder, removed at exit)
----------------------------------------------------------------
* ``fragments.tsv``: a 10x-style fragment file of 2,000,000 fragments over 1,000 cell
  barcodes (``AAACGAACAGTCACGC-1``; uneven cell sizes), ``#`` header lines then
  ``chrom\\tstart\\tend\\tbarcode\\tcount`` sorted by position over chr1..chr22, chrX (hg38
  lengths); ~60 % of fragments pile up near 1 of ~50,000 open sites, the rest are uniform;
  lengths a mix of nucleosome-free and mono-nucleosome; count 1 + geometric. Compressed as
  BGZF (``gtok.io.bgzf.compress`` when gtok is importable, else the same writer inlined here:
  members of 65,280 text bytes with the ``BC`` subfield, level 6, bgzip's 28-byte empty
  end-of-file member) and as one plain gzip member (level 6).
* ``peaks.bed``: 1,000,000 sorted peak regions (``chrom\\tstart\\tend``, widths 200..2,000)
  as one plain gzip member (level 6).

What is timed (one thread unless said; input already in memory; output counted, not kept)
-----------------------------------------------------------------------------------------
(i) BGZF, every member in turn (member sizes from the ``BC`` subfield, ISIZE from each
member's footer):

* ``zlib decompressobj(31)`` -- a new decompress object per member (gtok's code today);
* ``zlib.decompress(m, 31, isize)`` -- one-shot, output buffer sized from ISIZE;
* ``isal decompressobj(31)`` / ``isal_zlib.decompress(m, 31, isize)`` / ``igzip_lib.decompress
  (m, DECOMP_GZIP, bufsize=isize)`` -- the same with ISA-L;
* ``deflate.gzip_decompress(m, isize)`` -- libdeflate, output sized from ISIZE (checks the
  CRC-32 and ISIZE like the others).

(ii) the whole plain gzip stream, for the fragment file and the BED file:

* ``zlib stream`` / ``isal stream`` -- ``decompressobj(31)`` fed 1 MiB slices (bounded memory:
  1 MiB in, at most a few MiB out at a time; multi-member aware);
* ``gzip.decompress`` / ``isal igzip.decompress`` -- one-shot, whole output in memory;
* ``deflate.gzip_decompress`` -- one-shot libdeflate (output sized from the stream's last
  4 bytes; whole input and whole output in memory).

(iii) GIL: the BGZF members cut into ~1 MiB batches (like ``gtok.io.bgzf``) and inflated by a
``ThreadPoolExecutor`` of 1 and of 2 threads; a library that drops the GIL while inflating
scales towards 2x on 2 free cores.

Every figure is the median of ``--repeats`` (7) runs, methods interleaved round-robin so that
noise from a shared machine hits all of them alike; MB/s are 10^6 bytes of *decompressed*
output per second. ``peak MiB`` is the largest growth of the Python heap during one call
(tracemalloc, a separate untimed call): what the call holds beyond its input. Every method's
output is checked against the original text before anything is timed.

Usage (from the repository root; needs numpy, isal and deflate)::

    python benchmarks/bench_inflate.py            # full size, 7 repeats
    python benchmarks/bench_inflate.py --quick    # 10x smaller data, 3 repeats
"""

from __future__ import annotations

import argparse
import gc
import gzip
import os
import platform
import statistics
import struct
import sys
import tempfile
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

try:
    import isal
    from isal import igzip, igzip_lib, isal_zlib
except ImportError:  # pragma: no cover - reported in the output
    isal = None  # type: ignore[assignment]
try:
    import deflate
except ImportError:  # pragma: no cover - reported in the output
    deflate = None  # type: ignore[assignment]

try:  # gtok's own BGZF writer, when gtok is importable
    from gtok.io.bgzf import compress as _gtok_bgzf_compress
except Exception:  # noqa: BLE001 - not installed, or not built
    _gtok_bgzf_compress = None

# hg38 lengths of chr1..chr22, chrX
CHROMS = [f"chr{i}" for i in range(1, 23)] + ["chrX"]
CHROM_LEN = np.array(
    [
        248956422,
        242193529,
        198295559,
        190214555,
        181538259,
        170805979,
        159345973,
        145138636,
        138394717,
        133797422,
        135086622,
        133275309,
        114364328,
        107043718,
        101991189,
        90338345,
        83257441,
        80373285,
        58617616,
        64444167,
        46709983,
        50818468,
        156040895,
    ],
    dtype=np.int64,
)

STREAM_CHUNK = 1 << 20  # compressed bytes fed per call when streaming
BATCH_BYTES = 1 << 20  # compressed bytes per thread task (gtok.io.bgzf.BATCH_BYTES)
BLOCK_TEXT = 0xFF00  # text bytes per BGZF member (bgzip's choice)
_EOF_BLOCK = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")


# --------------------------------------------------------------------------- data


def _join_rows(columns: list) -> bytes:
    """Tab-separated rows from equal-length columns (lists of str/int)."""
    fmt = "\t".join(["{}"] * len(columns)) + "\n"
    return "".join([fmt.format(*row) for row in zip(*columns)]).encode()


def make_fragments(rng: np.random.Generator, n: int, n_cells: int) -> bytes:
    """A position-sorted 10x fragment file of ``n`` fragments over ``n_cells`` barcodes."""
    letters = np.frombuffer(b"ACGT", dtype="S1")
    barcodes = np.array(
        [b"".join(letters[rng.integers(0, 4, 16)]).decode() + "-1" for _ in range(n_cells)]
    )
    cell_weight = rng.lognormal(0.0, 0.8, n_cells)
    cell_weight /= cell_weight.sum()
    per_chrom = rng.multinomial(n, CHROM_LEN / CHROM_LEN.sum())
    header = (
        b"# id=bench\n# description=synthetic 10x fragments\n# pipeline_name=bench\n"
        b"# reference_path=hg38\n"
    )
    parts = [header]
    for chrom, length, k in zip(CHROMS, CHROM_LEN, per_chrom):
        n_site = max(1, k // 40)  # ~50,000 open sites genome-wide
        sites = rng.integers(20_000, length - 20_000, n_site)
        near = rng.random(k) < 0.6
        piled = sites[rng.integers(0, n_site, k)] + rng.normal(0, 250, k).astype(np.int64)
        starts = np.where(near, piled, rng.integers(20_000, length - 20_000, k))
        nfr = rng.random(k) < 0.55  # nucleosome-free vs mono-nucleosome
        widths = np.where(nfr, 40 + rng.gamma(2.0, 30.0, k), 150 + rng.gamma(6.0, 12.0, k))
        ends = starts + widths.astype(np.int64)
        order = np.lexsort((ends, starts))
        cells = rng.choice(n_cells, size=k, p=cell_weight)[order]
        counts = rng.geometric(0.75, k)
        parts.append(
            _join_rows(
                [
                    [chrom] * k,
                    starts[order].tolist(),
                    ends[order].tolist(),
                    barcodes[cells].tolist(),
                    counts.tolist(),
                ]
            )
        )
    return b"".join(parts)


def make_peaks(rng: np.random.Generator, n: int) -> bytes:
    """A sorted BED3 file of ``n`` peak regions (widths 200..2,000)."""
    parts = []
    for chrom, length, k in zip(CHROMS, CHROM_LEN, rng.multinomial(n, CHROM_LEN / CHROM_LEN.sum())):
        starts = np.sort(rng.integers(10_000, length - 10_000, k))
        ends = starts + rng.integers(200, 2_001, k)
        parts.append(_join_rows([[chrom] * k, starts.tolist(), ends.tolist()]))
    return b"".join(parts)


def bgzf_compress(data: bytes, level: int = 6) -> bytes:
    """``data`` as BGZF (gtok's writer when importable, else the same format inline)."""
    if _gtok_bgzf_compress is not None:
        return _gtok_bgzf_compress(data, level)
    out = []
    for a in range(0, len(data), BLOCK_TEXT):
        chunk = data[a : a + BLOCK_TEXT]
        c = zlib.compressobj(level, zlib.DEFLATED, -15)
        deflated = c.compress(chunk) + c.flush()
        size = 18 + len(deflated) + 8
        out.append(
            b"\x1f\x8b\x08\x04"
            + struct.pack("<IBBH", 0, 0, 0xFF, 6)
            + b"BC"
            + struct.pack("<HH", 2, size - 1)
            + deflated
            + struct.pack("<II", zlib.crc32(chunk), len(chunk))
        )
    out.append(_EOF_BLOCK)
    return b"".join(out)


def bgzf_members(buf: bytes) -> list[tuple[memoryview, int]]:
    """(member, ISIZE) for every member of a BGZF stream, sizes read from ``BC``."""
    view = memoryview(buf)
    members = []
    pos = 0
    while pos < len(buf):
        if buf[pos : pos + 4] != b"\x1f\x8b\x08\x04":
            raise ValueError(f"not a BGZF member at offset {pos}")
        (xlen,) = struct.unpack_from("<H", buf, pos + 10)
        i, stop, size = pos + 12, pos + 12 + xlen, 0
        while i + 4 <= stop:
            (slen,) = struct.unpack_from("<H", buf, i + 2)
            if buf[i : i + 2] == b"BC" and slen == 2:
                size = struct.unpack_from("<H", buf, i + 4)[0] + 1
            i += 4 + slen
        if not size:
            raise ValueError(f"BGZF member without BC subfield at offset {pos}")
        (isize,) = struct.unpack_from("<I", buf, pos + size - 4)
        members.append((view[pos : pos + size], isize))
        pos += size
    return members


# --------------------------------------------------------------------------- methods
# Each method takes the input and ``emit`` (called with every piece of output) and returns
# nothing: the timed runs count bytes, the check collects the pieces.


def _per_member_obj(mod: Any) -> Callable:
    def run(members: list, emit: Callable) -> None:
        for m, _ in members:
            d = mod.decompressobj(31)
            out = d.decompress(m)
            if not d.eof or d.unused_data:
                raise ValueError("member size and deflate data disagree")
            emit(out)

    return run


def _per_member_call(fn: Callable) -> Callable:
    def run(members: list, emit: Callable) -> None:
        for m, isize in members:
            emit(fn(m, isize))

    return run


def _stream(mod: Any) -> Callable:
    """Stream a (possibly multi-member) gzip buffer through ``mod.decompressobj(31)``."""

    def run(buf: bytes, emit: Callable) -> None:
        view = memoryview(buf)
        d = mod.decompressobj(31)
        for a in range(0, len(view), STREAM_CHUNK):
            data = view[a : a + STREAM_CHUNK]
            while data:
                emit(d.decompress(data))
                if not d.eof:
                    break
                data = d.unused_data  # the next member, if any
                d = mod.decompressobj(31)

    return run


def _oneshot(fn: Callable) -> Callable:
    def run(buf: bytes, emit: Callable) -> None:
        emit(fn(buf))

    return run


def bgzf_methods() -> dict[str, Callable]:
    ms: dict[str, Callable] = {
        "zlib decompressobj(31)": _per_member_obj(zlib),
        "zlib.decompress(m,31,isize)": _per_member_call(
            lambda m, n: zlib.decompress(m, 31, max(n, 1))
        ),
    }
    if isal is not None:
        ms["isal decompressobj(31)"] = _per_member_obj(isal_zlib)
        ms["isal_zlib.decompress(m,31,isize)"] = _per_member_call(
            lambda m, n: isal_zlib.decompress(m, 31, max(n, 1))
        )
        ms["igzip_lib.decompress(GZIP,isize)"] = _per_member_call(
            lambda m, n: igzip_lib.decompress(m, flag=igzip_lib.DECOMP_GZIP, bufsize=max(n, 1))
        )
    if deflate is not None:
        ms["deflate.gzip_decompress(m,isize)"] = _per_member_call(deflate.gzip_decompress)
    return ms


def stream_methods() -> dict[str, Callable]:
    ms: dict[str, Callable] = {
        "zlib stream decompressobj(31)": _stream(zlib),
        "zlib gzip.decompress": _oneshot(gzip.decompress),
    }
    if isal is not None:
        ms["isal stream decompressobj(31)"] = _stream(isal_zlib)
        ms["isal igzip.decompress"] = _oneshot(igzip.decompress)
    if deflate is not None:
        ms["deflate.gzip_decompress"] = _oneshot(deflate.gzip_decompress)
    return ms


def threaded(per_member: Callable, threads: int) -> Callable:
    """``per_member`` over ~1 MiB batches of members on a pool of ``threads`` threads."""

    def batch_text(batch: list) -> bytes:
        pieces: list = []
        per_member(batch, pieces.append)
        return b"".join(pieces)

    def run(batches: list, emit: Callable) -> None:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            for text in pool.map(batch_text, batches):
                emit(text)

    return run


def batches_of(members: list) -> list[list]:
    out, cur, size = [], [], 0
    for m in members:
        cur.append(m)
        size += len(m[0])
        if size >= BATCH_BYTES:
            out.append(cur)
            cur, size = [], 0
    if cur:
        out.append(cur)
    return out


# --------------------------------------------------------------------------- timing


class _Counter:
    __slots__ = ("n",)

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, piece: Any) -> None:
        self.n += len(piece)


def check(name: str, fn: Callable, data: Any, expected: bytes) -> None:
    pieces: list = []
    fn(data, pieces.append)
    if b"".join(pieces) != expected:
        raise SystemExit(f"{name}: output differs from the original text")


def peak_mib(fn: Callable, data: Any) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        fn(data, _Counter())
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def time_all(
    cases: list[tuple[str, Callable, Any, int]], repeats: int
) -> tuple[dict[str, list], dict[str, list]]:
    """Wall and process CPU times per case, interleaved round-robin over ``repeats`` rounds."""
    times: dict[str, list] = {name: [] for name, *_ in cases}
    cpu: dict[str, list] = {name: [] for name, *_ in cases}
    for _ in range(repeats):
        for name, fn, data, n_out in cases:
            count = _Counter()
            gc.collect()
            c0, t0 = time.process_time(), time.perf_counter()
            fn(data, count)
            times[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
            if count.n != n_out:
                raise SystemExit(f"{name}: {count.n} bytes out, expected {n_out}")
    return times, cpu


def mbps(n_out: int, seconds: float) -> float:
    return n_out / seconds / 1e6


def gil_probe(fn: Callable, arg: Any) -> tuple[float, float, int]:
    """Run ``fn(arg)`` on a thread while this thread sleeps 0.5 ms at a time; every wake-up
    needs the GIL. Returns (call seconds, longest gap between wake-ups, wake-ups): a call
    that holds the GIL makes the longest gap about as long as the call itself. Sleeping
    costs no CPU, so unlike thread scaling this holds on a busy machine too."""
    done = threading.Event()
    span = [0.0]

    def work() -> None:
        t0 = time.perf_counter()
        fn(arg)
        span[0] = time.perf_counter() - t0
        done.set()

    worker = threading.Thread(target=work)
    gaps = []
    last = time.perf_counter()
    worker.start()
    while not done.is_set():
        time.sleep(0.0005)
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
    worker.join()
    return span[0], max(gaps), len(gaps)


def gil_calls(frag_gz: bytes, frag_len: int) -> dict[str, Callable]:
    """One big inflating C call per library (the whole plain gzip stream), and a control
    that surely holds the GIL (``sorted`` of a list of floats)."""
    calls: dict[str, Callable] = {
        "zlib decompressobj(31).decompress": lambda b: zlib.decompressobj(31).decompress(b),
        "zlib.decompress(b,31,n)": lambda b: zlib.decompress(b, 31, frag_len),
    }
    if isal is not None:
        calls["isal decompressobj(31).decompress"] = lambda b: isal_zlib.decompressobj(
            31
        ).decompress(b)
        calls["isal_zlib.decompress(b,31,n)"] = lambda b: isal_zlib.decompress(b, 31, frag_len)
    if deflate is not None:
        calls["deflate.gzip_decompress(b,n)"] = lambda b: deflate.gzip_decompress(b, frag_len)
    floats = np.random.default_rng(1).random(1_500_000).tolist()
    calls["control: sorted(floats) (holds GIL)"] = lambda _: sorted(floats)
    return calls


# --------------------------------------------------------------------------- API checks


def api_checks() -> list[str]:
    """How each one-shot gzip call treats inputs gtok must handle: several gzip members
    (``cat a.gz b.gz``) and zero padding after the last member."""
    a, b = gzip.compress(b"A" * 100_000, mtime=0), gzip.compress(b"B" * 10, mtime=0)
    inputs = {
        "2 members (100,000 + 10 bytes)": a + b,
        "2 members (10 + 100,000 bytes)": b + a,
        "1 member + 8 zero bytes": a + bytes(8),
    }
    calls: dict[str, Callable] = {"gzip.decompress": gzip.decompress}
    if isal is not None:
        calls["isal igzip.decompress"] = igzip.decompress
    if deflate is not None:
        calls["deflate.gzip_decompress"] = deflate.gzip_decompress
    lines = []
    for what, data in inputs.items():
        for name, fn in calls.items():
            try:
                got = f"{len(fn(data)):,} bytes"
            except Exception as exc:  # noqa: BLE001 - reported
                got = f"{type(exc).__name__}: {exc}"
            lines.append(f"  {what:<32} {name:<25} -> {got}")
    return lines


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help="200,000 fragments, 100,000 peaks, 3 repeats (a smoke test)",
    )
    ap.add_argument("--fragments", type=int, default=2_000_000)
    ap.add_argument("--cells", type=int, default=1_000)
    ap.add_argument("--peaks", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.quick:
        args.fragments, args.peaks, args.repeats = 200_000, 100_000, 3

    ncpu = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"Python {platform.python_version()} on {platform.machine()} {platform.system()}, "
        f"{ncpu} CPUs; zlib {zlib.ZLIB_RUNTIME_VERSION}; numpy {np.__version__}"
    )
    isal_v = f"{isal.__version__} (ISA-L {isal._isal.ISAL_VERSION})" if isal else "not installed"
    print(
        f"isal {isal_v}; deflate {deflate.__version__ if deflate else 'not installed'}; "
        f"BGZF writer: {'gtok.io.bgzf.compress' if _gtok_bgzf_compress else 'inline'}"
    )

    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    frag_text = make_fragments(rng, args.fragments, args.cells)
    peak_text = make_peaks(rng, args.peaks)
    with tempfile.TemporaryDirectory(prefix="bench_inflate_") as tmp:
        files = {
            "fragments.tsv.bgz": bgzf_compress(frag_text),
            "fragments.tsv.gz": gzip.compress(frag_text, 6, mtime=0),
            "peaks.bed.gz": gzip.compress(peak_text, 6, mtime=0),
        }
        for name, blob in files.items():
            Path(tmp, name).write_bytes(blob)
        # read back: what a reader would have in memory (or mapped)
        bgz = Path(tmp, "fragments.tsv.bgz").read_bytes()
        frag_gz = Path(tmp, "fragments.tsv.gz").read_bytes()
        bed_gz = Path(tmp, "peaks.bed.gz").read_bytes()
    print(f"data made in {time.perf_counter() - t0:.1f} s (seed {args.seed}):")
    print(
        f"  fragments: {args.fragments:,} lines, {len(frag_text) / 1e6:.1f} MB text; "
        f"BGZF {len(bgz) / 1e6:.1f} MB, gzip-6 {len(frag_gz) / 1e6:.1f} MB"
    )
    print(
        f"  peaks.bed: {args.peaks:,} lines, {len(peak_text) / 1e6:.1f} MB text; "
        f"gzip-6 {len(bed_gz) / 1e6:.1f} MB"
    )

    members = bgzf_members(bgz)
    batches = batches_of(members)
    print(f"  BGZF: {len(members):,} members, {len(batches)} batches of ~1 MiB\n")

    # (input label, method name, fn, data, expected text)
    rows: list[tuple[str, str, Callable, Any, bytes]] = []
    for name, fn in bgzf_methods().items():
        rows.append(("BGZF fragments", name, fn, members, frag_text))
    for label, buf, text in (
        ("gzip fragments", frag_gz, frag_text),
        ("gzip BED", bed_gz, peak_text),
    ):
        for name, fn in stream_methods().items():
            rows.append((label, name, fn, buf, text))
    gil_methods = {
        k: v
        for k, v in bgzf_methods().items()
        if k
        in (
            "zlib decompressobj(31)",
            "isal decompressobj(31)",
            "isal_zlib.decompress(m,31,isize)",
            "deflate.gzip_decompress(m,isize)",
        )
    }
    gil_rows = []
    for name, fn in gil_methods.items():
        for t in (1, 2):
            gil_rows.append(("BGZF threads", f"{name} x{t}", threaded(fn, t), batches, frag_text))

    for label, name, fn, data, text in rows + gil_rows:
        check(f"{label} / {name}", fn, data, text)
    print("all outputs verified against the original text")

    cases = [
        (f"{label}|{name}", fn, data, len(text)) for label, name, fn, data, text in rows + gil_rows
    ]
    times, cpu = time_all(cases, args.repeats)

    print(
        f"\n(i)+(ii) one thread: median of {args.repeats} runs; MB/s of decompressed output; "
        f"x = speed vs the first (zlib) row of the input"
    )
    print(f"{'input':<15} {'method':<34} {'MB/s':>7} {'min s':>7} {'x zlib':>7} {'peak MiB':>9}")
    base: dict[str, float] = {}
    for label, name, fn, data, text in rows:
        ts = times[f"{label}|{name}"]
        med = statistics.median(ts)
        base.setdefault(label, med)
        print(
            f"{label:<15} {name:<34} {mbps(len(text), med):7.0f} {min(ts):7.3f} "
            f"{base[label] / med:7.2f} {peak_mib(fn, data):9.1f}"
        )

    print(
        f"\n(iii) GIL: BGZF ~1 MiB batches on a pool of 1 and 2 threads "
        f"({ncpu} CPUs): scaling = time(1 thread) / time(2 threads);\n"
        f"  cpu/wall = process CPU time / wall time with 2 threads (near 2 when both "
        f"inflate at once, <= ~1 when the GIL serialises them; lower on a busy machine)"
    )
    print(f"{'method':<34} {'1 thr MB/s':>11} {'2 thr MB/s':>11} {'scaling':>8} {'cpu/wall':>9}")
    for name in gil_methods:
        t1 = statistics.median(times[f"BGZF threads|{name} x1"])
        t2 = statistics.median(times[f"BGZF threads|{name} x2"])
        util = statistics.median(
            c / w for c, w in zip(cpu[f"BGZF threads|{name} x2"], times[f"BGZF threads|{name} x2"])
        )
        print(
            f"{name:<34} {mbps(len(frag_text), t1):11.0f} {mbps(len(frag_text), t2):11.0f} "
            f"{t1 / t2:8.2f} {util:9.2f}"
        )

    print(
        "\nGIL probe: one call inflating the whole gzip fragment file on a thread while the "
        "main thread\n  wakes every 0.5 ms (each wake-up needs the GIL); median of 3"
    )
    print(f"{'call':<38} {'call ms':>8} {'max gap ms':>11} {'wake-ups':>9}  GIL")
    for name, fn in gil_calls(frag_gz, len(frag_text)).items():
        probes = sorted((gil_probe(fn, frag_gz) for _ in range(3)), key=lambda r: r[1])
        span, gap, wakes = probes[1]
        verdict = "held" if gap > 0.5 * span else "released"
        print(f"{name:<38} {span * 1e3:8.1f} {gap * 1e3:11.1f} {wakes:9d}  {verdict}")

    print(
        "\none-shot calls on multi-member or zero-padded gzip (right answers: "
        "100,010 / 100,010 / 100,000 bytes):"
    )
    print("\n".join(api_checks()))
    print(
        "\nmemory: 'peak MiB' is the Python-heap growth during one call (tracemalloc), "
        "beyond the input;\n  one-shot calls also need the whole compressed input in "
        f"memory ({len(frag_gz) / 2**20:.0f} MiB fragments, {len(bed_gz) / 2**20:.0f} MiB "
        "BED here), streaming reads it 1 MiB at a time."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
