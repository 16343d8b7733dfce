"""The ``gtok`` program: the parser of every subcommand, :func:`main` (a command's run,
with Ctrl-C, SIGTERM, a closed pipe and gtok's warnings handled once for all) and
:func:`run`, the console script."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from typing import Any, NoReturn

import gtok.cli.decode as decode
import gtok.cli.info as info
import gtok.cli.pack as pack
import gtok.cli.parquet as parquet
import gtok.cli.singlecell as singlecell
import gtok.cli.tokenize as tokenize
import gtok.cli.verify as verify
from gtok import __version__
from gtok.cli.progress import say
from gtok.cli.status import EXIT_INTERRUPTED, EXIT_OK, EXIT_TERMINATED, EXIT_USAGE
from gtok.errors import GtokWarning

__all__ = ["build_parser", "main", "run", "gtok_warnings_as_lines"]

#: the subcommands, in the order ``gtok --help`` lists them
COMMANDS = (tokenize, pack, info, decode, verify, singlecell, parquet)


class _Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, a job scheduler's time limit), handled as Ctrl-C is."""


def _on_sigterm(signum: int, frame: object) -> None:
    # (while pretokenize runs, its own handler takes SIGTERM and stops the batch cleanly)
    raise _Terminated()


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``gtok`` and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="gtok",
        description="Pre-tokenize genomic region sets (BED) against a universe into .gtok "
        "files, gtars-compatible, fast and safe.",
        epilog="Run 'gtok COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"gtok {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.add_parsers(sub)
    return parser


@contextlib.contextmanager
def gtok_warnings_as_lines() -> Iterator[None]:
    """While it lasts, gtok's warnings (:class:`~gtok.errors.GtokWarning`) print as
    ``gtok: warning: MESSAGE`` lines (above a progress bar), not in Python's
    ``file:line: Category: message`` form; other warnings print as usual. The Python API
    still warns as ever (the ``gtok`` command is what changes how they print)."""
    with warnings.catch_warnings():
        shown = warnings.showwarning

        def show(
            message: Warning | str,
            category: type[Warning],
            filename: str,
            lineno: int,
            file: Any = None,
            line: str | None = None,
        ) -> None:
            if issubclass(category, GtokWarning):
                say(f"gtok: warning: {message}")
            else:
                shown(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        yield


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``gtok ARGV`` (default: the program's arguments); its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    # SIGTERM stops a run as Ctrl-C does: workers finish their file, the manifest is
    # written, exit 143 (workers reset it to the default: see gtok.batch.engine)
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        with gtok_warnings_as_lines():
            return args.func(args)
    except _Terminated:
        print("gtok: terminated", file=sys.stderr)
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        print("gtok: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `gtok info FILE | head -1`: the reader has what it wanted; what is left in the
        # buffer goes nowhere, silently (no traceback, no error at exit)
        _discard_stdout()
        return EXIT_OK
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _discard_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real stdout (tests, embedding)
        pass


def run() -> NoReturn:
    """The ``gtok`` program: :func:`main`, then a quick exit.

    When a command has returned, its files are closed (outputs renamed into place, the
    manifest written) and its worker processes joined; what the interpreter would do next --
    tear down NumPy and every module, ~20 ms -- changes nothing. So the process flushes its
    output and ends with ``os._exit``. (An exception, ``--help`` or a usage error leaves
    through the normal exit. Tools that save their data in ``atexit`` handlers, such as
    ``coverage`` measuring subprocesses, need their own ``os._exit`` support.)
    """
    status = main()
    for stream in (sys.stdout, sys.stderr):
        if stream is None:  # started with that descriptor closed (`gtok ... >&-`)
            continue
        try:
            stream.flush()
        except BrokenPipeError:  # `gtok decode ... | head` closed the pipe: nothing to say
            pass
        except ValueError:  # closed already (decode closes stderr after a broken pipe)
            pass
        except OSError:  # e.g. the disk holding a redirected output is full
            status = status or 1
    os._exit(status)
