"""Every way reading a v1 ``.gtok`` file can fail, and what it raises (docs/semantics.md §2, §7).

Each format problem is its own class (``BadMagicError``, ``UnknownFlagError``,
``ShortFileError``, ``TrailingBytesError``), all ``GtokFormatError`` and ``ValueError``, with
the path in the message and as ``.path``. File-system problems keep Python's ``OSError``
subclasses. ``read_gtok`` and ``open_gtok`` behave the same.
"""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gtok
from gtok import open_gtok, read_gtok
from gtok.errors import (
    BadMagicError,
    GtokError,
    GtokFormatError,
    ShortFileError,
    TrailingBytesError,
    UnknownFlagError,
)


def _read_with_open_gtok(path):
    with open_gtok(path) as f:
        return np.array(f.tokens)


READERS = pytest.mark.parametrize(
    "read", [read_gtok, _read_with_open_gtok], ids=["read_gtok", "open_gtok"]
)


def _write(tmp_path: Path, content: bytes, name: str = "bad.gtok") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def _check_format_error(info, cls, path) -> None:
    err = info.value
    assert type(err) is cls
    assert isinstance(err, GtokFormatError)
    assert isinstance(err, ValueError)
    assert isinstance(err, GtokError)
    assert err.path == str(path)
    assert str(path) in str(err)
    assert err.problem and err.problem in str(err)


# ------------------------------------------------------------------------ file system errors


@READERS
def test_missing_file(tmp_path, read):
    path = tmp_path / "nowhere" / "missing.gtok"
    with pytest.raises(FileNotFoundError) as info:
        read(path)
    assert str(path) in str(info.value)
    assert info.value.filename == str(path)


@READERS
def test_missing_file_str_path(tmp_path, read):
    path = str(tmp_path / "missing.gtok")
    with pytest.raises(FileNotFoundError, match="missing.gtok"):
        read(path)


@READERS
def test_folder(tmp_path, read):
    folder = tmp_path / "tokens.gtok"
    folder.mkdir()
    with pytest.raises(IsADirectoryError) as info:
        read(folder)
    assert str(folder) in str(info.value)


@READERS
def test_fifo_does_not_hang(tmp_path, read):
    fifo = tmp_path / "pipe.gtok"
    os.mkfifo(fifo)
    outcome = {}

    def target():
        try:
            read(fifo)
        except BaseException as exc:  # noqa: BLE001 - recorded and checked below
            outcome["exc"] = exc
        else:
            outcome["exc"] = None

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout=10)
    if thread.is_alive():
        # unblock the reader so the daemon thread can end, then fail
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        pytest.fail("reading a FIFO hung")
    exc = outcome["exc"]
    assert isinstance(exc, OSError), exc
    assert not isinstance(exc, ValueError)
    assert str(fifo) in str(exc)


@READERS
def test_character_device(read):
    if not stat.S_ISCHR(os.stat("/dev/null").st_mode):
        pytest.skip("no /dev/null character device")
    with pytest.raises(OSError) as info:
        read("/dev/null")
    assert "/dev/null" in str(info.value)


@READERS
def test_permission_denied(tmp_path, read):
    path = _write(tmp_path, b"GTOK\x01\x01\x00")
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running with privileges that ignore file modes (root)")
        with pytest.raises(PermissionError) as info:
            read(path)
        assert str(path) in str(info.value)
    finally:
        path.chmod(0o644)


@READERS
def test_symlink_to_valid_file_reads(tmp_path, read):
    target = _write(tmp_path, b"GTOK\x01\x05\x00", "real.gtok")
    link = tmp_path / "link.gtok"
    link.symlink_to(target)
    assert list(read(link)) == [5]


@READERS
def test_dangling_symlink(tmp_path, read):
    link = tmp_path / "link.gtok"
    link.symlink_to(tmp_path / "gone.gtok")
    with pytest.raises(FileNotFoundError):
        read(link)


# ----------------------------------------------------------------------------- format errors


@READERS
@pytest.mark.parametrize(
    "content",
    [
        b"GTOX\x01\x00\x00",
        b"gtok\x01\x00\x00",
        b"XTOK\x01",
        b"\x00\x00\x00\x00\x01",
        b"chr1\t100\t200\n",
        b"\x89PNG\r\n\x1a\n",
        b"\x1f\x8b\x08\x00\x00\x00\x00\x00",
        b" GTOK\x01",
    ],
    ids=repr,
)
def test_bad_magic(tmp_path, read, content):
    path = _write(tmp_path, content)
    with pytest.raises(BadMagicError) as info:
        read(path)
    _check_format_error(info, BadMagicError, path)
    assert "GTOK" in str(info.value)


@READERS
@pytest.mark.parametrize("flag", [0x00, 0x03, 0x04, 0x10, 0x7F, 0x80, 0x83, 0xFF])
def test_unknown_flag(tmp_path, read, flag):
    path = _write(tmp_path, b"GTOK" + bytes([flag]) + b"\x00" * 12)
    with pytest.raises(UnknownFlagError) as info:
        read(path)
    _check_format_error(info, UnknownFlagError, path)
    assert f"0x{flag:02x}" in str(info.value)


