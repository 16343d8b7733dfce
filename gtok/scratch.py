"""Per-thread scratch arrays: buffers a thread reuses from one small input to the next.

Tokenizing a file makes a few short-lived columns (the parsed rows, the rows in gtars'
order, the sort keys). Allocated afresh for every file, each costs page faults and the
kernel's zeroing of every page it touches (whole 2 MiB huge pages for NumPy's large
arrays) -- about as much as the parse itself on small files; more in a Dask worker, whose
nanny sets ``MALLOC_TRIM_THRESHOLD_=65536`` so that freed memory goes back to the kernel
at once (page faults in the query sort, ``gtars_keys``, were 2.5 % of a Dask run's samples).
:func:`scratch_array` hands out views of buffers kept per thread and per name instead,
for inputs of at most :data:`SCRATCH_ROWS` rows.

A scratch view is valid until the same thread asks for the same name again: the caller
uses it at once and drops it (never returns it to a user).

Examples
--------
>>> import numpy as np
>>> from gtok.scratch import scratch_array
>>> a = scratch_array("example", np.uint32, 10)
>>> b = scratch_array("example", np.uint32, 5)
>>> a.shape, b.shape, np.shares_memory(a, b)
((10,), (5,), True)
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

__all__ = ["SCRATCH_ROWS", "scratch_array"]

#: The most rows a scratch view may have; a longer array is allocated afresh (so a thread
#: keeps at most a few MiB per name: 8 MiB for 64-bit items).
SCRATCH_ROWS = 1 << 20

_local = threading.local()


def scratch_array(name: str, dtype: Any, n: int) -> np.ndarray:
    """An uninitialised array of ``n`` items of ``dtype``: a view of this thread's buffer
    ``name`` when ``n <= SCRATCH_ROWS`` (valid until this thread's next call with
    ``name``), otherwise a new array."""
    if n > SCRATCH_ROWS:
        return np.empty(n, dtype=dtype)
    buffers = getattr(_local, "buffers", None)
    if buffers is None:
        buffers = _local.buffers = {}
    buf = buffers.get(name)
    if buf is None or buf.shape[0] < n or buf.dtype != dtype:
        buf = buffers[name] = np.empty(max(n, 1 << 16), dtype=dtype)
    return buf[:n]
