"""The text a trim counts tokens on: the user's --text files and --corpus folders, or the built-in source.

The built-in source is the training side of ../shared/data (NTREX-128, TICO-19 and the FLoRes-v1 *dev*
split of si/ne–en), restricted to the named languages; no evaluation split (FLORES-200 devtest, Tatoeba, the
STS and BLI test sets, FLoRes-v1 devtest/test) is ever read.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from corpora.languages import lang_in_name
from embedkit.errors import InputError, UserError

BUILTIN_NAME = "shared training text (NTREX-128, TICO-19, FLoRes-v1 dev)"
# (folder under ../shared/data, glob) of the files the built-in source may read
BUILTIN_GLOBS = (
    ("ntrex128", "newstest2019-*.txt"),
    ("tico19_test", "en-*/tico19-test.*"),
    ("floresv1_si_ne_en", "wikipedia.dev.*-en.si"),
    ("floresv1_si_ne_en", "wikipedia.dev.*-en.ne"),
    ("floresv1_si_ne_en", "wikipedia.dev.*-en.en"),
)
CORPUS_TEXT_COLUMNS = (
    "anchor", "positive", "negative", "sentence1", "sentence2", "source", "target", "word1", "word2", "text",
)  # fmt: skip


@dataclass
class TextSource:
    """Lines of text and where they came from (files with their sha256)."""

    name: str
    lines: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # path -> sha256
    by_lang: dict[str, list[str]] = field(default_factory=dict)  # built-in source: lines per language

    def digest(self) -> str:
        digest = hashlib.sha256()
        for path, sha in sorted(self.files.items()):
            digest.update(f"{Path(path).name}\0{sha}\n".encode())
        return digest.hexdigest()

    def describe(self) -> dict:
        return {"name": self.name, "sha256": self.digest(), "lines": len(self.lines), "files": self.files}


def read_text_file(path: Path) -> tuple[list[str], str]:
    """Non-blank lines of a UTF-8 text file (one text per line) and the file's sha256."""
    if not path.is_file():
        raise UserError(f"--text {path}: no such file")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(path, line, "not valid UTF-8", "save the file as UTF-8") from None
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        raise InputError(path, None, "no usable lines (the file is empty or blank)", "give one text per line")
    return lines, hashlib.sha256(data).hexdigest()


def read_corpus_folder(path: Path) -> tuple[list[str], str]:
    """Every text column of an `embedkit corpus build` folder, and a hash of its data files."""
    if not (path / "manifest.json").is_file():
        raise UserError(
            f"--corpus {path}: not a corpus folder (no manifest.json); build one with `embedkit corpus build`"
        )
    from datasets import load_from_disk

    try:
        dataset = load_from_disk(str(path))
    except Exception as exc:
        raise UserError(f"--corpus {path}: not a saved dataset ({type(exc).__name__}: {exc})") from None
    columns = [name for name in CORPUS_TEXT_COLUMNS if name in dataset.column_names]
    lines = [value.strip() for name in columns for value in dataset[name] if isinstance(value, str)]
    lines = [line for line in lines if line]
    if not lines:
        raise UserError(f"--corpus {path}: no usable text (text columns found: {columns or 'none'})")
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(file.read_bytes())
    return lines, digest.hexdigest()


def user_source(texts: list[Path], corpora: list[Path]) -> TextSource:
    source = TextSource(
        name=", ".join([*(f"--text {p}" for p in texts), *(f"--corpus {p}" for p in corpora)])
    )
    for path in texts:
        lines, sha = read_text_file(Path(path))
        source.lines += lines
        source.files[str(path)] = sha
    for path in corpora:
        lines, sha = read_corpus_folder(Path(path))
        source.lines += lines
        source.files[str(path)] = sha
    return source


def builtin_files(shared: Path, langs: list[str]) -> list[Path]:
    """The built-in source's files for `langs`; byte-identical copies (TICO's English sides) once."""
    seen: set[str] = set()
    found: list[Path] = []
    for folder, pattern in BUILTIN_GLOBS:
        for path in sorted((shared / folder).glob(pattern)):
            if lang_in_name(path.name) not in langs:
                continue
            sha = _sha256(path)
            if sha not in seen:
                seen.add(sha)
                found.append(path)
    return found


def builtin_source(shared: Path, langs: list[str]) -> TextSource:
    source = TextSource(name=f"{BUILTIN_NAME} at {shared}")
    for path in builtin_files(shared, langs):
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        source.lines += lines
        source.by_lang.setdefault(lang_in_name(path.name), []).extend(lines)
        source.files[str(path)] = _sha256(path)
    return source


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
