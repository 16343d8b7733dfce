"""Training-side loading: datasets over files, packs and manifests, batches, samplers.

- :mod:`gtok.train.dataset` -- ``GtokDataset``: files, packs and manifests as one dataset;
- :mod:`gtok.train.collate` -- padded and flat batches, a ``collate_fn``;
- :mod:`gtok.train.order` -- epoch orders per rank, resumable (no torch needed);
- :mod:`gtok.train.torchdata` -- PyTorch samplers and an iterable dataset (imports torch
  on first use of those classes).
"""
