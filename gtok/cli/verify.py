"""``gtok verify``: check ``.gtok`` files, packs or output folders against a universe."""

from __future__ import annotations

import argparse
from typing import Any

from gtok.cli.parsing import add_command, add_quiet
from gtok.cli.progress import say
from gtok.cli.recorded import universe_for
from gtok.cli.status import EXIT_FAILED, EXIT_OK

__all__ = ["add_parsers", "run_verify"]


def run_verify(args: argparse.Namespace) -> int:
    """``gtok verify``: its exit code (1 for any problem found, a missing target too)."""
    from gtok.batch.verify import verify

    try:
        tok = universe_for(args.universe, args.targets[0])
    except (OSError, ValueError) as exc:
        say(f"gtok verify: {exc}")
        return EXIT_FAILED
    report = verify(args.targets, tok)
    for p in report.problems:
        say(f"gtok verify: {p}")
    if not args.quiet:
        print(
            f"gtok verify: {report.files_checked} file(s) checked, "
            f"{len(report.problems)} problem(s)"
        )
    return EXIT_OK if report.ok else EXIT_FAILED


def add_parsers(sub: Any) -> None:
    """Add ``gtok verify`` to the subcommands."""
    p = add_command(
        sub,
        "verify",
        summary="check .gtok files or an output folder against a universe",
        description="""
        Check that .gtok files are complete and valid, that every id is below the
        universe's vocab size, and (for a folder) that its manifests were made with this
        universe and list no failed or missing file, that every .gtok file in it is listed
        with the size it was written with (after sharded runs: that every shard ran).""",
        examples=("gtok verify tokens/", "gtok verify cells.gtok -u universe.bed"),
    )
    p.add_argument("targets", nargs="+", metavar="OUTDIR|FILE")
    p.add_argument(
        "-u",
        "--universe",
        help="the universe to check against (default: the one the first target records: a "
        "pack's, or its folder's manifest's)",
    )
    add_quiet(p, "print only problems")
    p.set_defaults(func=run_verify)
