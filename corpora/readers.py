"""One parser per file layout, shared by corpus builds (`corpora.formats`), the eval tasks
and `embedkit encode` / `model inspect`.

Lines: one line is one `\\n`-terminated run of bytes. Nothing else ends a line: U+2028, U+0085 (NEL),
form feed and a lone `\\r` inside a line stay in its text (`str.splitlines` is never used). One trailing
`\\r` is stripped (a `\\r\\n` file reads like a `\\n` file); a UTF-8 BOM at the start of the file is
dropped; a last line without `\\n` is still a line; a trailing `\\n` does not start an empty last line.
Empty lines are kept (as ""): each caller decides what one means.

Every reader reports a bad line through `on_invalid(path, line, problem, fix)`; the default raises
`InputError` (file:line, exit 2). A corpus build passes `BuildContext.invalid`, which with
--skip-invalid records the line and returns: the reader then skips the row (or, for `read_lines`,
yields None as its text so line-aligned files stay aligned).
"""

from __future__ import annotations

import ast
import csv
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from embedkit.errors import InputError

logger = logging.getLogger(__name__)

OnInvalid = Callable[..., None]  # (path, line, problem, fix=None); returns only to skip the row


def raise_invalid(path: str | Path, line: int | None, problem: str, fix: str | None = None) -> None:
    raise InputError(path, line, problem, fix)


def describe_value(value: Any) -> str:
    """'a dict ({'x': 1})', 'a NaN', 'a null': what a non-text value is, for error messages."""
    if value is None:
        return "a null"
    if isinstance(value, float) and value != value:
        return "a NaN"
    kind = {dict: "JSON object", list: "list", bool: "boolean", int: "number", float: "number"}.get(
        type(value), type(value).__name__
    )
    shown = repr(value)
    return f"a {kind} ({shown[:40] + '...' if len(shown) > 40 else shown})"


def text_problem(value: Any) -> str | None:
    """Why `value` cannot be a text field, or None: only strings are text (a JSON object, list, number,
    boolean, null or NaN is never turned into one), and text holds no NUL character."""
    if not isinstance(value, str):
        return f"is {describe_value(value)}, not a string"
    if "\x00" in value:
        return f"holds a NUL character at position {value.index(chr(0)) + 1}"
    return None


def read_lines(path: Path, on_invalid: OnInvalid = raise_invalid) -> Iterator[tuple[int, str | None]]:
    """(line number, text) of every line (see the module docstring). Invalid UTF-8 and NUL bytes are
    invalid lines; when `on_invalid` returns, their text is None."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if raw.endswith(b"\n"):
                raw = raw[:-1]
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                on_invalid(
                    path,
                    number,
                    f"invalid UTF-8 at byte {exc.start + 1} of the line",
                    "save the file as UTF-8",
                )
                yield number, None
                continue
            if "\x00" in text:
                on_invalid(
                    path,
                    number,
                    f"NUL byte at character {text.index(chr(0)) + 1} of the line",
                    "remove the NUL bytes; is this a text file?",
                )
                yield number, None
                continue
            yield number, text


def text_lines(path: Path) -> list[str]:
    """Every line of a text file, strictly (the first bad line raises InputError)."""
    return [text or "" for _, text in read_lines(path)]


def line_count_mismatch(path1: Path, count1: int, path2: Path, count2: int) -> InputError:
    """The error for two line-aligned files of different lengths, placed at the first unpaired line."""
    longer, shorter = (path1, path2) if count1 > count2 else (path2, path1)
    return InputError(
        longer,
        min(count1, count2) + 1,
        f"{shorter} has no line {min(count1, count2) + 1}",
        "aligned files must have the same number of lines",
    )


def read_line_pairs(path1: Path, path2: Path) -> tuple[list[str], list[str]]:
    """The lines of two line-aligned files (line i of one goes with line i of the other)."""
    lines1, lines2 = text_lines(path1), text_lines(path2)
    if len(lines1) != len(lines2):
        raise line_count_mismatch(path1, len(lines1), path2, len(lines2))
    return lines1, lines2


def read_aligned(path1: Path, path2: Path) -> tuple[list[str], list[str]]:
    """Two line-aligned files of sentences, stripped; an empty line is an error (it pairs with nothing)."""
    lines1, lines2 = read_line_pairs(path1, path2)
    for path, lines in ((path1, lines1), (path2, lines2)):
        for number, line in enumerate(lines, 1):
            if not line.strip():
                raise InputError(
                    path, number, "empty line in an aligned file", "remove the pair from both files"
                )
    return [line.strip() for line in lines1], [line.strip() for line in lines2]


def read_aligned_dictionary(source_path: Path, target_path: Path) -> list[tuple[str, str]]:
    """(source, target) entries of a dictionary kept as two line-aligned files. Lines where either side is
    empty are untranslated entries: skipped and counted in the log."""
    sources, targets = read_line_pairs(source_path, target_path)
    pairs = [(s.strip(), t.strip()) for s, t in zip(sources, targets, strict=True) if s.strip() and t.strip()]
    if not pairs:
        raise InputError(source_path, None, "no entry with both sides filled")
    if len(pairs) < len(sources):
        logger.info("%s: skipped %d entries with an empty side", source_path, len(sources) - len(pairs))
    return pairs


# ---------------------------------------------------------------- delimited tables


def check_header(path: Path, line: int, names: list[str]) -> None:
    """A header must name each column once: with a repeated name, which column is meant is a guess."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InputError(
                path, line, f"the header names column {name!r} twice", "rename one of the columns"
            )
        seen.add(name)


