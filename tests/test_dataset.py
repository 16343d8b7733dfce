"""GtokDataset: sources (folders, lists, packs, manifests), zero-copy views, the universe
check, shuffled regions, pickling, descriptors and worker processes."""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
import pickle
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import gtok
from gtok import GtokDataset, Tokenizer, UncheckedUniverseWarning, write_gtok, write_pack
from gtok.errors import (
    BadMagicError,
    FingerprintMismatchError,
    SourceChangedError,
    UnknownFlagError,
)


def _docs(n: int, seed: int = 0, big: bool = False, hi: int = 3000) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    hi = 100_000 if big else hi
    return [rng.integers(0, hi, size=int(rng.integers(0, 40))) for _ in range(n)]


def _universe(path: Path, shift: int = 0) -> Tokenizer:
    path.write_text(
        "".join(f"chr1\t{i * 100 + shift}\t{i * 100 + 50 + shift}\n" for i in range(200))
    )
    return Tokenizer(str(path))


@pytest.fixture
def universe(tmp_path: Path) -> Path:
    return Path(_universe(tmp_path / "universe.bed").universe.source)


@pytest.fixture
def other_tok(tmp_path: Path) -> Tokenizer:
    return _universe(tmp_path / "other.bed", shift=7)


def _write_folder(folder: Path, docs: list[np.ndarray]) -> list[Path]:
    paths = []
    for i, ids in enumerate(docs):
        p = folder / f"doc{i:04d}.gtok"
        write_gtok(p, ids)
        paths.append(p)
    return paths


def _fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


# ------------------------------------------------------------------------- sources


def test_folder_recursive_sorted_skips_hidden_and_others(tmp_path: Path) -> None:
    root = tmp_path / "tokens"
    write_gtok(root / "b.gtok", [2])
    write_gtok(root / "a.gtok", [1])
    write_gtok(root / "sub" / "c.gtok", [3])
    write_gtok(root / "sub-x.gtok", [4])  # after the folder "sub"'s files
    write_gtok(root / "Z.GTOK", [0])  # the extension in any case
    write_gtok(root / ".hidden.gtok", [99])
    write_gtok(root / ".cache" / "d.gtok", [98])
    write_gtok(root / ".out.gtok.abc123.tmp", [97])
    (root / "notes.txt").write_text("not tokens")
    (root / "gtok-manifest.json").write_text("{}")  # unreadable as a manifest: ignored
    ds = GtokDataset(root)
    names = [os.path.relpath(p, root) for p in ds.files]
    assert names == ["Z.GTOK", "a.gtok", "b.gtok", os.path.join("sub", "c.gtok"), "sub-x.gtok"]
    assert [x.tolist() for x in ds] == [[0], [1], [2], [3], [4]]
    assert len(ds) == 5 and ds.source == str(root)


def test_folder_round_trip_and_indexing(tmp_path: Path) -> None:
    docs = _docs(30, big=True) + [np.array([], dtype=np.int64)]
    _write_folder(tmp_path, docs)
    ds = GtokDataset(tmp_path)
    assert len(ds) == len(docs)
    for i, want in enumerate(docs):
        got = ds[i]
        assert got.tolist() == want.tolist()
        assert got.dtype in (np.uint16, np.uint32)
    assert ds[-1].tolist() == docs[-1].tolist()
    assert ds[-len(docs)].tolist() == docs[0].tolist()
    assert ds[np.int64(3)].tolist() == docs[3].tolist()
    for bad in (len(docs), -len(docs) - 1, 10**9):
        with pytest.raises(IndexError):
            ds[bad]
    with pytest.raises(TypeError):
        ds[1.5]
    assert [x.tolist() for x in ds] == [d.tolist() for d in docs]
    assert ds.locate(2) == (os.path.join(str(tmp_path), "doc0002.gtok"), None)


