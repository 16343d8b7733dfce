"""The three kernels of the 200-file job, each alone, in one process: the BED parse (ns a
line, by format, the texts in memory), the sort of a file's rows into gtars' order (ns a
row) and the search of the sorted rows (ns a query), against the 1 M universe.

For the profile-guided habit: `bench_vs_cat.py` says how the whole run compares, this says
which kernel moved. With several Pythons (each venv with its own gtok installed: a before /
after comparison), every round runs each of them in turn, one child process a round, and
the medians of the rounds are printed side by side; each child checks that its results are
those of the first Python (a digest of the parsed columns, the keys and the ids).

Usage (data from ``datagen.py``)::

    python benchmarks/bench_kernels.py [--rounds 9]
        [--python /path/to/before/bin/python --python /path/to/after/bin/python]

It calls gtok's private kernels (``gtok._lib``): their signatures may change with gtok.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

_CHILD = r"""
import glob, hashlib, json, sys, time
import numpy as np
import gtok
from gtok._lib._bedparse import capacity_for, parse_bed
from gtok._lib._chromtable import ChromTable
from gtok._lib._radix import gtars_keys
from gtok._lib._runs import tokenize_keys
from gtok.io.bedtext import read_regions

data = sys.argv[1]
tok = gtok.Tokenizer(f"{data}/universe_1m.bed")
u = tok.universe
paths = sorted(glob.glob(f"{data}/queries/*"))
out, digest = {}, hashlib.sha256()


def timed(f):
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


for kind in (".bed", ".narrowPeak"):
    texts = [open(p, "rb").read() for p in paths if p.endswith(kind)]
    cap = max(capacity_for(len(t)) for t in texts)
    cols = (np.empty(cap, np.int32), np.empty(cap, np.uint32), np.empty(cap, np.uint32))
    extra = ChromTable()
    rows = []

    def parse_all():
        rows.clear()
        for text in texts:
            rows.append(parse_bed(text, u.chroms, extra, False, False, *cols)[0])

    parse_all()  # (warm: the text pages, the name table)
    seconds = timed(parse_all)
    out["parse" + kind] = seconds / sum(rows) * 1e9
    digest.update(repr(rows).encode())

columns = [read_regions(p, u.chroms) for p in paths]
n_rows = sum(len(c.chroms) for c in columns)
work = (np.empty(n_rows, np.uint64), np.empty(n_rows, np.uint64))
sorted_keys = []


def sort_all():
    for c in columns:
        gtars_keys(c.chroms, c.starts, c.ends, u.chrom_rank, work)


for c in columns:
    keys, bounds, chroms = gtars_keys(c.chroms, c.starts, c.ends, u.chrom_rank)
    sorted_keys.append((keys, bounds, chroms))
    digest.update(keys.tobytes())
out["sort"] = timed(sort_all) / n_rows * 1e9
n_queries = sum(len(k[0]) for k in sorted_keys)
ids = []


def search_all():
    ids.clear()
    for keys, bounds, chroms in sorted_keys:
        ids.append(tokenize_keys(u.index, keys, bounds, chroms, tok.unk_token_id, False))


search_all()
out["search"] = timed(search_all) / n_queries * 1e9
for i in ids:
    digest.update(i.tobytes())
out["digest"] = digest.hexdigest()
print(json.dumps(out))
"""

_ROWS = [
    ("parse.bed", "parse, BED files (ns a line)"),
    ("parse.narrowPeak", "parse, narrowPeak files (ns a line)"),
    ("sort", "sort into gtars' order (ns a row)"),
    ("search", "search, 1 M universe (ns a query)"),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(HERE / "data"))
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--python", action="append", help="a Python with gtok (repeatable)")
    args = ap.parse_args()
    sys.path.insert(0, str(HERE))
    import datagen

    datagen.ensure_dataset(args.data)
    data = str(Path(args.data).resolve())
    pythons = args.python or [sys.executable]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    got: dict[str, list[dict]] = {p: [] for p in pythons}
    with tempfile.TemporaryDirectory() as tmp:  # (no checkout's sources imported)
        for r in range(args.rounds):
            for python in pythons:
                run = subprocess.run(
                    [python, "-c", _CHILD, data],
                    cwd=tmp,
                    env=env,
                    check=True,
                    capture_output=True,
                    text=True,
                )
                got[python].append(json.loads(run.stdout))
            print(f"round {r + 1}/{args.rounds} done", flush=True)
    digests = {g["digest"] for runs in got.values() for g in runs}
    if len(digests) != 1:
        sys.exit("the Pythons' results differ (parsed rows, sorted keys or ids)")
    print(f"\n{args.rounds} rounds, medians; results equal in every run\n")
    print("| kernel | " + " | ".join(pythons) + " |")
    print("|---|" + "---:|" * len(pythons))
    for key, label in _ROWS:
        cells = [f"{statistics.median(g[key] for g in got[p]):.2f}" for p in pythons]
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
