"""What readers hand to builders: inputs, records at a (file, line), and the build context that counts
drops and decides what a malformed row does (stop the build, or be recorded and skipped)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from embedkit.errors import InputError, UserError

MAX_INVALID_RECORDED = 10_000  # the manifest lists at most this many invalid rows (all are counted)


def user_error(problem: str, fix: str | None = None) -> UserError:
    """A usage error whose message says what to do: 'problem (fix)'."""
    return UserError(f"{problem} ({fix})" if fix else problem)


@dataclass(frozen=True)
class Input:
    """One INPUT: a file, a folder or a Hub dataset id, with its language when known."""

    path: str
    lang: str | None = None

    @property
    def file(self) -> Path:
        return Path(self.path)

    def __str__(self) -> str:
        return self.path


@dataclass(slots=True)
class Record:
    """One source row. `fields` are named values (tsv/csv/jsonl/stsb/text/hub), or, for multilingual
    sources (aligned/muse/babelnet/cldr), `id`, `source` and `entries`: a list of (lang, text, gloss)."""

    file: str
    line: int
    fields: dict[str, Any]


@dataclass
class BuildContext:
    """Shared by readers and builders during one build, in the main process."""

    skip_invalid: bool = False
    rows_in: int = 0  # source rows read (lines, records)
    rows_built: int = 0  # corpus rows made from them, before drops by reason and duplicates
    drops: Counter = field(default_factory=Counter)
    invalid_rows: list[dict] = field(default_factory=list)
    on_row: Any = None  # progress callback

    def invalid(self, file: str | Path, line: int | None, problem: str, fix: str | None = None) -> None:
        """A malformed source row a reader will not yield: raise in strict mode; with --skip-invalid
        count it in, record it and return."""
        if not self.skip_invalid:
            raise InputError(file, line, problem, fix)
        if line is not None:
            self.count_in()
        self._record_invalid(file, line, problem)

    def invalid_record(self, record: Record, problem: str, fix: str | None = None) -> None:
        """A record (already counted in) that a builder finds malformed: as `invalid`."""
        if not self.skip_invalid:
            raise InputError(record.file, record.line, problem, fix)
        self._record_invalid(record.file, record.line, problem)

    def _record_invalid(self, file: str | Path, line: int | None, problem: str) -> None:
        self.drops["invalid"] += 1
        if len(self.invalid_rows) < MAX_INVALID_RECORDED:
            self.invalid_rows.append({"file": str(file), "line": line, "reason": problem})

    def drop(self, reason: str, count: int = 1) -> None:
        if count:
            self.drops[reason] += count

    def count_in(self, count: int = 1) -> None:
        self.rows_in += count
        if self.on_row is not None:
            self.on_row(count)


def parse_input(text: str) -> Input:
    """`PATH`, or `LANG=PATH` to declare the input's language (e.g. `hi=xnli.tsv`)."""
    head, sep, tail = text.partition("=")
    if sep and 2 <= len(head) <= 3 and head.isalpha():
        from corpora.languages import lang_code

        return Input(tail, lang_code(head))
    return Input(text)
