"""A killed worker and Ctrl-C during ``gtok tokenize`` and ``gtok tokenize --pack``
(docs/semantics.md §7: "a crash or Ctrl-C during batch pretokenization: no partial .gtok
visible; rerun resumes and finishes").

Two kinds of test:

- on a real workload (48 files of 60,000 regions, ~1 s with two workers), the signal
  lands while workers are tokenizing and writing: every visible ``.gtok`` must read cleanly
  and equal the reference bytes, the exit code says what happened, and ``--resume`` finishes
  with the uninterrupted run's bytes, skipping what was recorded done;
- deterministically, with pipes as inputs (a symlink named like a BED file, to a pipe the
  test holds: gtok reads pipes, as from ``<(zcat x.bed.gz)``): a worker reading one blocks
  until the test writes to it, so the test knows exactly what is in flight when it signals.

Linux only (``/proc`` is used to find the worker processes).
"""

from __future__ import annotations

import faulthandler
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from gtok import Tokenizer, open_gtok, pretokenize, read_gtok
from gtok.batch.packing import tokenize_to_pack

from batchdata import (
    SUBPROCESS_CWD,
    bed_text,
    gtok_files,
    hidden_leftovers,
    load_manifest,
    make_universe,
    output_of,
    reference_bytes,
    write_bed,
)

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="uses /proc to find worker processes"
)

N_FILES, N_LINES, N_CONTENTS = 48, 60_000, 4


# ------------------------------------------------------------------------ helpers


def children(pid: int) -> list[int]:
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids += [int(x) for x in (task / "children").read_text().split()]
        except OSError:
            pass
    return kids


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def workers(pid: int) -> list[int]:
    """The pool's worker processes: forked children running the parent's command line."""
    mine = cmdline(pid)
    return [c for c in children(pid) if cmdline(c) == mine]


