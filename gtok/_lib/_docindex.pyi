import numpy as np
import numpy.typing as npt

class DocumentIndex:
    """Documents of a token array cut by an offsets array."""

    n_docs: int
    def __init__(
        self, tokens: npt.NDArray[np.unsignedinteger], offsets: npt.NDArray[np.uint64], path: str
    ) -> None: ...
    def __len__(self) -> int: ...
    def __getitem__(self, i: int, /) -> npt.NDArray[np.unsignedinteger]: ...
