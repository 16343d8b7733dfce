"""Where the time of a ``gtok tokenize`` run goes: start-up, universe, pool, work, exit.

``bench_batch.py`` times whole runs; this script explains them. It runs ``gtok tokenize``
with 1 and with N jobs, alternately (the machine's speed drifts: alternating pairs keep the
comparison fair), each in a fresh process that marks the phases from inside
(``--_run``: the ``gtok`` command with a few functions wrapped), and prints per phase the
median wall time, and the CPU time of the parent and of the workers:

* ``start``: process start to the first line of this script (interpreter, ``site``);
* ``imports``: NumPy and gtok's modules;
* ``universe``: building the tokenizer (parse, index, fingerprint);
* ``before work``: planning, the first manifest, starting the workers (N jobs);
* ``work``: the first file started (1 job) or the pool started (N jobs) to the last result;
* ``end``: the last manifest and the process's exit.

Usage (from the repository root, gtok built in place; data from ``datagen.py``)::

    python benchmarks/batch_phases.py [--jobs 2] [--rounds 6] [--data benchmarks/data]

The ratio printed at the end is the 1-job time over the N-job time of each pair (median),
and the same for the ``work`` phase alone: how far the fixed phases pull the whole run's
speed-up below the workers' own.
"""

from __future__ import annotations

# only what the marked child process needs: the rest is imported in main(), so that the
# child's "start" and "imports" phases hold the interpreter's and gtok's own costs
import json
import os
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PHASES = ("start", "imports", "universe", "before work", "work", "end")


def _cpu(who: int) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def _run(argv: list[str], spawned_at: float, report: str) -> None:
    """The ``gtok`` command with its phases marked (runs in a fresh process)."""
    marks = {"start": time.time() - spawned_at}
    t0 = time.perf_counter() - marks["start"]

    def mark(name: str) -> None:
        if name not in marks:
            marks[name] = time.perf_counter() - t0
            marks["cpu_self_" + name] = _cpu(resource.RUSAGE_SELF)

    sys.path.insert(0, str(REPO))  # this checkout's gtok
    import numpy  # noqa: F401

    import gtok.batch.run
    import gtok.cli
    import gtok.tokenizer

    mark("imports")
    tokenizer_init = gtok.tokenizer.Tokenizer.__init__

    def init(self, *args, **kwargs):
        tokenizer_init(self, *args, **kwargs)
        mark("universe")

    gtok.tokenizer.Tokenizer.__init__ = init

    tokenize_one = gtok.batch.run._tokenize_one  # 1 job: called in this process

    def one(*args):
        mark("before work")
        try:
            return tokenize_one(*args)
        finally:
            marks["work"] = time.perf_counter() - t0  # the last file's end

    gtok.batch.run._tokenize_one = one

    run_pool = gtok.batch.run._run_on  # N jobs: the pool's whole life

    def pool(*args, **kwargs):
        mark("before work")
        try:
            return run_pool(*args, **kwargs)
        finally:
            mark("work")

    gtok.batch.run._run_on = pool

    status = gtok.cli.main(argv)
    marks["main"] = time.perf_counter() - t0
    marks["cpu_self"] = _cpu(resource.RUSAGE_SELF)
    marks["cpu_workers"] = _cpu(resource.RUSAGE_CHILDREN)
    Path(report).write_text(json.dumps(marks))
    sys.stdout.flush()
    os._exit(status)  # as the gtok program ends


def one_run(universe: str, listing: Path, out: Path, jobs: int) -> dict:
    import shutil
    import subprocess

    shutil.rmtree(out, ignore_errors=True)
    report = out.with_suffix(".json")
    spawned = time.time()
    t0 = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--_run",
            str(spawned),
            str(report),
            "tokenize",
            universe,
            "--from-file",
            str(listing),
            "-o",
            str(out),
            "-j",
            str(jobs),
            "-q",
        ],
        check=True,
        cwd=REPO,
    )
    total = time.perf_counter() - t0
    m = json.loads(report.read_text())
    phases = {
        "start": m["start"],
        "imports": m["imports"] - m["start"],
        "universe": m["universe"] - m["imports"],
        "before work": m["before work"] - m["universe"],
        "work": m["work"] - m["before work"],
        "end": total - m["work"],
    }
    return {
        "total": total,
        "phases": phases,
        "cpu_self": m["cpu_self"],
        "cpu_self_work": m["cpu_self"] - m["cpu_self_before work"],
        "cpu_workers": m["cpu_workers"],
    }


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["--_run"]:
        _run(argv[3:], float(argv[1]), argv[2])
        return 0
    import argparse
    import compileall
    import shutil
    import statistics
    import tempfile

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(HERE / "data"))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=6)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(HERE))
    import datagen

    ds = datagen.ensure_dataset(args.data, n_files=200)
    # as bench_batch.py: an installed gtok has its bytecode; compile this checkout's once
    compileall.compile_dir(str(REPO / "gtok"), quiet=1)
    work = Path(tempfile.mkdtemp(prefix="gtok-phases-"))
    listing = work / "inputs.txt"
    listing.write_text("".join(p + "\n" for p in ds["queries"]))
    runs: dict[int, list[dict]] = {1: [], args.jobs: []}
    try:
        for r in range(args.rounds):
            for jobs, done in runs.items():
                done.append(one_run(ds["universe_1m"], listing, work / f"out{jobs}", jobs))
                last = done[-1]
                print(
                    f"[batch_phases] round {r + 1}: -j {jobs} {last['total']:.3f} s",
                    file=sys.stderr,
                    flush=True,
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def med(values: list[float]) -> float:
        return statistics.median(values)

    print(f"## Phases of `gtok tokenize` (median of {args.rounds} alternating rounds)\n")
    print("| phase | " + " | ".join(f"-j {j}" for j in runs) + " |")
    print("|---|" + "---:|" * len(runs))
    for phase in PHASES:
        cells = [f"{1e3 * med([x['phases'][phase] for x in rs]):.0f} ms" for rs in runs.values()]
        print(f"| {phase} | " + " | ".join(cells) + " |")
    cells = [f"{med([x['total'] for x in rs]):.3f} s" for rs in runs.values()]
    print("| **total** | " + " | ".join(cells) + " |")
    for key, label in (
        ("cpu_self", "CPU, main process"),
        ("cpu_self_work", "CPU, main process, work + end"),
        ("cpu_workers", "CPU, workers"),
    ):
        cells = [f"{med([x[key] for x in rs]):.3f} s" for rs in runs.values()]
        print(f"| {label} | " + " | ".join(cells) + " |")
    one, many = runs[1], runs[args.jobs]
    whole = med([a["total"] / b["total"] for a, b in zip(one, many)])
    work_only = med([a["phases"]["work"] / b["phases"]["work"] for a, b in zip(one, many)])
    print(
        f"\n-j {args.jobs} vs -j 1 (median of per-round ratios): whole run {whole:.2f}x, "
        f"work phase alone {work_only:.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
