"""Benchmark gtok's fragment-file tokenizer against gtars 0.10's ``tokenize_fragment_file``.

Data (generated on first use, fixed seed, kept in ``--data``, git-ignored)
--------------------------------------------------------------------------
``universe_1m.bed`` from :mod:`datagen` (1 M non-overlapping regions over hg38), and a
synthetic 10x-style fragment file ``fragments_<cells>x<frags>.tsv.gz``: ``--cells`` barcodes
like ``AAACGAACAGTCACGC-1`` with ``--frags`` fragments each, shaped like scATAC data:

* fragment lengths a mix of nucleosome-free (50-150 bp, 60 %) and nucleosomal (150-500 bp);
* 55 % of fragments near a universe region (start within +-600 bp of its midpoint), 44 %
  uniform over the genome, 1 % on chrM (absent from the universe: one ``<unk>`` each);
* a count column (PCR duplicates: 1 + geometric);
* sorted by position (chromosome in reference order, start, end), ``#`` header lines, and
  compressed as BGZF (``bgzip``'s format, which Cell Ranger ATAC writes: gzip members of
  64 KiB of text, each recording its size, and an empty end-of-file member).

What is timed
-------------
Each run is a fresh subprocess (pinned to one CPU unless ``--no-pin``) that builds the
tokenizer, then calls one of:

* ``gtars``: ``gtars.tokenizers.tokenize_fragment_file(path, tokenizer)`` (dict of lists);
* ``gtok``: ``gtok.tokenize_fragments(tok, path)`` (dict of uint32 arrays);
* ``gtok-lists``: the same with ``as_lists=True`` (gtars' output type);
* ``gtok-pack``: ``gtok.tokenize_fragments(tok, path, out)`` (writes a pack, returns counts).

Reported per library: the median over ``--repeats`` runs of the call's wall time, the
process's peak RSS (the child's own ``VmHWM``: import + universe + call; not ``ru_maxrss``, which
Linux carries over from the forking parent), and
the peak RSS growth during the call alone (``VmHWM`` reset after building the tokenizer via
``/proc/self/clear_refs``). Ratios are gtars / gtok. Before timing, each library's output is
reduced to a digest (barcodes and a CRC32 of every cell's ids) in the subprocess, after the
timed call; any difference between libraries aborts with exit status 3.

Usage (from the repository root, with gtars installed and gtok built in place)::

    python benchmarks/bench_fragments.py                       # 5,000 cells x 2,000 fragments
    python benchmarks/bench_fragments.py --cells 500 --frags 1000 --repeats 1   # quick
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))  # datagen
sys.path.insert(1, str(REPO))  # this checkout's gtok

import numpy as np  # noqa: E402

from gtok.io import bgzf  # noqa: E402

import datagen  # noqa: E402

LIBS = ("gtars", "gtok", "gtok-lists", "gtok-pack")
MISMATCH_EXIT = 3
SEED = 6
FRAGMENTS_VERSION = 2  # 2: BGZF blocks (bgzip's format, with their sizes), as 10x writes


# ---------------------------------------------------------------------- data


def _barcodes(rng: np.random.Generator, n: int) -> np.ndarray:
    seen: dict[bytes, None] = {}
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)
    while len(seen) < n:
        draw = letters[rng.integers(0, 4, size=(n, 16))]
        for row in draw:
            seen.setdefault(row.tobytes() + b"-1")
            if len(seen) == n:
                break
    return np.array(list(seen), dtype="S18")


def make_fragments(
    path: Path, universe_path: Path, cells: int, frags: int, seed: int = SEED
) -> None:
    """Write the synthetic fragment file (see the module docstring)."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, cells, frags])))
    u_idx, u_start, u_end = datagen.make_universe_1m(0)
    names = np.array([c.encode() for c in datagen.HG38_LENGTHS] + [b"chrM"])
    lengths = np.array(list(datagen.HG38_LENGTHS.values()) + [16_569], dtype=np.int64)
    n = cells * frags
    kind = rng.random(n)
    near = kind < 0.55
    mito = kind >= 0.99
    chrom = np.empty(n, dtype=np.int64)
    start = np.empty(n, dtype=np.int64)
    pick = rng.integers(0, u_start.shape[0], size=int(near.sum()))
    chrom[near] = u_idx[pick]
    start[near] = (u_start[pick] + u_end[pick]) // 2 + rng.integers(-600, 601, size=pick.size)
    far = ~near & ~mito
    weights = lengths[:-1] / lengths[:-1].sum()
    chrom[far] = rng.choice(len(weights), size=int(far.sum()), p=weights)
    start[far] = (rng.random(int(far.sum())) * (lengths[chrom[far]] - 1000)).astype(np.int64)
    chrom[mito] = len(names) - 1
    start[mito] = rng.integers(0, 16_000, size=int(mito.sum()))
    start = np.maximum(start, 0)
    width = np.where(
        rng.random(n) < 0.6, rng.integers(50, 151, size=n), rng.integers(150, 501, size=n)
    )
    end = np.minimum(start + width, lengths[chrom] - 1)
    cell = np.repeat(np.arange(cells), frags)
    rng.shuffle(cell)
    count = rng.geometric(0.6, size=n)
    order = np.lexsort((end, start, chrom))
    bcs = _barcodes(rng, cells)
    tmp = path.with_name(path.name + ".tmp")
    block = 20_000  # rows formatted at a time (~1 MiB of text, ~16 BGZF blocks)
    with open(tmp, "wb") as f:
        f.write(
            bgzf.compress(
                b"# id=bench\n# reference_path=/refdata-hg38\n# primary_contig=chr1\n", eof=False
            )
        )
        for a in range(0, n, block):
            rows = order[a : a + block]
            text = datagen.format_rows(
                [
                    names[chrom[rows]],
                    b"\t",
                    start[rows],
                    b"\t",
                    end[rows],
                    b"\t",
                    bcs[cell[rows]],
                    b"\t",
                    count[rows],
                    b"\n",
                ],
                rows.size,
            )
            f.write(bgzf.compress(text, eof=False))
        f.write(bgzf.compress(b""))  # the end-of-file member
    os.replace(tmp, path)


