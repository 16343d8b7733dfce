"""Batch pretokenization: many BED files to ``.gtok`` files, in parallel, safely, resumably.

This is the job users run once per universe (``gtok tokenize`` and :func:`pretokenize`):

- **Inputs** are files, folders (searched recursively for region files, hidden entries
  skipped), glob patterns and lists of paths. They are sorted by path, and each output
  mirrors its input's path relative to its *input root* (the folder given, the non-glob
  head of a pattern, or the file's own folder), with the extension (``.bed``, ``.bed.gz``,
  ``.narrowPeak``...) replaced by ``.gtok``. Two inputs that would write the same output
  are an error before any work starts.
- **Parallel**: worker processes share the tokenizer built once in the parent (inherited
  with ``fork``; pickled as arrays, never re-parsed, with ``spawn``/``forkserver``). The
  work runs through :mod:`gtok.batch.engine` (its rules for dead workers are the same for
  ``--pack``), on a :class:`gtok.batch.pool.ProcessPool`: one pipe per worker, no helper
  threads, so the parent costs the workers almost no CPU. Workers take the largest inputs
  first (a gzip file counted by name at 4x its size; a pipe or other file of unknown size
  before all;
  a batch of over 20,000 inputs goes in input order), and the last few inputs go to idle
  workers only, so the workers finish together. (The manifest keeps the sorted input
  order.)
- **Safe**: every output is written atomically (temporary file + rename), so a crash,
  Ctrl-C or a killed worker never leaves a partial ``.gtok``; a failing input is recorded
  with its error and the batch goes on (or stops, with ``fail_fast``).
- **Manifest**: ``gtok-manifest.json`` in the output folder (``gtok-manifest.K-of-N.json``
  for shard K of N) records the gtok version, the universe path and fingerprint, the vocab
  size, the settings and, per input, path (absolute), size, regions, tokens, regions on
  unknown chromosomes, output (relative to the manifest's folder, so the folder can move),
  status and error. It is rewritten atomically every few seconds and at the end, so it is
  always valid JSON.
- **Resume**: an input is skipped when a manifest in the output folder records it as done
  with the same universe fingerprint and settings, and its output still has the recorded
  size and is newer than the input.
- **Shards**: ``shard=(K, N)`` takes every N-th input of the sorted list starting at the
  K-th (1-based), so N machines can share one output folder.
- **Signals** (in the main thread): SIGINT or SIGTERM stops handing out work; the files in
  progress are finished and recorded, the manifest is written, and the summary says
  ``interrupted`` (``stopped_by_signal``). A second signal kills the workers at once. A
  SIGTERM whose handler is the default then ends the process, as its sender asked.
"""

from __future__ import annotations

import os
import signal
import stat
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from gtok.batch.engine import (
    Engine,
    Task,
    WorkerDeath,
    WorkersKeptDying,
    as_state,
    default_jobs,
)
from gtok.batch.engines import resolve_engine
from gtok.errors import FingerprintMismatchError, UnusableManifestWarning
from gtok.io.atomic import remove_stale_temporaries
from gtok.io.gtokfile import write_gtok
from gtok.io.inputs import REGION_FILE_SUFFIXES, find_inputs, plan_outputs
from gtok.io.manifest import (
    ENTRY_COUNTS,
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    entry_output,
    manifest_path,
    read_manifests,
    write_manifest,
)
from gtok.tokenizer import Tokenizer

__all__ = [
    "pretokenize",
    "BatchSummary",
    "FileResult",
    "find_inputs",
    "plan_outputs",
    "REGION_FILE_SUFFIXES",
    "MANIFEST_NAME",
    "read_manifests",
]

_SAVE_EVERY = 2.0  # seconds between manifest rewrites while running
_SIZE_ORDER_UP_TO = 20_000  # inputs: larger batches run in input order (no stat per input)


@dataclass
class FileResult:
    """What happened to one input (one manifest entry)."""

    input: str
    output: str
    input_size: int = 0
    status: str = "pending"  # "ok", "error", "skipped" (resumed), "pending" (not reached)
    regions: int = 0
    tokens: int = 0
    unknown_chrom_regions: int = 0
    skipped_lines: int = 0
    output_size: int = 0
    error: str | None = None


