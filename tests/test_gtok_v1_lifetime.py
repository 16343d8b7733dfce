"""Lifetime of memory-mapped token views, and the ``GtokFile`` object (docs/semantics.md §2, §5).

A view returned by ``read_gtok`` or ``GtokFile.tokens`` keeps its mapping alive by itself: no
dangling pointer whatever else is deleted, no file descriptor held. ``close()`` refuses to
unmap under a living view; leaving a ``with`` block does not.
"""

from __future__ import annotations

import ctypes
import gc
import os
import pickle
import warnings

import numpy as np
import pytest

from gtok import GtokFile, open_gtok, read_gtok, write_gtok, write_pack

IDS16 = [5, 0, 65535, 42, 7, 7, 1000, 3]
IDS32 = [5, 0, 65536, 2**32 - 1, 7, 123_456_789, 3]


@pytest.fixture
def f16(tmp_path):
    path = tmp_path / "u16.gtok"
    write_gtok(path, IDS16)
    return path


@pytest.fixture
def f32(tmp_path):
    path = tmp_path / "u32.gtok"
    write_gtok(path, IDS32)
    return path


@pytest.fixture(params=["u16", "u32"])
def sample(request, tmp_path):
    ids = IDS16 if request.param == "u16" else IDS32
    path = tmp_path / f"{request.param}.gtok"
    write_gtok(path, ids)
    return path, ids


def _churn() -> None:
    """Collect garbage and reuse freed memory, so that a dangling view would read junk."""
    gc.collect()
    junk = [bytearray(os.urandom(64)) * 1024 for _ in range(64)]
    del junk
    gc.collect()


# ---------------------------------------------------------------------- views outlive owners


def test_read_gtok_view_alone_keeps_mapping(sample):
    path, ids = sample
    view = read_gtok(path)
    _churn()
    assert view.tolist() == ids


def test_view_outlives_gtokfile(sample):
    path, ids = sample
    f = open_gtok(path)
    view = f.tokens
    del f
    _churn()
    assert view.tolist() == ids
    assert int(view.sum()) == sum(ids)


def test_views_of_views_keep_mapping(sample):
    path, ids = sample
    f = open_gtok(path)
    v = f.tokens
    half = v[1:]
    every_other = half[::2]
    reversed_ = every_other[::-1]
    as_bytes = v.view(np.uint8)
    mv = memoryview(v)
    del f, v, half, every_other
    _churn()
    assert reversed_.tolist() == ids[1:][::2][::-1]
    itemsize = 2 if max(ids) <= 65535 else 4
    assert as_bytes.size == len(ids) * itemsize
    assert np.asarray(mv).tolist() == ids


def test_asarray_and_astype_of_view(sample):
    path, ids = sample
    v = read_gtok(path)
    same = np.asarray(v)
    assert same is v or same.base is not None
    wide = read_gtok(path).astype(np.int64)
    _churn()
    assert same.tolist() == ids
    assert wide.tolist() == ids


def test_rewriting_the_file_does_not_change_a_live_view(sample):
    # write_gtok renames a new file into place, so a mapping of the old one stays intact.
    path, ids = sample
    view = read_gtok(path)
    write_gtok(path, [1])
    write_gtok(path, list(range(100_000)))
    os.remove(path)
    _churn()
    assert view.tolist() == ids


def test_deleting_the_file_keeps_the_view(sample):
    path, ids = sample
    view = read_gtok(path)
    os.remove(path)
    _churn()
    assert view.tolist() == ids


# --------------------------------------------------------------------------- close semantics


def test_close_with_live_view_raises_and_view_survives(sample):
    path, ids = sample
    f = open_gtok(path)
    view = f.tokens
    with pytest.raises(BufferError, match="view"):
        f.close()
    assert not f.closed
    assert view.tolist() == ids
    assert f.tokens.tolist() == ids  # the file is still open
    del view
    gc.collect()
    f.close()
    assert f.closed
    f.close()  # twice is harmless


def test_close_with_live_slice_raises(sample):
    path, ids = sample
    f = open_gtok(path)
    part = f.tokens[2:4]
    with pytest.raises(BufferError):
        f.close()
    assert part.tolist() == ids[2:4]
    del part
    gc.collect()
    f.close()
    assert f.closed


def test_close_without_views_succeeds(sample):
    path, _ = sample
    f = open_gtok(path)
    f.close()
    assert f.closed
    f = open_gtok(path)
    f.tokens  # noqa: B018 - made and dropped: only the file's own cache holds it
    f.close()
    assert f.closed


