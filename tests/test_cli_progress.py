"""The commands' one progress display (``gtok.cli.progress``, a tqdm bar): rates only once
they mean something, counted from the command's start, lines printed above the bar, the
bar closed whatever ends the command; and ``gtok tokenize`` on a real terminal (a pty)."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from gtok.batch.run import FileResult
from gtok.cli.progress import MIN_RATE_SECONDS, ProgressBar, rate_text, say, wanted
from gtok.cli.tokenize import BatchProgress

from batchdata import SUBPROCESS_CWD, bed_text, make_universe, write_bed


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def states(stream: io.StringIO) -> list[str]:
    """Every state of the bar drawn on ``stream`` (tqdm redraws after a carriage return)."""
    return [s.strip() for s in re.split(r"[\r\n]", stream.getvalue()) if s.strip()]


def screen_lines(text: str) -> list[str]:
    """The lines a terminal keeps of ``text``: each line's text after its last carriage
    return (a bar is cleared with a return, spaces and a return before a message)."""
    return [line.rpartition("\r")[2].rstrip() for line in text.replace("\r\n", "\n").split("\n")]


@pytest.fixture(autouse=True)
def _terminal_width(monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")  # (tqdm's width off a terminal)


def test_the_first_rate_waits_for_a_meaningful_time():
    """The bar's first rate read "10273.06 M regions/s": the first file's regions over the
    microseconds since the bar appeared. Rates now count from the command's start and show
    only after MIN_RATE_SECONDS."""
    clock, stream = Clock(), io.StringIO()
    with ProgressBar("files", extra="regions", show=True, stream=stream, clock=clock) as bar:
        clock.now += 0.000_01  # the first file finishes right away
        bar.update(1, 4, extra=100_000)
        first = states(stream)
        clock.now += 2 * MIN_RATE_SECONDS - 0.000_01
        bar.update(2, 4, extra=200_000)
    assert first and all("/s" not in s for s in first), first
    assert first[-1].startswith("25%") and "1/4 files [00:00]" in first[-1]
    last = states(stream)[-1]
    # 2 files and 200,000 regions in 2 s since the start; 2 files left at 1 file/s
    assert "2/4 files [00:02<00:02, 1 files/s, 100k regions/s]" in last, last
    assert stream.getvalue().endswith("\n")  # closed: the last state stays on its line


def test_rates_leave_out_what_a_resumed_run_did_before():
    clock, stream = Clock(), io.StringIO()
    with ProgressBar("files", show=True, stream=stream, clock=clock) as bar:
        clock.now += 4
        bar.update(7, 10, already=6)  # 6 done by an earlier run, 1 in this one
    last = states(stream)[-1]
    assert last.startswith("70%") and "7/10 files [00:04<00:12, 0.25 files/s]" in last, last


def test_bytes_and_an_unknown_total():
    clock, stream = Clock(), io.StringIO()
    with ProgressBar("B", extra="fragments", show=True, stream=stream, clock=clock) as bar:
        clock.now += 2
        bar.update(30_000_000, 120_000_000, extra=1_000_000)
    assert "30.0M/120MB [00:02<00:06, 15MB/s, 500k fragments/s]" in states(stream)[-1]
    clock, stream = Clock(), io.StringIO()
    with ProgressBar("B", show=True, stream=stream, clock=clock) as bar:
        clock.now += 2
        bar.update(30_000_000, 0)  # a pipe: its size is not known
    last = states(stream)[-1]
    assert last == "30.0MB [00:02, 15MB/s]", last


def test_lines_print_above_the_bar_and_nothing_is_drawn_when_not_shown():
    clock, stream = Clock(), io.StringIO()
    with ProgressBar("files", show=True, stream=stream, clock=clock) as bar:
        progress = BatchProgress(bar, verbose=False)
        progress(FileResult("a.bed", "a.gtok", status="ok", regions=10), 1, 3)
        progress(FileResult("b.bed", "b.gtok", status="error", error="BedFormatError: x"), 2, 3)
        say("gtok: warning: said while the bar is shown")
        progress(FileResult("c.bed", "c.gtok", status="ok", regions=10), 3, 3)
    lines = screen_lines(stream.getvalue())
    # each message on a line of its own, the bar redrawn below it
    assert "gtok: b.bed: BedFormatError: x" in lines
    assert "gtok: warning: said while the bar is shown" in lines
    assert "3/3 files" in lines[-2] and lines[-1] == ""
    # not shown (a pipe, --quiet): the same calls print only the messages
    stream = io.StringIO()
    with ProgressBar("files", show=False, stream=stream) as bar:
        progress = BatchProgress(bar, verbose=True)
        progress(FileResult("a.bed", "a.gtok", status="ok", regions=10, tokens=9), 1, 2)
        progress(FileResult("b.bed", "b.gtok", status="error", error="BedFormatError: x"), 2, 2)
    assert stream.getvalue() == "ok: a.bed -> a.gtok (10 regions, 9 tokens)\n" + (
        "gtok: b.bed: BedFormatError: x\n"
    )


def test_the_bar_is_closed_whatever_ends_the_command():
    stream = io.StringIO()
    with pytest.raises(KeyboardInterrupt):
        with ProgressBar("cells", show=True, stream=stream) as bar:
            bar.update(5, 10)
            raise KeyboardInterrupt
    assert stream.getvalue().endswith("\n")
    say("gtok: interrupted")  # no bar left to print above (it would raise on a closed one)


def test_when_a_bar_is_wanted():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            if self.closed:
                raise ValueError("I/O operation on closed file")
            return True

    assert wanted(Terminal(), quiet=False) and not wanted(Terminal(), quiet=True)
    assert not wanted(io.StringIO(), quiet=False)
    closed = Terminal()
    closed.close()
    assert not wanted(closed, quiet=False)


def test_rate_units():
    assert rate_text(10_273_060_000, "regions") == "10.3G regions/s"
    assert rate_text(0.5, "files") == "0.5 files/s"
    assert rate_text(2_500, "cells") == "2.5k cells/s"


def test_no_tqdm_import_off_a_terminal(tmp_path):
    """tqdm takes ~50 ms to import: a run whose standard error is not a terminal never
    imports it."""
    universe = make_universe(tmp_path / "u.bed")
    write_bed(tmp_path / "in" / "a.bed", 50, 1)
    code = (
        "import sys; from gtok.cli import main; "
        f"status = main(['tokenize', {str(universe)!r}, {str(tmp_path / 'in')!r}, "
        f"'-o', {str(tmp_path / 'out')!r}]); "
        "print(status, 'tqdm' in sys.modules)"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=SUBPROCESS_CWD
    )
    assert r.stdout.split() == ["0", "False"], r.stderr


# ------------------------------------------------------------------------ on a terminal


def run_on_a_terminal(args: list, feed=None, columns: int = 80) -> tuple[int, str]:
    """``python -m gtok ARGS`` with standard error on a pseudo-terminal ``columns`` wide;
    ``feed(process)`` runs on a thread meanwhile. Returns the exit code and what the
    terminal got."""
    import fcntl
    import struct
    import termios

    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = dict(os.environ, COLUMNS=str(columns))
    p = subprocess.Popen(
        [sys.executable, "-m", "gtok", *map(os.fspath, args)],
        cwd=SUBPROCESS_CWD,
        stdout=subprocess.DEVNULL,
        stderr=slave,
        env=env,
        start_new_session=True,  # (its own process group, as a shell job)
    )
    os.close(slave)
    if feed is not None:
        threading.Thread(target=feed, args=(p,), daemon=True).start()
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the program closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return p.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a pipe behind /proc/PID/fd")
def test_tokenize_on_a_terminal(tmp_path):
    """A real run on a terminal: the bar in files (and regions/s) on one line no wider than
    the terminal, failures and the summary on lines of their own, and no rate larger than
    the run's regions in MIN_RATE_SECONDS (the first-rate bug read 10273.06 M)."""
    universe = make_universe(tmp_path / "universe.bed")
    src = tmp_path / "src"
    for k in range(5):
        write_bed(src / f"s{k}.bed", 2_000, k)
    (src / "bad.bed").write_text("chr1\t5\n")
    # one input is a pipe the test feeds after 1.5 s: the run lasts long enough for rates
    r, w = os.pipe()
    slow = tmp_path / "slow.bed"  # (named: a folder search leaves pipes out)
    slow.symlink_to(f"/proc/{os.getpid()}/fd/{r}")
    text = bed_text(2_000, 9).encode()

    def feed(process) -> None:
        time.sleep(1.5)
        os.write(w, text)
        os.close(w)

    try:
        status, screen = run_on_a_terminal(
            ["tokenize", universe, src, slow, "-o", tmp_path / "out", "-j", "1"], feed
        )
    finally:
        os.close(r)
    assert status == 1, screen  # (bad.bed)
    lines = screen_lines(screen)
    assert any(line.startswith("gtok: ") and "bad.bed" in line for line in lines), screen
    assert any("6 tokenized, 0 already done, 1 failed" in line for line in lines), screen
    bar_states = [s for s in re.split(r"[\r\n]", screen) if " files [" in s]
    assert bar_states, screen
    assert all(len(s.strip()) <= 80 for s in bar_states), bar_states
    final = bar_states[-1].strip()
    assert final.startswith("100%") and "7/7 files [00:0" in final, final
    rates = [
        float(n) * {"": 1, "k": 1e3, "M": 1e6, "G": 1e9}[u]
        for n, u in re.findall(r"([\d.]+)([kMG]?) regions/s", screen)
    ]
    assert rates, screen  # the final state, after 1.5 s, shows the rate
    assert max(rates) <= 12_000 / MIN_RATE_SECONDS, rates


