"""Readers for the file layouts embedkit's tasks score: line-aligned text, scored pair tables (STSb TSV, CSV,
word-similarity lists), bilingual dictionaries and the Thirukkural module of `libkural`.

Strict by default: a malformed row raises `InputError` naming the file, the line and what was expected. A task
declares `on_invalid="skip"` only where the source's PROVENANCE documents known upstream defects; skipped rows
are logged with their line numbers.
"""

from __future__ import annotations

import ast
import csv
import io
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from embedkit.errors import InputError

logger = logging.getLogger(__name__)

OnInvalid = Literal["error", "skip"]


def read_lines(path: Path, *, encoding: str = "utf-8") -> list[str]:
    """All lines of a text file, without line endings (a trailing newline does not make an empty last
    line)."""
    raw = path.read_bytes()
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            path, line, f"invalid {encoding} (byte {exc.start})", "re-save the file as UTF-8"
        ) from None
    return text.splitlines()


def read_line_pairs(path1: Path, path2: Path) -> tuple[list[str], list[str]]:
    """The lines of two files that must have as many lines as each other (line i of one goes with line i of
    the other)."""
    lines1, lines2 = read_lines(path1), read_lines(path2)
    if len(lines1) != len(lines2):
        raise InputError(
            path2,
            None,
            f"has {len(lines2)} lines but {path1} has {len(lines1)}",
            "line-aligned files must have the same number of lines",
        )
    return lines1, lines2


def read_aligned(path1: Path, path2: Path) -> tuple[list[str], list[str]]:
    """Two line-aligned files (line i of one translates line i of the other)."""
    lines1, lines2 = read_line_pairs(path1, path2)
    for path, lines in ((path1, lines1), (path2, lines2)):
        for number, line in enumerate(lines, 1):
            if not line.strip():
                raise InputError(
                    path, number, "empty line in an aligned file", "remove the pair from both files"
                )
    return [line.strip() for line in lines1], [line.strip() for line in lines2]


@dataclass(frozen=True)
class TableFormat:
    """How to read (text1, text2, score) rows from a delimited file.

    `columns` are 0-based field indexes, or header names when `header` is true. `delimiter` is a regular
    expression when `quoting` is false (fields are split on it, empty fields dropped when `drop_empty`), or a
    single character handed to the csv module when `quoting` is true.
    """

    columns: tuple[int | str, int | str, int | str]
    delimiter: str = "\t"
    header: bool = False
    quoting: bool = False
    drop_empty: bool = False
    encoding: str = "utf-8"
    min_score: float = 0.0
    max_score: float = 5.0
    on_invalid: OnInvalid = "error"


# genre, file, year, idx, score, sentence1, sentence2 (+ source fields on some rows)
STSB_TSV = TableFormat(columns=(5, 6, 4))


def read_scored_pairs(path: Path, fmt: TableFormat) -> list[tuple[str, str, float]]:
    """Rows of (text1, text2, score) with the score checked against [min_score, max_score]."""
    lines = read_lines(path, encoding=fmt.encoding)
    if fmt.quoting:
        records = list(enumerate(csv.reader(io.StringIO("\n".join(lines)), delimiter=fmt.delimiter), 1))
    else:
        splitter = re.compile(fmt.delimiter)
        records = []
        for number, line in enumerate(lines, 1):
            fields = splitter.split(line.strip())
            records.append((number, [f for f in fields if f.strip()] if fmt.drop_empty else fields))
    records = [(number, fields) for number, fields in records if any(f.strip() for f in fields)]
    if not records:
        raise InputError(path, None, "no rows", "is this the right file?")
    index = list(fmt.columns)
    if fmt.header:
        names = [name.strip() for name in records[0][1]]
        missing = [c for c in fmt.columns if c not in names]
        if missing:
            raise InputError(path, records[0][0], f"header has no column {missing[0]!r} (has {names})")
        index = [names.index(c) for c in fmt.columns]
        records = records[1:]
    rows, skipped = [], []
    for number, fields in records:
        problem = None
        if len(fields) <= max(index):
            problem = f"expected at least {max(index) + 1} fields, found {len(fields)}"
        else:
            text1, text2, raw = (fields[i].strip() for i in index)
            try:
                score = float(raw)
            except ValueError:
                score = None
            if score is None:
                problem = f"score {raw!r} is not a number"
            elif not fmt.min_score <= score <= fmt.max_score:
                problem = f"score {score} is outside [{fmt.min_score}, {fmt.max_score}]"
            elif not text1 or not text2:
                problem = "empty text"
        if problem is None:
            rows.append((text1, text2, score))
        elif fmt.on_invalid == "skip":
            skipped.append(number)
        else:
            raise InputError(path, number, problem)
    if skipped:
        shown = ", ".join(map(str, skipped[:10])) + (", ..." if len(skipped) > 10 else "")
        logger.warning("%s: skipped %d invalid rows (lines %s)", path, len(skipped), shown)
    if not rows:
        raise InputError(path, None, "no valid rows")
    return rows


