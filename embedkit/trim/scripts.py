"""Which characters belong to the named languages: their Unicode scripts, plus Common and Inherited
(digits, punctuation, spaces, ZWJ/ZWNJ, combining marks shared by several scripts)."""

from __future__ import annotations

from functools import lru_cache

import regex

from corpora.languages import LANGUAGES, lang_code
from embedkit.errors import UserError

SHARED_SCRIPTS = ("Common", "Inherited")


def parse_langs(text: str) -> list[str]:
    """'hi,mr,eng' -> ['hi', 'mr', 'en'] (ISO 639-1 or 639-3; order kept, duplicates dropped)."""
    codes = [part.strip() for part in text.split(",") if part.strip()]
    if not codes:
        raise UserError("--langs is empty (give comma-separated language codes, e.g. hi,ta,en)")
    found: list[str] = []
    for code in codes:
        try:
            known = lang_code(code)
        except UserError:
            raise UserError(
                f"--langs: unknown language code {code!r} (known: {', '.join(sorted(LANGUAGES))})"
            ) from None
        if known not in found:
            found.append(known)
    return found


def scripts_of(langs: list[str]) -> tuple[str, ...]:
    """The Unicode script names of `langs` (as the `regex` module spells them), in first-seen order."""
    return tuple(dict.fromkeys(LANGUAGES[lang].script for lang in langs))


@lru_cache(maxsize=64)
def _char_pattern(scripts: tuple[str, ...]) -> regex.Pattern:
    classes = "".join(rf"\p{{Script={name}}}" for name in (*scripts, *SHARED_SCRIPTS))
    return regex.compile(rf"[{classes}]")


class CharFilter:
    """`allows(text)`: every character is in `scripts` or shared (Common/Inherited); cached per char."""

    def __init__(self, scripts: tuple[str, ...]) -> None:
        self.scripts = scripts
        self._pattern = _char_pattern(scripts)
        self._own = {name: regex.compile(rf"\p{{Script={name}}}") for name in scripts}
        self._cache: dict[str, bool] = {}

    def allows_char(self, char: str) -> bool:
        hit = self._cache.get(char)
        if hit is None:
            hit = self._cache[char] = self._pattern.fullmatch(char) is not None
        return hit

    def allows(self, text: str) -> bool:
        return all(self.allows_char(char) for char in text)

    def script_of(self, char: str) -> str | None:
        """Which of `scripts` the character belongs to (None for shared or foreign characters)."""
        return next((name for name, pattern in self._own.items() if pattern.fullmatch(char)), None)
