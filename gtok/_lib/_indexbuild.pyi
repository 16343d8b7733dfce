import numpy as np
import numpy.typing as npt

from gtok._lib._overlap import OverlapIndex

def build_index(
    chroms: npt.NDArray[np.int32],
    starts: npt.NDArray[np.uint32],
    ends: npt.NDArray[np.uint32],
    n_chroms: int,
) -> tuple[OverlapIndex, npt.NDArray[np.int64] | None]: ...