@dataclass
class BatchSummary:
    """The outcome of :func:`pretokenize`."""

    results: list[FileResult]
    manifest: str
    fingerprint: str
    seconds: float = 0.0
    interrupted: bool = False
    #: SIGINT or SIGTERM when a signal stopped the run (``interrupted`` is then True)
    stopped_by_signal: int | None = None
    #: entries a folder search left out, and why (links back to searched folders, FIFOs...)
    left_out: list[str] = field(default_factory=list)

    @property
    def n_ok(self) -> int:
        """Inputs tokenized in this run."""
        return sum(r.status == "ok" for r in self.results)

    @property
    def n_skipped(self) -> int:
        """Inputs skipped because a complete output from an earlier run was kept."""
        return sum(r.status == "skipped" for r in self.results)

    @property
    def n_failed(self) -> int:
        """Inputs that failed (their error is in the manifest)."""
        return sum(r.status == "error" for r in self.results)

    @property
    def n_pending(self) -> int:
        """Inputs not reached (interrupted, or stopped by ``fail_fast``)."""
        return sum(r.status == "pending" for r in self.results)

    @property
    def ok(self) -> bool:
        """Every input has a complete output."""
        return self.n_failed == 0 and self.n_pending == 0

    @property
    def regions(self) -> int:
        return sum(r.regions for r in self.results if r.status == "ok")

    def __repr__(self) -> str:
        return (
            f"BatchSummary(ok={self.ok}, n_ok={self.n_ok}, n_skipped={self.n_skipped}, "
            f"n_failed={self.n_failed}, n_pending={self.n_pending}, "
            f"manifest={self.manifest!r})"
        )


# --------------------------------------------------------------------------- manifests


def _absolute_or_none(path: str | None) -> str | None:
    return os.path.abspath(path) if path else path


def _save_manifest(
    path: str, header: dict, results: Sequence[FileResult], names: Sequence[tuple[str, str]]
) -> None:
    """Write the manifest; ``names`` holds each result's (absolute input, output relative
    to the manifest's folder), the forms the manifest records."""
    entries = []
    for r, (input_path, output_name) in zip(results, names):
        entry = dict(r.__dict__)
        entry["input"], entry["output"] = input_path, output_name
        entries.append(entry)
    write_manifest(path, header, entries)


def _previous_entries(
    out_dir: str, universe: tuple[str | None, str], settings: dict, overwrite: bool
) -> tuple[dict[str, dict], set[str]]:
    """Earlier runs with the same universe and settings: their done entries by absolute
    output path, and the absolute output paths of the inputs that failed there. An earlier
    run with another universe (path, fingerprint) is an error unless ``overwrite``: its
    outputs would be replaced; with ``overwrite``, or other settings, a warning."""
    universe_path, fingerprint = universe
    done: dict[str, dict] = {}
    failed: set[str] = set()
    unusable: list[str] = []
    manifests = read_manifests(out_dir, unusable)
    for problem in unusable:
        warnings.warn(
            f"{problem}; --resume treats it as absent (its inputs are done again)",
            UnusableManifestWarning,
            stacklevel=3,
        )
    for m in manifests:
        recorded = m.get("universe", {}).get("fingerprint")
        # (a manifest recording no fingerprint says nothing of the outputs: redone, warned)
        if isinstance(recorded, str) and recorded != fingerprint and not overwrite:
            raise FingerprintMismatchError(
                m["_path"],
                fingerprint,
                recorded,
                reference=f"the universe of this --resume run ({universe_path})",
            )
        other = _other_run(m, fingerprint, settings)
        if other:
            warnings.warn(
                f"{out_dir}: an earlier run there {other}; --resume does its inputs again "
                "(their outputs are replaced)",
                UnusableManifestWarning,
                stacklevel=3,
            )
            continue
        for entry in m.get("files", []):
            if entry.get("status") in ("ok", "skipped"):
                done[os.path.abspath(entry_output(m, entry))] = entry
            elif entry.get("status") == "error":
                failed.add(os.path.abspath(entry_output(m, entry)))
    return done, failed


def _other_run(manifest: dict, fingerprint: str, settings: dict) -> str:
    """How an earlier run's manifest differs from this run ("" when it does not)."""
    recorded = manifest.get("universe", {})
    if recorded.get("fingerprint") != fingerprint:
        return (
            f"used another universe ({recorded.get('path')}, fingerprint "
            f"{str(recorded.get('fingerprint'))[:12]}...; this one: {fingerprint[:12]}...)"
        )
    if manifest.get("settings") != settings:
        return f"used other settings ({manifest.get('settings')}; this one: {settings})"
    return ""


