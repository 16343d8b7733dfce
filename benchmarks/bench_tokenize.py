"""Benchmark gtok against gtars 0.10 on the same synthetic data, in one run.

What is measured (data from :mod:`datagen`, generated on first use)
-------------------------------------------------------------------
1. **Building a tokenizer** for ``universe_1m.bed`` (1 M regions) and ``universe_tiling_1kb.bed``
   (~3.1 M regions). Every run happens in a fresh subprocess, so one library's allocations never
   count against the other's and every run starts cold. Reported: constructor wall time, and the
   growth of the process's resident memory (``VmRSS`` in ``/proc/self/status``) from just after
   importing the library to just after the tokenizer has tokenized a one-region probe file (so
   structures built lazily on first use are counted too), in MiB and in bytes per universe
   region; plus the peak growth (``VmHWM``, reset after import via ``/proc/self/clear_refs``).
2. **Tokenizing one file from its path**: ``queries/query_0000.bed`` (53,000 peaks, BED3), against
   both universes (4x ``--repeats`` runs: it is cheap and noisy). Reported: milliseconds (wall and
   CPU) and million regions per second.
3. **Tokenizing all N query files from their paths**, sequentially on one core, against
   ``universe_1m``. The files mix BED3, BED6 and narrowPeak, 5 % gzip-compressed.

Each figure is the median of ``--repeats`` runs (default 5); wall time is reported with the
process's
CPU time next to it (on a busy machine the wall time includes waiting for the CPU; the CPU time
mostly does not). Ratios are gtars/gtok, so a ratio above
1 means gtok is faster or smaller. Before timing, every file that is timed is tokenized once by both
libraries and the ids are compared; any difference aborts the run (exit status 3). By default the
whole benchmark (and the build subprocesses) is pinned to one CPU, so every figure is single-core.

The APIs timed are each library's documented path-in, ids-out call:

* gtars: ``Tokenizer(universe)(path)["input_ids"]`` (a Python list);
* gtok:  ``Tokenizer(universe).tokenize(path).ids`` (a NumPy uint32 array).

If one library cannot be imported the other is still measured and its column shows "n/a".

Usage (from the repository root; the checkout's ``gtok`` is put first on ``sys.path``, so run it
with an interpreter that has gtars installed and gtok's extensions built in place)::

    python benchmarks/bench_tokenize.py [--data benchmarks/data] [--repeats 5] [--quick]
                                        [--libs gtars,gtok] [--sections build,single,all]
                                        [--json results.json]

Results go to stdout as Markdown (paste into BENCHMARKS.md); progress goes to stderr.
The data folder (default ``benchmarks/data``, ~550 MB) must be git-ignored.
"""

from __future__ import annotations

import argparse
import gc
import importlib
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
sys.path.insert(1, str(REPO))  # benchmark this checkout's gtok

import numpy as np  # noqa: E402

import datagen  # noqa: E402

LIBS = ("gtars", "gtok")
SECTIONS = ("build", "single", "all")
UNIVERSES = ("universe_1m", "universe_tiling_1kb")
PROBE_NAME = "bench_probe_1region.bed"
MISMATCH_EXIT = 3
#: A single-file run is cheap and noisy, so it gets this many runs per ``--repeats``.
SINGLE_FILE_RUNS_PER_REPEAT = 4


# --------------------------------------------------------------------------------------------
# Libraries
# --------------------------------------------------------------------------------------------


class LibUnavailable(RuntimeError):
    """The library cannot be imported or lacks the API the benchmark times."""


class Lib:
    """One library under test: how to build a tokenizer and tokenize a path with it."""

    def __init__(self, name: str):
        self.name = name
        if name == "gtars":
            try:
                from gtars.tokenizers import Tokenizer
            except ImportError as exc:
                raise LibUnavailable(
                    f"gtars is not importable ({exc}); install it with `pip install gtars==0.10.0`"
                ) from exc
            from importlib.metadata import version

            self.version = version("gtars")
            self.where = str(Path(importlib.import_module("gtars").__file__).parent)
            self.build = Tokenizer
            self.tokenize = lambda tok, path: tok(path)["input_ids"]
        elif name == "gtok":
            try:
                gtok = importlib.import_module("gtok")
            except ImportError as exc:
                raise LibUnavailable(
                    f"gtok is not importable ({exc}); build it in place with "
                    "`pip install -e .` or `python setup.py build_ext -i`"
                ) from exc
            if not hasattr(gtok, "Tokenizer"):
                raise LibUnavailable(
                    f"gtok {getattr(gtok, '__version__', '?')} at "
                    f"{gtok.__file__} has no Tokenizer yet"
                )
            self.version = getattr(gtok, "__version__", "?")
            self.where = str(Path(gtok.__file__).parent)
            self.build = gtok.Tokenizer
            self.tokenize = lambda tok, path: tok.tokenize(path).ids
        else:
            raise ValueError(name)


