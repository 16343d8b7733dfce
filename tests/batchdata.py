"""Small generated data and helpers shared by the batch and command-line tests.

Not a test module: ``test_batch_cli.py``, ``test_cli.py`` and ``test_batch_signals.py`` import
it. Everything is deterministic (seeded) and small, written under pytest's ``tmp_path``.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from gtok import Tokenizer, write_gtok
from gtok.cli import main

CHROMS = ("chr1", "chr2", "chr10", "chrX")

#: Working folder of ``python -m gtok`` subprocesses: not the repository root, whose
#: ``gtok/`` source folder (no compiled extensions after a non-editable install, as in CI)
#: would shadow the installed package on ``sys.path[0]``.
SUBPROCESS_CWD = Path(__file__).resolve().parent
CHROM_LEN = 2_000_000


def make_universe(path: Path, n_per_chrom: int = 400, seed: int = 0) -> Path:
    """A universe of ``4 * n_per_chrom`` regions (some overlapping, one duplicated)."""
    rng = np.random.default_rng(seed)
    lines = []
    for c in CHROMS:
        starts = np.sort(rng.integers(0, CHROM_LEN - 5_000, n_per_chrom))
        widths = rng.integers(200, 3_000, n_per_chrom)
        lines += [f"{c}\t{s}\t{s + w}\n" for s, w in zip(starts.tolist(), widths.tolist())]
    lines.append(lines[3])  # a region listed twice keeps its first id
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(lines))
    return path


def bed_text(n: int, seed: int, *, fmt: str = "bed3", unknown: bool = True) -> str:
    """``n`` peak-like lines (shuffled), a few on a chromosome the universe lacks."""
    rng = np.random.default_rng(1000 + seed)
    chroms = list(CHROMS) + (["chrUn_test"] if unknown else [])
    cs = rng.integers(0, len(chroms), n)
    starts = rng.integers(0, CHROM_LEN - 5_000, n)
    widths = rng.integers(0, 4_000, n)
    out = []
    for k, (c, s, w) in enumerate(zip(cs.tolist(), starts.tolist(), widths.tolist())):
        line = f"{chroms[c]}\t{s}\t{s + w}"
        if fmt == "bed6":
            line += f"\tpeak{k}\t{k % 1000}\t{'+-.'[k % 3]}"
        elif fmt == "narrowPeak":
            line += f"\tp{k}\t{k % 1000}\t.\t3.5\t2.25\t1.125\t{w // 2}"
        out.append(line + "\n")
    return "".join(out)


def write_bed(
    path: Path,
    n: int = 200,
    seed: int = 0,
    *,
    fmt: str = "bed3",
    gz: bool = False,
    text: str | None = None,
) -> Path:
    """Write a region file (gzip when ``gz``); returns its path."""
    data = (bed_text(n, seed, fmt=fmt) if text is None else text).encode()
    if gz:
        data = gzip.compress(data, mtime=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def reference_bytes(tok: Tokenizer, path: Path | str, tmp: Path, **options) -> bytes:
    """What ``Tokenizer.tokenize`` + ``write_gtok`` give for one input (the contract)."""
    ref = tmp / "_reference.gtok"
    write_gtok(ref, tok.tokenize(os.fspath(path), **options).ids)
    data = ref.read_bytes()
    ref.unlink()
    return data


def gtok_files(folder: Path) -> dict[str, bytes]:
    """Every visible ``.gtok`` under ``folder``: relative path -> bytes."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*.gtok"))
        if not p.name.startswith(".")
    }


def hidden_leftovers(folder: Path) -> list[str]:
    """Temporary files (hidden ``.*.tmp``) left in ``folder``."""
    return sorted(p.name for p in folder.rglob(".*.tmp"))


def load_manifest(path: Path) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def statuses(manifest: dict) -> dict[str, str]:
    """Input path -> status."""
    return {e["input"]: e["status"] for e in manifest["files"]}


def run_cli(
    *args: str, cwd: Path | str | None = None, timeout: float = 60, **kwargs
) -> subprocess.CompletedProcess:
    """``python -m gtok ARGS`` in a subprocess, text output captured."""
    return subprocess.run(
        [sys.executable, "-m", "gtok", *map(os.fspath, args)],
        cwd=SUBPROCESS_CWD if cwd is None else cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )


def output_of(out_dir: Path, entry: dict) -> Path:
    """A manifest entry's output file (recorded relative to the manifest's folder)."""
    return Path(out_dir) / entry["output"]


def cli(*args) -> int:
    """Run ``gtok ARGS`` in-process; return the exit code (argparse's SystemExit too)."""
    try:
        return main([os.fspath(a) for a in args])
    except SystemExit as exc:
        return int(exc.code or 0)
