"""What the command line says when something is off: universe and input swapped, a folder
that cannot be written (named, never its hidden temporary file), gtok's warnings as
``gtok: warning:`` lines, and one exit code rule for usage errors across the commands."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import warnings

import pytest

from gtok import Tokenizer, pretokenize, write_gtok
from gtok.cli.hints import SWAP_MIN_REGIONS, overlap_shares
from gtok.errors import GtokWarning, UncheckedUniverseWarning, UnusableManifestWarning
from gtok.example import SAMPLES, example_path

from batchdata import SUBPROCESS_CWD, cli, make_universe, run_cli, write_bed

SWAPPED = "Did you swap universe and input? usage: gtok tokenize UNIVERSE INPUT... -o OUTDIR"


# ------------------------------------------------------------------------ swapped arguments


@pytest.mark.parametrize("sample", SAMPLES)
def test_swapped_universe_and_input_are_pointed_out(sample, tmp_path):
    """`gtok tokenize sample.bed universe.bed` exited 0 without a word. The bundled example
    swapped: 93 % of the 'universe' (the sample) overlaps the input, only 47-61 % of the
    input (the real universe) overlaps the 'universe'."""
    r = run_cli("tokenize", example_path(sample), example_path("universe.bed"), "-o", tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stderr.splitlines()
    assert len([line for line in lines if line.startswith("gtok: warning:")]) == 1, r.stderr
    assert SWAPPED in r.stderr and "the universe looks like a sample of the input" in r.stderr
    assert f"({sample})" in r.stderr and "(universe.bed)" in r.stderr
    # the same, the right way round: no warning
    r = run_cli("tokenize", example_path("universe.bed"), example_path(sample), "-o", tmp_path)
    assert r.returncode == 0 and "warning" not in r.stderr, r.stderr


def test_swapped_warning_even_with_quiet(tmp_path):
    r = run_cli(
        "tokenize", example_path("sample1.bed"), example_path("universe.bed"), "-o", tmp_path, "-q"
    )
    assert r.returncode == 0 and r.stderr.startswith("gtok: warning: the universe looks like")


def test_the_swap_rule_leaves_legitimate_runs_alone(tmp_path):
    """A small universe (a test's), several inputs, an input of another genome, an input
    smaller than its universe: no swap warning."""
    # a universe of a handful of regions, fully covered by a larger input that mostly
    # misses it: the shape of a swap, but too few regions to say anything
    small = tmp_path / "small.bed"
    small.write_text("chr1\t100\t200\nchr1\t300\t400\nchr2\t0\t50\n")
    dense = tmp_path / "dense.bed"
    dense.write_text(
        "chr1\t150\t160\nchr1\t350\t360\nchr2\t10\t20\n"
        + "".join(f"chr1\t{k * 1000}\t{k * 1000 + 100}\n" for k in range(1, 500))
    )
    r = run_cli("tokenize", small, dense, "-o", tmp_path / "o1")
    assert r.returncode == 0 and "Did you swap" not in r.stderr, r.stderr
    # the swapped example, but with two inputs: the rule looks at one-input runs only
    r = run_cli(
        "tokenize",
        example_path("sample1.bed"),
        example_path("universe.bed"),
        example_path("sample3.bed.gz"),
        "-o",
        tmp_path / "o2",
    )
    assert r.returncode == 0 and "Did you swap" not in r.stderr, r.stderr
    # an input of another genome: that warning, not this one
    universe = tmp_path / "u.bed"
    universe.write_text("".join(f"chr1\t{k * 1000}\t{k * 1000 + 500}\n" for k in range(200)))
    fly = tmp_path / "fly.bed"
    fly.write_text(
        "".join(f"chr1\t{k * 1000 + 10}\t{k * 1000 + 20}\n" for k in range(200))
        + "".join(f"chr2L\t{k}\t{k + 5}\n" for k in range(300))
    )
    r = run_cli("tokenize", universe, fly, "-o", tmp_path / "o3")
    assert "chromosomes the universe lacks" in r.stderr and "Did you swap" not in r.stderr, r.stderr


def test_the_swap_rule_step_by_step(tmp_path):
    """Each condition of gtok.cli.hints' rule, on the example's sample1 (3,000 regions) and
    universe (3,237): the shares, then the sizes."""
    universe, sample = example_path("universe.bed"), example_path("sample1.bed")
    right = overlap_shares(Tokenizer(universe), sample, skip_bad_lines=False)
    swapped = overlap_shares(Tokenizer(sample), universe, skip_bad_lines=False)
    assert right[0] > 0.9 and right[1] < right[0]  # a sample mostly lies in its universe
    assert swapped[1] > 0.9 and swapped[1] - swapped[0] > 0.25  # swapped: the other way
    # the input no larger than the universe: no warning, whatever the shares
    few = tmp_path / "few.bed"
    with open(universe) as f:
        few.write_text("".join(f.readlines()[:2_900]))
    r = run_cli("tokenize", sample, few, "-o", tmp_path / "o")
    assert r.returncode == 0 and "Did you swap" not in r.stderr, r.stderr
    # a universe below SWAP_MIN_REGIONS regions: no warning
    tiny = tmp_path / "tiny.bed"
    with open(sample) as f:
        tiny.write_text("".join(f.readlines()[: SWAP_MIN_REGIONS - 1]))
    r = run_cli("tokenize", tiny, universe, "-o", tmp_path / "o2")
    assert r.returncode == 0 and "Did you swap" not in r.stderr, r.stderr
    with open(sample) as f:
        tiny.write_text("".join(f.readlines()[: SWAP_MIN_REGIONS + 50]))
    r = run_cli("tokenize", tiny, universe, "-o", tmp_path / "o3")
    assert r.returncode == 0 and SWAPPED in r.stderr, r.stderr


# ------------------------------------------------------------------------ gtok's warnings


def test_gtok_warnings_print_as_gtok_warning_lines(tmp_path):
    """--resume next to a manifest of another universe printed Python's
    `.../gtok/batch/run.py:440: UnusableManifestWarning: ...` form."""
    one = make_universe(tmp_path / "one.bed", seed=1)
    two = make_universe(tmp_path / "two.bed", seed=2)
    write_bed(tmp_path / "in" / "a.bed", 20, 1)
    out = tmp_path / "out"
    assert cli("tokenize", one, tmp_path / "in", "-o", out, "-q") == 0
    (out / "gtok-manifest.0.json").write_text("{ not json")
    r = run_cli("tokenize", two, tmp_path / "in", "-o", out, "--resume", "--overwrite")
    assert r.returncode == 0, r.stderr
    said = [line for line in r.stderr.splitlines() if "--resume" in line]
    assert len(said) == 2, r.stderr  # the broken manifest, and the other universe
    assert all(line.startswith("gtok: warning: ") for line in said), said
    assert "UnusableManifestWarning" not in r.stderr and "run.py" not in r.stderr


def test_the_python_api_still_warns_and_main_puts_warnings_back(tmp_path, capsys):
    one = make_universe(tmp_path / "one.bed", seed=1)
    two = make_universe(tmp_path / "two.bed", seed=2)
    write_bed(tmp_path / "in" / "a.bed", 20, 1)
    out = tmp_path / "out"
    assert pretokenize(str(one), [str(tmp_path / "in")], out, jobs=1).ok
    shown = warnings.showwarning
    argv = ("tokenize", two, tmp_path / "in", "-o", out, "--resume", "--overwrite", "-q")
    assert cli(*argv, "-j", "1") == 0
    assert "gtok: warning: " in capsys.readouterr().err
    assert warnings.showwarning is shown
    with pytest.warns(UnusableManifestWarning, match="used another universe"):
        pretokenize(str(one), [str(tmp_path / "in")], out, jobs=1, resume=True, overwrite=True)
    assert issubclass(UnusableManifestWarning, GtokWarning)
    assert issubclass(UncheckedUniverseWarning, GtokWarning)
    assert issubclass(GtokWarning, UserWarning)


def test_other_warnings_go_where_they_went(capsys):
    """Only gtok's warnings become lines: another's goes on to the warnings machinery in
    place (here pytest's recorder; in the program, Python's file:line: form)."""
    from gtok.cli.program import gtok_warnings_as_lines

    with pytest.warns(UserWarning) as recorded:
        with gtok_warnings_as_lines():
            warnings.warn_explicit("not ours", UserWarning, "somewhere.py", 7)
            warnings.warn_explicit("ours", UnusableManifestWarning, "gtok/x.py", 9)
    assert [str(w.message) for w in recorded] == ["not ours"]
    assert capsys.readouterr().err == "gtok: warning: ours\n"


# ------------------------------------------------------------------------ unwritable folders


def refuse_temporaries(monkeypatch, *, but: str = "\0"):
    """os.open refuses (EACCES) the hidden temporary files of AtomicFile (except those
    whose name starts with ``but``), as a folder without write permission would."""
    real = os.open

    def refusing(path, flags, mode=0o777, **kwargs):
        name = os.path.basename(os.fspath(path))
        if name.startswith(".") and name.endswith(".tmp") and not name.startswith(but):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real(path, flags, mode, **kwargs)

    monkeypatch.setattr(os, "open", refusing)


def test_an_unwritable_output_folder_is_named_not_a_temporary(tmp_path, monkeypatch, capsys):
    universe = make_universe(tmp_path / "universe.bed")
    write_bed(tmp_path / "in" / "a.bed", 20, 1)
    out = tmp_path / "tokens"
    refuse_temporaries(monkeypatch)
    assert cli("tokenize", universe, tmp_path / "in", "-o", out, "-j", "1") == 1
    err = capsys.readouterr().err
    assert (
        f"gtok tokenize: [Errno 13] cannot write {out}/gtok-manifest.json: "
        f"permission denied on folder {out}/\n"
    ) in err
    assert ".tmp" not in err
    # the pack of tokenize --pack
    pack = tmp_path / "packs" / "p.gtok"
    assert cli("tokenize", universe, tmp_path / "in", "--pack", pack, "-j", "1") == 1
    err = capsys.readouterr().err
    assert f"cannot write {pack}: permission denied on folder {pack.parent}/" in err, err


def test_an_unwritable_output_names_each_failed_input_s_output(tmp_path, monkeypatch, capsys):
    universe = make_universe(tmp_path / "universe.bed")
    write_bed(tmp_path / "in" / "a.bed", 20, 1)
    out = tmp_path / "tokens"
    refuse_temporaries(monkeypatch, but=".gtok-manifest")  # the manifest is written
    assert cli("tokenize", universe, tmp_path / "in", "-o", out, "-j", "1") == 1
    err = capsys.readouterr().err
    want = f"PermissionError: [Errno 13] cannot write {out}/a.gtok: permission denied on folder"
    assert want in err and ".tmp" not in err, err


def test_gtok_pack_into_an_unwritable_folder(tmp_path, monkeypatch, capsys):
    write_gtok(tmp_path / "t" / "a.gtok", [1, 2])
    refuse_temporaries(monkeypatch)
    assert cli("pack", tmp_path / "out" / "p.gtok", tmp_path / "t") == 1
    err = capsys.readouterr().err
    assert f"gtok pack: [Errno 13] cannot write {tmp_path}/out/p.gtok: permission denied" in err
    assert ".tmp" not in err


def without_root_powers() -> list[str]:
    """A command prefix under which file permissions hold: nothing for a user; for root
    (who may write anywhere), setpriv dropping the capabilities that override them."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: permissions cannot be tested")
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search,-fowner", "--"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="setpriv, file modes")
def test_a_real_read_only_folder(tmp_path):
    """The same with a real folder the process may not write (mode 555)."""
    prefix = without_root_powers()
    universe = make_universe(tmp_path / "universe.bed")
    write_bed(tmp_path / "in" / "a.bed", 20, 1)
    out = tmp_path / "tokens"
    out.mkdir()
    out.chmod(0o555)
    try:
        probe = subprocess.run([*prefix, "touch", str(out / "probe")], capture_output=True)
        if probe.returncode == 0:
            pytest.skip("this process may write a mode-555 folder")
        for args, target in (
            (["-o", out], out / "gtok-manifest.json"),
            (["--pack", out / "p.gtok"], out / "p.gtok"),
        ):
            r = subprocess.run(
                [
                    *prefix,
                    sys.executable,
                    "-m",
                    "gtok",
                    "tokenize",
                    str(universe),
                    str(tmp_path / "in"),
                    *map(str, args),
                ],
                capture_output=True,
                text=True,
                cwd=SUBPROCESS_CWD,
                timeout=60,
            )
            assert r.returncode == 1, r.stderr
            assert f"cannot write {target}: permission denied on folder {out}/" in r.stderr
            assert ".tmp" not in r.stderr and "Traceback" not in r.stderr
        assert os.listdir(out) == []
    finally:
        out.chmod(0o755)


