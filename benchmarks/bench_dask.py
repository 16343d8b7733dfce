"""Benchmark the Dask engine against the local pool, on the same machine, in the same run.

What is measured
----------------
1. **200 files** (:mod:`datagen`'s queries, ~10 M regions, against the 1 M-region universe):
   ``pretokenize(..., jobs=N)`` (the local pool) vs ``pretokenize(..., engine=client)`` on
   a ``LocalCluster`` of N single-threaded worker processes (``--workers``, 2 by default;
   1 leaves a core to Dask's scheduler, client and event loops), started once beforehand (a
   cluster outlives its runs; its start is reported apart). The universe is built once in
   this process for both. Outputs are compared byte for byte before timing.
2. **Shipping the universe**: the tokenizer scattered to every worker (what the engine
   does) vs built by each worker from the universe path; and Dask's floor, a run of 200
   keys that do nothing (with the tokenizer as state, and with none).
3. **Per-task overhead and many tiny inputs**: N one-line BED files (N = 200, 2,000,
   10,000), local pool vs Dask, and Dask with one input per task (``group=1``) to show what
   grouping saves; the overhead per input is (Dask time - local time) / N.
4. **Whole commands**: the same job as ``gtok tokenize -j N`` vs ``gtok tokenize --engine
   dask --address`` (each a new process), and ``import distributed`` alone.
5. With ``--ray``: the 200 files on the Ray engine (a local Ray of N CPUs) vs the pool.

Medians of ``--repeats`` interleaved runs; the machine's load average is printed (it is
shared: ratios say more than seconds). Needs ``gtok[dask]``; all on 127.0.0.1.

Usage (repository root, gtok installed; data from ``python benchmarks/datagen.py``)::

    python benchmarks/bench_dask.py [--data benchmarks/data] [--repeats 5] [--workers 2] [--ray]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _alternated(runs: dict, work: Path, prefix: str, repeats: int) -> dict[str, float]:
    """Median seconds of each of ``runs`` (name -> a function of its output folder,
    ``work / f"{prefix}-{name}"``, emptied before each run), the runs alternated."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            out = work / f"{prefix}-{name}"
            shutil.rmtree(out, ignore_errors=True)
            times[name].append(_timed(lambda: run(out)))  # noqa: B023
    return {name: statistics.median(values) for name, values in times.items()}


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.gtok"))}