def test_tokens_after_close_raise(sample):
    path, _ = sample
    f = open_gtok(path)
    f.close()
    with pytest.raises(ValueError, match="closed"):
        f.tokens  # noqa: B018


def test_context_manager_with_escaped_view(sample):
    path, ids = sample
    with open_gtok(path) as f:
        escaped = f.tokens[1:]
        whole = f.tokens
    assert f.closed
    _churn()
    assert escaped.tolist() == ids[1:]
    assert whole.tolist() == ids
    del f
    _churn()
    assert escaped.tolist() == ids[1:]


def test_context_manager_without_escaped_view(sample):
    path, ids = sample
    with open_gtok(path) as f:
        assert f.tokens.tolist() == ids
    assert f.closed
    assert "closed" in repr(f)


def test_context_manager_exit_on_exception(sample):
    path, _ = sample
    with pytest.raises(RuntimeError):
        with open_gtok(path) as f:
            view = f.tokens
            raise RuntimeError("boom")
    assert f.closed
    assert view.size > 0


# -------------------------------------------------------------------------------- attributes


def test_open_gtok_attributes_u16(f16):
    f = open_gtok(f16)
    assert isinstance(f, GtokFile)
    assert f.version == 1
    assert f.dtype == np.uint16
    assert f.n_tokens == len(IDS16) == len(f)
    assert f.path == str(f16)
    assert not f.closed
    t = f.tokens
    assert t.dtype == np.uint16 and t.shape == (len(IDS16),)
    assert t.tolist() == IDS16
    assert not t.flags.writeable
    assert f.tokens is t  # cached
    r = repr(f)
    assert str(f16) in r and "v1" in r and "uint16" in r and f"{len(IDS16)} tokens" in r
    del t
    f.close()


def test_open_gtok_attributes_u32(f32):
    with open_gtok(str(f32)) as f:
        assert f.version == 1
        assert f.dtype == np.uint32
        assert f.n_tokens == len(IDS32) == len(f)
        assert f.tokens.tolist() == IDS32
        assert "uint32" in repr(f)


def test_attributes_cannot_be_added(f16):
    f = open_gtok(f16)
    with pytest.raises(AttributeError):
        f.something_else = 1
    f.close()


# ---------------------------------------------------------------------------------- pickling


def test_pickle_round_trip(sample):
    path, ids = sample
    f = open_gtok(path)
    blob = pickle.dumps(f)
    assert len(blob) < 200
    g = pickle.loads(blob)
    assert isinstance(g, GtokFile) and g is not f
    assert g.path == f.path and g.dtype == f.dtype and len(g) == len(f)
    assert g.tokens.tolist() == ids
    f.close()
    g2 = pickle.loads(blob)  # reopens from the path, whatever the original's state
    assert g2.tokens.tolist() == ids
    for proto in range(2, pickle.HIGHEST_PROTOCOL + 1):
        assert pickle.loads(pickle.dumps(g, protocol=proto)).tokens.tolist() == ids


def test_pickle_of_a_view_is_a_copy(sample):
    path, ids = sample
    v = read_gtok(path)
    back = pickle.loads(pickle.dumps(v))
    assert back.tolist() == ids and back.dtype == v.dtype


# ----------------------------------------------------------------------- descriptors, memory


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="no /proc/self/fd")
def test_no_descriptor_held_per_view(tmp_path):
    n = 2000
    paths = []
    for i in range(n):
        p = tmp_path / f"{i:04d}.gtok"
        write_gtok(p, [i, i + 1, 70_000 + i] if i % 2 else [i, i + 1])
        paths.append(p)
    gc.collect()
    before = len(os.listdir("/proc/self/fd"))
    views = [read_gtok(p) for p in paths]
    files = [open_gtok(p) for p in paths[:500]]
    tokens = [f.tokens for f in files]
    after = len(os.listdir("/proc/self/fd"))
    assert after <= before, f"{after - before} descriptors leaked for {n} views"
    assert all(v[0] == i for i, v in enumerate(views))
    assert all(t[1] == i + 1 for i, t in enumerate(tokens))
    del views, tokens, files


# ---------------------------------------------------------------------------------- empties


@pytest.mark.parametrize("content,dtype", [(b"GTOK\x01", np.uint16), (b"GTOK\x02", np.uint32)])
def test_empty_token_list(tmp_path, content, dtype):
    path = tmp_path / "empty.gtok"
    path.write_bytes(content)
    v = read_gtok(path)
    assert v.shape == (0,) and v.dtype == dtype
    assert v.tolist() == [] and int(v.sum()) == 0
    with open_gtok(path) as f:
        assert f.n_tokens == 0 and len(f) == 0 and f.dtype == dtype
        assert f.tokens.shape == (0,)
    f = open_gtok(path)
    t = f.tokens
    del t
    f.close()


