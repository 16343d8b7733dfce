"""The Dask engine: a batch's work on a ``dask.distributed`` cluster (needs ``gtok[dask]``).

:class:`DaskEngine` runs a :class:`~gtok.batch.engine.Task` on the workers of a Dask
``Client``: the SLURM/PBS cluster ``dask-jobqueue`` starts, a Kubernetes one, or a
``LocalCluster`` (:meth:`DaskEngine.local`). The job -- what to tokenize, the manifest,
``--resume``, ``--shard``, ``--fail-fast``, signals -- stays on the driver
(:mod:`gtok.batch.run`, :mod:`gtok.batch.packing`), as with the local engine; the
engine follows the rules of :mod:`gtok.batch.engine`, with Dask's own way of seeing
deaths:

- **State once per worker**: the task's state (the tokenizer) is sent to every worker once
  per run (``scatter(..., broadcast=True)``: Dask copies it worker to worker) and made
  there once, never per input. Measured for a 1 M-region universe (28 MB pickled) on 2
  local workers: 0.07-0.09 s; a worker plugin carrying it took 0.33 s (it travels through
  the scheduler); each worker building it from the BED path, 0.05 s, would tie the run to
  the universe file staying the same (benchmarks/bench_dask.py).
- **Inputs in groups**: a Dask task costs about a millisecond of scheduling, more than a
  small BED file takes to tokenize, so consecutive keys go to the workers in groups
  (:func:`group_size`); a group's results come back together.
- **A worker that dies**: Dask's nanny restarts it and the scheduler runs its tasks again,
  until a task has been on ``allowed-failures + 1`` dead workers; then it is
  ``KilledWorker``. Dask counts every task *assigned* to a dying worker, not only the one
  running, so gtok gives each input so marked a second chance, alone: its group is split,
  and while such suspects run, no more tasks are in flight than worker threads (one
  each). A suspect marked again fails (:class:`~gtok.batch.engine.WorkerDeath`); the
  others finish. The cluster :meth:`DaskEngine.local` starts sets ``allowed-failures`` to
  1, so an input that kills every worker it runs on fails after four deaths. (A cluster of
  yours keeps its own setting; Dask's default, 3, makes that eight.)
- **Stopping**: a stop hands out nothing more; the tasks in flight finish and are yielded.
  An urgent stop (a second signal) or closing the run cancels them.
- **Files**: outputs are written by the workers, atomically, where the driver names them:
  the workers must see the same file system (a cluster's shared one).
  :meth:`DaskEngine.check_paths` fails clearly when one does not.

Everything that talks to Dask listens where the cluster does; :meth:`DaskEngine.local`
binds to ``127.0.0.1`` with no dashboard.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any

import distributed

from gtok.batch.engine import StopSignal, Task, WorkerDeath, WorkersKeptDying

__all__ = ["DaskEngine", "group_size"]

_POLL = 0.1  # seconds between looks at a stop request
_BLAMED_IN_A_ROW = 10  # (or 2 x jobs) inputs failed by workers' deaths in a row: give up
_RESENT_IN_A_ROW = 50  # groups sent again (their state lost), nothing finished in between
_WORKERS_BACK = 120  # seconds to wait for a worker when none is left
_SCATTER_TRIES = 5
#: keys in a group at most
GROUP_MAX = 64


def group_size(n_keys: int, jobs: int) -> int:
    """Keys per Dask task: about eight tasks per worker thread (so the work still spreads
    evenly, the largest inputs first), at most :data:`GROUP_MAX`.

    >>> group_size(200, 2), group_size(10_000, 2), group_size(5, 4)
    (12, 64, 1)
    """
    return max(1, min(GROUP_MAX, n_keys // (8 * max(1, jobs))))


# on a worker: the states made there, by the key of the scattered (setup, setup_args)
_STATES: dict[str, Any] = {}


def _run_group(made: tuple, name: str, func: Callable[..., Any], group: list) -> list:
    """On a worker: ``func(state, *args)`` for each ``(key, args)`` of ``group``, where
    ``state = setup(*setup_args)`` from ``made``, made once per worker and run."""
    state = _STATES.get(name)
    if state is None:
        setup, setup_args = made
        state = _STATES[name] = setup(*setup_args)
    return [(key, func(state, *args)) for key, args in group]


def _forget(name: str) -> None:
    """On a worker: drop a finished run's state."""
    _STATES.pop(name, None)


def _cannot_use(out_dir: str | None, inputs: list[str]) -> str | None:
    """On a worker: why it cannot write into ``out_dir`` or read ``inputs`` (None: it can)."""
    if out_dir is not None and not os.path.isdir(out_dir):
        return f"no folder {out_dir}"
    if out_dir is not None and not os.access(out_dir, os.W_OK | os.X_OK):
        return f"cannot write into {out_dir}"
    for path in inputs:
        if not os.path.exists(path):
            return f"no input {path}"
    return None


