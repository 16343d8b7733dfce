"""gtok: fast, safe pre-tokenization of genomic region sets into ``.gtok`` files.

The public API is re-exported here; each name lives in the module that owns its job:

- :mod:`gtok.tokenizer` -- ``Tokenizer`` (universe, ids, decoding; SPEC §4-5);
- :mod:`gtok.gtokfile` -- ``write_gtok``, ``read_gtok``, ``open_gtok`` (SPEC §2);
- :mod:`gtok.pack` -- packs: many documents in one file (``PackWriter``, ``GtokPack``);
- :mod:`gtok.collate` -- padded / flat training batches and a ``collate_fn``;
- :mod:`gtok.dataset` -- ``GtokDataset``: files, packs and manifests as one dataset (SPEC §5);
- :mod:`gtok.torchdata` -- PyTorch samplers and an iterable dataset (imports torch; not
  imported here);
- :mod:`gtok.batch` -- ``pretokenize``: many files in parallel, resumable (SPEC §6);
- :mod:`gtok.cells` -- ``tokenize_anndata``: single-cell matrices (AnnData, ``.h5ad``);
- :mod:`gtok.parquet` -- ``export_parquet`` / ``import_parquet`` (needs pyarrow);
- :mod:`gtok.cli` -- the ``gtok`` command line;
- :mod:`gtok.errors` -- every exception class gtok raises on bad input.
"""

from gtok import errors
from gtok.batch import BatchSummary, pretokenize
from gtok.cells import tokenize_anndata
from gtok.collate import PadCollator, flat_batch, pad_batch
from gtok.dataset import GtokDataset
from gtok.errors import UncheckedUniverseWarning
from gtok.gtokfile import GtokFile, open_gtok, read_gtok, write_gtok
from gtok.pack import GtokPack, PackWriter, write_pack
from gtok.tokenizer import BatchEncoding, TokenizedRegionSet, Tokenizer

__version__ = "0.1.0"

__all__ = [
    "BatchEncoding",
    "BatchSummary",
    "GtokDataset",
    "GtokFile",
    "GtokPack",
    "PadCollator",
    "PackWriter",
    "TokenizedRegionSet",
    "Tokenizer",
    "UncheckedUniverseWarning",
    "errors",
    "flat_batch",
    "open_gtok",
    "pad_batch",
    "pretokenize",
    "tokenize_anndata",
    "read_gtok",
    "write_gtok",
    "write_pack",
    "__version__",
]