def wchan(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/wchan").read_text()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    """Running (not gone, not a zombie waiting for its reaper)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def wait_for(condition, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.002)


def start_cli(*args, cwd=None) -> subprocess.Popen:
    """``python -m gtok ARGS`` in its own session (its own process group, as a shell job)."""
    return subprocess.Popen(
        [sys.executable, "-m", "gtok", *map(os.fspath, args)],
        cwd=SUBPROCESS_CWD if cwd is None else cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def finish(p: subprocess.Popen, timeout: float = 60) -> tuple[int, str]:
    try:
        _, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        raise AssertionError("gtok tokenize hung") from None
    return p.returncode, err


def visible_outputs(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*.gtok") if not p.name.startswith("."))


def check_visible_outputs(out: Path, want: dict[str, bytes]) -> set[str]:
    """Every visible .gtok reads cleanly and has the reference bytes; returns their names."""
    names = set()
    for p in visible_outputs(out):
        name = p.relative_to(out).as_posix()
        read_gtok(p)  # complete and valid
        assert p.read_bytes() == want[name], f"{name}: not the reference bytes"
        names.add(name)
    return names


# ------------------------------------------------------------------------ the real workload


@pytest.fixture(scope="module")
def workload(tmp_path_factory) -> dict:
    """48 inputs of 60k regions (4 distinct contents), their reference bytes and the bytes
    of an uninterrupted run."""
    base = tmp_path_factory.mktemp("workload")
    universe = make_universe(base / "universe.bed", n_per_chrom=5_000)
    tok = Tokenizer(universe)
    src = base / "src"
    src.mkdir()
    texts = [bed_text(N_LINES, 500 + k).encode() for k in range(N_CONTENTS)]
    want = {}
    for k in range(N_FILES):
        path = src / f"w{k:03d}.bed"
        path.write_bytes(texts[k % N_CONTENTS])
        if k < N_CONTENTS:
            ref = reference_bytes(tok, path, base)
        want[f"w{k:03d}.gtok"] = want[f"w{k % N_CONTENTS:03d}.gtok"] if k >= N_CONTENTS else ref
    clean = base / "clean"
    assert pretokenize(tok, [str(src)], clean, jobs=2).ok
    assert gtok_files(clean) == want
    return {"universe": universe, "src": src, "want": want, "base": base}


def _resume_and_check(workload: dict, out: Path, first: dict) -> None:
    """Rerun with --resume: the rest is done, what was recorded done is skipped, and the
    folder equals the uninterrupted run's."""
    done_before = {e["input"] for e in first["files"] if e["status"] == "ok"}
    p = start_cli(
        "tokenize", workload["universe"], workload["src"], "-o", out, "-j", "2", "--resume"
    )
    rc, err = finish(p)
    assert rc == 0, err
    m = load_manifest(out / "gtok-manifest.json")
    for e in m["files"]:
        assert e["status"] == ("skipped" if e["input"] in done_before else "ok"), e
    assert m["counts"]["skipped"] == len(done_before)
    assert gtok_files(out) == workload["want"]
    assert hidden_leftovers(out) == []


def test_killed_worker_fails_its_input_and_the_run_goes_on(workload, tmp_path):
    """SIGKILL of a worker mid-run (the out-of-memory killer picks the biggest process): the
    input it was tokenizing is recorded as failed, naming the signal; a new worker takes its
    place and every other input is done; --resume then redoes only that input."""
    out = tmp_path / "out"
    p = start_cli("tokenize", workload["universe"], workload["src"], "-o", out, "-j", "2")
    wait_for(lambda: out.is_dir() and len(visible_outputs(out)) >= 2, what="first outputs")
    pool = workers(p.pid)
    assert len(pool) == 2, pool
    os.kill(pool[0], signal.SIGKILL)
    rc, err = finish(p)
    assert "Traceback" not in err
    names = check_visible_outputs(out, workload["want"])
    m = load_manifest(out / "gtok-manifest.json")
    # (the kill may land between two files: then no input is blamed and all is done)
    assert m["counts"]["error"] <= 1 and m["counts"]["pending"] == 0
    if m["counts"]["error"]:
        assert rc == 1, err
        assert "SIGKILL" in err and "--resume" in err  # says what happened and what to do
    else:
        assert rc == 0, err
    assert m["counts"]["ok"] + m["counts"]["error"] == N_FILES
    for e in m["files"]:
        if e["status"] == "ok":
            assert output_of(out, e).relative_to(out).as_posix() in names, e
        else:  # (its output is visible, complete, if the kill came between the file's
            # rename and its reply: the rerun redoes it all the same)
            assert "worker process died" in e["error"] and "SIGKILL" in e["error"], e
    assert hidden_leftovers(out) == []  # its temporary file is gone too
    wait_for(lambda: not any(alive(w) for w in pool), timeout=10, what="workers to exit")
    _resume_and_check(workload, out, m)


def test_killed_parent_takes_its_workers_along(workload, tmp_path):
    """SIGKILL of the command (the OOM killer, a scheduler's hard limit): the workers must
    not live on as orphans, and a rerun finishes the job."""
    out = tmp_path / "out"
    p = start_cli("tokenize", workload["universe"], workload["src"], "-o", out, "-j", "2")
    wait_for(lambda: out.is_dir() and len(visible_outputs(out)) >= 2, what="first outputs")
    pool = workers(p.pid)
    assert len(pool) == 2
    os.kill(p.pid, signal.SIGKILL)
    assert finish(p)[0] == -signal.SIGKILL
    wait_for(lambda: not any(alive(w) for w in pool), timeout=10, what="orphaned workers")
    check_visible_outputs(out, workload["want"])
    m = load_manifest(out / "gtok-manifest.json")  # still valid JSON
    _resume_and_check(workload, out, m)


@pytest.mark.parametrize("target", ["group", "parent"])
def test_ctrl_c_mid_run(workload, tmp_path, target):
    """Ctrl-C in a terminal signals the whole process group; ``kill -INT`` the parent."""
    out = tmp_path / "out"
    p = start_cli("tokenize", workload["universe"], workload["src"], "-o", out, "-j", "2")
    wait_for(lambda: out.is_dir() and len(visible_outputs(out)) >= 2, what="first outputs")
    pool = workers(p.pid)
    if target == "group":
        os.killpg(p.pid, signal.SIGINT)
    else:
        os.kill(p.pid, signal.SIGINT)
    rc, err = finish(p)
    assert rc == 130, err
    assert "interrupted" in err and "--resume" in err and "Traceback" not in err
    wait_for(lambda: not any(alive(w) for w in pool), timeout=10, what="workers to exit")
    names = check_visible_outputs(out, workload["want"])
    m = load_manifest(out / "gtok-manifest.json")
    assert m["counts"]["pending"] >= 1 and m["counts"]["ok"] >= 2
    recorded = {
        output_of(out, e).relative_to(out).as_posix() for e in m["files"] if e["status"] == "ok"
    }
    # the workers finished their current file and the parent recorded it
    assert recorded <= names
    assert len(names - recorded) <= 1  # (at most a result arriving with the signal)
    assert hidden_leftovers(out) == []  # nobody was killed: no temporary is left
    _resume_and_check(workload, out, m)


@pytest.mark.parametrize("target", ["group", "parent"])
def test_sigterm_mid_run(workload, tmp_path, target):
    """SIGTERM (``kill PID``, a scheduler's time limit, often sent to every process of the
    job) stops the run as Ctrl-C does, with exit 143; workers it reaches just die."""
    out = tmp_path / "out"
    # (three workers: their SIGTERM deaths must not read as "workers kept dying")
    p = start_cli("tokenize", workload["universe"], workload["src"], "-o", out, "-j", "3")
    wait_for(lambda: out.is_dir() and len(visible_outputs(out)) >= 2, what="first outputs")
    pool = workers(p.pid)
    if target == "group":
        os.killpg(p.pid, signal.SIGTERM)
    else:
        os.kill(p.pid, signal.SIGTERM)
    rc, err = finish(p)
    assert rc == 143, err
    assert "terminated" in err and "--resume" in err and "Traceback" not in err
    assert "kept dying" not in err
    wait_for(lambda: not any(alive(w) for w in pool), timeout=10, what="workers to exit")
    names = check_visible_outputs(out, workload["want"])
    m = load_manifest(out / "gtok-manifest.json")
    assert m["counts"]["pending"] >= 1
    recorded = {
        output_of(out, e).relative_to(out).as_posix() for e in m["files"] if e["status"] == "ok"
    }
    assert recorded <= names
    if target == "parent":  # the workers finished their files
        assert len(names - recorded) <= 1 and hidden_leftovers(out) == []
    assert m["counts"]["error"] == 0  # a worker's SIGTERM is not its input's fault
    _resume_and_check(workload, out, m)


def test_ctrl_c_single_process(workload, tmp_path):
    out = tmp_path / "out"
    p = start_cli("tokenize", workload["universe"], workload["src"], "-o", out, "-j", "1")
    wait_for(lambda: out.is_dir() and len(visible_outputs(out)) >= 2, what="first outputs")
    os.killpg(p.pid, signal.SIGINT)
    rc, err = finish(p)
    assert rc == 130, err
    assert "Traceback" not in err
    names = check_visible_outputs(out, workload["want"])
    m = load_manifest(out / "gtok-manifest.json")
    recorded = {
        output_of(out, e).relative_to(out).as_posix() for e in m["files"] if e["status"] == "ok"
    }
    # in-process, the signal may land between a file's rename and its record
    assert recorded <= names and len(names - recorded) <= 1
    assert hidden_leftovers(out) == []
    _resume_and_check(workload, out, m)


# ------------------------------------------------------------------------ deterministic


class PipeInput:
    """An input a worker blocks on until the test feeds it: a symlink named like a BED file
    to an anonymous pipe this test process holds (``/proc/<pid>/fd/<n>``)."""

    def __init__(self, path: Path, text: str = "") -> None:
        self.path = path
        self.text = text
        self.r, self.w = os.pipe()
        self.inode = os.fstat(self.r).st_ino
        path.symlink_to(f"/proc/{os.getpid()}/fd/{self.r}")

    def feed(self) -> None:
        """Write the text and close the pipe's write end: its reader sees the text, then
        the end of the input."""
        if self.w >= 0:
            os.write(self.w, self.text.encode())  # (less than a pipe's buffer)
            os.close(self.w)
            self.w = -1

    def is_read_by(self, pid: int) -> bool:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            return False
        want = f"pipe:[{self.inode}]"
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == want:
                    return True
            except OSError:
                pass
        return False

    def close(self) -> None:
        for fd in (self.r, self.w):
            if fd >= 0:
                os.close(fd)
        self.r = self.w = -1


@pytest.fixture
def with_pipes(tmp_path):
    """Two pipe inputs that sort first, then 10 ordinary inputs."""
    universe = make_universe(tmp_path / "universe.bed")
    tok = Tokenizer(universe)
    src = tmp_path / "src"
    names = ["000_pipe_a.bed", "001_pipe_b.bed"]
    texts = [bed_text(300, 70), bed_text(300, 71)]
    want = {}
    for name, text in zip(names, texts):
        plain = write_bed(tmp_path / "plain" / name, text=text)
        want[name.replace(".bed", ".gtok")] = reference_bytes(tok, plain, tmp_path)
    src.mkdir()
    pipes = [PipeInput(src / name, text) for name, text in zip(names, texts)]
    for k in range(10):
        path = write_bed(src / f"{k + 2:03d}_file.bed", 100, k)
        want[path.name.replace(".bed", ".gtok")] = reference_bytes(tok, path, tmp_path)
    # a folder search leaves pipes out (reading one could block): they are named explicitly
    inputs = [src, *(pipe.path for pipe in pipes)]
    yield {"universe": universe, "src": src, "pipes": pipes, "want": want, "inputs": inputs}
    for pipe in pipes:
        pipe.close()


def _blocked_on(pid: int, pipes: list[PipeInput]) -> PipeInput | None:
    """The pipe worker ``pid`` is blocked reading, if it is."""
    if wchan(pid) not in ("anon_pipe_read", "pipe_read"):
        return None
    return next((pipe for pipe in pipes if pipe.is_read_by(pid)), None)


def _two_blocked_workers(p: subprocess.Popen, pipes: list[PipeInput]) -> list[int]:
    wait_for(
        lambda: len(workers(p.pid)) == 2 and all(_blocked_on(w, pipes) for w in workers(p.pid)),
        what="both workers to block on their pipe",
    )
    return workers(p.pid)


def test_ctrl_c_lets_workers_finish_their_file_and_records_it(with_pipes, tmp_path):
    d = with_pipes
    out = tmp_path / "out"
    p = start_cli("tokenize", d["universe"], *d["inputs"], "-o", out, "-j", "2")
    _two_blocked_workers(p, d["pipes"])
    os.killpg(p.pid, signal.SIGINT)
    time.sleep(0.3)  # let the parent take the signal first
    for pipe in d["pipes"]:
        pipe.feed()
    rc, err = finish(p)
    assert rc == 130, err
    names = check_visible_outputs(out, d["want"])
    m = load_manifest(out / "gtok-manifest.json")
    st = {Path(e["input"]).name: e["status"] for e in m["files"]}
    # the two files being read when Ctrl-C came were finished and recorded
    assert st["000_pipe_a.bed"] == st["001_pipe_b.bed"] == "ok"
    # a queued one may have run too; most were never started
    assert m["counts"]["pending"] >= 8
    for e in m["files"]:
        assert (e["status"] == "ok") == (output_of(out, e).relative_to(out).as_posix() in names), e
    # the pipes are recorded done: --resume skips them (else it would block on them), and
    # does the rest
    p = start_cli("tokenize", d["universe"], *d["inputs"], "-o", out, "-j", "2", "--resume")
    rc, err = finish(p, timeout=30)
    assert rc == 0, err
    m = load_manifest(out / "gtok-manifest.json")
    st = {Path(e["input"]).name: e["status"] for e in m["files"]}
    assert st["000_pipe_a.bed"] == st["001_pipe_b.bed"] == "skipped"
    assert gtok_files(out) == d["want"]


def test_second_ctrl_c_stops_at_once(with_pipes, tmp_path):
    """The workers are stuck on their files (pipes nobody writes): the first Ctrl-C waits
    for them, the second kills them; no output appears, everything stays pending."""
    d = with_pipes
    out = tmp_path / "out"
    p = start_cli("tokenize", d["universe"], *d["inputs"], "-o", out, "-j", "2")
    pool = _two_blocked_workers(p, d["pipes"])
    os.killpg(p.pid, signal.SIGINT)
    time.sleep(0.3)
    assert p.poll() is None and all(alive(w) for w in pool)  # still waiting for them
    os.killpg(p.pid, signal.SIGINT)
    rc, err = finish(p, timeout=30)
    assert rc == 130, err
    assert "interrupted" in err and "Traceback" not in err
    wait_for(lambda: not any(alive(w) for w in pool), timeout=10, what="workers to exit")
    m = load_manifest(out / "gtok-manifest.json")
    assert m["counts"] == {"ok": 0, "skipped": 0, "error": 0, "pending": 12}
    assert visible_outputs(out) == []


def test_pretokenize_in_process_turns_ctrl_c_into_a_summary(tmp_path):
    """The Python API: Ctrl-C (here a SIGINT to this very process) during a parallel run
    returns an interrupted summary; the caller's SIGINT handler is back afterwards."""
    universe = make_universe(tmp_path / "universe.bed")
    src = tmp_path / "src"
    for k in range(40):
        write_bed(src / f"p{k:02d}.bed", 2000, k)
    before = signal.getsignal(signal.SIGINT)
    calls = []

    def progress(result, done, total):
        calls.append(done)
        if done == 3:
            os.kill(os.getpid(), signal.SIGINT)

    s = pretokenize(str(universe), [str(src)], tmp_path / "out", jobs=2, progress=progress)
    assert s.interrupted and s.stopped_by_signal == signal.SIGINT
    assert s.n_pending >= 1 and s.n_ok >= 3 and not s.ok
    assert signal.getsignal(signal.SIGINT) is before
    assert {p.name for p in visible_outputs(tmp_path / "out")} == {
        Path(r.output).name for r in s.results if r.status == "ok"
    }


START_METHODS = [
    m for m in ("fork", "spawn", "forkserver") if m in multiprocessing.get_all_start_methods()
]


def _thirty_inputs(tmp_path: Path) -> tuple[Path, Path]:
    return _inputs(tmp_path, {f"k{k:02d}.bed": 3000 for k in range(30)})


def _kill_a_worker_after_three(killed: list[int]):
    """A progress callback that SIGKILLs a worker when the third input is done."""

    def progress(item, done, total):
        if done == 3:
            victim = multiprocessing.active_children()[0]
            os.kill(victim.pid, signal.SIGKILL)
            killed.append(victim.pid)

    return progress


@pytest.mark.parametrize("method", START_METHODS)
def test_pretokenize_replaces_a_killed_worker(tmp_path, method):
    """The Python API under every start method: a worker killed mid-run is replaced (a
    spawned one gets the universe again) and the batch finishes; at most the input it was
    on is failed."""
    universe, src = _thirty_inputs(tmp_path)
    killed: list[int] = []

    s = pretokenize(
        str(universe),
        [str(src)],
        tmp_path / "out",
        jobs=2,
        progress=_kill_a_worker_after_three(killed),
        start_method=method,
    )
    assert killed and not s.interrupted
    assert s.n_failed <= 1 and s.n_pending == 0 and s.n_ok + s.n_failed == 30
    for r in s.results:
        if r.status == "error":
            assert "SIGKILL" in r.error
    tok = Tokenizer(universe)
    for r in s.results:
        if r.status == "ok":
            assert Path(r.output).read_bytes() == reference_bytes(tok, r.input, tmp_path)


def test_sigterm_in_a_program_that_does_not_handle_it_still_ends_it(tmp_path):
    """A script calling pretokenize gets SIGTERM: the batch stops cleanly, the manifest is
    written, and then the process dies of SIGTERM as it would have without gtok."""
    universe = make_universe(tmp_path / "universe.bed")
    src = tmp_path / "src"
    for k in range(30):
        write_bed(src / f"t{k:02d}.bed", 2000, k)
    script = (
        "import os, signal, sys\n"
        "from gtok import pretokenize\n"
        "def progress(r, done, total):\n"
        "    if done == 3:\n"
        "        os.kill(os.getpid(), signal.SIGTERM)\n"
        f"pretokenize({str(universe)!r}, [{str(src)!r}], {str(tmp_path / 'out')!r}, jobs=2,\n"
        "            progress=progress)\n"
        "print('still running')\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=SUBPROCESS_CWD,
    )
    assert r.returncode == -signal.SIGTERM, r.stderr
    assert "still running" not in r.stdout and "Traceback" not in r.stderr
    m = load_manifest(tmp_path / "out" / "gtok-manifest.json")
    assert m["counts"]["ok"] >= 3 and m["counts"]["pending"] >= 1


def _kill_a_pipe_reader(p: subprocess.Popen, d: dict) -> tuple[list[int], int]:
    """Kill one of the two workers blocked on a pipe; feed the other one's pipe. Returns the
    workers and the index of the pipe whose reader was killed."""
    pipes = d["pipes"]
    pool = _two_blocked_workers(p, pipes)
    victim = pipes.index(_blocked_on(pool[0], pipes))
    os.kill(pool[0], signal.SIGKILL)
    wait_for(lambda: not alive(pool[0]), timeout=10, what="the worker to die")
    pipes[1 - victim].feed()
    return pool, victim


def test_killed_worker_blocked_on_its_input_fails_only_that_input(with_pipes, tmp_path):
    d = with_pipes
    out = tmp_path / "out"
    p = start_cli("tokenize", d["universe"], *d["inputs"], "-o", out, "-j", "2")
    pool, victim = _kill_a_pipe_reader(p, d)
    rc, err = finish(p, timeout=30)
    assert rc == 1, err
    assert "SIGKILL" in err and "Traceback" not in err
    m = load_manifest(out / "gtok-manifest.json")
    assert m["counts"] == {"ok": 11, "skipped": 0, "error": 1, "pending": 0}
    failed = [e for e in m["files"] if e["status"] == "error"]
    assert Path(failed[0]["input"]).name == d["pipes"][victim].path.name
    assert "killed by SIGKILL" in failed[0]["error"]
    names = check_visible_outputs(out, d["want"])
    assert len(names) == 11 and hidden_leftovers(out) == []
    wait_for(lambda: not any(alive(w) for w in pool), timeout=10, what="workers to exit")
    # the failed pipe is replaced by an ordinary file with its text; resume does just that
    victim_input = d["pipes"][victim]
    victim_input.path.unlink()
    victim_input.path.write_text(victim_input.text)
    p = start_cli("tokenize", d["universe"], *d["inputs"], "-o", out, "-j", "2", "--resume")
    rc, err = finish(p)
    assert rc == 0, err
    m = load_manifest(out / "gtok-manifest.json")
    assert m["counts"] == {"ok": 1, "skipped": 11, "error": 0, "pending": 0}
    assert gtok_files(out) == d["want"]
    assert hidden_leftovers(out) == []


def test_killed_worker_with_fail_fast_stops_the_run(with_pipes, tmp_path):
    d = with_pipes
    out = tmp_path / "out"
    p = start_cli("tokenize", d["universe"], *d["inputs"], "-o", out, "-j", "2", "--fail-fast")
    _, victim = _kill_a_pipe_reader(p, d)
    rc, err = finish(p, timeout=30)
    assert rc == 1, err
    m = load_manifest(out / "gtok-manifest.json")
    st = {Path(e["input"]).name: e["status"] for e in m["files"]}
    assert st[d["pipes"][victim].path.name] == "error"
    assert st[d["pipes"][1 - victim].path.name] == "ok"  # the other worker's file finished
    assert m["counts"]["error"] == 1 and m["counts"]["pending"] >= 8
    check_visible_outputs(out, d["want"])


@pytest.fixture
def only_pipes(tmp_path):
    """Six pipes as the only inputs: no worker ever finishes one unless the test feeds it."""
    universe = make_universe(tmp_path / "universe.bed")
    src = tmp_path / "src"
    src.mkdir()
    pipes = [PipeInput(src / f"{k:03d}_pipe.bed") for k in range(6)]
    yield {"universe": universe, "src": src, "pipes": pipes, "inputs": [q.path for q in pipes]}
    for pipe in pipes:
        pipe.close()


def _kill_workers_three_times(p: subprocess.Popen, pipes: list[PipeInput]) -> None:
    """SIGTERM (a death that is not an input's doing) a worker blocked on a pipe, three
    times (each time one of the two live workers, once the pool has replaced the last)."""
    killed: list[int] = []
    for _ in range(3):
        wait_for(
            lambda: (
                len([w for w in workers(p.pid) if w not in killed and _blocked_on(w, pipes)]) == 2
            ),
            what="two workers blocked on a pipe",
        )
        victim = next(w for w in workers(p.pid) if w not in killed)
        os.kill(victim, signal.SIGTERM)
        killed.append(victim)


def test_workers_dying_in_a_row_stop_the_run_without_blaming_inputs(only_pipes, tmp_path):
    """Workers ended from outside three times with no input finished in between: the run
    stops (no new worker would fare better) and the inputs stay pending, not failed."""
    d = only_pipes
    out = tmp_path / "out"
    p = start_cli("tokenize", d["universe"], *d["inputs"], "-o", out, "-j", "2")
    _kill_workers_three_times(p, d["pipes"])
    rc, err = finish(p, timeout=30)
    assert rc == 1, err
    assert "kept dying" in err and "--resume" in err and "Traceback" not in err
    m = load_manifest(out / "gtok-manifest.json")
    assert m["counts"] == {"ok": 0, "skipped": 0, "error": 0, "pending": 6}
    assert visible_outputs(out) == []


# ------------------------------------------------------------------------ --pack with workers


def test_pack_with_a_killed_worker_leaves_out_only_its_input(with_pipes, tmp_path):
    d = with_pipes
    out = tmp_path / "all.gtok"
    p = start_cli("tokenize", d["universe"], *d["inputs"], "--pack", out, "-j", "2")
    _, victim = _kill_a_pipe_reader(p, d)
    rc, err = finish(p, timeout=30)
    assert rc == 1, err
    assert "SIGKILL" in err and "Traceback" not in err
    pack = open_gtok(out)
    failed = pack.metadata["failed"]
    assert [Path(f["input"]).name for f in failed] == [d["pipes"][victim].path.name]
    assert "worker process died" in failed[0]["error"]
    want = {name[: -len(".gtok")]: data for name, data in d["want"].items()}
    names = sorted(want)
    names.remove(d["pipes"][victim].path.name[: -len(".bed")])
    assert pack.names == names  # the others, in input order
    tok = Tokenizer(d["universe"])
    for name, doc in zip(pack.names, pack):
        ref = tmp_path / "ref.gtok"
        ref.write_bytes(want[name])
        assert np.array_equal(doc, read_gtok(ref)), name
    assert hidden_leftovers(tmp_path) == []
    assert pack.fingerprint == tok.fingerprint


def test_pack_stops_when_workers_die_in_a_row(only_pipes, tmp_path):
    d = only_pipes
    out = tmp_path / "all.gtok"
    p = start_cli("tokenize", d["universe"], *d["inputs"], "--pack", out, "-j", "2")
    _kill_workers_three_times(p, d["pipes"])
    rc, err = finish(p, timeout=30)
    assert rc == 1, err
    assert "kept dying" in err and "no pack was written" in err and "Traceback" not in err
    assert not out.exists() and hidden_leftovers(tmp_path) == []


def test_pack_ctrl_c_with_workers_stuck_writes_nothing(with_pipes, tmp_path):
    d = with_pipes
    out = tmp_path / "all.gtok"
    p = start_cli("tokenize", d["universe"], *d["inputs"], "--pack", out, "-j", "2")
    pool = _two_blocked_workers(p, d["pipes"])
    os.killpg(p.pid, signal.SIGINT)
    rc, err = finish(p, timeout=30)
    assert rc == 130, err
    assert "interrupted" in err and "Traceback" not in err
    wait_for(lambda: not any(alive(w) for w in pool), timeout=10, what="workers to exit")
    assert not out.exists() and hidden_leftovers(tmp_path) == []


@pytest.mark.parametrize("method", START_METHODS)
def test_tokenize_to_pack_replaces_a_killed_worker(tmp_path, method):
    universe, src = _thirty_inputs(tmp_path)
    killed: list[int] = []

    s = tokenize_to_pack(
        str(universe),
        [str(src)],
        tmp_path / "all.gtok",
        jobs=2,
        progress=_kill_a_worker_after_three(killed),
        start_method=method,
    )
    assert killed and len(s.failed) <= 1 and s.n_docs + len(s.failed) == 30
    tok = Tokenizer(universe)
    pack = open_gtok(tmp_path / "all.gtok")
    lost = {Path(path).stem for path, _ in s.failed}
    kept = [f"k{k:02d}" for k in range(30) if f"k{k:02d}" not in lost]
    assert pack.names == kept
    for name, doc in zip(pack.names, pack):
        assert np.array_equal(doc, tok.tokenize(str(src / f"{name}.bed")).ids), name


def test_a_worker_ended_by_sigterm_fails_nothing(with_pipes, tmp_path):
    """SIGTERM to one worker (not the run): its input is not to blame; it goes to another
    worker and the run finishes with everything done."""
    d = with_pipes
    out = tmp_path / "out"
    p = start_cli("tokenize", d["universe"], *d["inputs"], "-o", out, "-j", "2")
    pool = _two_blocked_workers(p, d["pipes"])
    os.kill(pool[0], signal.SIGTERM)
    wait_for(lambda: not alive(pool[0]), timeout=10, what="the worker to die")
    # feed both pipes: the victim's is opened again by the worker that takes its place
    for pipe in d["pipes"]:
        pipe.feed()
    rc, err = finish(p, timeout=30)
    assert rc == 0, err
    m = load_manifest(out / "gtok-manifest.json")
    assert m["counts"] == {"ok": 12, "skipped": 0, "error": 0, "pending": 0}
    assert gtok_files(out) == d["want"] and hidden_leftovers(out) == []


# ------------------------------------------------------------------------ inputs that crash


def _crash_on(name_part: str, real):
    """A worker function that dies of SIGSEGV on inputs whose path contains ``name_part``."""

    def tokenize_one(tok, input_path, *args):
        if name_part in os.path.basename(input_path):
            faulthandler.disable()  # (pytest's would print this worker's stack)
            os.kill(os.getpid(), signal.SIGSEGV)
        return real(tok, input_path, *args)

    return tokenize_one


def _inputs(tmp_path: Path, lines: dict[str, int]) -> tuple[Path, Path]:
    """A universe and a folder of BED files (name -> number of lines)."""
    universe = make_universe(tmp_path / "universe.bed")
    src = tmp_path / "src"
    for k, (name, n) in enumerate(lines.items()):
        write_bed(src / name, n, k)
    return universe, src


def _make_crash(monkeypatch, module, name: str) -> None:
    """Patch ``module.name`` (a worker function) to SIGSEGV on inputs named ``*crash*``."""
    monkeypatch.setattr(module, name, _crash_on("crash", getattr(module, name)))


@pytest.mark.skipif("fork" not in START_METHODS, reason="the patched function needs fork")
def test_inputs_that_crash_their_worker_fail_and_resume_still_finishes(tmp_path, monkeypatch):
    """Three inputs that each kill their worker, the largest (so handed out first, together):
    each fails on its own, the others are done; a --resume retries just those three and
    ends too (it does not stop on a run of deaths)."""
    import gtok.batch.run

    universe, src = _inputs(
        tmp_path,
        {
            **{f"good{k:02d}.bed": 500 for k in range(20)},
            **{f"crash{k}.bed": 5000 for k in range(3)},
        },
    )
    _make_crash(monkeypatch, gtok.batch.run, "_tokenize_one")
    for resume in (False, True):
        s = pretokenize(
            str(universe), [str(src)], tmp_path / "out", jobs=2, resume=resume, start_method="fork"
        )
        assert (s.n_failed, s.n_pending) == (3, 0), [(r.input, r.error) for r in s.results]
        assert s.n_ok + s.n_skipped == 20 and s.n_skipped == (20 if resume else 0)
        for r in s.results:
            if r.status == "error":
                assert "crash" in r.input and "killed by SIGSEGV" in r.error


@pytest.mark.skipif("fork" not in START_METHODS, reason="the patched function needs fork")
def test_inputs_that_crash_their_worker_are_left_out_of_a_pack(tmp_path, monkeypatch):
    import gtok.batch.packing

    universe, src = _inputs(
        tmp_path, {f"{k:02d}_{'crash' if k in (3, 4, 5) else 'good'}.bed": 500 for k in range(12)}
    )
    _make_crash(monkeypatch, gtok.batch.packing, "_tokenize_ids")
    s = tokenize_to_pack(
        str(universe), [str(src)], tmp_path / "all.gtok", jobs=2, start_method="fork"
    )
    assert sorted(Path(p).name for p, _ in s.failed) == [
        "03_crash.bed",
        "04_crash.bed",
        "05_crash.bed",
    ]
    pack = open_gtok(tmp_path / "all.gtok")
    assert pack.names == [f"{k:02d}_good" for k in range(12) if k not in (3, 4, 5)]


@pytest.mark.skipif("fork" not in START_METHODS, reason="the patched function needs fork")
def test_every_input_killing_its_worker_stops_the_run(tmp_path, monkeypatch):
    """Workers dying on input after input with none finished (a memory limit below what
    any input needs): the run stops after max(10, 2 x jobs) of them instead of starting a
    worker for every input; the rest stay pending with the reason."""
    import gtok.batch.run

    universe, src = _inputs(tmp_path, {f"crash{k:02d}.bed": 300 for k in range(30)})
    _make_crash(monkeypatch, gtok.batch.run, "_tokenize_one")
    s = pretokenize(str(universe), [str(src)], tmp_path / "out", jobs=2, start_method="fork")
    # (ten, or eleven when both workers' deaths are seen at once)
    assert s.n_failed in (10, 11) and s.n_failed + s.n_pending == 30
    assert any(
        "died on 10 inputs in a row" in (r.error or "") for r in s.results if r.status == "pending"
    )


@pytest.mark.skipif("fork" not in START_METHODS, reason="the patched function needs fork")
def test_resume_tries_the_inputs_that_failed_last(tmp_path, monkeypatch):
    """Twelve inputs that kill their worker, the largest: the first run stops after ten of
    them with nothing done; a --resume does the others first, so every good input is done."""
    import gtok.batch.run

    universe, src = _inputs(
        tmp_path,
        {
            **{f"good{k:02d}.bed": 300 for k in range(20)},
            **{f"crash{k:02d}.bed": 3000 for k in range(12)},
        },
    )
    _make_crash(monkeypatch, gtok.batch.run, "_tokenize_one")
    s = pretokenize(str(universe), [str(src)], tmp_path / "out", jobs=2, start_method="fork")
    assert s.n_failed in (10, 11) and s.n_ok == 0
    s = pretokenize(
        str(universe), [str(src)], tmp_path / "out", jobs=2, resume=True, start_method="fork"
    )
    assert {Path(r.input).name for r in s.results if r.status == "ok"} == {
        f"good{k:02d}.bed" for k in range(20)
    }


@pytest.mark.skipif("fork" not in START_METHODS, reason="the patched function needs fork")
def test_workers_failing_to_start_stop_the_run_and_say_why(tmp_path, monkeypatch):
    """Workers that die before they start (here their initializer exits): nothing is blamed,
    the run stops after three, and the inputs it had handed out say why."""
    import gtok.batch.engine

    def broken_init(*args):
        raise SystemExit(3)

    universe, src = _inputs(tmp_path, {f"k{k:02d}.bed": 300 for k in range(10)})
    monkeypatch.setattr(gtok.batch.engine, "start_worker", broken_init)
    s = pretokenize(str(universe), [str(src)], tmp_path / "out", jobs=2, start_method="fork")
    assert (s.n_failed, s.n_pending) == (0, 10)
    assert any("kept dying" in (r.error or "") for r in s.results)


@pytest.mark.skipif("fork" not in START_METHODS, reason="the patched function needs fork")
def test_a_pack_stops_when_every_input_kills_its_worker(tmp_path, monkeypatch):
    import gtok.batch.packing

    universe, src = _inputs(tmp_path, {f"crash{k:02d}.bed": 300 for k in range(30)})
    _make_crash(monkeypatch, gtok.batch.packing, "_tokenize_ids")
    with pytest.raises(RuntimeError, match="died on 10 inputs in a row"):
        tokenize_to_pack(
            str(universe), [str(src)], tmp_path / "all.gtok", jobs=2, start_method="fork"
        )
    assert not (tmp_path / "all.gtok").exists()
