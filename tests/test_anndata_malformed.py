"""Malformed and corrupt ``.h5ad`` files: every problem is an AnnDataFormatError naming the
file and the part (``X/indptr``, ``var/chr/codes``...), never an error from inside h5py.

Each malformed file is a valid one (written by anndata) changed with h5py; the bit-flip
sweep flips single bits all over a small file and runs each in a child process, since
libhdf5 itself can crash or loop forever on some corrupt structures (see the module
docstring of :mod:`gtok.singlecell.matrix`).
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from gtok import Tokenizer, tokenize_anndata
from gtok.errors import AnnDataFormatError

from batchdata import SUBPROCESS_CWD, make_universe, run_cli

anndata = pytest.importorskip("anndata")
h5py = pytest.importorskip("h5py")
pd = pytest.importorskip("pandas")
sp = pytest.importorskip("scipy.sparse")


@pytest.fixture(scope="module")
def universe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_universe(tmp_path_factory.mktemp("u") / "universe.bed", 60)


@pytest.fixture(scope="module")
def tok(universe: Path) -> Tokenizer:
    return Tokenizer(universe)


def write_good(path: Path, fmt: str = "csr", n_obs: int = 2, n_var: int = 3) -> Path:
    """A valid .h5ad: ``n_obs`` cells, ``n_var`` regions on chr1 (categorical column)."""
    x = np.arange(1, n_obs * n_var + 1, dtype=np.float32).reshape(n_obs, n_var)
    x[0, 0] = 0
    var = pd.DataFrame(
        {
            "chr": pd.Categorical(["chr1"] * n_var),
            "start": np.arange(n_var, dtype=np.int64) * 1000,
            "end": np.arange(n_var, dtype=np.int64) * 1000 + 500,
        },
        index=[f"p{j}" for j in range(n_var)],
    )
    matrix = {"csr": sp.csr_matrix, "csc": sp.csc_matrix, "dense": np.asarray}[fmt](x)
    obs = pd.DataFrame(index=[f"c{i}" for i in range(n_obs)])
    anndata.AnnData(X=matrix, obs=obs, var=var).write_h5ad(path)
    return path


def replace(group: h5py.Group, key: str, value: object) -> None:
    """``group[key] = value``, the old one removed first."""
    del group[key]
    group[key] = value


def a_layer(f: h5py.File) -> None:
    """``layers/counts``: a copy of X."""
    del f["layers"]
    f.create_group("layers")
    f.copy(f["X"], "layers/counts")


def as_group(group: h5py.Group, key: str) -> None:
    del group[key]
    group.create_group(key)


# (name, change to a valid CSR file, words the message must hold: the part and the problem)
CSR_CASES: list[tuple[str, Callable[[h5py.File], None], str]] = [
    ("indptr group", lambda f: as_group(f["X"], "indptr"), "X/indptr is a group"),
    ("indptr scalar", lambda f: replace(f["X"], "indptr", 0), "X/indptr is a scalar"),
    ("indptr 2-D", lambda f: replace(f["X"], "indptr", [[0, 2, 5]]), "X/indptr is of shape"),
    ("indptr float", lambda f: replace(f["X"], "indptr", [0.0, 2, 5]), "X/indptr holds float64"),
    ("indptr strings", lambda f: replace(f["X"], "indptr", [b"0", b"2", b"5"]), "X/indptr holds"),
    (
        "indptr too long",
        lambda f: replace(f["X"], "indptr", [0, 2, 5, 5]),
        "X/indptr has 4 entries",
    ),
    ("indptr too short", lambda f: replace(f["X"], "indptr", [0, 5]), "X/indptr has 2 entries"),
    (
        "indptr from 1",
        lambda f: replace(f["X"], "indptr", [1, 2, 5]),
        "X/indptr: the index pointer starts at 1",
    ),
    (
        "indptr decreases",
        lambda f: replace(f["X"], "indptr", [0, 7, 5]),
        "X/indptr: the index pointer decreases",
    ),
    (
        "indptr past end",
        lambda f: replace(f["X"], "indptr", [0, 2, 9]),
        "X/indptr: the index pointer ends at 9",
    ),
    (
        "indptr short of end",
        lambda f: replace(f["X"], "indptr", [0, 2, 4]),
        "X/indptr: the index pointer ends at 4",
    ),
    (
        "indptr negative",
        lambda f: replace(f["X"], "indptr", [0, -2, 5]),
        "X/indptr: the index pointer decreases",
    ),
    ("indptr missing", lambda f: f["X"].__delitem__("indptr"), "no X/indptr in the file"),
    ("indices group", lambda f: as_group(f["X"], "indices"), "X/indices is a group"),
    (
        "indices float",
        lambda f: replace(f["X"], "indices", [1.5, 2, 0, 1, 2]),
        "X/indices holds float64 values, not integers",
    ),
    (
        "indices whole float",
        lambda f: replace(f["X"], "indices", [1.0, 2, 0, 1, 2]),
        "X/indices holds float64 values, not integers",
    ),
    ("indices bool", lambda f: replace(f["X"], "indices", [True] * 5), "X/indices holds bool"),
    (
        "indices out of range",
        lambda f: f["X/indices"].__setitem__(1, 99),
        "X/indices is corrupt at cell 1",
    ),
    (
        "indices negative",
        lambda f: f["X/indices"].__setitem__(3, -1),
        "X/indices is corrupt at cell 2",
    ),
    (
        "indices huge unsigned",
        lambda f: replace(f["X"], "indices", np.array([1, 2, 0, 1, 2**63 + 1], np.uint64)),
        "X/indices is corrupt at cell 2",
    ),
    ("indices missing", lambda f: f["X"].__delitem__("indices"), "no X/indices in the file"),
    (
        "data longer",
        lambda f: replace(f["X"], "data", np.ones(6, np.float32)),
        "X/data has 6 entries, not 5",
    ),
    (
        "data strings",
        lambda f: replace(f["X"], "data", [b"a"] * 5),
        "X/data holds object values, not numbers",
    ),
    ("data scalar", lambda f: replace(f["X"], "data", 1.0), "X/data is a scalar"),
    (
        "shape string",
        lambda f: f["X"].attrs.__setitem__("shape", "2,3"),
        "X has no valid 'shape' attribute",
    ),
    (
        "shape negative",
        lambda f: f["X"].attrs.__setitem__("shape", [-2, 3]),
        "X has no valid 'shape' attribute",
    ),
    (
        "shape 3-D",
        lambda f: f["X"].attrs.__setitem__("shape", [2, 3, 1]),
        "X has no valid 'shape' attribute",
    ),
    (
        "shape float",
        lambda f: f["X"].attrs.__setitem__("shape", [2.0, 3.0]),
        "X has no valid 'shape' attribute",
    ),
    (
        "shape missing",
        lambda f: f["X"].attrs.__delitem__("shape"),
        "X has no valid 'shape' attribute",
    ),
    (
        "shape other",
        lambda f: f["X"].attrs.__setitem__("shape", [3, 3]),
        "X has shape (3, 3), but obs and var have 2 and 3",
    ),
    (
        "encoding unknown",
        lambda f: f["X"].attrs.__setitem__("encoding-type", "coo_matrix"),
        "X is neither a dense matrix nor a CSR/CSC sparse matrix (encoding 'coo_matrix')",
    ),
    (
        "X scalar",
        lambda f: replace(f, "X", 1.0),
        "X is a () float64 dataset, not a 2 x 3 numeric matrix",
    ),
    (
        "X dense transposed",
        lambda f: replace(f, "X", np.ones((3, 2))),
        "X is a (3, 2) float64 dataset",
    ),
    (
        "X dense strings",
        lambda f: replace(f, "X", np.full((2, 3), b"x")),
        "X is a (2, 3) |S1 dataset",
    ),
    (
        "X named datatype",
        lambda f: replace(f, "X", np.dtype("f8")),
        "X is a named datatype, not a matrix",
    ),
    ("X missing", lambda f: f.__delitem__("X"), "no 'X' matrix in the file"),
    ("obs missing", lambda f: f.__delitem__("obs"), "no 'obs' in the file"),
    ("obs scalar", lambda f: replace(f, "obs", 3), "obs is a scalar, not a 1-D array"),
    (
        "obs datatype",
        lambda f: replace(f, "obs", np.dtype("i4")),
        "obs is a named datatype, not a dataframe",
    ),
    (
        "obs index group",
        lambda f: as_group(f["obs"], "_index"),
        "obs/_index is a group, not a dataset",
    ),
    ("obs index scalar", lambda f: replace(f["obs"], "_index", b"c0"), "obs/_index is a scalar"),
    (
        "obs index 2-D",
        lambda f: replace(f["obs"], "_index", [[b"c0"], [b"c1"]]),
        "obs/_index is of shape (2, 1)",
    ),
    ("obs index missing", lambda f: f["obs"].__delitem__("_index"), "obs has no index ('_index')"),
    (
        "obs index longer",
        lambda f: replace(f["obs"], "_index", [b"a", b"b", b"c"]),
        "X has shape (2, 3), but obs and var have 3 and 3",
    ),
    (
        "var start longer",
        lambda f: replace(f["var"], "start", [0, 1000, 2000, 3000]),
        "var/start has 4 entries, not 3 (one per var region)",
    ),
    (
        "var start shorter",
        lambda f: replace(f["var"], "start", [0, 1000]),
        "var/start has 2 entries, not 3",
    ),
    ("var start scalar", lambda f: replace(f["var"], "start", 5), "var/start is a scalar"),
    (
        "var codes longer",
        lambda f: replace(f["var/chr"], "codes", np.zeros(5, np.int8)),
        "var/chr/codes has 5 entries, not 3",
    ),
    (
        "var codes float",
        lambda f: replace(f["var/chr"], "codes", np.zeros(3)),
        "var/chr/codes holds float64 values, not integers",
    ),
    ("var codes group", lambda f: as_group(f["var/chr"], "codes"), "var/chr/codes is a group"),
    (
        "var categories missing",
        lambda f: f["var/chr"].__delitem__("categories"),
        "no var/chr/categories in the file",
    ),
    (
        "var categories scalar",
        lambda f: replace(f["var/chr"], "categories", b"chr1"),
        "var/chr/categories is a scalar",
    ),
    (
        "var column encoding",
        lambda f: f["var/chr"].attrs.__setitem__("encoding-type", "awkward-array"),
        "var column 'chr' has an encoding gtok does not read ('awkward-array')",
    ),
    (
        "var column datatype",
        lambda f: replace(f["var"], "end", np.dtype("i8")),
        "var column 'end' has an encoding gtok does not read",
    ),
    ("var scalar", lambda f: replace(f, "var", 1), "var is a scalar"),
]


@pytest.mark.parametrize("name,change,words", CSR_CASES, ids=[c[0] for c in CSR_CASES])
def test_malformed_csr_file(tok: Tokenizer, tmp_path: Path, name, change, words) -> None:
    path = write_good(tmp_path / "cells.h5ad")
    with h5py.File(path, "r+") as f:
        change(f)
    out = tmp_path / "cells.gtok"
    with pytest.raises(AnnDataFormatError) as info:
        tokenize_anndata(tok, path, out)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and info.value.path == str(path)
    assert words in message
    assert not out.exists()


def _nullable_start(f: h5py.File, mask: list) -> None:
    del f["var/start"]
    g = f["var"].create_group("start")
    g.attrs["encoding-type"] = "nullable-integer"
    g.attrs["encoding-version"] = "0.1.0"
    g["values"] = np.array([0, 1000, 2000])
    g["mask"] = np.asarray(mask)


OTHER_CASES = [
    (
        "csc",
        "csc indices out of range",
        lambda f: f["X/indices"].__setitem__(0, 7),
        "X/indices: corrupt csc_matrix: CSC row index outside the matrix",
    ),
    (
        "csc",
        "csc indptr length",
        lambda f: replace(f["X"], "indptr", [0, 1, 3]),
        "X/indptr has 3 entries, not 4 (one more than the 3 var regions)",
    ),
    (
        "csc",
        "csc indices float",
        lambda f: replace(f["X"], "indices", np.zeros(5)),
        "X/indices holds float64",
    ),
    (
        "csr",
        "nullable mask longer",
        lambda f: _nullable_start(f, [0, 0, 0, 0]),
        "var/start/mask has 4 entries, not 3",
    ),
    (
        "csr",
        "nullable mask floats",
        lambda f: _nullable_start(f, [0.5, 0, 0]),
        "var/start/mask holds float64 values, not booleans",
    ),
    (
        "csr",
        "layers a dataset",
        lambda f: replace(f, "layers", 1),
        "no layer 'counts' (layers: [])",
    ),
    (
        "csr",
        "layer indptr group",
        lambda f: (a_layer(f), as_group(f["layers/counts"], "indptr")),
        "layers/counts/indptr is a group",
    ),
    (
        "dense",
        "dense wrong shape",
        lambda f: replace(f, "X", np.ones((2, 4))),
        "X is a (2, 4) float64 dataset, not a 2 x 3",
    ),
]


@pytest.mark.parametrize("fmt,name,change,words", OTHER_CASES, ids=[c[1] for c in OTHER_CASES])
def test_other_malformed_files(tok: Tokenizer, tmp_path: Path, fmt, name, change, words) -> None:
    path = write_good(tmp_path / "cells.h5ad", fmt)
    with h5py.File(path, "r+") as f:
        change(f)
    layer = "counts" if "layer" in name else None
    with pytest.raises(AnnDataFormatError) as info:
        tokenize_anndata(tok, path, layer=layer)
    assert str(info.value).startswith(f"{path}: ") and words in str(info.value)


def test_the_system_s_errors_stay_os_errors(tok: Tokenizer, tmp_path: Path) -> None:
    path = write_good(tmp_path / "cells.h5ad")
    os.chmod(path, 0)
    try:
        if os.access(path, os.R_OK):  # root reads anything
            pytest.skip("running as a user who can read a mode-000 file")
        with pytest.raises(PermissionError):
            tokenize_anndata(tok, path)
    finally:
        os.chmod(path, 0o644)
    with pytest.raises(FileNotFoundError):
        tokenize_anndata(tok, tmp_path / "gone.h5ad")


def test_h5py_errors_with_an_errno_stay_os_errors(
    tok: Tokenizer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """h5py gives the system's errors an errno (then an OSError subclass); those are the
    system's, not the content's (permission denied is tested this way as root too)."""
    path = write_good(tmp_path / "cells.h5ad")

    def denied(*args, **kwargs):
        raise OSError(errno.EACCES, "Unable to synchronously open file (permission denied)")

    monkeypatch.setattr(h5py, "File", denied)
    with pytest.raises(PermissionError):
        tokenize_anndata(tok, path)


def test_truncated_files_are_format_errors(tok: Tokenizer, tmp_path: Path) -> None:
    good = write_good(tmp_path / "good.h5ad").read_bytes()
    path = tmp_path / "cut.h5ad"
    for size in (0, 7, 100, 600, len(good) // 2, len(good) - 600, len(good) - 1):
        path.write_bytes(good[:size])
        with pytest.raises(AnnDataFormatError) as info:
            tokenize_anndata(tok, path)
        assert str(info.value).startswith(f"{path}: ")


def test_cli_names_a_malformed_file_on_one_line(universe: Path, tmp_path: Path) -> None:
    path = write_good(tmp_path / "cells.h5ad")
    with h5py.File(path, "r+") as f:
        as_group(f["X"], "indptr")
    out = tmp_path / "cells.gtok"
    proc = run_cli("anndata", universe, path, "-o", out)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"gtok anndata: {path}: X/indptr is a group")
    assert not out.exists()


# ---------------------------------------------------------------------- bit flips

#: run in a child: flip each (position, bit) of the list from a start, tokenize, report;
#: faulthandler names the Python frame if libhdf5 crashes or loops (a per-case timer)
_CHILD = r"""
import faulthandler, json, os, sys
from gtok import Tokenizer, tokenize_anndata
from gtok.errors import AnnDataFormatError
universe, good, flipped, cases, start, limit = sys.argv[1:]
tok = Tokenizer(universe)
raw = open(good, "rb").read()
faulthandler.enable()
for k, (pos, bit) in enumerate(json.load(open(cases))[int(start):], int(start)):
    bad = bytearray(raw)
    bad[pos] ^= 1 << bit
    with open(flipped, "wb") as f:
        f.write(bad)
    print("start", k, flush=True)
    faulthandler.dump_traceback_later(float(limit), exit=True)
    try:
        tokenize_anndata(tok, flipped, flipped + ".gtok")  # a pack: names may repeat
        outcome = "ok"
        os.remove(flipped + ".gtok")
    except AnnDataFormatError as exc:
        named = str(exc).startswith(flipped + ": ")
        left = [n for n in os.listdir(os.path.dirname(flipped)) if n.endswith((".gtok", ".tmp"))]
        outcome = "refused" if named and not left else f"unnamed, or left {left}: {exc}"
    except BaseException as exc:
        outcome = f"{type(exc).__name__}: {exc}"
    faulthandler.cancel_dump_traceback_later()
    print("done", k, json.dumps(outcome), flush=True)
