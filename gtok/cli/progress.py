"""The one progress display of the ``gtok`` commands, and the lines printed above it.

A bar on standard error, drawn by tqdm (:mod:`gtok.cli.bar`), for the commands that take
a while: ``tokenize`` (files, and regions/s), ``tokenize --pack`` (files), ``anndata``
(cells) and ``fragments`` (bytes of the fragment file, and fragments/s). Each command shows
it only when standard error is a terminal and ``--quiet`` is not given (:func:`wanted`);
in a log file or a pipe nothing is drawn, and tqdm is not even imported (~50 ms).

The elapsed time, the rates and the time left count from the command's start, not from
the bar's first drawing (the bar appears when the first item is done, and a resumed run's
items done earlier are left out of the rates). A rate shows once a second has passed and
an item is done: a rate over the first milliseconds says nothing (the first file's
regions over the time since it finished once read "10273.06 M regions/s").

Lines a command prints while a bar is shown (failures, ``--verbose`` lines, warnings) go
through :func:`say` or :meth:`ProgressBar.say`, above the bar.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TextIO

__all__ = ["MIN_RATE_SECONDS", "ProgressBar", "wanted", "say", "rate_text", "duration_text"]

#: rates and the time left show once this much time has passed since the command started
MIN_RATE_SECONDS = 1.0

_shown: list[ProgressBar] = []  # the bars being drawn (one at a time in practice)


def wanted(stream: TextIO, quiet: bool) -> bool:
    """Whether to draw a bar on ``stream``: a terminal, and no ``--quiet``."""
    if quiet:
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no stream, or a closed one
        return False


def say(line: str) -> None:
    """Print ``line`` on standard error, above the progress bar being shown, if any."""
    if _shown:
        _shown[-1].say(line)
    else:
        print(line, file=sys.stderr, flush=True)


def rate_text(per_second: float, unit: str) -> str:
    """``"2.5 files/s"``, ``"1.23M regions/s"``; bytes as ``"12.3MB/s"``.

    >>> rate_text(1_234_567, "regions"), rate_text(2.5, "files"), rate_text(12.3e6, "B")
    ('1.23M regions/s', '2.5 files/s', '12.3MB/s')
    """
    value, prefix = per_second, ""
    for bigger in ("k", "M", "G", "T"):
        if abs(value) < 999.5:
            break
        value, prefix = value / 1000, bigger
    number = f"{value:.3g}{prefix}"
    return f"{number}{unit}/s" if unit == "B" else f"{number} {unit}/s"


def duration_text(seconds: float) -> str:
    """``"04:05"``, ``"1:02:03"``.

    >>> duration_text(245.7), duration_text(3723)
    ('04:05', '1:02:03')
    """
    s = int(seconds)
    if s >= 3600:
        return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
    return f"{s // 60:02d}:{s % 60:02d}"


class ProgressBar:
    """A command's progress bar on ``stream`` (standard error), drawn when ``show``.

    Parameters
    ----------
    unit : str
        What is counted: ``"files"``, ``"cells"``, or ``"B"`` (bytes, shown as ``12.3M``).
    show : bool
        Draw the bar (see :func:`wanted`); when False only :meth:`say` prints anything.
    extra : str, optional
        A second count whose rate is shown too (``"regions"``, ``"fragments"``).
    stream : text stream, optional
        Where it is drawn (default: standard error).
    clock : callable, optional
        Seconds, monotonic (default: :func:`time.monotonic`; the tests' clock).

    The command's start is when the bar is made: make it before the work begins. Use it
    as a context manager, so that the bar is closed (its last state left on its own line)
    whatever ends the command, Ctrl-C included.
    """

    def __init__(
        self,
        unit: str,
        *,
        show: bool,
        extra: str | None = None,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.unit = unit
        self.show = show
        self.extra_unit = extra
        self.stream = sys.stderr if stream is None else stream
        self.clock = clock
        self.started = clock()
        self.done = self.already = self.extra = 0
        self.total: int | None = None
        self._bar: Any = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def update(
        self, done: int, total: int | None = None, *, extra: int = 0, already: int = 0
    ) -> None:
        """``done`` of ``total`` items so far (``total`` None or 0: not known); ``extra``
        the second count so far; ``already``: of ``done``, how many were done before this
        command started (a resumed run's; read when the bar first appears)."""
        if not self.show:
            return
        self.done, self.extra = done, extra
        self.total = total or None
        if self._bar is None:
            self.already = min(already, done)
            self._bar = self._make_bar()
            _shown.append(self)
        if self._bar.total != self.total:
            self._bar.total = self.total
        self._bar.update(done - self._bar.n)

    def say(self, line: str) -> None:
        """Print ``line`` on the bar's stream, above the bar when it is drawn."""
        if self._bar is not None:
            self._bar.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)

    def close(self) -> None:
        """Leave the bar's last state on its own line (nothing when none was drawn)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
            _shown.remove(self)

    def stats(self) -> dict[str, Any]:
        """The fields of the bar's text that are the display's own: ``elapsed`` (seconds
        since the command started), ``left`` (``"<04:05"``) and ``rates``
        (``", 2.5 files/s, 1.23M regions/s"``), the last two empty for the first second
        and until an item is done."""
        seconds = max(self.clock() - self.started, 0.0)
        fields: dict[str, Any] = {"elapsed": seconds, "left": "", "rates": ""}
        done_here = self.done - self.already
        if seconds < MIN_RATE_SECONDS or done_here <= 0:
            return fields
        per_second = done_here / seconds
        rates = [rate_text(per_second, self.unit)]
        if self.extra_unit is not None:
            rates.append(rate_text(self.extra / seconds, self.extra_unit))
        fields["rates"] = ", " + ", ".join(rates)
        if self.total:
            fields["left"] = "<" + duration_text(max(self.total - self.done, 0) / per_second)
        return fields

    def _make_bar(self) -> Any:
        from gtok.cli.bar import RunBar  # (tqdm: imported only when a bar is drawn)

        sizes = self.unit == "B"
        count = "{n_fmt}/{total_fmt}" if self.total else "{n_fmt}"
        count += "B" if sizes else " " + self.unit
        timing = " [{elapsed}{left}{rates}]"
        return RunBar(
            stats=self.stats,
            total=self.total,
            initial=self.done,  # (tqdm's own rate, from it, is not shown: see stats)
            file=self.stream,
            unit=self.unit,
            unit_scale=sizes,
            bar_format=("{l_bar}{bar}| " if self.total else "") + count + timing,
            dynamic_ncols=True,
            mininterval=0.1,
            leave=True,
        )
