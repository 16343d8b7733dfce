"""Benchmark batch pretokenization end to end: ``gtok tokenize`` against a gtars loop.

What is measured
----------------
Tokenizing the N query files of :mod:`datagen` (default 200 files, ~10 M regions, BED3/BED6/
narrowPeak, 5 % gzip) against ``universe_1m.bed`` (1 M regions) and writing one ``.gtok``
file per input, **from process start to process exit** (so interpreter start-up, imports,
building the tokenizer, starting workers and writing every file all count). Each run is a
fresh subprocess; its output folder is emptied before every run.

Four ways of doing the job:

* ``gtars, 1 process``: the loop a gtars user writes::

      tok = gtars.tokenizers.Tokenizer(universe)
      for path in paths:
          gtars.utils.write_tokens_to_gtok(out_for(path), tok(path)["input_ids"])

* ``gtars, Pool(2)``: the same work in a 2-process ``multiprocessing.Pool`` (the tokenizer is
  built once in the parent and inherited by the forked workers, the cheapest way to do it);
* ``gtok -j 1`` and ``gtok -j 2``: ``python -m gtok tokenize UNIVERSE --from-file LIST -o OUT``.

Reported per way: the median (and min..max) wall time of ``--repeats`` runs, the CPU time
(user + system, all processes), regions per second, and the peak memory of all processes
together, from one extra run sampled every 20 ms: the sum of the processes' PSS (proportional
set size: pages shared by forked workers count once, split between them), the sum of their
RSS (shared pages counted in every process), and the sum of each process's own peak (VmHWM,
an upper bound). The memory run is separate so that sampling does not slow the timed runs.

Before timing, the outputs of every way are compared byte for byte (all files); any
difference aborts the run with exit status 3.

Targets (printed with the results): gtok -j 1 at least 10x faster than gtars in 1 process;
gtok -j 2 at least 1.6x faster than gtok -j 1; gtok's peak memory below gtars'.

The machine may be shared: the load average before and after is printed, and on a busy
machine the -j 2 figures in particular say more about the other load than about gtok.

Usage (from the repository root, with gtok built in place, e.g. ``pip install -e .``, and
``gtars==0.10.0`` installed)::

    python benchmarks/bench_batch.py [--data benchmarks/data] [--repeats 3] [--n-files 200]
                                     [--ways gtars1,gtars2,gtok1,gtok2] [--json out.json]

Results go to stdout as Markdown; progress to stderr.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
MISMATCH_EXIT = 3
SAMPLE_EVERY = 0.020
WAYS = {
    "gtars1": "gtars, 1 process",
    "gtars2": "gtars, `multiprocessing.Pool(2)`",
    "gtok1": "`gtok tokenize -j 1`",
    "gtok2": "`gtok tokenize -j 2`",
}


def log(msg: str) -> None:
    print(f"[bench_batch] {msg}", file=sys.stderr, flush=True)


def out_name(path: str) -> str:
    """``query_0007.narrowPeak.gz`` -> ``query_0007.gtok`` (gtok's naming rule)."""
    name = os.path.basename(path)
    if name.lower().endswith(".gz"):
        name = name[:-3]
    return os.path.splitext(name)[0] + ".gtok"


# --------------------------------------------------------------------------------------------
# The gtars runs (this script, in a subprocess)
# --------------------------------------------------------------------------------------------

_GTARS_TOK = None
_GTARS_OUT = None


def _gtars_one(path: str) -> int:
    from gtars.utils import write_tokens_to_gtok

    ids = _GTARS_TOK(path)["input_ids"]
    write_tokens_to_gtok(os.path.join(_GTARS_OUT, out_name(path)), ids)
    return len(ids)


def gtars_main(universe: str, listing: str, out: str, procs: int) -> None:
    global _GTARS_TOK, _GTARS_OUT
    from gtars.tokenizers import Tokenizer

    with open(listing) as f:
        paths = [line.strip() for line in f if line.strip()]
    _GTARS_OUT = out
    os.makedirs(out, exist_ok=True)
    _GTARS_TOK = Tokenizer(universe)
    if procs == 1:
        for path in paths:
            _gtars_one(path)
    else:
        import multiprocessing

        with multiprocessing.get_context("fork").Pool(procs) as pool:
            for _ in pool.imap_unordered(_gtars_one, paths, chunksize=2):
                pass


# --------------------------------------------------------------------------------------------
# Running and sampling a process tree
# --------------------------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    kids = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                kids += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return kids


def _tree(pid: int) -> list[int]:
    todo, seen = [pid], []
    while todo:
        p = todo.pop()
        seen.append(p)
        todo += _children(p)
    return seen


def _status_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) in KiB; (0, 0) for a process gone or a zombie."""
    rss = hwm = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
    except (OSError, ValueError):
        pass
    return rss, hwm


def _pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class TreeSampler(threading.Thread):
    """Samples a process and its descendants every ``SAMPLE_EVERY`` seconds."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.stop = threading.Event()
        self.peak_rss = self.peak_pss = 0
        self.hwm: dict[int, int] = {}
        self.max_procs = 0
        self.samples = 0

    def run(self) -> None:
        while not self.stop.is_set():
            pids = _tree(self.pid)
            rss_sum = pss_sum = 0
            for p in pids:
                rss, hwm = _status_kib(p)
                rss_sum += rss
                pss_sum += _pss_kib(p) if rss else 0
                if hwm:
                    self.hwm[p] = max(self.hwm.get(p, 0), hwm)
            self.peak_rss = max(self.peak_rss, rss_sum)
            self.peak_pss = max(self.peak_pss, pss_sum)
            self.max_procs = max(self.max_procs, len(pids))
            self.samples += 1
            self.stop.wait(SAMPLE_EVERY)


