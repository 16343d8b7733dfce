"""``gtok fragments`` and ``gtok anndata``: single-cell data into a pack, a cell a
document."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from gtok.cli.parsing import add_command, add_quiet, count
from gtok.cli.progress import ProgressBar, say, wanted
from gtok.cli.status import EXIT_OK, status_of

__all__ = ["add_parsers", "run_fragments", "run_anndata"]


def run_fragments(args: argparse.Namespace) -> int:
    """``gtok fragments``: its exit code."""
    from gtok.singlecell.fragments import tokenize_fragments

    show = wanted(sys.stderr, args.quiet)
    try:
        with ProgressBar("B", extra="fragments", show=show) as bar:
            summary = tokenize_fragments(
                args.universe,
                args.fragments,
                args.output,
                barcodes=args.barcodes,
                min_fragments=args.min_fragments,
                min_tokens=args.min_tokens,
                unique=args.unique,
                skip_bad_lines=args.skip_bad_lines,
                # (bytes of the file read, its size or 0 for a pipe, fragments so far)
                progress=(lambda done, total, n: bar.update(done, total, extra=n))
                if show
                else None,
            )
    except (OSError, ValueError, MemoryError) as exc:
        say(f"gtok fragments: {exc}")
        return status_of(exc)
    if not args.quiet:
        say(
            f"gtok fragments: {summary.cells:,} cells ({summary.cells_seen:,} barcodes "
            f"seen), {summary.fragments:,} fragments, {summary.tokens:,} tokens -> "
            f"{summary.output} in {summary.seconds:.1f} s"
        )
        if summary.skipped_lines:
            say(
                f"gtok fragments: skipped {summary.skipped_lines:,} bad line(s), the first: "
                f"{summary.first_skipped}"
            )
    return EXIT_OK


def run_anndata(args: argparse.Namespace) -> int:
    """``gtok anndata``: its exit code."""
    from gtok.singlecell.matrix import tokenize_anndata
    from gtok.tokenizer import Tokenizer

    coords = None
    if args.coords:
        coords = "names" if args.coords == "names" else args.coords.split(",")
    show = wanted(sys.stderr, args.quiet)
    try:
        with ProgressBar("cells", show=show) as bar:
            summary = tokenize_anndata(
                Tokenizer(args.universe),
                args.input,
                args.output,
                layer=args.layer,
                coords=coords,
                unk=args.unk,
                progress=bar.update,
            )
    except (OSError, ValueError, ImportError) as exc:
        say(f"gtok anndata: {exc}")
        return status_of(exc)
    if not args.quiet:
        say(
            f"gtok anndata: {summary.n_cells} cells, {summary.n_tokens:,} tokens -> "
            f"{summary.path} ({summary.n_regions} var regions, "
            f"{summary.n_regions_without_hits} without a hit; {summary.n_unk_cells} cells "
            "without any hit)"
        )
    return EXIT_OK


def add_parsers(sub: Any) -> None:
    """Add ``gtok fragments`` and ``gtok anndata`` to the subcommands."""
    _add_fragments_parser(sub)
    _add_anndata_parser(sub)


def _add_fragments_parser(sub: Any) -> None:
    p = add_command(
        sub,
        "fragments",
        summary="tokenize a single-cell fragment file into a pack (a document per cell)",
        description="""
        Tokenize a fragment file (chrom, start, end, barcode[, count], tab-separated,
        plain or gzip: 10x scATAC fragments.tsv.gz) against UNIVERSE as gtars'
        tokenize_fragment_file does: each fragment gives the ids of the universe regions
        it overlaps, or one <unk>. Writes one pack OUT with a document per cell, named by
        its barcode, cells in order of first appearance; it records the universe
        fingerprint, the settings and the counts. The write is atomic: on any error no
        pack appears.""",
        examples=(
            "gtok fragments peaks.bed fragments.tsv.gz -o cells.gtok",
            "gtok fragments peaks.bed fragments.tsv.gz -o cells.gtok \\",
            "    --barcodes barcodes.tsv --min-fragments 1000 --unique",
        ),
    )
    p.add_argument(
        "universe", metavar="UNIVERSE", help="universe BED (plain or gzip) or gtars TOML config"
    )
    p.add_argument("fragments", metavar="FRAGMENTS", help="the fragment file (plain or gzip)")
    p.add_argument("-o", "--output", metavar="OUT", required=True, help="the pack to write")
    p.add_argument(
        "--barcodes",
        metavar="FILE",
        help="keep only these cells (one barcode per line, plain or gzip)",
    )
    p.add_argument(
        "--min-fragments",
        type=count,
        default=0,
        metavar="N",
        help="keep cells with at least N fragments",
    )
    p.add_argument(
        "--min-tokens",
        type=count,
        default=0,
        metavar="N",
        help="keep cells with at least N universe-region tokens (<unk> not counted)",
    )
    p.add_argument(
        "--unique",
        action="store_true",
        help="each cell's distinct regions once, sorted by id, no <unk> (the peak-by-cell view)",
    )
    p.add_argument(
        "--skip-bad-lines",
        action="store_true",
        help="skip malformed lines (counted) instead of failing",
    )
    add_quiet(p, "print nothing but errors (and no progress bar)")
    p.set_defaults(func=run_fragments)


def _add_anndata_parser(sub: Any) -> None:
    p = add_command(
        sub,
        "anndata",
        summary="tokenize a cells x regions .h5ad (AnnData) into a pack, a cell a document",
        description="""
        Tokenize every cell of an .h5ad file (AnnData: cells x regions, e.g. scATAC peaks)
        against UNIVERSE into one pack FILE: a document per cell (its non-zero regions'
        universe ids, as geniml's tokenize_anndata), named by the obs names.

        Region coordinates come from var columns chr/start/end (or chrom, seqnames,
        chromStart, ...) or from var names chr:start-end. Needs h5py (pip install
        'gtok[singlecell]').""",
        examples=("gtok anndata universe.bed cells.h5ad -o cells.gtok",),
    )
    p.add_argument("universe", metavar="UNIVERSE", help="universe BED or gtars TOML config")
    p.add_argument("input", metavar="INPUT.h5ad", help="the AnnData file")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="the pack to write")
    p.add_argument("--layer", help="tokenize layers[LAYER] instead of X")
    p.add_argument(
        "--coords",
        metavar="CHR,START,END",
        help="var columns holding the coordinates, or 'names' to parse the var "
        "names (default: chr,start,end or a known alias, else the names)",
    )
    p.add_argument(
        "--unk",
        choices=("whole", "per_region"),
        default="whole",
        help="'whole': [<unk>] only for a cell without any hit (the default, as "
        "gtars 0.10); 'per_region': one <unk> per region without a hit",
    )
    add_quiet(p, "print nothing but errors (and no progress bar)")
    p.set_defaults(func=run_anndata)
