"""gtok.io.manifest: manifests are checked field by field; a damaged one is reported by
path (``gtok verify``), treated as absent by ``--resume`` (its inputs are redone), and
refused with a typed error by datasets -- never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gtok import GtokDataset, pretokenize
from gtok.errors import ManifestFormatError, UnusableManifestWarning
from gtok.io.manifest import load_manifest, manifest_problem, read_manifests, write_manifest

from batchdata import cli, make_universe, run_cli, write_bed

DAMAGE = {
    "output key renamed": lambda m: m["files"][0].update(outpus=m["files"][0].pop("output")),
    "files not a list": lambda m: m.update(files={"a": 1}),
    "entry not an object": lambda m: m["files"].__setitem__(0, "s0.gtok"),
    "size not a count": lambda m: m["files"][0].update(output_size="12"),
    "negative count": lambda m: m["files"][0].update(tokens=-1),
    "unknown status": lambda m: m["files"][0].update(status="done"),
    "universe not an object": lambda m: m.update(universe=[1]),
    "shard not a pair": lambda m: m.update(shard=[1]),
    "not an object": lambda m: m.clear() or m.update(x=1),
}


def _run(tmp_path: Path) -> tuple[Path, Path, Path]:
    universe = make_universe(tmp_path / "universe.bed")
    src = tmp_path / "src"
    for k in range(3):
        write_bed(src / f"s{k}.bed", 100, k)
    out = tmp_path / "out"
    assert pretokenize(str(universe), [str(src)], out, jobs=1).ok
    return universe, src, out


def _damage(path: Path, how: str) -> None:
    data = json.loads(path.read_text())
    DAMAGE[how](data)
    if how == "not an object":
        data = [1, 2]
    path.write_text(json.dumps(data))


@pytest.mark.parametrize("how", sorted(DAMAGE))
def test_a_damaged_manifest_is_named_redone_and_refused(tmp_path, how):
    universe, src, out = _run(tmp_path)
    mpath = out / "gtok-manifest.json"
    _damage(mpath, how)
    # read: left out, and said why
    unusable: list[str] = []
    assert read_manifests(str(out), unusable) == []
    assert len(unusable) == 1 and str(mpath) in unusable[0]
    with pytest.raises(ManifestFormatError) as info:
        load_manifest(str(mpath))
    assert isinstance(info.value, ValueError) and info.value.path == str(mpath)
    with pytest.raises(ManifestFormatError):
        GtokDataset(str(mpath))
    # verify: a problem naming it, no traceback
    r = run_cli("verify", str(out), "-u", str(universe))
    assert r.returncode == 1 and str(mpath) in r.stderr and "Traceback" not in r.stderr
    # resume: the manifest counts for nothing, every input is done again
    with pytest.warns(UnusableManifestWarning, match="gtok-manifest.json"):
        summary = pretokenize(str(universe), [str(src)], out, jobs=1, resume=True)
    assert summary.ok and summary.n_ok == 3 and summary.n_skipped == 0
    assert manifest_problem(load_manifest(str(mpath))) is None  # rewritten whole
    assert cli("tokenize", str(universe), str(src), "-o", str(out), "--resume", "-q") == 0


def test_a_good_manifest_passes_and_resumes(tmp_path):
    universe, src, out = _run(tmp_path)
    assert manifest_problem(load_manifest(str(out / "gtok-manifest.json"))) is None
    summary = pretokenize(str(universe), [str(src)], out, jobs=1, resume=True)
    assert summary.n_skipped == 3


def test_write_errors_name_the_manifest(tmp_path, monkeypatch):
    """A write error names no file ([Errno 27] File too large): the message names the
    manifest (gtok.io.atomic), not its hidden temporary file, and keeps the errno."""
    import contextlib

    import gtok.io.manifest as manifest_module

    real = manifest_module.atomic_output

    class TooLarge:
        def write(self, data):
            raise OSError(27, "File too large")

    @contextlib.contextmanager
    def too_large(path, **kwargs):
        with real(path, **kwargs):
            yield TooLarge()

    monkeypatch.setattr(manifest_module, "atomic_output", too_large)
    path = tmp_path / "gtok-manifest.json"
    with pytest.raises(OSError) as info:
        write_manifest(str(path), {"format": "gtok-manifest/1"}, [])
    assert info.value.errno == 27 and f"cannot write {path}: file too large" in str(info.value)
    assert ".tmp" not in str(info.value) and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "fingerprint, ok",
    [
        ("0123456789abcdef0123456789abcdef", True),
        (None, True),
        ("0123456789abcdef0123456789abcdef0", False),  # a digit too many (a damaged file)
        ("0123456789ABCDEF0123456789ABCDEF", False),  # gtok writes lowercase
        ("not a fingerprint", False),
        (12, False),
    ],
)
def test_a_manifest_fingerprint_is_32_hex_digits(fingerprint, ok):
    """A damaged fingerprint that is no fingerprint makes the manifest unusable (redone on
    --resume with a warning) rather than 'another universe' (which stops a resume)."""
    data = {"format": "gtok-manifest/1", "universe": {"fingerprint": fingerprint}, "files": []}
    problem = manifest_problem(data)
    assert (problem is None) == ok, problem
    if not ok:
        assert "fingerprint" in problem
