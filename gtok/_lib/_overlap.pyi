import numpy as np
import numpy.typing as npt

class OverlapIndex:
    """The universe's overlap index: per chromosome, components of sorted regions."""

    starts: npt.NDArray[np.uint32]
    ends: npt.NDArray[np.uint32]
    maxend: npt.NDArray[np.uint32]  # ``ends`` itself when ends never decreases in a component
    ids: npt.NDArray[np.uint32] | None  # None: a region's id is its position
    comp_bounds: npt.NDArray[np.int64]
    chrom_comps: npt.NDArray[np.int64]
    skips: npt.NDArray[np.uint32]
    buckets: npt.NDArray[np.uint32]  # positions: per one-component chromosome, its buckets
    bucket_bounds: npt.NDArray[np.int64]  # chromosome c's buckets: bucket_bounds[c:c + 2]
    bucket_shifts: npt.NDArray[np.uint8]  # bucket width: 2 ** shift
    n_chroms: int
    n_regions: int
    max_comps: int
    def __init__(
        self,
        starts: npt.ArrayLike,
        ends: npt.ArrayLike,
        maxend: npt.ArrayLike | None,
        ids: npt.ArrayLike | None,
        comp_bounds: npt.ArrayLike,
        chrom_comps: npt.ArrayLike,
    ) -> None: ...
    @property
    def nbytes(self) -> int: ...
    def hits_per_query(
        self,
        chroms: npt.NDArray[np.int32],
        starts: npt.NDArray[np.uint32],
        ends: npt.NDArray[np.uint32],
    ) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]: ...
