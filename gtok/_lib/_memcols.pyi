import enum

import numpy as np
import numpy.typing as npt

from gtok._lib._chromtable import ChromTable

class Code(enum.IntEnum):
    NOT_FOUND = -1
    MISSING = -2
    OUT_OF_MEMORY = -3

class Problem(enum.IntEnum):
    OK = 0
    MALFORMED = 1
    CHROM_MISSING = 2
    START_NOT_INT = 3
    END_NOT_INT = 4
    START_NEGATIVE = 5
    END_NEGATIVE = 6
    START_TOO_BIG = 7
    END_TOO_BIG = 8
    START_AFTER_END = 9

def codes_from_fixed(
    raw: npt.NDArray[np.uint8], itemsize: int, ucs4: bool, table: ChromTable, add: bool = ...
) -> npt.NDArray[np.int32]: ...
def codes_from_offsets(
    data: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.int32] | npt.NDArray[np.int64],
    first: int,
    n: int,
    valid: npt.NDArray[np.uint8] | None,
    table: ChromTable,
    add: bool = ...,
) -> npt.NDArray[np.int32]: ...
def codes_from_objects(
    items: list, table: ChromTable, add: bool = ...
) -> npt.NDArray[np.int32]: ...
def check_coords(
    codes: npt.NDArray[np.int32],
    starts: npt.NDArray[np.integer],
    ends: npt.NDArray[np.integer],
    flags: npt.NDArray[np.uint8],
    out_starts: npt.NDArray[np.uint32],
    out_ends: npt.NDArray[np.uint32],
    status: npt.NDArray[np.uint8],
) -> tuple[int, int, int, int]: ...
