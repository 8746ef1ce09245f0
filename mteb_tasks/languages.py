"""The languages embedkit's tasks cover: ISO 639-1 code, ISO 639-3 code and script, in mteb's "xxx-Scrp"
form."""

from __future__ import annotations

from embedkit.errors import UserError

# iso639-3 -> (iso639-1 or "", ISO 15924 script)
LANGUAGES: dict[str, tuple[str, str]] = {
    "eng": ("en", "Latn"),
    "hin": ("hi", "Deva"),
    "mar": ("mr", "Deva"),
    "npi": ("ne", "Deva"),
    "nep": ("ne", "Deva"),
    "awa": ("", "Deva"),
    "ben": ("bn", "Beng"),
    "asm": ("as", "Beng"),
    "tam": ("ta", "Taml"),
    "tel": ("te", "Telu"),
    "kan": ("kn", "Knda"),
    "mal": ("ml", "Mlym"),
    "guj": ("gu", "Gujr"),
    "pan": ("pa", "Guru"),
    "ory": ("or", "Orya"),
    "sin": ("si", "Sinh"),
    "urd": ("ur", "Arab"),
}
_ISO1 = {iso1: iso3 for iso3, (iso1, _) in LANGUAGES.items() if iso1 and iso3 != "nep"}


def iso3(code: str) -> str:
    """'hi' or 'hin' -> 'hin'."""
    if code in LANGUAGES:
        return code
    if code in _ISO1:
        return _ISO1[code]
    raise UserError(f"unknown language code {code!r}; known: {', '.join(sorted(_ISO1))}")


def langscript(code: str) -> str:
    """'hi' or 'hin' -> 'hin-Deva' (mteb's language code form)."""
    three = iso3(code)
    return f"{three}-{LANGUAGES[three][1]}"


def iso1(code: str) -> str:
    """'hin' or 'hin-Deva' -> 'hi' (the code Hugging Face model cards use); unknown codes are returned as
    given."""
    three = code.split("-")[0]
    return LANGUAGES.get(three, ("", ""))[0] or three