def ensure_data(data: Path, cells: int, frags: int) -> tuple[Path, Path]:
    data.mkdir(parents=True, exist_ok=True)
    universe = data / "universe_1m.bed"
    if not universe.exists():
        print("generating universe_1m.bed (datagen)...", file=sys.stderr)
        datagen.ensure_dataset(data, n_files=1, seed=0)
    frag_path = data / f"fragments_v{FRAGMENTS_VERSION}_{cells}x{frags}.tsv.gz"
    if not frag_path.exists():
        t = time.monotonic()
        print(f"generating {frag_path.name} ({cells * frags:,} fragments)...", file=sys.stderr)
        make_fragments(frag_path, universe, cells, frags)
        print(
            f"  done in {time.monotonic() - t:.0f} s, {frag_path.stat().st_size / 1e6:.0f} MB",
            file=sys.stderr,
        )
    return universe, frag_path


# ---------------------------------------------------------------------- the worker


def _hwm_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def _reset_hwm() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def worker(lib: str, universe: str, fragments: str, out: str) -> None:
    import zlib

    if lib == "gtars":
        from gtars.tokenizers import Tokenizer, tokenize_fragment_file

        tok = Tokenizer(universe)
        call = lambda: tokenize_fragment_file(fragments, tok)  # noqa: E731
    else:
        import gtok

        tok = gtok.Tokenizer(universe)
        if lib == "gtok":
            call = lambda: gtok.tokenize_fragments(tok, fragments)  # noqa: E731
        elif lib == "gtok-lists":
            call = lambda: gtok.tokenize_fragments(tok, fragments, as_lists=True)  # noqa: E731
        else:
            call = lambda: gtok.tokenize_fragments(tok, fragments, out)  # noqa: E731
    before = _hwm_kib()  # peak of the import and the tokenizer build
    reset = _reset_hwm()
    base = _hwm_kib()
    t0 = time.perf_counter()
    c0 = time.process_time()
    result = call()
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - c0
    after = _hwm_kib()
    grow = after - base if reset else None
    peak = max(before, after)
    # the digest (not timed): barcodes in sorted order and a CRC32 of each cell's ids
    if lib == "gtok-pack":
        pack = gtok.open_gtok(out)
        cells = {name: pack.doc(i) for i, name in enumerate(pack.names)}
    else:
        cells = result
    crc = 0
    n_tokens = 0
    for bc in sorted(cells):
        ids = np.asarray(cells[bc], dtype=np.uint32)
        n_tokens += ids.size
        crc = zlib.crc32(bc.encode() + ids.tobytes(), crc)
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu": cpu,
                "grow_kib": grow,
                "peak_kib": peak,
                "cells": len(cells),
                "tokens": n_tokens,
                "digest": crc,
            }
        )
    )