"""


def _innermost_frame(stderr: str) -> str:
    """The innermost Python frame of a faulthandler dump (it lists the innermost first)."""
    return next((line for line in stderr.splitlines() if line.strip().startswith("File ")), "")


def test_bit_flips_give_a_result_or_a_format_error(universe: Path, tmp_path: Path) -> None:
    """Single bits flipped at ~300 seeded places of a small file: each read succeeds (h5py
    has no checksums on data) or is an AnnDataFormatError naming the file -- never another
    exception. Where libhdf5 itself crashes or never returns (in C, out of reach of any
    Python code: seen in its global heap reader), the child dies inside an h5py call; the
    sweep notes it and goes on in a new child."""
    good = write_good(tmp_path / "good.h5ad", n_obs=12, n_var=8)
    size = good.stat().st_size
    rng = np.random.default_rng(15)
    cases = [[int(p), int(b)] for p, b in zip(rng.integers(0, size, 300), rng.integers(0, 8, 300))]
    flipped = str(tmp_path / "flipped.h5ad")
    cases_file = tmp_path / "cases.json"
    cases_file.write_text(json.dumps(cases))
    outcomes: dict[int, str] = {}
    in_libhdf5 = []
    start = 0
    while start < len(cases):
        args = [universe, good, flipped, cases_file, start, 10]
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, *map(str, args)],
            cwd=SUBPROCESS_CWD,
            capture_output=True,
            text=True,
            timeout=120,
        )
        last = start
        for line in proc.stdout.splitlines():
            word, k, *rest = line.split(" ", 2)
            last = int(k)
            if word == "done":
                outcomes[last] = json.loads(rest[0])
        if proc.returncode == 0:
            break
        frame = _innermost_frame(proc.stderr)
        assert f"{os.sep}h5py{os.sep}" in frame, (
            f"case {cases[last]} died outside h5py:\n{proc.stderr}"
        )
        in_libhdf5.append(cases[last])
        start = last + 1
    bad = {tuple(cases[k]): o for k, o in outcomes.items() if o not in ("ok", "refused")}
    assert not bad
    counts = {o: list(outcomes.values()).count(o) for o in ("ok", "refused")}
    assert counts["ok"] > 0 and counts["refused"] > 0
    assert len(outcomes) + len(in_libhdf5) == len(cases)
    assert len(in_libhdf5) < len(cases) // 20, in_libhdf5
