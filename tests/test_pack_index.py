"""Reading one document of a pack costs O(1): no per-document Python objects, however many
documents the pack holds (a single-cell atlas has millions)."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from gtok import PackWriter, open_gtok
from gtok.errors import CorruptIndexError


def test_first_document_access_allocates_nothing_per_document(tmp_path: Path) -> None:
    n = 20_000
    path = tmp_path / "many.gtok"
    with PackWriter(path, dtype="uint16", names=False) as w:
        for i in range(n):
            w.add(np.array([i % 60_000, 1], dtype=np.uint16))
    pack = open_gtok(path)
    tracemalloc.start()
    try:
        first = pack.doc(n - 1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert first.tolist() == [(n - 1) % 60_000, 1]
    assert peak < 64 * 1024, f"doc() allocated {peak} bytes (a list of every offset?)"
    assert pack[-n].tolist() == [0, 1]
    with pytest.raises(IndexError):
        pack.doc(n)


def test_out_of_order_offsets_still_a_typed_error(tmp_path: Path) -> None:
    path = tmp_path / "p.gtok"
    with PackWriter(path, dtype="uint16") as w:
        w.add([1, 2, 3])
        w.add([4])
    with open_gtok(path) as pack:
        index = pack._index_offset
    raw = bytearray(path.read_bytes())
    raw[index + 8 : index + 16] = (9).to_bytes(8, "little")  # offsets 0, 9, 4: out of order
    path.write_bytes(bytes(raw))  # payload CRC now wrong: only verify() reads it
    pack = open_gtok(path)
    with pytest.raises(CorruptIndexError, match="document 0"):
        pack.doc(0)
    with pytest.raises(CorruptIndexError, match="document 1"):
        pack.doc(1)


def test_closed_pack_says_closed(tmp_path: Path) -> None:
    path = tmp_path / "p.gtok"
    with PackWriter(path, dtype="uint16") as w:
        w.add([1], name="a")
    pack = open_gtok(path)
    pack.close()
    for use in (
        lambda: pack.doc(0),
        lambda: pack.names,
        lambda: pack.metadata,
        pack.verify,
        lambda: pack.tokens,
    ):
        with pytest.raises(ValueError, match="closed"):
            use()
