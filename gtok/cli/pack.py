"""``gtok pack``: many ``.gtok`` files (and packs) into one pack."""

from __future__ import annotations

import argparse
import os
from typing import Any

from gtok.cli.parsing import add_command, add_quiet
from gtok.cli.progress import say
from gtok.cli.status import EXIT_OK, EXIT_USAGE, status_of

__all__ = ["add_parsers", "run_pack"]


def run_pack(args: argparse.Namespace) -> int:
    """``gtok pack``: its exit code."""
    from gtok.batch.packing import pack_gtok_files
    from gtok.tokenizer import Tokenizer

    if os.path.isdir(args.output):
        say(
            f"gtok pack: the pack to write, the first argument, is a folder ({args.output}); "
            "usage: gtok pack OUT.gtok INPUT..."
        )
        return EXIT_USAGE
    try:
        tok = Tokenizer(args.universe) if args.universe else None
        summary = pack_gtok_files(args.inputs, args.output, tokenizer=tok, from_file=args.from_file)
    except (OSError, ValueError) as exc:
        say(f"gtok pack: {exc}")
        return status_of(exc)
    if not args.quiet:
        say(f"gtok pack: {summary.n_docs} documents, {summary.n_tokens:,} tokens -> {summary.path}")
    return EXIT_OK


def add_parsers(sub: Any) -> None:
    """Add ``gtok pack`` to the subcommands."""
    p = add_command(
        sub,
        "pack",
        summary="pack many .gtok files into one pack",
        description="""
        Pack .gtok files (files, folders searched recursively, globs; packs contribute all
        their documents) into one pack FILE, a document per file named by its path without
        .gtok. With --universe, the pack records the universe fingerprint and every id is
        checked against its vocabulary. `gtok info --names FILE` lists the documents.""",
        examples=("gtok pack tokens.gtok tokens/ -u universe.bed",),
    )
    p.add_argument("output", metavar="FILE", help="the pack to write")
    p.add_argument("inputs", nargs="*", metavar="INPUT", help=".gtok files, folders, globs")
    p.add_argument("-u", "--universe", help="the universe the files were made with")
    p.add_argument("--from-file", metavar="LIST", help="read input paths from LIST")
    add_quiet(p)
    p.set_defaults(func=run_pack)
