"""The Ray engine: a batch's work on a Ray cluster (needs ``gtok[ray]``).

:class:`RayEngine` runs a :class:`~gtok.batch.engine.Task` on Ray *actors*, one per CPU it
uses, each holding the task's state (the tokenizer): the state goes into Ray's object store
once (``ray.put``) and each actor makes it once, at its start. The job stays on the driver
(:mod:`gtok.batch.run`, :mod:`gtok.batch.packing`); the engine follows the rules of
:mod:`gtok.batch.engine`:

- **Inputs in groups** (:func:`~gtok.batch.dask_engine.group_size`'s rule), at most two
  groups queued per actor.
- **A worker that dies** (an actor's process killed: the out-of-memory killer, a crash)
  fails the calls queued on it, not only the running one: each input so marked goes again,
  alone, to a new actor that takes the dead one's place (one call per actor while such
  suspects run); marked again, it fails (:class:`~gtok.batch.engine.WorkerDeath`). Ray
  itself retries nothing (``max_restarts=0``).
- **Stopping**: :meth:`_RayRun.stop` (``--fail-fast``) hands out nothing more and lets the
  calls in flight finish. A stop *signal* (Ctrl-C, SIGTERM on the driver) or closing the run
  kills the actors at once: the inputs in flight stay ``pending`` for ``--resume`` (one
  killed while writing leaves no output, and its hidden temporary is removed).
- **Files**: the actors write the outputs where the driver names them: every node must see
  the same file system (:meth:`RayEngine.check_paths` fails clearly when one does not).

:meth:`RayEngine.local` starts Ray on this machine confined to ``127.0.0.1`` (no
dashboard, no usage statistics); :meth:`RayEngine.connect` joins a running cluster.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any

from gtok.batch.engine import BaseRun, StopSignal, Task, WorkerDeath, WorkersKeptDying
from gtok.batch.keyqueue import KeyQueue, cannot_use

__all__ = ["RayEngine"]

_POLL = 0.1  # seconds between looks at a stop request
_GROUP_MAX = 64


def _ray(local: bool) -> Any:
    """Ray, imported; for a local Ray started here, first confined to loopback (Ray reads
    these at import: it would otherwise listen on every interface) and without usage
    statistics, unless set already."""
    if local and "ray" not in sys.modules:
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    return ray


class _Worker:
    """An actor: the task's state, made once, and groups of keys run on it."""

    def __init__(self, made: tuple) -> None:
        setup, setup_args = made
        self.state = setup(*setup_args)

    def run(self, func: Callable[..., Any], group: list) -> list:
        return [(key, func(self.state, *args)) for key, args in group]

    def cannot_use(self, out_dir: str | None, inputs: list[str]) -> str | None:
        return cannot_use(out_dir, inputs)


