import numpy as np
import numpy.typing as npt

from gtok._lib._chromtable import ChromTable

def capacity_for(n_bytes: int) -> int: ...
def parse_bed(
    buf: bytes | bytearray | memoryview,
    table: ChromTable,
    extra: ChromTable | None,
    add_chroms: bool,
    skip_bad: bool,
    chroms: npt.NDArray[np.int32],
    starts: npt.NDArray[np.uint32],
    ends: npt.NDArray[np.uint32],
    header_allowed: bool = ...,
) -> tuple[int, int, int, int, int, int, int, bool]: ...