def test_empty_written_by_write_gtok(tmp_path):
    path = tmp_path / "empty.gtok"
    write_gtok(path, [])
    assert path.stat().st_size == 5
    v = read_gtok(path)
    assert v.dtype == np.uint16 and v.size == 0


# --------------------------------------------------------------------------------- read-only


def test_views_are_read_only(sample):
    path, ids = sample
    v = read_gtok(path)
    with pytest.raises(ValueError):
        v[0] = 1
    with pytest.raises(ValueError):
        v[:] = 0
    with pytest.raises(ValueError):
        v += 1
    with pytest.raises(ValueError):
        v.setflags(write=True)
    with pytest.raises(ValueError):
        np.add(v, 1, out=v)
    with pytest.raises(ValueError):
        v.sort()
    with pytest.raises(ValueError):
        v[1:][0] = 1
    assert v.tolist() == ids
    # a copy is writable and independent
    c = v.copy()
    c[0] = 9
    assert v.tolist() == ids


def test_open_gtok_tokens_read_only(sample):
    path, _ = sample
    with open_gtok(path) as f:
        with pytest.raises(ValueError):
            f.tokens[0] = 1
        # the mapping refuses a writable buffer export (ctypes asks for one)
        with pytest.raises((BufferError, TypeError)):
            (ctypes.c_char * len(f._mapping)).from_buffer(f._mapping)  # noqa: SLF001
        mv = memoryview(f.tokens)
        assert mv.readonly
        del mv


def test_no_writable_buffer_export(sample):
    path, _ = sample
    v = read_gtok(path)
    with pytest.raises((BufferError, TypeError, ValueError)):
        np.frombuffer(v.base, dtype=np.uint8).setflags(write=True)


# ------------------------------------------------------------------------------------- torch


def test_torch_from_numpy(sample):
    torch = pytest.importorskip("torch")
    path, ids = sample
    with warnings.catch_warnings():
        # torch warns that it cannot mark a tensor read-only; the view stays read-only in NumPy
        warnings.simplefilter("ignore", UserWarning)
        t = torch.from_numpy(read_gtok(path))
    _churn()  # the tensor alone keeps the mapping alive
    assert t.shape == (len(ids),)
    assert t.to(torch.int64).tolist() == ids
    emb_ready = torch.as_tensor(read_gtok(path).astype(np.int64))
    assert emb_ready.dtype == torch.int64 and emb_ready.tolist() == ids


def test_writing_through_a_torch_tensor_copies_on_write(tmp_path):
    # torch.from_numpy ignores the read-only flag; a write must neither crash nor reach the file
    torch = pytest.importorskip("torch")
    path = tmp_path / "t.gtok"
    write_gtok(path, [1, 2, 70000])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns (once per process) about read-only
        tensor = torch.from_numpy(read_gtok(path))
    tensor[0] = 7
    assert tensor.tolist() == [7, 2, 70000]
    assert read_gtok(path).tolist() == [1, 2, 70000]
    assert open(path, "rb").read() == b"GTOK\x02" + np.array([1, 2, 70000], "<u4").tobytes()


# ------------------------------------------------------------------ copies for shared files


def _mapped(path) -> bool:
    """Whether ``path`` is memory-mapped in this process."""
    real = os.path.realpath(path)
    with open("/proc/self/maps") as maps:
        return any(line.rstrip().endswith(real) for line in maps)


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="needs /proc")
def test_read_gtok_copy_owns_its_ids_and_unmaps_the_file(sample, tmp_path):
    """copy=True, for files another program may rewrite in place: an array of its own
    (writable), and the file is no longer mapped, so truncating it cannot touch the ids."""
    path, ids = sample
    owned = read_gtok(path, copy=True)
    assert owned.tolist() == ids and owned.flags.writeable and owned.flags.owndata
    assert owned.dtype == read_gtok(path).dtype
    gc.collect()
    assert not _mapped(path)
    with open(path, "r+b") as f:  # what another program might do
        f.truncate(5)
    _churn()
    assert owned.tolist() == ids
    pack = tmp_path / "pack.gtok"
    write_pack(pack, [[1, 2], [3]])
    copied = read_gtok(pack, copy=True)
    assert copied.tolist() == [1, 2, 3] and copied.flags.writeable
    gc.collect()
    assert not _mapped(pack)