def test_list_of_files_and_packs_keeps_order(tmp_path: Path) -> None:
    docs = _docs(12, seed=1)
    write_pack(tmp_path / "p1.pack", docs[0:5], names=[f"n{i}" for i in range(5)])
    write_gtok(tmp_path / "one.gtok", docs[5])
    write_pack(tmp_path / "empty.pack", [])
    write_pack(tmp_path / "p2.pack", docs[6:12], dtype="uint32")
    order = ["p2.pack", "one.gtok", "empty.pack", "p1.pack"]
    ds = GtokDataset([tmp_path / n for n in order])
    want = docs[6:12] + [docs[5]] + docs[0:5]
    assert len(ds) == 12
    assert [x.tolist() for x in ds] == [d.tolist() for d in want]
    assert [ds[i].tolist() for i in range(-12, 0)] == [d.tolist() for d in want]
    assert ds.locate(7) == (str(tmp_path / "p1.pack"), 0)
    assert ds.locate(6) == (str(tmp_path / "one.gtok"), None)
    assert ds.locate(-1) == (str(tmp_path / "p1.pack"), 4)


def test_one_pack_and_several_packs(tmp_path: Path) -> None:
    docs = _docs(10, seed=2)
    write_pack(tmp_path / "a.gtok", docs[:7])
    write_pack(tmp_path / "b.gtok", docs[7:])
    ds = GtokDataset(tmp_path / "a.gtok")
    assert len(ds) == 7 and [x.tolist() for x in ds] == [d.tolist() for d in docs[:7]]
    assert ds[0].flags.aligned
    ds = GtokDataset([str(tmp_path / "a.gtok"), str(tmp_path / "b.gtok")])
    assert [x.tolist() for x in ds] == [d.tolist() for d in docs]
    # a folder may hold packs too: each contributes its documents
    ds = GtokDataset(tmp_path)
    assert len(ds) == 10 and ds[8].tolist() == docs[8].tolist()


def test_single_v1_file(tmp_path: Path) -> None:
    write_gtok(tmp_path / "x.gtok", [5, 6, 7])
    ds = GtokDataset(str(tmp_path / "x.gtok"))
    assert len(ds) == 1 and ds[0].tolist() == [5, 6, 7]


