"""Benchmark: writing and reading v1 ``.gtok`` files with gtok, gtars and plain NumPy.

What is measured
----------------
``--n-files`` (200) token files of about ``--n-ids`` (50,000) ids each, generated with a fixed
seed: even-numbered files hold ids <= 65,535 (stored as uint16), odd-numbered files ids up to
~1.2 M (stored as uint32), like pretokenized peak files against a small and a 1M-region universe.
The ids start as ``np.uint32`` arrays (what ``Tokenizer.tokenize(...).ids`` returns).

Writing (all files, into an emptied folder, so every writer creates new files):

* ``gtok write_gtok(path, array)`` -- from the uint32 arrays;
* ``gtok write_gtok(path, list)`` -- from Python lists (made outside the timed region);
* ``gtars write_tokens_to_gtok(path, list)`` -- gtars needs a list: made outside the timed
  region; ``... incl. .tolist()`` also times the conversion from the array;
* ``numpy header + tofile`` -- ``open``, write ``GTOK`` + width flag (from ``arr.max()``),
  ``arr.astype(width).tofile(f)``: what a careful hand-written writer does (not atomic).

Reading (all files, page cache warm: the files were just written), each as open + view/load +
one full pass over the values (``.sum()``; ``sum(list)`` for gtars' list):

* ``gtok read_gtok(path).sum()``;
* ``gtok open_gtok`` -- ``with open_gtok(p) as f: f.tokens.sum()``;
* ``gtars sum(read_tokens_from_gtok(path))``;
* ``numpy np.fromfile(path, dtype, offset=5).sum()`` -- with the width known in advance (a
  lower bound: a real reader must parse the header);
* the same two without the pass (``no pass`` rows), to split open/map from the arithmetic.

Each figure is the median of ``--repeats`` (5) runs over all files (the minimum wall time and
the median CPU time of this process are shown too); the methods run round-robin within each
repeat so drift hits all of them alike. Ratios are ``other / gtok`` (above 1 means gtok is
faster), on wall-clock time unless ``--clock cpu``. Run it on a quiet machine: on a 2-core box,
another job's compiler doubles some wall-clock figures (the script warns when the load average
says the machine was busy).

Usage::

    python benchmarks/bench_io.py [--n-files 200] [--n-ids 50000] [--repeats 5] [--seed 0]
                                  [--dir DIR]

The output is a markdown block to paste into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import numpy as np

from gtok import open_gtok, read_gtok, write_gtok

try:
    from gtars.utils import read_tokens_from_gtok, write_tokens_to_gtok
except ImportError:  # pragma: no cover - the bench extra installs it
    read_tokens_from_gtok = write_tokens_to_gtok = None

U16_MAX = 0xFFFF


def make_ids(n_files: int, n_ids: int, seed: int) -> list[np.ndarray]:
    """Deterministic id arrays: even files uint16-range, odd files beyond uint16."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n_files):
        n = int(rng.integers(int(n_ids * 0.8), int(n_ids * 1.2) + 1))
        hi = U16_MAX + 1 if i % 2 == 0 else 1_200_000
        ids = rng.integers(0, hi, size=n, dtype=np.uint32)
        if i % 2 == 1:
            ids[rng.integers(0, n)] = hi - 1  # make sure the file is uint32
        out.append(ids)
    return out


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return f"{cpu}, {os.cpu_count()} logical cores ({usable} usable)"


