"""Which engine runs a batch: the ``engine=`` argument of the batch API, resolved.

- ``None`` or ``"local"``: this machine's worker processes (:class:`~gtok.batch.engine.
  LocalEngine`, ``jobs`` of them);
- a ``dask.distributed.Client``: its cluster (:class:`~gtok.batch.dask_engine.DaskEngine`);
- ``"dask"``: the cluster at ``address``, or a ``LocalCluster`` of ``jobs`` workers on
  this machine, started for the run and closed after it;
- ``"ray"``: the Ray cluster at ``address``, the Ray this process runs already, or a Ray
  of ``jobs`` CPUs on this machine, started for the run and shut down after it
  (:class:`~gtok.batch.ray_engine.RayEngine`);
- an object with the engine's ``run`` method (:class:`~gtok.batch.engine.Engine`): itself.

>>> resolve_engine(None, 2).engine.jobs
2
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

from gtok.batch.engine import Engine, LocalEngine

__all__ = ["ResolvedEngine", "resolve_engine", "ENGINE_NAMES"]

#: the engines named by a string
ENGINE_NAMES = ("local", "dask", "ray")


@dataclass
class ResolvedEngine:
    """An engine, whether it runs on this machine's processes, and what to close after."""

    engine: Any
    local: bool
    owned: list[Any] = field(default_factory=list)

    def check_paths(self, out_dir: str | None, inputs: list[str]) -> None:
        """Fail clearly when the engine's workers cannot use the run's paths."""
        check = getattr(self.engine, "check_paths", None)
        if check is not None:
            check(out_dir, inputs)

    def close(self) -> None:
        for thing in self.owned:
            thing.close()
        self.owned = []


def resolve_engine(
    engine: Any, jobs: int, start_method: str | None = None, address: str | None = None
) -> ResolvedEngine:
    """The engine ``engine`` names (see the module docstring); ``address`` connects
    ``"dask"`` to a running scheduler (``tcp://host:port`` or a scheduler file)."""
    if engine is None or engine == "local":
        if address is not None:
            raise ValueError("an address needs a cluster engine (engine='dask' or 'ray')")
        return ResolvedEngine(LocalEngine(jobs, start_method), local=True)
    if engine == "dask":
        dask_engine = _dask_module()
        made = (
            dask_engine.DaskEngine.connect(address)
            if address is not None
            else dask_engine.DaskEngine.local(jobs)
        )
        return ResolvedEngine(made, local=False, owned=[made])
    if engine == "ray":
        ray_engine = _ray_module()
        if address is not None:
            made = ray_engine.RayEngine.connect(address)
        elif "ray" in sys.modules and sys.modules["ray"].is_initialized():
            made = ray_engine.RayEngine(jobs)
        else:
            made = ray_engine.RayEngine.local(jobs)
        return ResolvedEngine(made, local=False, owned=[made])
    if isinstance(engine, str):
        raise ValueError(
            f"engine must be one of {ENGINE_NAMES}, a Dask Client or an engine, not {engine!r}"
        )
    if _is_dask_client(engine):
        return ResolvedEngine(_dask_module().DaskEngine(engine), local=False)
    if callable(getattr(engine, "run", None)) and hasattr(engine, "jobs"):
        typed: Engine = engine
        return ResolvedEngine(typed, local=isinstance(engine, LocalEngine))
    raise TypeError(
        f"engine must be one of {ENGINE_NAMES}, a dask.distributed.Client or an engine "
        f"(with run() and jobs), not {type(engine).__name__}"
    )


def _is_dask_client(obj: Any) -> bool:
    cls = type(obj)
    return cls.__name__ == "Client" and cls.__module__.split(".")[0] == "distributed"


def _dask_module() -> Any:
    try:
        from gtok.batch import dask_engine
    except ImportError as exc:
        raise _needs("dask", exc) from None
    return dask_engine


def _ray_module() -> Any:
    try:
        from gtok.batch import ray_engine
    except ImportError as exc:
        raise _needs("ray", exc) from None
    return ray_engine


def _needs(extra: str, exc: ImportError) -> ImportError:
    return ImportError(f"the {extra} engine needs its package: pip install 'gtok[{extra}]' ({exc})")
