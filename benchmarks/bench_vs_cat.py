"""The 200-file ``gtok tokenize -j 1`` run against ``cat`` of the same files (issue 17, item 3).

``cat queries/* > /dev/null`` is the floor of reading the inputs. Each round runs ``cat``,
then ``gtok tokenize UNIVERSE queries/ -o NEW_DIR -j 1 -q`` once with every Python given
(for a before/after comparison: each venv with its own gtok installed), in fresh processes
(``OPENBLAS_NUM_THREADS=1``, run from a temporary folder so that no checkout's source tree
is imported). It prints each round, then the medians and the median of the per-round
ratios to ``cat``; the outputs of every Python are checked equal, byte for byte, first.

Usage (data from ``datagen.py``)::

    python benchmarks/bench_vs_cat.py [--rounds 9] [--universe universe_1m.bed]
        [--python /path/to/before/bin/python --python /path/to/after/bin/python]

``--universe bench_probe_1region.bed`` (one region) leaves the search out: parse, sort and
write only.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _timed(cmd: list[str], cwd: str, env: dict, stdout: int | None = None) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=stdout)
    return time.perf_counter() - t


def _same_outputs(a: Path, b: Path) -> bool:
    names = sorted(p.name for p in a.glob("*.gtok"))
    if names != sorted(p.name for p in b.glob("*.gtok")):
        return False
    return all(filecmp.cmp(a / n, b / n, shallow=False) for n in names)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(HERE / "data"))
    ap.add_argument("--universe", default="universe_1m.bed")
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--python", action="append", help="a Python with gtok (repeatable)")
    args = ap.parse_args()
    sys.path.insert(0, str(HERE))
    import datagen

    datagen.ensure_dataset(args.data)
    data = Path(args.data).resolve()
    queries = sorted(str(p) for p in (data / "queries").iterdir())
    pythons = args.python or [sys.executable]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    times: dict[str, list[float]] = {"cat": [], **{p: [] for p in pythons}}
    with tempfile.TemporaryDirectory() as tmp:

        def tokenize(python: str, out: str) -> float:
            cmd = [python, "-m", "gtok", "tokenize", str(data / args.universe)]
            return _timed(cmd + [str(data / "queries"), "-o", out, "-j", "1", "-q"], tmp, env)

        outs = [str(Path(tmp) / f"check{i}") for i in range(len(pythons))]
        for python, out in zip(pythons, outs):
            tokenize(python, out)
        if not all(_same_outputs(Path(outs[0]), Path(o)) for o in outs[1:]):
            sys.exit("the outputs differ between the Pythons given")
        for r in range(args.rounds):
            times["cat"].append(_timed(["cat", *queries], tmp, env, stdout=subprocess.DEVNULL))
            for i, python in enumerate(pythons):
                out = str(Path(tmp) / f"r{r}_{i}")
                times[python].append(tokenize(python, out))
            row = "  ".join(f"{times[k][-1]:.3f}" for k in times)
            print(f"round {r + 1}/{args.rounds}: cat / each Python: {row} s", flush=True)
    print(f"\n{len(queries)} files, universe {args.universe}, {args.rounds} rounds")
    print("| run | median | / `cat` (median of the rounds' ratios) |")
    print("|---|---:|---:|")
    print(f"| cat | {statistics.median(times['cat']):.3f} s | 1.0x |")
    for python in pythons:
        ratios = [t / c for t, c in zip(times[python], times["cat"])]
        print(
            f"| {python} | {statistics.median(times[python]):.3f} s | "
            f"{statistics.median(ratios):.1f}x |"
        )


if __name__ == "__main__":
    main()
