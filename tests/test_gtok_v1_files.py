"""v1 ``.gtok`` files: the shared conformance fixtures, and what the writer does (SPEC §2, §7)."""

from __future__ import annotations

import os

import pytest

from gtok import write_gtok


@pytest.mark.parametrize("ids", [[-1, 2**63], [2**63, 1], [1, 2**64 - 1], [-1, 2**64 - 1]],
                         ids=repr)
def test_ints_numpy_promotes_to_float_are_overflow_not_type_errors(tmp_path, ids):
    # np.asarray([2**63, 1]) is float64 in NumPy: the writer must still see integers out of
    # range (OverflowError naming the id), not "an array of float64" (TypeError).
    with pytest.raises(OverflowError, match=r"ids\[\d\] is -?\d+"):
        write_gtok(tmp_path / "x.gtok", ids)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("ids,index", [([1, 2.5], 1), (["7"], 0), ([0, 1, None], 2),
                                       ([False], 0), ([4, b"5"], 1)], ids=repr)
def test_type_error_names_the_index(tmp_path, ids, index):
    with pytest.raises(TypeError, match=rf"ids\[{index}\]"):
        write_gtok(tmp_path / "x.gtok", ids)
