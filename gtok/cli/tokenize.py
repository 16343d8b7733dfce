"""``gtok tokenize``: region files into a ``.gtok`` file each under an output folder
(parallel, resumable, a manifest), or into one pack (``--pack``)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

from gtok.batch.run import FileResult, pretokenize
from gtok.cli.hints import swap_warning, unknown_chromosomes_warning
from gtok.cli.parsing import add_command, add_quiet, shard
from gtok.cli.progress import ProgressBar, say, wanted
from gtok.cli.status import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TERMINATED,
    EXIT_USAGE,
    status_of,
)
from gtok.errors import FingerprintMismatchError, GtokError

__all__ = ["add_parsers", "run_tokenize", "BatchProgress", "report_batch"]

USAGE = "usage: gtok tokenize UNIVERSE INPUT... -o OUTDIR"


def run_tokenize(args: argparse.Namespace) -> int:
    """``gtok tokenize``: its exit code."""
    chosen = _inputs(args)
    if isinstance(chosen, int):
        return chosen
    universe, inputs = chosen
    if os.path.isdir(universe):
        say(f"gtok tokenize: the universe, the first argument, is a folder ({universe}); {USAGE}")
        return EXIT_USAGE
    if args.pack:
        if args.resume or args.overwrite or args.shard or args.output:
            say(
                "gtok tokenize: --pack writes one pack in one run; -o, --resume, --overwrite "
                "and --shard are for per-file outputs"
            )
            return EXIT_USAGE
        return _tokenize_to_pack(args, universe, inputs)
    return _tokenize_to_files(args, universe, inputs)


def _inputs(args: argparse.Namespace) -> tuple[str, list[str]] | int:
    """The universe and inputs ``gtok tokenize`` was given (the bundled example's with
    ``--example``, which also sets the output folder), or the exit code of a usage error."""
    if args.example:
        from gtok.example import SAMPLES, example_path

        if args.universe is not None or args.inputs or args.output is not None:
            out = args.output or args.universe
            if args.inputs or (args.output and args.universe):
                say("gtok tokenize --example takes only an output folder")
                return EXIT_USAGE
        else:
            out = "gtok-example"
        args.output = out
        return example_path("universe.bed"), [example_path(name) for name in SAMPLES]
    if (
        args.universe is None
        or (args.output is None and args.pack is None)
        or not (args.inputs or args.from_file)
    ):
        say(
            "gtok tokenize: needs UNIVERSE, at least one INPUT (or --from-file) and "
            "-o OUTDIR or --pack FILE (see gtok tokenize --help)"
        )
        return EXIT_USAGE
    return args.universe, args.inputs


class BatchProgress:
    """``pretokenize``'s progress callback for the command: the bar (files, and regions/s),
    a line above it per failed input, and with ``--verbose`` a line per input."""

    def __init__(self, bar: ProgressBar, verbose: bool) -> None:
        self.bar = bar
        self.verbose = verbose
        self.regions = 0

    def __call__(self, result: FileResult, done: int, total: int) -> None:
        if result.status == "ok":
            self.regions += result.regions
        if result.status == "error":
            self.bar.say(f"gtok: {result.input}: {result.error}")
        elif self.verbose:
            self.bar.say(
                f"{result.status}: {result.input} -> {result.output} "
                f"({result.regions} regions, {result.tokens} tokens)"
            )
        # one input a call: a resumed run's first call counts the inputs done before it
        self.bar.update(done, total, extra=self.regions, already=done - 1)


def _tokenize_to_files(args: argparse.Namespace, universe: str, inputs: list[str]) -> int:
    show = wanted(sys.stderr, args.quiet)
    try:
        with ProgressBar("files", extra="regions", show=show) as bar:
            summary = pretokenize(
                universe,
                inputs,
                args.output,
                jobs=args.jobs,
                resume=args.resume,
                overwrite=args.overwrite,
                fail_fast=args.fail_fast,
                shard=args.shard,
                patterns=args.glob or None,
                from_file=args.from_file,
                keep_order=args.keep_order,
                unk=args.unk,
                skip_bad_lines=args.skip_bad_lines,
                progress=BatchProgress(bar, args.verbose),
                engine=args.engine,
                address=args.address,
            )
    except FingerprintMismatchError as exc:  # --resume into another universe's folder
        say(
            f"gtok tokenize: {exc}; --resume would replace its outputs: add --overwrite to "
            "redo every input with this universe, or write to another folder (-o)"
        )
        return EXIT_USAGE
    except (FileNotFoundError, IsADirectoryError, ValueError, ImportError) as exc:
        # an input or universe not there, an option value refused, the Dask or Ray engine
        # not installed: usage errors; a universe whose content is not valid: a failure
        say(f"gtok tokenize: {exc}")
        return EXIT_FAILED if isinstance(exc, GtokError) else EXIT_USAGE
    except OSError as exc:  # the output folder is a file, not writable, the disk is full...
        say(f"gtok tokenize: {exc}")
        return EXIT_FAILED
    warnings = [unknown_chromosomes_warning(summary, universe)]
    if not summary.interrupted:
        warnings.append(swap_warning(universe, summary, skip_bad_lines=args.skip_bad_lines))
    return report_batch(summary, args.quiet, [w for w in warnings if w])


def report_batch(summary: Any, quiet: bool, warnings: Sequence[str] = ()) -> int:
    """Print a batch run's summary, ``warnings`` and hints; its exit code."""
    for line in summary.left_out[:10]:
        say(f"gtok: left out {line}")
    if len(summary.left_out) > 10:
        say(f"gtok: ... and {len(summary.left_out) - 10} more left out")
    if not quiet:
        say(
            f"gtok: {summary.n_ok} tokenized, {summary.n_skipped} already done, "
            f"{summary.n_failed} failed, {summary.n_pending} not done; "
            f"{summary.regions:,} regions in {summary.seconds:.2f} s; "
            f"manifest {summary.manifest}"
        )
    for warning in warnings:
        say(f"gtok: warning: {warning}")
    died = [r for r in summary.results if r.status == "pending" and r.error]
    if died:  # workers kept dying before they finished an input (see gtok.batch.engine)
        say(f"gtok: {died[0].error}")
    elif summary.n_failed and not summary.interrupted:
        say(
            f"gtok: {summary.n_failed} input(s) failed (the manifest says why); a rerun "
            "with --resume retries them and skips what is done"
        )
    if summary.interrupted:
        term = summary.stopped_by_signal == signal.SIGTERM
        how = "terminated (SIGTERM)" if term else "interrupted"
        say(f"gtok: {how}; rerun with --resume to finish")
        return EXIT_TERMINATED if term else EXIT_INTERRUPTED
    return EXIT_OK if summary.ok else EXIT_FAILED


