"""Benchmark: a cells x peaks matrix to per-cell token documents, gtok vs geniml's loop.

What is measured
----------------
A synthetic AnnData (fixed seed): ``--cells`` cells (default 5,000) x ``--peaks`` peaks
(default 100,000), density ``--density`` (default 3 %), CSR ``X`` of ones; the peaks are
500 bp, ~90 % of them centred on a universe region, ~9 % anywhere on the chromosomes, ~1 %
on a contig the universe lacks. The universe holds ``--universe`` (default 1,000,000)
non-overlapping 200-2,000 bp regions on 24 chromosomes.

* **geniml's loop through gtars** (what ``geniml.tokenization.utils.tokenize_anndata``
  does): build the ``var`` regions as gtars ``Region`` objects once (timed separately),
  then for every cell ``tokenizer(features[X[row].nonzero()[1]])["input_ids"]``.
* **gtok, in memory**: ``gtok.tokenize_anndata(tok, adata)`` (dict of uint32 arrays).
* **gtok, .h5ad to pack**: ``gtok.tokenize_anndata(tok, "cells.h5ad", "cells.gtok")``, read
  with h5py in row chunks and written atomically (file I/O included).

Before timing, gtok's documents are checked equal to gtars' for every cell (exit 3 if
not). Figures are medians of ``--repeats`` runs in the same process; by default the
process is pinned to one CPU. Tokenizer construction is not timed (it is the same for
both workflows and measured by ``bench_tokenize.py``).

Usage (repository root; the checkout's gtok is put first on ``sys.path``)::

    python benchmarks/bench_cells.py [--cells 5000] [--peaks 100000] [--density 0.03]
                                     [--repeats 3] [--no-pin]

Results go to stdout as Markdown; progress to stderr.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # benchmark this checkout's gtok

import numpy as np  # noqa: E402

CHROMS = [f"chr{i}" for i in range(1, 23)] + ["chrX", "chrY"]
CHROM_LEN = 150_000_000


def make_universe(path: Path, n: int, rng: np.random.Generator) -> tuple:
    per = n // len(CHROMS)
    chroms, starts, ends = [], [], []
    lines = []
    for c in CHROMS:
        widths = rng.integers(200, 2_001, per)
        gaps = rng.integers(0, 2 * (CHROM_LEN // per - 1_100) + 1, per)
        s = np.cumsum(gaps + np.concatenate([[0], widths[:-1]]))
        e = s + widths
        chroms += [c] * per
        starts.append(s)
        ends.append(e)
        lines.append("".join(f"{c}\t{a}\t{b}\n" for a, b in zip(s.tolist(), e.tolist())))
    path.write_text("".join(lines))
    return np.array(chroms), np.concatenate(starts), np.concatenate(ends)


def make_peaks(n: int, universe: tuple, rng: np.random.Generator) -> tuple:
    uc, us, ue = universe
    kind = rng.random(n)
    pick = rng.integers(0, uc.shape[0], n)
    centre = (us[pick] + ue[pick]) // 2 + rng.integers(-300, 301, n)
    chroms = uc[pick].astype(object)
    anywhere = kind >= 0.90
    chroms[anywhere] = np.array(CHROMS, dtype=object)[rng.integers(0, len(CHROMS), anywhere.sum())]
    centre[anywhere] = rng.integers(1_000, CHROM_LEN, anywhere.sum())
    chroms[kind >= 0.99] = "chrUn_KI270742v1"
    starts = np.maximum(centre - 250, 0)
    return chroms.tolist(), starts, starts + 500


def make_matrix(n_cells: int, n_peaks: int, density: float, rng: np.random.Generator):
    """CSR of ones: each cell has Binomial(n_peaks, density) distinct peaks, sorted."""
    import scipy.sparse as sp

    counts = rng.binomial(n_peaks, density, n_cells)
    indices = np.concatenate(
        [np.sort(rng.choice(n_peaks, k, replace=False)) for k in counts.tolist()]
    ).astype(np.int32)
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return sp.csr_matrix(
        (np.ones(indices.shape[0], np.float32), indices, indptr), shape=(n_cells, n_peaks)
    )


def median_time(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cells", type=int, default=5_000)
    ap.add_argument("--peaks", type=int, default=100_000)
    ap.add_argument("--density", type=float, default=0.03)
    ap.add_argument("--universe", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-pin", action="store_true", help="do not pin to one CPU")
    args = ap.parse_args(argv)
    if not args.no_pin and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})

    work = Path(tempfile.mkdtemp(prefix="bench_cells_"))
    try:
        return run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, work: Path) -> int:
    import anndata
    import pandas as pd
    from gtars.models import Region
    from gtars.tokenizers import Tokenizer as GtarsTokenizer

    import gtok

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    rng = np.random.default_rng(args.seed)
    log(f"making data in {work} ...")
    universe_path = work / "universe.bed"
    universe = make_universe(universe_path, args.universe, rng)
    chroms, starts, ends = make_peaks(args.peaks, universe, rng)
    x = make_matrix(args.cells, args.peaks, args.density, rng)
    var = pd.DataFrame(
        {"chr": pd.Categorical(chroms), "start": starts, "end": ends},
        index=[f"peak{j}" for j in range(args.peaks)],
    )
    adata = anndata.AnnData(
        X=x, var=var, obs=pd.DataFrame(index=[f"cell{i}" for i in range(args.cells)])
    )
    h5ad = work / "cells.h5ad"
    adata.write_h5ad(h5ad)
    log(f"{args.cells} cells x {args.peaks} peaks, {x.nnz:,} non-zeros; building tokenizers")
    ref = GtarsTokenizer(str(universe_path))
    tok = gtok.Tokenizer(universe_path)

    def geniml_features():
        feats = np.empty(adata.n_vars, dtype=object)
        for j, (c, s, e) in enumerate(zip(adata.var["chr"], adata.var["start"], adata.var["end"])):
            feats[j] = Region(c, int(s), int(e), None)
        return feats

    features = geniml_features()

    def geniml_loop():
        xx = adata.X
        return [ref(features[xx[r].nonzero()[1]])["input_ids"] for r in range(adata.n_obs)]

    log("checking equality ...")
    want = geniml_loop()
    got = gtok.tokenize_anndata(tok, adata)
    if [v.tolist() for v in got.values()] != [list(w) for w in want]:
        print("gtok's documents differ from geniml/gtars'", file=sys.stderr)
        return 3
    n_tokens = sum(len(w) for w in want)
    del want, got
    log("timing ...")
    t_feat, _ = median_time(geniml_features, args.repeats)
    t_loop, _ = median_time(geniml_loop, args.repeats)
    t_mem, _ = median_time(lambda: gtok.tokenize_anndata(tok, adata), args.repeats)
    pack = work / "cells.gtok"
    t_file, _ = median_time(lambda: gtok.tokenize_anndata(tok, h5ad, pack), args.repeats)

    try:
        import subprocess

        commit = subprocess.run(
            ["git", "-C", str(HERE.parent), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        commit = "?"
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from importlib.metadata import version as _version

    print(
        f"- Machine: {cpu}, {os.cpu_count()} logical CPUs, "
        f"{'pinned to one CPU' if not args.no_pin else 'not pinned'}; "
        f"{platform.system()} {platform.release()}"
    )
    print(
        f"- Versions: Python {platform.python_version()}, NumPy {np.__version__}, "
        f"anndata {_version('anndata')}, gtars {_version('gtars')}, "
        f"gtok {gtok.__version__} (commit {commit})"
    )
    print(
        f"- Data: {args.cells:,} cells x {args.peaks:,} peaks, density {args.density}, "
        f"{x.nnz:,} non-zeros, {n_tokens:,} tokens; universe {args.universe:,} regions; "
        f"seed {args.seed}"
    )
    print(f"- Median of {args.repeats} runs; documents checked equal to geniml/gtars' first.")
    print()
    print("| workflow | time | cells/s | vs geniml's loop |")
    print("|---|---:|---:|---:|")
    print(f"| geniml: var regions to gtars `Region`s (once) | {t_feat:.3f} s | - | - |")
    print(
        f"| geniml: per-cell loop through gtars | {t_loop:.3f} s | "
        f"{args.cells / t_loop:,.0f} | 1.0x |"
    )
    print(
        f"| gtok `tokenize_anndata(tok, adata)` (in memory) | {t_mem:.3f} s | "
        f"{args.cells / t_mem:,.0f} | {t_loop / t_mem:.1f}x |"
    )
    print(
        f"| gtok `.h5ad` file to pack (h5py, atomic write) | {t_file:.3f} s | "
        f"{args.cells / t_file:,.0f} | {t_loop / t_file:.1f}x |"
    )
    print(f"| (geniml loop + `Region`s) vs gtok in memory | | | {(t_loop + t_feat) / t_mem:.1f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
