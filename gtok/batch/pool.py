"""A small process pool for `gtok tokenize` (files and `--pack`): one pipe per worker, no
helper threads.

``concurrent.futures.ProcessPoolExecutor`` runs a manager thread and a queue feeder thread
in the parent and passes every task and result through shared queues and locks. For a
batch of short tasks (a BED file takes a few milliseconds) those threads cost the parent
about half a millisecond of CPU per task, on the same cores the workers need. Here the
parent does nothing between tasks but sleep in ``poll``:

- each worker owns one duplex pipe; the parent keeps at most ``depth`` tasks in flight per
  worker (the next one waits in the pipe, so a worker never idles between tasks);
- the parent polls the pipes and the process sentinels with one ``select.poll`` object made
  when the workers start, and reads one reply per ready pipe per wake-up (a worker sends one
  reply a task): a few system calls a task;
- a worker that dies is seen through its process sentinel (or the end of its pipe); the
  pool then reports the tasks it held, its exit code and whether it had finished starting
  (:class:`WorkerDied`, :class:`DeadWorker`: a worker tells the parent when its initializer
  has returned), and the caller decides (it may start another with
  :meth:`ProcessPool.add_worker`);
- workers are daemonic: if the parent exits they are terminated, and the initializer can
  also ask the kernel to kill them with the parent (see ``gtok.batch.engine``).

Tasks are ``(key, args)`` (a key is any hashable but None); ``func(*args)`` runs in a worker
and its return value comes back with the key. With ``with_state=True`` the worker keeps what
its initializer returned (its *state*: the tokenizer, say) and runs ``func(state, *args)``,
so that nothing a task needs has to live in a module global. An exception in ``func`` is
sent back and raised in the parent by :meth:`ProcessPool.wait` (``func`` is expected to
turn bad *inputs* into results itself).
"""

from __future__ import annotations

import collections
import select
from collections.abc import Callable, Hashable, Sequence
from typing import Any, NamedTuple

__all__ = ["DeadWorker", "ProcessPool", "WorkerDied"]


class DeadWorker(NamedTuple):
    """A worker seen to have died."""

    #: the keys it held, in the order they were handed to it; it runs them in that order,
    #: so once it had ``started``, the first is the one it was running
    keys: list
    #: its exit code: ``-N`` when killed by signal N; None if it was not seen to end
    exitcode: int | None
    #: whether its initializer had returned (it died at work, not while starting)
    started: bool


class WorkerDied(Exception):
    """Worker processes ended while they held tasks (killed by a signal, out of memory)."""

    def __init__(
        self,
        dead: Sequence[DeadWorker],
        results: list[tuple[Hashable, Any]],
        unsent: Sequence[Hashable] = (),
    ) -> None:
        #: the workers that died
        self.dead = list(dead)
        #: keys that :meth:`ProcessPool.submit` could not hand out (never started)
        self.unsent = list(unsent)
        #: every key that will not come back: the dead workers' and the unsent ones
        self.keys = [key for d in self.dead for key in d.keys] + self.unsent
        #: results that arrived in the same call, from any worker (to be recorded)
        self.results = results
        super().__init__(
            f"{len(self.dead)} worker process(es) died holding {len(self.keys)} task(s)"
        )


# What a worker sends once its initializer has returned (task keys are never None).
_STARTED = (None, True, None)


def _worker_main(
    conn: Any,
    func: Callable,
    initializer: Callable | None,
    initargs: tuple,
    inherited: list,
    with_state: bool = False,
) -> None:
    """A worker's whole life: initialize, then run tasks until ``None`` or the pipe ends.

    ``inherited``: the parent's ends of the pipes, which a forked worker holds copies of;
    closed, so that when the parent dies the workers' pipes end (and they exit) on every
    system, not only where the kernel can be asked to kill them with it."""
    for end in inherited:
        end.close()
    state = initializer(*initargs) if initializer is not None else None
    lead = (state,) if with_state else ()
    try:
        conn.send(_STARTED)
    except (EOFError, OSError):  # the parent is gone
        return
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        if task is None:
            return
        key, args = task
        try:
            reply = (key, True, func(*lead, *args))
        except Exception as exc:  # a bug, not a bad input: the parent raises it
            reply = (key, False, exc)
        try:
            conn.send(reply)
        except (EOFError, OSError):  # the parent is gone
            return
        except Exception as exc:  # an unpicklable result or exception
            conn.send((key, False, RuntimeError(f"worker could not send its result: {exc!r}")))


