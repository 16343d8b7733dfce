import numpy as np
import numpy.typing as npt

from gtok._lib._overlap import OverlapIndex

def tokenize_docs(
    index: OverlapIndex,
    chroms: npt.NDArray[np.int32],
    starts: npt.NDArray[np.uint32],
    ends: npt.NDArray[np.uint32],
    offsets: npt.NDArray[np.int64],
    unk_id: int,
    unk_per_region: bool,
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]: ...
