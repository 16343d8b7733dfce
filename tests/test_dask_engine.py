"""Batch pretokenization on a Dask cluster (gtok.batch.dask_engine): a ``LocalCluster`` of
two worker processes, bound to 127.0.0.1, shared by the module's tests.

Covered: equality with the local run (bytes and manifest), a malformed input, an input
that kills its workers, a worker killed mid-run, a driver interrupted and resumed, packs,
the command line against the running scheduler (address and scheduler file), and that
nothing listens beyond loopback. Skipped without ``distributed`` (``gtok[dask]``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from gtok import Tokenizer, open_gtok, pretokenize, read_gtok  # noqa: E402
from gtok.batch.dask_engine import DaskEngine  # noqa: E402
from gtok.batch.engine import Task, WorkerDeath, as_state  # noqa: E402
from gtok.batch.packing import tokenize_to_pack  # noqa: E402

from batchdata import gtok_files, load_manifest, run_cli, statuses  # noqa: E402
from clusterdata import (  # noqa: E402
    LOOPBACK,
    kill_on_3,
    listening_hosts,
    local_outputs,
    make_inputs,
)

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="/proc, signals")


@pytest.fixture(scope="module")
def cluster():
    engine = DaskEngine.local(2)
    yield engine
    engine.close()


@pytest.fixture
def client(cluster):
    return cluster.client


@pytest.fixture(autouse=True)
def both_workers(cluster):
    """Each test starts with both workers up (a test may have killed one: the nanny
    restarts it in a second or two)."""
    cluster.client.wait_for_workers(2, timeout=60)


@pytest.fixture
def data(tmp_path):
    return make_inputs(tmp_path, 30)


def test_same_bytes_and_manifest_as_the_local_run(data, tmp_path, client):
    universe, src = data
    want = local_outputs(universe, src, tmp_path / "local")
    s = pretokenize(str(universe), [str(src)], tmp_path / "dask", engine=client)
    assert s.ok and s.n_ok == 30
    assert gtok_files(tmp_path / "dask") == want
    m = load_manifest(tmp_path / "dask" / "gtok-manifest.json")
    assert m["counts"] == {"ok": 30, "skipped": 0, "error": 0, "pending": 0}
    local = load_manifest(tmp_path / "local" / "gtok-manifest.json")
    assert [(e["input"], e["tokens"]) for e in m["files"]] == [
        (e["input"], e["tokens"]) for e in local["files"]
    ]


def test_a_malformed_input_fails_alone(data, tmp_path, client):
    universe, src = data
    (src / "f05.bed").write_text("chr1\t10\t20\nchr1\tten\t30\n")
    s = pretokenize(str(universe), [str(src)], tmp_path / "out", engine=client)
    m = load_manifest(tmp_path / "out" / "gtok-manifest.json")
    st = {Path(path).name: status for path, status in statuses(m).items()}
    assert s.n_failed == 1 and st["f05.bed"] == "error"
    assert "line 2" in next(r.error for r in s.results if r.status == "error")
    assert sum(v == "ok" for v in st.values()) == 29


def test_an_input_that_kills_its_workers_fails_alone(cluster):
    deaths: list[int] = []
    run = cluster.run(
        Task(kill_on_3, as_state, (None,)), list(range(8)), lambda k: (k,), on_death=deaths.append
    )
    got = dict(run)
    assert isinstance(got.pop(3), WorkerDeath) and deaths == [3]
    assert got == {k: k * 10 for k in range(8) if k != 3}
    cluster.client.wait_for_workers(2, timeout=60)  # the nannies restarted them


def _times_ten(state, key):
    return key * 10


def test_a_window_smaller_than_the_groups_still_runs_in_order(client):
    """An in-order consumer's window (a pack's: 4 x jobs) bounds the groups: no key is
    handed out a window or more past the first result not yet yielded, and every key runs
    (groups once outgrew the window and the run handed out nothing, forever)."""
    engine = DaskEngine(client)
    window, n = 8, 300
    seen: list[int] = []

    def args(k):
        due = next((i for i in range(n) if i not in got), n)
        assert k < due + window
        seen.append(k)
        return (k,)

    got: dict[int, int] = {}
    for k, result in engine.run(Task(_times_ten, as_state, (None,)), range(n), args, window=window):
        got[k] = result
    assert got == {k: 10 * k for k in range(n)} and sorted(seen) == list(range(n))


def test_a_worker_killed_mid_run_loses_nothing(data, tmp_path, client):
    universe, src = data
    want = local_outputs(universe, src, tmp_path / "local")
    pids = list(client.run(os.getpid).values())

    def progress(result, done, total):
        if done == 5:
            os.kill(pids[0], signal.SIGKILL)

    s = pretokenize(str(universe), [str(src)], tmp_path / "dask", engine=client, progress=progress)
    assert s.ok, [r.error for r in s.results if r.error]
    assert gtok_files(tmp_path / "dask") == want


def test_driver_interrupt_then_resume(data, tmp_path, client):
    universe, src = data
    want = local_outputs(universe, src, tmp_path / "local")
    out = tmp_path / "dask"

    def progress(result, done, total):
        if done == 3:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C on the driver

    s = pretokenize(str(universe), [str(src)], out, engine=client, progress=progress)
    assert s.interrupted and s.stopped_by_signal == signal.SIGINT
    m = load_manifest(out / "gtok-manifest.json")
    assert m["counts"]["pending"] > 0 and m["counts"]["error"] == 0
    done_first = m["counts"]["ok"]
    s = pretokenize(str(universe), [str(src)], out, engine=client, resume=True)
    assert s.ok
    m = load_manifest(out / "gtok-manifest.json")
    assert m["counts"]["skipped"] == done_first and m["counts"]["ok"] == 30 - done_first
    assert gtok_files(out) == want


def test_shards_and_fail_fast(data, tmp_path, client):
    universe, src = data
    want = local_outputs(universe, src, tmp_path / "local")
    out = tmp_path / "dask"
    for k in (1, 2, 3):
        s = pretokenize(str(universe), [str(src)], out, engine=client, shard=(k, 3))
        assert s.ok and s.n_ok == 10
    assert gtok_files(out) == want
    (src / "f00.bed").write_text("chr1\t30\t20\n")
    s = pretokenize(str(universe), [str(src)], tmp_path / "ff", engine=client, fail_fast=True)
    assert not s.ok and s.n_failed == 1


def test_pack_on_the_cluster(data, tmp_path, client):
    universe, src = data
    local = tokenize_to_pack(str(universe), [str(src)], tmp_path / "local.gtok", jobs=2)
    s = tokenize_to_pack(str(universe), [str(src)], tmp_path / "dask.gtok", engine=client)
    assert s.n_docs == local.n_docs == 30
    a, b = open_gtok(tmp_path / "local.gtok"), open_gtok(tmp_path / "dask.gtok")
    assert a.names == b.names
    for x, y in zip(a, b):
        assert np.array_equal(x, y)


def test_workers_that_cannot_see_the_output_folder(cluster, tmp_path):
    with pytest.raises(OSError, match="2 of 2 Dask workers cannot use the paths") as e:
        cluster.check_paths(str(tmp_path / "not-there"), [])
    assert "shared file system" in str(e.value)


def test_a_worker_dying_during_the_path_check_is_not_counted(tmp_path):
    """The check asks every worker at once; one that dies in that instant answers with an
    error, which must not fail the run (the others' answers decide)."""

    class Client:
        def __init__(self, answers):
            self.answers = answers

        def nthreads(self):
            return {w: 1 for w in self.answers}

        def run(self, func, *args, on_error="raise"):
            assert on_error == "return"
            return {
                w: a if isinstance(a, BaseException) else func(*args)
                for w, a in self.answers.items()
            }

    lost = distributed.comm.CommClosedError("in: closed")
    DaskEngine(Client({"w1": None, "w2": lost})).check_paths(str(tmp_path), [])
    with pytest.raises(OSError, match="1 of 1 Dask workers cannot use the paths"):
        DaskEngine(Client({"w1": None, "w2": lost})).check_paths(str(tmp_path / "no"), [])


def test_command_line_against_a_running_scheduler(data, tmp_path, client):
    universe, src = data
    want = local_outputs(universe, src, tmp_path / "local")
    address = client.scheduler.address
    r = run_cli(
        "tokenize", universe, src, "-o", tmp_path / "a", "--engine", "dask", "--address", address
    )
    assert r.returncode == 0, r.stderr
    assert gtok_files(tmp_path / "a") == want
    scheduler_file = tmp_path / "scheduler.json"
    # (what `dask scheduler --scheduler-file` writes, in short: its address)
    scheduler_file.write_text(json.dumps({"type": "Scheduler", "address": address}))
    r = run_cli(
        "tokenize", universe, src, "--pack", tmp_path / "p.gtok", "--engine", "dask",
        "--address", scheduler_file,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert len(open_gtok(tmp_path / "p.gtok")) == 30
    tok = Tokenizer(str(universe))
    doc = open_gtok(tmp_path / "p.gtok")[0]
    assert np.array_equal(doc, tok.tokenize(str(src / "f00.bed")).ids)
    assert np.array_equal(read_gtok(tmp_path / "a" / "f00.gtok"), doc)


def test_an_address_needs_the_dask_engine(data, tmp_path):
    universe, src = data
    with pytest.raises(ValueError, match="needs engine='dask'"):
        pretokenize(str(universe), [str(src)], tmp_path / "o", address="tcp://127.0.0.1:1")


def test_the_cluster_listens_on_loopback_only(cluster, client):
    pids = [os.getpid(), *client.run(os.getpid).values()]
    pids += [int(p) for p in client.run(os.getppid).values()]  # the nannies
    hosts = [h for pid in set(pids) for h in listening_hosts(pid)]
    assert hosts and all(h in LOOPBACK for h in hosts), hosts
    info = client.scheduler_info()
    assert info["address"].startswith("tcp://127.0.0.1:")
    assert all(w.startswith("tcp://127.0.0.1:") for w in info["workers"])


def test_python_dash_m_gtok_does_not_run_in_spawned_workers(tmp_path):
    """``python -m gtok`` must not start the command again in a spawned process (Dask's
    nanny spawns its workers): gtok/__main__.py runs it under ``__main__`` only."""
    code = "import runpy; runpy.run_module('gtok', run_name='__mp_main__')"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0 and r.stdout == "" and r.stderr == ""
