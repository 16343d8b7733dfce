"""Input discovery (gtok.io.inputs) on hostile folders: each real folder and file is visited
once, links back to a searched folder (loops) and files that are not regular (FIFOs) are
left out and said so."""

from __future__ import annotations

import os
import sys

import pytest

from gtok import pretokenize
from gtok.io.inputs import find_inputs

from batchdata import make_universe, run_cli, write_bed

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="symlinks and FIFOs")


def _tree(tmp_path):
    src = tmp_path / "in"
    write_bed(src / "a.bed", 50, 1)
    write_bed(src / "deep" / "b.bed", 50, 2)
    os.symlink("..", src / "deep" / "loop")  # in/deep/loop -> in
    os.symlink(src / "a.bed", src / "deep" / "a-again.bed")  # the same file twice
    os.mkfifo(src / "deep" / "pipe.bed")
    return src


def test_each_real_file_once_and_what_was_left_out(tmp_path):
    src = _tree(tmp_path)
    skipped: list[str] = []
    found = find_inputs([str(src)], skipped=skipped)
    assert sorted(os.path.relpath(p, src) for p, _ in found) == ["a.bed", "deep/b.bed"]
    text = "\n".join(skipped)
    assert "loop: a link to a folder already searched" in text
    assert "pipe.bed: not a regular file" in text
    assert "a-again.bed: the same file as another input" in text


def test_a_batch_over_a_looping_folder_tokenizes_each_input_once(tmp_path):
    src = _tree(tmp_path)
    universe = make_universe(tmp_path / "universe.bed")
    summary = pretokenize(str(universe), [str(src)], tmp_path / "out", jobs=1)
    assert summary.ok and summary.n_ok == 2
    outputs = sorted(
        str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*.gtok")
    )
    assert outputs == ["a.gtok", "deep/b.gtok"]
    assert len(summary.left_out) == 3
    r = run_cli("tokenize", str(universe), str(src), "-o", str(tmp_path / "out2"), timeout=60)
    assert r.returncode == 0 and "left out" in r.stderr and "loop" in r.stderr
