"""Where batch work runs: the seam between a job and the processes that do it.

A job (:mod:`gtok.batch.run`: files; :mod:`gtok.batch.packing`: one pack) describes its work
as a :class:`Task` -- a picklable function applied to each input, and the per-worker
*state* it needs (the tokenizer), made once in each worker by ``setup``. An engine runs the
task over the inputs' keys and yields ``(key, result)`` as results arrive; the job records
them. :class:`LocalEngine` runs it on this machine's processes (:mod:`gtok.batch.pool`);
other engines plug in with the same ``run`` signature.

The rules every run follows, whoever runs it:

- **Order**: keys are handed out in the order given (the job decides: largest inputs
  first for files, input order for a pack); with ``window``, no key more than ``window``
  places ahead of the first unfinished one (an in-order consumer buffers at most that many
  results).
- **A worker that dies** fails the input it was on if the way it died can be the input's
  doing (killed by SIGKILL -- the out-of-memory killer -- or a crash signal, after it had
  started): that key yields a :class:`WorkerDeath`. Its other keys go back to the queue,
  first, and a new worker takes its place. Deaths that are not an input's doing (SIGTERM
  from a scheduler, a worker failing to start) fail nothing.
- **Giving up**: three deaths of the second kind, or ``max(10, 2 x jobs)`` inputs failed by
  deaths, in a row with no result in between raise :class:`WorkersKeptDying`, after the
  results already sent have been yielded; its ``keys`` are the inputs involved (sent back
  by those deaths, or in flight).
- **Stopping**: :meth:`Run.stop` (a job's ``fail_fast``) or a ``stop`` object whose
  ``requested`` turns true (a signal) stops handing out keys; the keys in flight finish
  and are yielded. ``stop.urgent`` (a second signal) kills the workers at once, as does
  closing the run. Deaths while a stop *signal* is requested count for nothing (a
  scheduler's SIGTERM reaches the workers too): their keys are just not done. After
  :meth:`Run.stop` (fail-fast) a death still fails its input.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any, NamedTuple, Protocol, cast

from gtok.batch.pool import DeadWorker, ProcessPool, WorkerDied

__all__ = [
    "Task",
    "WorkerDeath",
    "WorkersKeptDying",
    "Engine",
    "Run",
    "BaseRun",
    "LocalEngine",
    "default_jobs",
    "as_state",
]

_POLL = 0.1  # seconds: how soon a run sees a stop request
_DEATHS_IN_A_ROW = 3  # deaths not blamed on an input, none finished in between: give up
_BLAMED_IN_A_ROW = 10  # (or 2 x jobs) inputs failed by their worker's death, in a row
# How a worker can die of its input: the out-of-memory killer's SIGKILL, or a crash.
# SIGTERM, SIGINT, SIGHUP... come from outside (a scheduler signals every process of a
# job); a worker that ends with an exit status failed before or between its tasks.
_INPUT_DEATH_SIGNALS = frozenset(
    getattr(signal, name)
    for name in ("SIGKILL", "SIGSEGV", "SIGBUS", "SIGABRT", "SIGILL", "SIGFPE", "SIGSYS")
    if hasattr(signal, name)
)


_Results = list[tuple[int, Any]]


class Task(NamedTuple):
    """What a worker runs: ``func(state, *args)`` for each key's ``args``, where ``state =
    setup(*setup_args)`` was made once in that worker. ``func`` and ``setup`` must be
    module-level functions (picklable); ``func`` turns a bad input into a result itself."""

    func: Callable[..., Any]
    setup: Callable[..., Any]
    setup_args: tuple = ()


class WorkerDeath(NamedTuple):
    """The result of a key whose worker died of it."""

    error: str


class WorkersKeptDying(RuntimeError):
    """Workers kept dying with no result in between: the run gave up. ``keys`` are the
    inputs involved (sent back by the deaths since the last result, and those in flight):
    the ones to tell why. ``inputs_failed`` says which limit was hit: inputs failed by
    their workers' deaths (True), or deaths that were not an input's doing (False)."""

    def __init__(self, reason: str, inputs_failed: bool, keys: Sequence[int]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.keys = list(keys)
        self.inputs_failed = inputs_failed


class StopSignal(Protocol):
    """What a run asks of a job's stop request (the batch run's signal handler)."""

    @property
    def requested(self) -> bool: ...

    @property
    def urgent(self) -> bool: ...


class Run(Protocol):
    """A task running over keys: iterate it for ``(key, result)``; ``stop()`` hands out
    nothing more; ``close()`` ends it now."""

    def __iter__(self) -> Iterator[tuple[int, Any]]: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...


class Engine(Protocol):
    """Runs a :class:`Task` over keys (the seam other engines implement)."""

    jobs: int

    def run(
        self,
        task: Task,
        keys: Sequence[int],
        args: Callable[[int], tuple],
        *,
        window: int | None = None,
        stop: StopSignal | None = None,
        on_death: Callable[[int], None] | None = None,
    ) -> Run: ...


def default_jobs() -> int:
    """The CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS
        return os.cpu_count() or 1