def test_pack_progress_and_summary_on_a_terminal(tmp_path):
    universe = make_universe(tmp_path / "universe.bed")
    for k in range(3):
        write_bed(tmp_path / "in" / f"s{k}.bed", 200, k)
    status, screen = run_on_a_terminal(
        ["tokenize", universe, tmp_path / "in", "--pack", tmp_path / "p.gtok", "-j", "1"]
    )
    assert status == 0, screen
    assert re.search(r"100%.*3/3 files \[\d\d:\d\d", screen), screen
    assert screen_lines(screen)[-2].startswith("gtok: 3 documents"), screen
    assert Path(tmp_path / "p.gtok").exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a pipe behind /proc/PID/fd")
def test_ctrl_c_on_a_terminal_leaves_the_bar_and_says_what_to_do(tmp_path):
    """Ctrl-C while the bar is shown: the run stops as without a terminal (exit 130, the
    manifest written), the bar's last state stays on its line, the summary below it."""
    universe = make_universe(tmp_path / "universe.bed")
    for k in range(3):
        write_bed(tmp_path / "in" / f"s{k}.bed", 500, k)
    r, w = os.pipe()
    slow = tmp_path / "zz-slow.bed"  # (sorted last: the others are done when it blocks)
    slow.symlink_to(f"/proc/{os.getpid()}/fd/{r}")

    def interrupt(process) -> None:
        time.sleep(1.5)
        os.killpg(process.pid, signal.SIGINT)
        time.sleep(0.3)
        os.write(w, b"chr1\t10\t20\n")
        os.close(w)

    try:
        status, screen = run_on_a_terminal(
            ["tokenize", universe, tmp_path / "in", slow, "-o", tmp_path / "out", "-j", "1"],
            interrupt,
        )
    finally:
        os.close(r)
    assert status == 130, screen
    lines = [line for line in screen_lines(screen) if line]
    assert lines[-1] == "gtok: interrupted; rerun with --resume to finish", screen
    assert lines[-2].startswith("gtok: ") and "tokenized" in lines[-2], screen
    assert " files [" in lines[-3] and not lines[-3].startswith("gtok"), screen
    assert (tmp_path / "out" / "gtok-manifest.json").exists()
