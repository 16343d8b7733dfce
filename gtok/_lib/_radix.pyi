import numpy as np
import numpy.typing as npt

def argsort_keys(keys: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]: ...
def gtars_keys(
    chroms_in: npt.NDArray[np.int32],
    starts_in: npt.NDArray[np.uint32],
    ends_in: npt.NDArray[np.uint32],
    chrom_rank: npt.NDArray[np.int32],
    work: tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]] | None = None,
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.intp], npt.NDArray[np.int32]] | None: ...
