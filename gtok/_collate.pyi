from typing import Any

import numpy as np
import numpy.typing as npt

def fill(
    docs: list[npt.NDArray[Any]],
    kinds: list[int],
    take: npt.NDArray[np.int64],
    seeds: npt.NDArray[np.uint64],
    mode: int,
    out: npt.NDArray[np.int32] | npt.NDArray[np.int64],
    pad: int,
    mask: npt.NDArray[np.uint8] | None,
    cu: npt.NDArray[np.int64] | None,
) -> None: ...
