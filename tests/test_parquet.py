"""Parquet interop (gtok.io.parquet): packs and .gtok folders to parquet and back."""

from __future__ import annotations

import doctest
import os
from pathlib import Path

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from gtok import Tokenizer, open_gtok, write_gtok, write_pack  # noqa: E402
from gtok.errors import FingerprintMismatchError, InputFormatError, ParquetFormatError  # noqa: E402
from gtok.io import parquet as parquet_mod  # noqa: E402
from gtok.io.parquet import export_parquet, import_parquet  # noqa: E402

from batchdata import cli, make_universe  # noqa: E402


@pytest.fixture(scope="module")
def universe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_universe(tmp_path_factory.mktemp("u") / "universe.bed", 50)


def random_docs(n: int, vocab: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, vocab, int(rng.integers(0, 40))).astype(np.uint32) for _ in range(n)]


def leftovers(folder) -> list[str]:
    return sorted(p for p in os.listdir(folder) if p.endswith(".tmp"))


def test_round_trip_pack_parquet_pack(
    tok: Tokenizer, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = random_docs(300, tok.vocab_size)
    docs[5] = np.zeros(0, np.uint32)
    names = [f"cell-{i}" for i in range(len(docs))]
    src = tmp_path / "cells.gtok"
    write_pack(src, docs, names=names, tokenizer=tok)
    monkeypatch.setattr(parquet_mod, "ROW_GROUP_DOCS", 64)  # several row groups
    out = tmp_path / "cells.parquet"
    assert export_parquet(src, out) == (300, sum(len(d) for d in docs))
    f = pq.ParquetFile(out)
    assert f.metadata.num_row_groups == 5
    field = f.schema_arrow.field("tokens")
    assert pa.types.is_list(field.type) and field.type.value_type == pa.int32()
    assert f.schema_arrow.field("name").type == pa.string()
    back = tmp_path / "back.gtok"
    assert import_parquet(out, back, tokenizer=tok, batch_rows=50) == (
        300,
        sum(len(d) for d in docs),
    )
    with open_gtok(back) as pack:
        pack.verify()
        assert pack.names == names
        assert [pack.doc(i).tolist() for i in range(len(pack))] == [d.tolist() for d in docs]
        assert pack.fingerprint == tok.fingerprint
        assert pack.metadata["parquet"]["recorded_universe"]["fingerprint"] == tok.fingerprint
    assert leftovers(tmp_path) == []


def test_folder_of_gtok_files_to_parquet(tok: Tokenizer, tmp_path) -> None:
    folder = tmp_path / "tokens"
    docs = random_docs(6, 70_000, seed=3)  # some ids need uint32 files
    expected = {}
    for i, d in enumerate(docs):
        rel = f"sub{i % 2}/sample{i}"
        write_gtok(folder / f"{rel}.gtok", d)
        expected[rel] = d.tolist()
    (folder / "notes.txt").write_text("not tokens\n")
    out = tmp_path / "tokens.parquet"
    assert export_parquet(folder, out) == (6, sum(len(d) for d in docs))
    table = pq.read_table(out)
    got = dict(zip(table.column("name").to_pylist(), table.column("tokens").to_pylist()))
    assert got == expected
    assert table.schema.metadata[b"gtok"] == b'{"fingerprint": null, "vocab_size": null}'
    # a list of files, without names
    files = [folder / "sub0" / "sample0.gtok", folder / "sub1" / "sample1.gtok"]
    export_parquet(files, out, name_column=None)
    table = pq.read_table(out)
    assert table.column_names == ["tokens"]
    assert table.column("tokens").to_pylist() == [docs[0].tolist(), docs[1].tolist()]


def test_export_checks_ids_and_universe(tok: Tokenizer, tmp_path) -> None:
    bad = tmp_path / "in" / "big.gtok"
    write_gtok(bad, [1, tok.vocab_size + 5])
    out = tmp_path / "out.parquet"
    with pytest.raises(ValueError, match="outside the vocabulary"):
        export_parquet(bad, out, tokenizer=tok)
    other = Tokenizer(make_universe(tmp_path / "other.bed", 10, seed=9))
    pack = tmp_path / "in" / "other.gtok"
    write_pack(pack, [[1, 2]], tokenizer=other)
    with pytest.raises(FingerprintMismatchError):
        export_parquet(pack, out, tokenizer=tok)
    write_gtok(tmp_path / "huge" / "x.gtok", [2**31])
    with pytest.raises(OverflowError, match="int32"):
        export_parquet(tmp_path / "huge", out)
    assert not out.exists() and leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "table,problem",
    [
        ({"ids": [[1, 2]]}, "no column 'tokens'"),
        ({"tokens": [1, 2]}, "not a list of integers"),
        ({"tokens": [["a"], ["b"]]}, "not a list of integers"),
        ({"tokens": [[1.5], [2.0]]}, "not a list of integers"),
        ({"tokens": [[1, 2], [3, -4]]}, "row 1: id -4 is negative"),
        ({"tokens": [[1, 2], None, [3]]}, "row 1: the document is null"),
        ({"tokens": [[1, None]]}, "a null id"),
        ({"tokens": pa.array([[1], [2**32]], pa.list_(pa.int64()))}, "row 1: id 4294967296"),
    ],
)
def test_bad_parquet_gives_clear_errors_and_no_pack(tmp_path, table, problem) -> None:
    src = tmp_path / "bad.parquet"
    pq.write_table(pa.table(table), src)
    out = tmp_path / "out.gtok"
    with pytest.raises(ParquetFormatError, match=problem) as info:
        import_parquet(src, out)
    assert isinstance(info.value, InputFormatError) and str(src) in str(info.value)
    assert not out.exists() and leftovers(tmp_path) == []