def csv_rows(
    path: Path, on_invalid: OnInvalid = raise_invalid, delimiter: str = ","
) -> Iterator[tuple[int, list[str]]]:
    """(first line number, fields) of each non-blank CSV row, RFC 4180 quoting; a quoted field may span
    lines (its line breaks are `\\n`)."""
    state: dict[str, int | None] = {"first": None, "last": None}

    def lines() -> Iterator[str]:
        for number, text in read_lines(path, on_invalid):
            if text is not None:
                state["first"] = state["first"] or number
                state["last"] = number
                yield text + "\n"

    reader = csv.reader(lines(), delimiter=delimiter)
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            on_invalid(path, state["last"], f"malformed CSV: {exc}")
            return
        number, state["first"] = state["first"], None
        if values and any(value.strip() for value in values):
            yield number, values


STSB_COLUMNS = ("genre", "file", "year", "idx", "score", "sentence1", "sentence2")


def stsb_rows(path: Path, on_invalid: OnInvalid = raise_invalid) -> Iterator[tuple[int, dict[str, str]]]:
    """The STS-benchmark TSV: genre, file, year, idx, score, sentence1, sentence2 (no header, no quoting;
    extra trailing columns ignored; blank lines skipped). `idx` is read as an integer, so '0001' and '1'
    are the same key. The score is left as text: its scale is the caller's."""
    for number, text in read_lines(path, on_invalid):
        if text is None or not text.strip():
            continue
        parts = text.split("\t")
        if len(parts) < len(STSB_COLUMNS):
            on_invalid(
                path,
                number,
                f"expected 7 tab-separated fields ({', '.join(STSB_COLUMNS)}), found {len(parts)}",
            )
            continue
        fields = dict(zip(STSB_COLUMNS, parts, strict=False))
        if not fields["idx"].strip().isdigit():
            on_invalid(path, number, f"idx {fields['idx']!r} is not a whole number")
            continue
        fields["idx"] = str(int(fields["idx"]))
        yield number, fields


@dataclass(frozen=True)
class TableFormat:
    """How to read (text1, text2, score) rows from a delimited file.

    `layout` "stsb" reads the STS-benchmark TSV (`stsb_rows`; columns are its field names). Otherwise
    `columns` are 0-based field indexes, or header names when `header` is true; `delimiter` is a regular
    expression when `quoting` is false (fields are split on it, empty fields dropped when `drop_empty`), or a
    single character for RFC 4180 quoting (`csv_rows`) when `quoting` is true.
    """

    columns: tuple[int | str, int | str, int | str]
    delimiter: str = "\t"
    header: bool = False
    quoting: bool = False
    drop_empty: bool = False
    min_score: float = 0.0
    max_score: float = 5.0
    on_invalid: Literal["error", "skip"] = "error"
    layout: Literal["table", "stsb"] = "table"


STSB_TSV = TableFormat(columns=("sentence1", "sentence2", "score"), layout="stsb")


def _table_records(path: Path, fmt: TableFormat) -> list[tuple[int, list[str]]]:
    if fmt.quoting:
        return list(csv_rows(path, delimiter=fmt.delimiter))
    splitter = re.compile(fmt.delimiter)
    records = []
    for number, line in read_lines(path):
        fields = splitter.split((line or "").strip())
        fields = [f for f in fields if f.strip()] if fmt.drop_empty else fields
        if any(f.strip() for f in fields):
            records.append((number, fields))
    return records


def read_scored_pairs(path: Path, fmt: TableFormat) -> list[tuple[str, str, float]]:
    """Rows of (text1, text2, score) with the score checked against [min_score, max_score]."""
    skipped: list[int] = []

    def skip(file: str | Path, line: int | None, problem: str, fix: str | None = None) -> None:
        if fmt.on_invalid != "skip" or line is None:
            raise InputError(file, line, problem, fix)
        skipped.append(line)

    if fmt.layout == "stsb":
        index = list(fmt.columns)
        records = [(number, fields) for number, fields in stsb_rows(path, skip)]
    else:
        table = _table_records(path, fmt)
        if not table:
            raise InputError(path, None, "no rows", "is this the right file?")
        index = list(fmt.columns)
        if fmt.header:
            names = [name.strip() for name in table[0][1]]
            check_header(path, table[0][0], names)
            missing = [c for c in fmt.columns if c not in names]
            if missing:
                raise InputError(path, table[0][0], f"header has no column {missing[0]!r} (has {names})")
            index = [names.index(c) for c in fmt.columns]
            table = table[1:]
        records = [(number, dict(enumerate(fields))) for number, fields in table]
    rows = []
    for number, fields in records:
        problem = None
        if any(i not in fields for i in index):
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
        else:
            skip(path, number, problem)
    if skipped:
        shown = ", ".join(map(str, skipped[:10])) + (", ..." if len(skipped) > 10 else "")
        logger.warning("%s: skipped %d invalid rows (lines %s)", path, len(skipped), shown)
    if not rows:
        raise InputError(path, None, "no valid rows")
    return rows


