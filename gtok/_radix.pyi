import numpy as np
import numpy.typing as npt

def argsort_keys(keys: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]: ...
