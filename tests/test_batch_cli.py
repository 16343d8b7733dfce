"""Batch pretokenization (``gtok.pretokenize`` and ``gtok tokenize``): outputs, naming,
sharding, bad inputs, resume and the manifest.

Every output is checked against the contract: the bytes ``Tokenizer.tokenize`` +
``write_gtok`` give for that input. Signals (a killed worker, Ctrl-C) are in
``test_batch_signals.py``; ``info``, ``decode``, ``verify`` and usage in ``test_cli.py``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import gtok
from gtok import Tokenizer, pretokenize, read_gtok
from gtok.errors import FingerprintMismatchError, UnusableManifestWarning

from batchdata import (  # noqa: F401
    cli,
    gtok_files,
    hidden_leftovers,
    load_manifest,
    make_universe,
    output_of,
    reference_bytes,
    run_cli,
    statuses,
    write_bed,
)


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    """A folder of region files in every supported shape, nested."""
    root = tmp_path / "peaks"
    write_bed(root / "a.bed", 300, 1)
    write_bed(root / "b.bed.gz", 250, 2, fmt="bed6", gz=True)
    write_bed(root / "c.narrowPeak", 200, 3, fmt="narrowPeak")
    write_bed(root / "sub" / "d.narrowPeak.gz", 150, 4, fmt="narrowPeak", gz=True)
    write_bed(root / "sub" / "deeper" / "e.broadPeak", 100, 5)
    write_bed(root / "sub" / "f.BED", 120, 6)  # case-insensitive suffix
    write_bed(root / "g.gappedPeak", 90, 7)
    write_bed(root / "h.bedGraph.gz", 80, 8, gz=True)
    write_bed(root / "empty.bed", text="")  # -> [unk]
    write_bed(root / "header.bed", text="track name=x\n#chrom\tstart\tend\n")
    write_bed(root / "gzip_named_plain.bed", 60, 9, gz=True)  # content is sniffed
    write_bed(root / "plain_named_gzip.bed.gz", 60, 10)
    write_bed(root / "unknown_only.bed", text="chrUn_test\t10\t20\nchrM\t0\t100\n")
    return root


MIXED_OUTPUTS = {
    "a.gtok",
    "b.gtok",
    "c.gtok",
    "sub/d.gtok",
    "sub/deeper/e.gtok",
    "sub/f.gtok",
    "g.gtok",
    "h.gtok",
    "empty.gtok",
    "header.gtok",
    "gzip_named_plain.gtok",
    "plain_named_gzip.gtok",
    "unknown_only.gtok",
}


def expected_for(tok: Tokenizer, pairs: dict[str, Path], tmp: Path, **options) -> dict:
    return {out: reference_bytes(tok, src, tmp, **options) for out, src in pairs.items()}


def mixed_pairs(root: Path) -> dict[str, Path]:
    """Output name -> input for the ``mixed`` folder."""
    pairs = {}
    for p in root.rglob("*"):
        if p.is_file() and not p.name.startswith("."):
            rel = p.relative_to(root).as_posix()
            stem = re.sub(r"(\.gz)?$", "", rel, flags=re.I)
            stem = stem.rsplit(".", 1)[0]
            pairs[stem + ".gtok"] = p
    return pairs


# ------------------------------------------------------------------------ outputs = contract


@pytest.mark.parametrize(
    "jobs,start_method", [(1, None), (2, "fork"), (2, "spawn"), (2, "forkserver")]
)
def test_outputs_equal_tokenize_and_write_gtok(tok, mixed, tmp_path, jobs, start_method):
    out = tmp_path / "out"
    summary = pretokenize(tok, [str(mixed)], out, jobs=jobs, start_method=start_method)
    assert summary.ok and summary.n_ok == len(MIXED_OUTPUTS), summary
    got = gtok_files(out)
    assert set(got) == MIXED_OUTPUTS
    want = expected_for(tok, mixed_pairs(mixed), tmp_path)
    for name in sorted(want):
        assert got[name] == want[name], name
    assert got["empty.gtok"] == got["header.gtok"] == got["unknown_only.gtok"]
    assert read_gtok(out / "empty.gtok").tolist() == [tok.unk_token_id]
    assert hidden_leftovers(out) == []
    assert summary.fingerprint == tok.fingerprint
    assert isinstance(summary, gtok.BatchSummary)


@pytest.mark.parametrize("jobs", [1, 2])
def test_options_reach_every_worker(tok, mixed, tmp_path, jobs):
    options = dict(keep_order=True, unk="per_region")
    out = tmp_path / "out"
    summary = pretokenize(tok, str(mixed), out, jobs=jobs, **options)
    assert summary.ok
    want = expected_for(tok, mixed_pairs(mixed), tmp_path, **options)
    assert gtok_files(out) == want
    # the options change the ids for these inputs (so the test can tell)
    plain = expected_for(tok, mixed_pairs(mixed), tmp_path)
    assert plain["a.gtok"] != want["a.gtok"]
    assert load_manifest(Path(summary.manifest))["settings"] == {
        "keep_order": True,
        "unk": "per_region",
        "skip_bad_lines": False,
    }


def test_universe_path_and_tokenizer_give_the_same(universe, tok, mixed, tmp_path):
    pretokenize(str(universe), [str(mixed)], tmp_path / "o1", jobs=1)
    pretokenize(tok, [str(mixed)], tmp_path / "o2", jobs=2)
    assert gtok_files(tmp_path / "o1") == gtok_files(tmp_path / "o2")


def test_command_line_matches_api(universe, tok, mixed, tmp_path):
    """``python -m gtok`` and the console script write the API's bytes."""
    r = run_cli("tokenize", universe, mixed, "-o", tmp_path / "cli", "-j", "2")
    assert r.returncode == 0, r.stderr
    assert "13 tokenized" in r.stderr and "0 failed" in r.stderr
    assert "Traceback" not in r.stderr
    want = expected_for(tok, mixed_pairs(mixed), tmp_path)
    assert gtok_files(tmp_path / "cli") == want

    script = shutil.which("gtok", path=os.path.dirname(sys.executable))
    assert script, "the console script 'gtok' is not installed next to python"
    r = subprocess.run(
        [
            script,
            "tokenize",
            str(universe),
            str(mixed / "a.bed"),
            "-o",
            str(tmp_path / "script"),
            "-q",
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0 and r.stderr == "" and r.stdout == ""
    assert gtok_files(tmp_path / "script") == {"a.gtok": want["a.gtok"]}


# ------------------------------------------------------------------------ finding and naming


def test_folder_recursion_mirrors_tree_and_skips_hidden_and_other_files(tok, mixed, tmp_path):
    write_bed(mixed / ".hidden.bed", 10, 11)
    write_bed(mixed / ".git" / "x.bed", 10, 12)
    write_bed(mixed / "sub" / ".cache" / "deep" / "y.bed", 10, 13)
    (mixed / "notes.txt").write_text("not a region file\n")
    (mixed / "old.gtok").write_bytes(b"GTOK\x01")
    (mixed / "README").write_text("x\n")
    out = tmp_path / "out"
    summary = pretokenize(tok, [str(mixed)], out, jobs=1)
    assert set(gtok_files(out)) == MIXED_OUTPUTS
    inputs = {Path(r.input).relative_to(mixed).as_posix() for r in summary.results}
    assert not any(part.startswith(".") for i in inputs for part in i.split("/"))
    assert "notes.txt" not in inputs and "old.gtok" not in inputs
    # results come sorted by input path
    assert [r.input for r in summary.results] == sorted(r.input for r in summary.results)


def test_glob_option_picks_other_names(tok, tmp_path):
    src = tmp_path / "src"
    write_bed(src / "x.txt", 50, 1)
    write_bed(src / "deep" / "y.tsv", 50, 2)
    write_bed(src / "z.bed", 50, 3)
    write_bed(src / ".h.txt", 50, 4)
    out = tmp_path / "out"
    assert (
        cli(
            "tokenize",
            tok.universe.source,
            src,
            "-o",
            out,
            "--glob",
            "*.txt",
            "--glob",
            "*.tsv",
            "-q",
        )
        == 0
    )
    assert gtok_files(out) == {
        "x.gtok": reference_bytes(tok, src / "x.txt", tmp_path),
        "deep/y.gtok": reference_bytes(tok, src / "deep/y.tsv", tmp_path),
    }


def test_glob_pattern_inputs_use_the_pattern_root(tok, mixed, tmp_path, monkeypatch):
    out = tmp_path / "out"
    # recursive pattern: outputs relative to the part before the first wildcard
    summary = pretokenize(tok, [f"{mixed}/**/*.narrowPeak*"], out, jobs=1)
    assert set(gtok_files(out)) == {"c.gtok", "sub/d.gtok"}
    assert summary.n_ok == 2
    out2 = tmp_path / "out2"
    pretokenize(tok, [f"{mixed}/sub/*.BED", f"{mixed}/sub/deep?r/*"], out2, jobs=1)
    assert gtok_files(out2) == {
        "f.gtok": reference_bytes(tok, mixed / "sub/f.BED", tmp_path),
        "deeper/e.gtok": reference_bytes(tok, mixed / "sub/deeper/e.broadPeak", tmp_path),
    }
    # a pattern that matches nothing is an error before any work
    with pytest.raises(FileNotFoundError, match="matches no file"):
        pretokenize(tok, [f"{mixed}/*.nothing"], tmp_path / "out3")
    assert not (tmp_path / "out3").exists()
    # relative patterns, from the command line (the shell does not expand a quoted one)
    monkeypatch.chdir(tmp_path)
    assert cli("tokenize", tok.universe.source, "peaks/*.bed", "-o", "out4", "-q") == 0
    assert set(gtok_files(tmp_path / "out4")) == {
        "a.gtok",
        "empty.gtok",
        "header.gtok",
        "gzip_named_plain.gtok",
        "unknown_only.gtok",
    }


def test_from_file_lists_inputs(tok, mixed, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    other = write_bed(tmp_path / "elsewhere" / "q.tsv", 70, 20)  # a named file: any name
    listing = tmp_path / "list.txt"
    listing.write_text(
        f"# inputs\n\npeaks/a.bed\n  {mixed / 'sub' / 'd.narrowPeak.gz'}  \n"
        f"elsewhere/q.tsv\npeaks/sub/deeper\n"
    )
    out = tmp_path / "out"
    assert cli("tokenize", tok.universe.source, "--from-file", listing, "-o", out, "-q") == 0
    assert gtok_files(out) == {
        "a.gtok": reference_bytes(tok, mixed / "a.bed", tmp_path),
        "d.gtok": reference_bytes(tok, mixed / "sub/d.narrowPeak.gz", tmp_path),
        "q.gtok": reference_bytes(tok, other, tmp_path),
        "e.gtok": reference_bytes(tok, mixed / "sub/deeper/e.broadPeak", tmp_path),
    }
    # --from-file together with positional inputs
    out2 = tmp_path / "out2"
    assert (
        cli(
            "tokenize",
            tok.universe.source,
            "peaks/c.narrowPeak",
            "--from-file",
            listing,
            "-o",
            out2,
            "-q",
        )
        == 0
    )
    assert set(gtok_files(out2)) == {"a.gtok", "c.gtok", "d.gtok", "q.gtok", "e.gtok"}


def test_named_file_and_folder_naming_rules(tok, tmp_path):
    src = tmp_path / "src"
    write_bed(src / "s.1.bed", 20, 1)  # only the last extension goes
    write_bed(src / "noext", 20, 2)  # no extension: .gtok appended
    write_bed(src / "x.narrowPeak.gz", 20, 3)
    out = tmp_path / "out"
    summary = pretokenize(
        tok, [str(src / "s.1.bed"), str(src / "noext"), str(src / "x.narrowPeak.gz")], out, jobs=1
    )
    assert summary.ok
    assert set(gtok_files(out)) == {"s.1.gtok", "noext.gtok", "x.gtok"}
    assert {Path(r.output).name for r in summary.results} == {"s.1.gtok", "noext.gtok", "x.gtok"}


def test_duplicate_outputs_are_refused_before_any_work(tok, tmp_path):
    src = tmp_path / "src"
    write_bed(src / "z_first.bed", 20, 1)
    write_bed(src / "a.bed", 20, 2)
    write_bed(src / "a.bed.gz", 20, 3, gz=True)
    write_bed(src / "n" / "p.narrowPeak", 20, 4)
    write_bed(src / "n" / "p.bed", 20, 5)
    out = tmp_path / "out"
    with pytest.raises(ValueError) as err:
        pretokenize(tok, [str(src)], out, jobs=1)
    msg = str(err.value)
    assert "same output" in msg and "a.bed.gz" in msg and "p.narrowPeak" in msg
    assert not out.exists()  # nothing written, not even the folder
    # the command line: a usage-level error, message on stderr, nothing written
    r = run_cli("tokenize", tok.universe.source, src, "-o", out)
    assert r.returncode == 2 and "same output" in r.stderr and "a.bed.gz" in r.stderr
    assert "Traceback" not in r.stderr
    assert not out.exists()
    # two folders with the same relative names clash too
    write_bed(tmp_path / "d1" / "s.bed", 10, 6)
    write_bed(tmp_path / "d2" / "s.bed", 10, 7)
    with pytest.raises(ValueError, match="same output"):
        pretokenize(tok, [str(tmp_path / "d1"), str(tmp_path / "d2")], out)
    assert not out.exists()


def test_the_same_file_named_twice_is_tokenized_once(tok, mixed, tmp_path):
    out = tmp_path / "out"
    summary = pretokenize(tok, [str(mixed), str(mixed / "a.bed"), f"{mixed}/a.*"], out, jobs=1)
    assert summary.ok
    assert sum(Path(r.input).name == "a.bed" for r in summary.results) == 1
    assert len(summary.results) == len(MIXED_OUTPUTS)


def test_missing_inputs_are_usage_errors(tok, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(FileNotFoundError, match="nope.bed"):
        pretokenize(tok, [str(tmp_path / "nope.bed")], out)
    (tmp_path / "emptydir").mkdir()
    with pytest.raises(FileNotFoundError, match="no region files"):
        pretokenize(tok, [str(tmp_path / "emptydir")], out)
    assert cli("tokenize", tok.universe.source, tmp_path / "nope.bed", "-o", out) == 2
    assert cli("tokenize", tok.universe.source, tmp_path / "emptydir", "-o", out) == 2
    assert cli("tokenize", tmp_path / "no-universe.bed", tmp_path / "emptydir", "-o", out) == 2
    assert cli("tokenize", tok.universe.source, "--from-file", tmp_path / "nolist", "-o", out) == 2
    assert not out.exists()


def test_output_folder_that_is_a_file_is_an_error_not_a_traceback(tok, mixed, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file\n")
    r = run_cli("tokenize", tok.universe.source, mixed, "-o", blocker)
    assert r.returncode == 1
    assert "Traceback" not in r.stderr and "blocker" in r.stderr


def test_bad_arguments(tok, mixed, tmp_path):
    with pytest.raises(ValueError, match="jobs"):
        pretokenize(tok, [str(mixed)], tmp_path / "o", jobs=0)
    with pytest.raises(ValueError, match="unk"):
        pretokenize(tok, [str(mixed)], tmp_path / "o", unk="each")
    for shard in [(0, 2), (3, 2), (1, 0)]:
        with pytest.raises(ValueError, match="shard"):
            pretokenize(tok, [str(mixed)], tmp_path / "o", shard=shard)
    with pytest.raises(TypeError, match="progress"):  # checked before any work
        pretokenize(tok, [str(mixed)], tmp_path / "o", progress=False)
    assert not (tmp_path / "o").exists()
    assert cli("tokenize", tok.universe.source, mixed, "-o", tmp_path / "o", "-j", "0") == 2


# ------------------------------------------------------------------------ shards


def test_shards_partition_the_inputs_and_verify_sees_the_whole(universe, tok, tmp_path):
    src = tmp_path / "src"
    for k in range(11):
        write_bed(src / f"g{k % 3}" / f"s{k:02d}.bed", 40, k)
    out = tmp_path / "out"
    n = 3
    per_shard = []
    for k in range(1, n + 1):
        if k == n:
            # not all shards ran yet: verify must not call the folder complete
            r = run_cli("verify", out, "-u", universe)
            assert r.returncode == 1, r.stderr
            assert "shard 3/3 has not run (no gtok-manifest.3-of-3.json)" in r.stderr
        before = set(gtok_files(out)) if out.exists() else set()
        assert (
            cli("tokenize", universe, src, "-o", out, "--shard", f"{k}/{n}", "-j", "2", "-q") == 0
        )
        written = set(gtok_files(out)) - before
        m = load_manifest(out / f"gtok-manifest.{k}-of-{n}.json")
        assert m["shard"] == [k, n]
        assert {output_of(out, e).relative_to(out).as_posix() for e in m["files"]} == written
        per_shard.append(written)
    union = set().union(*per_shard)
    assert sum(len(s) for s in per_shard) == len(union) == 11  # no overlap, all of it
    assert sorted(len(s) for s in per_shard) == [3, 4, 4]  # interleaved, balanced
    assert not (out / "gtok-manifest.json").exists()
    want = {
        f"g{k % 3}/s{k:02d}.gtok": reference_bytes(tok, src / f"g{k % 3}/s{k:02d}.bed", tmp_path)
        for k in range(11)
    }
    assert gtok_files(out) == want
    r = run_cli("verify", out, "-u", universe)
    assert r.returncode == 0, r.stderr
    assert "11 file(s) checked, 0 problem(s)" in r.stdout


def test_shard_one_of_one_is_the_whole(tok, mixed, tmp_path):
    summary = pretokenize(tok, [str(mixed)], tmp_path / "out", shard=(1, 1), jobs=1)
    assert summary.n_ok == len(MIXED_OUTPUTS)
    assert Path(summary.manifest).name == "gtok-manifest.json"


@pytest.mark.parametrize("text", ["0/3", "4/3", "x", "1/", "1-3", "2/2/2"])
def test_bad_shard_is_a_usage_error(tok, mixed, tmp_path, text, capsys):
    assert cli("tokenize", tok.universe.source, mixed, "-o", tmp_path / "o", "--shard", text) == 2
    assert "shard" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------------ bad inputs


@pytest.fixture
def with_bad(tmp_path: Path) -> dict[str, Path]:
    src = tmp_path / "src"
    good = [write_bed(src / f"good{k}.bed", 100, k) for k in range(6)]
    malformed = write_bed(
        src / "bad_line.bed", text="chr1\t10\t20\nchr1\t30\t40\nchr1\tten\t50\nchr2\t5\t9\n"
    )
    trunc = write_bed(src / "cut.bed.gz", 2000, 99, gz=True)
    trunc.write_bytes(trunc.read_bytes()[:-300])
    return {"src": src, "good": good, "malformed": malformed, "truncated": trunc}


@pytest.mark.parametrize("jobs", [1, 2])
def test_bad_inputs_are_reported_and_the_rest_completes(tok, with_bad, tmp_path, jobs):
    listing = tmp_path / "list.txt"
    missing = tmp_path / "src" / "gone.bed"
    listing.write_text(f"{missing}\n")
    out = tmp_path / "out"
    r = run_cli(
        "tokenize",
        tok.universe.source,
        with_bad["src"],
        "--from-file",
        listing,
        "-o",
        out,
        "-j",
        str(jobs),
    )
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert "6 tokenized" in r.stderr and "3 failed" in r.stderr
    m = load_manifest(out / "gtok-manifest.json")
    by_input = {Path(e["input"]).name: e for e in m["files"]}
    bad = by_input["bad_line.bed"]
    assert bad["status"] == "error"
    assert "BedFormatError" in bad["error"] and "line 3" in bad["error"] and "ten" in bad["error"]
    cut = by_input["cut.bed.gz"]
    assert cut["status"] == "error" and "CorruptGzipError" in cut["error"]
    assert "gzip" in cut["error"]
    gone = by_input["gone.bed"]
    assert gone["status"] == "error" and "FileNotFoundError" in gone["error"]
    assert "gone.bed" in gone["error"]
    assert m["counts"] == {"ok": 6, "skipped": 0, "error": 3, "pending": 0}
    for e in (bad, cut, gone):
        assert e["output_size"] == 0 and e["tokens"] == 0
        assert not output_of(out, e).exists()
    # the errors are on stderr too, one line each
    for name in ("bad_line.bed", "cut.bed.gz", "gone.bed"):
        assert re.search(rf"gtok: \S*{re.escape(name)}: \w+Error", r.stderr), r.stderr
    want = {
        f"good{k}.gtok": reference_bytes(tok, p, tmp_path) for k, p in enumerate(with_bad["good"])
    }
    assert gtok_files(out) == want
    assert hidden_leftovers(out) == []


def test_fail_fast_stops_early(tok, with_bad, tmp_path):
    # inputs are sorted by path: bad_line.bed comes before every good*.bed
    summary = pretokenize(tok, [str(with_bad["src"])], tmp_path / "o1", jobs=1, fail_fast=True)
    assert not summary.ok and summary.n_failed == 1
    assert summary.n_ok == 0 and summary.n_pending == 7
    m = load_manifest(Path(summary.manifest))
    assert m["counts"] == {"ok": 0, "skipped": 0, "error": 1, "pending": 7}
    assert gtok_files(tmp_path / "o1") == {}
    # in parallel only the inputs the other worker finishes before the failure arrives
    # are done; most stay pending. The two largest inputs, handed out first (one to each
    # worker), are bad: however late one worker starts, the other's first task fails
    # (with one bad input first, a worker slow to start let the other finish 148 inputs)
    src = with_bad["src"]
    for k in range(6, 200):
        write_bed(src / f"good{k}.bed", 50, k)
    second_cut = write_bed(src / "cut2.bed.gz", 2000, 98, gz=True)
    second_cut.write_bytes(second_cut.read_bytes()[:-300])
    out = tmp_path / "o2"
    assert cli("tokenize", tok.universe.source, src, "-o", out, "-j", "2", "--fail-fast", "-q") == 1
    m = load_manifest(out / "gtok-manifest.json")
    # (how many that is depends on the machine's speed and load, not on the number of
    # inputs: 20 of 32 once on a busy 2-core machine, 22 once on a quiet one)
    assert m["counts"]["error"] >= 1 and m["counts"]["pending"] >= 100
    for e in m["files"]:
        assert (e["status"] == "ok") == output_of(out, e).exists()
    # without --fail-fast everything else is done
    assert cli("tokenize", tok.universe.source, src, "-o", tmp_path / "o3", "-j", "2", "-q") == 1
    assert load_manifest(tmp_path / "o3" / "gtok-manifest.json")["counts"] == {
        "ok": 200,
        "skipped": 0,
        "error": 3,
        "pending": 0,
    }


@pytest.mark.parametrize("jobs", [1, 2])
def test_skip_bad_lines_counts_them(tok, with_bad, tmp_path, jobs):
    src = with_bad["src"]
    write_bed(src / "more_bad.bed", text="chr1\t5\t1\nchr1\t1\nchrX\t-3\t9\nchr10\t100\t900\n")
    out = tmp_path / "out"
    assert (
        cli(
            "tokenize",
            tok.universe.source,
            src,
            "-o",
            out,
            "--skip-bad-lines",
            "-j",
            str(jobs),
            "-q",
        )
        == 1
    )  # the truncated gzip still fails
    m = load_manifest(out / "gtok-manifest.json")
    assert m["settings"]["skip_bad_lines"] is True
    by_input = {Path(e["input"]).name: e for e in m["files"]}
    assert by_input["bad_line.bed"]["status"] == "ok"
    assert by_input["bad_line.bed"]["skipped_lines"] == 1
    assert by_input["bad_line.bed"]["regions"] == 3
    assert by_input["more_bad.bed"]["skipped_lines"] == 3
    assert by_input["more_bad.bed"]["regions"] == 1
    assert by_input["good0.bed"]["skipped_lines"] == 0
    assert by_input["cut.bed.gz"]["status"] == "error"
    for name in ("bad_line.bed", "more_bad.bed"):
        assert (out / name.replace(".bed", ".gtok")).read_bytes() == reference_bytes(
            tok, src / name, tmp_path, skip_bad_lines=True
        )


# ------------------------------------------------------------------------ resume


@pytest.fixture
def done_run(tok, tmp_path):
    """A folder of 8 inputs tokenized once; returns (src, out, reference bytes)."""
    src = tmp_path / "src"
    for k in range(8):
        write_bed(src / f"r{k}.bed", 80, k, gz=(k == 5))
    out = tmp_path / "out"
    assert pretokenize(tok, [str(src)], out, jobs=2).ok
    want = {f"r{k}.gtok": reference_bytes(tok, src / f"r{k}.bed", tmp_path) for k in range(8)}
    assert gtok_files(out) == want
    return src, out, want


def _mtimes(out: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in out.glob("*.gtok")}


def test_resume_skips_everything_done(tok, done_run):
    src, out, want = done_run
    before = _mtimes(out)
    summary = pretokenize(tok, [str(src)], out, jobs=2, resume=True)
    assert summary.ok and summary.n_skipped == 8 and summary.n_ok == 0
    assert _mtimes(out) == before  # not rewritten
    m = load_manifest(Path(summary.manifest))
    assert set(statuses(m).values()) == {"skipped"}
    # skipped entries keep what the first run recorded
    assert all(e["tokens"] > 0 and e["output_size"] > 5 and e["regions"] == 80 for e in m["files"])
    # and a resume of a resume still skips
    assert pretokenize(tok, [str(src)], out, jobs=1, resume=True).n_skipped == 8
    # without --resume everything is redone
    assert pretokenize(tok, [str(src)], out, jobs=1).n_ok == 8
    assert gtok_files(out) == want


def test_resume_redoes_deleted_truncated_or_changed(tok, done_run, tmp_path):
    src, out, want = done_run
    (out / "r0.gtok").unlink()  # output deleted
    (out / "r1.gtok").write_bytes((out / "r1.gtok").read_bytes()[:-2])  # output changed size
    future = os.stat(out / "r2.gtok").st_mtime_ns + 5_000_000_000
    os.utime(src / "r2.bed", ns=(future, future))  # input touched newer
    with open(src / "r3.bed", "a") as f:  # input grew, old mtime
        f.write("chr1\t100\t5000\n")
    old = os.stat(src / "r4.bed").st_mtime_ns
    os.utime(src / "r3.bed", ns=(old, old))
    want["r3.gtok"] = reference_bytes(tok, src / "r3.bed", tmp_path)
    r = run_cli("tokenize", tok.universe.source, src, "-o", out, "--resume", "-j", "2")
    assert r.returncode == 0, r.stderr
    assert "4 tokenized, 4 already done" in r.stderr
    m = load_manifest(out / "gtok-manifest.json")
    st = {Path(k).name: v for k, v in statuses(m).items()}
    assert st == {
        "r0.bed": "ok",
        "r1.bed": "ok",
        "r2.bed": "ok",
        "r3.bed": "ok",
        "r4.bed": "skipped",
        "r5.bed": "skipped",
        "r6.bed": "skipped",
        "r7.bed": "skipped",
    }
    assert gtok_files(out) == want


def test_resume_redoes_everything_for_another_universe_or_settings(tok, done_run, tmp_path):
    src, out, want = done_run
    other_universe = make_universe(tmp_path / "other.bed", n_per_chrom=300, seed=7)
    other = Tokenizer(other_universe)
    assert other.fingerprint != tok.fingerprint
    with pytest.raises(FingerprintMismatchError):  # unless told to replace them
        pretokenize(other, [str(src)], out, jobs=2, resume=True)
    s = pretokenize(other, [str(src)], out, jobs=2, resume=True, overwrite=True)
    assert s.n_ok == 8 and s.n_skipped == 0
    assert gtok_files(out) == {
        f"r{k}.gtok": reference_bytes(other, src / f"r{k}.bed", tmp_path) for k in range(8)
    }
    # back to the first universe: the manifest now records the other one -> all redone
    s = pretokenize(tok, [str(src)], out, jobs=2, resume=True, overwrite=True)
    assert s.n_ok == 8
    assert gtok_files(out) == want
    for setting in (dict(keep_order=True), dict(unk="per_region"), dict(skip_bad_lines=True)):
        s = pretokenize(tok, [str(src)], out, jobs=1, resume=True, **setting)
        assert s.n_ok == 8 and s.n_skipped == 0, setting
        assert pretokenize(tok, [str(src)], out, jobs=1, resume=True, **setting).n_skipped == 8
    s = pretokenize(tok, [str(src)], out, jobs=1, resume=True)
    assert s.n_ok == 8
    assert gtok_files(out) == want


def test_resume_finishes_after_errors(tok, with_bad, tmp_path):
    src = with_bad["src"]
    out = tmp_path / "out"
    s = pretokenize(tok, [str(src)], out, jobs=2)
    assert s.n_failed == 2 and s.n_ok == 6
    write_bed(with_bad["malformed"], 30, 40)  # fix one
    with_bad["truncated"].unlink()  # remove the other
    s = pretokenize(tok, [str(src)], out, jobs=2, resume=True)
    assert s.ok and s.n_ok == 1 and s.n_skipped == 6
    assert (out / "bad_line.gtok").read_bytes() == reference_bytes(
        tok, with_bad["malformed"], tmp_path
    )


def test_resume_without_a_manifest_or_with_a_broken_one(tok, mixed, tmp_path):
    out = tmp_path / "out"
    assert pretokenize(tok, [str(mixed)], out, resume=True, jobs=1).n_ok == len(MIXED_OUTPUTS)
    (out / "gtok-manifest.json").write_text("{ not json")
    with pytest.warns(UnusableManifestWarning, match="invalid JSON"):
        s = pretokenize(tok, [str(mixed)], out, resume=True, jobs=1)
    assert s.n_ok == len(MIXED_OUTPUTS) and s.n_skipped == 0
    assert load_manifest(out / "gtok-manifest.json")["counts"]["ok"] == len(MIXED_OUTPUTS)


def test_stale_temporaries_are_removed_but_not_other_shards(tok, tmp_path):
    src = tmp_path / "src"
    for k in range(4):
        write_bed(src / f"t{k}.bed", 30, k)
    out = tmp_path / "out"
    out.mkdir()
    mine = out / ".t0.gtok.0123456789ab.tmp"  # shard 1 of 2 has t0 and t2
    theirs = out / ".t1.gtok.0123456789ab.tmp"  # shard 2's file, maybe being written now
    mine.write_bytes(b"GTOK\x01\x00")
    theirs.write_bytes(b"GTOK\x01\x00")
    pretokenize(tok, [str(src)], out, jobs=1, shard=(1, 2))
    assert not mine.exists()
    assert theirs.exists()
    pretokenize(tok, [str(src)], out, jobs=1)
    assert hidden_leftovers(out) == []


# ------------------------------------------------------------------------ the manifest


def test_manifest_fields(universe, tok, with_bad, tmp_path):
    src = with_bad["src"]
    out = tmp_path / "out"
    progress = []
    s = pretokenize(
        str(universe),
        [str(src)],
        out,
        jobs=2,
        progress=lambda r, done, total: progress.append((r.status, done, total)),
    )
    assert Path(s.manifest) == out / "gtok-manifest.json"
    m = load_manifest(out / "gtok-manifest.json")
    assert set(m) == {
        "format",
        "gtok_version",
        "universe",
        "settings",
        "shard",
        "started",
        "updated",
        "counts",
        "files",
    }
    assert m["format"] == "gtok-manifest/1"
    assert m["gtok_version"] == gtok.__version__
    assert m["universe"] == {
        "path": str(universe),
        "fingerprint": tok.fingerprint,
        "vocab_size": tok.vocab_size,
        "regions": tok.universe.n_regions,
    }
    assert m["settings"] == {"keep_order": False, "unk": "whole", "skip_bad_lines": False}
    assert m["shard"] is None
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}"
    assert re.fullmatch(stamp, m["started"]) and re.fullmatch(stamp, m["updated"])
    assert m["updated"] >= m["started"]
    assert m["counts"] == {"ok": 6, "skipped": 0, "error": 2, "pending": 0}
    keys = {
        "input",
        "output",
        "input_size",
        "status",
        "regions",
        "tokens",
        "unknown_chrom_regions",
        "skipped_lines",
        "output_size",
        "error",
    }
    assert [e["input"] for e in m["files"]] == sorted(e["input"] for e in m["files"])
    for e in m["files"]:
        assert set(e) == keys
        assert os.path.isabs(e["input"]) and not os.path.isabs(e["output"])
        assert e["output"] == Path(e["input"]).name.split(".")[0] + ".gtok"
        assert e["input_size"] == os.path.getsize(e["input"])
        if e["status"] == "ok":
            res = tok.tokenize(e["input"])
            assert e["error"] is None
            assert e["output_size"] == os.path.getsize(output_of(out, e))
            assert e["regions"] == res.n_regions
            assert e["tokens"] == len(res) == len(read_gtok(output_of(out, e)))
            assert e["unknown_chrom_regions"] == res.n_unknown_chrom
            assert e["skipped_lines"] == 0
        else:
            assert e["status"] == "error" and e["error"]
    assert sum(e["unknown_chrom_regions"] for e in m["files"]) > 0
    # the summary agrees with the manifest, and progress saw every input once
    assert [r.status for r in s.results] == [e["status"] for e in m["files"]]
    assert (s.n_ok, s.n_failed, s.n_pending, s.n_skipped) == (6, 2, 0, 0)
    assert sorted(d for _, d, _ in progress) == list(range(1, 9))
    assert {t for _, _, t in progress} == {8}
    assert "ok=6" in repr(s) and "failed=2" in repr(s)


def test_manifest_paths_work_from_another_folder(universe, mixed, tmp_path, monkeypatch):
    """Relative paths on the command line: verify and resume from elsewhere still work."""
    monkeypatch.chdir(tmp_path)
    assert cli("tokenize", "universe.bed", "peaks", "-o", "tokens", "-q") == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert cli("verify", tmp_path / "tokens", "-u", universe, "-q") == 0
    m = load_manifest(tmp_path / "tokens" / "gtok-manifest.json")
    assert m["universe"]["path"] == str(universe)
    assert {e["input"] for e in m["files"]} == {str(p) for p in mixed_pairs(mixed).values()}
    s = pretokenize(str(universe), [str(mixed)], tmp_path / "tokens", resume=True, jobs=1)
    assert s.n_skipped == len(MIXED_OUTPUTS)


def test_a_shard_with_no_inputs_writes_an_empty_manifest(tok, tmp_path):
    src = tmp_path / "src"
    for k in range(2):
        write_bed(src / f"e{k}.bed", 10, k)
    s = pretokenize(tok, [str(src)], tmp_path / "out", shard=(3, 4), jobs=2)
    assert s.ok and s.results == []
    m = load_manifest(tmp_path / "out" / "gtok-manifest.3-of-4.json")
    assert m["files"] == [] and m["counts"] == {"ok": 0, "skipped": 0, "error": 0, "pending": 0}


def test_manifest_rewrite_stays_cheap_for_100k_inputs(tmp_path):
    """The parent rewrites the manifest while it hands out work: for 10^5-file batches, one rewrite
    must cost a small multiple of serialising the same records
    with one ``json.dumps`` (the first version took ~6x that: 2.4 s). Measured against that
    yardstick in the same run, so a busy machine slows both sides."""
    from gtok.batch.run import FileResult
    from gtok.io.manifest import write_manifest

    n = 100_000
    results = [
        FileResult(
            input=f"/data/peaks/s{i:06d}.bed.gz",
            output=f"/o/s{i:06d}.gtok",
            input_size=1_234_567,
            status="ok",
            regions=50_000,
            tokens=52_000,
            output_size=104_005,
        )
        for i in range(n)
    ]
    path = tmp_path / "gtok-manifest.json"
    best = yardstick = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        entries = [dict(r.__dict__, output=f"s{i:06d}.gtok") for i, r in enumerate(results)]
        write_manifest(str(path), {"format": "gtok-manifest/1"}, entries)
        t1 = time.perf_counter()
        json.dumps([dict(r.__dict__) for r in results])
        best = min(best, t1 - t0)
        yardstick = min(yardstick, time.perf_counter() - t1)
    assert best < 4 * yardstick, f"{best:.2f} s for one rewrite, {yardstick:.2f} s json.dumps"
    m = load_manifest(path)
    assert len(m["files"]) == n and m["counts"]["ok"] == n
    assert m["files"][7] == {
        "input": "/data/peaks/s000007.bed.gz",
        "output": "s000007.gtok",
        "input_size": 1_234_567,
        "status": "ok",
        "regions": 50_000,
        "tokens": 52_000,
        "unknown_chrom_regions": 0,
        "skipped_lines": 0,
        "output_size": 104_005,
        "error": None,
    }


def test_workers_take_the_largest_inputs_first_and_finish_together(tok, tmp_path, monkeypatch):
    """Largest first (gzip counted at 4x its size by name), the last ``jobs`` inputs only to
    an idle worker; the manifest keeps the sorted input order."""
    from gtok.batch import pool as _procpool

    root = tmp_path / "peaks"
    sizes = {
        "a.bed": 40,
        "b.bed": 400,
        "c.bed": 10,
        "d.bed": 200,
        "e.bed": 90,
        "f.bed": 300,
        "g.bed": 20,
        "h.bed": 60,
    }
    for i, (name, n) in enumerate(sizes.items()):
        write_bed(root / name, n, i)
    write_bed(root / "z.bed.gz", 400, 99, gz=True)  # ~1/4 the bytes of b.bed, unzipped
    work = {p.name: p.stat().st_size * (4 if p.name.endswith(".gz") else 1) for p in root.iterdir()}
    submitted: list[tuple[str, int]] = []
    real_submit = _procpool.ProcessPool.submit

    def submit(pool, key, args):
        submitted.append((Path(args[0]).name, pool.idle_workers))
        real_submit(pool, key, args)

    monkeypatch.setattr(_procpool.ProcessPool, "submit", submit)
    summary = pretokenize(tok, [str(root)], str(tmp_path / "out"), jobs=2)
    assert summary.ok
    names = [name for name, _ in submitted]
    assert names == sorted(work, key=work.get, reverse=True)
    # the last two (as many as workers) each went to a worker with nothing to do
    assert all(idle > 0 for _, idle in submitted[-2:])
    m = load_manifest(tmp_path / "out" / "gtok-manifest.json")
    assert [Path(e["input"]).name for e in m["files"]] == sorted(work)
    assert gtok_files(tmp_path / "out") == expected_for(
        tok, {n.split(".")[0] + ".gtok": root / n for n in work}, tmp_path / "ref"
    )
    # a batch above the size-order limit runs in input order (no stat per input first)
    from gtok.batch import run as batch

    monkeypatch.setattr(batch, "_SIZE_ORDER_UP_TO", 3)
    submitted.clear()
    assert pretokenize(tok, [str(root)], str(tmp_path / "out2"), jobs=2).ok
    assert [name for name, _ in submitted] == sorted(work)


def test_a_pack_run_removes_what_a_killed_one_left(tok, tmp_path):
    """kill -9 during --pack leaves the hidden temporary of the pack; the next complete run
    removes it (and only the pack's own: another file's temporary may be in use)."""
    from gtok.batch.packing import tokenize_to_pack

    src = tmp_path / "src"
    for k in range(3):
        write_bed(src / f"t{k}.bed", 30, k)
    stale = tmp_path / ".all.gtok.0123456789ab.tmp"
    other = tmp_path / ".other.gtok.0123456789ab.tmp"
    stale.write_bytes(b"GTOK\x81" + bytes(100))
    other.write_bytes(b"GTOK\x81")
    s = tokenize_to_pack(tok, [str(src)], tmp_path / "all.gtok", jobs=1)
    assert s.n_docs == 3 and not stale.exists() and other.exists()
    stale.write_bytes(b"GTOK\x81")
    assert (
        cli(
            "tokenize",
            str(tok.universe.source),
            str(src),
            "--pack",
            str(tmp_path / "all.gtok"),
            "-q",
        )
        == 0
    )
    assert not stale.exists() and other.exists()


def test_pack_refuses_the_options_of_per_file_outputs(tmp_path):
    """`-o` was silently ignored with `--pack` (as `--resume` and `--shard` would be)."""
    universe = make_universe(tmp_path / "universe.bed")
    bed = write_bed(tmp_path / "a.bed", 20, 1)
    for extra in (["-o", str(tmp_path / "out")], ["--resume"], ["--overwrite"], ["--shard", "1/2"]):
        r = run_cli("tokenize", universe, bed, "--pack", tmp_path / "p.gtok", *extra)
        assert r.returncode == 2, (extra, r.stderr)
        assert "per-file outputs" in r.stderr
        assert not (tmp_path / "p.gtok").exists()


def test_batch_summary_says_ok_as_its_attribute_does(tmp_path):
    universe = make_universe(tmp_path / "universe.bed")
    write_bed(tmp_path / "in" / "a.bed", 20, 1)
    s = pretokenize(str(universe), [str(tmp_path / "in")], tmp_path / "out", jobs=1)
    assert repr(s).startswith("BatchSummary(ok=True, n_ok=1, n_skipped=0, n_failed=0,")


def test_resume_with_another_universe_stops_unless_overwrite(tmp_path):
    """--resume with another universe redid everything without a word: it now stops,
    naming both universes, and replaces nothing; --overwrite redoes the run (warning)."""
    one = make_universe(tmp_path / "one.bed", seed=1)
    two = make_universe(tmp_path / "two.bed", seed=2)
    write_bed(tmp_path / "in" / "a.bed", 20, 1)
    out = tmp_path / "out"
    assert pretokenize(str(one), [str(tmp_path / "in")], out, jobs=1).ok
    before = (out / "a.gtok").read_bytes()
    manifest = (out / "gtok-manifest.json").read_bytes()
    with pytest.raises(FingerprintMismatchError, match="this --resume run") as info:
        pretokenize(str(two), [str(tmp_path / "in")], out, jobs=1, resume=True)
    assert str(two) in str(info.value) and "gtok-manifest.json" in str(info.value)
    assert (out / "a.gtok").read_bytes() == before
    assert (out / "gtok-manifest.json").read_bytes() == manifest
    with pytest.warns(UnusableManifestWarning, match="used another universe"):
        s = pretokenize(str(two), [str(tmp_path / "in")], out, jobs=1, resume=True, overwrite=True)
    assert s.ok and s.n_ok == 1
    assert (out / "a.gtok").read_bytes() != before
    # the same universe again: resumed, nothing redone
    assert pretokenize(str(two), [str(tmp_path / "in")], out, jobs=1, resume=True).n_skipped == 1
    # the command line: a usage error saying what to do, nothing replaced
    now = (out / "a.gtok").read_bytes()
    r = run_cli("tokenize", one, tmp_path / "in", "-o", out, "--resume")
    assert r.returncode == 2, r.stderr
    assert "--overwrite" in r.stderr and str(one) in r.stderr and "Traceback" not in r.stderr
    assert (out / "a.gtok").read_bytes() == now
    r = run_cli("tokenize", one, tmp_path / "in", "-o", out, "--resume", "--overwrite")
    assert r.returncode == 0 and "used another universe" in r.stderr
    assert (out / "a.gtok").read_bytes() == before


def test_inputs_of_another_genome_are_pointed_out(tmp_path):
    """Fly BED files against a human universe printed a normal summary."""
    universe = tmp_path / "human.bed"
    universe.write_text("chr1\t0\t100\nchr2\t0\t100\n")
    fly = tmp_path / "fly.bed"
    fly.write_text("chr2L\t10\t20\nchr3R\t10\t20\nchrX\t10\t20\nchr1\t10\t20\n")
    r = run_cli("tokenize", universe, fly, "-o", tmp_path / "out")
    assert r.returncode == 0
    assert "75 % of the regions lie on chromosomes the universe lacks (chr2L, chr3R, chrX)" in (
        r.stderr
    )
    fine = tmp_path / "fine.bed"
    fine.write_text("chr1\t10\t20\n")
    r = run_cli("tokenize", universe, fine, "-o", tmp_path / "out2")
    assert "warning" not in r.stderr


@pytest.mark.parametrize("resume", [False, True])
def test_a_rerun_replaces_the_manifest_before_its_first_output(tmp_path, resume):
    """A new in-process run writes its first manifest when its first input is done (the
    universe's hashing overlaps that input); over an earlier run's manifest, at once: it
    never records the other universe while an output of this run is in place."""
    one = make_universe(tmp_path / "one.bed", seed=1)
    two = make_universe(tmp_path / "two.bed", seed=2)
    for name in "ab":
        write_bed(tmp_path / "in" / f"{name}.bed", 20, 1)
    out = tmp_path / "out"
    assert pretokenize(str(one), [str(tmp_path / "in")], out, jobs=1).ok
    seen = []

    def progress(result, done, total):
        m = json.loads((out / "gtok-manifest.json").read_text())
        seen.append((m["universe"]["path"], [f["status"] for f in m["files"]]))

    def rerun():
        return pretokenize(
            str(two), [str(tmp_path / "in")], out, jobs=1, resume=resume, overwrite=resume,
            progress=progress,
        )  # fmt: skip

    if resume:
        with pytest.warns(UnusableManifestWarning, match="used another universe"):
            assert rerun().ok
    else:
        assert rerun().ok
    assert seen[0] == (os.path.abspath(two), ["pending", "pending"])
    assert json.loads((out / "gtok-manifest.json").read_text())["universe"]["path"] == (
        os.path.abspath(two)
    )
