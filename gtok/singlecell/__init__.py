"""Single-cell input: one document per cell.

- :mod:`gtok.singlecell.fragments` -- fragment files (10x ``fragments.tsv.gz``);
- :mod:`gtok.singlecell.matrix` -- cell-by-peak matrices (AnnData objects, ``.h5ad``).
"""