def run_once(lib: str, universe: Path, fragments: Path, pin: bool, tmp: Path) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        lib,
        str(universe),
        str(fragments),
        str(tmp / "bench_cells.gtok"),
    ]
    if pin:
        cmd = ["taskset", "-c", str(sorted(os.sched_getaffinity(0))[0])] + cmd
    start = time.perf_counter()
    # OpenBLAS' idle threads (NumPy's) spin for a while after import: keep them out of both
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    out, err = proc.stdout.read(), proc.stderr.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{lib} worker failed ({proc.returncode}):\n{err}")
    rec = json.loads(out.strip().splitlines()[-1])
    # the worker's own VmHWM: wait4's ru_maxrss would include the RSS this (forking)
    # process had when it started the child, which Linux carries over the exec
    rec["maxrss_mib"] = rec["peak_kib"] / 1024
    rec["process_s"] = time.perf_counter() - start
    return rec


# ---------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(HERE / "data"), help="data folder")
    ap.add_argument("--cells", type=int, default=5000)
    ap.add_argument("--frags", type=int, default=2000, help="fragments per cell")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--libs", default=",".join(LIBS))
    ap.add_argument("--no-pin", action="store_true", help="do not pin runs to one CPU")
    ap.add_argument(
        "--worker", nargs=4, metavar=("LIB", "UNIVERSE", "FRAGMENTS", "OUT"), help=argparse.SUPPRESS
    )
    args = ap.parse_args(argv)
    if args.worker:
        worker(*args.worker)
        return 0
    libs = [x for x in args.libs.split(",") if x]
    universe, fragments = ensure_data(Path(args.data), args.cells, args.frags)
    tmp = Path(args.data)
    runs: dict[str, list[dict]] = {lib: [] for lib in libs}
    for r in range(args.repeats):
        for lib in libs:
            rec = run_once(lib, universe, fragments, not args.no_pin, tmp)
            runs[lib].append(rec)
            print(
                f"  run {r + 1} {lib:10} {rec['seconds']:7.2f} s  "
                f"maxrss {rec['maxrss_mib']:7.0f} MiB",
                file=sys.stderr,
            )
    (tmp / "bench_cells.gtok").unlink(missing_ok=True)
    digests = {
        lib: {(x["digest"], x["cells"], x["tokens"]) for x in rs} for lib, rs in runs.items()
    }
    if len(set().union(*digests.values())) != 1:
        print(f"MISMATCH between libraries: {digests}", file=sys.stderr)
        return MISMATCH_EXIT
    med = {
        lib: {
            k: statistics.median(x[k] for x in rs)
            for k in ("seconds", "cpu", "maxrss_mib", "process_s")
        }
        for lib, rs in runs.items()
    }
    for lib, rs in runs.items():
        grows = [x["grow_kib"] for x in rs if x["grow_kib"] is not None]
        med[lib]["grow_mib"] = statistics.median(grows) / 1024 if grows else float("nan")
    n = args.cells * args.frags
    some = next(iter(runs.values()))[0]
    print(
        f"\n{args.cells:,} cells x {args.frags:,} fragments = {n:,} fragments "
        f"({fragments.stat().st_size / 1e6:.0f} MB gzip), {some['tokens']:,} tokens, "
        f"universe_1m; median of {args.repeats}; "
        f"{'one CPU' if not args.no_pin else 'unpinned'}; "
        f"Python {platform.python_version()}\n"
    )
    print(
        "| library | call wall (s) | CPU (s) | M fragments/s | peak RSS (MiB) | "
        "RSS growth in call (MiB) | process wall (s) |"
    )
    print("|---|---|---|---|---|---|---|")
    for lib in libs:
        m = med[lib]
        print(
            f"| {lib} | {m['seconds']:.2f} | {m['cpu']:.2f} | {n / m['seconds'] / 1e6:.2f} | "
            f"{m['maxrss_mib']:.0f} | {m['grow_mib']:.0f} | {m['process_s']:.2f} |"
        )
    if "gtars" in med:
        print()
        for lib in libs:
            if lib != "gtars":
                g, m = med["gtars"], med[lib]
                # the machine's speed drifts over minutes: each gtars run is also compared
                # with the run of this library that follows it, and those ratios' median
                # reported too
                paired = statistics.median(
                    a["seconds"] / b["seconds"] for a, b in zip(runs["gtars"], runs[lib])
                )
                print(
                    f"- gtars / {lib}: {g['seconds'] / m['seconds']:.1f}x faster (call; "
                    f"median of per-run ratios {paired:.1f}x), "
                    f"peak RSS {g['maxrss_mib'] / m['maxrss_mib']:.1f}x lower, "
                    f"RSS growth in call {g['grow_mib'] / max(m['grow_mib'], 1e-9):.1f}x lower"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
