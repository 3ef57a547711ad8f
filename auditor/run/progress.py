"""Progress on stderr: bars on a terminal, timestamped lines elsewhere, nothing when quiet.

An audit's long phases (training the original, the references and the shadow models, the
attacks) can take minutes, so progress is on by default, for ``unlearn-audit run`` and for
``auditor.audit()`` alike:

* stderr is a terminal: one ``rich`` bar per phase, with elapsed and remaining time;
* stderr is not a terminal (a CI log, ``make demo | tee log``, a notebook): plain lines, each
  stamped with the wall-clock time, when a phase starts, every :data:`LINE_INTERVAL_S` seconds while
  it advances, and when it ends, e.g.::

      14:02:07 training 12 references ...
      14:02:37 training 12 references: 33 % (0:30 elapsed, about 1:00 left)
      14:03:31 training 12 references: done in 1:24

* ``enabled=False`` (``-q``, ``--json``, ``audit(progress=False)``): nothing.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

LINE_INTERVAL_S = 15.0
"""Least time between two progress lines of one phase (its start and end are always printed)."""


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class Progress:
    """Progress display for an audit's phases.

    Args:
        enabled: False shows nothing; True or None (the default) shows bars when ``stream`` is a
            terminal and timestamped lines when it is not.
        stream: Where to write (default: ``sys.stderr``).
        interval: Least seconds between two lines of one phase (lines mode).
    """

    def __init__(
        self, *, enabled: bool | None = None, stream: TextIO | None = None, interval: float = LINE_INTERVAL_S
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled is not False
        self.interval = interval
        tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.mode = "off" if not self.enabled else "bars" if tty else "lines"
        self._rich = None
        if self.mode == "bars":
            from rich.console import Console
            from rich.progress import BarColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
            from rich.progress import Progress as RichProgress

            self._rich = RichProgress(
                TextColumn("{task.description:<34}"),
                BarColumn(),
                TextColumn("{task.percentage:>3.0f}%"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(file=self.stream),
                transient=False,
            )

    def __enter__(self) -> Progress:
        if self._rich is not None:
            self._rich.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._rich is not None:
            self._rich.stop()

    def _line(self, text: str) -> None:
        self.stream.write(f"{time.strftime('%H:%M:%S')} {text}\n")
        self.stream.flush()

    @contextmanager
    def task(self, description: str, total: int = 1) -> Iterator[Callable[[int, int], None]]:
        """A display for one phase; yields ``update(done, total)`` (any units: only the share is shown)."""
        if self.mode == "lines":
            yield from self._lines_task(description)
            return
        if self._rich is None:
            yield lambda done, tot: None
            return
        tid = self._rich.add_task(description, total=max(total, 1))

        def update(done: int, tot: int) -> None:
            self._rich.update(tid, completed=done, total=max(tot, 1))  # type: ignore[union-attr]

        try:
            yield update
        finally:
            task = self._rich.tasks[[t.id for t in self._rich.tasks].index(tid)]
            self._rich.update(tid, completed=task.total)

    def _lines_task(self, description: str) -> Iterator[Callable[[int, int], None]]:
        start = time.monotonic()
        last = start
        self._line(f"{description} ...")

        def update(done: int, tot: int) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last < self.interval or tot <= 0 or done <= 0 or done >= tot:
                return
            last = now
            share = done / tot
            left = (now - start) * (1 - share) / share
            self._line(
                f"{description}: {100 * share:.0f} % ({_clock(now - start)} elapsed, about {_clock(left)} left)"
            )

        ok = False
        try:
            yield update
            ok = True
        finally:
            self._line(
                f"{description}: {'done in' if ok else 'stopped after'} {_clock(time.monotonic() - start)}"
            )