# ---------------------------------------------------------------- bilingual dictionaries


@dataclass(frozen=True)
class DictionaryFormat:
    """One word pair a line. `separator` between the two sides (None: whitespace, exactly two words);
    `source_first` false for `target @ source` (hunalign)."""

    separator: str | None
    source_first: bool = True

    def describe(self) -> str:
        first, second = ("source", "target") if self.source_first else ("target", "source")
        return f"'{first}{self.separator or ' '}{second}'"


MUSE_PLAIN = DictionaryFormat(separator=None)
MUSE_HUNALIGN = DictionaryFormat(separator=" @ ", source_first=False)


def muse_layout(first_line: str) -> DictionaryFormat:
    """MUSE dictionaries come as `source target` or hunalign's `target @ source`."""
    return MUSE_HUNALIGN if " @ " in first_line else MUSE_PLAIN


def dictionary_pairs(
    path: Path, fmt: DictionaryFormat | None, on_invalid: OnInvalid = raise_invalid
) -> Iterator[tuple[int, str, str]]:
    """(line, source word, target word) in file order; blank lines skipped. With `fmt` None the layout is
    read from the first non-blank line (`muse_layout`) and every line must follow it."""
    for number, line in read_lines(path, on_invalid):
        if line is None or not line.strip():
            continue
        if fmt is None:
            fmt = muse_layout(line)
        if fmt.separator is None:
            parts = line.split()
            pair = (parts[0], parts[1]) if len(parts) == 2 else None
        else:
            left, sep, right = line.partition(fmt.separator)
            pair = (left.strip(), right.strip()) if sep else None
        if pair is None or not all(pair):
            on_invalid(path, number, f"expected {fmt.describe()}, found {line!r}")
            continue
        source, target = pair if fmt.source_first else (pair[1], pair[0])
        yield number, source, target


def has_script(text: str, script: str) -> bool:
    """Whether `text` has a letter of `script`, e.g. "TAMIL" (first word of the Unicode character names)."""
    import unicodedata

    return any(unicodedata.name(char, "").startswith(script + " ") for char in text if char.isalpha())


OPEN_TAMIL_FORMAT = DictionaryFormat(separator=" - ")  # parallel_dictionary.txt: `english - tamil`


def open_tamil_entries(path: Path) -> list[tuple[int, str, str]]:
    """(line, English, Tamil) of open-tamil's English-Tamil dictionary, entries with Tamil script on the
    Tamil side only (~8k are untranslated English copies), in file order: what the OpenTamilBLI task and
    the `opentamil` format both read."""
    entries = [(n, s, t) for n, s, t in dictionary_pairs(path, OPEN_TAMIL_FORMAT) if has_script(t, "TAMIL")]
    if not entries:
        raise InputError(path, None, "no word pairs")
    return entries


def read_dictionary(path: Path, fmt: DictionaryFormat) -> list[tuple[str, str]]:
    """(source word, target word) pairs in file order."""
    pairs = [(source, target) for _, source, target in dictionary_pairs(path, fmt)]
    if not pairs:
        raise InputError(path, None, "no word pairs")
    return pairs


# ---------------------------------------------------------------- the Thirukkural


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
    raw = path.read_bytes()
    try:
        tree = ast.parse(raw.decode("utf-8"), filename=str(path))
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(path, line, "invalid UTF-8", "reinstall libkural==1.0.1") from None
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", None)
        raise InputError(
            path, line, f"not libkural's module source ({type(exc).__name__})", "reinstall libkural==1.0.1"
        ) from None
    kurals = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "factory"):
            continue
        try:
            number, _pal, _chapter, tamil, english, commentary = (ast.literal_eval(arg) for arg in node.args)
            kural = Kural(
                int(number),
                (int(number) - 1) // 10 + 1,
                _unescape(tamil),
                _unescape(english),
                _unescape(commentary),
            )
        except (ValueError, TypeError, AttributeError):
            continue  # the factory's own definition, not a data row
        kurals.append(kural)
    kurals.sort(key=lambda k: k.number)
    if [k.number for k in kurals] != list(range(1, 1331)):
        raise InputError(
            path, None, f"expected couplets 1-1330, found {len(kurals)}", "reinstall libkural==1.0.1"
        )
    return kurals
