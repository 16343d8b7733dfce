from typing import final

import numpy as np
import numpy.typing as npt

from gtok._lib._chromtable import ChromTable
from gtok._lib._overlap import OverlapIndex

@final
class FragmentTokenizer:
    """Streams fragment text into per-cell token buffers."""

    n_lines: int
    n_fragments: int
    n_bad: int
    n_filtered: int
    n_unknown_chrom: int
    bad_line_no: int
    bad_begin: int
    bad_end: int
    bad_code: int
    def __init__(
        self,
        index: OverlapIndex,
        chroms: ChromTable,
        unk_id: int,
        allow: ChromTable | None = ...,
        skip_bad: bool = ...,
    ) -> None: ...
    def feed(self, buf: bytes | memoryview, final: bool) -> int: ...
    @property
    def n_cells(self) -> int: ...
    def barcodes(self) -> list[bytes]: ...
    def counts(
        self,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]: ...
    def make_unique(self) -> None: ...
    def gather(
        self, keep: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]: ...
    def take(self, c: int) -> npt.NDArray[np.uint32]: ...
