"""Building packs from many inputs: existing ``.gtok`` files, or BED files tokenized on the fly.

``gtok pack`` and ``gtok tokenize --pack`` use these. Documents go into the pack in sorted
input order, named by their path relative to their input root without the extension (as
the batch command names its outputs). The pack is written atomically: an interrupted run
leaves no pack.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gtok.batch.engine import (
    Engine,
    Task,
    WorkerDeath,
    WorkersKeptDying,
    as_state,
    default_jobs,
)
from gtok.batch.engines import resolve_engine
from gtok.io.atomic import remove_stale_temporaries
from gtok.io.gtokfile import open_gtok
from gtok.io.inputs import find_inputs, output_name, plan_outputs
from gtok.io.manifest import check_manifests
from gtok.io.pack import GtokPack, PackWriter
from gtok.tokenizer import Tokenizer

__all__ = ["pack_gtok_files", "tokenize_to_pack", "PackSummary"]


@dataclass
class PackSummary:
    """What went into a pack: documents written, tokens, and inputs that failed."""

    path: str
    n_docs: int = 0
    n_tokens: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def _doc_name(path: str, root: str) -> str:
    return output_name(path, root)[: -len(".gtok")]


def pack_gtok_files(
    inputs: Iterable[str] | str,
    out: str | os.PathLike,
    *,
    tokenizer: Tokenizer | None = None,
    from_file: str | None = None,
) -> PackSummary:
    """Pack ``.gtok`` files (files, folders searched recursively for ``*.gtok``, globs; a
    pack among them contributes all its documents) into one pack at ``out``.

    With a ``tokenizer``, the pack records its fingerprint, every id is checked to be below
    its vocab size, and a folder's batch manifest (when present) must name the same universe.
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [os.fspath(inputs)]
    found = find_inputs(inputs, patterns=["*.gtok"], from_file=from_file)
    out = os.fspath(out)
    found = [(p, r) for p, r in found if os.path.abspath(p) != os.path.abspath(out)]
    if tokenizer is not None:
        check_manifests({r for _, r in found}, tokenizer.fingerprint)
    summary = PackSummary(out)
    remove_stale_temporaries([os.fspath(out)])  # (left by a run killed while writing)
    with PackWriter(out, tokenizer=tokenizer, dtype=None if tokenizer else np.uint32) as w:
        for path, root in found:
            with open_gtok(path) as f:
                if isinstance(f, GtokPack):
                    if tokenizer is not None:
                        f.check_fingerprint(tokenizer)
                    names = f.names or [""] * len(f)
                    for i in range(len(f)):
                        w.add(f.doc(i), name=names[i])
                else:
                    w.add(f.tokens, name=_doc_name(path, root))
        summary.n_docs = len(w)
        summary.n_tokens = w.n_tokens
    return summary


def _tokenize_ids(tok: Tokenizer, path: str, options: dict) -> tuple[str | None, Any]:
    try:
        return None, tok.tokenize(path, **options).ids
    except (OSError, ValueError, MemoryError) as exc:
        return f"{type(exc).__name__}: {exc}", None


def _in_order(
    engine: Engine, tok: Tokenizer, paths: Sequence[str], options: dict
) -> Generator[tuple[str | None, Any], None, None]:
    """``_tokenize_ids`` of every path, in the paths' order, computed by ``engine``'s
    workers. Results that come back early wait for the ones before them, but no task is
    handed out more than ``4 * jobs`` places ahead of the next result due, so a slow input
    holds at most that many results in memory. An input whose worker died of it fails
    (:class:`~gtok.batch.engine.WorkerDeath`); workers that keep dying raise RuntimeError.
    """
    run = engine.run(
        Task(_tokenize_ids, as_state, (tok,)),
        range(len(paths)),
        lambda k: (paths[k], options),
        window=4 * engine.jobs,
    )
    done: dict[Any, tuple[str | None, Any]] = {}
    due = 0
    try:
        for k, result in run:
            done[k] = (result.error, None) if isinstance(result, WorkerDeath) else result
            while due in done:
                yield done.pop(due)
                due += 1
    except WorkersKeptDying as exc:
        raise RuntimeError(f"{exc.reason}; no pack was written") from None
    finally:
        run.close()


def tokenize_to_pack(
    universe: str | os.PathLike | Tokenizer,
    inputs: Iterable[str] | str,
    out: str | os.PathLike,
    *,
    jobs: int | None = None,
    patterns: Sequence[str] | None = None,
    from_file: str | None = None,
    keep_order: bool = False,
    unk: str = "whole",
    skip_bad_lines: bool = False,
    fail_fast: bool = False,
    start_method: str | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    engine: Any = None,
    address: str | None = None,
) -> PackSummary:
    """Tokenize region files straight into one pack (one document per input, in sorted
    order, named like the batch command's outputs). A failing input -- unreadable,
    malformed, or one whose worker process died on it -- is left out and listed in
    ``summary.failed`` (and in the pack's metadata); with ``fail_fast`` nothing is
    written. ``engine`` and ``address`` choose where the inputs are tokenized, as for
    :func:`~gtok.batch.run.pretokenize` (on a cluster the workers read the inputs and
    send the ids back; this process writes the pack)."""
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [os.fspath(inputs)]
    found = find_inputs(inputs, patterns=patterns, from_file=from_file)
    plan = plan_outputs(found, "")  # names must be distinct here too
    names = {path: _doc_name(path, root) for path, root in found}
    tok = universe if isinstance(universe, Tokenizer) else Tokenizer(universe)
    options = {"keep_order": keep_order, "unk": unk, "skip_bad_lines": skip_bad_lines}
    jobs = default_jobs() if jobs is None else max(1, int(jobs))
    paths = [p for p, _ in plan]
    summary = PackSummary(os.fspath(out))
    failed: list[dict] = []
    remove_stale_temporaries([os.fspath(out)])  # (left by a run killed while writing)
    local = engine is None or engine == "local"
    if address is not None and engine not in ("dask", "ray"):
        raise ValueError(f"address={address!r} needs engine='dask' or 'ray'")
    w = PackWriter(out, tokenizer=tok, metadata={"settings": options})
    ran = None
    try:
        if local and (jobs == 1 or len(paths) <= 1):
            results: Generator = (_tokenize_ids(tok, p, options) for p in paths)
        else:
            ran = resolve_engine(engine, min(jobs, max(1, len(paths))), start_method, address)
            if not ran.local:
                ran.check_paths(None, paths)  # (the workers only read: this process writes)
            results = _in_order(ran.engine, tok, paths, options)
        try:
            for k, (path, (error, ids)) in enumerate(zip(paths, results)):
                if error is not None:
                    summary.failed.append((path, error))
                    failed.append({"input": path, "error": error})
                    if fail_fast:
                        raise ValueError(f"{path}: {error}")
                else:
                    w.add(ids, name=names[path])
                if progress is not None:
                    progress(path, k + 1, len(paths))
        finally:
            results.close()  # (a pool's workers stop here, whatever happened)
        if failed:
            w.metadata["failed"] = failed
        summary.n_docs = len(w)
        summary.n_tokens = w.n_tokens
        w.close()
    except BaseException:
        w.abort()
        raise
    finally:
        if ran is not None:
            ran.close()
    return summary