def _bed_inputs(folder: Path, n: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(5)
    for i in range(n):
        starts = np.sort(rng.integers(0, 19_000, size=int(rng.integers(1, 30))))
        (folder / f"s{i:02d}.bed").write_text("".join(f"chr1\t{s}\t{s + 120}\n" for s in starts))


def test_manifest_source_relative_outputs(
    tmp_path: Path, tok: Tokenizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _bed_inputs(tmp_path / "in", 6)
    monkeypatch.chdir(tmp_path)
    summary = gtok.pretokenize(tok, ["in"], "out", jobs=1)  # relative outputs
    assert summary.ok
    manifest = json.loads((tmp_path / "out" / "gtok-manifest.json").read_text())
    outputs = [e["output"] for e in manifest["files"]]
    assert not os.path.isabs(outputs[0])
    want = [tok.tokenize(str(tmp_path / "in" / f"s{i:02d}.bed")).ids.tolist() for i in range(6)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = GtokDataset("out/gtok-manifest.json", tokenizer=tok)
    assert [x.tolist() for x in ds] == want
    assert ds.fingerprint == tok.fingerprint and ds.vocab_size == tok.vocab_size
    # from another working folder, and after the output folder moved
    shutil.move(str(tmp_path / "out"), str(tmp_path / "moved" / "tokens"))
    monkeypatch.chdir("/")
    ds = GtokDataset(tmp_path / "moved" / "tokens" / "gtok-manifest.json")
    assert [x.tolist() for x in ds] == want
    assert all(f.startswith(str(tmp_path / "moved" / "tokens")) for f in ds.files)


def test_manifest_statuses_and_order(tmp_path: Path, tok: Tokenizer) -> None:
    _bed_inputs(tmp_path / "in", 4)
    out = tmp_path / "out"
    gtok.pretokenize(tok, [str(tmp_path / "in")], str(out), jobs=1)
    mpath = out / "gtok-manifest.json"
    data = json.loads(mpath.read_text())
    files = data["files"]
    files[0]["status"] = "skipped"
    files[1]["status"] = "error"
    files[2]["status"] = "pending"
    data["files"] = [files[3], files[0], files[1], files[2]]
    shard = out / "gtok-manifest.1-of-2.json"
    shard.write_text(json.dumps(data))
    mpath.unlink()
    ds = GtokDataset(shard)
    # the manifest records outputs relative to its own folder
    done = [str(out / files[k]["output"]) for k in (3, 0)]
    assert ds.files == done
    want = [gtok.read_gtok(p).tolist() for p in done]
    assert [x.tolist() for x in ds] == want
    # the folder moved: outputs are still found inside the manifest's folder
    moved = tmp_path / "elsewhere" / "tok"
    shutil.move(str(out), str(moved))
    ds = GtokDataset(moved / shard.name)
    assert ds.files == [str(moved / "s03.gtok"), str(moved / "s00.gtok")]
    assert [x.tolist() for x in ds] == want
    # a manifest none of whose outputs exist says so
    for f in moved.glob("*.gtok"):
        f.unlink()
    with pytest.raises(FileNotFoundError, match="none of its outputs"):
        GtokDataset(moved / shard.name)


def test_bad_sources(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope"):
        GtokDataset(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no .gtok files"):
        GtokDataset(tmp_path / "empty")
    with pytest.raises(IsADirectoryError):
        GtokDataset([tmp_path / "empty"])
    with pytest.raises(FileNotFoundError, match="missing.gtok"):
        GtokDataset([tmp_path / "missing.gtok"])
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.gtok").write_bytes(b"NOPE\x01\x00\x00")
    with pytest.raises(BadMagicError, match="x.gtok"):
        GtokDataset(tmp_path / "bad")
    (tmp_path / "flag.gtok").write_bytes(b"GTOK\x07")
    with pytest.raises(UnknownFlagError):
        GtokDataset([tmp_path / "flag.gtok"])
    with pytest.raises(TypeError):
        GtokDataset(42)  # type: ignore[arg-type]
    (tmp_path / "gtok-manifest.json").write_text('{"format": "something else"}')
    with pytest.raises(ValueError, match="not a gtok manifest"):
        GtokDataset(tmp_path / "gtok-manifest.json")
    assert len(GtokDataset([])) == 0


def test_conformance_folder_like_region2vecdataset(conformance_dir: Path) -> None:
    """geniml's Region2VecDataset over a folder of .gtok files gives one id list per file;
    so does GtokDataset, with gtars' reader's ids."""
    gtars_utils = pytest.importorskip("gtars.utils")
    folder = conformance_dir / "geniml"
    ds = GtokDataset(folder)
    files = sorted(folder.glob("*.gtok"))
    assert len(ds) == len(files) == 6
    for ids, path in zip(ds, files):
        assert ids.tolist() == list(gtars_utils.read_tokens_from_gtok(str(path)))


# ------------------------------------------------------------------------- views


def test_views_are_read_only_views_that_outlive_the_dataset(tmp_path: Path) -> None:
    docs = _docs(4, seed=3)
    _write_folder(tmp_path / "f", docs)
    write_pack(tmp_path / "p.gtok", docs)
    for source in (tmp_path / "f", tmp_path / "p.gtok"):
        ds = GtokDataset(source)
        views = [ds[i] for i in range(len(ds))]
        for v in views:
            assert not v.flags.writeable and not v.flags.owndata
            with pytest.raises(ValueError):
                v[:1] = 0
        # a view of the mapped file, not of a copy: the buffer is the mapping
        base = views[1]
        while getattr(base, "base", None) is not None:
            base = base.base
        assert isinstance(base, memoryview) and type(base.obj).__name__ == "MappedFile"
        del ds
        gc.collect()
        assert [v.tolist() for v in views] == [d.tolist() for d in docs]


# ------------------------------------------------------------------------- universe


def test_fingerprint_from_packs(tmp_path: Path, tok: Tokenizer, other_tok: Tokenizer) -> None:
    write_pack(tmp_path / "a.gtok", [[1, 2], [3]], tokenizer=tok)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = GtokDataset(tmp_path / "a.gtok", tokenizer=tok)
    assert ds.fingerprint == tok.fingerprint and ds.vocab_size == tok.vocab_size
    with pytest.raises(FingerprintMismatchError) as err:
        GtokDataset(tmp_path / "a.gtok", tokenizer=other_tok)
    assert tok.fingerprint in str(err.value) and other_tok.fingerprint in str(err.value)
    assert err.value.expected == other_tok.fingerprint and err.value.found == tok.fingerprint
    # without a tokenizer, the files must still agree with each other
    write_pack(tmp_path / "b.gtok", [[4]], tokenizer=other_tok)
    with pytest.raises(FingerprintMismatchError, match="a.gtok"):
        GtokDataset([tmp_path / "a.gtok", tmp_path / "b.gtok"])
    ds = GtokDataset(tmp_path / "a.gtok")  # no tokenizer: no check, no warning
    assert ds.fingerprint == tok.fingerprint


def test_unchecked_files_warn(tmp_path: Path, tok: Tokenizer) -> None:
    _write_folder(tmp_path / "f", _docs(3))
    with pytest.warns(UncheckedUniverseWarning, match="3 of 3") as rec:
        GtokDataset(tmp_path / "f", tokenizer=tok)
    assert rec[0].filename == __file__  # attributed to the caller, not to gtok
    assert issubclass(UncheckedUniverseWarning, UserWarning)
    write_pack(tmp_path / "fp.gtok", [[1]], tokenizer=tok)
    write_pack(tmp_path / "nofp.gtok", [[1]])
    with pytest.warns(UncheckedUniverseWarning, match="1 of 2.*doc0001"):
        GtokDataset([tmp_path / "fp.gtok", tmp_path / "f" / "doc0001.gtok"], tokenizer=tok)
    with pytest.warns(UncheckedUniverseWarning, match="1 of 2.*nofp"):
        GtokDataset([tmp_path / "fp.gtok", tmp_path / "nofp.gtok"], tokenizer=tok)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        GtokDataset(tmp_path / "f")  # no tokenizer, no warning


def test_folder_manifest_checks_universe(
    tmp_path: Path, tok: Tokenizer, other_tok: Tokenizer
) -> None:
    _bed_inputs(tmp_path / "in", 3)
    out = tmp_path / "out"
    gtok.pretokenize(tok, [str(tmp_path / "in")], str(out), jobs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = GtokDataset(out, tokenizer=tok)
        assert len(ds) == 3 and ds.vocab_size == tok.vocab_size
        assert GtokDataset(out).fingerprint == tok.fingerprint
    with pytest.raises(FingerprintMismatchError) as err:
        GtokDataset(out, tokenizer=other_tok)
    assert "gtok-manifest.json" in str(err.value)
    assert tok.fingerprint in str(err.value) and other_tok.fingerprint in str(err.value)
    with pytest.raises(FingerprintMismatchError):
        GtokDataset(out / "gtok-manifest.json", tokenizer=other_tok)
    # a file the manifest does not know about is unchecked
    write_gtok(out / "extra" / "x.gtok", [1])
    with pytest.warns(UncheckedUniverseWarning, match="1 of 4"):
        GtokDataset(out, tokenizer=tok)


# ------------------------------------------------------------------------- shuffling


def test_shuffle_regions_deterministic_and_per_epoch(tmp_path: Path) -> None:
    ids = np.arange(200)
    write_pack(tmp_path / "p.gtok", [ids, ids[:50]])
    write_gtok(tmp_path / "v.gtok", ids)
    ds = GtokDataset([tmp_path / "p.gtok", tmp_path / "v.gtok"], shuffle_regions=True, seed=3)
    plain = GtokDataset([tmp_path / "p.gtok", tmp_path / "v.gtok"])
    for i in range(3):
        a = ds[i]
        assert sorted(a.tolist()) == sorted(plain[i].tolist())
        assert a.tolist() == ds[i].tolist() == ds[i - 3].tolist()
        want = np.random.default_rng([3, 0, i]).permutation(plain[i].copy())
        assert a.tolist() == want.tolist()
        assert a.flags.owndata and not np.shares_memory(a, plain[i])
    assert ds[0].tolist() != ds[2].tolist()  # same ids, another index: another order
    e0 = ds[0].tolist()
    ds.set_epoch(1)
    assert ds[0].tolist() != e0
    ds.set_epoch(0)
    assert ds[0].tolist() == e0
    other_seed = GtokDataset(tmp_path / "p.gtok", shuffle_regions=True, seed=4)
    assert other_seed[0].tolist() != e0
    with pytest.raises(ValueError):
        ds.set_epoch(-1)
    with pytest.raises(ValueError):
        GtokDataset(tmp_path / "p.gtok", seed=-1)


# ------------------------------------------------------------------------- pickling


def test_pickle_is_small_and_works(tmp_path: Path, tok: Tokenizer) -> None:
    docs = _docs(1000, seed=4, hi=tok.vocab_size)
    _write_folder(tmp_path / "folder", docs)
    write_pack(tmp_path / "pack.gtok", docs, tokenizer=tok)
    with pytest.warns(UncheckedUniverseWarning):
        folder_ds = GtokDataset(tmp_path / "folder", tokenizer=tok, shuffle_regions=True, seed=9)
    folder_ds.set_epoch(2)
    for ds in (folder_ds, GtokDataset(tmp_path / "pack.gtok", tokenizer=tok)):
        ds[5]  # opens things; they must not be pickled
        blob = pickle.dumps(ds)
        assert len(blob) < 2048, len(blob)
        back = pickle.loads(blob)
        assert len(back) == 1000
        assert back.fingerprint == ds.fingerprint and back.vocab_size == ds.vocab_size
        for i in (0, 17, 999, -1):
            assert back[i].tolist() == ds[i].tolist()
    # a list source pickles its paths, compressed
    ds = GtokDataset(sorted((tmp_path / "folder").iterdir()))
    back = pickle.loads(pickle.dumps(ds))
    assert back.files == ds.files and back[3].tolist() == docs[3].tolist()


def test_unpickled_dataset_notices_changed_folder(tmp_path: Path) -> None:
    _write_folder(tmp_path, _docs(3))
    blob = pickle.dumps(GtokDataset(tmp_path))
    write_gtok(tmp_path / "doc0000a.gtok", [1])
    back = pickle.loads(blob)
    with pytest.raises(SourceChangedError, match="make the dataset again"):
        back[0]


def test_no_descriptor_leak(tmp_path: Path, tok: Tokenizer) -> None:
    docs = _docs(50, seed=6)
    _write_folder(tmp_path / "f", docs)
    write_pack(tmp_path / "p.gtok", docs)
    gc.collect()
    before = _fd_count()
    keep = []
    for source in (
        tmp_path / "f",
        tmp_path / "p.gtok",
        [tmp_path / "p.gtok", tmp_path / "f" / "doc0001.gtok"],
    ):
        ds = GtokDataset(source)
        keep += [ids for ids in ds]
        back = pickle.loads(pickle.dumps(ds))
        keep += [back[i] for i in range(len(back))]
        assert _fd_count() == before
    assert len(keep) == 2 * (50 + 50 + 51)


# ------------------------------------------------------------------------- processes


def _child_sums(ds: GtokDataset) -> list[int]:
    return [int(ids.sum()) for ids in ds]


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_works_in_forked_and_spawned_processes(tmp_path: Path, method: str) -> None:
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} here")
    docs = _docs(20, seed=7)
    _write_folder(tmp_path / "f", docs[:10])
    write_pack(tmp_path / "f" / "z.gtok", docs[10:])
    ds = GtokDataset(tmp_path / "f", shuffle_regions=True)
    ds[12]  # the parent has the pack open (inherited by a forked child)
    want = _child_sums(ds)
    assert want == [int(d.sum()) for d in docs]
    ctx = multiprocessing.get_context(method)
    with ctx.Pool(1) as pool:
        assert pool.apply(_child_sums, (ds,)) == want


def test_import_does_not_import_torch(tmp_path) -> None:
    # run outside the repository root: `python -c` puts the working folder on sys.path
    code = (
        "import sys, gtok, gtok.train.dataset, gtok.train.torchdata; "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)


def test_torchdata_without_torch_says_how_to_install(tmp_path) -> None:
    code = "\n".join(
        [
            "import sys; sys.modules['torch'] = None  # as if torch were not installed",
            "import gtok.train.torchdata as td",
            "print(td.rank_indices(4, shuffle=False, num_replicas=2, rank=1).tolist())",
            "for name in ('GtokSampler', 'GtokIterableDataset'):",
            "    try:",
            "        exec(f'from gtok.train.torchdata import {name}')",
            "    except ImportError as exc:",
            "        print(exc)",
            "try:",
            "    td.to_tensor([1])",
            "except ImportError as exc:",
            "    print(exc)",
        ]
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=tmp_path
    ).stdout.splitlines()
    assert out[0] == "[1, 3]"
    assert len(out) == 4
    for line, name in zip(out[1:], ("GtokSampler", "GtokIterableDataset", "to_tensor")):
        assert name in line and "pip install torch" in line
