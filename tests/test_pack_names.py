"""Pack document names: damage gives typed errors naming the file; mismatched names write
nothing."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest

from gtok import open_gtok, write_pack
from gtok.errors import CorruptIndexError, PackFormatError
from gtok.io.pack import TRAILER


def _pack(tmp_path: Path) -> tuple[Path, bytes, tuple[int, int, int, int]]:
    path = tmp_path / "p.gtok"
    write_pack(path, [[1, 2], [3]], names=["ab", "c"])
    with open_gtok(path) as pack:
        assert pack.names == ["ab", "c"]
        sections = pack._sections
    return path, path.read_bytes(), sections


def test_name_that_is_not_utf8_is_a_format_error(tmp_path: Path) -> None:
    path, raw, (names_offset, _, _, _) = _pack(tmp_path)
    damaged = bytearray(raw)
    damaged[names_offset + 3 * 8] = 0xFF  # the first byte of the first name
    path.write_bytes(bytes(damaged))
    with pytest.raises(PackFormatError, match="UTF-8") as err:
        open_gtok(path).names
    assert str(path) in str(err.value)


def test_names_section_smaller_than_its_index_is_a_format_error(tmp_path: Path) -> None:
    path, raw, _ = _pack(tmp_path)
    damaged = bytearray(raw)
    t = len(damaged) - TRAILER.size
    trailer = bytearray(damaged[t:])
    struct.pack_into("<Q", trailer, 8, 8)  # names size: 8 bytes, room for 1 offset of 3
    struct.pack_into("<I", trailer, 36, zlib.crc32(bytes(trailer[:36])))
    damaged[t:] = trailer
    path.write_bytes(bytes(damaged))
    with pytest.raises(CorruptIndexError, match="names section") as err:
        open_gtok(path).names
    assert str(path) in str(err.value)


@pytest.mark.parametrize("names", [["a"], ["a", "b", "c", "d"]])
def test_write_pack_with_wrong_number_of_names_writes_nothing(
    tmp_path: Path, names: list[str]
) -> None:
    with pytest.raises(ValueError, match=f"{len(names)} names"):
        write_pack(tmp_path / "q.gtok", [[1], [2], [3]], names=names)
    assert list(tmp_path.iterdir()) == []