def _tokenize_to_pack(args: argparse.Namespace, universe: str, inputs: list[str]) -> int:
    from gtok.batch.packing import tokenize_to_pack

    show = wanted(sys.stderr, args.quiet)
    try:
        with ProgressBar("files", show=show) as bar:
            summary = tokenize_to_pack(
                universe,
                inputs,
                args.pack,
                jobs=args.jobs,
                patterns=args.glob or None,
                from_file=args.from_file,
                keep_order=args.keep_order,
                unk=args.unk,
                skip_bad_lines=args.skip_bad_lines,
                fail_fast=args.fail_fast,
                progress=lambda path, done, total: bar.update(done, total),
                engine=args.engine,
                address=args.address,
            )
    except (OSError, ValueError, RuntimeError, ImportError) as exc:
        say(f"gtok tokenize: {exc}")
        return status_of(exc)
    for path, error in summary.failed:
        say(f"gtok: {path}: {error}")
    if not args.quiet:
        say(
            f"gtok: {summary.n_docs} documents, {summary.n_tokens:,} tokens -> {summary.path}"
            f"; {len(summary.failed)} failed"
        )
    return EXIT_OK if summary.ok else EXIT_FAILED


def add_parsers(sub: Any) -> None:
    """Add ``gtok tokenize`` to the subcommands."""
    p = add_command(
        sub,
        "tokenize",
        summary="tokenize BED files into .gtok files (parallel, resumable)",
        description="""
        Tokenize region files (BED, BED.gz, narrowPeak, ...) against UNIVERSE into .gtok
        files under OUTDIR, mirroring each input's path relative to its folder (or pattern
        root). Writes are atomic; a manifest (gtok-manifest.json) records the universe
        fingerprint, the settings and every input's outcome.

        The universe comes first. A run of one input whose universe looks like a sample
        of it (universe and input swapped) ends with a warning saying so.""",
        examples=(
            "gtok tokenize universe.bed peaks/ -o tokens/ -j 8",
            "gtok tokenize universe.bed 'data/**/*.bed.gz' -o tokens/ --resume",
            "gtok tokenize universe.bed --from-file list.txt -o tokens/ --shard 3/10",
            "gtok tokenize universe.bed peaks/ --pack peaks.gtok",
            "gtok tokenize --example out/",
        ),
    )
    _add_what_options(p.add_argument_group("what to tokenize, and where to"))
    _add_how_options(p.add_argument_group("how regions become tokens"))
    _add_run_options(p.add_argument_group("how the run goes"))
    said = p.add_argument_group("what it prints")
    add_quiet(said, "print nothing but errors and warnings (and no progress bar)")
    said.add_argument("-v", "--verbose", action="store_true", help="print a line per input")
    p.set_defaults(func=run_tokenize)


