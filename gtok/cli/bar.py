"""The tqdm bar that :class:`gtok.cli.progress.ProgressBar` draws.

A module of its own so that tqdm (~50 ms to import) is imported only when a bar is shown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tqdm import tqdm

__all__ = ["RunBar"]


class RunBar(tqdm):
    """A tqdm bar whose elapsed time, rates and time left come from ``stats()``.

    tqdm counts time from the bar's creation and shows a rate from its first drawing; the
    display counts from the command's start and holds rates back until they mean
    something (see :mod:`gtok.cli.progress`). Overriding ``format_dict`` to add fields to
    ``bar_format`` is tqdm's documented way to show one's own statistics.
    """

    #: no monitor thread: the batch forks worker processes, and a thread at fork time
    #: can deadlock the child
    monitor_interval = 0

    def __init__(self, *, stats: Callable[[], dict[str, Any]], **options: Any) -> None:
        self.stats = stats  # (before tqdm's __init__, which draws the bar once)
        super().__init__(**options)

    @property
    def format_dict(self) -> dict[str, Any]:
        fields = dict(super().format_dict)
        fields.update(self.stats())
        return fields