def version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def time_once(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall-clock, process CPU) seconds for one call of ``fn``."""
    gc.collect()
    c0, t0 = time.process_time(), time.perf_counter()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def load_average() -> float | None:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n-files", type=int, default=200)
    ap.add_argument("--n-ids", type=int, default=50_000, help="mean ids per file (+-20 %%)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dir", help="work folder (default: a temporary folder, removed after)")
    ap.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="clock the ratios use: wall (default) or this process's CPU time, "
        "steadier on a machine shared with other jobs",
    )
    args = ap.parse_args(argv)
    load_before = load_average()

    have_gtars = write_tokens_to_gtok is not None
    arrays = make_ids(args.n_files, args.n_ids, args.seed)
    lists = [a.tolist() for a in arrays]
    n_ids = sum(a.size for a in arrays)
    n_u16 = sum(int(a.max()) <= U16_MAX for a in arrays)
    expected_total = sum(int(a.sum(dtype=np.uint64)) for a in arrays)

    root = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="gtok-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    names = [f"{i:04d}.gtok" for i in range(args.n_files)]

    def folder(tag: str) -> Path:
        return root / tag

    def fresh(tag: str) -> list[str]:
        d = folder(tag)
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        return [str(d / n) for n in names]

    # ----------------------------------------------------------------------------- writers
    def w_gtok_array(paths):
        for p, a in zip(paths, arrays):
            write_gtok(p, a)

    def w_gtok_list(paths):
        for p, ids in zip(paths, lists):
            write_gtok(p, ids)

    def w_gtars_list(paths):
        for p, ids in zip(paths, lists):
            write_tokens_to_gtok(p, ids)

    def w_gtars_tolist(paths):
        for p, a in zip(paths, arrays):
            write_tokens_to_gtok(p, a.tolist())

    def w_numpy(paths):
        for p, a in zip(paths, arrays):
            small = int(a.max()) <= U16_MAX if a.size else True
            with open(p, "wb") as f:
                f.write(b"GTOK\x01" if small else b"GTOK\x02")
                a.astype("<u2" if small else "<u4", copy=False).tofile(f)

    writers: list[tuple[str, str, Callable]] = [
        ("gtok", "`write_gtok(path, uint32 array)`", w_gtok_array),
        ("gtok-list", "`write_gtok(path, list)`", w_gtok_list),
    ]
    if have_gtars:
        writers += [
            (
                "gtars",
                "gtars `write_tokens_to_gtok(path, list)` (list made outside timing)",
                w_gtars_list,
            ),
            ("gtars-tolist", "gtars `write_tokens_to_gtok(path, arr.tolist())`", w_gtars_tolist),
        ]
    writers.append(("numpy", "NumPy: `open` + header + `arr.astype(w).tofile(f)`", w_numpy))

    write_times: dict[str, list[tuple[float, float]]] = {tag: [] for tag, _, _ in writers}
    for _ in range(args.repeats):
        for tag, _, fn in writers:
            paths = fresh("w-" + tag)
            write_times[tag].append(time_once(lambda fn=fn, paths=paths: fn(paths)))

    # every writer must have written the same bytes
    ref = folder("w-gtok")
    for tag, _, _ in writers:
        for n in names:
            if (folder("w-" + tag) / n).read_bytes() != (ref / n).read_bytes():
                raise SystemExit(f"{tag} wrote different bytes for {n}")

    # ----------------------------------------------------------------------------- readers
    paths = [str(ref / n) for n in names]
    dtypes = [np.dtype("<u2") if int(a.max()) <= U16_MAX else np.dtype("<u4") for a in arrays]
    pairs = list(zip(paths, dtypes))

    def r_gtok():
        return sum(int(read_gtok(p).sum()) for p in paths)

    def r_gtok_open():
        total = 0
        for p in paths:
            with open_gtok(p) as f:
                total += int(f.tokens.sum())
        return total

    def r_gtars():
        return sum(sum(read_tokens_from_gtok(p)) for p in paths)

    def r_numpy():
        return sum(int(np.fromfile(p, dt, offset=5).sum()) for p, dt in pairs)

    def r_gtok_nopass():
        for p in paths:
            read_gtok(p)

    def r_gtars_nopass():
        for p in paths:
            read_tokens_from_gtok(p)

    def r_numpy_nopass():
        for p, dt in pairs:
            np.fromfile(p, dt, offset=5)

    readers: list[tuple[str, str, Callable, bool]] = [
        ("gtok", "`read_gtok(p).sum()`", r_gtok, True),
        ("gtok-open", "`with open_gtok(p) as f: f.tokens.sum()`", r_gtok_open, True),
    ]
    if have_gtars:
        readers.append(("gtars", "gtars `sum(read_tokens_from_gtok(p))`", r_gtars, True))
    readers += [
        ("numpy", "NumPy `np.fromfile(p, dtype, offset=5).sum()` (width known)", r_numpy, True),
        ("gtok-nopass", "`read_gtok(p)`, no pass over the values", r_gtok_nopass, False),
    ]
    if have_gtars:
        readers.append(
            ("gtars-nopass", "gtars `read_tokens_from_gtok(p)`, no pass", r_gtars_nopass, False)
        )
    readers += [
        ("numpy-nopass", "`np.fromfile(p, dtype, offset=5)`, no pass", r_numpy_nopass, False),
    ]
    for tag, _, fn, checks in readers:  # warm-up and correctness
        got = fn()
        if checks and got != expected_total:
            raise SystemExit(f"{tag} read a total of {got}, expected {expected_total}")
    read_times: dict[str, list[tuple[float, float]]] = {tag: [] for tag, _, _, _ in readers}
    for _ in range(args.repeats):
        for tag, _, fn, _ in readers:
            read_times[tag].append(time_once(fn))

    total_bytes = sum(os.path.getsize(p) for p in paths)
    if not args.dir:
        shutil.rmtree(root, ignore_errors=True)

    # ------------------------------------------------------------------------------ report
    k = 0 if args.clock == "wall" else 1

    def table(title, rows, times, base="gtok"):
        wall = {tag: statistics.median(t[0] for t in ts) for tag, ts in times.items()}
        cpu = {tag: statistics.median(t[1] for t in ts) for tag, ts in times.items()}
        med = wall if k == 0 else cpu
        print(
            f"**{title}** ({args.n_files} files; median of {args.repeats}; ratios on "
            f"{args.clock} time)\n"
        )
        print(
            "| method | median (s) | min (s) | CPU (s) | per file (µs) | M ids/s | time / gtok's |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|")
        for tag, label, *_ in rows:
            m = med[tag]
            print(
                f"| {label} | {wall[tag]:.4f} | {min(t[0] for t in times[tag]):.4f} | "
                f"{cpu[tag]:.4f} | {m / args.n_files * 1e6:,.0f} | {n_ids / m / 1e6:,.0f} | "
                f"{m / med[base]:.2f} |"
            )
        print()
        return med

    print(
        f"### .gtok I/O: {args.n_files} files, {n_ids:,} ids, {total_bytes / 1e6:.1f} MB "
        f"({n_u16} uint16 files, {args.n_files - n_u16} uint32 files; seed {args.seed})\n"
    )
    wmed = table("Writing", writers, write_times)
    rmed = table("Reading (open + view/load + full pass)", readers, read_times)

    print("| target | ratio | met |")
    print("|---|---:|:-:|")
    if have_gtars:
        r = rmed["gtars"] / rmed["gtok"]
        print(f"| reading >= 20x faster than gtars | {r:.1f}x | {'yes' if r >= 20 else 'NO'} |")
    r = rmed["numpy"] / rmed["gtok"]
    print(f"| reading no slower than np.fromfile | {r:.2f}x | {'yes' if r >= 1 else 'NO'} |")
    if have_gtars:
        r = wmed["gtars"] / wmed["gtok"]
        print(
            f"| writing (array) no slower than gtars (list) | {r:.2f}x | "
            f"{'yes' if r >= 1 else 'NO'} |"
        )
        r = wmed["gtars"] / wmed["gtok-list"]
        print(
            f"| writing (list) no slower than gtars (list) | {r:.2f}x | "
            f"{'yes' if r >= 1 else 'NO'} |"
        )
    print()
    load_after = load_average()
    if load_before is not None and max(load_before, load_after or 0) > 0.7:
        print(
            f"**Warning:** the machine was busy (1-minute load average {load_before:.2f} "
            f"before, {load_after:.2f} after, on {os.cpu_count()} cores): wall-clock "
            "figures are unreliable; rerun on a quiet machine or with `--clock cpu`.\n"
        )
    print(
        f"Machine: {machine()}; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}; NumPy {np.__version__}; "
        f"gtok {version('gtok')}; gtars {version('gtars')}. "
        f"Files in {'--dir ' + str(root) if args.dir else 'a temporary folder'} "
        f"(page cache warm). Command: `python benchmarks/bench_io.py "
        f"{' '.join(sys.argv[1:])}`".rstrip()
        + "."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
