"""Run gtok's main job on the bundled example: ``python -m gtok.example [OUTDIR]``.

Builds a tokenizer from the example universe, tokenizes the three example region sets
(BED3, narrowPeak and gzip BED6), writes one ``.gtok`` file each into OUTDIR (default
``./gtok-example``), reads them back zero-copy and prints what it did.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from importlib import resources

import numpy as np

from gtok.gtokfile import read_gtok, write_gtok
from gtok.tokenizer import Tokenizer

SAMPLES = ("sample1.bed", "sample2.narrowPeak", "sample3.bed.gz")


def example_path(name: str) -> str:
    """Path of a bundled example file (``"universe.bed"``, ``"sample1.bed"``, ...)."""
    return str(resources.files("gtok") / "examples" / name)


def run(out_dir: str, stream=sys.stdout) -> list[str]:
    """Tokenize the example samples into ``out_dir``; return the ``.gtok`` paths."""
    t0 = time.perf_counter()
    tok = Tokenizer(example_path("universe.bed"))
    print(f"universe: {tok.universe.n_regions} regions, vocab_size {tok.vocab_size}, "
          f"fingerprint {tok.fingerprint} ({(time.perf_counter() - t0) * 1e3:.1f} ms)",
          file=stream)
    outputs = []
    for name in SAMPLES:
        t0 = time.perf_counter()
        tokens = tok.tokenize(example_path(name))
        out = os.path.join(out_dir, name.split(".")[0] + ".gtok")
        write_gtok(out, tokens.ids)
        back = read_gtok(out)
        if not np.array_equal(back, tokens.ids):  # pragma: no cover - would be a bug
            raise RuntimeError(f"{out}: read back different ids")
        ms = (time.perf_counter() - t0) * 1e3
        print(f"{name}: {tokens.n_regions} regions ({tokens.n_unknown_chrom} on chromosomes "
              f"outside the universe) -> {len(tokens)} tokens -> {out} "
              f"({os.path.getsize(out)} bytes, {back.dtype}, {ms:.1f} ms); first tokens "
              f"{tok.decode(back[:2])}", file=stream)
        outputs.append(out)
    return outputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gtok.example",
        description="Tokenize gtok's bundled example region sets into .gtok files.")
    parser.add_argument("out_dir", nargs="?", default="gtok-example",
                        help="folder for the .gtok files (default: ./gtok-example)")
    args = parser.parse_args(argv)
    run(args.out_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
