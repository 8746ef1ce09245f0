"""Progress reporting for library code.

Library functions that do long work take a `progress: Progress = SILENT` argument and report through it;
they never draw on the screen. The CLI passes `embedkit.console.RichProgress`, a notebook or another
program may pass its own subclass (or nothing, and see nothing).

    with progress.task("tagging", total=len(rows)) as task:
        for row in rows:
            ...
            task.advance()
            task.status("12 dropped")        # a short free-text field next to the bar
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class ProgressTask:
    """One bar. The base class ignores every call."""

    def advance(self, amount: int = 1) -> None:
        pass

    def update(self, *, completed: int | None = None, total: int | None = None) -> None:
        pass

    def status(self, text: str) -> None:
        pass


class Progress:
    """A source of bars. The base class is silent; subclasses draw (see embedkit.console)."""

    @contextmanager
    def task(self, description: str, total: int | None = None, completed: int = 0) -> Iterator[ProgressTask]:
        yield ProgressTask()


SILENT = Progress()


class RecordingProgress(Progress):
    """Keeps every event in `events` (for tests, and for callers that want to inspect progress)."""

    def __init__(self) -> None:
        self.events: list[tuple] = []

    @contextmanager
    def task(self, description: str, total: int | None = None, completed: int = 0) -> Iterator[ProgressTask]:
        recorder = self

        class _Task(ProgressTask):
            def advance(self, amount: int = 1) -> None:
                recorder.events.append(("advance", description, amount))

            def update(self, *, completed: int | None = None, total: int | None = None) -> None:
                recorder.events.append(("update", description, completed, total))

            def status(self, text: str) -> None:
                recorder.events.append(("status", description, text))

        self.events.append(("start", description, total, completed))
        try:
            yield _Task()
        finally:
            self.events.append(("end", description))
