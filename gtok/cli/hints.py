"""The warnings ``gtok tokenize`` adds to its summary when the result looks like a mistake.

Two mistakes give valid-looking outputs and exit 0 unless pointed out:

- **Another genome's universe** (or another chromosome naming, ``chr1`` vs ``1``): most of
  the inputs' regions lie on chromosomes the universe lacks. The warning names the share
  and the lacking chromosomes of the first :data:`UNKNOWN_FILES_READ` such inputs (read
  again, regular files only: the warning is rare, and the run's results hold counts).
- **Universe and input swapped** (``gtok tokenize sample.bed universe.bed``): the rule,
  :func:`swap_warning`, looks only at a run of exactly one input file, whose region set
  would then be the universe and the "universe" a sample of it. A universe holds the
  regions of many samples, so a sample's regions mostly overlap it while it covers only
  part of the universe; swapped, it is the other way round. The run warns when all hold:

  1. the universe has at least :data:`SWAP_MIN_REGIONS` regions (shares of a handful of
     regions say nothing: a test's small universe never triggers it);
  2. the input has more regions than the universe;
  3. at least half of the universe's regions overlap a region of the input;
  4. that share exceeds the share of the input's regions (on the universe's chromosomes)
     that overlap a universe region by at least :data:`SWAP_MARGIN`;
  5. the other-genome warning did not fire (that is the likelier explanation).

  Checking it tokenizes the input once more (one regular file -- a pipe cannot be read
  again --, so bounded by what the run just did).

Both are warnings: they print even with ``--quiet``, and the exit code stays 0. The
outputs are valid tokenizations of what was asked for, and a deliberate choice can have
the same shape (a small universe of promoters against a large peak set meets the swap
rule): a pipeline must not fail on a likeness. The message says what was seen and the
likely fix.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

__all__ = [
    "UNKNOWN_SHARE",
    "SWAP_MIN_REGIONS",
    "SWAP_MARGIN",
    "unknown_chromosomes_warning",
    "swap_warning",
    "overlap_shares",
]

#: above this share of regions on chromosomes the universe lacks, the run says so
UNKNOWN_SHARE = 0.5
#: the other-genome warning names the chromosomes of at most this many inputs ...
UNKNOWN_FILES_READ = 3
#: ... and at most this many of them
UNKNOWN_NAMES_SHOWN = 8
#: the swap rule needs a universe of at least this many regions
SWAP_MIN_REGIONS = 100
#: by how much the universe's covered share must exceed the input's for the swap warning
SWAP_MARGIN = 0.25


def unknown_chromosomes_warning(summary: Any, universe: str) -> str | None:
    """Most regions on chromosomes the universe lacks: another genome's universe? The
    message names the share and, from the first few inputs, the chromosomes."""
    share = _unknown_share(summary)
    if share <= UNKNOWN_SHARE:
        return None
    done = [r for r in summary.results if r.status == "ok"]
    names = _unknown_chromosomes(universe, [r.input for r in done if r.unknown_chrom_regions])
    seen = ""
    if names:
        more = ", ..." if len(names) > UNKNOWN_NAMES_SHOWN else ""
        seen = f" ({', '.join(names[:UNKNOWN_NAMES_SHOWN])}{more})"
    return (
        f"{100 * share:.0f} % of the regions lie on chromosomes the universe "
        f"lacks{seen}; they get <unk>: is it the universe of the inputs' genome and naming "
        "(chr1 or 1)?"
    )


def _unknown_share(summary: Any) -> float:
    """The share of the done inputs' regions on chromosomes the universe lacks (0 when none)."""
    done = [r for r in summary.results if r.status == "ok"]
    regions = sum(r.regions for r in done)
    return sum(r.unknown_chrom_regions for r in done) / regions if regions else 0.0


def _unknown_chromosomes(universe: str, inputs: list[str]) -> list[str]:
    """The chromosomes of the first few regular-file ``inputs`` that ``universe`` lacks,
    sorted (empty when they cannot be read again: a pipe, a changed file)."""
    from gtok.io.bedtext import chromosomes_lacking
    from gtok.tokenizer import Tokenizer

    files = [p for p in inputs if os.path.isfile(p)][:UNKNOWN_FILES_READ]
    if not files:
        return []
    try:
        table = Tokenizer(universe).universe.chroms
        lacking: set[str] = set()
        for path in files:
            lacking.update(chromosomes_lacking(path, table))
    except (OSError, ValueError):  # changed or gone since the run: nothing to add
        return []
    return sorted(lacking)


def overlap_shares(tok: Any, path: str, *, skip_bad_lines: bool) -> tuple[float, float]:
    """(share of the input's regions on the universe's chromosomes that overlap a universe
    region, share of the universe's regions that overlap a region of the input), for the
    tokenizer ``tok`` and the input file ``path``."""
    found = tok.tokenize(path, unk="per_region", skip_bad_lines=skip_bad_lines)
    ids = np.asarray(found.ids)
    n_universe = tok.universe.n_regions
    hits = ids[ids < n_universe]
    misses = int(np.count_nonzero(ids == tok.unk_token_id))  # (a region without a hit)
    on_known = found.n_regions - found.n_unknown_chrom
    input_share = (found.n_regions - misses) / on_known if on_known else 0.0
    universe_share = len(np.unique(hits)) / n_universe if n_universe else 0.0
    return input_share, universe_share


def swap_warning(universe: str, summary: Any, *, skip_bad_lines: bool) -> str | None:
    """The swap warning for a finished run (the module's rule), or None."""
    from gtok.io.manifest import load_manifest
    from gtok.tokenizer import Tokenizer

    if len(summary.results) != 1 or summary.results[0].status != "ok":
        return None
    result = summary.results[0]
    if not os.path.isfile(result.input):  # a pipe or device: it cannot be read again
        return None
    if _unknown_share(summary) > UNKNOWN_SHARE:
        return None
    try:
        header = load_manifest(summary.manifest).get("universe", {})
        n_universe = header.get("regions") or 0  # (read there: no universe parsed for it)
        if n_universe < SWAP_MIN_REGIONS or result.regions <= n_universe:
            return None
        tok = Tokenizer(universe)
        input_share, universe_share = overlap_shares(
            tok, result.input, skip_bad_lines=skip_bad_lines
        )
    except (OSError, ValueError):  # changed or gone since the run: nothing to say
        return None
    if universe_share < 0.5 or universe_share - input_share < SWAP_MARGIN:
        return None
    name, sample = os.path.basename(result.input), os.path.basename(universe)
    return (
        f"the universe looks like a sample of the input: {100 * universe_share:.0f} % of "
        f"the universe's {n_universe:,} regions ({sample}) overlap the input, but only "
        f"{100 * input_share:.0f} % of the input's {result.regions:,} regions ({name}) "
        "overlap the universe. Did you swap universe and input? usage: gtok tokenize "
        "UNIVERSE INPUT... -o OUTDIR"
    )