def _tiny_inputs(folder: Path, n: int) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(n):
        path = folder / f"t{k:05d}.bed"
        path.write_text(f"chr1\t{1000 * k}\t{1000 * k + 500}\n")
        paths.append(str(path))
    return paths


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="benchmarks/data")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--tiny", default="200,2000,10000")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--ray", action="store_true", help="also time the Ray engine (gtok[ray])")
    args = ap.parse_args()

    import gtok
    from gtok.batch.dask_engine import DaskEngine

    data = Path(args.data)
    queries = sorted(str(p) for p in (data / "queries").iterdir())
    work = Path(tempfile.mkdtemp(prefix="gtok-bench-dask-"))
    print(f"load average before: {os.getloadavg()}", file=sys.stderr)
    t = time.perf_counter()
    engine = DaskEngine.local(args.workers)
    cluster_start = time.perf_counter() - t
    try:
        t = time.perf_counter()
        tok = gtok.Tokenizer(str(data / "universe_1m.bed"))
        build = time.perf_counter() - t

        def local(out: Path, inputs: list[str]) -> None:
            shutil.rmtree(out, ignore_errors=True)
            assert gtok.pretokenize(tok, inputs, out, jobs=args.workers).ok

        def dask(out: Path, inputs: list[str], group: int | None = None) -> None:
            shutil.rmtree(out, ignore_errors=True)
            run_engine = DaskEngine(engine.client, group=group)
            assert gtok.pretokenize(tok, inputs, out, engine=run_engine).ok

        local(work / "a", queries)
        dask(work / "b", queries)
        assert _files(work / "a") == _files(work / "b"), "outputs differ"
        times: dict[str, list[float]] = {"local": [], "dask": []}
        for _ in range(args.repeats):
            times["local"].append(_timed(lambda: local(work / "a", queries)))
            times["dask"].append(_timed(lambda: dask(work / "b", queries)))
        lo, da = statistics.median(times["local"]), statistics.median(times["dask"])
        print(
            f"## {len(queries)} files, universe of {tok.universe.n_regions:,} regions, "
            f"{args.workers} worker(s)\n"
        )
        print(f"LocalCluster start: {cluster_start:.2f} s; universe build: {build:.2f} s\n")
        print("| engine | median s | min..max |\n|---|---|---|")
        for name, values in times.items():
            print(f"| {name} | {statistics.median(values):.3f} | "
                  f"{min(values):.3f}..{max(values):.3f} |")  # fmt: skip
        print(f"\nDask / local: {da / lo:.2f}x (target <= 1.15)\n")
        _whole_commands(data, queries, work, engine, args)

        # shipping the universe: pickled state vs built from the path on each worker
        from gtok.batch.engine import Task, as_state

        def ship(task: Task) -> float:
            run = DaskEngine(engine.client).run(task, [0, 1], lambda k: (k,))
            return _timed(lambda: list(run))

        shipped = [ship(Task(_state_size, as_state, (tok,))) for _ in range(args.repeats)]
        built = [
            ship(Task(_state_size, gtok.Tokenizer, (str(data / "universe_1m.bed"),)))
            for _ in range(args.repeats)
        ]
        print("## Universe to the workers (2 tasks, state made once per worker)\n")
        print(f"- the tokenizer, scattered to the workers: {statistics.median(shipped):.3f} s")
        print(f"- each worker builds it from the path: {statistics.median(built):.3f} s\n")

        # the floor: what Dask costs with no work at all (200 keys, the same groups)
        def floor(state: object) -> float:
            run = DaskEngine(engine.client).run(
                Task(_state_size if state is tok else _key, as_state, (state,)),
                list(range(len(queries))),
                lambda k: (k,),
            )
            return _timed(lambda: list(run))

        with_tok = statistics.median(floor(tok) for _ in range(args.repeats))
        small = statistics.median(floor(None) for _ in range(args.repeats))
        print(f"## Dask's floor: {len(queries)} keys of no work, grouped as above\n")
        print(f"- with the tokenizer as state: {with_tok:.3f} s; a small state: {small:.3f} s\n")

        print("## Tiny inputs (one region each): per-input overhead\n")
        print("| inputs | local s | dask s | dask, 1 input per task s | overhead per input |")
        print("|---|---|---|---|---|")
        for n in (int(x) for x in args.tiny.split(",")):
            tiny = _tiny_inputs(work / f"tiny{n}", n)
            reps = max(1, min(args.repeats, 3))
            lt = statistics.median(_timed(lambda: local(work / "tl", tiny)) for _ in range(reps))  # noqa: B023
            dt = statistics.median(_timed(lambda: dask(work / "td", tiny)) for _ in range(reps))  # noqa: B023
            one = _timed(lambda: dask(work / "t1", tiny, group=1)) if n <= 2000 else float("nan")  # noqa: B023
            print(f"| {n:,} | {lt:.2f} | {dt:.2f} | {one:.2f} | "
                  f"{1e3 * (dt - lt) / n:.2f} ms |")  # fmt: skip
    finally:
        engine.close()
    try:
        if args.ray:
            _ray_engine(tok, queries, work, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nload average after: {os.getloadavg()}", file=sys.stderr)
    return 0


def _ray_engine(tok, queries: list[str], work: Path, args) -> None:
    """The 200 files on the Ray engine (a local Ray of N CPUs, started after the Dask
    cluster is closed, so the two never share the machine) against the local pool."""
    import gtok
    from gtok.batch.ray_engine import RayEngine

    # (Ray's workers put the driver's working folder first on their path: from the
    # repository root they would import the source tree, not the installed package)
    here = os.getcwd()
    queries = [os.path.abspath(q) for q in queries]
    os.chdir(work)
    t = time.perf_counter()
    ray = RayEngine.local(args.workers)
    start = time.perf_counter() - t
    try:
        runs = {
            "local": lambda out: gtok.pretokenize(tok, queries, out, jobs=args.workers),
            "ray": lambda out: gtok.pretokenize(tok, queries, out, engine=RayEngine()),
        }
        for name, run in runs.items():  # (a first run of each, not timed)
            assert run(work / f"ray-{name}").ok
        assert _files(work / "ray-local") == _files(work / "ray-ray"), "outputs differ"
        medians = _alternated(runs, work, "ray", args.repeats)
    finally:
        ray.close()
        os.chdir(here)
    lo, ra = medians["local"], medians["ray"]
    print(f"## The Ray engine ({args.workers} CPUs; Ray's start {start:.1f} s)\n")
    print(f"- local {lo:.3f} s, Ray {ra:.3f} s: {ra / lo:.2f}x\n")


def _whole_commands(data: Path, queries: list[str], work: Path, engine, args) -> None:
    """The same job as whole ``gtok tokenize`` commands, as a user runs them: ``-j N`` vs
    ``--engine dask --address`` this cluster (each a new process: interpreter, imports,
    universe; the Dask one also imports ``distributed`` and connects)."""
    import subprocess

    # (absolute paths, run from the work folder: `python -m gtok` from the repository root
    # would import the source tree, not the installed package)
    universe = os.path.abspath(data / "universe_1m.bed")
    inputs = [os.path.abspath(q) for q in queries]
    base = [sys.executable, "-m", "gtok", "tokenize", universe, *inputs, "-q", "-o"]
    options = {
        "local": ["-j", str(args.workers)],
        "dask": ["--engine", "dask", "--address", engine.client.scheduler.address],
    }

    def command(extra: list[str]):
        return lambda out: subprocess.run([*base, str(out), *extra], check=True, cwd=work)

    runs = {name: command(extra) for name, extra in options.items()}
    medians = _alternated(runs, work, "cli", args.repeats)
    assert _files(work / "cli-local") == _files(work / "cli-dask"), "outputs differ"
    imported = _timed(lambda: subprocess.run([sys.executable, "-c", "import distributed"]))
    lo, da = medians["local"], medians["dask"]
    print("## The same as whole commands (`gtok tokenize ... -j N` vs `--engine dask --address`)\n")
    print(f"- local {lo:.3f} s, Dask {da:.3f} s: {da / lo:.2f}x "
          f"(`python -c 'import distributed'` alone: {imported:.2f} s)\n")  # fmt: skip


def _state_size(tok, key: int) -> int:
    return tok.vocab_size + key


def _key(state, key: int) -> int:
    return key


if __name__ == "__main__":
    sys.exit(main())
