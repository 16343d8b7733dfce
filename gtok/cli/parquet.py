"""``gtok parquet export|import``: token documents to or from a parquet file."""

from __future__ import annotations

import argparse
from typing import Any

from gtok.cli.parsing import add_command, add_quiet
from gtok.cli.progress import say
from gtok.cli.status import EXIT_OK, EXIT_USAGE, status_of

__all__ = ["add_parsers", "run_parquet"]


def run_parquet(args: argparse.Namespace) -> int:
    """``gtok parquet``: its exit code."""
    from gtok.io import parquet
    from gtok.tokenizer import Tokenizer

    if args.action == "import" and len(args.sources) != 1:
        say("gtok parquet import: takes one parquet file")
        return EXIT_USAGE
    try:
        tok = Tokenizer(args.universe) if args.universe else None
        if args.action == "export":
            n_docs, n_tokens = parquet.export_parquet(
                args.sources,
                args.output,
                tokenizer=tok,
                name_column=None if args.no_names else "name",
            )
        else:
            n_docs, n_tokens = parquet.import_parquet(
                args.sources[0], args.output, tokenizer=tok, column=args.column
            )
    except (OSError, ValueError, ImportError) as exc:
        say(f"gtok parquet {args.action}: {exc}")
        return status_of(exc)
    if not args.quiet:
        say(f"gtok parquet {args.action}: {n_docs} documents, {n_tokens:,} tokens -> {args.output}")
    return EXIT_OK


def add_parsers(sub: Any) -> None:
    """Add ``gtok parquet`` to the subcommands."""
    p = add_command(
        sub,
        "parquet",
        summary="convert token documents to or from parquet (list<int32> 'tokens')",
        description="""
        export: write the documents of packs, .gtok files or folders of them (searched
        recursively) to one parquet FILE with a 'tokens' column (list<int32>) and a 'name'
        column.

        import: write the documents of a parquet file's token column into a pack.

        Both stream row groups and write atomically. Needs pyarrow (pip install
        'gtok[singlecell]').""",
        examples=(
            "gtok parquet export cells.gtok -o cells.parquet",
            "gtok parquet export tokens/ -o tokens.parquet",
            "gtok parquet import cells.parquet -o cells.gtok -u universe.bed",
        ),
    )
    p.add_argument("action", choices=("export", "import"))
    p.add_argument(
        "sources",
        nargs="+",
        metavar="SOURCE",
        help="export: packs, .gtok files, folders; import: one parquet file",
    )
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="FILE",
        help="the parquet file (export) or pack (import) to write",
    )
    p.add_argument(
        "-u", "--universe", help="check ids against this universe's vocabulary (and fingerprints)"
    )
    p.add_argument("--column", default="tokens", help="import: the token column (default tokens)")
    p.add_argument("--no-names", action="store_true", help="export: no 'name' column")
    add_quiet(p)
    p.set_defaults(func=run_parquet)
