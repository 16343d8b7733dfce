"""``gtok info``: a ``.gtok`` file's or pack's header and summary; with ``--names``, the
documents of each, one a line.

``--names`` is an option of ``info`` rather than a command of its own: it is information
about a file, next to the ``names: yes`` that ``gtok info PACK`` prints, and the numbers
and names it lists are what ``gtok decode --doc`` takes. Its lines are tab-separated:
the document's number (from 0), its name (empty when the pack stores none; a tab, newline
or backslash in a name is written ``\\t``, ``\\n``, ``\\\\``) and its token count; with
more than one FILE each line starts with the file's path (as ``grep`` does). A version-1
``.gtok`` file is one document without a name.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np

from gtok.cli.parsing import add_command
from gtok.cli.progress import say
from gtok.cli.status import EXIT_FAILED, EXIT_OK
from gtok.io.gtokfile import open_gtok

__all__ = ["add_parsers", "run_info", "name_lines"]

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def run_info(args: argparse.Namespace) -> int:
    """``gtok info``: its exit code (1 when a file could not be read; the others are
    still shown)."""
    status = EXIT_OK
    for path in args.files:
        try:
            if args.names:
                _print_names(path, prefix=f"{path}\t" if len(args.files) > 1 else "")
                continue
            fields = _fields(path)
        except BrokenPipeError:
            raise  # (the reader went away: see gtok.cli.program.main)
        except (OSError, ValueError) as exc:
            say(f"gtok info: {exc}")
            status = EXIT_FAILED
            continue
        key_width = max(8, max(len(key) for key, _ in fields) + 1)
        for key, value in fields:
            print(f"{key + ':':<{key_width}} {value}")
        if len(args.files) > 1:
            print()
    return status


def _fields(path: str) -> list[tuple[str, str]]:
    from gtok.io.pack import GtokPack  # (loaded by open_gtok for a pack anyway)

    with open_gtok(path) as f:
        if isinstance(f, GtokPack):
            return _pack_fields(path, f)
        ids = f.tokens
        fields = [
            ("file", path),
            ("format", f"gtok v{f.version} (gtars-compatible)"),
            ("width", f"{f.dtype.itemsize * 8}-bit ({f.dtype.name})"),
            ("tokens", f"{f.n_tokens}"),
            ("min id", f"{int(ids.min())}" if len(ids) else "None"),
            ("max id", f"{int(ids.max())}" if len(ids) else "None"),
            ("bytes", f"{os.path.getsize(path)}"),
        ]
        del ids  # (no view may outlive the file's mapping)
        return fields


def _pack_fields(path: str, pack: Any) -> list[tuple[str, str]]:
    ids = pack.tokens
    lengths = pack.lengths()
    fields = [
        ("file", path),
        ("format", f"gtok pack v{pack.version}"),
        ("width", f"{pack.dtype.itemsize * 8}-bit ({pack.dtype.name})"),
        ("documents", f"{pack.n_docs}"),
        ("tokens", f"{pack.n_tokens}"),
        (
            "doc length",
            (
                f"min {int(lengths.min())}, median {float(np.median(lengths)):g}, "
                f"max {int(lengths.max())}"
            )
            if len(lengths)
            else "-",
        ),
        ("min id", f"{int(ids.min())}" if len(ids) else "None"),
        ("max id", f"{int(ids.max())}" if len(ids) else "None"),
        ("vocab size", f"{pack.vocab_size}"),
        ("fingerprint", f"{pack.fingerprint}"),
        ("names", "yes" if pack.names is not None else "no"),
        ("metadata", ", ".join(sorted(pack.metadata)) or "-"),
        ("bytes", f"{os.path.getsize(path)}"),
    ]
    del ids
    return fields


def name_lines(names: list[str] | None, lengths: Any, prefix: str = "") -> Iterator[str]:
    """The ``--names`` lines of a file's documents (see the module's docstring).

    >>> list(name_lines(["a", "b\\tc"], [3, 0]))
    ['0\\ta\\t3\\n', '1\\tb\\\\tc\\t0\\n']
    """
    for i, n in enumerate(np.asarray(lengths).tolist()):
        name = names[i].translate(_ESCAPES) if names is not None else ""
        yield f"{prefix}{i}\t{name}\t{n}\n"


def _print_names(path: str, prefix: str) -> None:
    from gtok.io.pack import GtokPack

    with open_gtok(path) as f:
        if isinstance(f, GtokPack):
            names, lengths = f.names, f.lengths()
        else:
            names, lengths = None, np.array([f.n_tokens])
    out = sys.stdout
    chunk: list[str] = []
    for line in name_lines(names, lengths, prefix):
        chunk.append(line)
        if len(chunk) == 8192:
            out.write("".join(chunk))
            chunk.clear()
    out.write("".join(chunk))


def add_parsers(sub: Any) -> None:
    """Add ``gtok info`` to the subcommands."""
    p = add_command(
        sub,
        "info",
        summary="show a .gtok file's or pack's header and summary, or its document names",
        description="""
        Show format version, id width, token count, min/max id and size of .gtok files
        and packs (and a pack's documents, vocabulary size, fingerprint and metadata).

        With --names: list each file's documents instead, one a line, tab-separated: the
        number (from 0, as `gtok decode --doc` takes it), the name (empty when the pack
        stores none) and the token count; with several files each line starts with the
        file's path.""",
        examples=(
            "gtok info cells.gtok",
            "gtok info --names cells.gtok | head",
            "gtok info --names cells.gtok | sort -t$'\\t' -k3,3nr | head  # the longest",
        ),
    )
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument(
        "--names",
        action="store_true",
        help="list the documents: number, name and token count, tab-separated",
    )
    p.set_defaults(func=run_info)
