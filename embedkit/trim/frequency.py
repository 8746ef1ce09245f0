"""The built-in token frequency: an equal-weight mixture of per-language token distributions.

Each named language contributes one distribution over token ids (English weighted ENGLISH_WEIGHT, as the
other side of every pair), itself a mix of:
- word frequencies from the `wordfreq` package (Wikipedia, subtitles, Twitter, Reddit, news, web: broad and
  conversational), for the languages it covers: each of the top WORDFREQ_WORDS words adds its frequency to
  each of its tokens, and CAPITALISED_SHARE of it to the tokens of its capitalised form (wordfreq lowercases
  every word; sentence-initial "What", "Tom" are common);
- token counts on the shared training text of that language (tokens seen at least TEXT_MIN_COUNT times);
- for non-Latin scripts, the script's pieces weighted by exp(Unigram score) (XLM-R's own piece
  probabilities learned on CC-100), weight SCORE_WEIGHT (SCORE_WEIGHT_WITH_WORDFREQ where wordfreq covers
  the language), so languages without wordfreq data or with little
  text still get their script's likely pieces.
Mixing normalised distributions, not raw counts, keeps one language's large text from taking the budget.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from corpora.languages import LANGUAGES
from embedkit.trim.scripts import CharFilter

WORD_PREFIX = "\u2581"
WORDFREQ_WORDS = 100_000
TEXT_MIN_COUNT = 2
SCORE_WEIGHT = 0.5
SCORE_WEIGHT_WITH_WORDFREQ = 0.1
ENGLISH_WEIGHT = 4.0
CAPITALISED_SHARE = 0.3


def wordfreq_languages(langs: list[str]) -> list[str]:
    import wordfreq

    available = set(wordfreq.available_languages())
    return [lang for lang in langs if lang in available]


def wordfreq_token_counts(tokenizer, lang: str, n: int = WORDFREQ_WORDS) -> Counter:
    """Σ over `lang`'s top `n` words of word frequency × the word's tokens (`tokenizers.Tokenizer`)."""
    import wordfreq

    words = wordfreq.top_n_list(lang, n)
    weighted = [(word, wordfreq.word_frequency(word, lang)) for word in words]
    weighted += [
        (word[:1].upper() + word[1:], CAPITALISED_SHARE * frequency)
        for word, frequency in weighted
        if word[:1].upper() != word[:1]
    ]
    encodings = tokenizer.encode_batch([word for word, _ in weighted], add_special_tokens=False)
    counts: Counter = Counter()
    for (_word, frequency), encoding in zip(weighted, encodings, strict=True):
        for token in encoding.ids:
            counts[token] += frequency
    return counts


def _normalised(counts: dict[int, float]) -> dict[int, float]:
    total = sum(counts.values())
    return {i: v / total for i, v in counts.items()} if total else {}


def script_distribution(tokenizer_json: dict[str, Any], chars: CharFilter, script: str) -> dict[int, float]:
    """Multi-character pieces of `script` (and shared characters) weighted by exp(piece score)."""
    weights = {}
    for index, (piece, score) in enumerate(tokenizer_json["model"]["vocab"]):
        core = piece.removeprefix(WORD_PREFIX)
        if len(core) > 1 and chars.allows(core) and any(chars.script_of(c) == script for c in core):
            weights[index] = math.exp(float(score))
    return _normalised(weights)


def mixture_frequency(
    tokenizer,
    tokenizer_json: dict[str, Any],
    chars: CharFilter,
    langs: list[str],
    text_counts: dict[str, Counter],
) -> dict[int, float]:
    """Token id -> mixture probability over the named languages (see the module docstring)."""
    with_wordfreq = set(wordfreq_languages(langs))
    scripts: dict[str, dict[int, float]] = {}
    mixture: Counter = Counter()
    for lang in langs:
        parts: list[tuple[float, dict[int, float]]] = []
        if lang in with_wordfreq:
            parts.append((1.0, _normalised(wordfreq_token_counts(tokenizer, lang))))
        frequent = {i: n for i, n in text_counts.get(lang, Counter()).items() if n >= TEXT_MIN_COUNT}
        if frequent:
            parts.append((1.0, _normalised(frequent)))
        script = LANGUAGES[lang].script
        if script != "Latin":
            if script not in scripts:
                scripts[script] = script_distribution(tokenizer_json, chars, script)
            weight = SCORE_WEIGHT_WITH_WORDFREQ if lang in with_wordfreq else SCORE_WEIGHT
            parts.append((weight, scripts[script]))
        total = sum(weight for weight, dist in parts if dist)
        lang_weight = ENGLISH_WEIGHT if lang == "en" else 1.0
        for weight, dist in parts:
            for token, p in dist.items():
                mixture[token] += lang_weight * weight / total * p
    return dict(mixture)


def describe_mixture(langs: list[str]) -> str:
    from importlib.metadata import version

    covered = ", ".join(wordfreq_languages(langs)) or "no named language"
    return (
        f"wordfreq {version('wordfreq')} (code Apache-2.0, data CC BY-SA 4.0) word frequencies ({covered}), "
        f"shared training text (tokens seen ≥ {TEXT_MIN_COUNT}×) and Unigram piece scores per script, "
        "mixed per language"
    )
