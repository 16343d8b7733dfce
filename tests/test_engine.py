"""gtok.batch.engine on its own: a Task over keys on LocalEngine's processes (the batch and
pack jobs' own tests cover the rules for dead workers end to end)."""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import time

import pytest

from gtok import pretokenize
from gtok.batch.engine import LocalEngine, Task, WorkerDeath, WorkersKeptDying, as_state

START_METHODS = [m for m in ("fork", "spawn") if m in multiprocessing.get_all_start_methods()]


def _scaled(state: int, x: int) -> tuple[int, int]:
    return state * x, os.getpid()


def _slow_on_zero(state: None, x: int) -> int:
    if x == 0:
        time.sleep(0.3)
    return x


def _killed_by_input(state: None, x: int) -> int:
    os.kill(os.getpid(), signal.SIGKILL)
    return x


@pytest.mark.parametrize("method", START_METHODS)
def test_every_key_once_with_the_workers_state(method):
    run = LocalEngine(2, method).run(Task(_scaled, as_state, (3,)), list(range(40)), lambda k: (k,))
    results = dict(run)
    assert sorted(results) == list(range(40))
    assert all(value == 3 * k for k, (value, _) in results.items())
    assert len({pid for _, pid in results.values()}) == 2


def test_window_bounds_how_far_ahead_keys_go():
    """Key 0 is slow: with a window of 4, no key past 3 is handed out before it is done."""
    run = LocalEngine(2, START_METHODS[0]).run(
        Task(_slow_on_zero, as_state, (None,)), list(range(12)), lambda k: (k,), window=4
    )
    order = [k for k, _ in run]
    assert sorted(order) == list(range(12))
    assert order.index(0) < order.index(4)
    with pytest.raises(ValueError, match="window"):
        LocalEngine(2).run(Task(_slow_on_zero, as_state, (None,)), [1], lambda k: (k,), window=0)


@pytest.mark.skipif("fork" not in START_METHODS, reason="SIGKILL of a forked worker")
def test_inputs_that_kill_their_workers_fail_then_the_run_gives_up():
    run = LocalEngine(2, "fork").run(
        Task(_killed_by_input, as_state, (None,)), list(range(30)), lambda k: (k,)
    )
    seen = []
    with pytest.raises(WorkersKeptDying) as info:
        for key, result in run:
            assert isinstance(result, WorkerDeath) and "SIGKILL" in result.error
            seen.append(key)
    assert len(seen) >= 10 and info.value.inputs_failed, (len(seen), info.value.reason)
    assert "died on 10 inputs in a row" in info.value.reason


def test_stop_hands_out_nothing_more():
    run = LocalEngine(2, START_METHODS[0]).run(
        Task(_scaled, as_state, (1,)), list(range(200)), lambda k: (k,)
    )
    got = []
    for key, _ in run:
        got.append(key)
        run.stop()
    assert 1 <= len(got) <= 4  # at most the tasks already in flight (2 per worker)


def _children() -> list[int]:
    return [p.pid for p in multiprocessing.active_children()]


@pytest.mark.skipif("fork" not in START_METHODS, reason="the default start method")
def test_a_failing_progress_callback_leaves_no_workers_and_no_frozen_collector(tmp_path):
    """An exception while results are recorded (here the progress callback's) ends the
    workers and unfreezes the garbage collector, as leaving the run any other way does."""
    from batchdata import make_universe, write_bed

    src = tmp_path / "src"
    for k in range(12):
        write_bed(src / f"s{k:02d}.bed", 200, k)
    calls = []

    def progress(result, done, total):
        calls.append(done)
        if len(calls) == 2:
            raise RuntimeError("progress display broke")

    frozen = gc.get_freeze_count()  # (not 0 at start-up on Python 3.12+)
    with pytest.raises(RuntimeError, match="progress display broke"):
        pretokenize(
            str(make_universe(tmp_path / "u.bed")),
            [str(src)],
            tmp_path / "out",
            jobs=3,
            start_method="fork",
            progress=progress,
        )
    assert gc.get_freeze_count() == frozen
    deadline = time.monotonic() + 5
    while _children() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _children() == []
