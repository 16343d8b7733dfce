import numpy as np
import numpy.typing as npt

def id_range(ids: npt.NDArray[np.integer]) -> tuple[int, int]: ...
def narrow(
    ids: npt.NDArray[np.integer], out: npt.NDArray[np.uint16] | npt.NDArray[np.uint32]
) -> None: ...
