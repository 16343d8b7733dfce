"""How tokenizing scales with the universe: 1 M vs 10 M regions (issue 17, item 4).

Universes (from :mod:`datagen`, seed 0): ``universe_1m.bed`` (1,000,000 non-overlapping
regions of 200-2,000 bp) and ``universe_10m.bed`` (10,000,000 non-overlapping regions of
20-200 bp, made on first use by :func:`datagen.ensure_universe_10m`, ~240 MB). Queries: the
first ``--files`` query files of the data set (40-60 k peaks each, shuffled, a few on
contigs the universes lack).

Measured, in one process, one tokenizer per universe built beforehand, the two universes
interleaved in each of ``--rounds`` rounds (medians reported):

* **from paths**: ``tok.tokenize(path)`` for each query file (parse, gtars' order,
  search), in ns per query region;
* **from memory**: ``tok.tokenize((chroms, starts, ends))`` of the same regions as NumPy
  columns (chromosome names ``U``), in ns per query region;
* the 10 M / 1 M ratio of each (the target: under 2x);
* **memory**: bytes per universe region held by the universe (its columns and index,
  each array once: ``Universe.nbytes`` when the build has it) and of the pickled
  tokenizer; and the growth of traced allocations (``tracemalloc``) while building.

Usage (from the repository root; the checkout's ``gtok`` is used when its extensions are
built in place, otherwise the installed one)::

    python benchmarks/bench_scaling.py [--data benchmarks/data] [--rounds 7] [--files 20]

Results go to stdout as Markdown; progress to stderr.
"""

from __future__ import annotations

import argparse
import gc
import os
import pickle
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))  # datagen
if any((REPO / "gtok" / "_lib").glob("_overlap*.so")):
    sys.path.insert(1, str(REPO))  # benchmark this checkout's gtok, built in place

import numpy as np  # noqa: E402

import datagen  # noqa: E402


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def held_bytes(universe) -> int:
    """Bytes of the universe's arrays (columns and index), each array once."""
    if hasattr(universe, "nbytes"):
        return int(universe.nbytes)
    index = universe.index
    arrays = [universe.region_chroms, universe.region_starts, universe.region_ends]
    arrays += [index.starts, index.ends, index.maxend, index.ids]
    arrays += [index.comp_bounds, index.chrom_comps]
    seen: dict[int, int] = {}
    for a in arrays:
        if a is not None:
            seen[id(a if a.base is None else a.base)] = a.nbytes
    return sum(seen.values())


def build(gtok, path: str):
    gc.collect()
    tracemalloc.start()
    t0 = time.perf_counter()
    tok = gtok.Tokenizer(path)
    seconds = time.perf_counter() - t0
    gc.collect()
    traced, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    u = tok.universe
    n = u.n_regions
    return tok, {
        "n_regions": n,
        "build_s": seconds,
        "held_b": held_bytes(u) / n,
        "traced_b": traced / n,
        "peak_b": peak / n,
        "pickle_b": len(pickle.dumps(tok, protocol=5)) / n,
    }


def columns(gtok, files: list[str]):
    """The query files' regions as NumPy columns (names as ``U``), in file order."""
    from gtok._lib._chromtable import ChromTable
    from gtok.io.bedtext import read_regions

    table = ChromTable()
    parts = [read_regions(f, table, add_chroms=True, trim=True) for f in files]
    names = np.array(table.names())
    chroms = np.concatenate([names[p.chroms] for p in parts])
    starts = np.concatenate([p.starts for p in parts]).astype(np.int64)
    ends = np.concatenate([p.ends for p in parts]).astype(np.int64)
    return chroms, starts, ends


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(HERE / "data"))
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--files", type=int, default=20, help="query files (default 20)")
    args = ap.parse_args(argv)

    import gtok

    ds = datagen.ensure_dataset(args.data, n_files=max(args.files, 1))
    u10, _ = datagen.ensure_universe_10m(args.data)
    universes = {"1 M": ds["universe_1m"], "10 M": u10}
    files = ds["queries"][: args.files]
    n_q = sum(ds["query_regions"][: args.files])
    log(f"gtok {gtok.__version__} from {Path(gtok.__file__).parent}; {n_q:,} query regions")

    toks, mem = {}, {}
    for name, path in universes.items():
        log(f"building {name}")
        toks[name], mem[name] = build(gtok, path)
    cols = columns(gtok, files)
    for tok in toks.values():  # warm-up
        for f in files:
            tok.tokenize(f)
        tok.tokenize(cols)

    paths: dict[str, list[float]] = {name: [] for name in toks}
    memory: dict[str, list[float]] = {name: [] for name in toks}
    load = [os.getloadavg()[0]]
    for r in range(args.rounds):
        for name, tok in toks.items():
            gc.collect()
            t0 = time.perf_counter()
            for f in files:
                tok.tokenize(f)
            paths[name].append((time.perf_counter() - t0) / n_q * 1e9)
            gc.collect()
            t0 = time.perf_counter()
            tok.tokenize(cols)
            memory[name].append((time.perf_counter() - t0) / n_q * 1e9)
        log(
            f"round {r + 1}/{args.rounds}: "
            + ", ".join(f"{k} {paths[k][-1]:.0f} / {memory[k][-1]:.0f} ns" for k in toks)
        )
    load.append(os.getloadavg()[0])

    med_p = {k: statistics.median(v) for k, v in paths.items()}
    med_m = {k: statistics.median(v) for k, v in memory.items()}
    print(
        f"gtok {gtok.__version__}; {args.files} query files, {n_q:,} regions; "
        f"medians of {args.rounds} interleaved rounds; load average "
        f"{load[0]:.2f} at the start, {load[1]:.2f} at the end\n"
    )
    print("| universe | from paths | from memory | held | pickled | built in |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in toks:
        m = mem[name]
        print(
            f"| {name} ({m['n_regions']:,} regions) | {med_p[name]:.0f} ns | "
            f"{med_m[name]:.0f} ns | {m['held_b']:.2f} B | {m['pickle_b']:.2f} B | "
            f"{m['build_s']:.2f} s |"
        )
    print(
        f"| 10 M / 1 M | **{med_p['10 M'] / med_p['1 M']:.2f}x** | "
        f"**{med_m['10 M'] / med_m['1 M']:.2f}x** | | | |"
    )
    print(
        "\nns per query region; B per universe region (held: the universe's arrays, each "
        "once; traced growth while building: "
        + ", ".join(f"{k} {mem[k]['traced_b']:.1f} B (peak {mem[k]['peak_b']:.1f} B)" for k in toks)
        + ")"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