def _still_complete(entry: dict, input_path: str, output_path: str) -> bool:
    try:
        out = os.stat(output_path)
        inp = os.stat(input_path)
    except OSError:
        return False
    return (
        out.st_size == entry.get("output_size")
        and inp.st_size == entry.get("input_size")
        and out.st_mtime_ns >= inp.st_mtime_ns
    )


# --------------------------------------------------------------------------- signals


class _StopRequest:
    """While a batch runs in the main thread, SIGINT and SIGTERM ask it to stop instead of
    raising wherever the parent happens to be.

    An exception raised asynchronously in the middle of a pipe write or of the pool's
    bookkeeping would leave the workers in an unknown state: so the handler only records
    the request; the engine checks it between waits (every 0.1 s).
    A second signal means "now": in-process it raises ``KeyboardInterrupt`` at once; with
    workers, the loop kills them (writes are atomic, so nothing partial appears). Signals
    the program ignores stay ignored. Outside the main thread nothing is changed.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, *, raise_on_second: bool) -> None:
        self.signum: int | None = None
        self.count = 0
        self.raise_on_second = raise_on_second
        self.saved: dict[int, Any] = {}

    def __enter__(self) -> _StopRequest:
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                if signal.getsignal(sig) not in (signal.SIG_IGN, None):
                    self.saved[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.saved.items():
            signal.signal(sig, handler)

    def _handle(self, signum: int, frame: object) -> None:
        self.count += 1
        if self.signum is None:
            self.signum = signum
        elif self.raise_on_second:
            raise KeyboardInterrupt

    @property
    def requested(self) -> bool:
        return self.signum is not None

    @property
    def urgent(self) -> bool:
        return self.count >= 2

    def redeliver(self) -> None:
        """Once the manifest is written: a SIGTERM whose handler was the default ends the
        process, as its sender asked (a program that handles SIGTERM itself, like the
        ``gtok`` command, sees ``summary.stopped_by_signal`` instead)."""
        if self.signum == signal.SIGTERM and self.saved.get(signal.SIGTERM) is signal.SIG_DFL:
            os.kill(os.getpid(), signal.SIGTERM)


# --------------------------------------------------------------------------- workers


def _tokenize_one(tok: Tokenizer, input_path: str, output_path: str, options: dict) -> dict:
    """Tokenize one input and write its output; never raises for a bad input."""
    result: dict[str, Any] = {}
    try:
        result["input_size"] = os.path.getsize(input_path)
        tokens = tok.tokenize(input_path, **options)
        write_gtok(output_path, tokens.ids)
        result.update(
            status="ok",
            regions=tokens.n_regions,
            tokens=len(tokens),
            unknown_chrom_regions=tokens.n_unknown_chrom,
            skipped_lines=tokens.n_skipped,
            output_size=os.path.getsize(output_path),
        )
    except (OSError, ValueError, MemoryError) as exc:
        result.update(status="error", error=f"{type(exc).__name__}: {exc}")
    return result


# --------------------------------------------------------------------------- the batch


def pretokenize(
    universe: str | os.PathLike | Tokenizer,
    inputs: Iterable[str] | str,
    out_dir: str | os.PathLike,
    *,
    jobs: int | None = None,
    resume: bool = False,
    overwrite: bool = False,
    fail_fast: bool = False,
    shard: tuple[int, int] | None = None,
    patterns: Sequence[str] | None = None,
    from_file: str | None = None,
    keep_order: bool = False,
    unk: str = "whole",
    skip_bad_lines: bool = False,
    start_method: str | None = None,
    progress: Callable[[FileResult, int, int], None] | None = None,
    engine: Any = None,
    address: str | None = None,
) -> BatchSummary:
    """Tokenize many region files into ``.gtok`` files under ``out_dir``.

    Parameters
    ----------
    universe : path or Tokenizer
        The universe (BED, BED.gz, gtars TOML) or a ready :class:`~gtok.Tokenizer`.
    inputs : str or iterable of str
        Files, folders (recursive), glob patterns.
    out_dir : path
        Where the ``.gtok`` files and the manifest go (created if missing).
    jobs : int, optional
        Worker processes (default: the cores available to this process; 1 runs in-process).
        A worker that dies at work of SIGKILL (the out-of-memory killer) or of a crash fails
        the input it was tokenizing; one ended otherwise (SIGTERM, an exit while starting)
        fails nothing, its inputs go to another. Either way a new worker takes its place.
        Three deaths of the second kind, or ``max(10, 2 * jobs)`` of the first, with no input
        finished in between stop the run (the inputs in flight stay ``pending``).
    resume : bool
        Skip inputs already done by an earlier run with the same universe and settings;
        inputs that failed in it are tried after all the others. An earlier run in
        ``out_dir`` with another universe raises
        :class:`~gtok.errors.FingerprintMismatchError` (its outputs would be replaced by
        ids of another vocabulary) unless ``overwrite``.
    overwrite : bool
        With ``resume``: an earlier run with another universe is redone, its outputs
        replaced (with a warning), instead of an error.
    fail_fast : bool
        Stop at the first failing input (the others stay ``pending``); an input whose
        worker process died is a failing input.
    shard : (K, N), optional
        Do only the K-th of N interleaved parts of the sorted input list (1 <= K <= N).
    patterns : list of str, optional
        File-name globs for folder searches (default: ``.bed``, ``.narrowPeak``, ... and
        their ``.gz``).
    from_file : str, optional
        A file listing one input path per line.
    keep_order, unk, skip_bad_lines
        Passed to :meth:`Tokenizer.tokenize` for every input.
    start_method : {"fork", "spawn", "forkserver"}, optional
        How worker processes start (default: ``fork`` where available).
    progress : callable, optional
        Called as ``progress(result, done, total)`` after each input.
    engine : {"local", "dask", "ray"}, dask.distributed.Client or engine, optional
        Where the inputs are tokenized: this machine's processes (``"local"``, the
        default, ``jobs`` of them); the cluster of a Dask ``Client``; ``"dask"``: the
        cluster at ``address``, or a ``LocalCluster`` of ``jobs`` workers started for the
        run; ``"ray"``: the Ray cluster at ``address``, the one this process runs, or a
        local Ray of ``jobs`` CPUs (docs/scaling.md). On a cluster the workers write the
        outputs: they must see ``out_dir`` and the inputs at the same paths (a shared file
        system; checked before the run). The manifest, ``resume``, ``shard`` and
        ``fail_fast`` work as locally.
    address : str, optional
        With ``engine="dask"``: the scheduler (``tcp://host:port``) or its scheduler file;
        with ``engine="ray"``: the cluster (``host:port`` or ``"auto"``).

    Returns
    -------
    BatchSummary
        Per-input results, the manifest path and counts; ``summary.ok`` is True when every
        input has a complete output.
    """
    t0 = time.perf_counter()
    out_dir = os.fspath(out_dir)
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [os.fspath(inputs)]
    if shard is not None:
        k, n = shard
        if not (isinstance(k, int) and isinstance(n, int) and 1 <= k <= n):
            raise ValueError(f"shard must be (K, N) with 1 <= K <= N, not {shard!r}")
    jobs = default_jobs() if jobs is None else int(jobs)
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, not {jobs}")
    if progress is not None and not callable(progress):
        raise TypeError(
            f"progress must be a callable progress(result, done, total) or None, not {progress!r}"
        )
    if address is not None and engine not in ("dask", "ray"):
        raise ValueError(f"address={address!r} needs engine='dask' or 'ray'")
    options = {"keep_order": keep_order, "unk": unk, "skip_bad_lines": skip_bad_lines}
    if unk not in ("whole", "per_region"):
        raise ValueError(f"unk must be 'whole' or 'per_region', not {unk!r}")

    left_out: list[str] = []
    found = find_inputs(inputs, patterns=patterns, from_file=from_file, skipped=left_out)
    plan = plan_outputs(found, out_dir)
    if shard is not None:
        plan = plan[shard[0] - 1 :: shard[1]]
    # the worker machinery (multiprocessing: ~10 ms of imports) is imported on a thread
    # while the universe is parsed and indexed (without the GIL); joined before any fork
    preparing = None
    if jobs > 1 and len(plan) > 1 and not isinstance(universe, Tokenizer):
        preparing = threading.Thread(
            target=_import_pool_modules, name="gtok-pool-imports", daemon=True
        )
        preparing.start()
    try:
        tok = universe if isinstance(universe, Tokenizer) else Tokenizer(universe)
    finally:
        if preparing is not None:
            preparing.join()
    os.makedirs(out_dir, exist_ok=True)
    remove_stale_temporaries(out for _, out in plan)

    mpath = manifest_path(out_dir, shard)
    results, names, todo, retry = _results_to_do(plan, out_dir, tok, options, resume, overwrite)
    local = engine is None or engine == "local"
    in_process = local and (jobs == 1 or len(todo) <= 1)
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    book = _Book(
        mpath,
        lambda: _manifest_header(tok, options, shard, started),
        results,
        names,
        progress,
        len(results) - len(todo),
    )
    if not in_process or resume or os.path.exists(mpath):
        # (the universe's fingerprint, which the header records, may still be hashed on a
        # thread: a new run in this process joins it at the first input's record, the
        # manifest's first save, so that the hashing overlaps work; before workers start,
        # now, and at once when an earlier run's manifest is there, to replace it)
        book.save()
    summary = BatchSummary(results, mpath, "", left_out=left_out)  # (fingerprint: at the end)
    stop = _StopRequest(raise_on_second=in_process)
    ran = None
    try:
        with stop:
            if in_process:
                _run_here(tok, todo, options, book, stop, fail_fast)
            elif todo:
                ran = resolve_engine(engine, min(jobs, len(todo)), start_method, address)
                if not ran.local:
                    ran.check_paths(out_dir, [results[i].input for i in todo])
                _run_on(
                    ran.engine,
                    tok,
                    _work_order(results, todo, retry),
                    options,
                    book,
                    stop,
                    fail_fast,
                )
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        summary.seconds = time.perf_counter() - t0
        summary.fingerprint = tok.fingerprint
        book.save()
        if ran is not None:
            ran.close()
    if stop.requested:
        summary.interrupted = True
        summary.stopped_by_signal = stop.signum
        stop.redeliver()
    return summary


def _manifest_header(
    tok: Tokenizer, options: dict, shard: tuple[int, int] | None, started: str
) -> dict:
    from gtok import __version__

    return {
        "format": MANIFEST_FORMAT,
        "gtok_version": __version__,
        "universe": {
            "path": _absolute_or_none(tok.universe.source),
            "fingerprint": tok.fingerprint,
            "vocab_size": tok.vocab_size,
            "regions": tok.universe.n_regions,
        },
        "settings": dict(options),
        "shard": list(shard) if shard else None,
        "started": started,
    }


def _results_to_do(
    plan: Sequence[tuple[str, str]],
    out_dir: str,
    tok: Tokenizer,
    options: dict,
    resume: bool,
    overwrite: bool,
) -> tuple[list[FileResult], list[tuple[str, str]], list[int], list[int]]:
    """A result per planned input (``skipped`` when an earlier run's output is kept), the
    names the manifest records, the inputs to do, and those of them that failed last time
    (to be tried after the others, so that inputs that kill their worker cannot hold up
    the rest run after run)."""
    previous: dict = {}
    failed_before: set = set()
    if resume:
        universe = (_absolute_or_none(tok.universe.source), tok.fingerprint)
        previous, failed_before = _previous_entries(out_dir, universe, options, overwrite)
    results: list[FileResult] = []
    names: list[tuple[str, str]] = []  # as the manifest records them
    todo: list[int] = []
    retry: list[int] = []
    for path, out in plan:
        r = FileResult(input=path, output=out)
        input_path = os.path.abspath(path)
        names.append((input_path, os.path.relpath(out, out_dir)))
        entry = previous.get(os.path.abspath(out))
        if (
            entry is not None
            and os.path.abspath(entry["input"]) == input_path
            and _still_complete(entry, path, out)
        ):
            for key in ENTRY_COUNTS:
                setattr(r, key, entry.get(key, 0))
            r.status = "skipped"
        elif os.path.abspath(out) in failed_before:
            retry.append(len(results))
        else:
            todo.append(len(results))
        results.append(r)
    return results, names, todo + retry, retry


class _Book:
    """The run's records: each outcome into its result, progress, and the manifest,
    written at the first outcome (or at once, by the caller), then every few seconds and
    at the end. Its header is made at the first save (it records the fingerprint)."""

    def __init__(
        self,
        path: str,
        header: Callable[[], dict],
        results: list[FileResult],
        names: list[tuple[str, str]],
        progress: Callable[[FileResult, int, int], None] | None,
        done: int,
    ) -> None:
        self.path, self.results, self.names = path, results, names
        self.make_header = header
        self.header: dict | None = None  # made at the first save
        self.progress, self.done = progress, done
        self.last_save = time.monotonic()
        self.save_every = _SAVE_EVERY

    def record(self, i: int, outcome: dict) -> bool:
        """Record input ``i``'s outcome; whether it failed."""
        r = self.results[i]
        for key, value in outcome.items():
            setattr(r, key, value)
        self.done += 1
        if self.progress is not None:
            self.progress(r, self.done, len(self.results))
        now = time.monotonic()
        if self.header is None or now - self.last_save > self.save_every:
            self.save()
            # huge batches: spend at most ~5 % of the parent's time on the manifest
            self.save_every = max(_SAVE_EVERY, 20 * (self.last_save - now))
        return r.status == "error"

    def save(self) -> None:
        if self.header is None:
            self.header = self.make_header()
        _save_manifest(self.path, self.header, self.results, self.names)
        self.last_save = time.monotonic()


def _run_here(
    tok: Tokenizer,
    todo: Sequence[int],
    options: dict,
    book: _Book,
    stop: _StopRequest,
    fail_fast: bool,
) -> None:
    """The inputs tokenized in this process, one after another."""
    for i in todo:
        if stop.requested:
            break
        r = book.results[i]
        if book.record(i, _tokenize_one(tok, r.input, r.output, options)) and fail_fast:
            break


def _run_on(
    engine: Engine,
    tok: Tokenizer,
    order: Sequence[int],
    options: dict,
    book: _Book,
    stop: _StopRequest,
    fail_fast: bool,
) -> None:
    """The inputs tokenized by ``engine``'s workers, recorded as they finish."""
    results = book.results
    run = engine.run(
        Task(_tokenize_one, as_state, (tok,)),
        order,
        lambda i: (results[i].input, results[i].output, options),
        stop=stop,
        on_death=lambda i: remove_stale_temporaries([results[i].output]),
    )
    try:
        for i, outcome in run:
            if isinstance(outcome, WorkerDeath):
                outcome = {"status": "error", "error": outcome.error}
            if book.record(i, outcome) and fail_fast:
                run.stop()
    except WorkersKeptDying as exc:
        # what the others had finished is recorded; the inputs in progress are abandoned
        # (one may be stuck): they and the rest stay pending, those involved say why
        why = exc.reason + (
            "; a rerun with --resume tries the inputs that failed last"
            if exc.inputs_failed
            else "; rerun with --resume"
        )
        for i in exc.keys:
            if results[i].status == "pending":
                results[i].error = why
    finally:
        run.close()  # (whatever happened: the workers stop, the collector is unfrozen)


def _work_order(results: Sequence[FileResult], todo: list[int], retry: list[int]) -> list[int]:
    """The largest inputs first (LPT order), so the last tasks are small and the workers end
    together; inputs that failed in the run resumed go after all others. Not for huge
    batches: a stat per input before any work can take minutes on a cluster file system,
    and their end is a negligible part."""
    if len(todo) > _SIZE_ORDER_UP_TO:
        return todo
    again = frozenset(retry)
    return sorted(todo, key=lambda i: (i not in again, _expected_work(results[i].input)))[::-1]


def _expected_work(path: str) -> int:
    """An input's size as a guess of its work (a gzip file by name: its size x 4; a pipe
    or other file of unknown size: first)."""
    try:
        st = os.stat(path)
    except OSError:
        return 0
    if not stat.S_ISREG(st.st_mode):
        return sys.maxsize
    return st.st_size * 4 if path.endswith((".gz", ".bgz")) else st.st_size


def _import_pool_modules() -> None:
    """Import what the pool uses to start workers (on a thread, ahead of time)."""
    try:
        import multiprocessing.connection  # noqa: F401
        import multiprocessing.popen_fork  # noqa: F401
    except Exception:  # pragma: no cover - the pool meets the same error and reports it
        pass
