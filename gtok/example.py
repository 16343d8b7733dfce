"""The bundled example data set (``gtok/examples/``), so gtok runs with no data of one's own.

``gtok tokenize --example OUTDIR`` tokenizes the three example region sets (BED3,
narrowPeak and gzip BED6) against the example universe. From Python:

>>> from gtok import Tokenizer
>>> from gtok.example import SAMPLES, example_path
>>> tok = Tokenizer(example_path("universe.bed"))
>>> tok.vocab_size
3244
>>> [len(tok.tokenize(example_path(name))) for name in SAMPLES]
[3077, 2573, 2061]
"""

from __future__ import annotations

from importlib import resources

__all__ = ["SAMPLES", "UNIVERSE", "example_path"]

UNIVERSE = "universe.bed"
SAMPLES = ("sample1.bed", "sample2.narrowPeak", "sample3.bed.gz")


def example_path(name: str) -> str:
    """Path of a bundled example file (``"universe.bed"``, ``"sample1.bed"``, ...)."""
    return str(resources.files("gtok") / "examples" / name)