class _Worker:
    __slots__ = ("process", "conn", "tasks", "started")

    def __init__(self, process: Any, conn: Any) -> None:
        self.process = process
        self.conn = conn
        self.tasks: collections.deque = collections.deque()  # keys in flight, in order
        self.started = False  # its initializer has returned


class ProcessPool:
    """``jobs`` worker processes started from the multiprocessing context ``ctx``.

    Use as a context manager: leaving it stops the workers (politely if they are idle;
    see :meth:`close`).
    """

    def __init__(
        self,
        jobs: int,
        ctx: Any,
        func: Callable,
        *,
        initializer: Callable | None = None,
        initargs: tuple = (),
        with_state: bool = False,
        depth: int = 2,
    ) -> None:
        self.depth = depth
        self.workers: list[_Worker] = []
        self._ended: list[_Worker] = []  # dead ones not seen to end; all, once the pool ends
        self._poller = select.poll()
        self._fds: dict[int, tuple[_Worker, bool]] = {}  # fd -> (worker, is its sentinel)
        self._start = (ctx, func, initializer, initargs, with_state)
        try:
            for _ in range(jobs):
                self.add_worker()
        except BaseException:
            self.kill()
            raise

    def add_worker(self) -> None:
        """Start one more worker (to take the place of one that died)."""
        ctx, func, initializer, initargs, with_state = self._start
        parent_end, child_end = ctx.Pipe(duplex=True)
        inherited = (
            [w.conn for w in self.workers] + [parent_end]
            if ctx.get_start_method() == "fork"
            else []
        )
        process = ctx.Process(
            target=_worker_main,
            daemon=True,
            args=(child_end, func, initializer, initargs, inherited, with_state),
        )
        try:
            process.start()
        except BaseException:
            parent_end.close()
            raise
        finally:
            child_end.close()  # so that the worker's death ends the parent's pipe
        worker = _Worker(process, parent_end)
        self.workers.append(worker)
        for fd, is_sentinel in ((parent_end.fileno(), False), (process.sentinel, True)):
            self._fds[fd] = (worker, is_sentinel)
            self._poller.register(fd, select.POLLIN)

    def __enter__(self) -> ProcessPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ tasks

    @property
    def free_slots(self) -> int:
        """How many more tasks can be handed out without exceeding ``depth`` per worker."""
        return sum(self.depth - len(w.tasks) for w in self.workers)

    @property
    def idle_workers(self) -> int:
        """How many live workers hold no task."""
        return sum(1 for w in self.workers if not w.tasks)

    @property
    def in_flight(self) -> list[Hashable]:
        """Keys of the tasks handed out and not yet returned."""
        return [key for w in self.workers for key in w.tasks]

    def submit(self, key: Hashable, args: tuple) -> None:
        """Hand a task to the worker with the fewest in flight (call when ``free_slots``).
        Raises :class:`WorkerDied` when that worker is gone (its tasks, and this one, are
        the exception's keys)."""
        worker = min(self.workers, key=lambda w: len(w.tasks))
        try:
            worker.conn.send((key, args))
        except OSError:  # the worker died since the last wait (its pipe is broken)
            # what it sent before it died is kept (and not blamed on it)
            results: list[tuple[Hashable, Any]] = []
            errors: list[BaseException] = []
            self._collect(worker, results, errors)
            dead = self._bury(worker)
            if errors:
                raise errors[0] from None
            raise WorkerDied([dead], results, unsent=[key]) from None
        worker.tasks.append(key)

    def ready(self) -> list[tuple[Hashable, Any]]:
        """Results already waiting in the live workers' pipes (no wait): after a worker's
        death, what the others finished is still recorded."""
        results: list[tuple[Hashable, Any]] = []
        errors: list[BaseException] = []  # (not raised here: the run is stopping anyway)
        for w in self.workers:
            self._collect(w, results, errors)  # a dead one keeps its tasks in in_flight
        return results

    def wait(self, timeout: float | None) -> list[tuple[Hashable, Any]]:
        """Results that arrived within ``timeout`` seconds, as ``(key, value)`` pairs.

        Raises :class:`WorkerDied` when a worker has ended (it carries the results that
        did arrive), and re-raises an exception that ``func`` raised.
        """
        events = self._poller.poll(None if timeout is None else max(0, round(timeout * 1000)))
        results: list[tuple[Hashable, Any]] = []
        errors: list[BaseException] = []
        dead: list[_Worker] = []
        for fd, event in events:
            worker, is_sentinel = self._fds[fd]
            if worker in dead:
                continue
            if is_sentinel or event != select.POLLIN:
                # it ended (or its pipe did): keep what it sent before, then it is dead
                self._collect(worker, results, errors)
                dead.append(worker)
            elif not self._receive(worker, results, errors):
                dead.append(worker)
        if errors:
            raise errors[0]
        if dead:
            raise WorkerDied([self._bury(w) for w in dead], results)
        return results

    @staticmethod
    def _receive(worker: _Worker, results: list, errors: list) -> bool:
        """Read one reply from a pipe that has data; False when the pipe has ended."""
        try:
            key, ok, value = worker.conn.recv()
        except (EOFError, OSError):
            return False
        if key is None:  # _STARTED
            worker.started = True
            return True
        worker.tasks.remove(key)
        if ok:
            results.append((key, value))
        else:
            errors.append(value)
        return True

    @classmethod
    def _collect(cls, worker: _Worker, results: list, errors: list) -> bool:
        """Read every reply waiting in the worker's pipe; False when the pipe has ended."""
        while True:
            try:
                if not worker.conn.poll():
                    return True
            except (EOFError, OSError):
                return False
            if not cls._receive(worker, results, errors):
                return False

    def _bury(self, worker: _Worker) -> DeadWorker:
        """Take a dead worker out of the live ones (its replies read already); what it held."""
        self.workers.remove(worker)
        for fd in (worker.conn.fileno(), worker.process.sentinel):
            self._poller.unregister(fd)
            del self._fds[fd]
        worker.conn.close()  # (a worker started later must not inherit it)
        worker.process.join(timeout=1.0)  # its pipe ends as it exits: at once
        exitcode = worker.process.exitcode
        if exitcode is None:  # (not seen to end: killed when the pool ends)
            self._ended.append(worker)
        else:
            worker.process.close()  # its descriptors, now: a long run may replace many
        dead = DeadWorker(list(worker.tasks), exitcode, worker.started)
        worker.tasks.clear()
        return dead

    # ------------------------------------------------------------------ ending

    def kill(self) -> None:
        """Kill every worker at once (their files in progress are never renamed into place)."""
        for w in self.workers + self._ended:
            if w.process.is_alive():
                w.process.kill()
        for w in self.workers + self._ended:
            w.process.join()
            w.conn.close()
            w.tasks.clear()
        self._all_ended()

    def close(self) -> None:
        """Stop the workers: idle ones are told to exit; any still holding tasks, or not
        exiting, are killed. Call :meth:`wait` until ``in_flight`` is empty first to keep
        their results."""
        for w in self.workers:
            if not w.tasks and w.process.is_alive():
                try:
                    w.conn.send(None)
                except OSError:
                    pass
        for w in self.workers:
            if w.tasks:
                w.process.kill()
        for w in self.workers + self._ended:
            w.process.join(timeout=5)
            if w.process.is_alive():  # pragma: no cover - stuck in a system call
                w.process.kill()
                w.process.join()
            w.conn.close()
        self._all_ended()

    def _all_ended(self) -> None:
        """Every worker has been stopped: none is live, none is polled."""
        self._ended += self.workers
        self.workers = []
        self._poller = select.poll()
        self._fds.clear()
