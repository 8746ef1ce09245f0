"""What readers hand to builders: inputs, records at a (file, line), and the build context that counts
drops and decides what a malformed row does (stop the build, or be recorded and skipped)."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator
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
        """A malformed row: raise in strict mode; with --skip-invalid record it and return."""
        if not self.skip_invalid:
            raise InputError(file, line, problem, fix)
        self.drops["invalid"] += 1
        if line is not None:
            self.count_in()
        if len(self.invalid_rows) < MAX_INVALID_RECORDED:
            self.invalid_rows.append({"file": str(file), "line": line, "reason": problem})

    def drop(self, reason: str, count: int = 1) -> None:
        if count:
            self.drops[reason] += count

    def count_in(self, count: int = 1) -> None:
        self.rows_in += count
        if self.on_row is not None:
            self.on_row(count)


def read_lines(path: Path, ctx: BuildContext) -> Iterator[tuple[int, str | None]]:
    """(line number, text) for each line, newline stripped, UTF-8 checked line by line; a UTF-8 BOM
    at the start is dropped. An undecodable line is invalid input: with --skip-invalid its text is None
    (so line-aligned files stay aligned)."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            raw = raw.rstrip(b"\n").rstrip(b"\r")
            try:
                yield number, raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                ctx.invalid(
                    path,
                    number,
                    f"invalid UTF-8 at byte {exc.start + 1} of the line",
                    "save the file as UTF-8",
                )
                yield number, None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def parse_input(text: str) -> Input:
    """`PATH`, or `LANG=PATH` to declare the input's language (e.g. `hi=xnli.tsv`)."""
    head, sep, tail = text.partition("=")
    if sep and 2 <= len(head) <= 3 and head.isalpha():
        from corpora.languages import lang_code

        return Input(tail, lang_code(head))
    return Input(text)
