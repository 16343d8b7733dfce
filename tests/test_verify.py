"""gtok.batch.verify as a library (``gtok verify`` prints its report): what makes a folder
of batch outputs, or a file, fail the check."""

from __future__ import annotations

import json
from pathlib import Path

from gtok import Tokenizer, pretokenize, write_gtok
from gtok.batch.verify import verify

from batchdata import make_universe, write_bed


def _batch(tmp_path: Path, **kwargs) -> tuple[Tokenizer, Path]:
    tok = Tokenizer(make_universe(tmp_path / "universe.bed"))
    src = tmp_path / "src"
    for k in range(4):
        write_bed(src / f"s{k}.bed", 100, k)
    out = tmp_path / "out"
    assert pretokenize(tok, [str(src)], out, jobs=1, **kwargs).ok
    return tok, out


def test_a_complete_folder_passes(tmp_path):
    tok, out = _batch(tmp_path)
    report = verify([str(out)], tok)
    assert report.ok and report.files_checked == 4 and report.problems == []


def test_each_problem_is_named(tmp_path):
    tok, out = _batch(tmp_path)
    (out / "s1.gtok").unlink()  # missing
    write_gtok(out / "s2.gtok", [1, 2, 3])  # rewritten: other size
    write_gtok(out / "stray.gtok", [1])  # listed by no manifest
    report = verify([str(out)], tok)
    text = "\n".join(report.problems)
    assert "s1.gtok: listed in the manifest but missing" in text
    assert "s2.gtok: " in text and "the manifest recorded" in text
    assert "stray.gtok: not in any manifest" in text
    assert len(report.problems) == 3 and not report.ok


def test_another_universe_and_ids_outside_its_vocabulary(tmp_path):
    tok, out = _batch(tmp_path)
    small = Tokenizer(make_universe(tmp_path / "small.bed", n_per_chrom=3, seed=9))
    report = verify([str(out)], small)
    assert any("made with universe fingerprint" in p for p in report.problems)
    assert any("outside the vocabulary" in p for p in report.problems)


def test_missing_shards_and_failed_entries(tmp_path):
    tok, out = _batch(tmp_path, shard=(1, 3))
    manifest = out / "gtok-manifest.1-of-3.json"
    data = json.loads(manifest.read_text())
    data["files"][0]["status"], data["files"][0]["error"] = "error", "ValueError: bad"
    manifest.write_text(json.dumps(data))
    text = "\n".join(verify([str(out)], tok).problems)
    assert "shard 2/3 has not run" in text and "shard 3/3 has not run" in text
    assert "not done (error: ValueError: bad)" in text


def test_files_without_a_manifest(tmp_path):
    tok = Tokenizer(make_universe(tmp_path / "universe.bed"))
    write_gtok(tmp_path / "a.gtok", [7])
    (tmp_path / "broken.gtok").write_bytes(b"GTOK\x07")
    report = verify([str(tmp_path / "a.gtok"), str(tmp_path / "broken.gtok")], tok)
    assert report.files_checked == 2 and len(report.problems) == 1
    assert "broken.gtok" in report.problems[0]
    folder = verify([str(tmp_path)], tok)
    assert any("no gtok manifest" in p for p in folder.problems)


def test_a_pack_is_checked_against_the_universe_it_records(tmp_path):
    """`gtok verify PACK -u UNIVERSE` ignored the fingerprint the pack records: a pack made
    with one universe verified clean against another."""
    from gtok import write_pack

    one = tmp_path / "one.bed"
    one.write_text("chr1\t0\t10\nchr1\t20\t30\nchr1\t40\t50\n")
    two = tmp_path / "two.bed"
    two.write_text("chr2\t0\t10\nchr2\t20\t30\nchr2\t40\t50\n")
    write_pack(tmp_path / "p.gtok", [[0, 1], [2]], tokenizer=Tokenizer(str(one)))
    assert verify([str(tmp_path / "p.gtok")], Tokenizer(str(one))).ok
    report = verify([str(tmp_path / "p.gtok")], Tokenizer(str(two)))
    assert not report.ok and "fingerprint" in report.problems[0]