def run_once(cmd: list[str], env: dict, sample: bool) -> dict:
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    sampler = None
    if sample:
        sampler = TreeSampler(proc.pid)
        sampler.start()
    _, err = proc.communicate()
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if sampler is not None:
        sampler.stop.set()
        sampler.join()
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} failed (exit {proc.returncode}):\n"
            f"{err.decode(errors='replace')[-3000:]}"
        )
    out = {
        "seconds": wall,
        "cpu_seconds": (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime),
    }
    if sampler is not None:
        out.update(
            peak_pss_mib=sampler.peak_pss / 1024,
            peak_rss_mib=sampler.peak_rss / 1024,
            hwm_sum_mib=sum(sampler.hwm.values()) / 1024,
            processes=sampler.max_procs,
            samples=sampler.samples,
        )
    return out


# --------------------------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------------------------


def commands(way: str, universe: str, listing: str, out: str) -> list[str]:
    if way.startswith("gtok"):
        return [
            sys.executable,
            "-m",
            "gtok",
            "tokenize",
            universe,
            "--from-file",
            listing,
            "-o",
            out,
            "-j",
            way[-1],
            "-q",
        ]
    return [
        sys.executable,
        str(Path(__file__).resolve()),
        "--_gtars",
        universe,
        listing,
        out,
        way[-1],
    ]


def compare_outputs(ref_dir: Path, other_dir: Path, names: list[str], what: str) -> None:
    for name in names:
        a, b = ref_dir / name, other_dir / name
        if not b.is_file() or a.read_bytes() != b.read_bytes():
            print(
                f"\nMISMATCH: {what}: {name} differs from the reference output "
                f"({a} vs {b}); the benchmark is meaningless until they agree.",
                file=sys.stderr,
            )
            sys.exit(MISMATCH_EXIT)


