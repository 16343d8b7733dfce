import numpy as np
import numpy.typing as npt

from gtok._lib._overlap import OverlapIndex

def tokenize_rows(
    index: OverlapIndex,
    chroms: npt.NDArray[np.int32],
    starts: npt.NDArray[np.uint32],
    ends: npt.NDArray[np.uint32],
    order: npt.NDArray[np.int64] | None,
    unk_id: int,
    unk_per_region: bool,
) -> npt.NDArray[np.uint32]: ...
def first_candidates(
    index: OverlapIndex, chroms: npt.NDArray[np.int32], starts: npt.NDArray[np.uint32]
) -> npt.NDArray[np.int64]: ...
def tokenize_keys(
    index: OverlapIndex,
    keys: npt.NDArray[np.uint64],
    bounds: npt.NDArray[np.intp],
    slice_chroms: npt.NDArray[np.int32],
    unk_id: int,
    unk_per_region: bool,
) -> npt.NDArray[np.uint32]: ...
