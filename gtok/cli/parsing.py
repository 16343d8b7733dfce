"""What the commands' parsers share: help texts wrapped to the terminal with their examples
kept as written, and the argument types.

argparse wraps each option's help to the terminal by itself; a subcommand's description
and epilog are wrapped too unless a raw formatter keeps them as written, which the examples
need (an indented command line must not be joined with the next). So
:func:`add_command` wraps the description itself, paragraph by paragraph, to the width
argparse uses, and keeps the examples as they are, under a raw formatter.
"""

from __future__ import annotations

import argparse
import shutil
import textwrap
from collections.abc import Sequence
from typing import Any

__all__ = ["add_command", "add_quiet", "help_width", "shard", "count"]


def help_width() -> int:
    """The width argparse wraps help to: the terminal's (``$COLUMNS`` when set) less 2."""
    return max(shutil.get_terminal_size().columns - 2, 20)


def add_command(
    sub: Any, name: str, *, summary: str, description: str, examples: Sequence[str] = ()
) -> argparse.ArgumentParser:
    """Add the subcommand ``name`` to ``sub`` (argparse's subparsers).

    Parameters
    ----------
    sub
        What ``ArgumentParser.add_subparsers`` returned.
    name : str
        The command (``"tokenize"``).
    summary : str
        Its line in ``gtok --help``.
    description : str
        Its ``--help`` text: paragraphs separated by blank lines, each wrapped to the
        terminal.
    examples : sequence of str
        Command lines shown after the options, each as written (a continued command's
        next line starts with spaces).

    Returns
    -------
    argparse.ArgumentParser
        The subcommand's parser.
    """
    width = help_width()
    paragraphs = [" ".join(p.split()) for p in description.strip().split("\n\n")]
    epilog = None
    if examples:
        epilog = ("examples:\n" if len(examples) > 1 else "example:\n") + "\n".join(
            "  " + line for line in examples
        )
    return sub.add_parser(
        name,
        help=summary,
        description="\n\n".join(textwrap.fill(p, width) for p in paragraphs),
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def add_quiet(parser: Any, what: str = "print nothing but errors") -> None:
    """The ``-q/--quiet`` option, on a parser or an argument group."""
    parser.add_argument("-q", "--quiet", action="store_true", help=what)


def shard(text: str) -> tuple[int, int]:
    """``--shard K/N``: part K of N."""
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected K/N such as 1/4, not {text!r}") from None
    if not 1 <= k <= n:
        raise argparse.ArgumentTypeError(f"shard {text}: need 1 <= K <= N")
    return k, n


def count(text: str) -> int:
    """A non-negative integer option (``--min-fragments N``)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, not {text!r}")
    return value
