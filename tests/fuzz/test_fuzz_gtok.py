"""Fuzzing the ``.gtok`` readers: version-1 files and packs (``read_gtok``, ``open_gtok``,
``GtokPack``), damaged by random mutations (docs/format.md, docs/semantics.md §2-3, §7).

Oracles:

- version 1 has no checksum, so the reader must read exactly what the bytes say: a plain
  transcription of docs/format.md gives the typed error (``ShortFileError``,
  ``BadMagicError``, ``UnknownFlagError``, a damaged pack's ``ChecksumError``,
  ``TrailingBytesError``) or the ids of any damaged file;
- every byte of a pack is under a CRC32, so a damaged pack that opens, verifies and reads
  whole must be the pack written (documents, names, metadata); a pack whose header and
  trailer fields were changed *and* re-checksummed must still give typed errors only, and
  once ``verify()`` passes, every document must read;
- ``gtok.batch.verify`` reports a damaged file as a problem, never raises.
"""

from __future__ import annotations

import os
import struct
import zlib

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from gtok import open_gtok, read_gtok, write_gtok, write_pack
from gtok.errors import (
    BadMagicError,
    ChecksumError,
    GtokFormatError,
    ShortFileError,
    TrailingBytesError,
    UnknownFlagError,
)

from fuzzlib import check_typed, fuzz_settings, mutated, scratch, watchdog, write

ids_lists = st.lists(
    st.one_of(st.integers(0, 300), st.integers(0, 2**16 - 1), st.integers(0, 2**32 - 1)),
    max_size=40,
)
GTOK_ERRORS = (GtokFormatError,)
HEADER = struct.Struct("<4sBBHQQQQ16sII")
TRAILER = struct.Struct("<QQQQII8s")


def v1_reference(data: bytes):
    """docs/format.md, "Version 1", and the damaged-pack rule: the ids, or the error class."""
    if len(data) < 5:
        return ShortFileError
    if data[:4] != b"GTOK":
        return BadMagicError
    flag = data[4]
    if flag in (0x81, 0x82):
        return GtokFormatError  # a pack: see the pack tests
    if flag not in (1, 2):
        return UnknownFlagError
    if (
        len(data) >= 112
        and data.endswith(b"GTOKPACK")
        and (
            zlib.crc32(data[-48:-12]) == int.from_bytes(data[-12:-8], "little")
            or zlib.crc32(data[:4] + bytes((flag | 0x80,)) + data[5:60])
            == int.from_bytes(data[60:64], "little")
        )
    ):
        return ChecksumError  # a damaged pack: its trailer or header CRC32 holds
    width = 2 if flag == 1 else 4
    if (len(data) - 5) % width:
        return TrailingBytesError
    return np.frombuffer(data[5:], dtype="<u2" if flag == 1 else "<u4").tolist()


def read_everything(path: str):
    """Every way to read a file, as plain data: ("v1", ids) or ("pack", docs, names,
    metadata, tokens), after ``verify()`` for a pack."""
    with open_gtok(path) as f:
        if not hasattr(f, "doc"):
            ids = f.tokens.tolist()
            assert read_gtok(path).tolist() == ids
            assert read_gtok(path, copy=True).tolist() == ids
            return ("v1", ids)
        n = len(f)
        f.verify()
        docs = [f.doc(i).tolist() for i in range(n)]
        assert [d.tolist() for d in f] == docs
        assert f.lengths().tolist() == [len(d) for d in docs]
        if n:
            assert f.doc(-1).tolist() == docs[-1]
        tokens = f.tokens.tolist()
        assert tokens == [t for d in docs for t in d]
        assert read_gtok(path).tolist() == tokens
        assert read_gtok(path, copy=True).tolist() == tokens
        return ("pack", docs, f.names, f.metadata, f.fingerprint, f.vocab_size)


@fuzz_settings()
@given(ids=ids_lists, data=st.data())
def test_a_damaged_version_1_file_reads_exactly_its_bytes_or_raises_the_documented_error(ids, data):
    with scratch() as folder, watchdog():
        path = os.path.join(folder, "x.gtok")
        write_gtok(path, ids)
        with open(path, "rb") as f:
            damaged = data.draw(mutated(f.read(), hot=(0, 6)))
        write(path, damaged.data)
        want = v1_reference(damaged.data)
        try:
            got = read_everything(path)
        except Exception as exc:
            check_typed(exc, GTOK_ERRORS, path)
            assert isinstance(want, type), f"refused a readable file: {exc!r}"
            assert isinstance(exc, want), f"{type(exc).__name__}, expected {want.__name__}"
            return
    assert not isinstance(want, type), f"read a file that is a {want.__name__}: {got}"
    assert got == ("v1", want)


