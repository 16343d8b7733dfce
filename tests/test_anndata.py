"""AnnData / .h5ad to per-cell documents (gtok.singlecell.matrix), against a geniml-style oracle.

The oracle is what geniml's ``tokenize_anndata`` does: for each cell, take the columns
scipy's ``X[row].nonzero()`` gives (stored order for CSR, ascending for CSC; ascending for
a dense row) and call the tokenizer once on that cell's regions, as in-memory columns.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("scipy")
import scipy.sparse as sp  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from gtok import Tokenizer, open_gtok, tokenize_anndata  # noqa: E402
from gtok.errors import AnnDataFormatError, InputFormatError  # noqa: E402
from gtok.singlecell import matrix as cells_mod  # noqa: E402

from batchdata import CHROMS, cli, make_universe  # noqa: E402

anndata = pytest.importorskip("anndata")
h5py = pytest.importorskip("h5py")
pd = pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def universe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_universe(tmp_path_factory.mktemp("u") / "universe.bed", 60)


def oracle(
    tok: Tokenizer, x: object, chroms: list, starts: list, ends: list, unk: str = "whole"
) -> list[list[int]]:
    """geniml's per-cell loop, with gtok's tokenizer as the region-set tokenizer."""
    chroms_a = np.array(chroms, dtype=object)
    starts_a = np.asarray(starts, dtype=np.int64)
    ends_a = np.asarray(ends, dtype=np.int64)
    docs = []
    for r in range(x.shape[0]):
        if sp.issparse(x):
            cols = x[[r]].nonzero()[1] if x.format != "csr" else _csr_row_cols(x, r)
        else:
            cols = np.flatnonzero(np.asarray(x)[r])
        docs.append(
            tok.tokenize(
                (chroms_a[cols].tolist(), starts_a[cols], ends_a[cols]), unk=unk
            ).ids.tolist()
        )
    return docs


def _csr_row_cols(x: sp.csr_matrix, r: int) -> np.ndarray:
    cols = x[r].nonzero()[1]
    # scipy's own order for the row (stored order, explicit zeros dropped, duplicates kept)
    a, b = x.indptr[r], x.indptr[r + 1]
    stored = x.indices[a:b][x.data[a:b] != 0]
    assert sorted(cols.tolist()) == sorted(stored.tolist())
    return stored


def make_adata(
    x: object,
    chroms: list,
    starts: list,
    ends: list,
    *,
    obs_names: list | None = None,
    var_names: list | None = None,
) -> anndata.AnnData:
    n_obs, n_var = x.shape
    var = pd.DataFrame(
        {
            "chr": pd.Categorical(chroms),
            "start": np.asarray(starts, np.int64),
            "end": np.asarray(ends, np.int64),
        },
        index=var_names or [f"peak{j}" for j in range(n_var)],
    )
    obs = pd.DataFrame(index=obs_names or [f"cell{i}" for i in range(n_obs)])
    return anndata.AnnData(X=x, obs=obs, var=var)


# ---------------------------------------------------------------------- random matrices

regions = st.tuples(
    st.sampled_from(list(CHROMS) + ["chrUn_absent"]),
    st.integers(0, 2_000_000),
    st.integers(0, 6_000),
)


@st.composite
def matrices(draw: st.DrawFn) -> tuple:
    n_var = draw(st.integers(1, 25))
    var = draw(st.lists(regions, min_size=n_var, max_size=n_var))
    if draw(st.booleans()) and n_var > 1:  # overlapping var regions: a copy, shifted
        c, s, w = var[0]
        var[1] = (c, s + w // 2, w)
    chroms = [c for c, _, _ in var]
    starts = [s for _, s, _ in var]
    ends = [s + w for _, s, w in var]
    n_obs = draw(st.integers(0, 10))
    dense = np.array(
        draw(
            st.lists(
                st.sampled_from([0, 0, 0, 1, 2.5, -1.0]),
                min_size=n_obs * n_var,
                max_size=n_obs * n_var,
            )
        ),
        dtype=np.float64,
    ).reshape(n_obs, n_var)
    fmt = draw(st.sampled_from(["csr", "csr_unsorted", "csr_zeros", "csr_dups", "csc", "dense"]))
    if fmt == "dense":
        x: object = dense
    elif fmt == "csc":
        x = sp.csc_matrix(dense)
    else:
        m = sp.csr_matrix(dense)
        indptr, indices, data = m.indptr, m.indices.copy(), m.data.copy()
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        if fmt == "csr_unsorted":
            for r in range(n_obs):
                a, b = indptr[r], indptr[r + 1]
                perm = rng.permutation(b - a) + a
                indices[a:b], data[a:b] = indices[perm], data[perm]
        if fmt in ("csr_zeros", "csr_dups") and n_obs:
            # explicit zeros (not "non-zero"), or a column stored twice in a row
            rows, cols = [], []
            for r in range(n_obs):
                k = int(rng.integers(0, 3))
                rows += [r] * k
                cols += rng.integers(0, n_var, k).tolist()
            extra_vals = np.zeros(len(rows)) if fmt == "csr_zeros" else np.ones(len(rows))
            all_rows = np.concatenate([np.repeat(np.arange(n_obs), np.diff(indptr)), rows])
            order = np.argsort(all_rows, kind="stable")
            indices = np.concatenate([indices, np.asarray(cols, dtype=indices.dtype)])[order]
            data = np.concatenate([data, extra_vals])[order]
            indptr = np.concatenate(
                [[0], np.cumsum(np.bincount(all_rows.astype(np.int64), minlength=n_obs))]
            )
        x = sp.csr_matrix((data, indices, indptr), shape=(n_obs, n_var))
        x.has_sorted_indices = False  # keep scipy from "fixing" the order we made
    return x, chroms, starts, ends


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=matrices(), unk=st.sampled_from(["whole", "per_region"]))
def test_random_matrices_match_the_per_cell_oracle(tok: Tokenizer, case: tuple, unk: str) -> None:
    x, chroms, starts, ends = case
    adata = make_adata(x, chroms, starts, ends)
    got = tokenize_anndata(tok, adata, unk=unk)
    assert list(got) == list(adata.obs_names)
    want = oracle(tok, x, chroms, starts, ends, unk)
    assert [v.tolist() for v in got.values()] == want
    for v in got.values():
        assert v.dtype == np.uint32


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=matrices())
def test_small_chunks_give_the_same_documents(
    tok: Tokenizer, case: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    x, chroms, starts, ends = case
    adata = make_adata(x, chroms, starts, ends)
    whole = tokenize_anndata(tok, adata)
    with monkeypatch.context() as m:
        m.setattr(cells_mod, "CHUNK_ENTRIES", 3)
        chunked = tokenize_anndata(tok, adata)
    assert {k: v.tolist() for k, v in chunked.items()} == {k: v.tolist() for k, v in whole.items()}


# ---------------------------------------------------------------------- .h5ad files


def _fixed_case(fmt: str) -> tuple:
    rng = np.random.default_rng(7)
    n_obs, n_var = 40, 60
    chroms = [CHROMS[k % len(CHROMS)] if k % 11 else "chrUn_absent" for k in range(n_var)]
    starts = rng.integers(0, 1_990_000, n_var).tolist()
    ends = [s + int(w) for s, w in zip(starts, rng.integers(0, 5_000, n_var))]
    dense = (rng.random((n_obs, n_var)) < 0.2) * rng.integers(1, 5, (n_obs, n_var))
    dense[3] = 0  # an empty cell
    x = {
        "csr": sp.csr_matrix(dense),
        "csc": sp.csc_matrix(dense),
        "dense": dense.astype(np.float32),
    }[fmt]
    if fmt == "csr":
        x.data[::7] = 0  # explicit zeros survive writing
        m = x
        for r in range(0, n_obs, 2):  # unsorted rows, as in gtars' own fixture
            a, b = m.indptr[r], m.indptr[r + 1]
            m.indices[a:b] = m.indices[a:b][::-1].copy()
            m.data[a:b] = m.data[a:b][::-1].copy()
        m.has_sorted_indices = False
    return x, chroms, starts, ends


@pytest.mark.parametrize("fmt", ["csr", "csc", "dense"])
def test_h5ad_path_equals_anndata_object_and_oracle(
    tok: Tokenizer, tmp_path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    x, chroms, starts, ends = _fixed_case(fmt)
    adata = make_adata(x, chroms, starts, ends)
    path = tmp_path / "cells.h5ad"
    adata.write_h5ad(path)
    from_file = tokenize_anndata(tok, path)
    from_object = tokenize_anndata(tok, adata)
    backed = anndata.read_h5ad(path, backed="r")
    from_backed = tokenize_anndata(tok, backed)
    backed.file.close()
    monkeypatch.setattr(cells_mod, "CHUNK_ENTRIES", 17)
    chunked = tokenize_anndata(tok, path)
    want = oracle(tok, anndata.read_h5ad(path).X, chroms, starts, ends)
    for got in (from_file, from_object, from_backed, chunked):
        assert list(got) == [f"cell{i}" for i in range(x.shape[0])]
        assert [v.tolist() for v in got.values()] == want
    assert want[3] == [tok.unk_token_id]


def test_backed_anndata_uses_its_in_memory_names_and_var(tok: Tokenizer, tmp_path) -> None:
    """A backed AnnData's matrix comes from its file, but obs names and var coordinates
    changed in memory after opening it are the ones used (not the file's)."""
    x, chroms, starts, ends = _fixed_case("csr")
    path = tmp_path / "cells.h5ad"
    make_adata(x, chroms, starts, ends).write_h5ad(path)
    backed = anndata.read_h5ad(path, backed="r")
    try:
        backed.obs_names = [f"renamed{i}" for i in range(backed.n_obs)]
        shifted = [s + 50_000 for s in starts]
        backed.var["start"] = shifted
        backed.var["end"] = [e + 50_000 for e in ends]
        got = tokenize_anndata(tok, backed)
    finally:
        backed.file.close()
    assert list(got) == [f"renamed{i}" for i in range(x.shape[0])]
    want = oracle(tok, anndata.read_h5ad(path).X, chroms, shifted, [e + 50_000 for e in ends])
    assert [v.tolist() for v in got.values()] == want


def test_pack_output_names_metadata_and_fingerprint(tok: Tokenizer, tmp_path) -> None:
    x, chroms, starts, ends = _fixed_case("csr")
    adata = make_adata(x, chroms, starts, ends)
    path = tmp_path / "cells.h5ad"
    adata.write_h5ad(path)
    out = tmp_path / "out" / "cells.gtok"
    summary = tokenize_anndata(tok, path, out)
    docs = tokenize_anndata(tok, path)
    with open_gtok(out) as pack:
        pack.verify()
        assert pack.names == list(docs)
        assert [pack.doc(i).tolist() for i in range(len(pack))] == [
            v.tolist() for v in docs.values()
        ]
        assert pack.fingerprint == tok.fingerprint
        meta = pack.metadata
    assert meta["settings"] == {"unk": "whole", "layer": None, "coords": ["chr", "start", "end"]}
    assert meta["anndata"]["n_obs"] == 40 and meta["anndata"]["n_vars"] == 60
    assert summary.n_cells == 40
    assert summary.n_tokens == sum(len(v) for v in docs.values())
    assert summary.n_regions_unknown_chrom == sum(c == "chrUn_absent" for c in chroms)
    assert summary.n_unk_cells == sum(v.tolist() == [tok.unk_token_id] for v in docs.values())
    assert [p.name for p in out.parent.iterdir()] == ["cells.gtok"]


def test_layer_and_var_name_coordinates(tok: Tokenizer, tmp_path) -> None:
    x, chroms, starts, ends = _fixed_case("csr")
    base = make_adata(x, chroms, starts, ends)
    names = [
        f"{c}:{s}-{e}" if k % 2 else f"{c}-{s}-{e}"
        for k, (c, s, e) in enumerate(zip(chroms, starts, ends))
    ]
    other = sp.csr_matrix(np.ones(x.shape))
    adata = anndata.AnnData(
        X=other, obs=base.obs, var=pd.DataFrame(index=names), layers={"peaks": x}
    )
    want = [v.tolist() for v in tokenize_anndata(tok, base).values()]
    got = tokenize_anndata(tok, adata, layer="peaks")
    assert [v.tolist() for v in got.values()] == want
    path = tmp_path / "named.h5ad"
    adata.write_h5ad(path)
    assert [v.tolist() for v in tokenize_anndata(tok, path, layer="peaks").values()] == want
    assert [
        v.tolist() for v in tokenize_anndata(tok, adata, layer="peaks", coords="names").values()
    ] == want
    with pytest.raises(AnnDataFormatError, match=r"var name 1 \('peak0'\) is not"):
        tokenize_anndata(tok, base, coords="names")


# ---------------------------------------------------------------------- real fixture


def test_gtars_pbmc_fixture_matches_geniml_through_gtars(conformance_dir) -> None:
    gtars_tok = pytest.importorskip("gtars.tokenizers")
    from gtars.models import Region

    h5ad = conformance_dir / "gtars" / "pbmc_hg38.h5ad"
    adata = anndata.read_h5ad(h5ad)
    for universe in (
        conformance_dir / "gtars" / "pbmc_hg38_var_peaks.bed",
        conformance_dir / "geniml" / "universe.uniq.bed",
    ):
        ref = gtars_tok.Tokenizer(str(universe))
        features = np.empty(adata.n_vars, dtype=object)
        for j, (c, s, e) in enumerate(zip(adata.var["chr"], adata.var["start"], adata.var["end"])):
            features[j] = Region(c, int(s), int(e), None)
        # geniml's tokenize_anndata: tokenizer(features[x[row].nonzero()[1]]) per cell
        want = [
            list(ref(features[adata.X[r].nonzero()[1]])["input_ids"]) for r in range(adata.n_obs)
        ]
        tok = Tokenizer(universe)
        from_file = tokenize_anndata(tok, h5ad)
        from_object = tokenize_anndata(tok, adata)
        assert list(from_file) == list(adata.obs_names)
        assert [v.tolist() for v in from_file.values()] == want
        assert [v.tolist() for v in from_object.values()] == want


def test_pbmc_peaks_as_universe_give_each_cells_own_peaks(conformance_dir) -> None:
    h5ad = conformance_dir / "gtars" / "pbmc_hg38.h5ad"
    tok = Tokenizer(conformance_dir / "gtars" / "pbmc_hg38_var_peaks.bed")
    docs = tokenize_anndata(tok, h5ad)
    with h5py.File(h5ad, "r") as f:
        indptr, indices = f["X/indptr"][:], f["X/indices"][:]
    # the universe is the var peaks in var order, so a cell's ids are its own columns
    for i, ids in enumerate(docs.values()):
        assert ids.tolist() == indices[indptr[i] : indptr[i + 1]].tolist()


# ---------------------------------------------------------------------- bad input


def _write_h5ad(path, **var_columns) -> None:
    n_var = len(next(iter(var_columns.values()))) if var_columns else 3
    var = pd.DataFrame(var_columns, index=[f"p{j}" for j in range(n_var)])
    anndata.AnnData(
        X=sp.csr_matrix(np.ones((2, n_var))), var=var, obs=pd.DataFrame(index=["a", "b"])
    ).write_h5ad(path)


def test_missing_coordinates_is_a_typed_error_naming_the_file(tok: Tokenizer, tmp_path) -> None:
    path = tmp_path / "nocoords.h5ad"
    _write_h5ad(path, gene=["x", "y", "z"])
    with pytest.raises(AnnDataFormatError) as info:
        tokenize_anndata(tok, path)
    assert isinstance(info.value, InputFormatError) and isinstance(info.value, ValueError)
    assert str(path) in str(info.value) and "chr:start-end" in str(info.value)
    partial = tmp_path / "partial.h5ad"
    _write_h5ad(partial, chr=["chr1"] * 3, start=[1, 2, 3])
    with pytest.raises(AnnDataFormatError, match="no end column"):
        tokenize_anndata(tok, partial)
    with pytest.raises(AnnDataFormatError, match="no column 'c'"):
        tokenize_anndata(tok, partial, coords=("chr", "start", "c"))


@pytest.mark.parametrize(
    "start,end,problem,region",
    [
        ([5, 9, 1], [1, 10, 2], "start is greater than end", "p0"),
        ([-1, 0, 1], [1, 10, 2], "start is negative", "p0"),
        (["10", "x", "1"], ["20", "30", "2"], "start is not an integer", "p1"),
        ([1.5, 2.0, 3.0], [4, 5, 6], "start is not an integer", "p0"),
        # the fractional one is blamed, not the first (whole floats are coordinates)
        ([0.0, 100.5, 250.0], [50, 150, 300], "start is not an integer", "p1"),
    ],
)
def test_bad_var_coordinates_name_the_region(
    tok: Tokenizer, tmp_path, start, end, problem, region
) -> None:
    path = tmp_path / "bad.h5ad"
    _write_h5ad(path, chr=["chr1"] * 3, start=start, end=end)
    out = tmp_path / "o.gtok"
    with pytest.raises(AnnDataFormatError, match=problem) as info:
        tokenize_anndata(tok, path, out)
    assert str(path) in str(info.value) and "var region" in str(info.value)
    assert f"('{region}')" in str(info.value)
    assert list(tmp_path.iterdir()) == [path]  # no pack, no temporary file


def test_numeric_strings_and_whole_floats_are_coordinates(tok: Tokenizer) -> None:
    x = sp.csr_matrix(np.ones((1, 2)))
    a = make_adata(x, ["chr1", "chr2"], [100, 200], [5_000, 9_000])
    b = a.copy()
    b.var["start"] = ["100", "200"]
    b.var["end"] = [5_000.0, 9_000.0]
    assert tokenize_anndata(tok, b)["cell0"].tolist() == tokenize_anndata(tok, a)["cell0"].tolist()


def test_other_bad_inputs(tok: Tokenizer, tmp_path) -> None:
    with pytest.raises(FileNotFoundError):
        tokenize_anndata(tok, tmp_path / "missing.h5ad")
    with pytest.raises(IsADirectoryError):
        tokenize_anndata(tok, tmp_path)
    junk = tmp_path / "junk.h5ad"
    junk.write_text("not hdf5\n")
    with pytest.raises(AnnDataFormatError, match="not an HDF5"):
        tokenize_anndata(tok, junk)
    good = tmp_path / "good.h5ad"
    _write_h5ad(good, chr=["chr1"] * 3, start=[1, 2, 3], end=[4, 5, 6])
    with pytest.raises(AnnDataFormatError, match="no layer 'nope'"):
        tokenize_anndata(tok, good, layer="nope")
    with pytest.raises(ValueError, match="unk must be"):
        tokenize_anndata(tok, good, unk="sometimes")
    with pytest.raises(TypeError, match="h5ad path or an anndata"):
        tokenize_anndata(tok, 42)
    with pytest.warns(UserWarning, match="not unique"):
        dup = make_adata(
            sp.csr_matrix(np.ones((2, 1))), ["chr1"], [1], [2], obs_names=["same", "same"]
        )
    with pytest.raises(ValueError, match="'same' is used by more than one cell"):
        tokenize_anndata(tok, dup)
    summary = tokenize_anndata(tok, dup, tmp_path / "dup.gtok")  # a pack holds them
    assert open_gtok(tmp_path / "dup.gtok").names == ["same", "same"] and summary.n_cells == 2


def test_corrupt_sparse_matrix_in_file(tok: Tokenizer, tmp_path) -> None:
    path = tmp_path / "corrupt.h5ad"
    _write_h5ad(path, chr=["chr1"] * 3, start=[1, 2, 3], end=[4, 5, 6])
    with h5py.File(path, "r+") as f:
        f["X/indices"][1] = 99  # column outside the 3 var regions
    out = tmp_path / "o.gtok"
    with pytest.raises(AnnDataFormatError, match="corrupt at cell 1"):
        tokenize_anndata(tok, path, out)
    assert not out.exists()
    with h5py.File(path, "r+") as f:
        f["X/indptr"][1] = 7
    with pytest.raises(AnnDataFormatError, match="index pointer"):
        tokenize_anndata(tok, path)


@pytest.mark.parametrize("frame", ["obs", "var"])
def test_index_as_a_nullable_string_array(tok: Tokenizer, tmp_path, frame: str) -> None:
    """pandas >= 3 strings, as anndata >= 0.12 writes them: the index is a group holding
    ``values`` and ``mask`` (encoding ``nullable-string-array``), not a dataset."""
    path = tmp_path / "cells.h5ad"
    _write_h5ad(path, chr=["chr1"] * 3, start=[1, 2, 3], end=[400, 500, 600])
    expected = {k: v.tolist() for k, v in tokenize_anndata(tok, path).items()}
    with h5py.File(path, "r+") as f:
        group = f[frame]
        key = group.attrs.get("_index", "_index")
        names = (
            [bytes(v) if isinstance(v, bytes) else str(v).encode() for v in group[key][()]]
            if isinstance(group[key], h5py.Dataset)
            else None
        )
        if names is not None:  # older pandas wrote a dataset: rewrite it as pandas 3 does
            del group[key]
            index = group.create_group(key)
            index.attrs["encoding-type"] = "nullable-string-array"
            index.attrs["encoding-version"] = "0.1.0"
            index.create_dataset("values", data=names, dtype=h5py.string_dtype())
            index.create_dataset("mask", data=np.zeros(len(names), dtype=bool))
        assert isinstance(group[key], h5py.Group)
    got = {k: v.tolist() for k, v in tokenize_anndata(tok, path).items()}
    assert got == expected and list(got) == ["a", "b"]


# ---------------------------------------------------------------------- command line


def test_cli_anndata(tok: Tokenizer, tmp_path, capsys) -> None:
    x, chroms, starts, ends = _fixed_case("csc")
    path = tmp_path / "cells.h5ad"
    make_adata(x, chroms, starts, ends).write_h5ad(path)
    out = tmp_path / "cells.gtok"
    code = cli("anndata", tok.universe.source, path, "-o", out)
    assert code == 0
    assert "40 cells" in capsys.readouterr().err
    docs = tokenize_anndata(tok, path)
    with open_gtok(out) as pack:
        assert [pack.doc(i).tolist() for i in range(len(pack))] == [
            v.tolist() for v in docs.values()
        ]
    bad = tmp_path / "nocoords.h5ad"
    _write_h5ad(bad, gene=["x", "y", "z"])
    code = cli("anndata", tok.universe.source, bad, "-o", tmp_path / "b.gtok", "-q")
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("gtok anndata: ") and str(bad) in err
    assert not (tmp_path / "b.gtok").exists()
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_docstring_examples() -> None:
    import doctest

    result = doctest.testmod(cells_mod, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_missing_h5py_names_the_extra(
    tok: Tokenizer, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import builtins

    real_import = builtins.__import__

    def no_h5py(name, *args, **kwargs):
        if name == "h5py" or name.startswith("h5py."):
            raise ImportError("No module named 'h5py'")
        return real_import(name, *args, **kwargs)

    path = tmp_path / "x.h5ad"
    path.write_bytes(b"")
    monkeypatch.setattr(builtins, "__import__", no_h5py)
    with pytest.raises(ImportError, match=r"pip install 'gtok\[singlecell\]'"):
        tokenize_anndata(tok, path)