class DaskEngine:
    """Runs tasks on the workers of a ``dask.distributed.Client``.

    Parameters
    ----------
    client : distributed.Client
        A client of the cluster to use; it stays open (the caller's).
    group : int, optional
        Keys per Dask task (default: :func:`group_size`).
    """

    def __init__(self, client: Any, *, group: int | None = None) -> None:
        self.client = client
        self.group = group
        self._owned: list[Any] = []  # what close() closes: a cluster and client it started
        self.jobs = max(1, sum(client.nthreads().values()))

    @classmethod
    def local(cls, jobs: int, **options: Any) -> DaskEngine:
        """A ``LocalCluster`` of ``jobs`` single-threaded worker processes on this machine,
        bound to ``127.0.0.1``, without dashboards; ``allowed-failures`` is 1."""
        import dask

        with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
            cluster = distributed.LocalCluster(
                n_workers=jobs,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                worker_dashboard_address=None,
                # no dashboard; the scheduler's HTTP routes (health) on a free port
                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                **options,
            )
        client = distributed.Client(cluster)
        engine = cls(client)
        engine._owned = [client, cluster]
        return engine

    @classmethod
    def connect(cls, address: str) -> DaskEngine:
        """The cluster whose scheduler is at ``address`` (``tcp://host:port``), or whose
        scheduler file (what ``dask-jobqueue`` and ``dask scheduler --scheduler-file``
        write) is the path ``address``."""
        if os.path.isfile(address):
            client = distributed.Client(scheduler_file=address)
        else:
            client = distributed.Client(address)
        engine = cls(client)
        engine._owned = [client]
        return engine

    def close(self) -> None:
        """Close the client and cluster this engine started (not a client it was given)."""
        for thing in self._owned:
            thing.close()
        self._owned = []

    def __enter__(self) -> DaskEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def check_paths(self, out_dir: str | None, inputs: Sequence[str]) -> None:
        """Raise ``OSError`` naming the workers that cannot write into ``out_dir`` (None:
        nothing to write) or read the first of ``inputs`` (the cluster must share the
        driver's file system)."""
        sample = [os.path.abspath(p) for p in inputs[:1]]
        folder = None if out_dir is None else os.path.abspath(out_dir)
        found = self.client.run(_cannot_use, folder, sample)
        bad = {worker: why for worker, why in found.items() if why is not None}
        if bad:
            listed = "; ".join(f"{worker}: {why}" for worker, why in sorted(bad.items()))
            raise OSError(
                f"{len(bad)} of {len(found)} Dask workers cannot use the paths of this run "
                f"(the workers must see the driver's files, on a shared file system): {listed}"
            )

    def run(
        self,
        task: Task,
        keys: Sequence[int],
        args: Callable[[int], tuple],
        *,
        window: int | None = None,
        stop: StopSignal | None = None,
        on_death: Callable[[int], None] | None = None,
    ) -> _DaskRun:
        self.jobs = max(1, sum(self.client.nthreads().values()))
        group = self.group or group_size(len(keys), self.jobs)
        return _DaskRun(self, task, keys, args, group, window, stop, on_death)


