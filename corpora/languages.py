"""Language codes and scripts: the declared script of each language, and text checks against it."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import regex

from corpora.records import user_error


@dataclass(frozen=True)
class LanguageInfo:
    code: str  # ISO 639-1, the code corpora write
    script: str  # Unicode script name as the `regex` module spells it
    aliases: tuple[str, ...] = ()  # ISO 639-3 and other codes seen in file names


LANGUAGES: dict[str, LanguageInfo] = {
    info.code: info
    for info in [
        LanguageInfo("en", "Latin", ("eng",)),
        LanguageInfo("hi", "Devanagari", ("hin",)),
        LanguageInfo("mr", "Devanagari", ("mar",)),
        LanguageInfo("ne", "Devanagari", ("nep", "npi")),
        LanguageInfo("sa", "Devanagari", ("san",)),
        LanguageInfo("bn", "Bengali", ("ben",)),
        LanguageInfo("as", "Bengali", ("asm",)),
        LanguageInfo("gu", "Gujarati", ("guj",)),
        LanguageInfo("pa", "Gurmukhi", ("pan",)),
        LanguageInfo("or", "Oriya", ("ory", "ori")),
        LanguageInfo("ta", "Tamil", ("tam",)),
        LanguageInfo("te", "Telugu", ("tel",)),
        LanguageInfo("kn", "Kannada", ("kan",)),
        LanguageInfo("ml", "Malayalam", ("mal",)),
        LanguageInfo("si", "Sinhala", ("sin",)),
        LanguageInfo("ur", "Arabic", ("urd",)),
    ]
}
_BY_ALIAS = {alias: info.code for info in LANGUAGES.values() for alias in (info.code, *info.aliases)}


def lang_code(code: str) -> str:
    """'hin', 'HI' or 'hi' -> 'hi'; an unknown code is a usage error."""
    found = _BY_ALIAS.get(code.strip().lower())
    if found is None:
        raise user_error(f"unknown language code {code!r}", f"known: {', '.join(sorted(LANGUAGES))}")
    return found


def lang_in_name(name: str) -> str | None:
    """The language a file name declares in its last code-like part ('sts-dev-mr.tsv' -> 'mr',
    'tico19-test.hi' -> 'hi', 'newstest2019-ref.hin.txt' -> 'hi'), or None."""
    for part in reversed(regex.split(r"[._-]", name.lower())):
        if part in _BY_ALIAS:
            return _BY_ALIAS[part]
    return None


@lru_cache(maxsize=32)
def _script_table(script: str) -> dict[int, str | None]:
    """str.translate table over the BMP: letters and marks of `script` -> 's', other letters and marks
    -> 'o', everything else deleted (C-speed counting; the `regex` script classes are ~20x slower)."""
    pattern = regex.compile(rf"\p{{Script={script}}}")
    table: dict[int, str | None] = {}
    for point in range(0x10000):
        char = chr(point)
        if unicodedata.category(char)[0] in "LM":
            table[point] = "s" if pattern.match(char) else "o"
        else:
            table[point] = None
    return table


@lru_cache(maxsize=1)
def _separator_table() -> dict[int, int]:
    """Punctuation, symbols and spaces of the BMP -> a space, every other BMP character -> itself (a
    complete table: characters missing from a translate table are slow)."""
    space = ord(" ")
    return {
        point: space if unicodedata.category(chr(point))[0] in "PSZ" or chr(point).isspace() else point
        for point in range(0x10000)
    }


def script_share(text: str, lang: str) -> float:
    """Share of the letters (and marks) of `text` in `lang`'s script; 0.0 without letters."""
    classes = text.translate(_script_table(LANGUAGES[lang].script))
    inside, outside = classes.count("s"), classes.count("o")
    return inside / (inside + outside) if inside + outside else 0.0


@lru_cache(maxsize=4096)  # a row's texts are normalised by its check and again for its dedup key
def normalise(text: str) -> str:
    """The form duplicates are compared in: NFKC, case-folded, punctuation and runs of spaces collapsed."""
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    return " ".join(text.casefold().translate(_separator_table()).split())
