import numpy as np
import numpy.typing as npt

def argsort_keys(keys: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]: ...
def gtars_order(
    chroms_in: npt.NDArray[np.int32],
    starts_in: npt.NDArray[np.uint32],
    ends_in: npt.NDArray[np.uint32],
    chrom_rank: npt.NDArray[np.int32],
    with_rows: bool = True,
    work: tuple[npt.NDArray[np.generic], ...] | None = None,
) -> tuple[
    npt.NDArray[np.int64] | None,
    npt.NDArray[np.int32],
    npt.NDArray[np.uint32],
    npt.NDArray[np.uint32],
]: ...