class RayEngine:
    """Runs tasks on Ray actors, ``jobs`` of them (default: the cluster's CPUs).

    Use :meth:`local` or :meth:`connect` (or a Ray already initialized by the caller:
    ``RayEngine()``).
    """

    def __init__(self, jobs: int | None = None, *, group: int | None = None) -> None:
        self.ray = _ray(local=False)
        if not self.ray.is_initialized():
            raise RuntimeError("Ray is not running: use RayEngine.local() or RayEngine.connect()")
        self.group = group
        self._owned = False
        cpus = int(self.ray.cluster_resources().get("CPU", 1))
        self.jobs = max(1, min(jobs, cpus) if jobs else cpus)

    @classmethod
    def local(cls, jobs: int, **options: Any) -> RayEngine:
        """Ray started on this machine with ``jobs`` CPUs, bound to ``127.0.0.1``, without
        dashboard; shut down by :meth:`close`."""
        ray = _ray(local=True)
        ray.init(
            num_cpus=jobs,
            include_dashboard=False,
            _node_ip_address="127.0.0.1",
            log_to_driver=False,
            **options,
        )
        engine = cls(jobs)
        engine._owned = True
        return engine

    @classmethod
    def connect(cls, address: str, jobs: int | None = None) -> RayEngine:
        """The running Ray cluster at ``address`` (``HOST:PORT`` or ``"auto"``)."""
        ray = _ray(local=False)
        if not ray.is_initialized():
            ray.init(address=address, log_to_driver=False)
        return cls(jobs)

    def close(self) -> None:
        """Shut Ray down if :meth:`local` started it."""
        if self._owned:
            self.ray.shutdown()
            self._owned = False

    def __enter__(self) -> RayEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def check_paths(self, out_dir: str | None, inputs: Sequence[str]) -> None:
        """Raise ``OSError`` when the actors cannot write into ``out_dir`` or read the first
        of ``inputs`` (the cluster must share the driver's file system)."""
        actor_class = self.ray.remote(num_cpus=1)(_Worker)
        probes = [actor_class.remote((_none, ())) for _ in range(self.jobs)]
        try:
            folder = None if out_dir is None else os.path.abspath(out_dir)
            sample = [os.path.abspath(p) for p in inputs[:1]]
            found = self.ray.get([p.cannot_use.remote(folder, sample) for p in probes])
        finally:
            for p in probes:
                self.ray.kill(p)
        bad = sorted({why for why in found if why is not None})
        if bad:
            raise OSError(
                f"Ray workers cannot use the paths of this run (the workers must see the "
                f"driver's files, on a shared file system): {'; '.join(bad)}"
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
    ) -> _RayRun:
        group = self.group or max(1, min(_GROUP_MAX, len(keys) // (8 * self.jobs)))
        return _RayRun(self, task, keys, args, group, window, stop, on_death)


def _none() -> None:
    return None


class _RayRun(BaseRun):
    """One run of :class:`RayEngine`."""

    def __init__(
        self,
        engine: RayEngine,
        task: Task,
        keys: Sequence[int],
        args: Callable[[int], tuple],
        group: int,
        window: int | None,
        stop: StopSignal | None,
        on_death: Callable[[int], None] | None,
    ) -> None:
        self.queue = KeyQueue(keys, window)
        self.group = group
        self.ray = engine.ray
        self.jobs = min(engine.jobs, max(1, len(keys)))
        self.task, self.args = task, args
        self.stop_signal, self.on_death = stop, on_death
        self.in_flight: dict[Any, tuple[Any, list[int]]] = {}  # ref -> (actor, keys)
        self.actors: list[Any] = []
        self.stopping = False
        self._iter = self._results()

    def _results(self) -> Generator[tuple[int, Any], None, None]:
        self.made = self.ray.put((self.task.setup, self.task.setup_args))
        self.actor_class = self.ray.remote(num_cpus=1, max_restarts=0)(_Worker)
        self.actors = [self._new_actor() for _ in range(self.jobs)]
        try:
            yield from self._loop()
        finally:
            for actor in self.actors:
                self.ray.kill(actor)
            self.actors = []
            if self.on_death is not None:  # (a killed actor may leave a hidden temporary)
                for _, keys in self.in_flight.values():
                    for key in keys:
                        self.on_death(key)
            self.in_flight.clear()

    def _new_actor(self) -> Any:
        return self.actor_class.remote(self.made)

    def _loop(self) -> Iterator[tuple[int, Any]]:
        stop = self.stop_signal
        while self.in_flight or (self.queue and not self.stopping_now()):
            if stop is not None and stop.requested:
                return  # (the actors are killed on the way out)
            self._hand_out()
            ready, _ = self.ray.wait(list(self.in_flight), num_returns=1, timeout=_POLL)
            for ref in ready:
                actor, keys = self.in_flight.pop(ref)
                yield from self._collect(ref, actor, keys)

    def _hand_out(self) -> None:
        suspects = self.queue.next_is_suspect() or any(
            self.queue.is_suspect(keys) for _, keys in self.in_flight.values()
        )
        most = 1 if suspects else 2  # calls queued per actor
        load = {id(a): 0 for a in self.actors}
        for actor, _ in self.in_flight.values():
            if id(actor) in load:
                load[id(actor)] += 1
        while self.queue and not self.stopping_now():
            actor = min(self.actors, key=lambda a: load[id(a)])
            if load[id(actor)] >= most:
                return
            keys = self.queue.take(self.group)
            if keys is None:
                return
            group = [(key, self.args(key)) for key in keys]
            self.in_flight[actor.run.remote(self.task.func, group)] = (actor, keys)
            load[id(actor)] += 1

    def _collect(self, ref: Any, actor: Any, keys: list[int]) -> Iterator[tuple[int, Any]]:
        exceptions = self.ray.exceptions
        try:
            results = self.ray.get(ref)
        except (exceptions.RayActorError, exceptions.WorkerCrashedError) as error:
            if "creation task" in str(error):  # its state could not be made: no input's doing
                raise RuntimeError(
                    f"the Ray workers could not start gtok's task ({error}); is gtok installed "
                    "on every node, in the same version, and not shadowed by a gtok source "
                    "folder in the driver's working directory?"
                ) from None
            self._replace(actor)
            if self.queue.lost(keys):
                yield from self._failed(keys[0], error)
            return
        except exceptions.RayTaskError as error:
            raise RuntimeError(
                f"the Ray workers could not run gtok's task ({error}); is gtok installed "
                "on every node, in the same version?"
            ) from None
        for key, result in results:
            self.queue.done(key)
            yield key, result

    def _replace(self, actor: Any) -> None:
        for i, a in enumerate(self.actors):
            if a is actor:
                self.actors[i] = self._new_actor()

    def _failed(self, key: int, error: BaseException) -> Iterator[tuple[int, Any]]:
        """``key`` killed its worker again, alone: it fails."""
        if self.on_death is not None:
            self.on_death(key)
        first_line = (str(error).strip().splitlines() or [""])[0]
        self.queue.done(key, blamed=True)
        yield (
            key,
            WorkerDeath(
                "WorkerDied: the Ray worker running this input died each time it ran, the last "
                f"time alone ({type(error).__name__}: {first_line}); the out-of-memory killer, "
                "or a crash"
            ),
        )
        limit = self.queue.gave_up(self.jobs)
        if limit:
            raise WorkersKeptDying(
                f"Ray workers died on {limit} inputs in a row, none finished (a memory limit "
                "below what they need?)",
                True,
                [k for _, group in self.in_flight.values() for k in group],
            )