def test_import_checks_vocabulary_and_fingerprint(tok: Tokenizer, tmp_path) -> None:
    src = tmp_path / "t.parquet"
    pq.write_table(pa.table({"tokens": [[0, 1], [tok.vocab_size]]}), src)
    with pytest.raises(ParquetFormatError, match="row 1: id .* outside the vocabulary"):
        import_parquet(src, tmp_path / "o.gtok", tokenizer=tok)
    other = Tokenizer(make_universe(tmp_path / "other.bed", 10, seed=9))
    write_pack(tmp_path / "p.gtok", [[1]], tokenizer=other)
    export_parquet(tmp_path / "p.gtok", src)
    with pytest.raises(FingerprintMismatchError):
        import_parquet(src, tmp_path / "o.gtok", tokenizer=tok)
    assert not (tmp_path / "o.gtok").exists()


def test_other_bad_inputs(tmp_path) -> None:
    with pytest.raises(FileNotFoundError):
        import_parquet(tmp_path / "missing.parquet", tmp_path / "o.gtok")
    with pytest.raises(IsADirectoryError):
        import_parquet(tmp_path, tmp_path / "o.gtok")
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"PAR1 but not really")
    with pytest.raises(ParquetFormatError, match="not a parquet file"):
        import_parquet(junk, tmp_path / "o.gtok")
    with pytest.raises(FileNotFoundError):
        export_parquet(tmp_path / "nothing-here", tmp_path / "o.parquet")


def test_large_list_and_other_integer_types_import(tmp_path) -> None:
    src = tmp_path / "t.parquet"
    pq.write_table(
        pa.table(
            {
                "tokens": pa.array([[1, 2], [], [65_536]], pa.large_list(pa.uint32())),
                "name": ["a", None, "c"],
            }
        ),
        src,
    )
    import_parquet(src, tmp_path / "o.gtok")
    with open_gtok(tmp_path / "o.gtok") as pack:
        assert [pack.doc(i).tolist() for i in range(3)] == [[1, 2], [], [65_536]]
        assert pack.names == ["a", "", "c"]


def test_cli_parquet(tok: Tokenizer, tmp_path, capsys) -> None:
    docs = random_docs(20, tok.vocab_size, seed=5)
    write_pack(tmp_path / "c.gtok", docs, names=[str(i) for i in range(20)], tokenizer=tok)
    assert cli("parquet", "export", tmp_path / "c.gtok", "-o", tmp_path / "c.parquet") == 0
    assert "20 documents" in capsys.readouterr().err
    assert (
        cli(
            "parquet",
            "import",
            tmp_path / "c.parquet",
            "-o",
            tmp_path / "d.gtok",
            "-u",
            tok.universe.source,
            "-q",
        )
        == 0
    )
    with open_gtok(tmp_path / "d.gtok") as pack:
        assert [pack.doc(i).tolist() for i in range(20)] == [d.tolist() for d in docs]
    pq.write_table(pa.table({"tokens": [[-1]]}), tmp_path / "bad.parquet")
    assert cli("parquet", "import", tmp_path / "bad.parquet", "-o", tmp_path / "e.gtok") == 1
    err = capsys.readouterr().err
    assert err.startswith("gtok parquet import: ") and "negative" in err
    assert (
        cli(
            "parquet",
            "import",
            tmp_path / "c.parquet",
            tmp_path / "bad.parquet",
            "-o",
            tmp_path / "e.gtok",
        )
        == 2
    )
    assert not (tmp_path / "e.gtok").exists()


def test_missing_pyarrow_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    import builtins

    real_import = builtins.__import__

    def no_pyarrow(name, *args, **kwargs):
        if name == "pyarrow" or name.startswith("pyarrow."):
            raise ImportError("No module named 'pyarrow'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    with pytest.raises(ImportError, match=r"pip install 'gtok\[singlecell\]'"):
        export_parquet(tmp_path, tmp_path / "o.parquet")


def test_docstring_examples() -> None:
    result = doctest.testmod(parquet_mod, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_corrupt_row_groups_are_a_format_error_naming_the_file(tmp_path) -> None:
    """Bits flipped all over a parquet file (every CRC-free byte pyarrow decodes): the import
    either succeeds or raises ParquetFormatError naming the file -- never OSError,
    ArrowInvalid or UnicodeDecodeError from inside pyarrow -- and leaves no pack behind."""
    src = tmp_path / "src.parquet"
    docs = [[int(v) for v in d] for d in random_docs(40, 500, seed=3)]
    table = pa.table({"tokens": docs, "name": [f"cell-{k}-é" for k in range(40)]})
    pq.write_table(table, src, row_group_size=8, compression="NONE")
    good = src.read_bytes()
    out = tmp_path / "o.gtok"
    outcomes = {"ok": 0, "refused": 0}
    for pos in range(4, len(good) - 8, 4):
        for bit in (0, 5):
            raw = bytearray(good)
            raw[pos] ^= 1 << bit
            src.write_bytes(bytes(raw))
            try:
                import_parquet(src, out, batch_rows=8)
                outcomes["ok"] += 1
            except ParquetFormatError as exc:
                assert str(src) in str(exc)
                assert not out.exists()  # nothing written
                outcomes["refused"] += 1
            if out.exists():
                out.unlink()
    assert outcomes["refused"] > 0 and outcomes["ok"] > 0
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
