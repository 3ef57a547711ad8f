"""Progress bars on stderr (rich), off with --quiet or when stderr is not a terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Progress:
    """A thin wrapper over ``rich.progress`` with one bar per task."""

    def __init__(self, *, enabled: bool | None = None) -> None:
        if enabled is None:
            enabled = sys.stderr.isatty()
        self.enabled = enabled
        self._rich = None
        if enabled:
            from rich.console import Console
            from rich.progress import BarColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as RichProgress

            self._rich = RichProgress(
                TextColumn("{task.description:<34}"),
                BarColumn(),
                TextColumn("{task.percentage:>3.0f}%"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=False,
            )

    def __enter__(self) -> Progress:
        if self._rich is not None:
            self._rich.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._rich is not None:
            self._rich.stop()

    @contextmanager
    def task(self, description: str, total: int = 1) -> Iterator[Callable[[int, int], None]]:
        """A bar for one phase; yields ``update(done, total)``."""
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
