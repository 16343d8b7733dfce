"""The ``gtok`` command line: ``tokenize``, ``pack``, ``info``, ``decode``, ``verify``,
``fragments``, ``anndata`` and ``parquet``.

Each subcommand is a thin layer over the Python API; ``gtok SUBCOMMAND --help`` documents
it. Exit codes: 0 success, 1 some input failed or a check found a problem, 2 bad usage,
130 interrupted (Ctrl-C), 143 terminated (SIGTERM, handled as Ctrl-C is).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

# The command does no linear algebra: one OpenBLAS thread (unless the user says otherwise)
# saves ~60 ms of start-up and keeps a spare core free for the work. It must be set before
# NumPy loads, so only a fresh ``gtok`` process (not a program importing this module) sets it.
if "numpy" not in sys.modules:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

from gtok import __version__
from gtok.batch.run import FileResult, pretokenize
from gtok.errors import GtokError
from gtok.io.gtokfile import open_gtok

if TYPE_CHECKING:
    from gtok.io.pack import GtokPack

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_TERMINATED = 128 + signal.SIGTERM  # 143


class _Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, a job scheduler's time limit), handled as Ctrl-C is."""


def _on_sigterm(signum: int, frame: object) -> None:
    # (while pretokenize runs, its own handler takes SIGTERM and stops the batch cleanly)
    raise _Terminated()


class Progress:
    """A one-line progress display on a terminal: files, regions/s and ETA."""

    def __init__(self, total: int, stream: TextIO, enabled: bool, verbose: bool) -> None:
        self.total = total
        self.stream = stream
        self.enabled = enabled
        self.verbose = verbose
        self.start = time.monotonic()
        self.regions = 0
        self.last_draw = 0.0

    def __call__(self, result: FileResult, done: int, total: int) -> None:
        if result.status == "ok":
            self.regions += result.regions
        if self.verbose or result.status == "error":
            self._clear()
            if result.status == "error":
                print(f"gtok: {result.input}: {result.error}", file=self.stream)
            else:
                print(
                    f"{result.status}: {result.input} -> {result.output} "
                    f"({result.regions} regions, {result.tokens} tokens)",
                    file=self.stream,
                )
        now = time.monotonic()
        if self.enabled and (now - self.last_draw > 0.1 or done == total):
            self.last_draw = now
            elapsed = max(now - self.start, 1e-9)
            rate = self.regions / elapsed
            eta = (elapsed / done) * (total - done) if done else 0.0
            line = (
                f"[{done}/{total}] {100 * done / max(total, 1):5.1f}%  "
                f"{rate / 1e6:.2f} M regions/s  ETA {int(eta) // 60}:{int(eta) % 60:02d}"
            )
            self.stream.write("\r" + line[:79].ljust(79))
            self.stream.flush()

    def _clear(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * 79 + "\r")

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def _shard(text: str) -> tuple[int, int]:
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected K/N such as 1/4, not {text!r}") from None
    if not 1 <= k <= n:
        raise argparse.ArgumentTypeError(f"shard {text}: need 1 <= K <= N")
    return k, n


