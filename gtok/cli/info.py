"""``gtok info``: a ``.gtok`` file's or pack's header and summary."""

from __future__ import annotations

import argparse
import os
from typing import Any

import numpy as np

from gtok.cli.parsing import add_command
from gtok.cli.progress import say
from gtok.cli.status import EXIT_FAILED, EXIT_OK
from gtok.io.gtokfile import open_gtok

__all__ = ["add_parsers", "run_info"]


def run_info(args: argparse.Namespace) -> int:
    """``gtok info``: its exit code (1 when a file could not be read; the others are
    still shown)."""
    status = EXIT_OK
    for path in args.files:
        try:
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


def add_parsers(sub: Any) -> None:
    """Add ``gtok info`` to the subcommands."""
    p = add_command(
        sub,
        "info",
        summary="show a .gtok file's or pack's header and summary",
        description="""
        Show format version, id width, token count, min/max id and size of .gtok files
        and packs (and a pack's documents, vocabulary size, fingerprint and metadata).""",
        examples=("gtok info cells.gtok",),
    )
    p.add_argument("files", nargs="+", metavar="FILE")
    p.set_defaults(func=run_info)