def median_runs(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(HERE / "data"), help="dataset folder (datagen)")
    ap.add_argument("--n-files", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--ways", default=",".join(WAYS), help="subset of " + ",".join(WAYS))
    ap.add_argument("--work", default=None, help="folder for outputs (default: a temp dir)")
    ap.add_argument("--no-memory", action="store_true", help="skip the sampled memory runs")
    ap.add_argument("--json", help="also write the raw results here")
    ap.add_argument("--_gtars", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._gtars:
        universe, listing, out, procs = args._gtars
        gtars_main(universe, listing, out, int(procs))
        return 0

    sys.path.insert(0, str(HERE))
    import datagen  # here, so the gtars subprocesses do not pay for its imports

    ways = [w for w in args.ways.split(",") if w]
    unknown = set(ways) - set(WAYS)
    if unknown:
        ap.error(f"unknown ways: {', '.join(sorted(unknown))}")
    ds = datagen.ensure_dataset(args.data, n_files=args.n_files)
    universe, paths = ds["universe_1m"], ds["queries"]
    n_regions = sum(ds["query_regions"])
    work = Path(args.work or tempfile.mkdtemp(prefix="gtok-bench-batch-"))
    work.mkdir(parents=True, exist_ok=True)
    listing = work / "inputs.txt"
    listing.write_text("".join(p + "\n" for p in paths))
    names = sorted(out_name(p) for p in paths)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""
    )
    # An installed gtok has its bytecode (pip compiles it); this checkout may not, and with
    # PYTHONDONTWRITEBYTECODE set every run would compile gtok's modules again (~40 ms of
    # each process's start-up): compile them once, as an install does.
    compileall.compile_dir(str(REPO / "gtok"), quiet=1)
    load_before = os.getloadavg()

    # warm the page cache, then check every way writes the same bytes (first run, untimed)
    for p in paths:
        with open(p, "rb") as f:
            f.read()
    ref_dir = None
    for way in ways:
        out = work / f"check-{way}"
        shutil.rmtree(out, ignore_errors=True)
        log(f"checking {way}")
        run_once(commands(way, universe, str(listing), str(out)), env, sample=False)
        if ref_dir is None:
            ref_dir = out
            missing = [n for n in names if not (out / n).is_file()]
            if missing:
                log(f"{way} wrote no {missing[0]}")
                return MISMATCH_EXIT
        else:
            compare_outputs(ref_dir, out, names, f"{way} vs {ways[0]}")
    log(f"all ways wrote identical bytes for all {len(names)} files")
    for way in ways:
        shutil.rmtree(work / f"check-{way}", ignore_errors=True)

    results: dict = {way: {"runs": []} for way in ways}
    out = work / "out"
    for r in range(args.repeats):
        for way in ways:  # interleaved, so drift in the machine's load hits all alike
            shutil.rmtree(out, ignore_errors=True)
            res = run_once(commands(way, universe, str(listing), str(out)), env, sample=False)
            results[way]["runs"].append(res)
            log(
                f"{way} run {r + 1}/{args.repeats}: {res['seconds']:.2f} s "
                f"(CPU {res['cpu_seconds']:.2f} s)"
            )
    if not args.no_memory:
        for way in ways:
            shutil.rmtree(out, ignore_errors=True)
            res = run_once(commands(way, universe, str(listing), str(out)), env, sample=True)
            results[way]["memory"] = res
            log(
                f"{way} memory run: peak PSS {res['peak_pss_mib']:.0f} MiB, "
                f"RSS {res['peak_rss_mib']:.0f} MiB ({res['samples']} samples)"
            )
    shutil.rmtree(out, ignore_errors=True)
    load_after = os.getloadavg()
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)

    for way in ways:
        runs = results[way]["runs"]
        results[way].update(
            seconds=median_runs(runs, "seconds"),
            cpu_seconds=median_runs(runs, "cpu_seconds"),
            min_seconds=min(r["seconds"] for r in runs),
            max_seconds=max(r["seconds"] for r in runs),
        )
    print(report(results, ways, ds, n_regions, args, load_before, load_after))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "results": results,
                    "n_regions": n_regions,
                    "n_files": len(paths),
                    "loadavg_before": load_before,
                    "loadavg_after": load_after,
                },
                f,
                indent=1,
            )
    return 0


