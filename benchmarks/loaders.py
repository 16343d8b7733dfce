"""The layouts trainers use instead of packs, for ``bench_load.py`` (issue 17, item 5).

- **Hugging Face ``datasets``**: the parquet export (``gtok.export_parquet``: ``tokens``
  ``list<int32>``) loaded with ``datasets.Dataset.from_parquet`` (converted once to an Arrow
  file in a cache folder, then memory-mapped), ``with_format("numpy")``: what geniml's
  parquet datasets become.
- **Megatron-style**: the ids of every document concatenated in one file read through
  ``np.memmap``, with an ``int64`` offsets array (document ``i`` is
  ``ids[offsets[i]:offsets[i + 1]]``), as Megatron-LM's indexed datasets store them, read
  the way they read it (``np.frombuffer`` on a memoryview of the map, offsets as Python
  ints).

Each is wrapped in a map-style dataset that returns one document as a NumPy array, so the
same sampler and collate function (``gtok.PadCollator``) serve all three in a DataLoader.
"""

from __future__ import annotations

import os

import numpy as np

import gtok


def build_parquet(data: str, pack_path: str) -> str:
    out = os.path.join(data, os.path.basename(pack_path).replace(".gtok", ".parquet"))
    if not os.path.exists(out):
        gtok.export_parquet(pack_path, out)
    return out


def build_megatron(data: str, pack_path: str) -> tuple[str, str]:
    stem = os.path.join(data, os.path.basename(pack_path).replace(".gtok", "_megatron"))
    bin_path, idx_path = stem + ".bin", stem + ".idx.npy"
    if not (os.path.exists(bin_path) and os.path.exists(idx_path)):
        pack = gtok.open_gtok(pack_path)
        np.asarray(pack.tokens, dtype=np.uint32).tofile(bin_path + ".tmp")
        np.save(idx_path + ".tmp.npy", np.asarray(pack.offsets, dtype=np.int64))
        os.replace(bin_path + ".tmp", bin_path)
        os.replace(idx_path + ".tmp.npy", idx_path)
    return bin_path, idx_path


class PackDocs:
    """A pack's documents (``GtokPack.doc``); pickles as its path."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.pack = gtok.open_gtok(path)

    def __len__(self) -> int:
        return len(self.pack)

    def __getitem__(self, i: int) -> np.ndarray:
        return self.pack.doc(i)

    def __reduce__(self):
        return (PackDocs, (self.path,))


class MegatronDocs:
    """Concatenated ids through ``np.memmap`` + an offsets array; pickles as its paths."""

    def __init__(self, bin_path: str, idx_path: str) -> None:
        self.paths = (bin_path, idx_path)
        # as Megatron-LM reads its .bin: a memoryview of the np.memmap, and np.frombuffer
        # per document (slicing an np.memmap makes a memmap subclass object: ~4x slower)
        self.buffer = memoryview(np.memmap(bin_path, dtype=np.uint8, mode="r"))
        self.offsets = np.load(idx_path).tolist()

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> np.ndarray:
        start = self.offsets[i]
        count = self.offsets[i + 1] - start
        return np.frombuffer(self.buffer, dtype=np.uint32, count=count, offset=4 * start)

    def __reduce__(self):
        return (MegatronDocs, self.paths)


class HFDocs:
    """A ``datasets.Dataset`` of the parquet export, one document's ``tokens`` per item."""

    def __init__(self, parquet_path: str, cache_dir: str) -> None:
        import datasets

        datasets.disable_progress_bars()
        ds = datasets.Dataset.from_parquet(parquet_path, cache_dir=cache_dir)
        self.ds = ds.with_format("numpy", columns=["tokens"])

    def __len__(self) -> int:
        return len(self.ds)

    def __getitem__(self, i: int) -> np.ndarray:
        return self.ds[i]["tokens"]


def padded_epoch(docs, pad_id: int, batch: int, workers: int, seed: int) -> int:
    """One shuffled epoch through a torch DataLoader: tokens delivered (padding excluded)."""
    import torch
    from torch.utils.data import DataLoader, RandomSampler

    sampler = RandomSampler(docs, generator=torch.Generator().manual_seed(seed))
    collate = gtok.PadCollator(pad_id=pad_id)
    loader = DataLoader(
        docs,
        batch_size=batch,
        sampler=sampler,
        num_workers=workers,
        collate_fn=collate,
        persistent_workers=False,
    )
    total = 0
    for b in loader:
        total += int(b["lengths"].sum())
    return total
