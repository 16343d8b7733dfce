"""Batch jobs: many inputs, tokenized in parallel, safely and resumably.

- :mod:`gtok.batch.run` -- ``pretokenize``: inputs to ``.gtok`` files with a manifest;
- :mod:`gtok.batch.packing` -- inputs (or ``.gtok`` files) into one pack;
- :mod:`gtok.batch.pool` -- the local worker pool (one pipe per worker).

``gtok.pretokenize`` is the public entry point; this package imports nothing on its own, so
that ``import gtok.batch.pool`` stays light.
"""