class _DaskRun:
    """One run of :class:`DaskEngine`."""

    def __init__(
        self,
        engine: DaskEngine,
        task: Task,
        keys: Sequence[int],
        args: Callable[[int], tuple],
        group: int,
        window: int | None,
        stop: StopSignal | None,
        on_death: Callable[[int], None] | None,
    ) -> None:
        if window is not None and window < 1:
            raise ValueError(f"window must be at least 1, not {window}")
        self.client = engine.client
        self.jobs = engine.jobs
        self.task, self.args, self.window = task, args, window
        self.stop_signal, self.on_death = stop, on_death
        # groups of keys, in order; a group split after a death goes first, one key each
        self.queue: deque[list[int]] = deque(
            list(keys[i : i + group]) for i in range(0, len(keys), group)
        )
        self.position = {k: i for i, k in enumerate(keys)}
        self.finished: set[int] = set()
        self.due = 0  # the first unfinished position
        self.in_flight: dict[Any, list[int]] = {}  # future -> its keys
        self.suspects: set[int] = set()  # keys that were on workers that died
        self.stopping = False
        self.blamed_in_a_row = 0
        self.made_value = (task.setup, task.setup_args)
        self.made: Any = None  # its future, once scattered to every worker
        self.resent_in_a_row = 0
        self._iter = self._results()

    def __iter__(self) -> Iterator[tuple[int, Any]]:
        return self._iter

    def stop(self) -> None:
        self.stopping = True

    def close(self) -> None:
        self._iter.close()

    def _results(self) -> Generator[tuple[int, Any], None, None]:
        self.made = self._scatter()
        try:
            yield from self._loop()
        finally:
            if self.in_flight:
                self.client.cancel(list(self.in_flight))
                self.in_flight.clear()
            self.client.run(_forget, self.made.key)
            self.made.release()

    def _loop(self) -> Iterator[tuple[int, Any]]:
        stop = self.stop_signal
        while self.in_flight or (self.queue and not self._stopping()):
            if stop is not None and stop.urgent:
                return  # (the futures in flight are cancelled on the way out)
            self._hand_out()
            try:
                done, _ = distributed.wait(
                    list(self.in_flight), timeout=_POLL, return_when="FIRST_COMPLETED"
                )
            except TimeoutError:
                continue
            except distributed.client.FuturesCancelledError:  # (see _collect)
                done = {f for f in self.in_flight if f.status == "cancelled"}
            for future in done:
                yield from self._collect(future, self.in_flight.pop(future))

    def _stopping(self) -> bool:
        if not self.stopping and self.stop_signal is not None and self.stop_signal.requested:
            self.stopping = True
        return self.stopping

    def _hand_out(self) -> None:
        # about two groups per worker thread in flight: each worker has its next one queued;
        # one each while suspects run (so none shares a worker that may die)
        while self.queue and not self._stopping() and len(self.in_flight) < self._most():
            keys = self.queue[0]
            if self.window is not None and self.position[keys[-1]] >= self.due + self.window:
                break
            self.queue.popleft()
            group = [(key, self.args(key)) for key in keys]
            future = self.client.submit(
                _run_group,
                self.made,
                self.made.key,
                self.task.func,
                group,
                pure=False,
                key=f"gtok-{keys[0]}-{uuid.uuid4().hex[:8]}",
            )
            self.in_flight[future] = keys

    def _most(self) -> int:
        suspects = self.suspects and (
            self.queue[0][0] in self.suspects
            or any(keys[0] in self.suspects for keys in self.in_flight.values())
        )
        return self.jobs if suspects else 2 * self.jobs

    def _collect(self, future: Any, keys: list[int]) -> Iterator[tuple[int, Any]]:
        if future.status not in ("finished", "error", "cancelled"):
            self.in_flight[future] = keys  # a result lost with its worker: computed again
            return
        try:
            results = future.result()
        except (distributed.client.FutureCancelledError, distributed.client.FuturesCancelledError):
            # not by this run (it cancels only on its way out): the state it needs was lost
            # with the workers that held it (all of them died); sent again, the keys too
            self._resend(keys)
            return
        except distributed.KilledWorker as error:
            yield from self._killed(keys, error)
            return
        except Exception as error:
            raise RuntimeError(
                f"the Dask workers could not run gtok's task ({type(error).__name__}: {error}); "
                "is gtok installed on the workers, in the same version?"
            ) from error
        self.blamed_in_a_row = 0
        for key, result in results:
            yield from self._finish(key, result)

    def _killed(self, keys: list[int], error: BaseException) -> Iterator[tuple[int, Any]]:
        """``keys`` were on workers that died (:class:`distributed.KilledWorker`)."""
        if len(keys) > 1 or keys[0] not in self.suspects:
            # which one killed the workers? each goes again, alone
            self.suspects.update(keys)
            self.queue.extendleft([key] for key in reversed(keys))
            return
        self.blamed_in_a_row += 1
        if self.on_death is not None:
            self.on_death(keys[0])  # (the half-written output it may leave)
        yield from self._finish(keys[0], WorkerDeath(_death_message(error)))
        limit = max(_BLAMED_IN_A_ROW, 2 * self.jobs)
        if self.blamed_in_a_row >= limit:
            raise WorkersKeptDying(
                f"Dask workers died on {limit} inputs in a row, none finished (a memory "
                "limit below what they need?)",
                True,
                [k for group in self.in_flight.values() for k in group],
            )

    def _resend(self, keys: list[int]) -> None:
        """Hand ``keys`` out again (first), after scattering the state again if it was lost;
        give up when that keeps happening with nothing finished in between."""
        self.resent_in_a_row += 1
        if self.resent_in_a_row > _RESENT_IN_A_ROW:
            raise WorkersKeptDying(
                "the Dask workers kept losing the run's state (workers dying one after another)",
                False,
                keys + [k for group in self.in_flight.values() for k in group],
            )
        # (Dask may not know yet that the state is lost: it is sent again, to the workers
        # there are once one is back)
        self.made = self._scatter()
        self.queue.appendleft(keys)

    def _scatter(self) -> Any:
        """The task's state on every worker; tried again while workers die under it."""
        for attempt in range(_SCATTER_TRIES):
            try:
                self.client.wait_for_workers(1, timeout=_WORKERS_BACK)
                [made] = self.client.scatter([self.made_value], broadcast=True, hash=False)
                return made
            except (OSError, distributed.comm.CommClosedError):
                if attempt == _SCATTER_TRIES - 1:
                    raise
                time.sleep(0.5 * (attempt + 1))
        raise AssertionError("unreachable")

    def _finish(self, key: int, result: Any) -> Iterator[tuple[int, Any]]:
        self.resent_in_a_row = 0
        self.finished.add(self.position[key])
        while self.due in self.finished:
            self.finished.discard(self.due)
            self.due += 1
        yield key, result


def _death_message(error: BaseException) -> str:
    return (
        "WorkerDied: the Dask workers running this input died each time it ran, the last "
        f"time alone ({error}); the out-of-memory killer, or a crash"
    )
