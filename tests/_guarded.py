"""Scripts run in a child process with ``guarded(arr)``: a copy of a NumPy array ending
right before a page that may not be read, so that a kernel reading past the end of its
input crashes the child (a failed test), not the test run; ``guarded_after(arr)``: one
starting right after such a page (a read before its start crashes).

Not a test module: ``test_bed_parser.py`` and ``test_index_layout.py`` import it. Linux
only (``mprotect`` through ctypes): use :data:`LINUX_ONLY`.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from batchdata import SUBPROCESS_CWD

LINUX_ONLY = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="mprotect through ctypes"
)

_PRELUDE = """
import ctypes, mmap
import numpy as np

libc = ctypes.CDLL(None)
PAGE = mmap.PAGESIZE
held = []

def guarded(arr):
    # a copy of arr ending right before a page that may not be read
    pages = (arr.nbytes + PAGE - 1) // PAGE
    m = mmap.mmap(-1, (pages + 1) * PAGE)
    buf = np.frombuffer(m, dtype=np.uint8)
    assert libc.mprotect(ctypes.c_void_p(buf.ctypes.data + pages * PAGE), PAGE, 0) == 0
    out = buf[pages * PAGE - arr.nbytes : pages * PAGE].view(arr.dtype)
    out[:] = arr
    held.append(m)
    return out

def guarded_after(arr):
    # a copy of arr starting right after a page that may not be read
    pages = (arr.nbytes + PAGE - 1) // PAGE
    m = mmap.mmap(-1, (pages + 1) * PAGE)
    buf = np.frombuffer(m, dtype=np.uint8)
    assert libc.mprotect(ctypes.c_void_p(buf.ctypes.data), PAGE, 0) == 0
    out = buf[PAGE : PAGE + arr.nbytes].view(arr.dtype)
    out[:] = arr
    held.append(m)
    return out
"""


def run_guarded(script: str) -> None:
    """Run ``script`` (which may call ``guarded`` or ``guarded_after`` and must print ``ok``
    at its end) in a child process of the installed gtok; fail with its exit code and error
    output."""
    r = subprocess.run(
        [sys.executable, "-c", _PRELUDE + script],
        cwd=SUBPROCESS_CWD,  # (the installed gtok, not the checkout's sources)
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0 and r.stdout.strip() == "ok", (r.returncode, r.stderr[-2000:])
