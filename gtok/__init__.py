"""gtok: fast, safe pre-tokenization of genomic region sets into ``.gtok`` files.

The public API is re-exported here; each name lives in the module that owns its job:

- :mod:`gtok.tokenizer` -- ``Tokenizer`` (universe, ids, decoding; docs/semantics.md §4-5);
- :mod:`gtok.io.gtokfile` -- ``write_gtok``, ``read_gtok``, ``open_gtok`` (docs/semantics.md §2);
- :mod:`gtok.io.pack` -- packs: many documents in one file (``PackWriter``, ``GtokPack``);
- :mod:`gtok.train.collate` -- padded / flat training batches and a ``collate_fn``;
- :mod:`gtok.train.dataset` -- ``GtokDataset``: files, packs and manifests as one dataset
  (docs/semantics.md §5);
- :mod:`gtok.train.torchdata` -- PyTorch samplers and an iterable dataset (imports torch; not
  imported here);
- :mod:`gtok.batch.run` -- ``pretokenize``: many files in parallel, resumable
  (docs/semantics.md §6);
- :mod:`gtok.singlecell.fragments` -- single-cell fragment files to per-cell ids or a pack;
- :mod:`gtok.singlecell.matrix` -- ``tokenize_anndata``: single-cell matrices (AnnData, ``.h5ad``);
- :mod:`gtok.io.parquet` -- ``export_parquet`` / ``import_parquet`` (needs pyarrow);
- :mod:`gtok.cli` -- the ``gtok`` command line;
- :mod:`gtok.errors` -- every exception class gtok raises on bad input.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Public name -> the module that defines it. Imported on first use (PEP 562), so that
# ``import gtok`` and the ``gtok`` command start fast and load only what they use.
_EXPORTS = {
    "BatchEncoding": "gtok.tokenizer",
    "BatchSummary": "gtok.batch.run",
    "CellsSummary": "gtok.singlecell.matrix",
    "CellTokens": "gtok.singlecell.fragments",
    "FragmentSummary": "gtok.singlecell.fragments",
    "GtokDataset": "gtok.train.dataset",
    "GtokFile": "gtok.io.gtokfile",
    "GtokPack": "gtok.io.pack",
    "PadCollator": "gtok.train.collate",
    "PackWriter": "gtok.io.pack",
    "TokenizedRegionSet": "gtok.tokenizer",
    "Tokenizer": "gtok.tokenizer",
    "UncheckedUniverseWarning": "gtok.errors",
    "export_parquet": "gtok.io.parquet",
    "flat_batch": "gtok.train.collate",
    "import_parquet": "gtok.io.parquet",
    "open_gtok": "gtok.io.gtokfile",
    "pad_batch": "gtok.train.collate",
    "pretokenize": "gtok.batch.run",
    "read_gtok": "gtok.io.gtokfile",
    "tokenize_anndata": "gtok.singlecell.matrix",
    "tokenize_fragment_file": "gtok.singlecell.fragments",
    "tokenize_fragments": "gtok.singlecell.fragments",
    "write_gtok": "gtok.io.gtokfile",
    "write_pack": "gtok.io.pack",
}
_SUBMODULES = {"errors"}

__all__ = sorted(_EXPORTS) + sorted(_SUBMODULES) + ["__version__"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"gtok.{name}")
    else:
        raise AttributeError(f"module 'gtok' has no attribute {name!r}")
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # what type checkers and IDEs see
    from gtok import errors
    from gtok.batch.run import BatchSummary, pretokenize
    from gtok.errors import UncheckedUniverseWarning
    from gtok.io.gtokfile import GtokFile, open_gtok, read_gtok, write_gtok
    from gtok.io.pack import GtokPack, PackWriter, write_pack
    from gtok.io.parquet import export_parquet, import_parquet
    from gtok.singlecell.fragments import (
        CellTokens,
        FragmentSummary,
        tokenize_fragment_file,
        tokenize_fragments,
    )
    from gtok.singlecell.matrix import CellsSummary, tokenize_anndata
    from gtok.tokenizer import BatchEncoding, TokenizedRegionSet, Tokenizer
    from gtok.train.collate import PadCollator, flat_batch, pad_batch
    from gtok.train.dataset import GtokDataset
