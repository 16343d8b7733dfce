"""Differential tests: gtok's v1 writer and reader against gtars 0.10 (docs/semantics.md §2).

The bytes gtok writes must be the bytes ``gtars.utils.write_tokens_to_gtok`` writes for the same
ids, and each library must read the other's files back to the same ids. Skipped when gtars is not
installed (it is in the ``test`` extra).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

pytest.importorskip("gtars")
from gtars.utils import read_tokens_from_gtok, write_tokens_to_gtok  # noqa: E402

from gtok import read_gtok, write_gtok  # noqa: E402

U16_MAX = 2**16 - 1
U32_MAX = 2**32 - 1

# Ids as a tokenizer produces them: mostly small, sometimes beyond uint16, now and then at the
# very top of the uint32 range; lists are often empty or tiny.
ids_strategy = st.lists(
    st.one_of(
        st.integers(0, 300),
        st.integers(0, U16_MAX),
        st.integers(U16_MAX - 2, U16_MAX + 2),
        st.integers(0, U32_MAX),
        st.integers(U32_MAX - 2, U32_MAX),
    ),
    max_size=300,
)

BOUNDARY_CASES = [
    [],
    [0],
    [65535],
    [65536],
    [U32_MAX],
    [0, 65535],
    [65535, 65536],
    [0, U32_MAX],
    [U32_MAX, 0, 65536, 65535, 1],
    [65535] * 7,
    list(range(65530, 65541)),
]

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

_counter = itertools.count()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("differential")


def _paths(workdir):
    n = next(_counter)
    return workdir / f"gtok_{n}.gtok", workdir / f"gtars_{n}.gtok"


def _check_both_ways(workdir, ids: list[int]) -> None:
    ours, theirs = _paths(workdir)
    write_gtok(ours, ids)
    write_tokens_to_gtok(str(theirs), ids)
    ours_bytes, theirs_bytes = ours.read_bytes(), theirs.read_bytes()
    assert ours_bytes == theirs_bytes
    # header as the spec says: uint16 if and only if every id fits (an empty list included)
    flag = 0x01 if all(i <= U16_MAX for i in ids) else 0x02
    assert ours_bytes[:5] == b"GTOK" + bytes([flag])
    assert len(ours_bytes) == 5 + len(ids) * (2 if flag == 0x01 else 4)
    # gtok reads gtars' file, gtars reads gtok's file
    got = read_gtok(theirs)
    assert got.dtype == (np.uint16 if flag == 0x01 else np.uint32)
    assert got.tolist() == ids
    assert read_tokens_from_gtok(str(ours)) == ids


@SETTINGS
@given(ids=ids_strategy)
@example(ids=[])
@example(ids=[0])
@example(ids=[65535])
@example(ids=[65536])
@example(ids=[U32_MAX])
def test_random_ids_same_bytes_and_cross_readable(workdir, ids):
    _check_both_ways(workdir, ids)


@pytest.mark.parametrize(
    "ids", BOUNDARY_CASES, ids=lambda v: f"n{len(v)}-" + "-".join(map(str, v[:4]))
)
def test_boundary_values(workdir, ids):
    _check_both_ways(workdir, ids)


def test_large_list_same_bytes(workdir):
    rng = np.random.default_rng(12345)
    for hi in (U16_MAX + 1, U32_MAX + 1):
        ids = rng.integers(0, hi, size=60_000, dtype=np.uint64).tolist()
        _check_both_ways(workdir, ids)


# ------------------------------------------------------------------- other input containers

INT_DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]


def _max_for(dtype) -> int:
    return min(int(np.iinfo(dtype).max), U32_MAX)


def _reference_bytes(workdir, ids: list[int]) -> bytes:
    _, theirs = _paths(workdir)
    write_tokens_to_gtok(str(theirs), ids)
    return theirs.read_bytes()


def _gtok_bytes(workdir, ids) -> bytes:
    ours, _ = _paths(workdir)
    write_gtok(ours, ids)
    return ours.read_bytes()


@SETTINGS
@given(data=st.data())
@pytest.mark.parametrize("dtype", INT_DTYPES, ids=lambda d: np.dtype(d).name)
def test_numpy_dtypes_same_bytes_as_list(workdir, dtype, data):
    ids = data.draw(st.lists(st.integers(0, _max_for(dtype)), max_size=100), label="ids")
    arr = np.array(ids, dtype=dtype)
    expected = _reference_bytes(workdir, ids)
    assert _gtok_bytes(workdir, arr) == expected
    assert _gtok_bytes(workdir, ids) == expected
    # a non-contiguous view of a larger array (every other element, and reversed)
    spread = np.zeros(2 * len(ids), dtype=dtype)
    spread[::2] = arr
    assert not spread[::2].flags.c_contiguous or len(ids) <= 1
    assert _gtok_bytes(workdir, spread[::2]) == expected
    assert _gtok_bytes(workdir, arr[::-1]) == _reference_bytes(workdir, ids[::-1])
    # the other byte order
    swapped = arr.astype(arr.dtype.newbyteorder())
    assert _gtok_bytes(workdir, swapped) == expected


@pytest.mark.parametrize("dtype", INT_DTYPES, ids=lambda d: np.dtype(d).name)
def test_numpy_dtype_extremes(workdir, dtype):
    ids = [0, 1, _max_for(dtype), _max_for(dtype) // 2]
    expected = _reference_bytes(workdir, ids)
    assert _gtok_bytes(workdir, np.array(ids, dtype=dtype)) == expected
    assert _gtok_bytes(workdir, np.array(ids, dtype=dtype)[::-1][::-1]) == expected


@pytest.mark.parametrize("order", [">u2", ">u4", ">u8", ">i4", ">i8", "<u4", "<i8"])
def test_explicit_byte_order_dtypes(workdir, order):
    ids = [0, 1, 255, 256, 65535, 12345]
    if np.iinfo(order).max >= U32_MAX:
        ids += [65536, U32_MAX]
    arr = np.array(ids, dtype=order)
    assert _gtok_bytes(workdir, arr) == _reference_bytes(workdir, ids)
    assert _gtok_bytes(workdir, arr[::2]) == _reference_bytes(workdir, ids[::2])


def test_big_endian_u4_slices(workdir):
    ids = list(range(65_000, 67_000, 3))
    arr = np.array(ids, dtype=">u4")
    assert _gtok_bytes(workdir, arr) == _reference_bytes(workdir, ids)
    assert _gtok_bytes(workdir, arr[1::5]) == _reference_bytes(workdir, ids[1::5])
    # only the uint16 part: the writer narrows to uint16 whatever the input width
    small = np.array(ids[:100], dtype=">u4") - 2000
    assert _gtok_bytes(workdir, small) == _reference_bytes(workdir, small.tolist())
    assert _gtok_bytes(workdir, small)[4] == 0x01


@SETTINGS
@given(ids=ids_strategy)
def test_tuple_same_bytes_as_list(workdir, ids):
    assert _gtok_bytes(workdir, tuple(ids)) == _reference_bytes(workdir, ids)


@pytest.mark.parametrize(
    "r",
    [
        range(0),
        range(10),
        range(0, 70_000, 7),
        range(65_530, 65_541),
        range(U32_MAX, U32_MAX - 10, -3),
        range(65_535, 65_536),
    ],
    ids=repr,
)
def test_range_same_bytes_as_list(workdir, r):
    assert _gtok_bytes(workdir, r) == _reference_bytes(workdir, list(r))


def test_two_dimensional_column_slice(workdir):
    # a column of a 2-D array: 1-D but strided; the writer must gather it
    table = np.arange(300, dtype=np.int64).reshape(100, 3) * 1000
    col = table[:, 1]
    assert not col.flags.c_contiguous
    assert _gtok_bytes(workdir, col) == _reference_bytes(workdir, col.tolist())
