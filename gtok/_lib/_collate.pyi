from typing import Any

import numpy as np
import numpy.typing as npt

def classify(docs: list[Any]) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.int64]]: ...
def fill(
    docs: list[npt.NDArray[Any]],
    kinds: npt.NDArray[np.int8],
    take: npt.NDArray[np.int64],
    seeds: npt.NDArray[np.uint64],
    mode: int,
    out: npt.NDArray[np.int32] | npt.NDArray[np.int64],
    pad: int,
    mask: npt.NDArray[np.uint8] | None,
    cu: npt.NDArray[np.int64] | None,
) -> None: ...