def drop_lib(libs: dict, missing: dict, name: str, why: str) -> None:
    """Stop measuring a library that failed, and say so loudly (the other one carries on)."""
    libs.pop(name, None)
    missing[name] = f"failed: {why}"
    log(f"ERROR: {name} failed and is dropped from the rest of the run:\n{why}")


def guarded(libs: dict, missing: dict, name: str, fn, *args):
    """``fn(*args)``, or ``None`` after dropping ``name`` if it raises."""
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - any failure of the library under test
        drop_lib(libs, missing, name, f"{type(exc).__name__}: {exc}")
        return None


def load_libs(names: list[str]) -> tuple[dict[str, Lib], dict[str, str]]:
    libs, missing = {}, {}
    for name in names:
        try:
            libs[name] = Lib(name)
        except LibUnavailable as exc:
            missing[name] = str(exc)
    return libs, missing


# --------------------------------------------------------------------------------------------
# Machine and process information
# --------------------------------------------------------------------------------------------


def proc_status_kib(field: str) -> int:
    """A ``/proc/self/status`` memory field (``VmRSS``, ``VmHWM``) in KiB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def reset_peak_rss() -> bool:
    """Reset ``VmHWM`` to the current RSS (Linux >= 4.0); False if not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def machine_info() -> dict:
    cpu, sockets_cores = "unknown CPU", set()
    phys = core = None
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                key, _, val = line.partition(":")
                key, val = key.strip(), val.strip()
                if key == "model name":
                    cpu = val
                elif key == "physical id":
                    phys = val
                elif key == "core id":
                    core = val
                elif not key and phys is not None:
                    sockets_cores.add((phys, core))
                    phys = core = None
    except OSError:
        pass
    mem_gib = None
    try:
        with open("/proc/meminfo") as fh:
            mem_gib = int(fh.readline().split()[1]) / 2**20
    except (OSError, ValueError, IndexError):
        pass
    commit = None
    try:
        commit = (
            subprocess.run(
                ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout.strip()
            or None
        )
    except (OSError, subprocess.SubprocessError):
        pass
    return {
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "physical_cores": len(sockets_cores) or None,
        "mem_gib": mem_gib,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "repo_commit": commit,
        "loadavg": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }


# --------------------------------------------------------------------------------------------
# Build benchmark (one fresh subprocess per run)
# --------------------------------------------------------------------------------------------


def build_worker(lib_name: str, universe: str, probe: str) -> None:
    """Entry point of the subprocess: build one tokenizer, print one JSON line of measurements."""
    lib = Lib(lib_name)
    gc.collect()
    peak_ok = reset_peak_rss()
    rss0 = proc_status_kib("VmRSS")
    c0, t0 = time.process_time(), time.perf_counter()
    tok = lib.build(universe)
    t1, c1 = time.perf_counter(), time.process_time()
    rss_built = proc_status_kib("VmRSS")
    ids = lib.tokenize(tok, probe)
    del ids
    gc.collect()
    rss_used = proc_status_kib("VmRSS")
    hwm = proc_status_kib("VmHWM")
    print(
        json.dumps(
            {
                "seconds": t1 - t0,
                "cpu_seconds": c1 - c0,
                "rss_before_kib": rss0,
                "rss_built_kib": rss_built,
                "rss_used_kib": rss_used,
                "peak_kib": hwm if peak_ok else None,
            }
        )
    )
    del tok


def run_build_worker(lib_name: str, universe: str, probe: str) -> dict:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--_build-worker",
        lib_name,
        universe,
        probe,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(
            f"build worker for {lib_name} on {universe} failed "
            f"(exit {proc.returncode}):\n{proc.stderr.strip()}"
        )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bench_build(libs: dict[str, Lib], missing: dict, ds: dict, repeats: int, probe: str) -> dict:
    out: dict = {}
    for uname in UNIVERSES:
        runs: dict[str, list] = {name: [] for name in libs}
        for r in range(repeats):
            for name in list(libs):  # interleaved, so drift affects both libraries alike
                log(f"build {uname} with {name}: run {r + 1}/{repeats}")
                try:
                    runs[name].append(run_build_worker(name, ds[uname], probe))
                except RuntimeError as exc:
                    drop_lib(libs, missing, name, str(exc))
        n_regions = ds[uname + "_regions"]
        out[uname] = {}
        for name, rs in runs.items():
            if name not in libs:
                continue
            grow = statistics.median(x["rss_used_kib"] - x["rss_before_kib"] for x in rs)
            peaks = [x["peak_kib"] - x["rss_before_kib"] for x in rs if x["peak_kib"] is not None]
            out[uname][name] = {
                "seconds": statistics.median(x["seconds"] for x in rs),
                "cpu_seconds": statistics.median(x["cpu_seconds"] for x in rs),
                "rss_mib": grow / 1024,
                "bytes_per_region": grow * 1024 / n_regions,
                "peak_mib": statistics.median(peaks) / 1024 if peaks else None,
                "runs": rs,
            }
    return out


# --------------------------------------------------------------------------------------------
# Tokenization benchmarks (in this process)
# --------------------------------------------------------------------------------------------


def as_ids(ids) -> np.ndarray:
    return np.asarray(ids, dtype=np.int64)


def check_same(reference, candidate, what: str) -> None:
    """Abort the run if gtok's ids differ from gtars' ids."""
    a, b = as_ids(reference), as_ids(candidate)
    if a.shape == b.shape and np.array_equal(a, b):
        return
    n = min(a.size, b.size)
    diff = np.flatnonzero(a[:n] != b[:n])
    first = int(diff[0]) if diff.size else n
    lines = [
        "",
        "!" * 78,
        f"MISMATCH: gtok's ids differ from gtars' ids for {what}",
        f"  gtars: {a.size:,} ids, gtok: {b.size:,} ids; first difference at index {first:,}",
        f"  gtars[{first}:{first + 5}] = {a[first : first + 5].tolist()}",
        f"  gtok [{first}:{first + 5}] = {b[first : first + 5].tolist()}",
        "The benchmark is meaningless until gtok matches gtars token for token. Aborting.",
        "!" * 78,
    ]
    print("\n".join(lines), file=sys.stderr, flush=True)
    sys.exit(MISMATCH_EXIT)


def check_dtype(ids, warned: set) -> None:
    dtype = getattr(ids, "dtype", type(ids).__name__)
    if dtype != np.uint32 and "dtype" not in warned:
        warned.add("dtype")
        log(f"WARNING: gtok returned ids of type {dtype}, docs/semantics.md §5 says numpy uint32")


def time_call(fn, *args) -> tuple[float, float]:
    gc.collect()
    c0, t0 = time.process_time(), time.perf_counter()
    result = fn(*args)
    t1, c1 = time.perf_counter(), time.process_time()
    del result
    return t1 - t0, c1 - c0


def bench_single(libs: dict[str, Lib], missing: dict, toks: dict, ds: dict, repeats: int) -> dict:
    out: dict = {}
    path, n = ds["single"], ds["single_regions"]
    warned: set = set()
    for uname in UNIVERSES:
        first = {}
        for name in list(libs):
            ids = guarded(libs, missing, name, libs[name].tokenize, toks[uname][name], path)
            if ids is not None:
                first[name] = ids
        if not first:
            break
        if "gtars" in first and "gtok" in first:
            check_dtype(first["gtok"], warned)
            check_same(first["gtars"], first["gtok"], f"{path} against {uname}")
        n_ids = len(next(iter(first.values())))
        del first
        runs: dict[str, list] = {name: [] for name in libs}
        for _ in range(repeats * SINGLE_FILE_RUNS_PER_REPEAT):
            for name in libs:
                runs[name].append(time_call(libs[name].tokenize, toks[uname][name], path))
        out[uname] = {"path": path, "n_regions": n, "n_ids": n_ids}
        for name, rs in runs.items():
            sec = statistics.median(w for w, _ in rs)
            out[uname][name] = {
                "seconds": sec,
                "cpu_seconds": statistics.median(c for _, c in rs),
                "mregions_per_s": n / sec / 1e6,
                "runs": [w for w, _ in rs],
            }
        log(
            f"single file against {uname}: "
            + ", ".join(f"{name} {out[uname][name]['seconds'] * 1e3:.1f} ms" for name in libs)
        )
    return out


def read_all(paths: list[str]) -> int:
    total = 0
    for p in paths:
        with open(p, "rb") as fh:
            total += len(fh.read())
    return total


def tokenize_all(lib: Lib, tok, paths: list[str]) -> None:
    fn = lib.tokenize
    for p in paths:
        ids = fn(tok, p)
    del ids


def bench_all(
    libs: dict[str, Lib],
    missing: dict,
    toks: dict,
    ds: dict,
    repeats: int,
    uname: str = "universe_1m",
) -> dict:
    paths = ds["queries"]
    n, nbytes = sum(ds["query_regions"]), sum(ds["query_bytes"])
    # Warm the page cache and time a plain read of the same bytes as a floor.
    read_all(paths)
    read_s = statistics.median(time_call(read_all, paths)[0] for _ in range(3))
    n_ids = None
    if "gtars" in libs and "gtok" in libs:
        log(f"checking gtok == gtars on {len(paths)} files against {uname}")
        warned: set = set()
        n_ids = 0
        for p in paths:
            ref = guarded(libs, missing, "gtars", libs["gtars"].tokenize, toks[uname]["gtars"], p)
            got = guarded(libs, missing, "gtok", libs["gtok"].tokenize, toks[uname]["gtok"], p)
            if ref is None or got is None:
                n_ids = None
                break
            check_dtype(got, warned)
            check_same(ref, got, f"{p} against {uname}")
            n_ids += len(ref)
    runs: dict[str, list] = {name: [] for name in libs}
    for r in range(repeats):
        for name in libs:
            runs[name].append(time_call(tokenize_all, libs[name], toks[uname][name], paths))
            log(
                f"all {len(paths)} files against {uname} with {name}: run {r + 1}/{repeats}: "
                f"{runs[name][-1][0]:.2f} s"
            )
    out = {
        "universe": uname,
        "n_files": len(paths),
        "n_regions": n,
        "bytes": nbytes,
        "n_ids": n_ids,
        "read_seconds": read_s,
    }
    for name, rs in runs.items():
        sec = statistics.median(w for w, _ in rs)
        out[name] = {
            "seconds": sec,
            "cpu_seconds": statistics.median(c for _, c in rs),
            "mregions_per_s": n / sec / 1e6,
            "mb_per_s": nbytes / sec / 1e6,
            "runs": [w for w, _ in rs],
        }
    return out


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def _fmt(value, unit: str, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f} {unit}".strip()


def _runs(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"


def _ratio(res: dict, key: str) -> str:
    try:
        a, b = res["gtars"][key], res["gtok"][key]
    except KeyError:
        return "n/a"
    if a is None or b is None or b <= 0:
        return "n/a"
    return f"{a / b:.1f}x"


def _row(
    label: str,
    metric: str,
    res: dict,
    key: str,
    unit: str,
    digits: int,
    scale: float = 1.0,
    ratio: bool = True,
) -> str:
    cells = []
    for name in LIBS:
        v = res.get(name, {}).get(key)
        cells.append(_fmt(None if v is None else v * scale, unit, digits))
    return f"| {label} | {metric} | {cells[0]} | {cells[1]} | {_ratio(res, key) if ratio else ''} |"


def report(info: dict, versions: dict, missing: dict, ds: dict, args, results: dict) -> str:
    q = ds["params"]["queries"][: len(ds["queries"])]
    fmts = {f: sum(1 for x in q if x["format"] == f) for f in datagen.FORMATS}
    n_gz = sum(1 for x in q if x["gzip"])
    lines = ["## Tokenization: gtok vs gtars", ""]
    cores = f"{info['logical_cpus']} logical CPUs"
    if info["physical_cores"]:
        cores += f" ({info['physical_cores']} physical cores)"
    pin = (
        f", benchmark pinned to CPU {results['pinned_cpu']}"
        if results["pinned_cpu"] is not None
        else ", not pinned"
    )
    mem = f", {info['mem_gib']:.0f} GiB RAM" if info["mem_gib"] else ""
    lines.append(f"- Machine: {info['cpu']}, {cores}{mem}{pin}; {info['os']}")
    vers = [f"Python {info['python']}", f"NumPy {info['numpy']}"]
    for name in LIBS:
        if name in versions:
            extra = (
                f" (commit {info['repo_commit']})" if name == "gtok" and info["repo_commit"] else ""
            )
            vers.append(f"{name} {versions[name]}{extra}")
        else:
            vers.append(f"{name} not measured")
    lines.append("- Versions: " + ", ".join(vers))
    lines.append(
        f"- Data: `benchmarks/datagen.py` seed {ds['params']['seed']}: universes of "
        f"{ds['universe_1m_regions']:,} and {ds['universe_tiling_1kb_regions']:,} regions; "
        f"{len(q)} query files, {sum(ds['query_regions']):,} regions, "
        f"{sum(ds['query_bytes']) / 1e6:.0f} MB on disk ({fmts['bed3']} BED3, {fmts['bed6']} BED6, "
        f"{fmts['narrowPeak']} narrowPeak; {n_gz} gzip)"
    )
    measured = [n for n in LIBS if n in versions and n not in missing]
    checked = (
        "gtok's ids checked equal to gtars' for every timed file"
        if len(measured) == 2
        else "ids not cross-checked (one library only)"
    )
    lines.append(
        f"- Median of {_runs(args.repeats)}; ratio = gtars / gtok (above 1: gtok is "
        f"faster or smaller); {checked}."
    )
    if info.get("loadavg") is not None:
        lines.append(
            f"- Load average when the run started: {info['loadavg']:.2f} "
            "(other work on the machine skews the figures)"
        )
    for name, why in missing.items():
        last = why.strip().splitlines()[-1] if why.strip() else "unknown error"
        lines.append(f"- **{name} not measured**: {last}")
    header = ["", "| workload | metric | gtars | gtok | gtars/gtok |", "|---|---|---:|---:|---:|"]

    if "build" in results:
        lines += [
            "",
            "### Building a tokenizer",
            "",
            "Fresh process per run. Memory: growth of VmRSS from after the import to after "
            "the first (one-region) tokenization; peak: growth of VmHWM.",
        ]
        lines += header
        for uname in UNIVERSES:
            res = results["build"][uname]
            label = f"`{uname}.bed` ({ds[uname + '_regions']:,} regions)"
            lines.append(_row(label, "time", res, "seconds", "s", 3))
            lines.append(_row("", "CPU time", res, "cpu_seconds", "s", 3))
            lines.append(_row("", "memory", res, "rss_mib", "MiB", 1))
            lines.append(_row("", "bytes / region", res, "bytes_per_region", "B", 0))
            lines.append(_row("", "peak memory", res, "peak_mib", "MiB", 1))

    if "single" in results or "all" in results:
        lines += [
            "",
            "### Tokenizing from paths (one core)",
            "",
            "One tokenizer per library and universe, built once. Median of "
            f"{_runs(args.repeats * SINGLE_FILE_RUNS_PER_REPEAT)} for the single file, "
            f"{_runs(args.repeats)} for all files. Time is wall-clock; CPU time is the "
            "process's, which other load on the machine inflates less. Throughput is from "
            "the wall time.",
            "",
        ]
        lines += header[1:]
    if "single" in results:
        for uname in UNIVERSES:
            if uname not in results["single"]:
                continue
            res = results["single"][uname]
            label = f"one file, {res['n_regions']:,} peaks (`{Path(res['path']).name}`), `{uname}`"
            lines.append(_row(label, "time", res, "seconds", "ms", 1, scale=1e3))
            lines.append(_row("", "CPU time", res, "cpu_seconds", "ms", 1, scale=1e3))
            lines.append(
                _row("", "throughput", res, "mregions_per_s", "M regions/s", 2, ratio=False)
            )
    if "all" in results:
        res = results["all"]
        label = (
            f"all {res['n_files']} files ({res['n_regions'] / 1e6:.1f} M regions, "
            f"{res['bytes'] / 1e6:.0f} MB), `{res['universe']}`"
        )
        lines.append(_row(label, "time", res, "seconds", "s", 2))
        lines.append(_row("", "CPU time", res, "cpu_seconds", "s", 2))
        lines.append(_row("", "throughput", res, "mregions_per_s", "M regions/s", 2, ratio=False))
        lines.append(_row("", "input rate", res, "mb_per_s", "MB/s", 0, ratio=False))
        lines += [
            "",
            f"Reading the same {res['bytes'] / 1e6:.0f} MB with Python `open().read()` "
            f"(page cache warm) takes {res['read_seconds']:.2f} s.",
        ]
    cpu_notes = []
    for section in ("single", "all"):
        block = results.get(section)
        if not block:
            continue
        items = block.values() if section == "single" else [block]
        for item in items:
            for name in LIBS:
                r = item.get(name)
                if r and r["seconds"] > 0 and r["cpu_seconds"] / r["seconds"] > 1.1:
                    cpu_notes.append(
                        f"{name} used {r['cpu_seconds'] / r['seconds']:.1f} CPUs "
                        f"on average in '{section}'"
                    )
    if cpu_notes:
        lines += ["", "Note: " + "; ".join(cpu_notes) + "."]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def write_probe(data_dir: str) -> str:
    path = Path(data_dir) / PROBE_NAME
    if not path.is_file():
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(b"chr1\t1000000\t1001000\n")
        os.replace(tmp, path)
    return str(path)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description="Benchmark gtok against gtars 0.10 (build, one file, all files).",
        epilog="Results are printed as Markdown on stdout; progress on stderr.",
    )
    ap.add_argument(
        "--data",
        default=str(HERE / "data"),
        help="data folder, generated if incomplete (default: benchmarks/data)",
    )
    ap.add_argument(
        "--n-files",
        type=int,
        default=None,
        help="number of query files (default 200, or 20 with --quick)",
    )
    ap.add_argument("--seed", type=int, default=0, help="data seed (default 0)")
    ap.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="runs per measurement, median reported (default 5, or 2 with --quick)",
    )
    ap.add_argument("--quick", action="store_true", help="20 files and 2 repeats")
    ap.add_argument(
        "--libs",
        default="gtars,gtok",
        help="comma-separated libraries to measure (default gtars,gtok)",
    )
    ap.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help="comma-separated subset of build,single,all (default all three)",
    )
    ap.add_argument(
        "--no-pin", action="store_true", help="do not pin the benchmark to a single CPU"
    )
    ap.add_argument("--json", metavar="PATH", help="also write raw results (all runs) as JSON")
    args = ap.parse_args(argv)
    args.n_files = args.n_files or (20 if args.quick else 200)
    args.repeats = args.repeats or (2 if args.quick else 5)
    args.libs = [x.strip() for x in args.libs.split(",") if x.strip()]
    args.sections = [x.strip() for x in args.sections.split(",") if x.strip()]
    for name in args.libs:
        if name not in LIBS:
            ap.error(f"unknown library {name!r} (choose from {', '.join(LIBS)})")
    for s in args.sections:
        if s not in SECTIONS:
            ap.error(f"unknown section {s!r} (choose from {', '.join(SECTIONS)})")
    if args.repeats < 1 or args.n_files < 1:
        ap.error("--repeats and --n-files must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--_build-worker"]:
        build_worker(*argv[1:4])
        return 0
    args = parse_args(argv)

    libs, missing = load_libs(args.libs)
    for name, why in missing.items():
        log(f"{name} will not be measured: {why}")
    if not libs:
        log("neither library is available: nothing to measure")
        return 2
    if len(libs) < 2:
        log("only one library available: ids are not cross-checked and ratios are n/a")

    versions = {name: lib.version for name, lib in libs.items()}
    info = machine_info()
    pinned = None
    if not args.no_pin and hasattr(os, "sched_setaffinity"):
        pinned = max(os.sched_getaffinity(0))  # CPU 0 tends to get more interrupts
        os.sched_setaffinity(0, {pinned})  # inherited by the build subprocesses

    ds = datagen.ensure_dataset(args.data, n_files=args.n_files, seed=args.seed)
    probe = write_probe(ds["dir"])
    results: dict = {"pinned_cpu": pinned}

    if "build" in args.sections:
        results["build"] = bench_build(libs, missing, ds, args.repeats, probe)

    if "single" in args.sections or "all" in args.sections:
        toks: dict = {}
        for uname in UNIVERSES if "single" in args.sections else ("universe_1m",):
            toks[uname] = {}
            for name in list(libs):
                log(f"building {name} tokenizer for {uname}")
                tok = guarded(libs, missing, name, libs[name].build, ds[uname])
                if tok is not None:
                    toks[uname][name] = tok
        if "single" in args.sections and libs:
            results["single"] = bench_single(libs, missing, toks, ds, args.repeats)
        if "all" in args.sections and libs:
            results["all"] = bench_all(libs, missing, toks, ds, args.repeats)
        del toks

    text = report(info, versions, missing, ds, args, results)
    print(text, flush=True)
    if args.json:
        payload = {
            "machine": info,
            "versions": versions,
            "missing": missing,
            "args": {k: v for k, v in vars(args).items()},
            "dataset": {k: v for k, v in ds.items() if k != "params"},
            "results": results,
        }
        Path(args.json).write_text(json.dumps(payload, indent=1, default=str))
        log(f"raw results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
