"""``gtok decode``: a ``.gtok`` file's or pack's ids as BED lines."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np

from gtok.cli.parsing import add_command
from gtok.cli.progress import say
from gtok.cli.recorded import universe_for
from gtok.cli.status import EXIT_OK, status_of
from gtok.io.gtokfile import open_gtok

__all__ = ["add_parsers", "run_decode", "document_number"]


def run_decode(args: argparse.Namespace) -> int:
    """``gtok decode``: its exit code."""
    try:
        tok = universe_for(args.universe, args.file)
        docs = _documents(args.file, args.doc)
        texts = [tok.decode(ids) for _, ids in docs]  # checks every id first
    except (OSError, ValueError, IndexError) as exc:
        say(f"gtok decode: {exc}")
        return status_of(exc)
    try:
        _print_bed(docs, texts, tok.universe.n_regions, args.ids)
    except BrokenPipeError:  # `gtok decode ... | head`
        sys.stderr.close()
    return EXIT_OK


def _documents(path: str, doc: str | None) -> list[tuple[str | None, np.ndarray]]:
    """(heading name or None, ids) of the documents to print."""
    from gtok.io.pack import GtokPack

    with open_gtok(path) as f:
        if not isinstance(f, GtokPack):
            if doc is not None:
                raise ValueError(f"{path}: --doc is for packs; this is a .gtok file")
            return [(None, np.array(f.tokens, dtype=np.int64))]
        # a pack: each document after a "# name" comment line, or just one
        names = f.names or [str(i) for i in range(len(f))]
        if doc is not None:
            i = document_number(doc, names, len(f))
            return [(None, np.array(f.doc(i), dtype=np.int64))]
        return [(names[i], np.array(f.doc(i), dtype=np.int64)) for i in range(len(f))]


def _print_bed(docs: list, texts: list, n_regions: int, with_ids: bool) -> None:
    out = sys.stdout
    for (name, ids), lines in zip(docs, texts):
        if name is not None:
            out.write(f"# {name}\n")
        for token_id, text in zip(ids.tolist(), lines):
            if token_id < n_regions:
                chrom, _, span = text.rpartition(":")
                start, _, end = span.partition("-")
                line = f"{chrom}\t{start}\t{end}"
            else:
                line = text  # a special token, by name
            out.write(f"{line}\t{token_id}\n" if with_ids else f"{line}\n")


def document_number(doc: str, names: list[str], n: int) -> int:
    """A pack document given by number (0-based) or by name."""
    if doc in names:
        return names.index(doc)
    if doc.lstrip("-").isdigit() and 0 <= int(doc) < n:
        return int(doc)
    raise IndexError(f"no document {doc!r} in the pack ({n} documents, numbered from 0)")


def add_parsers(sub: Any) -> None:
    """Add ``gtok decode`` to the subcommands."""
    p = add_command(
        sub,
        "decode",
        summary="print a .gtok file's regions as BED",
        description="""
        Print the universe regions of a .gtok file's ids as BED lines (chrom, start, end)
        on stdout; special tokens are printed by name (<unk>, <pad>, ...). For a pack,
        each document follows a '# NAME' comment line (its number when the pack has no
        names), or --doc picks one (`gtok info --names PACK` lists them).""",
        examples=(
            "gtok decode tokens/sample1.gtok | head",
            "gtok decode cells.gtok --doc AAACGAAAGCGCAATG-1 --ids",
        ),
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument(
        "-u",
        "--universe",
        help="the universe the file was made with (default: the one a pack, or the manifest "
        "of the folder holding the file, records)",
    )
    p.add_argument("--ids", action="store_true", help="add the token id as a 4th column")
    p.add_argument(
        "--doc", metavar="NAME|N", help="(packs) only this document: its name, or its number from 0"
    )
    p.set_defaults(func=run_decode)
