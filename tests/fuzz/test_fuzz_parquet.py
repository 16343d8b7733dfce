"""Fuzzing parquet import (``gtok.io.parquet.import_parquet``): token tables of several
column types, written by pyarrow, damaged by random mutations.

Oracles (docs/semantics.md §7): the import succeeds or raises ``ParquetFormatError``
naming the file, and a failed import leaves no pack; a pack written opens and verifies,
and holds the documents pyarrow reads from the same bytes.
"""

from __future__ import annotations

import io
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gtok import open_gtok
from gtok.errors import ParquetFormatError
from gtok.io.parquet import import_parquet

from fuzzlib import check_typed, fuzz_settings, mutated, scratch, watchdog, write

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

ID_TYPES = ["int16", "int32", "int64", "uint16", "uint32", "uint64"]


@st.composite
def parquet_files(draw) -> tuple[bytes, str]:
    docs = draw(st.lists(st.lists(st.integers(0, 2**15 - 1), max_size=20), max_size=8))
    kind = draw(st.sampled_from(ID_TYPES))
    list_type = draw(st.sampled_from([pa.list_, pa.large_list]))
    columns = {"tokens": pa.array(docs, type=list_type(getattr(pa, kind)()))}
    if draw(st.booleans()):
        columns["name"] = pa.array([f"doc{i}" for i in range(len(docs))])
    buf = io.BytesIO()
    pq.write_table(
        pa.table(columns),
        buf,
        compression=draw(st.sampled_from(["none", "snappy", "gzip"])),
        row_group_size=draw(st.sampled_from([2, 1000])),
    )
    return buf.getvalue(), kind


@fuzz_settings(0.5)
@given(made=parquet_files(), data=st.data())
def test_a_damaged_parquet_file_imports_what_pyarrow_reads_or_raises_a_typed_error(made, data):
    raw, _ = made
    damaged = data.draw(mutated(raw, max_steps=2))
    with scratch() as folder, watchdog():
        path = write(os.path.join(folder, "docs.parquet"), damaged.data)
        out = os.path.join(folder, "docs.gtok")
        try:
            n_docs, n_tokens = import_parquet(path, out)
        except Exception as exc:
            check_typed(exc, (ParquetFormatError,), path)
            assert sorted(os.listdir(folder)) == ["docs.parquet"], "a failed import left files"
            return
        with open_gtok(out) as pack:
            pack.verify()
            docs = [d.tolist() for d in pack]
        assert (len(docs), sum(map(len, docs))) == (n_docs, n_tokens)
        assert docs == pq.read_table(path, columns=["tokens"]).column(0).to_pylist()
