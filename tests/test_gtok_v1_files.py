"""v1 ``.gtok`` files: the shared conformance fixtures, and what the writer does
(docs/semantics.md §2, §7).

The conformance files are vendored in ``tests/data/conformance``. The writer tests need nothing.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest

from gtok import read_gtok, write_gtok

from _tok_helpers import CONFORMANCE

U32_MAX = 2**32 - 1

# ------------------------------------------------------------------------- conformance files

GTARS_FILES = {
    "tokens.gtok": [42, 101, 999],
    "peaks.gtok": list(range(25)),
    "to_tokenize.gtok": [22, 23, 24, 26],
}


@pytest.mark.parametrize("name", sorted(GTARS_FILES))
def test_gtars_fixture_reads_to_known_ids(name, tmp_path):
    path = CONFORMANCE / "gtars" / name
    ids = read_gtok(path)
    assert ids.dtype == np.uint16
    assert ids.tolist() == GTARS_FILES[name]
    assert read_gtok(str(path)).tolist() == GTARS_FILES[name]
    # writing the same ids gives gtars' bytes
    out = tmp_path / name
    write_gtok(out, GTARS_FILES[name])
    assert out.read_bytes() == path.read_bytes()


def _geniml_files() -> list[Path]:
    return sorted((CONFORMANCE / "geniml").glob("tokens*.gtok"))


def test_geniml_fixtures_exist():
    assert len(_geniml_files()) >= 6


@pytest.mark.parametrize("path", _geniml_files(), ids=lambda p: p.name)
def test_geniml_fixture_reads_and_rewrites_identically(path, tmp_path):
    raw = path.read_bytes()
    ids = read_gtok(path)
    assert ids.dtype == (np.uint16 if raw[4] == 0x01 else np.uint32)
    assert len(ids) == (len(raw) - 5) // ids.dtype.itemsize
    expected = np.frombuffer(raw, dtype="<" + ids.dtype.str[1:], offset=5)
    assert np.array_equal(ids, expected)
    out = tmp_path / path.name
    write_gtok(out, ids)  # the read-only view itself is a valid input
    assert out.read_bytes() == raw
    write_gtok(out, ids.tolist())
    assert out.read_bytes() == raw


# ------------------------------------------------------------------------------ the writer


def test_creates_missing_parent_folders(tmp_path):
    out = tmp_path / "a" / "b" / "c" / "x.gtok"
    write_gtok(out, [1, 2, 3])
    assert out.read_bytes() == b"GTOK\x01\x01\x00\x02\x00\x03\x00"


def test_an_existing_folder_is_not_made_again(tmp_path, monkeypatch):
    # (one syscall and one exception fewer a file in a batch run's output folder)
    def refusing_makedirs(name, *a, **k):
        raise AssertionError(f"makedirs({name!r})")

    monkeypatch.setattr(os, "makedirs", refusing_makedirs)
    write_gtok(tmp_path / "x.gtok", [7])
    assert read_gtok(tmp_path / "x.gtok").tolist() == [7]


def test_accepts_str_and_pathlike(tmp_path):
    write_gtok(str(tmp_path / "s.gtok"), [7])
    write_gtok(tmp_path / "p.gtok", [7])
    assert (tmp_path / "s.gtok").read_bytes() == (tmp_path / "p.gtok").read_bytes()


def test_relative_path_in_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_gtok("here.gtok", [5, 70000])
    assert read_gtok("here.gtok").tolist() == [5, 70000]
    assert sorted(os.listdir(tmp_path)) == ["here.gtok"]


def test_overwrites_existing_file(tmp_path):
    out = tmp_path / "x.gtok"
    write_gtok(out, list(range(1000)))
    write_gtok(out, [70000])
    assert read_gtok(out).tolist() == [70000]
    assert sorted(os.listdir(tmp_path)) == ["x.gtok"]


def test_empty_ids_write_five_byte_file(tmp_path):
    for empty in ([], (), range(0), np.array([], dtype=np.uint32), np.array([]), iter(())):
        out = tmp_path / "e.gtok"
        write_gtok(out, empty)
        assert out.read_bytes() == b"GTOK\x01"


@pytest.mark.parametrize(
    "make",
    [
        lambda ids: (i for i in ids),
        lambda ids: iter(ids),
        lambda ids: map(int, ids),
        lambda ids: filter(None, [0] + ids),  # drops the leading 0 only
    ],
    ids=["generator", "iterator", "map", "filter"],
)
def test_generators_and_iterators_accepted(tmp_path, make):
    ids = [3, 65535, 65536, U32_MAX, 1]
    write_gtok(tmp_path / "g.gtok", make(ids))
    write_gtok(tmp_path / "l.gtok", ids)
    assert (tmp_path / "g.gtok").read_bytes() == (tmp_path / "l.gtok").read_bytes()


def test_numpy_scalars_in_a_list(tmp_path):
    write_gtok(tmp_path / "x.gtok", [np.uint32(70000), np.int64(3), 5])
    assert read_gtok(tmp_path / "x.gtok").tolist() == [70000, 3, 5]


def test_written_file_mode_follows_umask(tmp_path):
    old = os.umask(0o022)
    try:
        write_gtok(tmp_path / "m.gtok", [1])
    finally:
        os.umask(old)
    assert (tmp_path / "m.gtok").stat().st_mode & 0o777 == 0o644


# ------------------------------------------------------------------------------- atomicity


def _patch_failing_write(monkeypatch, exc):
    """The disk fills up half-way: the writer's ``writev`` writes half its bytes, then
    fails with ``exc``."""
    real = os.writev

    def failing(fd, buffers):
        data = b"".join(memoryview(b).cast("B") for b in buffers)
        real(fd, [data[: len(data) // 2]])
        raise exc

    monkeypatch.setattr(os, "writev", failing)


@pytest.mark.parametrize(
    "exc",
    [OSError(errno.ENOSPC, "No space left on device"), KeyboardInterrupt()],
    ids=["ENOSPC", "KeyboardInterrupt"],
)
def test_failed_write_leaves_no_file(tmp_path, monkeypatch, exc):
    _patch_failing_write(monkeypatch, exc)
    out = tmp_path / "sub" / "x.gtok"
    with pytest.raises(type(exc)):
        write_gtok(out, list(range(10_000)))
    assert not out.exists()
    assert os.listdir(tmp_path / "sub") == []  # no temporary file left either


def test_failed_write_leaves_existing_file_untouched(tmp_path, monkeypatch):
    out = tmp_path / "x.gtok"
    write_gtok(out, [42, 101, 999])
    before = out.read_bytes()
    inode = out.stat().st_ino
    _patch_failing_write(monkeypatch, OSError(errno.EIO, "I/O error"))
    with pytest.raises(OSError):
        write_gtok(out, list(range(70_000)))
    assert out.read_bytes() == before
    assert out.stat().st_ino == inode
    assert sorted(os.listdir(tmp_path)) == ["x.gtok"]


def test_failed_rename_leaves_no_temporary_file(tmp_path, monkeypatch):
    def broken_replace(src, dst, *a, **k):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        write_gtok(tmp_path / "x.gtok", [1, 2, 3])
    monkeypatch.undo()
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("where", ["create", "write", "rename", "folder"])
def test_errors_name_the_file_and_its_folder_not_the_temporary(tmp_path, monkeypatch, where):
    """A folder that cannot be written gave "[Errno 13] Permission denied:
    'tokens/.sample.gtok.3f9a....tmp'": a hidden name the user never chose. The error names
    the target and its folder, and keeps its type and errno."""
    out = tmp_path / "tokens" / "sample.gtok"
    if where == "create":  # the folder refuses new files
        out.parent.mkdir()
        real = os.open

        def refusing(path, flags, mode=0o777, **kwargs):
            if os.path.basename(path).startswith(".sample.gtok."):
                raise PermissionError(errno.EACCES, "Permission denied", path)
            return real(path, flags, mode, **kwargs)

        monkeypatch.setattr(os, "open", refusing)
        kind, code, says = PermissionError, errno.EACCES, "permission denied on folder"
    elif where == "write":  # the disk fills up
        _patch_failing_write(monkeypatch, OSError(errno.ENOSPC, "No space left on device"))
        kind, code, says = OSError, errno.ENOSPC, "no space left on device (folder"
    elif where == "rename":

        def refusing_replace(src, dst, *a, **k):
            raise PermissionError(errno.EACCES, "Permission denied", src, None, dst)

        monkeypatch.setattr(os, "replace", refusing_replace)
        kind, code, says = PermissionError, errno.EACCES, "permission denied on folder"
    else:  # the folder cannot be made

        def refusing_makedirs(name, *a, **k):
            raise PermissionError(errno.EACCES, "Permission denied", name)

        monkeypatch.setattr(os, "makedirs", refusing_makedirs)
        kind, code = PermissionError, errno.EACCES
        says = f"cannot create the folder {out.parent}: permission denied"
    with pytest.raises(kind) as info:
        write_gtok(out, list(range(10_000)))
    monkeypatch.undo()
    assert info.value.errno == code
    message = str(info.value)
    assert message.startswith(f"[Errno {code}] cannot write {out}: "), message
    assert says in message and ".tmp" not in message
    if where != "folder":
        assert f"{out.parent}/" in message
        assert os.listdir(tmp_path / "tokens") == []


def test_write_goes_through_a_temporary_file(tmp_path, monkeypatch):
    # While the data is being written, the target name must not exist yet; the temporary
    # file holds every byte when it is renamed.
    seen = []
    real = os.replace

    def spy(src, dst, *a, **k):
        seen.append((os.path.exists(dst), sorted(os.listdir(tmp_path)), Path(src).read_bytes()))
        return real(src, dst, *a, **k)

    monkeypatch.setattr(os, "replace", spy)
    write_gtok(tmp_path / "x.gtok", [1, 2, 3])
    ((exists, names, data),) = seen
    assert not exists
    assert len(names) == 1 and names[0] != "x.gtok" and names[0].startswith(".")
    assert data == (tmp_path / "x.gtok").read_bytes() == b"GTOK\x01\x01\x00\x02\x00\x03\x00"
    assert sorted(os.listdir(tmp_path)) == ["x.gtok"]


def test_a_failed_close_is_not_closed_again(tmp_path, monkeypatch):
    # close() frees the descriptor even when it reports an error (NFS's delayed write
    # errors): closing the number again could close another thread's file
    real_close = os.close
    closed = []

    def failing_close(fd):
        closed.append(fd)
        real_close(fd)
        if len(closed) == 1:
            raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "close", failing_close)
    with pytest.raises(OSError, match="cannot write .*x.gtok"):
        write_gtok(tmp_path / "x.gtok", [1, 2, 3])
    monkeypatch.undo()
    assert len(closed) == 1
    assert os.listdir(tmp_path) == []


def test_many_parts_are_written_in_order(tmp_path):
    # more buffers than one writev takes (IOV_MAX, 1024)
    from gtok.io.atomic import write_atomically

    parts = [bytes([i % 251]) * (i % 3) for i in range(3000)]
    write_atomically(tmp_path / "many.bin", parts)
    assert (tmp_path / "many.bin").read_bytes() == b"".join(parts)


def test_short_writes_are_resumed(tmp_path, monkeypatch):
    # writev may write fewer bytes than asked (a signal, a huge write): the rest follows
    real = os.writev
    calls = []

    def short(fd, buffers):
        calls.append(len(buffers))
        data = b"".join(memoryview(b).cast("B") for b in buffers)
        return real(fd, [data[:7]])

    ids = np.arange(70_000, 70_050, dtype=np.uint32)
    write_gtok(tmp_path / "want.gtok", ids)
    monkeypatch.setattr(os, "writev", short)
    write_gtok(tmp_path / "short.gtok", ids)
    monkeypatch.undo()
    assert len(calls) == (5 + 4 * 50 + 6) // 7
    assert (tmp_path / "short.gtok").read_bytes() == (tmp_path / "want.gtok").read_bytes()
    assert read_gtok(tmp_path / "short.gtok").tolist() == ids.tolist()


def test_fsync_option(tmp_path):
    write_gtok(tmp_path / "x.gtok", [1, 70000], fsync=True)
    assert read_gtok(tmp_path / "x.gtok").tolist() == [1, 70000]


# ------------------------------------------------------------------------------ invalid ids

INVALID = [
    # out of range
    ([-1], OverflowError),
    ([0, 1, -5], OverflowError),
    ([2**32], OverflowError),
    ([0, 2**32 + 7], OverflowError),
    ([2**63], OverflowError),
    ([2**64 - 1], OverflowError),
    ([2**64], OverflowError),
    ([2**64 + 5], OverflowError),
    ([2**100], OverflowError),
    ([-(2**70)], OverflowError),
    ([-1, 2**63], OverflowError),
    (np.array([-1], dtype=np.int8), OverflowError),
    (np.array([0, -(2**40)], dtype=np.int64), OverflowError),
    (np.array([2**32], dtype=np.uint64), OverflowError),
    (np.array([2**64 - 1], dtype=np.uint64), OverflowError),
    (np.array([2**32], dtype=">i8"), OverflowError),
    (range(-1, 3), OverflowError),
    (range(2**32 - 2, 2**32 + 1), OverflowError),
    # not integers
    ([1.0], TypeError),
    ([1, 2.5], TypeError),
    ([float("nan")], TypeError),
    (np.array([1.0, 2.0]), TypeError),
    (np.array([1, 2], dtype=np.float32), TypeError),
    (np.array([1 + 0j]), TypeError),
    (["1"], TypeError),
    ([1, "2"], TypeError),
    (np.array(["1", "2"]), TypeError),
    ([b"1"], TypeError),
    ("123", TypeError),
    (b"\x01\x02", TypeError),
    (bytearray(b"\x01"), TypeError),
    ([None], TypeError),
    ([1, None], TypeError),
    (None, TypeError),
    (7, TypeError),
    (np.uint32(7), TypeError),
    (np.array(7), TypeError),
    ([True], TypeError),
    ([True, False], TypeError),
    (np.array([True, False]), TypeError),
    ([object()], TypeError),
    ([[1, 2], 3], (TypeError, ValueError)),
    # not 1-D
    (np.zeros((2, 2), dtype=np.uint32), ValueError),
    (np.zeros((0, 3), dtype=np.uint32), ValueError),
    ([[1, 2], [3, 4]], ValueError),
    ([[1], [2, 3]], ValueError),
]


@pytest.mark.parametrize(
    "ids,exc", INVALID, ids=[f"{i}-{v!r}"[:50] for i, (v, _) in enumerate(INVALID)]
)
def test_invalid_ids_raise_and_write_nothing(tmp_path, ids, exc):
    out = tmp_path / "sub" / "x.gtok"
    with pytest.raises(exc) as info:
        write_gtok(out, ids)
    assert str(info.value)  # a message, not a bare exception
    assert not out.exists()
    assert not (tmp_path / "sub").exists() or os.listdir(tmp_path / "sub") == []


def test_invalid_ids_leave_existing_file_untouched(tmp_path):
    out = tmp_path / "x.gtok"
    write_gtok(out, [1, 2, 3])
    before = out.read_bytes()
    for ids, exc in INVALID:
        with pytest.raises(exc):
            write_gtok(out, ids)
    assert out.read_bytes() == before
    assert os.listdir(tmp_path) == ["x.gtok"]


def test_overflow_message_names_the_bad_id(tmp_path):
    with pytest.raises(OverflowError, match=r"ids\[2\].*4294967296"):
        write_gtok(tmp_path / "x.gtok", [0, 1, 2**32, 5])
    with pytest.raises(OverflowError, match=r"ids\[1\].*-3"):
        write_gtok(tmp_path / "x.gtok", np.array([0, -3, -4]))
    with pytest.raises(TypeError, match=r"ids\[1\]"):
        write_gtok(tmp_path / "x.gtok", [0, None])


def test_overflow_in_a_generator_writes_nothing(tmp_path):
    def gen():
        yield 1
        yield 2
        yield -1

    with pytest.raises(OverflowError):
        write_gtok(tmp_path / "x.gtok", gen())
    assert os.listdir(tmp_path) == []


def test_error_inside_a_generator_propagates_and_writes_nothing(tmp_path):
    def gen():
        yield 1
        raise RuntimeError("source failed")

    with pytest.raises(RuntimeError, match="source failed"):
        write_gtok(tmp_path / "x.gtok", gen())
    assert os.listdir(tmp_path) == []


# ----------------------------------------------------------------------- argument order


@pytest.mark.parametrize(
    "ids",
    [[1, 2, 3], np.array([1, 2, 3], dtype=np.uint32), (1,), range(3)],
    ids=["list", "array", "tuple", "range"],
)
@pytest.mark.parametrize("as_path", [str, Path], ids=["str", "Path"])
def test_swapped_arguments_name_the_right_order(tmp_path, ids, as_path):
    out = tmp_path / "x.gtok"
    with pytest.raises(TypeError) as info:
        write_gtok(ids, as_path(out))
    msg = str(info.value)
    assert "(path, ids)" in msg
    assert "write_gtok" in msg
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("bad_path", [None, 3, [1, 2]])
def test_non_path_first_argument(tmp_path, bad_path):
    with pytest.raises(TypeError, match="path"):
        write_gtok(bad_path, [1, 2, 3])


@pytest.mark.parametrize(
    "ids", [[-1, 2**63], [2**63, 1], [1, 2**64 - 1], [-1, 2**64 - 1]], ids=repr
)
def test_ints_numpy_promotes_to_float_are_overflow_not_type_errors(tmp_path, ids):
    # np.asarray([2**63, 1]) is float64 in NumPy: the writer must still see integers out of
    # range (OverflowError naming the id), not "an array of float64" (TypeError).
    with pytest.raises(OverflowError, match=r"ids\[\d\] is -?\d+"):
        write_gtok(tmp_path / "x.gtok", ids)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "ids,index",
    [([1, 2.5], 1), (["7"], 0), ([0, 1, None], 2), ([False], 0), ([4, b"5"], 1)],
    ids=repr,
)
def test_type_error_names_the_index(tmp_path, ids, index):
    with pytest.raises(TypeError, match=rf"ids\[{index}\]"):
        write_gtok(tmp_path / "x.gtok", ids)


class _Index:
    """An integer-like object (implements __index__), as torch and NumPy scalars do."""

    def __init__(self, v):
        self.v = v

    def __index__(self):
        return self.v


@pytest.mark.parametrize(
    "ids",
    [
        [0, 65535],
        [0, 65536],
        [2**32 - 1, 0, 7],
        (1, 2, 3),
        (70_000,),
        [np.uint32(70_000), np.int64(3), np.uint8(5), 2**32 - 1],
        [np.int8(1), np.uint16(65535)],
        list(range(100_000)),
    ],
    ids=lambda v: f"{type(v).__name__}{len(v)}",
)
def test_lists_and_tuples_give_the_bytes_of_the_array(tmp_path, ids):
    write_gtok(tmp_path / "l.gtok", ids)
    write_gtok(tmp_path / "a.gtok", np.array([int(i) for i in ids], dtype=np.uint64))
    assert (tmp_path / "l.gtok").read_bytes() == (tmp_path / "a.gtok").read_bytes()


def test_objects_with_index_are_integers(tmp_path):
    write_gtok(tmp_path / "x.gtok", [_Index(3), _Index(70_000), 1])
    assert read_gtok(tmp_path / "x.gtok").tolist() == [3, 70_000, 1]


@pytest.mark.parametrize(
    "ids,exc,where",
    [
        ([1, 2, np.int64(-1)], OverflowError, 2),
        ([np.uint64(2**32), 1], OverflowError, 0),
        ([1, np.float64(2.0)], TypeError, 1),
        ([5, 6, 2**64 + 1], OverflowError, 2),
        ((1, "2"), TypeError, 1),
        ([True, False], TypeError, 0),
    ],
    ids=repr,
)
def test_list_errors_name_the_index(tmp_path, ids, exc, where):
    with pytest.raises(exc, match=rf"ids\[{where}\]"):
        write_gtok(tmp_path / "x.gtok", ids)
    assert os.listdir(tmp_path) == []
