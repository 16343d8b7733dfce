"""The Dask engine: a batch's work on a ``dask.distributed`` cluster (needs ``gtok[dask]``).

:class:`DaskEngine` runs a :class:`~gtok.batch.engine.Task` on the workers of a Dask
``Client``: the SLURM/PBS cluster ``dask-jobqueue`` starts, a Kubernetes one, or a
``LocalCluster`` (:meth:`DaskEngine.local`). The job -- what to tokenize, the manifest,
``--resume``, ``--shard``, ``--fail-fast``, signals -- stays on the driver
(:mod:`gtok.batch.run`, :mod:`gtok.batch.packing`), as with the local engine; the
engine follows the rules of :mod:`gtok.batch.engine`, with Dask's own way of seeing
deaths:

- **State once per worker**: the task's state (the tokenizer) is sent to every worker once
  per run (``scatter(..., broadcast=True)``) and made there once, never per input.
  Measured for a 1 M-region universe (28 MB pickled) on 2 local workers: 0.04-0.06 s
  straight to the workers, 0.06-0.09 s through the scheduler; a worker plugin carrying it
  took 0.33 s (it travels through the scheduler); each worker building it from the BED
  path, 0.05 s, would tie the run to the universe file staying the same
  (benchmarks/bench_dask.py).
- **Inputs in groups**: a Dask task costs a few milliseconds of CPU (client, scheduler and
  worker together: 3-5 ms measured on 2 local workers), more than a small BED file takes to
  tokenize, so consecutive keys go to the workers in groups, sized as the run goes
  (:func:`group_size`): the keys left / (2 x worker threads), at most :data:`GROUP_MAX`,
  so the groups shrink towards the end and the workers finish together; the first ones
  small (2, 4, 8... keys) until results tell how long a key takes, then from 0.1 s to
  1 s of work each (0.1 s: groups of 25 ms left the run 1.19x the local pool's time on
  200 files, 0.1 s 1.12x, 0.2 s 1.21x, the tail then unbalanced). Groups handed out
  together are submitted together, and results that arrived together are fetched
  together (from the workers directly when they listen on this machine's loopback).
  With a ``window`` (an in-order consumer's), groups never reach past it.
- **A worker that dies**: Dask's nanny restarts it and the scheduler runs its tasks again,
  until a task has been on ``allowed-failures + 1`` dead workers; then it is
  ``KilledWorker``. Dask counts every task *assigned* to a dying worker, not only the one
  running, so gtok gives each input so marked a second chance, alone: its group is split,
  and while such suspects run, no more tasks are in flight than worker threads (one
  each). A suspect marked again fails (:class:`~gtok.batch.engine.WorkerDeath`); the
  others finish. The cluster :meth:`DaskEngine.local` starts sets ``allowed-failures`` to
  1, so an input that kills every worker it runs on fails after four deaths. (A cluster of
  yours keeps its own setting; Dask's default, 3, makes that eight.)
- **Stopping**: :meth:`_DaskRun.stop` (``--fail-fast``) hands out nothing more; the tasks
  in flight finish and are yielded. A stop *signal* (Ctrl-C, SIGTERM on the driver) or
  closing the run cancels the tasks in flight at once: their inputs stay ``pending`` for
  ``--resume`` (a task already running finishes on its worker; outputs are atomic).
- **Bookkeeping** shared with the Ray engine (order, window, suspects): :mod:`gtok.batch.keyqueue`.
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
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any

import distributed

from gtok.batch.engine import BaseRun, StopSignal, Task, WorkerDeath, WorkersKeptDying
from gtok.batch.keyqueue import KeyQueue, cannot_use

__all__ = ["DaskEngine", "group_size"]

_POLL = 0.1  # seconds between looks at a stop request
_RESENT_IN_A_ROW = 50  # groups sent again (their state lost), nothing finished in between
_WORKERS_BACK = 120  # seconds to wait for a worker when none is left
_SCATTER_TRIES = 5
#: keys in a group at most
GROUP_MAX = 256
_GUIDED = 2  # a group: the keys not yet handed out / (2 x worker threads)...
_GROUP_SECONDS = 1.0  # ... about this much work at most, once the first results tell
_GROUP_SECONDS_MIN = 0.1  # and at least this much (a task costs a few ms of CPU)


def group_size(n_left: int, jobs: int) -> int:
    """Keys in the next Dask task, ``n_left`` keys not yet handed out: their share of two
    tasks per worker thread, so groups shrink as the run ends, at most :data:`GROUP_MAX`
    (the run also bounds a group by its work, once known).

    >>> group_size(200, 2), group_size(10_000, 2), group_size(5, 4)
    (50, 256, 1)
    """
    return max(1, min(GROUP_MAX, -(-n_left // (_GUIDED * max(1, jobs)))))


# on a worker: the states made there, by the key of the scattered (setup, setup_args)
_STATES: dict[str, Any] = {}


def _run_group(made: tuple, name: str, func: Callable[..., Any], group: list) -> tuple[float, list]:
    """On a worker: ``func(state, *args)`` for each ``(key, args)`` of ``group``, where
    ``state = setup(*setup_args)`` from ``made``, made once per worker and run; with the
    seconds the group took."""
    start = time.perf_counter()
    state = _STATES.get(name)
    if state is None:
        setup, setup_args = made
        state = _STATES[name] = setup(*setup_args)
    results = [(key, func(state, *args)) for key, args in group]
    return time.perf_counter() - start, results


def _forget(name: str) -> None:
    """On a worker: drop a finished run's state."""
    _STATES.pop(name, None)


