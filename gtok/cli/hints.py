"""The warnings ``gtok tokenize`` adds to its summary when the result looks like a mistake.

**Another genome's universe** (or another chromosome naming, ``chr1`` vs ``1``) gives
valid-looking outputs and exit 0 unless pointed out: most of the inputs' regions lie on
chromosomes the universe lacks. The warning prints even with ``--quiet``, as warnings do.
"""

from __future__ import annotations

from typing import Any

__all__ = ["UNKNOWN_SHARE", "unknown_chromosomes_warning"]

#: above this share of regions on chromosomes the universe lacks, the run says so
UNKNOWN_SHARE = 0.5


def unknown_chromosomes_warning(summary: Any) -> str | None:
    """Most regions on chromosomes the universe lacks: another genome's universe?"""
    done = [r for r in summary.results if r.status == "ok"]
    regions = sum(r.regions for r in done)
    unknown = sum(r.unknown_chrom_regions for r in done)
    if not regions or unknown / regions <= UNKNOWN_SHARE:
        return None
    return (
        f"{100 * unknown / regions:.0f} % of the regions lie on chromosomes the universe "
        "lacks (they get <unk>): is it the universe of the inputs' genome and naming "
        "(chr1 or 1)?"
    )
