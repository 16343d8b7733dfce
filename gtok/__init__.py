"""gtok: fast, safe pre-tokenization of genomic region sets into ``.gtok`` files.

The public API is re-exported here; each name lives in the module that owns its job:

- :mod:`gtok.tokenizer` -- ``Tokenizer`` (universe, ids, decoding; SPEC §4-5);
- :mod:`gtok.gtokfile` -- ``write_gtok``, ``read_gtok``, ``open_gtok`` (SPEC §2);
- :mod:`gtok.batch` -- ``pretokenize``: many files in parallel, resumable (SPEC §6);
- :mod:`gtok.cli` -- the ``gtok`` command line;
- :mod:`gtok.errors` -- every exception class gtok raises on bad input.
"""

from gtok import errors
from gtok.batch import BatchSummary, pretokenize
from gtok.gtokfile import GtokFile, open_gtok, read_gtok, write_gtok
from gtok.tokenizer import BatchEncoding, TokenizedRegionSet, Tokenizer

__version__ = "0.1.0"

__all__ = [
    "BatchEncoding",
    "BatchSummary",
    "GtokFile",
    "TokenizedRegionSet",
    "Tokenizer",
    "errors",
    "open_gtok",
    "pretokenize",
    "read_gtok",
    "write_gtok",
    "__version__",
]