class DaskEngine:
    """Runs tasks on the workers of a ``dask.distributed.Client``.

    Parameters
    ----------
    client : distributed.Client
        A client of the cluster to use; it stays open (the caller's).
    group : int, optional
        Keys per Dask task, fixed (default: sized as the run goes, see :func:`group_size`).
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
        driver's file system). A worker that cannot answer (it died, or is leaving) is not
        counted: the run goes on with the others, and a worker that replaces it runs the
        same tasks, whose failures are reported per input."""
        sample = [os.path.abspath(p) for p in inputs[:1]]
        folder = None if out_dir is None else os.path.abspath(out_dir)
        found = self.client.run(cannot_use, folder, sample, on_error="return")
        found = {w: why for w, why in found.items() if not isinstance(why, BaseException)}
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
        return _DaskRun(self, task, keys, args, self.group, window, stop, on_death)


class _DaskRun(BaseRun):
    """One run of :class:`DaskEngine`."""

    def __init__(
        self,
        engine: DaskEngine,
        task: Task,
        keys: Sequence[int],
        args: Callable[[int], tuple],
        group: int | None,
        window: int | None,
        stop: StopSignal | None,
        on_death: Callable[[int], None] | None,
    ) -> None:
        self.queue = KeyQueue(keys, window)
        self.client = engine.client
        self.jobs = engine.jobs
        self.direct = _direct(engine.client)
        self.task, self.args, self.window = task, args, window
        self.stop_signal, self.on_death = stop, on_death
        self.group = group  # keys per task, or None: sized as the run goes (_group_size)
        self.in_flight: dict[Any, list[int]] = {}  # future -> its keys
        self.stopping = False
        self.handed_out = 0  # groups
        self.work = [0.0, 0]  # seconds the workers spent on groups, and their keys
        self.made_value = (task.setup, task.setup_args)
        self.made: Any = None  # its future, once scattered to every worker
        self.resent_in_a_row = 0
        self._iter = self._results()

    def _results(self) -> Generator[tuple[int, Any], None, None]:
        self.made = self._scatter()
        try:
            yield from self._loop()
        finally:
            if self.in_flight:
                self.client.cancel(list(self.in_flight))
                self.in_flight.clear()
            # a worker killed during the run may still be listed: what it held is gone
            # with it, so an error from it (or from any worker) changes nothing here
            self.client.run(_forget, self.made.key, on_error="ignore")
            self.made.release()

    def _loop(self) -> Iterator[tuple[int, Any]]:
        stop = self.stop_signal
        while self.in_flight or (self.queue and not self.stopping_now()):
            if stop is not None and stop.requested:
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
            yield from self._collect_all(done)

    def _hand_out(self) -> None:
        # about two groups per worker thread in flight: each worker has its next one queued;
        # one each while suspects run (so none shares a worker that may die)
        groups: list[list[int]] = []
        while (
            self.queue
            and not self.stopping_now()
            and len(self.in_flight) + len(groups) < self._most(groups)
        ):
            keys = self._next_group()
            if keys is None:
                break
            groups.append(keys)
        if not groups:
            return
        names = [f"gtok-{keys[0]}-{uuid.uuid4().hex[:8]}" for keys in groups]
        if len(groups) == 1:
            futures = [
                self.client.submit(
                    _run_group,
                    self.made,
                    self.made.key,
                    self.task.func,
                    [(key, self.args(key)) for key in groups[0]],
                    pure=False,
                    key=names[0],
                )
            ]
        else:
            n = len(groups)
            futures = self.client.map(
                _run_group,
                [self.made] * n,
                [self.made.key] * n,
                [self.task.func] * n,
                [[(key, self.args(key)) for key in keys] for keys in groups],
                pure=False,
                key=names,
            )
        for future, keys in zip(futures, groups):
            self.in_flight[future] = keys

    def _next_group(self) -> list[int] | None:
        """The keys to hand out next (None: none within the window)."""
        keys = self.queue.take(self._group_size())
        if keys is not None:
            self.handed_out += 1
        return keys

    def _group_size(self) -> int:
        if self.group is not None:
            return self.group
        size = group_size(self.queue.left(), self.jobs)
        seconds, done = self.work
        if not done:  # before the first result: 2, 4, 8... keys
            size = min(size, 2 << self.handed_out)
        elif seconds > 0:  # from _GROUP_SECONDS_MIN to _GROUP_SECONDS of work
            per_key = seconds / done
            size = min(size, int(_GROUP_SECONDS / per_key))
            size = max(size, min(GROUP_MAX, int(_GROUP_SECONDS_MIN / per_key)))
        if self.window is not None:
            size = min(size, self.window // (2 * self.jobs))
        return max(1, size)

    def _most(self, groups: list[list[int]]) -> int:
        suspects = (
            self.queue.next_is_suspect()
            or any(self.queue.is_suspect(keys) for keys in self.in_flight.values())
            or any(self.queue.is_suspect(keys) for keys in groups)
        )
        return self.jobs if suspects else 2 * self.jobs

    def _collect_all(self, done: Any) -> Iterator[tuple[int, Any]]:
        """The results of the futures ``done``: those finished fetched together."""
        finished = [f for f in done if f.status == "finished"]
        if len(finished) > 1 or (finished and self.direct):
            try:
                values = self.client.gather(finished, direct=self.direct)
            except Exception:  # (lost, or failed since: each is looked at alone below)
                pass
            else:
                for future, value in zip(finished, values):
                    yield from self._done(self.in_flight.pop(future), value)
        for future in done:
            if future in self.in_flight:
                yield from self._collect(future, self.in_flight.pop(future))

    def _done(self, keys: list[int], value: tuple[float, list]) -> Iterator[tuple[int, Any]]:
        seconds, results = value
        self.work[0] += seconds
        self.work[1] += len(results)
        for key, result in results:
            yield from self._finish(key, result)

    def _collect(self, future: Any, keys: list[int]) -> Iterator[tuple[int, Any]]:
        if future.status not in ("finished", "error", "cancelled"):
            self.in_flight[future] = keys  # a result lost with its worker: computed again
            return
        try:
            value = future.result()
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
        yield from self._done(keys, value)

    def _killed(self, keys: list[int], error: BaseException) -> Iterator[tuple[int, Any]]:
        """``keys`` were on workers that died (:class:`distributed.KilledWorker`)."""
        if not self.queue.lost(keys):
            return  # (they go again, alone)
        if self.on_death is not None:
            self.on_death(keys[0])  # (the half-written output it may leave)
        self.queue.done(keys[0], blamed=True)
        yield keys[0], WorkerDeath(_death_message(error))
        limit = self.queue.gave_up(self.jobs)
        if limit:
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
        self.queue.again(keys)

    def _scatter(self) -> Any:
        """The task's state on every worker; tried again while workers die under it."""
        for attempt in range(_SCATTER_TRIES):
            try:
                self.client.wait_for_workers(1, timeout=_WORKERS_BACK)
                [made] = self.client.scatter(
                    [self.made_value], broadcast=True, hash=False, direct=self.direct
                )
                return made
            except (OSError, distributed.comm.CommClosedError):
                if attempt == _SCATTER_TRIES - 1:
                    raise
                time.sleep(0.5 * (attempt + 1))
        raise AssertionError("unreachable")

    def _finish(self, key: int, result: Any) -> Iterator[tuple[int, Any]]:
        self.resent_in_a_row = 0
        self.queue.done(key)
        yield key, result


def _direct(client: Any) -> bool:
    """Whether the client talks to the workers itself (not through the scheduler): when
    it was made so, or when every worker listens on this machine's loopback."""
    if client.direct_to_workers is not None:
        return bool(client.direct_to_workers)
    try:
        workers = client.scheduler_info()["workers"]
    except Exception:  # pragma: no cover - no scheduler identity yet
        return False
    return bool(workers) and all(_loopback(address) for address in workers)


def _loopback(address: str) -> bool:
    host = address.split("://", 1)[-1].rsplit(":", 1)[0].strip("[]")
    return host in ("127.0.0.1", "localhost", "::1") or address.startswith("inproc://")


def _death_message(error: BaseException) -> str:
    return (
        "WorkerDied: the Dask workers running this input died each time it ran, the last "
        f"time alone ({error}); the out-of-memory killer, or a crash"
    )