def _add_what_options(group: Any) -> None:
    group.add_argument(
        "universe",
        nargs="?",
        metavar="UNIVERSE",
        help="universe BED (plain or gzip) or gtars TOML config",
    )
    group.add_argument(
        "inputs",
        nargs="*",
        metavar="INPUT",
        help="files, folders (searched recursively) or glob patterns",
    )
    group.add_argument("-o", "--output", metavar="OUTDIR", help="output folder")
    group.add_argument(
        "--pack",
        metavar="FILE",
        help="write one pack FILE (a document per input, named by its path) "
        "instead of a .gtok file per input",
    )
    group.add_argument("--from-file", metavar="LIST", help="read input paths from LIST, one a line")
    group.add_argument(
        "--glob",
        action="append",
        metavar="PATTERN",
        help="file-name pattern for folder searches (repeatable; default: *.bed, "
        "*.narrowPeak, *.broadPeak, ... and their .gz)",
    )
    group.add_argument(
        "--example",
        action="store_true",
        help="tokenize the bundled example (OUTDIR defaults to ./gtok-example)",
    )


def _add_how_options(group: Any) -> None:
    group.add_argument(
        "--keep-order",
        action="store_true",
        help="keep each file's region order (default: gtars' order, sorted by "
        "chromosome name then start)",
    )
    group.add_argument(
        "--unk",
        choices=("whole", "per_region"),
        default="whole",
        help="'whole': [<unk>] only for a file without any hit (gtars 0.10, the "
        "default); 'per_region': one <unk> per region without a hit",
    )
    group.add_argument(
        "--skip-bad-lines",
        action="store_true",
        help="skip malformed lines (counted in the manifest) instead of failing",
    )


def _add_run_options(group: Any) -> None:
    group.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=None,
        help="worker processes (default: the cores available); with --engine dask and no "
        "--address, the workers of a local Dask cluster",
    )
    group.add_argument(
        "--engine",
        choices=("local", "dask", "ray"),
        default="local",
        help="where the inputs are tokenized: this machine's processes (local, the default), "
        "a Dask cluster (dask; needs gtok[dask]) or a Ray cluster (ray; needs gtok[ray]); on "
        "a cluster the workers must see the inputs and the output folder at the same paths "
        "(a shared file system)",
    )
    group.add_argument(
        "--address",
        metavar="ADDR",
        help="with --engine dask: the scheduler (tcp://HOST:PORT) or its scheduler file "
        "(as dask-jobqueue or `dask scheduler --scheduler-file` write); with --engine ray: "
        "the cluster (HOST:PORT, or auto); default: a local cluster of --jobs workers",
    )
    group.add_argument(
        "--resume",
        action="store_true",
        help="skip inputs done by an earlier run with the same universe and settings (an "
        "earlier run with another universe stops it, unless --overwrite)",
    )
    group.add_argument(
        "--overwrite",
        action="store_true",
        help="with --resume: redo an earlier run made with another universe, replacing its outputs",
    )
    group.add_argument(
        "--shard",
        type=shard,
        metavar="K/N",
        help="do only part K of N of the sorted inputs (for cluster array jobs)",
    )
    group.add_argument("--fail-fast", action="store_true", help="stop at the first failing input")
