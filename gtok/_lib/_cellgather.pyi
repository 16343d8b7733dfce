import numpy as np
import numpy.typing as npt

def check_rows(
    indptr: npt.NDArray[np.int32] | npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32] | npt.NDArray[np.int64],
    n_cols: int,
) -> int: ...
def gather_cells(
    indptr: npt.NDArray[np.int32] | npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32] | npt.NDArray[np.int64],
    keep: npt.NDArray[np.uint8],
    var_offsets: npt.NDArray[np.int64],
    var_ids: npt.NDArray[np.uint32],
    unk_id: int,
    unk_per_region: bool,
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]: ...