@st.composite
def packs(draw):
    docs = draw(st.lists(ids_lists, max_size=6))
    names = draw(st.one_of(st.none(), st.lists(st.text(max_size=5), min_size=len(docs))))
    metadata = draw(st.one_of(st.none(), st.just({"note": "x", "n": [1, 2]})))
    return docs, names[: len(docs)] if names is not None else None, metadata


def pack_written(path: str, docs, names, metadata) -> tuple:
    write_pack(path, docs, names=names, metadata=metadata)
    return read_everything(path)


@fuzz_settings()
@given(pack=packs(), data=st.data())
def test_a_damaged_pack_is_refused_unless_it_is_the_pack_written(pack, data):
    with scratch() as folder, watchdog():
        path = os.path.join(folder, "p.gtok")
        original = pack_written(path, *pack)
        with open(path, "rb") as f:
            raw = f.read()
        n = len(raw)
        region = data.draw(st.sampled_from([(0, 64), (64, n - 48), (n - 48, n), (0, n)]))
        damaged = data.draw(mutated(raw, hot=region))
        write(path, damaged.data)
        try:
            got = read_everything(path)
        except Exception as exc:
            check_typed(exc, GTOK_ERRORS, path)
            return
    assert got == original, damaged


def rechecksum(data: bytearray) -> None:
    """Make a damaged pack's header, payload and trailer CRC32s match again."""
    if len(data) < 112:
        return
    data[60:64] = zlib.crc32(bytes(data[:60])).to_bytes(4, "little")
    data[-12:-8] = zlib.crc32(bytes(data[-48:-12])).to_bytes(4, "little")
    payload = zlib.crc32(bytes(data[64:-48]))
    data[-16:-12] = payload.to_bytes(4, "little")
    data[-12:-8] = zlib.crc32(bytes(data[-48:-12])).to_bytes(4, "little")


big = st.one_of(
    st.integers(0, 300),
    st.sampled_from([2**31, 2**32 - 1, 2**32, 2**62, 2**63 - 1, 2**64 - 1]),
    st.integers(0, 2**64 - 1),
)


@fuzz_settings()
@given(pack=packs(), data=st.data())
def test_a_pack_with_consistent_checksums_but_wrong_fields_raises_typed_errors(pack, data):
    # the fields a CRC cannot vouch for: set (header, trailer, index, name offsets) to
    # any value, then every checksum made to match
    with scratch() as folder, watchdog():
        path = os.path.join(folder, "p.gtok")
        pack_written(path, *pack)
        with open(path, "rb") as f:
            raw = bytearray(f.read())
        n = len(raw)
        for _ in range(data.draw(st.integers(1, 3))):
            where = data.draw(
                st.sampled_from(
                    ["version", "features", "data", "tokens", "docs", "index", "vocab"]
                    + ["names_off", "names_size", "meta_off", "meta_size", "payload", "bytes"]
                )
            )
            fields = {
                "version": (5, "<B"),
                "features": (6, "<H"),
                "data": (8, "<Q"),
                "tokens": (16, "<Q"),
                "docs": (24, "<Q"),
                "index": (32, "<Q"),
                "vocab": (56, "<I"),
                "names_off": (n - 48, "<Q"),
                "names_size": (n - 40, "<Q"),
                "meta_off": (n - 32, "<Q"),
                "meta_size": (n - 24, "<Q"),
            }
            if where in fields:
                at, fmt = fields[where]
                value = data.draw(big) % (1 << (8 * struct.calcsize(fmt)))
                struct.pack_into(fmt, raw, at, value)
            else:
                # (bytes changed in place: the fields above keep their positions)
                changed = mutated(bytes(raw), kinds=("flip", "replace"), hot=(64, n - 48))
                raw[:] = data.draw(changed).data
        rechecksum(raw)
        write(path, bytes(raw))
        try:
            f = open_gtok(path)
        except Exception as exc:
            check_typed(exc, GTOK_ERRORS, path)
            return
        with f:
            for read in (
                lambda: f.names,
                lambda: f.metadata,
                lambda: f.lengths(),
                lambda: f.tokens.tolist(),
                lambda: [f.doc(i).tolist() for i in range(len(f))],
            ):
                try:
                    read()
                except Exception as exc:
                    check_typed(exc, GTOK_ERRORS, path)
            try:
                f.verify()
            except Exception as exc:
                check_typed(exc, GTOK_ERRORS, path)
                return
            # verified: every document reads, and they make up the tokens
            docs = [f.doc(i).tolist() for i in range(len(f))]
            assert [t for d in docs for t in d] == f.tokens.tolist()
