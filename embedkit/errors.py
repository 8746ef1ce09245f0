"""Errors the CLI turns into one clear message and an exit code (2 bad input/usage, 1 failure)."""

from __future__ import annotations

from pathlib import Path


class EmbedkitError(Exception):
    """A failure with a message meant for the user (exit code 1)."""

    exit_code = 1


class UserError(EmbedkitError):
    """Bad usage or bad input: the user can fix it (exit code 2)."""

    exit_code = 2


class InputError(UserError):
    """A problem at a place in an input file: names the file, the line and the fix."""

    def __init__(self, path: str | Path, line: int | None, problem: str, fix: str | None = None):
        self.path, self.line, self.problem, self.fix = str(path), line, problem, fix
        where = f"{path}:{line}" if line is not None else f"{path}"
        message = f"{where}: {problem}"
        if fix:
            message += f" ({fix})"
        super().__init__(message)
