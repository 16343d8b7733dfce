"""The batch command's process pool (``gtok.batch.pool``): results, errors, dead workers.

The batch-level behaviour (signals, killed workers, resume) is tested end to end in
``test_batch_signals.py``; these tests pin the pool's own contract with stdlib functions
(importable under every start method).
"""

from __future__ import annotations

import multiprocessing
import operator
import os
import signal
import time

import pytest

from gtok.batch.pool import DeadWorker, ProcessPool, WorkerDied

METHODS = [
    m for m in ("fork", "spawn", "forkserver") if m in multiprocessing.get_all_start_methods()
]


def run_all(pool: ProcessPool, tasks: dict) -> dict:
    queue = list(tasks.items())
    got = {}
    deadline = time.monotonic() + 60
    while queue or pool.in_flight:
        while queue and pool.free_slots:
            key, args = queue.pop()
            pool.submit(key, args)
        for key, value in pool.wait(0.1):
            assert key not in got
            got[key] = value
        assert time.monotonic() < deadline, "pool did not finish"
    return got


@pytest.mark.parametrize("method", METHODS)
def test_every_task_comes_back_once_with_its_key(method):
    ctx = multiprocessing.get_context(method)
    tasks = {i: (i, 7) for i in range(50)}
    with ProcessPool(2, ctx, operator.mul) as pool:
        got = run_all(pool, tasks)
        procs = [w.process for w in pool.workers]
    assert got == {i: i * 7 for i in range(50)}
    assert all(p.exitcode == 0 for p in procs)  # told to stop, not killed


def test_depth_bounds_the_tasks_in_flight():
    ctx = multiprocessing.get_context(METHODS[0])
    with ProcessPool(3, ctx, operator.add, depth=2) as pool:
        assert pool.free_slots == 6
        for i in range(6):
            pool.submit(i, (i, 1))
        assert pool.free_slots == 0
        assert sorted(pool.in_flight) == list(range(6))
        # the tasks are spread: each worker holds two
        assert [len(w.tasks) for w in pool.workers] == [2, 2, 2]
        got = {}
        while pool.in_flight:
            got.update(pool.wait(1.0))
    assert got == {i: i + 1 for i in range(6)}


def test_an_exception_in_the_function_is_raised_in_the_parent():
    ctx = multiprocessing.get_context(METHODS[0])
    with ProcessPool(2, ctx, operator.truediv) as pool:
        pool.submit("ok", (1, 2))
        pool.submit("bad", (1, 0))
        got = {}
        with pytest.raises(ZeroDivisionError):
            for _ in range(100):
                got.update(pool.wait(0.1))
        # the worker that raised is still alive and usable
        pool.submit("again", (3, 1))
        while pool.in_flight:
            got.update(pool.wait(0.1))
    assert got["again"] == 3.0


def test_a_killed_worker_is_reported_with_the_tasks_it_held():
    ctx = multiprocessing.get_context(METHODS[0])
    pool = ProcessPool(2, ctx, time.sleep)
    try:
        pool.submit("slow-a", (60,))
        pool.submit("slow-b", (60,))
        victim = next(w for w in pool.workers if "slow-a" in w.tasks)
        os.kill(victim.process.pid, signal.SIGKILL)
        with pytest.raises(WorkerDied) as info:
            for _ in range(100):
                pool.wait(0.1)
        assert info.value.keys == ["slow-a"]
        assert info.value.dead[0].exitcode == -signal.SIGKILL
        assert pool.in_flight == ["slow-b"]  # the other worker still holds its task
        assert len(pool.workers) == 1
    finally:
        t0 = time.monotonic()
        pool.kill()
        assert time.monotonic() - t0 < 10


@pytest.mark.parametrize("method", METHODS)
def test_a_dead_worker_is_reported_with_its_tasks_in_order_and_can_be_replaced(method):
    """The first task a dead worker held is the one it was running; its exit code says how
    it ended; a worker started in its place does the work (under every start method)."""
    ctx = multiprocessing.get_context(method)
    pool = ProcessPool(1, ctx, time.sleep)
    try:
        pool.submit("running", (60,))
        pool.submit("queued", (0,))
        victim_pid = pool.workers[0].process.pid
        time.sleep(0.2)
        os.kill(victim_pid, signal.SIGKILL)
        with pytest.raises(WorkerDied) as info:
            for _ in range(100):
                pool.wait(0.1)
        assert info.value.dead == [DeadWorker(["running", "queued"], -signal.SIGKILL, True)]
        assert info.value.unsent == [] and info.value.keys == ["running", "queued"]
        assert pool.workers == [] and pool.free_slots == 0
        pool.add_worker()
        assert pool.workers[0].process.pid != victim_pid
        pool.submit("again", (0,))
        got = []
        for _ in range(100):
            got += pool.wait(0.1)
            if got:
                break
        assert got == [("again", None)]
    finally:
        pool.close()


