"""One rich console on stderr (stdout stays for results) and progress bars that honour --quiet."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from embedkit.progress import Progress as ProgressBase
from embedkit.progress import ProgressTask

console = Console(stderr=True)
_quiet = False


def set_quiet(quiet: bool) -> None:
    global _quiet
    _quiet = quiet


def is_quiet() -> bool:
    return _quiet


def info(message: str) -> None:
    if not _quiet:
        console.print(Text(message), soft_wrap=True, highlight=False)


def print_error(message: str) -> None:
    """One red `error:` line; the message is printed as is (a path or a library's text may hold `[...]`)."""
    console.print(Text("error: ", style="red") + Text(message), soft_wrap=True, highlight=False)


def progress(*extra_columns) -> Progress:
    """A rich Progress on stderr; disabled under --quiet."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        *extra_columns,
        console=console,
        disable=_quiet,
        transient=False,
    )


LIBRARY_LOGGERS = ("embedkit", "corpora", "trainers", "mteb_tasks", "benchmarks")


class _ConsoleHandler(logging.Handler):
    """Log records as plain lines on the rich console: soft-wrapped (a long path stays one piece to copy),
    no markup, and printed above any live progress display."""

    def __init__(self, debug: bool) -> None:
        super().__init__()
        self.debug = debug
        self.set_name("embedkit-cli")

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = self.format(record)
            if record.levelno >= logging.WARNING:
                style = "red" if record.levelno >= logging.ERROR else "yellow"
                prefix = Text(f"{record.levelname.lower()}: ", style=style)
                console.print(prefix + Text(message), soft_wrap=True, highlight=False)
            else:
                console.print(Text(message), soft_wrap=True, highlight=False)
        except Exception:
            self.handleError(record)


def setup_logging(*, quiet: bool = False, debug: bool = False) -> None:
    """The CLI's screen: library log records go to the rich console on stderr, as plain lines.

    --quiet shows warnings and errors only; --debug shows debug records too (with the logger's name).
    Called once per command; calling it again replaces the handler, so tests that run several commands
    in one process see one.
    """
    set_quiet(quiet)
    level = logging.WARNING if quiet else (logging.DEBUG if debug else logging.INFO)
    handler = _ConsoleHandler(debug)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s" if debug else "%(message)s"))
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers = [h for h in logger.handlers if h.get_name() != "embedkit-cli"]
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False


class RichProgress(ProgressBase):
    """embedkit.progress.Progress drawn with rich on stderr. Nested tasks share one live display."""

    def __init__(self, *extra_columns, disable: bool | None = None) -> None:
        self.extra_columns = extra_columns
        self.disable = _quiet if disable is None else disable
        self._bar: Progress | None = None
        self._open = 0

    @contextmanager
    def task(self, description: str, total: int | None = None, completed: int = 0) -> Iterator[ProgressTask]:
        if self._bar is None:
            self._bar = progress(TextColumn("{task.fields[status]}"), *self.extra_columns)
            self._bar.disable = self.disable
            self._bar.start()
        bar = self._bar
        self._open += 1
        task_id = bar.add_task(description, total=total, completed=completed, status="")

        class _Task(ProgressTask):
            def advance(self, amount: int = 1) -> None:
                bar.advance(task_id, amount)

            def update(self, *, completed: int | None = None, total: int | None = None) -> None:
                bar.update(task_id, completed=completed, total=total)

            def status(self, text: str) -> None:
                bar.update(task_id, status=text)

        try:
            yield _Task()
        finally:
            self._open -= 1
            if self._open == 0:  # the outermost bar stays on screen as the summary
                bar.stop()
                self._bar = None
            else:  # an inner bar (one task of many) goes when it is done
                bar.remove_task(task_id)
