"""Every code example in the README and the docs site runs, as written (issue: an example
that fails, like a training loop that raises after its last batch, must fail CI).

The fenced blocks of each page are run in order in a fresh workspace folder holding the
files the examples name (``universe.bed``, ``sample.bed``, ``peaks/``, ... below), so one
page's examples may build on each other, as a reader would type them:

- ```` ```python ```` blocks are executed in one namespace per page;
- ```` ```bash ```` blocks are run by ``bash -e`` (the installed ``gtok`` first on ``PATH``);
- other languages are not run: data and file layouts (``text``, ``toml``, ``json``), and
  workflow definitions for engines the tests do not have (``snakemake``, ``groovy`` for
  Nextflow).

A block may be preceded (on the line before its fence) by a marker comment:

- ``<!-- example: requires torch anndata -->``: run only when these modules import (CI's
  readme stage installs them all; a block that builds on it must say so too);
- ``<!-- example: not run: REASON -->``: not run here (a cluster, a network, an install);
  the reason is required, and such blocks are counted below so they stay the exception.
"""

from __future__ import annotations

import gzip
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from gtok.example import example_path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
RUN_LANGUAGES = {"python", "bash"}
TEXT_LANGUAGES = {"text", "toml", "json", "yaml", "", "snakemake", "groovy"}

FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w-]*)[^\n]*$")
MARKER = re.compile(r"^\s*<!-- example: (?P<what>.+?) -->\s*$")


@dataclass
class Block:
    page: str
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    marker: str | None


def blocks_of(path: Path) -> list[Block]:
    """The fenced code blocks of a Markdown page, with the marker comment before each."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, lang, start = len(m.group("indent")), m.group("lang").lower(), i
        body: list[str] = []
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i][indent:] if lines[i][:indent].isspace() else lines[i])
            i += 1
        if i == len(lines):
            raise AssertionError(f"{path.name}:{start + 1}: code block never closed")
        before = lines[start - 1] if start else ""
        marker = MARKER.match(before)
        found.append(
            Block(path.name, start + 1, lang, "\n".join(body) + "\n", marker and marker["what"])
        )
        i += 1
    return found


def make_workspace(folder: Path) -> None:
    """The files the examples name, made from the bundled example data."""
    shutil.copy(example_path("universe.bed"), folder / "universe.bed")
    shutil.copy(example_path("sample1.bed"), folder / "sample.bed")
    shutil.copy(example_path("sample3.bed.gz"), folder / "sample.bed.gz")
    peaks = folder / "peaks"
    peaks.mkdir()
    shutil.copy(example_path("sample1.bed"), peaks / "sample.bed")
    shutil.copy(example_path("sample2.narrowPeak"), peaks / "sample2.narrowPeak")
    shutil.copy(example_path("sample3.bed.gz"), peaks / "sample3.bed.gz")
    # a small scATAC fragment file: 30 cells, fragments drawn from the example peaks
    rng = np.random.default_rng(0)
    rows = [
        line.split("\t")[:3]
        for line in Path(example_path("sample1.bed")).read_text().splitlines()
        if line and not line.startswith(("#", "track"))
    ]
    barcodes = [f"CELL{i:03d}-1" for i in range(30)]
    picks = sorted(
        (rows[k][0], int(rows[k][1]), int(rows[k][2]), barcodes[c])
        for k, c in zip(rng.integers(0, len(rows), 3000), rng.integers(0, 30, 3000))
    )
    with gzip.open(folder / "fragments.tsv.gz", "wt") as f:
        for chrom, start, end, bc in picks:
            f.write(f"{chrom}\t{start}\t{end}\t{bc}\t1\n")
    (folder / "barcodes.tsv").write_text("\n".join(barcodes[:20]) + "\n")
    if all(importlib.util.find_spec(m) for m in ("anndata", "scipy", "h5py")):
        make_h5ad(folder / "cells.h5ad", rows, rng)


def make_h5ad(path: Path, rows: list[list[str]], rng: np.random.Generator) -> None:
    import anndata
    import pandas as pd
    import scipy.sparse as sp

    var = pd.DataFrame(
        {"chr": [r[0] for r in rows], "start": [int(r[1]) for r in rows],
         "end": [int(r[2]) for r in rows]},
        index=[f"{r[0]}:{r[1]}-{r[2]}" for r in rows],
    )  # fmt: skip
    x = sp.random(40, len(rows), density=0.05, format="csr", random_state=0, dtype=np.float32)
    obs = pd.DataFrame(index=[f"CELL{i:03d}-1" for i in range(40)])
    anndata.AnnData(X=x, obs=obs, var=var).write_h5ad(path)


def missing_modules(marker: str | None) -> list[str]:
    if not marker or not marker.startswith("requires "):
        return []
    return [m for m in marker.split()[1:] if importlib.util.find_spec(m) is None]


def run_bash(block: Block, cwd: Path) -> None:
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["COLUMNS"] = "100"
    done = subprocess.run(
        ["bash", "-e", "-c", block.code],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, (
        f"{block.page}:{block.line}: bash example exited {done.returncode}\n"
        f"{block.code}\nstdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"
    )


def run_python(block: Block, namespace: dict) -> None:
    code = compile(block.code, f"{block.page}:{block.line}", "exec")
    try:
        exec(code, namespace)
    except Exception as e:
        raise AssertionError(f"{block.page}:{block.line}: python example failed: {e!r}") from e


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_examples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = [b for b in blocks_of(page) if b.lang in RUN_LANGUAGES]
    if not blocks:
        pytest.skip(f"{page.name} has no runnable examples")
    make_workspace(tmp_path)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__doc_example__"}
    for block in blocks:
        if block.marker and block.marker.startswith("not run: "):
            continue
        if missing_modules(block.marker):
            continue
        if block.lang == "bash":
            run_bash(block, tmp_path)
        else:
            run_python(block, namespace)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_blocks_are_well_marked(page: Path) -> None:
    for block in blocks_of(page):
        where = f"{block.page}:{block.line}"
        assert block.lang in RUN_LANGUAGES | TEXT_LANGUAGES, f"{where}: unknown language"
        if block.marker is None:
            continue
        assert block.lang in RUN_LANGUAGES, f"{where}: a marker on a block that is not run"
        assert block.marker.startswith(("requires ", "not run: ")), f"{where}: {block.marker}"
        if block.marker.startswith("not run: "):
            assert len(block.marker) > len("not run: ") + 10, f"{where}: say why it is not run"


def test_most_examples_run() -> None:
    runnable = [b for p in PAGES for b in blocks_of(p) if b.lang in RUN_LANGUAGES]
    not_run = [b for b in runnable if b.marker and b.marker.startswith("not run: ")]
    assert len(runnable) >= 30
    # installs, CI's own commands, clusters and the network: a third at most
    assert len(not_run) <= len(runnable) // 3, [f"{b.page}:{b.line}" for b in not_run]


def test_readme_commands_are_what_ci_runs() -> None:
    """The README's two commands open it, and .ci/run's readme stage runs them."""
    first = next(b for b in blocks_of(ROOT / "README.md") if b.lang == "bash")
    commands = [ln for ln in first.code.splitlines() if ln and not ln.startswith("#")]
    assert commands == [
        "pip install . && gtok tokenize --example gtok-example",
        'pip install ".[test]" && pytest',
    ]
    ci = ROOT / ".ci" / "run"
    if ci.exists():  # not in the sdist
        text = ci.read_text()
        assert 'pip install . && gtok tokenize --example "$WORK/example-out"' in text
        assert 'pip install ".[test]"' in text
