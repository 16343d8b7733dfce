"""The keys of a cluster run (Dask, Ray): handed out in groups, in order, within a window,
with the rule for inputs that were on a worker that died.

Cluster schedulers report a dead worker against every task *assigned* to it, not only the
one running, so the engines cannot blame an input at the first death. The rule here: the
keys of a group lost with a worker become *suspects* and go again first, one per group;
a suspect lost again is the input's doing (the engine fails it with
:class:`~gtok.batch.engine.WorkerDeath`). While suspects run, the engines keep one group
per worker thread, so that a suspect shares its worker with no other input.

>>> q = KeyQueue([10, 11, 12, 13, 14], window=None)
>>> q.take(2)
[10, 11]
>>> q.lost([10, 11]), q.take(2), q.take(2)  # both go again, alone
(False, [10], [11])
>>> q.lost([11])  # lost again, alone: it fails
True
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Sequence

__all__ = ["KeyQueue", "cannot_use"]

_BLAMED_IN_A_ROW = 10  # (or 2 x jobs) inputs failed by workers' deaths in a row: give up


class KeyQueue:
    """``keys`` handed out in order, a group at a time (its size chosen by the engine at
    each :meth:`take`); with ``window``, never a key more than ``window`` places past the
    first key not yet done (an in-order consumer buffers at most that many results).
    Groups sent back (:meth:`lost`, :meth:`again`) go out first."""

    def __init__(self, keys: Sequence[int], window: int | None) -> None:
        if window is not None and window < 1:
            raise ValueError(f"window must be at least 1, not {window}")
        self.order = list(keys)
        self.next = 0  # the position of the next key never handed out
        self.back: deque[list[int]] = deque()  # groups to hand out again, first
        self.window = window
        self.position = {k: i for i, k in enumerate(self.order)}
        self.finished: set[int] = set()
        self.due = 0  # the first position not done
        self.suspects: set[int] = set()
        self.blamed_in_a_row = 0

    def __bool__(self) -> bool:
        return bool(self.back) or self.next < len(self.order)

    def left(self) -> int:
        """Keys never handed out."""
        return len(self.order) - self.next

    def take(self, size: int) -> list[int] | None:
        """The next group: one sent back, or up to ``size`` new keys; None when the window
        allows none now."""
        if self.back:
            keys = self.back[0]
            if self.window is not None and self.position[keys[-1]] >= self.due + self.window:
                return None
            return self.back.popleft()
        if self.window is not None:
            size = min(size, self.due + self.window - self.next)
        if size < 1 or self.next >= len(self.order):
            return None
        keys = self.order[self.next : self.next + size]
        self.next += len(keys)
        return keys

    def next_is_suspect(self) -> bool:
        return bool(self.back) and self.back[0][0] in self.suspects

    def is_suspect(self, keys: Sequence[int]) -> bool:
        return keys[0] in self.suspects

    def done(self, key: int, *, blamed: bool = False) -> None:
        """``key`` has its result (``blamed``: its worker's death)."""
        self.blamed_in_a_row = self.blamed_in_a_row + 1 if blamed else 0
        self.finished.add(self.position[key])
        while self.due in self.finished:
            self.finished.discard(self.due)
            self.due += 1

    def lost(self, keys: list[int]) -> bool:
        """``keys`` (one group) were on a worker that died: True when the key is to fail
        (a suspect, alone, lost again); else they go again first, one per group."""
        if len(keys) == 1 and keys[0] in self.suspects:
            return True
        self.suspects.update(keys)
        self.back.extendleft([key] for key in reversed(keys))
        return False

    def again(self, keys: list[int]) -> None:
        """``keys`` go again first, as they were (lost through no input's doing)."""
        self.back.appendleft(keys)

    def gave_up(self, jobs: int) -> int:
        """The number of inputs failed by deaths in a row that means giving up, once
        reached (a memory limit below what every input needs); else 0."""
        limit = max(_BLAMED_IN_A_ROW, 2 * jobs)
        return limit if self.blamed_in_a_row >= limit else 0


def cannot_use(out_dir: str | None, inputs: list[str]) -> str | None:
    """On a worker: why it cannot write into ``out_dir`` (None: nothing to write) or read
    ``inputs``; None when it can."""
    if out_dir is not None and not os.path.isdir(out_dir):
        return f"no folder {out_dir}"
    if out_dir is not None and not os.access(out_dir, os.W_OK | os.X_OK):
        return f"cannot write into {out_dir}"
    for path in inputs:
        if not os.path.exists(path):
            return f"no input {path}"
    return None