@pytest.mark.parametrize("method", METHODS)
def test_replies_sent_just_before_a_worker_dies_are_kept(method):
    """A reply, the pipe's end and the process's end can arrive in the same poll: the
    reply is still delivered (with the WorkerDied, or before it)."""
    ctx = multiprocessing.get_context(method)
    pool = ProcessPool(1, ctx, eval)
    try:
        pool.submit("a", ("6 * 7",))
        pool.submit("b", ("__import__('os')._exit(3)",))
        time.sleep(0.5)  # both done before the parent looks
        got = []
        with pytest.raises(WorkerDied) as info:
            for _ in range(100):
                got += pool.wait(0.1)
        got += info.value.results
        assert got == [("a", 42)]
        assert info.value.keys == ["b"]
    finally:
        pool.kill()


def test_close_kills_workers_that_still_hold_tasks():
    ctx = multiprocessing.get_context(METHODS[0])
    pool = ProcessPool(1, ctx, time.sleep)
    pool.submit("stuck", (60,))
    proc = pool.workers[0].process
    t0 = time.monotonic()
    pool.close()
    assert time.monotonic() - t0 < 10
    assert proc.exitcode == -signal.SIGKILL


def test_a_failing_initializer_is_a_dead_worker_that_never_started():
    ctx = multiprocessing.get_context(METHODS[0])
    pool = ProcessPool(1, ctx, operator.add, initializer=operator.truediv, initargs=(1, 0))
    try:
        pool.submit("x", (1, 1))
        with pytest.raises(WorkerDied) as info:
            for _ in range(100):
                pool.wait(0.1)
        assert info.value.dead == [DeadWorker(["x"], 1, False)]  # (exit status 1)
    finally:
        pool.kill()


def _waiting_for_a_task(pid: int) -> bool:
    """The worker sleeps reading its pipe: the task written to it before this is called
    has been read and answered (with data in the pipe it would not sleep there)."""
    with open(f"/proc/{pid}/wchan") as f:
        reading = "read" in f.read()
    with open(f"/proc/{pid}/stat") as f:
        state = f.read().rsplit(")", 1)[1].split()
    return reading and state[0] == "S"


@pytest.mark.skipif(not os.path.exists("/proc/self/wchan"), reason="Linux /proc")
def test_replies_waiting_when_submit_finds_the_worker_dead_are_kept():
    """A worker finishes a task, its reply waits unread, then it dies idle: the task comes
    back as a result, not as a task the dead worker held."""
    ctx = multiprocessing.get_context(METHODS[0])
    pool = ProcessPool(1, ctx, operator.add)
    try:
        pool.submit("a", (1, 2))
        proc = pool.workers[0].process
        # done, its reply in the pipe: it waits for the next task (Linux: its wait channel)
        deadline = time.monotonic() + 30
        while not _waiting_for_a_task(proc.pid):
            assert time.monotonic() < deadline, "the worker did not finish its task"
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.join()
        with pytest.raises(WorkerDied) as info:
            for i in range(10):  # the pipe may take a send or two to break
                pool.submit(i, (1, 1))
        assert ("a", 3) in info.value.results
        assert "a" not in info.value.keys
    finally:
        pool.kill()


def test_dead_workers_release_their_descriptors():
    """A long run may replace many dead workers: each one's pipe and process descriptors
    are closed when it is seen dead, not when the pool ends."""
    ctx = multiprocessing.get_context(METHODS[0])
    pool = ProcessPool(1, ctx, time.sleep)
    try:

        def open_fds() -> int:
            return len(os.listdir("/proc/self/fd"))

        for round_ in range(12):
            if round_ == 2:
                before = open_fds()
            pool.submit(round_, (60,))
            os.kill(pool.workers[0].process.pid, signal.SIGKILL)
            with pytest.raises(WorkerDied):
                for _ in range(100):
                    pool.wait(0.1)
            pool.add_worker()
        assert open_fds() <= before
    finally:
        pool.kill()


def test_a_task_for_a_worker_that_just_died_is_a_dead_worker():
    ctx = multiprocessing.get_context(METHODS[0])
    pool = ProcessPool(1, ctx, operator.add)
    try:
        proc = pool.workers[0].process
        os.kill(proc.pid, signal.SIGKILL)
        proc.join()
        with pytest.raises(WorkerDied) as info:
            for i in range(10):  # the pipe may take a send or two to break
                pool.submit(i, (1, 1))
        assert info.value.unsent == [i]  # never started
        [dead] = info.value.dead
        assert dead.keys == list(range(i)) and dead.exitcode == -signal.SIGKILL
        assert info.value.keys == list(range(i + 1))
    finally:
        pool.kill()


@pytest.mark.skipif("fork" not in METHODS, reason="fork only")
def test_forked_workers_exit_when_the_parent_end_of_their_pipe_closes():
    """A forked worker must not hold the parent's ends of the other workers' pipes: when
    the parent is gone (here: its end closed), each worker's pipe ends and it exits, even
    where the kernel cannot be asked to kill it with the parent."""
    ctx = multiprocessing.get_context("fork")
    pool = ProcessPool(3, ctx, operator.add)
    try:
        for w in pool.workers:
            w.conn.close()
        for w in pool.workers:
            w.process.join(timeout=10)
            assert w.process.exitcode == 0
    finally:
        pool.kill()
