"""Batch pretokenization on Ray (gtok.batch.ray_engine): one local Ray of 2 CPUs, confined to
127.0.0.1, shared by the module's tests (a start costs 2-4 s).

Covered: equality with the local run, a malformed input, an input that kills its worker,
a driver interrupted and resumed, packs, the command line against the running cluster,
and that nothing listens beyond loopback. Skipped without ``ray`` (``gtok[ray]``).
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

# Ray reads these when imported: loopback only, no usage statistics, no auth token file
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
ray = pytest.importorskip("ray")

from gtok import open_gtok, pretokenize  # noqa: E402
from gtok.batch.engine import Task, WorkerDeath, as_state  # noqa: E402
from gtok.batch.packing import tokenize_to_pack  # noqa: E402
from gtok.batch.ray_engine import RayEngine  # noqa: E402

import clusterdata  # noqa: E402
from batchdata import gtok_files, load_manifest, run_cli, statuses  # noqa: E402
from clusterdata import (  # noqa: E402
    LOOPBACK,
    kill_on_3,
    listening_hosts,
    local_outputs,
    make_inputs,
)

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="/proc, signals")
# the workers cannot import the tests' modules: their functions travel by value
ray.cloudpickle.register_pickle_by_value(clusterdata)


@pytest.fixture(scope="module")
def engine():
    temp = tempfile.mkdtemp(prefix="gr", dir="/tmp")  # (Ray's socket paths must be short)
    # Ray's workers start in the driver's working directory, with it on their sys.path: not
    # in the repository, whose gtok/ source folder (no compiled extensions) would shadow gtok
    here = os.getcwd()
    os.chdir(temp)
    try:
        made = RayEngine.local(2, _temp_dir=temp, object_store_memory=200 << 20)
        yield made
        made.close()
    finally:
        os.chdir(here)
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture
def data(tmp_path):
    return make_inputs(tmp_path, 24)


def test_same_bytes_as_the_local_run(data, tmp_path, engine):
    universe, src = data
    want = local_outputs(universe, src, tmp_path / "local")
    s = pretokenize(str(universe), [str(src)], tmp_path / "ray", engine="ray")
    assert s.ok and s.n_ok == 24, [r.error for r in s.results if r.error][-1]
    assert gtok_files(tmp_path / "ray") == want


def test_a_malformed_input_fails_alone(data, tmp_path, engine):
    universe, src = data
    (src / "f05.bed").write_text("chr1\t10\t20\nchr1\tten\t30\n")
    s = pretokenize(str(universe), [str(src)], tmp_path / "out", engine=engine)
    m = load_manifest(tmp_path / "out" / "gtok-manifest.json")
    st = {Path(path).name: status for path, status in statuses(m).items()}
    assert s.n_failed == 1 and st["f05.bed"] == "error"
    assert sum(v == "ok" for v in st.values()) == 23


def test_an_input_that_kills_its_worker_fails_alone(engine):
    deaths: list[int] = []
    run = engine.run(
        Task(kill_on_3, as_state, (None,)), list(range(8)), lambda k: (k,), on_death=deaths.append
    )
    got = dict(run)
    assert isinstance(got.pop(3), WorkerDeath) and deaths == [3]
    assert got == {k: k * 10 for k in range(8) if k != 3}


def test_driver_interrupt_then_resume(data, tmp_path, engine):
    universe, src = data
    want = local_outputs(universe, src, tmp_path / "local")
    out = tmp_path / "ray"

    def progress(result, done, total):
        if done == 3:
            os.kill(os.getpid(), signal.SIGINT)

    s = pretokenize(str(universe), [str(src)], out, engine=engine, progress=progress, jobs=2)
    assert s.interrupted and s.stopped_by_signal == signal.SIGINT
    m = load_manifest(out / "gtok-manifest.json")
    assert m["counts"]["pending"] > 0 and m["counts"]["error"] == 0
    s = pretokenize(str(universe), [str(src)], out, engine=engine, resume=True)
    assert s.ok and gtok_files(out) == want


def test_pack_on_ray(data, tmp_path, engine):
    universe, src = data
    tokenize_to_pack(str(universe), [str(src)], tmp_path / "local.gtok", jobs=2)
    tokenize_to_pack(str(universe), [str(src)], tmp_path / "ray.gtok", engine=engine)
    a, b = open_gtok(tmp_path / "local.gtok"), open_gtok(tmp_path / "ray.gtok")
    assert a.names == b.names and len(a) == 24
    for x, y in zip(a, b):
        assert np.array_equal(x, y)


def test_workers_that_cannot_see_the_output_folder(engine, tmp_path):
    with pytest.raises(OSError, match="shared file system"):
        engine.check_paths(str(tmp_path / "not-there"), [])


def test_command_line_against_the_running_cluster(data, tmp_path, engine):
    universe, src = data
    want = local_outputs(universe, src, tmp_path / "local")
    address = ray.get_runtime_context().gcs_address
    r = run_cli(
        "tokenize", universe, src, "-o", tmp_path / "a", "--engine", "ray", "--address", address,
        timeout=180,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert gtok_files(tmp_path / "a") == want


def _ray_processes() -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if b"ray" in cmd and (b"gcs_server" in cmd or b"raylet" in cmd or b"ray::" in cmd
                                  or b"default_worker" in cmd or b"agent" in cmd):  # fmt: skip
                pids.append(int(entry))
    return pids


def test_ray_listens_on_loopback_only(engine):
    pids = _ray_processes()
    assert pids
    hosts = [h for pid in pids for h in listening_hosts(pid)]
    assert hosts and all(h in LOOPBACK for h in hosts), hosts