# ------------------------------------------------------------------------ exit codes


def test_files_named_wrongly_are_usage_errors_in_every_command(tmp_path, capsys):
    """One rule (gtok.cli.status): a file or folder named on the command line that is not
    there, or a folder where a file goes, exits 2 as in gtok tokenize; a file whose
    content is wrong exits 1."""
    universe = make_universe(tmp_path / "universe.bed")
    missing = tmp_path / "missing"
    write_gtok(tmp_path / "t.gtok", [1, 2])
    bad = tmp_path / "bad.gtok"
    bad.write_bytes(b"GTOK\x07")
    usage = [
        ("tokenize", universe, missing, "-o", tmp_path / "o"),
        ("tokenize", missing, tmp_path / "t.gtok", "-o", tmp_path / "o"),
        ("tokenize", universe, missing, "--pack", tmp_path / "p.gtok"),
        ("pack", tmp_path / "p.gtok", missing),
        ("decode", missing, "-u", universe),
        ("decode", tmp_path / "t.gtok", "-u", missing),
        ("fragments", universe, missing, "-o", tmp_path / "p.gtok"),
        ("fragments", universe, tmp_path, "-o", tmp_path / "p.gtok"),
        ("parquet", "import", "a.parquet", "b.parquet", "-o", tmp_path / "p.gtok"),
    ]
    for args in usage:
        assert cli(*args) == 2, args
        assert str(args[0]) in capsys.readouterr().err
    failed = [
        ("pack", tmp_path / "p.gtok", bad),
        ("decode", bad, "-u", universe),
        ("info", missing),  # (info reports each file and goes on)
        ("verify", missing, "-u", universe),  # (a check: what is missing is a finding)
    ]
    for args in failed:
        assert cli(*args) == 1, args
    assert not (tmp_path / "p.gtok").exists() and not (tmp_path / "o").exists()


def test_anndata_and_parquet_name_a_missing_file_as_usage(tmp_path, capsys):
    pytest.importorskip("h5py")
    pytest.importorskip("pyarrow")
    universe = make_universe(tmp_path / "universe.bed")
    missing = tmp_path / "missing"
    assert cli("anndata", universe, missing, "-o", tmp_path / "p.gtok") == 2
    assert cli("parquet", "export", missing, "-o", tmp_path / "x.parquet") == 2
    assert cli("parquet", "import", missing, "-o", tmp_path / "p.gtok") == 2
    assert str(missing) in capsys.readouterr().err