def as_state(value: Any) -> Any:
    """A task's ``setup`` when its state is the value itself (inherited by a forked worker,
    pickled once for a spawned one)."""
    return value


def start_worker(setup: Callable[..., Any], setup_args: tuple, parent: int | None) -> Any:
    """A worker's first act: tie its life to the parent's, leave Ctrl-C to the parent, and
    make its state."""
    _exit_with_parent(parent)
    # Ctrl-C goes to the whole process group: the parent decides what to do
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # a forked worker inherits the command line's SIGTERM handler; a worker must simply
    # die on SIGTERM (the pool stops broken workers with it)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    return setup(*setup_args)


def _exit_with_parent(parent: int | None) -> None:
    """On Linux, have the kernel kill this worker when the process that started it dies
    (a parent killed outright -- SIGKILL, the out-of-memory killer, a job scheduler's time
    limit -- would otherwise leave its workers behind)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - no prctl
        return
    if parent is not None and os.getppid() != parent:  # it died before prctl took effect
        os._exit(1)


def blamed(dead: DeadWorker) -> bool:
    """Whether a dead worker's first key fails: it had started it, and died in a way its
    input can cause (otherwise its keys go back to the queue)."""
    return (
        bool(dead.keys)
        and dead.started
        and dead.exitcode is not None
        and dead.exitcode < 0
        and -dead.exitcode in _INPUT_DEATH_SIGNALS
    )


def death_message(exitcode: int) -> str:
    """The error recorded for an input whose worker died of it (:func:`blamed`)."""
    how = f"killed by {signal.Signals(-exitcode).name}"
    if -exitcode == signal.SIGKILL:
        how += ": the out-of-memory killer, or kill -9"
    return f"WorkerDied: the worker process died while tokenizing this input ({how})"


class LocalEngine:
    """Runs tasks on ``jobs`` worker processes of this machine (``fork`` where the system
    has it: workers share the parent's pages, the tokenizer included; else ``spawn``, with
    the task's state pickled once per worker)."""

    def __init__(self, jobs: int, start_method: str | None = None) -> None:
        self.jobs = max(1, int(jobs))
        self.start_method = start_method

    def run(
        self,
        task: Task,
        keys: Sequence[int],
        args: Callable[[int], tuple],
        *,
        window: int | None = None,
        stop: StopSignal | None = None,
        on_death: Callable[[int], None] | None = None,
    ) -> _LocalRun:
        return _LocalRun(self, task, keys, args, window, stop, on_death)


class BaseRun:
    """What every engine's run shares: iterating the results of its ``_results``
    generator, :meth:`stop` (hand out nothing more), :meth:`close` (end now), and whether
    to stop handing out (:meth:`stopping_now`: asked so, or a stop signal)."""

    stop_signal: StopSignal | None
    stopping: bool
    _iter: Generator[tuple[int, Any], None, None]

    def __iter__(self) -> Iterator[tuple[int, Any]]:
        return self._iter

    def stop(self) -> None:
        self.stopping = True

    def close(self) -> None:
        self._iter.close()

    def stopping_now(self) -> bool:
        if not self.stopping and self.stop_signal is not None and self.stop_signal.requested:
            self.stopping = True
        return self.stopping


class _LocalRun(BaseRun):
    """One run of :class:`LocalEngine` (see the module docstring for its rules)."""

    def __init__(
        self,
        engine: LocalEngine,
        task: Task,
        keys: Sequence[int],
        args: Callable[[int], tuple],
        window: int | None,
        stop: StopSignal | None,
        on_death: Callable[[int], None] | None,
    ) -> None:
        if window is not None and window < 1:
            raise ValueError(f"window must be at least 1, not {window}")
        self.jobs = min(engine.jobs, max(1, len(keys)))
        self.task, self.args, self.window = task, args, window
        self.stop_signal, self.on_death = stop, on_death
        self.queue = list(keys)[::-1]  # pop() takes the next key
        self.position = {k: i for i, k in enumerate(keys)} if window is not None else {}
        self.finished: set[int] = set()
        self.due = 0  # the first unfinished position
        self.stopping = False
        self.deaths_in_a_row = self.blamed_in_a_row = 0
        self.involved: list[int] = []  # keys sent back since the last result
        self._iter = self._results(engine.start_method)

    # the loop -------------------------------------------------------------------

    def _results(self, start_method: str | None) -> Generator[tuple[int, Any], None, None]:
        import multiprocessing  # here, not at the top: a 1-job run starts faster

        if start_method is None:
            start_method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        parent = None if start_method == "forkserver" else os.getpid()  # forkserver: its child
        # Forked workers share the parent's pages until one side writes to them, and a
        # garbage collection writes to every object it visits: the objects that exist now
        # are kept out of the collector while the workers live (a program that froze
        # objects itself keeps them).
        freeze = start_method == "fork" and gc.get_freeze_count() == 0
        if freeze:
            gc.freeze()
        try:
            with ProcessPool(
                self.jobs,
                multiprocessing.get_context(start_method),
                self.task.func,
                initializer=start_worker,
                initargs=(self.task.setup, self.task.setup_args, parent),
                with_state=True,
            ) as pool:
                yield from self._loop(pool)
        finally:
            if freeze:
                gc.unfreeze()

    def _loop(self, pool: ProcessPool) -> Iterator[tuple[int, Any]]:
        stop = self.stop_signal
        poll = _POLL if stop is not None else None
        while pool.in_flight or (self.queue and not self.stopping_now()):
            if stop is not None and stop.urgent:
                pool.kill()  # a second signal: now (writes are atomic)
                return
            dead: list[DeadWorker] = []
            unsent: list[int] = []
            try:
                self._hand_out(pool)
                arrived = cast(_Results, pool.wait(poll))  # (the keys handed out: ints)
            except WorkerDied as exc:
                arrived, dead = cast(_Results, exc.results), exc.dead
                unsent = cast("list[int]", exc.unsent)
            if arrived:
                self.deaths_in_a_row = self.blamed_in_a_row = 0
                self.involved = []
            self._send_back(unsent)  # (after the reset: they are involved in this round)
            for key, result in arrived:
                yield from self._finish(key, result)
            yield from self._bury(dead)
            giving_up = self._giving_up()
            if giving_up is not None:
                for key, result in cast(_Results, pool.ready()):  # what others finished
                    yield from self._finish(key, result)
                left = self.involved + cast("list[int]", pool.in_flight)
                pool.kill()
                raise WorkersKeptDying(*giving_up, keys=left)
            if dead and self.queue and not self.stopping_now():
                self._replace_workers(pool)

    def _hand_out(self, pool: ProcessPool) -> None:
        while self.queue and not self.stopping_now() and pool.free_slots:
            key = self.queue[-1]
            if self.window is not None:
                if self.position[key] >= self.due + self.window:
                    break
            # the last few keys go to idle workers only: queued behind a running task, one
            # would leave another worker idle at the end
            elif len(self.queue) <= self.jobs and not pool.idle_workers:
                break
            self.queue.pop()
            pool.submit(key, self.args(key))

    def _send_back(self, keys: Sequence[int]) -> None:
        self.queue.extend(reversed(keys))  # they go first
        self.involved += keys

    def _finish(self, key: int, result: Any) -> Iterator[tuple[int, Any]]:
        if self.window is not None:
            self.finished.add(self.position[key])
            while self.due in self.finished:
                self.finished.discard(self.due)
                self.due += 1
        yield key, result

    def _bury(self, dead: Sequence[DeadWorker]) -> Iterator[tuple[int, Any]]:
        # while a stop is requested (a scheduler's SIGTERM reaches the workers too),
        # deaths are no news: their keys just stay undone
        stopping = self.stop_signal is not None and self.stop_signal.requested
        for d in dead:
            keys = d.keys
            if keys and self.on_death is not None:
                self.on_death(keys[0])  # (the half-written output it may leave)
            if blamed(d) and not stopping:
                assert d.exitcode is not None
                self.blamed_in_a_row += 1
                yield from self._finish(keys[0], WorkerDeath(death_message(d.exitcode)))
                keys = keys[1:]
            elif not stopping:
                self.deaths_in_a_row += 1
            self._send_back(keys)

    def _giving_up(self) -> tuple[str, bool] | None:
        """Why the run gives up, and whether inputs failing is why; None to go on."""
        if self.deaths_in_a_row >= _DEATHS_IN_A_ROW:
            return (
                "worker processes kept dying before they finished an input (signals "
                "from outside, or failing to start)",
                False,
            )
        limit = max(_BLAMED_IN_A_ROW, 2 * self.jobs)
        if self.blamed_in_a_row >= limit:
            return (
                f"worker processes died on {limit} inputs in a row, none finished (a "
                "memory limit below what they need?)",
                True,
            )
        return None

    def _replace_workers(self, pool: ProcessPool) -> None:
        """Start workers in place of dead ones (fewer, when the system refuses more)."""
        while len(pool.workers) < self.jobs:
            try:
                pool.add_worker()
            except OSError:  # no memory or processes left for a fork
                if not pool.workers:
                    raise
                return