@dataclass(frozen=True)
class DictionaryFormat:
    """One word pair a line, `separator` between the two sides; `source_first` false for `target @ source`."""

    separator: str
    source_first: bool = True


MUSE_HUNALIGN = DictionaryFormat(separator=" @ ", source_first=False)


def read_dictionary(path: Path, fmt: DictionaryFormat) -> list[tuple[str, str]]:
    """(source word, target word) pairs in file order."""
    pairs = []
    for number, line in enumerate(read_lines(path), 1):
        if not line.strip():
            continue
        left, sep, right = line.partition(fmt.separator)
        if not sep or not left.strip() or not right.strip():
            raise InputError(path, number, f"expected 'word{fmt.separator}word', found {line!r}")
        left, right = left.strip(), right.strip()
        pairs.append((left, right) if fmt.source_first else (right, left))
    if not pairs:
        raise InputError(path, None, "no word pairs")
    return pairs


def read_aligned_dictionary(source_path: Path, target_path: Path) -> list[tuple[str, str]]:
    """(source, target) entries of a dictionary kept as two line-aligned files (line i of one translates line
    i of the other). Lines where either side is empty are untranslated entries: skipped and counted in the
    log."""
    sources, targets = read_line_pairs(source_path, target_path)
    pairs = [(s.strip(), t.strip()) for s, t in zip(sources, targets, strict=True) if s.strip() and t.strip()]
    if not pairs:
        raise InputError(source_path, None, "no entry with both sides filled")
    if len(pairs) < len(sources):
        logger.info("%s: skipped %d entries with an empty side", source_path, len(sources) - len(pairs))
    return pairs


@dataclass(frozen=True)
class Kural:
    number: int
    chapter: int  # adhikaram, 1-133, ten couplets each
    tamil: str
    english: str  # G. U. Pope's verse translation
    commentary: str


_UNESCAPE = (("&#9;", " "), ("&#10;", "\n"), ("&quot;", "'"), ("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))


def _unescape(text: str) -> str:
    for entity, char in _UNESCAPE:
        text = text.replace(entity, char)
    return " ".join(text.split())


def read_kurals(path: Path) -> list[Kural]:
    """The 1,330 couplets in libkural's module source (read as data: the module itself is Python 2 only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    kurals = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "factory"):
            continue
        try:
            number, _pal, _chapter, tamil, english, commentary = (ast.literal_eval(arg) for arg in node.args)
        except ValueError:
            continue  # the factory's own definition, not a data row
        kurals.append(
            Kural(
                int(number),
                (int(number) - 1) // 10 + 1,
                _unescape(tamil),
                _unescape(english),
                _unescape(commentary),
            )
        )
    kurals.sort(key=lambda k: k.number)
    if [k.number for k in kurals] != list(range(1, 1331)):
        raise InputError(
            path, None, f"expected couplets 1-1330, found {len(kurals)}", "reinstall libkural==1.0.1"
        )
    return kurals
