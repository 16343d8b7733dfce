import numpy as np
import numpy.typing as npt

def argsort_keys(keys: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]: ...
def gtars_order(
    chroms: npt.NDArray[np.int32],
    starts: npt.NDArray[np.uint32],
    ends: npt.NDArray[np.uint32],
    chrom_rank: npt.NDArray[np.int32],
) -> tuple[
    npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.uint32], npt.NDArray[np.uint32]
]: ...