def report(
    results: dict, ways: list[str], ds: dict, n_regions: int, args, load_before, load_after
) -> str:
    try:
        from importlib.metadata import version

        gtars_version = version("gtars")
    except Exception:  # noqa: BLE001
        gtars_version = "?"
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    base = results.get("gtars1")
    lines = [
        "## Batch pretokenization end to end: `gtok tokenize` vs a gtars loop",
        "",
        f"- Machine: {cpu}, {os.cpu_count()} logical CPUs; {platform.system()} "
        f"{platform.release()}; Python {platform.python_version()}, gtars {gtars_version}",
        f"- Load average (1 min) before / after: {load_before[0]:.2f} / "
        f"{load_after[0]:.2f}. **The machine is shared**: other processes compete for "
        "the CPUs, which skews wall times, the parallel (2-process) ones most.",
        f"- Data: `benchmarks/datagen.py` seed {ds['params']['seed']}: "
        f"{len(ds['queries'])} files, {n_regions:,} regions, "
        f"{sum(ds['query_bytes']) / 1e6:.0f} MB, against `universe_1m.bed` "
        f"({ds['universe_1m_regions']:,} regions); one `.gtok` written per file.",
        f"- Time: process start to exit, median of {args.repeats} runs (min..max); CPU: "
        "user + system of all its processes (median). Outputs of all ways checked "
        "byte-identical.",
        "- Memory: one extra run sampled every 20 ms; peak of the summed PSS of the "
        "process tree (shared pages split between processes), of the summed RSS (shared "
        "pages counted in each), and the sum of each process's own peak (VmHWM).",
        "",
        "| way | time | CPU | regions/s | speed vs gtars 1 proc | peak PSS | peak RSS sum "
        "| VmHWM sum |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for way in ways:
        r = results[way]
        speed = f"{base['seconds'] / r['seconds']:.1f}x" if base else "n/a"
        mem = r.get("memory")
        cells = (
            [
                f"{mem['peak_pss_mib']:.0f} MiB",
                f"{mem['peak_rss_mib']:.0f} MiB",
                f"{mem['hwm_sum_mib']:.0f} MiB",
            ]
            if mem
            else ["n/a"] * 3
        )
        lines.append(
            f"| {WAYS[way]} | {r['seconds']:.2f} s ({r['min_seconds']:.2f}..{r['max_seconds']:.2f})"
            f" | {r['cpu_seconds']:.2f} s | {n_regions / r['seconds'] / 1e6:.2f} M "
            f"| {speed} | " + " | ".join(cells) + " |"
        )

    def ratio(a: str, b: str, key: str = "seconds") -> float | None:
        if a in results and b in results:
            return results[a][key] / results[b][key]
        return None

    def mem(way: str) -> float | None:
        m = results.get(way, {}).get("memory")
        return m["peak_pss_mib"] if m else None

    checks = []
    r = ratio("gtars1", "gtok1")
    if r is not None:
        checks.append(("gtok -j 1 vs gtars, 1 process (time)", f"{r:.1f}x", ">= 10x", r >= 10))
    r = ratio("gtok1", "gtok2")
    if r is not None:
        checks.append(("gtok -j 2 vs gtok -j 1 (time)", f"{r:.2f}x", ">= 1.6x", r >= 1.6))
    for g, t in (("gtars1", "gtok1"), ("gtars2", "gtok2")):
        if mem(g) is not None and mem(t) is not None:
            checks.append(
                (
                    f"peak PSS: {WAYS[t]} vs {WAYS[g]}",
                    f"{mem(t):.0f} vs {mem(g):.0f} MiB",
                    "below",
                    mem(t) < mem(g),
                )
            )
    if checks:
        lines += ["", "| target | measured | wanted | met |", "|---|---:|---:|:---:|"]
        for name, got, want, ok in checks:
            lines.append(f"| {name} | {got} | {want} | {'yes' if ok else '**no**'} |")
    # The runs are interleaved (one of each way per round), so the ratio of two ways within
    # a round compares runs made seconds apart: less exposed to the machine's drift than
    # the ratio of the medians above (which is what the targets are checked on).
    paired = []
    for a, b in (("gtars1", "gtok1"), ("gtok1", "gtok2"), ("gtars2", "gtok2")):
        if a in results and b in results:
            rs = sorted(
                x["seconds"] / y["seconds"] for x, y in zip(results[a]["runs"], results[b]["runs"])
            )
            paired.append(
                f"{WAYS[a]} / {WAYS[b]}: {statistics.median(rs):.2f}x ({rs[0]:.2f}..{rs[-1]:.2f})"
            )
    if paired:
        lines += ["", "Per-round ratios (median, min..max): " + "; ".join(paired) + "."]
    if _editable_install():
        lines += [
            "",
            "Note: gtok is installed in editable mode in this environment; its "
            "import hook adds ~10 ms to the start of every process measured here "
            "(gtok's and gtars'). A regular install (or none: this script puts the "
            "checkout on PYTHONPATH) does not.",
        ]
    return "\n".join(lines)


def _editable_install() -> bool:
    """Whether this interpreter loaded an editable-install hook for gtok at start-up (as
    every process started from it does)."""
    return any(name.startswith("__editable___gtok") for name in sys.modules)


if __name__ == "__main__":
    sys.exit(main())