def _cmd_tokenize(args: argparse.Namespace) -> int:
    chosen = _tokenize_inputs(args)
    if isinstance(chosen, int):
        return chosen
    universe, inputs = chosen
    if os.path.isdir(universe):
        print(
            f"gtok tokenize: the universe, the first argument, is a folder ({universe}); "
            "usage: gtok tokenize UNIVERSE INPUT... -o OUTDIR",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.pack:
        if args.resume or args.shard or args.output:
            print(
                "gtok tokenize: --pack writes one pack in one run; -o, --resume and "
                "--shard are for per-file outputs",
                file=sys.stderr,
            )
            return EXIT_USAGE
        return _tokenize_to_pack(args, universe, inputs)
    stream = sys.stderr
    show = stream.isatty() and not args.quiet
    display: dict[str, Progress] = {}

    def progress_cb(result: FileResult, done: int, total: int) -> None:
        if "p" not in display:
            display["p"] = Progress(total, stream, show, args.verbose)
        display["p"](result, done, total)

    try:
        summary = pretokenize(
            universe,
            inputs,
            args.output,
            jobs=args.jobs,
            resume=args.resume,
            fail_fast=args.fail_fast,
            shard=args.shard,
            patterns=args.glob or None,
            from_file=args.from_file,
            keep_order=args.keep_order,
            unk=args.unk,
            skip_bad_lines=args.skip_bad_lines,
            progress=progress_cb,
            engine=args.engine,
            address=args.address,
        )
    except ImportError as exc:  # the Dask engine without dask installed
        print(f"gtok tokenize: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (FileNotFoundError, IsADirectoryError, ValueError) as exc:
        print(f"gtok tokenize: {exc}", file=sys.stderr)
        return EXIT_FAILED if isinstance(exc, GtokError) else EXIT_USAGE
    except OSError as exc:  # the output folder is a file, not writable, the disk is full...
        print(f"gtok tokenize: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if "p" in display:
        display["p"].close()
    return _report_batch(summary, args.quiet, stream)


def _tokenize_inputs(args: argparse.Namespace) -> tuple[str, list[str]] | int:
    """The universe and inputs ``gtok tokenize`` was given (the bundled example's with
    ``--example``, which also sets the output folder), or the exit status of a usage error."""
    if args.example:
        from gtok.example import SAMPLES, example_path

        if args.universe is not None or args.inputs or args.output is not None:
            out = args.output or args.universe
            if args.inputs or (args.output and args.universe):
                print("gtok tokenize --example takes only an output folder", file=sys.stderr)
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
        print(
            "gtok tokenize: needs UNIVERSE, at least one INPUT (or --from-file) and "
            "-o OUTDIR or --pack FILE (see gtok tokenize --help)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    return args.universe, args.inputs


#: above this share of regions on chromosomes the universe lacks, the run says so
_UNKNOWN_SHARE = 0.5


def _warn_unknown_chromosomes(summary: Any, stream: TextIO) -> None:
    """Most regions on chromosomes the universe lacks: another genome's universe?"""
    done = [r for r in summary.results if r.status == "ok"]
    regions = sum(r.regions for r in done)
    unknown = sum(r.unknown_chrom_regions for r in done)
    if regions and unknown / regions > _UNKNOWN_SHARE:
        print(
            f"gtok: warning: {100 * unknown / regions:.0f} % of the regions lie on "
            "chromosomes the universe lacks (they get <unk>): is it the universe of the "
            "inputs' genome and naming (chr1 or 1)?",
            file=stream,
        )


def _report_batch(summary: Any, quiet: bool, stream: TextIO) -> int:
    """Print a batch run's summary and hints; its exit status."""
    for line in summary.left_out[:10]:
        print(f"gtok: left out {line}", file=stream)
    if len(summary.left_out) > 10:
        print(f"gtok: ... and {len(summary.left_out) - 10} more left out", file=stream)
    if not quiet:
        print(
            f"gtok: {summary.n_ok} tokenized, {summary.n_skipped} already done, "
            f"{summary.n_failed} failed, {summary.n_pending} not done; "
            f"{summary.regions:,} regions in {summary.seconds:.2f} s; "
            f"manifest {summary.manifest}",
            file=stream,
        )
    _warn_unknown_chromosomes(summary, stream)
    died = [r for r in summary.results if r.status == "pending" and r.error]
    if died:  # workers kept dying before they finished an input (see gtok.batch.engine)
        print(f"gtok: {died[0].error}", file=stream)
    elif summary.n_failed and not summary.interrupted:
        print(
            f"gtok: {summary.n_failed} input(s) failed (the manifest says why); a rerun "
            "with --resume retries them and skips what is done",
            file=stream,
        )
    if summary.interrupted:
        term = summary.stopped_by_signal == signal.SIGTERM
        how = "terminated (SIGTERM)" if term else "interrupted"
        print(f"gtok: {how}; rerun with --resume to finish", file=stream)
        return EXIT_TERMINATED if term else EXIT_INTERRUPTED
    return EXIT_OK if summary.ok else EXIT_FAILED


def _cmd_info(args: argparse.Namespace) -> int:
    from gtok.io.pack import GtokPack  # loaded by open_gtok for a pack anyway

    status = EXIT_OK
    for path in args.files:
        try:
            with open_gtok(path) as f:
                if isinstance(f, GtokPack):
                    fields = _pack_fields(path, f)
                    for key, value in fields:
                        print(f"{key + ':':<12} {value}")
                    if len(args.files) > 1:
                        print()
                    continue
                ids = f.tokens
                lo = int(ids.min()) if len(ids) else None
                hi = int(ids.max()) if len(ids) else None
                fields = [
                    ("file", path),
                    ("format", f"gtok v{f.version} (gtars-compatible)"),
                    ("width", f"{f.dtype.itemsize * 8}-bit ({f.dtype.name})"),
                    ("tokens", f"{f.n_tokens}"),
                    ("min id", f"{lo}"),
                    ("max id", f"{hi}"),
                    ("bytes", f"{os.path.getsize(path)}"),
                ]
                del ids
        except BrokenPipeError:
            raise  # (the reader went away: see main)
        except (OSError, ValueError) as exc:
            print(f"gtok info: {exc}", file=sys.stderr)
            status = EXIT_FAILED
            continue
        for key, value in fields:
            print(f"{key + ':':<8} {value}")
        if len(args.files) > 1:
            print()
    return status


def _pack_fields(path: str, pack: GtokPack) -> list[tuple[str, str]]:
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


def _cmd_pack(args: argparse.Namespace) -> int:
    from gtok.batch.packing import pack_gtok_files
    from gtok.tokenizer import Tokenizer

    if os.path.isdir(args.output):
        print(
            f"gtok pack: the pack to write, the first argument, is a folder ({args.output}); "
            "usage: gtok pack OUT.gtok INPUT...",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        tok = Tokenizer(args.universe) if args.universe else None
        summary = pack_gtok_files(args.inputs, args.output, tokenizer=tok, from_file=args.from_file)
    except (OSError, ValueError) as exc:
        print(f"gtok pack: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if not args.quiet:
        print(
            f"gtok pack: {summary.n_docs} documents, {summary.n_tokens:,} tokens -> {summary.path}",
            file=sys.stderr,
        )
    return EXIT_OK


def _tokenize_to_pack(args: argparse.Namespace, universe: str, inputs: list[str]) -> int:
    from gtok.batch.packing import tokenize_to_pack

    stream = sys.stderr
    show = stream.isatty() and not args.quiet
    start = time.monotonic()

    def progress(path: str, done: int, total: int) -> None:
        if show:
            rate = done / max(time.monotonic() - start, 1e-9)
            stream.write(f"\r[{done}/{total}] {100 * done / total:5.1f}%  {rate:.1f} files/s")
            stream.flush()

    try:
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
            progress=progress,
            engine=args.engine,
            address=args.address,
        )
    except ImportError as exc:  # the Dask engine without dask installed
        print(f"gtok tokenize: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (OSError, ValueError, RuntimeError) as exc:
        print(f"\ngtok tokenize: {exc}" if show else f"gtok tokenize: {exc}", file=stream)
        return EXIT_FAILED
    if show:
        stream.write("\n")
    for path, error in summary.failed:
        print(f"gtok: {path}: {error}", file=stream)
    if not args.quiet:
        print(
            f"gtok: {summary.n_docs} documents, {summary.n_tokens:,} tokens -> {summary.path}"
            f"; {len(summary.failed)} failed",
            file=stream,
        )
    return EXIT_OK if summary.ok else EXIT_FAILED


def _recorded_universe(target: str) -> tuple[str, str] | None:
    """The universe (path, fingerprint) ``target`` records: a pack's metadata; for a file,
    the manifest that lists it as an output (in its folder or one of the ten above); for a
    folder, its own manifest. None when nothing records one."""
    from gtok.io.manifest import load_manifest
    from gtok.io.pack import GtokPack

    if os.path.isfile(target):
        with open_gtok(target) as f:
            if isinstance(f, GtokPack):
                recorded = (f.metadata.get("tokenizer") or {}).get("universe")
                return (recorded, f.fingerprint) if recorded and f.fingerprint else None
    is_folder = os.path.isdir(target)
    folder = os.path.abspath(target if is_folder else os.path.dirname(target))
    for _ in range(1 if is_folder else 10):
        names = sorted(n for n in os.listdir(folder) if n.startswith("gtok-manifest"))
        for name in names:
            m = load_manifest(os.path.join(folder, name))
            universe = m.get("universe") or {}
            mine = os.path.relpath(os.path.abspath(target), folder)
            listed = is_folder or any(e.get("output") == mine for e in m.get("files", []))
            if listed and universe.get("path") and universe.get("fingerprint"):
                return universe["path"], universe["fingerprint"]
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    return None


def _universe_for(args: argparse.Namespace, target: str) -> Any:
    """``-u``'s tokenizer, or the one ``target`` records (checked by its fingerprint)."""
    from gtok.tokenizer import Tokenizer

    if args.universe:
        return Tokenizer(args.universe)
    recorded = _recorded_universe(target)
    if recorded is None:
        raise ValueError(f"{target}: no universe recorded with it; name one with -u UNIVERSE")
    path, fingerprint = recorded
    if not os.path.exists(path):
        raise ValueError(
            f"{target} was made with the universe {path}, which is not there any more; "
            "name it with -u UNIVERSE"
        )
    tok = Tokenizer(path)
    if tok.fingerprint != fingerprint:
        raise ValueError(
            f"{target} was made with the universe {path}, which has changed since "
            f"(fingerprint {tok.fingerprint[:12]}..., recorded {fingerprint[:12]}...); "
            "name the one it was made with with -u UNIVERSE"
        )
    return tok


def _cmd_decode(args: argparse.Namespace) -> int:
    from gtok.io.pack import GtokPack

    try:
        tok = _universe_for(args, args.file)
        docs: list[tuple[str | None, np.ndarray]]
        with open_gtok(args.file) as f:
            if isinstance(f, GtokPack):
                # a pack: each document after a "# name" comment line, or just one
                names = f.names or [str(i) for i in range(len(f))]
                if args.doc is not None:
                    i = _document_number(args.doc, names, len(f))
                    docs = [(None, np.array(f.doc(i), dtype=np.int64))]
                else:
                    docs = [(names[i], np.array(f.doc(i), dtype=np.int64)) for i in range(len(f))]
            else:
                if args.doc is not None:
                    raise ValueError(f"{args.file}: --doc is for packs; this is a .gtok file")
                docs = [(None, np.array(f.tokens, dtype=np.int64))]
        texts = [tok.decode(ids) for _, ids in docs]  # checks every id first
    except (OSError, ValueError, IndexError) as exc:
        print(f"gtok decode: {exc}", file=sys.stderr)
        return EXIT_FAILED
    out = sys.stdout
    n = tok.universe.n_regions
    try:
        for (name, ids), lines in zip(docs, texts):
            if name is not None:
                out.write(f"# {name}\n")
            for token_id, text in zip(ids.tolist(), lines):
                if token_id < n:
                    chrom, _, span = text.rpartition(":")
                    start, _, end = span.partition("-")
                    out.write(
                        f"{chrom}\t{start}\t{end}\n"
                        if not args.ids
                        else f"{chrom}\t{start}\t{end}\t{token_id}\n"
                    )
                else:
                    out.write(f"{text}\n" if not args.ids else f"{text}\t{token_id}\n")
    except BrokenPipeError:  # `gtok decode ... | head`
        sys.stderr.close()
    return EXIT_OK


def _document_number(doc: str, names: list[str], n: int) -> int:
    """A pack document given by number (0-based) or by name."""
    if doc in names:
        return names.index(doc)
    if doc.lstrip("-").isdigit() and 0 <= int(doc) < n:
        return int(doc)
    raise IndexError(f"no document {doc!r} in the pack ({n} documents, numbered from 0)")


def _cmd_verify(args: argparse.Namespace) -> int:
    from gtok.batch.verify import verify

    try:
        tok = _universe_for(args, args.targets[0])
    except (OSError, ValueError) as exc:
        print(f"gtok verify: {exc}", file=sys.stderr)
        return EXIT_FAILED
    report = verify(args.targets, tok)
    for p in report.problems:
        print(f"gtok verify: {p}", file=sys.stderr)
    if not args.quiet:
        print(
            f"gtok verify: {report.files_checked} file(s) checked, "
            f"{len(report.problems)} problem(s)"
        )
    return EXIT_OK if report.ok else EXIT_FAILED


# ---------------------------------------------------------------------- single-cell, parquet


def _cmd_anndata(args: argparse.Namespace) -> int:
    from gtok.singlecell.matrix import tokenize_anndata
    from gtok.tokenizer import Tokenizer

    stream = sys.stderr
    show = stream.isatty() and not args.quiet
    start = time.monotonic()

    def progress(done: int, total: int) -> None:
        if show:
            rate = done / max(time.monotonic() - start, 1e-9)
            stream.write(
                f"\r[{done}/{total}] {100 * done / max(total, 1):5.1f}%  {rate:,.0f} cells/s"
            )
            stream.flush()

    coords = None
    if args.coords:
        coords = "names" if args.coords == "names" else args.coords.split(",")
    try:
        summary = tokenize_anndata(
            Tokenizer(args.universe),
            args.input,
            args.output,
            layer=args.layer,
            coords=coords,
            unk=args.unk,
            progress=progress,
        )
    except (OSError, ValueError, ImportError) as exc:
        print(f"\ngtok anndata: {exc}" if show else f"gtok anndata: {exc}", file=stream)
        return EXIT_FAILED
    if show:
        stream.write("\n")
    if not args.quiet:
        print(
            f"gtok anndata: {summary.n_cells} cells, {summary.n_tokens:,} tokens -> "
            f"{summary.path} ({summary.n_regions} var regions, "
            f"{summary.n_regions_without_hits} without a hit; {summary.n_unk_cells} cells "
            "without any hit)",
            file=stream,
        )
    return EXIT_OK


def _cmd_parquet(args: argparse.Namespace) -> int:
    from gtok.io import parquet
    from gtok.tokenizer import Tokenizer

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
            if len(args.sources) != 1:
                print("gtok parquet import: takes one parquet file", file=sys.stderr)
                return EXIT_USAGE
            n_docs, n_tokens = parquet.import_parquet(
                args.sources[0], args.output, tokenizer=tok, column=args.column
            )
    except (OSError, ValueError, ImportError) as exc:
        print(f"gtok parquet {args.action}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if not args.quiet:
        print(
            f"gtok parquet {args.action}: {n_docs} documents, {n_tokens:,} tokens -> {args.output}",
            file=sys.stderr,
        )
    return EXIT_OK


def _add_singlecell_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "anndata",
        help="tokenize a cells x regions .h5ad (AnnData) into a pack, a cell a document",
        description="Tokenize every cell of an .h5ad file (AnnData: cells x regions, e.g. "
        "scATAC peaks) against UNIVERSE into one pack FILE: a document per cell "
        "(its non-zero regions' universe ids, as geniml's tokenize_anndata), "
        "named by the obs names. Region coordinates come from var columns "
        "chr/start/end (or chrom, seqnames, chromStart, ...) or from var names "
        "chr:start-end. Needs h5py (pip install 'gtok[singlecell]').",
        epilog="example:\n  gtok anndata universe.bed cells.h5ad -o cells.gtok",
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=_cmd_anndata)

    p = sub.add_parser(
        "parquet",
        help="convert token documents to or from parquet (list<int32> 'tokens')",
        description="export: write the documents of packs, .gtok files or folders of them "
        "(searched recursively) to one parquet FILE with a 'tokens' column "
        "(list<int32>) and a 'name' column. import: write the documents of a "
        "parquet file's token column into a pack. Both stream row groups and "
        "write atomically. Needs pyarrow (pip install 'gtok[singlecell]').",
        epilog="examples:\n  gtok parquet export cells.gtok -o cells.parquet\n"
        "  gtok parquet export tokens/ -o tokens.parquet\n"
        "  gtok parquet import cells.parquet -o cells.gtok -u universe.bed",
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=_cmd_parquet)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gtok",
        description="Pre-tokenize genomic region sets (BED) against a universe into .gtok "
        "files, gtars-compatible, fast and safe.",
        epilog="Run 'gtok COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"gtok {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in (
        _add_tokenize_parser,
        _add_pack_parser,
        _add_file_parsers,
        _add_fragments_parser,
        _add_singlecell_parsers,
    ):
        add(sub)
    return parser


def _add_tokenize_parser(sub: Any) -> None:
    p = sub.add_parser(
        "tokenize",
        help="tokenize BED files into .gtok files (parallel, resumable)",
        description="Tokenize region files (BED, BED.gz, narrowPeak, ...) against UNIVERSE "
        "into .gtok files under OUTDIR, mirroring each input's path relative to "
        "its folder (or pattern root). Writes are atomic; a manifest "
        "(gtok-manifest.json) records the universe fingerprint, the settings and "
        "every input's outcome.",
        epilog="examples:\n  gtok tokenize universe.bed peaks/ -o tokens/ -j 8\n"
        "  gtok tokenize universe.bed 'data/**/*.bed.gz' -o tokens/ --resume\n"
        "  gtok tokenize universe.bed --from-file list.txt -o tokens/ --shard 3/10\n"
        "  gtok tokenize --example out/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "universe",
        nargs="?",
        metavar="UNIVERSE",
        help="universe BED (plain or gzip) or gtars TOML config",
    )
    p.add_argument(
        "inputs",
        nargs="*",
        metavar="INPUT",
        help="files, folders (searched recursively) or glob patterns",
    )
    p.add_argument("-o", "--output", metavar="OUTDIR", help="output folder")
    p.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=None,
        help="worker processes (default: the cores available); with --engine dask and no "
        "--address, the workers of a local Dask cluster",
    )
    p.add_argument(
        "--engine",
        choices=("local", "dask", "ray"),
        default="local",
        help="where the inputs are tokenized: this machine's processes (local, the default), "
        "a Dask cluster (dask; needs gtok[dask]) or a Ray cluster (ray; needs gtok[ray]); on "
        "a cluster the workers must see the inputs and the output folder at the same paths "
        "(a shared file system)",
    )
    p.add_argument(
        "--address",
        metavar="ADDR",
        help="with --engine dask: the scheduler (tcp://HOST:PORT) or its scheduler file "
        "(as dask-jobqueue or `dask scheduler --scheduler-file` write); with --engine ray: "
        "the cluster (HOST:PORT, or auto); default: a local cluster of --jobs workers",
    )
    p.add_argument("--from-file", metavar="LIST", help="read input paths from LIST, one a line")
    p.add_argument(
        "--glob",
        action="append",
        metavar="PATTERN",
        help="file-name pattern for folder searches (repeatable; default: *.bed, "
        "*.narrowPeak, *.broadPeak, ... and their .gz)",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="skip inputs done by an earlier run with the same universe and settings",
    )
    p.add_argument("--fail-fast", action="store_true", help="stop at the first failing input")
    p.add_argument(
        "--shard",
        type=_shard,
        metavar="K/N",
        help="do only part K of N of the sorted inputs (for cluster array jobs)",
    )
    p.add_argument(
        "--keep-order",
        action="store_true",
        help="keep each file's region order (default: gtars' order, sorted by "
        "chromosome name then start)",
    )
    p.add_argument(
        "--unk",
        choices=("whole", "per_region"),
        default="whole",
        help="'whole': [<unk>] only for a file without any hit (gtars 0.10, the "
        "default); 'per_region': one <unk> per region without a hit",
    )
    p.add_argument(
        "--skip-bad-lines",
        action="store_true",
        help="skip malformed lines (counted in the manifest) instead of failing",
    )
    p.add_argument(
        "--pack",
        metavar="FILE",
        help="write one pack FILE (a document per input, named by its path) "
        "instead of a .gtok file per input",
    )
    p.add_argument(
        "--example",
        action="store_true",
        help="tokenize the bundled example (OUTDIR defaults to ./gtok-example)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    p.add_argument("-v", "--verbose", action="store_true", help="print a line per input")
    p.set_defaults(func=_cmd_tokenize)


def _add_pack_parser(sub: Any) -> None:
    p = sub.add_parser(
        "pack",
        help="pack many .gtok files into one pack",
        description="Pack .gtok files (files, folders searched recursively, globs; packs "
        "contribute all their documents) into one pack FILE, a document per "
        "file named by its path without .gtok. With --universe, the pack records "
        "the universe fingerprint and every id is checked against its vocabulary.",
    )
    p.add_argument("output", metavar="FILE", help="the pack to write")
    p.add_argument("inputs", nargs="*", metavar="INPUT", help=".gtok files, folders, globs")
    p.add_argument("-u", "--universe", help="the universe the files were made with")
    p.add_argument("--from-file", metavar="LIST", help="read input paths from LIST")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=_cmd_pack)


def _add_file_parsers(sub: Any) -> None:
    """info, decode and verify: commands that read .gtok files."""
    p = sub.add_parser(
        "info",
        help="show a .gtok file's or pack's header and summary",
        description="Show format version, id width, token count, min/max id "
        "and size of .gtok files.",
    )
    p.add_argument("files", nargs="+", metavar="FILE")
    p.set_defaults(func=_cmd_info)

    p = sub.add_parser(
        "decode",
        help="print a .gtok file's regions as BED",
        description="Print the universe regions of a .gtok file's ids as BED "
        "lines (chrom, start, end) on stdout; special tokens are "
        "printed by name (<unk>, <pad>, ...). For a pack, each "
        "document follows a '# NAME' comment line (its number "
        "when the pack has no names), or --doc picks one.",
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
    p.set_defaults(func=_cmd_decode)

    p = sub.add_parser(
        "verify",
        help="check .gtok files or an output folder against a universe",
        description="Check that .gtok files are complete and valid, that every "
        "id is below the universe's vocab size, and (for a folder) "
        "that its manifests were made with this universe and list "
        "no failed or missing file, that every .gtok file in it is "
        "listed with the size it was written with (after sharded "
        "runs: that every shard ran).",
    )
    p.add_argument("targets", nargs="+", metavar="OUTDIR|FILE")
    p.add_argument(
        "-u",
        "--universe",
        help="the universe to check against (default: the one the first target records: a "
        "pack's, or its folder's manifest's)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="print only problems")
    p.set_defaults(func=_cmd_verify)


# ---------------------------------------------------------------------- gtok fragments


def _cmd_fragments(args: argparse.Namespace) -> int:
    from gtok.singlecell.fragments import tokenize_fragments

    stream = sys.stderr
    show = stream.isatty() and not args.quiet
    start = last = time.monotonic()

    def progress(done: int, total: int, fragments: int) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last < 0.1:
            return
        last = now
        rate = fragments / max(now - start, 1e-9)
        where = (
            f"{done / 1e6:,.0f}/{total / 1e6:,.0f} MB {100 * done / total:5.1f}%"
            if total
            else f"{done / 1e6:,.0f} MB"
        )
        line = f"{where}  {fragments:,} fragments  {rate / 1e6:.2f} M fragments/s"
        stream.write("\r" + line[:79].ljust(79))
        stream.flush()

    try:
        summary = tokenize_fragments(
            args.universe,
            args.fragments,
            args.output,
            barcodes=args.barcodes,
            min_fragments=args.min_fragments,
            min_tokens=args.min_tokens,
            unique=args.unique,
            skip_bad_lines=args.skip_bad_lines,
            progress=progress if show else None,
        )
    except (OSError, ValueError, MemoryError) as exc:
        if show:
            stream.write("\n")
        print(f"gtok fragments: {exc}", file=stream)
        return EXIT_FAILED
    if show:
        stream.write("\n")
    if not args.quiet:
        print(
            f"gtok fragments: {summary.cells:,} cells ({summary.cells_seen:,} barcodes "
            f"seen), {summary.fragments:,} fragments, {summary.tokens:,} tokens -> "
            f"{summary.output} in {summary.seconds:.1f} s",
            file=stream,
        )
        if summary.skipped_lines:
            print(
                f"gtok fragments: skipped {summary.skipped_lines:,} bad line(s), the first: "
                f"{summary.first_skipped}",
                file=stream,
            )
    return EXIT_OK


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, not {text!r}")
    return value


def _add_fragments_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fragments",
        help="tokenize a single-cell fragment file into a pack (a document per cell)",
        description="Tokenize a fragment file (chrom, start, end, barcode[, count], tab-\n"
        "separated, plain or gzip: 10x scATAC fragments.tsv.gz) against UNIVERSE\n"
        "as gtars' tokenize_fragment_file does: each fragment gives the ids of the\n"
        "universe regions it overlaps, or one <unk>. Writes one pack OUT with a\n"
        "document per cell, named by its barcode, cells in order of first\n"
        "appearance; it records the universe fingerprint, the settings and the\n"
        "counts. The write is atomic: on any error no pack appears.",
        epilog="examples:\n  gtok fragments peaks.bed fragments.tsv.gz -o cells.gtok\n"
        "  gtok fragments peaks.bed fragments.tsv.gz -o cells.gtok \\\n"
        "      --barcodes barcodes.tsv --min-fragments 1000 --unique",
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
        type=_count,
        default=0,
        metavar="N",
        help="keep cells with at least N fragments",
    )
    p.add_argument(
        "--min-tokens",
        type=_count,
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
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=_cmd_fragments)


def main(argv: Sequence[str] | None = None) -> int:
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


if __name__ == "__main__":
    run()
