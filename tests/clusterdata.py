"""What the cluster-engine tests (Dask, Ray) share: inputs, the local run they must equal,
a task that kills its worker, and the addresses processes listen on."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from gtok import pretokenize

from batchdata import gtok_files, make_universe, write_bed

#: 127.0.0.1 and ::1 (and 127.0.0.1 mapped into IPv6) as /proc/net/tcp* write them
LOOPBACK = ("0100007F", "00000000000000000000000001000000", "0000000000000000FFFF00000100007F")


def make_inputs(tmp_path: Path, n: int) -> tuple[Path, Path]:
    """A universe and a folder of ``n`` BED files of growing size."""
    universe = make_universe(tmp_path / "universe.bed")
    src = tmp_path / "in"
    for k in range(n):
        write_bed(src / f"f{k:02d}.bed", 200 + 10 * k, k)
    return universe, src


def local_outputs(universe: Path, src: Path, out: Path) -> dict[str, bytes]:
    """The outputs of the local run (two processes): what every engine must write."""
    s = pretokenize(str(universe), [str(src)], out, jobs=2)
    assert s.ok
    return gtok_files(out)


def kill_on_3(state, key):
    """A task that kills its worker on key 3 (as the out-of-memory killer would)."""
    if key == 3:
        os.kill(os.getpid(), signal.SIGKILL)
    return key * 10


def listening_hosts(pid: int) -> list[str]:
    """The hosts (hex, as /proc/net/tcp* write them) process ``pid`` listens on."""
    inodes = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return []
    for fd in fds:
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # LISTEN
                found.append(fields[1].split(":")[0])
    return found
