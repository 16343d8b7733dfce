"""The ``gtok`` command line: help and usage, ``tokenize --example``, ``info``, ``decode``
and ``verify``. (Batch behaviour of ``gtok tokenize`` is in ``test_batch_cli.py``.)"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gtok import Tokenizer, pretokenize, read_gtok, write_gtok, write_pack
from gtok.example import SAMPLES, example_path

from batchdata import (  # noqa: F401
    SUBPROCESS_CWD,
    cli,
    gtok_files,
    make_universe,
    reference_bytes,
    run_cli,
    write_bed,
)

SUBCOMMANDS = ("tokenize", "info", "decode", "verify")


@pytest.fixture
def done(tok, tmp_path) -> Path:
    """An output folder of a clean run over 5 inputs."""
    src = tmp_path / "src"
    for k in range(5):
        write_bed(src / f"s{k}.bed", 150, k)
    out = tmp_path / "out"
    assert pretokenize(tok, [str(src)], out, jobs=1).ok
    return out


# ------------------------------------------------------------------------ help and usage


def test_help_exits_zero_for_gtok_and_every_subcommand(capsys):
    assert cli("--help") == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: gtok")
    for name in SUBCOMMANDS:
        assert name in text
    for name in SUBCOMMANDS:
        assert cli(name, "--help") == 0, name
        text = capsys.readouterr().out
        assert text.startswith(f"usage: gtok {name}"), text
    assert cli("--version") == 0
    assert re.fullmatch(r"gtok \d+\.\d+\.\d+\S*\n", capsys.readouterr().out)


def test_help_from_the_console_script_and_python_m():
    script = shutil.which("gtok", path=os.path.dirname(sys.executable))
    assert script, "console script 'gtok' not installed"
    for cmd in (
        [script, "--help"],
        [sys.executable, "-m", "gtok", "--help"],
        [script, "tokenize", "--help"],
    ):
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=SUBPROCESS_CWD)
        assert r.returncode == 0 and r.stdout.startswith("usage: gtok") and r.stderr == ""


ALL_COMMANDS = ("tokenize", "pack", "info", "decode", "verify", "fragments", "anndata", "parquet")


@pytest.mark.parametrize("columns", [80, 60])
def test_help_texts_wrap_to_the_terminal(columns, monkeypatch, capsys):
    """`gtok tokenize --help` (and anndata's, parquet's) printed descriptions as one line
    of 300-400 characters. Every line now fits the terminal ($COLUMNS), and the examples
    keep their lines."""
    monkeypatch.setenv("COLUMNS", str(columns))
    texts = {}
    for command in ("", *ALL_COMMANDS):
        assert cli(*([command] if command else []), "--help") == 0
        texts[command] = capsys.readouterr().out
        # the examples, kept as written, fit 80 columns
        text, *examples = re.split(r"\nexamples?:\n", texts[command])
        examples = "".join(examples)
        too_long = [line for line in text.splitlines() if len(line) > columns]
        too_long += [line for line in examples.splitlines() if len(line) > 80]
        assert not too_long, (command, too_long)
    assert set(ALL_COMMANDS) <= set(texts[""].split())
    examples = texts["tokenize"].split("examples:\n")[1].splitlines()
    assert "  gtok tokenize universe.bed peaks/ -o tokens/ -j 8" in examples
    assert "      --barcodes barcodes.tsv --min-fragments 1000 --unique" in texts["fragments"]


@pytest.mark.parametrize(
    "args",
    [
        (),  # no command
        ("frobnicate",),  # unknown command
        ("tokenize",),  # nothing to do
        ("tokenize", "universe.bed"),  # no input, no -o
        ("tokenize", "universe.bed", "in.bed"),  # no -o
        ("tokenize", "universe.bed", "-o", "out"),  # no input
        ("tokenize", "universe.bed", "in.bed", "-o", "out", "--unk", "each"),
        ("tokenize", "universe.bed", "in.bed", "-o", "out", "-j", "many"),
        ("tokenize", "--example", "a", "b"),
        ("tokenize", "--example", "a", "-o", "b"),
        ("info",),
        ("decode",),  # a file is required
        ("verify", "-u", "universe.bed"),  # nothing to verify
        ("tokenize", "--no-such-option"),
    ],
)
def test_usage_errors_exit_2(args, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli(*args) == 2
    captured = capsys.readouterr()
    assert captured.err or captured.out  # something says what is wrong
    assert not (tmp_path / "out").exists() and not (tmp_path / "a").exists()


def test_usage_error_from_a_subprocess_has_no_traceback(tmp_path):
    r = run_cli("tokenize", "--shard", "5/2", cwd=tmp_path)
    assert r.returncode == 2 and "usage:" in r.stderr and "Traceback" not in r.stderr


# ------------------------------------------------------------------------ tokenize --example


@pytest.mark.parametrize("form", ["positional", "-o"])
def test_tokenize_example(tmp_path, form):
    out = tmp_path / "ex"
    args = (
        ["tokenize", "--example", out]
        if form == "positional"
        else ["tokenize", "--example", "-o", out]
    )
    r = run_cli(*args)
    assert r.returncode == 0, r.stderr
    tok = Tokenizer(example_path("universe.bed"))
    want = {}
    for name in SAMPLES:
        stem = name.split(".")[0]
        want[f"{stem}.gtok"] = reference_bytes(tok, example_path(name), tmp_path)
    assert gtok_files(out) == want
    assert [len(read_gtok(out / f"sample{k}.gtok")) for k in (1, 2, 3)] == [3077, 2573, 2061]
    r = run_cli("verify", out, "-u", example_path("universe.bed"))
    assert r.returncode == 0, r.stderr


def test_tokenize_example_default_folder(tmp_path):
    r = run_cli("tokenize", "--example", "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert set(gtok_files(tmp_path / "gtok-example")) == {
        "sample1.gtok",
        "sample2.gtok",
        "sample3.gtok",
    }


# ------------------------------------------------------------------------ info


def test_info_fields(tok, tmp_path, capsys):
    small = tmp_path / "small.gtok"
    write_gtok(small, [5, 3, 1600, 9])
    wide = tmp_path / "wide.gtok"
    write_gtok(wide, [70000, 2, 4_000_000_000])
    empty = tmp_path / "empty.gtok"
    write_gtok(empty, [])
    assert cli("info", small) == 0
    fields = dict(
        re.match(r"([^:]+):\s+(.*)", line).groups() for line in capsys.readouterr().out.splitlines()
    )
    assert fields == {
        "file": str(small),
        "format": "gtok v1 (gtars-compatible)",
        "width": "16-bit (uint16)",
        "tokens": "4",
        "min id": "3",
        "max id": "1600",
        "bytes": "13",
    }
    assert cli("info", wide, empty) == 0
    out = capsys.readouterr().out
    blocks = [
        dict(re.match(r"([^:]+):\s+(.*)", line).groups() for line in b.splitlines())
        for b in out.strip().split("\n\n")
    ]
    assert blocks[0]["width"] == "32-bit (uint32)" and blocks[0]["max id"] == "4000000000"
    assert blocks[0]["tokens"] == "3" and blocks[0]["bytes"] == str(5 + 12)
    assert blocks[1]["tokens"] == "0" and blocks[1]["bytes"] == "5"


def test_info_reports_bad_files_and_goes_on(tmp_path, capsys):
    good = tmp_path / "good.gtok"
    write_gtok(good, [1, 2])
    cut = tmp_path / "cut.gtok"
    cut.write_bytes(b"GTOK\x02\x01\x00\x00")  # 3 of 4 bytes of an id
    notgtok = tmp_path / "x.gtok"
    notgtok.write_bytes(b"hello world")
    assert cli("info", cut, good, notgtok, tmp_path / "missing.gtok", tmp_path) == 1
    captured = capsys.readouterr()
    assert "file:    " + str(good) in captured.out
    for name, what in [
        ("cut.gtok", "truncated"),
        ("x.gtok", "GTOK"),
        ("missing.gtok", "No such file"),
        (str(tmp_path), "folder"),
    ]:
        assert any(name in line and what in line for line in captured.err.splitlines()), (
            name,
            captured.err,
        )
    assert "Traceback" not in captured.err


# ------------------------------------------------------------------------ decode


def test_decode_prints_the_tokenize_strings_as_bed(tok, done, capsys):
    path = done / "s0.gtok"
    ids = read_gtok(path)
    strings = tok.decode(ids)
    assert cli("decode", path, "-u", tok.universe.source) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(ids) > 10
    assert [f"{c}:{s}-{e}" for c, s, e in (line.split("\t") for line in lines)] == strings
    assert cli("decode", path, "-u", tok.universe.source, "--ids") == 0
    rows = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert [int(r[3]) for r in rows] == ids.tolist()
    assert [f"{c}:{s}-{e}" for c, s, e, _ in rows] == strings


def test_decode_names_special_tokens(tok, tmp_path, capsys):
    n = tok.universe.n_regions
    path = tmp_path / "special.gtok"
    write_gtok(path, [n, 0, n + 1, n + 2, n + 3, n + 4, n + 5, n + 6])
    assert cli("decode", path, "-u", tok.universe.source) == 0
    lines = capsys.readouterr().out.splitlines()
    first = tok.decode([0])[0]
    assert lines == [
        "<unk>",
        "\t".join(re.split("[:-]", first)),
        "<pad>",
        "<mask>",
        "<cls>",
        "<eos>",
        "<bos>",
        "<sep>",
    ]
    assert cli("decode", path, "-u", tok.universe.source, "--ids") == 0
    assert capsys.readouterr().out.splitlines()[0] == f"<unk>\t{n}"


def test_decode_a_pack_document_by_document(tok, tmp_path, capsys):
    from gtok import write_pack

    docs = [[0, 1], [tok.universe.n_regions], [2, 2, 3]]
    u = tok.universe.source
    write_pack(tmp_path / "named.gtok", docs, names=["a", "b", "c"])
    write_pack(tmp_path / "bare.gtok", docs, names=None)
    bed = [tok.decode(d) for d in docs]

    def as_bed(strings):
        return ["\t".join(re.split("[:-]", x)) if ":" in x else x for x in strings]

    assert cli("decode", tmp_path / "named.gtok", "-u", u) == 0
    want = ["# a", *as_bed(bed[0]), "# b", "<unk>", "# c", *as_bed(bed[2])]
    assert capsys.readouterr().out.splitlines() == want
    assert cli("decode", tmp_path / "bare.gtok", "-u", u) == 0
    assert capsys.readouterr().out.splitlines()[0] == "# 0"
    for pick in ("c", "2"):
        assert cli("decode", tmp_path / "named.gtok", "-u", u, "--doc", pick) == 0
        assert capsys.readouterr().out.splitlines() == as_bed(bed[2])
    assert cli("decode", tmp_path / "named.gtok", "-u", u, "--doc", "7") == 1
    assert "no document '7'" in capsys.readouterr().err
    write_gtok(tmp_path / "one.gtok", [0])
    assert cli("decode", tmp_path / "one.gtok", "-u", u, "--doc", "0") == 1
    assert "--doc is for packs" in capsys.readouterr().err


def test_decode_errors(tok, tmp_path, capsys):
    path = tmp_path / "big.gtok"
    write_gtok(path, [0, tok.vocab_size])
    assert cli("decode", path, "-u", tok.universe.source) == 1
    err = capsys.readouterr().err
    assert f"id {tok.vocab_size}" in err and "outside the vocabulary" in err
    # a file or universe named on the command line that is not there: a usage error, as
    # for gtok tokenize (gtok.cli.status)
    assert cli("decode", tmp_path / "missing.gtok", "-u", tok.universe.source) == 2
    assert "missing.gtok" in capsys.readouterr().err
    assert cli("decode", tmp_path / "missing.gtok") == 2
    assert "missing.gtok: no such file" in capsys.readouterr().err
    write_gtok(path, [0])
    assert cli("decode", path, "-u", tmp_path / "no_universe.bed") == 2
    assert "no_universe.bed" in capsys.readouterr().err


def test_decode_into_head_has_no_traceback(tok, tmp_path):
    # more output than a pipe buffer holds, so the writer meets the closed pipe
    path = tmp_path / "long.gtok"
    write_gtok(path, np.arange(200_000) % tok.universe.n_regions)
    cmd = (
        f"{sys.executable} -m gtok decode {path} -u {tok.universe.source} | head -n 3; "
        "exit ${PIPESTATUS[0]}"
    )
    r = subprocess.run(
        ["bash", "-c", cmd], capture_output=True, text=True, timeout=60, cwd=SUBPROCESS_CWD
    )
    assert r.stderr == ""
    assert r.stdout.splitlines() == ["\t".join(re.split("[:-]", s)) for s in tok.decode([0, 1, 2])]
    assert r.returncode in (0, 1, 141)  # never the 120 of a failed flush at exit


@pytest.mark.parametrize("kind", ["v1", "pack"])
def test_info_into_head_has_no_traceback(tmp_path, kind):
    """`gtok info FILE... | head -1`: the reader closes the pipe; no traceback, ever (the
    files are many, so the output outgrows the pipe's buffer and the writer meets it)."""
    path = tmp_path / "x.gtok"
    if kind == "v1":
        write_gtok(path, [1, 2, 3])
    else:
        write_pack(path, [np.arange(5), np.arange(3)], names=["a", "b"])
    args = " ".join(["x.gtok"] * 3000)
    cmd = f"{sys.executable} -m gtok info {args} | head -n 1; exit ${{PIPESTATUS[0]}}"
    r = subprocess.run(
        ["bash", "-c", cmd], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert r.stderr == "" and r.returncode == 0
    assert r.stdout.startswith("file")


def test_the_program_flushes_its_output_before_its_quick_exit(tok, tmp_path):
    """`gtok` ends with os._exit once a command returns: buffered output still arrives in
    full, and output that cannot be written (a full disk) is a failure, not a silent 0."""
    path = tmp_path / "many.gtok"
    write_gtok(path, np.arange(200_000) % tok.universe.n_regions)
    cmd = [sys.executable, "-m", "gtok", "decode", str(path), "-u", tok.universe.source]
    # buffered output, as a user's shell has it (PYTHONUNBUFFERED would hide a lost flush)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=SUBPROCESS_CWD, env=env)
    assert r.returncode == 0 and r.stderr == ""
    assert len(r.stdout.splitlines()) == 200_000
    if os.path.exists("/dev/full"):
        with open("/dev/full", "w") as full:
            r = subprocess.run(
                cmd[:3] + ["info", str(path)],
                stdout=full,
                stderr=subprocess.PIPE,
                timeout=60,
                cwd=SUBPROCESS_CWD,
                env=env,
            )
        assert r.returncode != 0
    # started with stdout closed (`gtok info x.gtok >&-`): nothing to print to, no error
    r = subprocess.run(
        cmd[:3] + ["info", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=60,
        cwd=SUBPROCESS_CWD,
        env=env,
        preexec_fn=lambda: os.close(1),
    )
    assert r.returncode == 0, r.stderr


# ------------------------------------------------------------------------ verify


def test_verify_ok_folder_and_files(tok, done, capsys):
    assert cli("verify", done, "-u", tok.universe.source) == 0
    out = capsys.readouterr()
    assert "5 file(s) checked, 0 problem(s)" in out.out and out.err == ""
    assert cli("verify", done / "s0.gtok", done / "s1.gtok", "-u", tok.universe.source) == 0
    assert "2 file(s) checked, 0 problem(s)" in capsys.readouterr().out
    assert cli("verify", done, "-u", tok.universe.source, "-q") == 0
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    "damage,expect",
    [
        ("truncate", r"s2\.gtok.*truncated"),
        ("short", r"s2\.gtok.*shorter than the 5-byte"),
        ("magic", r"s2\.gtok.*does not start with b'GTOK'"),
        ("flag", r"s2\.gtok.*unknown width flag"),
        (
            "big_id",
            r"s2\.gtok: id 1607 at position 1 is outside the vocabulary \(vocab_size 1607\)",
        ),
        ("delete", r"s2\.gtok: listed in the manifest but missing"),
    ],
)
def test_verify_finds_damaged_files(tok, done, damage, expect, capsys):
    path = done / "s2.gtok"
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[:-1])
    elif damage == "short":
        path.write_bytes(b"GTO")
    elif damage == "magic":
        path.write_bytes(b"GTOX" + data[4:])
    elif damage == "flag":
        path.write_bytes(b"GTOK\x07" + data[5:])
    elif damage == "big_id":
        write_gtok(path, [0, tok.vocab_size, 1])
    elif damage == "delete":
        path.unlink()
    assert cli("verify", done, "-u", tok.universe.source) == 1
    captured = capsys.readouterr()
    assert re.search(expect, captured.err), captured.err
    assert "1 problem(s)" in captured.out
    if damage != "delete":  # a single file is checked the same way
        assert cli("verify", path, "-u", tok.universe.source) == 1


def test_verify_manifest_from_another_universe(tok, done, tmp_path, capsys):
    other = Tokenizer(make_universe(tmp_path / "other.bed", n_per_chrom=500, seed=3))
    assert other.vocab_size > tok.vocab_size  # so every id would still be in range
    assert cli("verify", done, "-u", other.universe.source) == 1
    err = capsys.readouterr().err
    assert "fingerprint" in err and tok.fingerprint in err and other.fingerprint in err
    assert "other.bed" in err


def test_verify_folder_problems(tok, done, tmp_path, capsys):
    # a folder without a manifest: cannot tell which universe made the files
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(done / "s0.gtok", bare / "s0.gtok")
    assert cli("verify", bare, "-u", tok.universe.source) == 1
    assert "no gtok manifest" in capsys.readouterr().err
    # an entry recorded as failed or not done
    mpath = done / "gtok-manifest.json"
    m = json.loads(mpath.read_text())
    m["files"][1]["status"] = "error"
    m["files"][1]["error"] = "BedFormatError: boom"
    m["files"][3]["status"] = "pending"
    mpath.write_text(json.dumps(m))
    assert cli("verify", done, "-u", tok.universe.source) == 1
    err = capsys.readouterr().err
    assert re.search(r"s1\.bed: not done \(error: BedFormatError: boom\)", err), err
    assert re.search(r"s3\.bed: not done \(pending\)", err), err
    # a complete file whose size differs from the manifest's record, and a .gtok file no
    # manifest lists
    m["files"][1]["status"] = m["files"][3]["status"] = "ok"
    del m["files"][1]["error"]
    mpath.write_text(json.dumps(m))
    write_gtok(done / "s0.gtok", [1, 2, 3])
    write_gtok(done / "sub" / "stray.gtok", [1])
    assert cli("verify", done, "-u", tok.universe.source) == 1
    err = capsys.readouterr().err
    assert re.search(r"s0\.gtok: 11 bytes, but the manifest recorded \d+ \(changed", err), err
    assert re.search(r"stray\.gtok: not in any manifest", err), err
    assert err.count("gtok verify:") == 2, err
    # a missing target
    assert cli("verify", tmp_path / "nothing", "-u", tok.universe.source) == 1
    assert "nothing" in capsys.readouterr().err
    # a bad universe
    assert cli("verify", done, "-u", tmp_path / "nope.bed") == 1
    assert "nope.bed" in capsys.readouterr().err


def test_verify_subprocess_exit_codes(tok, done):
    r = run_cli("verify", done, "-u", tok.universe.source)
    assert r.returncode == 0 and r.stderr == ""
    (done / "s4.gtok").write_bytes(b"GTOK\x01\x00")
    r = run_cli("verify", done, "-u", tok.universe.source)
    assert r.returncode == 1 and "s4.gtok" in r.stderr and "Traceback" not in r.stderr


def test_in_process_main_restores_the_sigterm_handler(tmp_path):
    import signal

    before = signal.getsignal(signal.SIGTERM)
    write_gtok(tmp_path / "x.gtok", [1])
    assert cli("info", tmp_path / "x.gtok") == 0
    assert signal.getsignal(signal.SIGTERM) is before


def test_no_progress_bar_off_a_terminal_and_verbose_lines(tok, tmp_path, capsys):
    """Standard error is not a terminal here: no bar (tests/test_cli_progress.py has the
    bar); -v prints one line per input."""
    src = tmp_path / "src"
    write_bed(src / "v1.bed", 20, 1)
    write_bed(src / "v2.bed", 20, 2)
    assert cli("tokenize", tok.universe.source, src, "-o", tmp_path / "o", "-v", "-j", "1") == 0
    err = capsys.readouterr().err
    assert "\r" not in err and "files" not in err
    assert re.search(r"ok: \S*v1\.bed -> \S*v1\.gtok \(20 regions, \d+ tokens\)", err), err
    assert "2 tokenized, 0 already done, 0 failed, 0 not done" in err


def test_decode_and_verify_use_the_universe_the_outputs_record(tmp_path):
    """`gtok decode out/sample1.gtok` and `gtok verify out/` insisted on -u although the
    manifest (and a pack's header) records the universe: it is used, checked by fingerprint."""
    universe = tmp_path / "universe.bed"
    universe.write_text("chr1\t100\t200\nchr1\t300\t400\n")
    bed = tmp_path / "in" / "s.bed"
    bed.parent.mkdir()
    bed.write_text("chr1\t150\t160\nchr1\t350\t360\n")
    out = tmp_path / "out"
    assert cli("tokenize", universe, bed, "-o", out, "-q") == 0
    with_u = run_cli("decode", out / "s.gtok", "-u", universe)
    without = run_cli("decode", out / "s.gtok")
    assert without.returncode == 0 and without.stdout == with_u.stdout != ""
    assert run_cli("verify", out).returncode == 0
    assert cli("tokenize", universe, bed, "--pack", tmp_path / "p.gtok") == 0
    r = run_cli("decode", tmp_path / "p.gtok")
    assert r.returncode == 0 and "chr1\t100\t200" in r.stdout
    # a lone file records nothing; a changed or missing universe is named
    write_gtok(tmp_path / "lone.gtok", [0])
    r = run_cli("decode", tmp_path / "lone.gtok")
    assert r.returncode == 1 and "no universe recorded" in r.stderr and "-u" in r.stderr
    universe.write_text("chr1\t100\t200\n")
    r = run_cli("decode", out / "s.gtok")
    assert r.returncode == 1 and "has changed since" in r.stderr
    universe.unlink()
    r = run_cli("verify", out)
    assert r.returncode == 1 and "not there any more" in r.stderr


def test_messages_that_say_what_the_user_got_wrong(tmp_path):
    """A folder or a .gtok file given as the universe is named as such."""
    peaks = tmp_path / "peaks"
    peaks.mkdir()
    (peaks / "a.bed").write_text("chr1\t1\t2\n")
    universe = tmp_path / "universe.bed"
    universe.write_text("chr1\t0\t10\n")
    r = run_cli("tokenize", peaks, universe, "-o", tmp_path / "out")
    assert r.returncode == 2 and "the universe, the first argument, is a folder" in r.stderr
    write_gtok(tmp_path / "t.gtok", [0, 1])
    r = run_cli("tokenize", tmp_path / "t.gtok", peaks, "-o", tmp_path / "out")
    assert r.returncode != 0 and "a .gtok token file (or pack), not a universe" in r.stderr
    assert "Traceback" not in r.stderr


def test_pack_messages_say_what_the_user_got_wrong(tmp_path):
    """`gtok pack tokens/ out.gtok` (arguments swapped) named an internal temporary file;
    `gtok pack out.gtok peaks/` (BED files, no .gtok) talked of region files and --glob."""
    tokens = tmp_path / "tokens"
    tokens.mkdir()
    write_gtok(tokens / "a.gtok", [1, 2])
    r = run_cli("pack", tokens, tmp_path / "out.gtok")
    assert r.returncode == 2 and "the pack to write, the first argument, is a folder" in r.stderr
    peaks = tmp_path / "peaks"
    peaks.mkdir()
    (peaks / "a.bed").write_text("chr1\t1\t2\n")
    r = run_cli("pack", tmp_path / "out.gtok", peaks)
    assert r.returncode != 0 and "no files matching *.gtok" in r.stderr
    assert "--glob" not in r.stderr and not (tmp_path / "out.gtok").exists()


# ------------------------------------------------------------------------ info --names


def test_info_names_lists_a_pack_s_documents(tmp_path, capsys):
    """There was no way to list a pack's documents from the command line."""
    named = tmp_path / "named.gtok"
    write_pack(named, [[1, 2, 3], [], [7]], names=["s1", "cell\tA", "s3"])
    assert cli("info", "--names", named) == 0
    assert capsys.readouterr().out == "0\ts1\t3\n1\tcell\\tA\t0\n2\ts3\t1\n"
    # no names stored; a version-1 file is one document; several files: a path column
    anonymous = tmp_path / "anonymous.gtok"
    write_pack(anonymous, [[1], [2, 3]])
    one = tmp_path / "one.gtok"
    write_gtok(one, [4, 5, 6, 7])
    assert cli("info", "--names", anonymous) == 0
    assert capsys.readouterr().out == "0\t\t1\n1\t\t2\n"
    assert cli("info", "--names", one, named) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{one}\t0\t\t4",
        f"{named}\t0\ts1\t3",
        f"{named}\t1\tcell\\tA\t0",
        f"{named}\t2\ts3\t1",
    ]
    # what --names lists is what decode --doc takes
    assert cli("info", named) == 0 and "names:" in capsys.readouterr().out
    # a file that cannot be read: said, the others listed, exit 1
    assert cli("info", "--names", tmp_path / "missing.gtok", named) == 1
    captured = capsys.readouterr()
    assert "missing.gtok" in captured.err and f"{named}\t2\ts3\t1" in captured.out


def test_info_names_into_head_has_no_traceback(tmp_path):
    path = tmp_path / "cells.gtok"
    n = 50_000  # more lines than a pipe's buffer holds
    write_pack(path, [[k % 7] for k in range(n)], names=[f"cell-{k:06d}" for k in range(n)])
    cmd = f"{sys.executable} -m gtok info --names cells.gtok | head -n 2; exit ${{PIPESTATUS[0]}}"
    r = subprocess.run(
        ["bash", "-c", cmd], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert r.stderr == "" and r.returncode == 0
    assert r.stdout == "0\tcell-000000\t1\n1\tcell-000001\t1\n"
    full = run_cli("info", "--names", path)
    assert full.returncode == 0 and len(full.stdout.splitlines()) == n
