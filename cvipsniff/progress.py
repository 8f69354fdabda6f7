"""Progress bars on stderr for long captures (rich), silent when stderr is not a terminal."""

from __future__ import annotations

import sys
from typing import Any


class Progress:
    """A thin wrapper so callers need not care whether a bar is shown. rich is imported
    only for a bar that is shown: a report piped into a file or a CI log shows none, and
    the import was an eighth of such a run's start (17 ms)."""

    def __init__(self, enabled: bool) -> None:
        self._bar: Any = None
        if enabled:
            from rich.console import Console
            from rich.progress import BarColumn, DownloadColumn, TextColumn, TimeRemainingColumn
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(
                TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                TimeRemainingColumn(), console=Console(file=sys.stderr), transient=True)

    @classmethod
    def for_stderr(cls) -> Progress:
        return cls(sys.stderr.isatty())

    def __enter__(self) -> Progress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.stop()

    def start(self, name: str) -> Any:
        if self._bar is None:
            return None
        return self._bar.add_task(name, total=None)

    def update(self, task: Any, done: int, total: int | None) -> None:
        if self._bar is not None and task is not None:
            self._bar.update(task, completed=done, total=total)

    def finish(self, task: Any) -> None:
        if self._bar is not None and task is not None:
            self._bar.remove_task(task)