@READERS
@pytest.mark.parametrize("flag", [0x81, 0x82])
@pytest.mark.parametrize("size", [0, 12, 59, 200])
def test_pack_flag_on_a_broken_file_is_a_pack_error(tmp_path, read, flag, size):
    # 0x81/0x82 mark a pack: a v1-looking file with that flag is a damaged pack
    path = _write(tmp_path, b"GTOK" + bytes([flag]) + b"\x00" * size)
    with pytest.raises(gtok.errors.GtokFormatError) as info:
        read(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, (gtok.errors.PackFormatError, ShortFileError))


@READERS
@pytest.mark.parametrize("content", [b"", b"G", b"GT", b"GTO", b"GTOK", b"\x00", b"XYZ!"], ids=repr)
def test_short_file(tmp_path, read, content):
    path = _write(tmp_path, content)
    with pytest.raises(ShortFileError) as info:
        read(path)
    _check_format_error(info, ShortFileError, path)
    assert f"{len(content)} byte" in str(info.value)


@READERS
@pytest.mark.parametrize(
    "content",
    [
        b"GTOK\x01\x01",
        b"GTOK\x01\x01\x00\x02",
        b"GTOK\x01" + b"\x00" * 2001,
        b"GTOK\x02\x01",
        b"GTOK\x02\x01\x00",
        b"GTOK\x02\x01\x00\x00",
        b"GTOK\x02\x01\x00\x00\x00\x02",
        b"GTOK\x02\x01\x00\x00\x00\x02\x00",
        b"GTOK\x02\x01\x00\x00\x00\x02\x00\x00",
    ],
    ids=lambda c: f"flag{c[4]}-{len(c) - 5}bytes",
)
def test_trailing_partial_id(tmp_path, read, content):
    path = _write(tmp_path, content)
    with pytest.raises(TrailingBytesError) as info:
        read(path)
    _check_format_error(info, TrailingBytesError, path)
    width = 2 if content[4] == 1 else 4
    assert f"{(len(content) - 5) % width} trailing byte" in str(info.value)


def test_error_classes_are_distinct_value_errors():
    classes = [BadMagicError, UnknownFlagError, ShortFileError, TrailingBytesError]
    for cls in classes:
        assert issubclass(cls, GtokFormatError)
        assert issubclass(cls, ValueError)
        assert not issubclass(cls, OSError)
        for other in classes:
            assert cls is other or not issubclass(cls, other)
    err = BadMagicError("some/file.gtok", "what is wrong")
    assert str(err) == "some/file.gtok: what is wrong"
    assert err.path == "some/file.gtok" and err.problem == "what is wrong"
    assert BadMagicError(Path("p.gtok"), "x").path == "p.gtok"


def test_error_carries_pathlike_as_str(tmp_path):
    path = _write(tmp_path, b"NOPE\x01")
    with pytest.raises(BadMagicError) as info:
        read_gtok(path)  # a Path object
    assert isinstance(info.value.path, str)


def test_open_gtok_failure_leaves_nothing_open(tmp_path):
    # A failed open must not leak a descriptor (the mapping is made and dropped).
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("no /proc/self/fd")
    bad = _write(tmp_path, b"GTOK\x02\x01\x00\x00")
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(200):
        with pytest.raises(TrailingBytesError):
            open_gtok(bad)
        with pytest.raises(FileNotFoundError):
            read_gtok(tmp_path / "missing")
    assert len(os.listdir("/proc/self/fd")) <= before


# -------------------------------------------------- property: any bytes, never a wrong answer


def _reference_parse(content: bytes):
    """What a correct v1 reader returns for ``content``: a list of ids, or an error class."""
    if len(content) < 5:
        return ShortFileError
    if content[:4] != b"GTOK":
        return BadMagicError
    if content[4] in (0x81, 0x82):
        return GtokFormatError  # a pack flag: these few bytes are a damaged pack
    if content[4] not in (1, 2):
        return UnknownFlagError
    width = 2 if content[4] == 1 else 4
    data = content[5:]
    if len(data) % width:
        return TrailingBytesError
    return [int.from_bytes(data[i : i + width], "little") for i in range(0, len(data), width)]


_contents = st.one_of(
    st.binary(max_size=40),
    st.tuples(
        st.sampled_from([b"GTOK\x01", b"GTOK\x02", b"GTOK\x03", b"GTOK\x81", b"GTOK", b"GTO"]),
        st.binary(max_size=64),
    ).map(lambda t: t[0] + t[1]),
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(content=_contents)
def test_arbitrary_bytes_read_correctly_or_raise_format_error(tmp_path, content):
    path = _write(tmp_path, content, "fuzz.gtok")
    expected = _reference_parse(content)
    for read in (read_gtok, _read_with_open_gtok):
        if isinstance(expected, list):
            got = read(path)
            assert got.dtype == (np.uint16 if content[4] == 1 else np.uint32)
            assert got.tolist() == expected
        else:
            with pytest.raises(expected):
                read(path)
