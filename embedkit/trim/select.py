"""Which token ids a trim keeps.

In order: (1) every special token (added tokens, the unknown piece, the post-processor's ids); (2) every
single-character piece, with or without the `▁` word prefix, whose character is in the named languages'
scripts or shared (Common/Inherited), plus `▁` itself, so text in those languages never becomes `<unk>`
where it did not before; (3) every token seen at least --min-count times in the user's --text/--corpus
text; then (4) up to --vocab-size, the remaining pieces whose characters are all in those scripts, ranked by
how often the frequency text uses them (count >= --min-count) and, after the text's tokens run out, by the
Unigram piece score (the log-probability SentencePiece learned for it: the best guess at frequency when no
text shows the piece). Pieces of a named language's script that the frequency text hardly shows
(fewer than MIN_SCRIPT_LETTERS letters: e.g. Odia, which NTREX-128 and TICO-19 lack) go before the other
scored pieces, so a language without text still keeps its script's most likely pieces.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from embedkit.errors import UserError
from embedkit.trim.scripts import CharFilter
from embedkit.trim.unigram import special_ids

WORD_PREFIX = "\u2581"
MIN_SCRIPT_LETTERS = 1000


def uncovered_scripts(lines: list[str], chars: CharFilter) -> frozenset[str]:
    """The scripts of `chars` with fewer than MIN_SCRIPT_LETTERS characters in `lines`."""
    seen: Counter = Counter()
    for char, n in Counter("".join(lines)).items():
        script = chars.script_of(char)
        if script:
            seen[script] += n
    return frozenset(script for script in chars.scripts if seen[script] < MIN_SCRIPT_LETTERS)


@dataclass
class Selection:
    keep: list[int]
    counts: dict[str, int] = field(default_factory=dict)  # rule -> ids it added
    uncovered: list[str] = field(default_factory=list)  # scripts the frequency text hardly shows


def count_tokens(tokenizer, lines: list[str], batch: int = 2048) -> Counter:
    """How often each id occurs when `tokenizer` (a `tokenizers.Tokenizer`) encodes `lines`."""
    counts: Counter = Counter()
    for start in range(0, len(lines), batch):
        for encoding in tokenizer.encode_batch(lines[start : start + batch], add_special_tokens=False):
            counts.update(encoding.ids)
    return counts


def character_ids(vocab: list, chars: CharFilter) -> tuple[set[int], Counter]:
    """Single-character pieces of the allowed characters, and how many each script has."""
    ids: set[int] = set()
    per_script: Counter = Counter()
    for index, (piece, _score) in enumerate(vocab):
        core = piece.removeprefix(WORD_PREFIX)
        if core == "" and piece == WORD_PREFIX:
            ids.add(index)
        elif len(core) == 1 and chars.allows_char(core):
            ids.add(index)
            script = chars.script_of(core)
            if script:
                per_script[script] += 1
    return ids, per_script


def select_ids(
    tokenizer_json: dict[str, Any],
    chars: CharFilter,
    langs_by_script: dict[str, list[str]],
    *,
    vocab_size: int,
    user_counts: Counter | None = None,
    frequency: dict[int, float] | None = None,
    min_count: int = 1,
    uncovered: frozenset[str] = frozenset(),
) -> Selection:
    vocab = tokenizer_json["model"]["vocab"]
    specials = special_ids(tokenizer_json)
    characters, per_script = character_ids(vocab, chars)
    for script, langs in langs_by_script.items():
        if per_script[script] == 0:
            raise UserError(
                f"--langs {','.join(langs)}: the tokenizer has no {script} pieces, so it cannot represent "
                f"the {script} script (every character would be <unk>); drop these languages or choose a "
                "model whose vocabulary covers them"
            )
    text = {i for i, n in (user_counts or {}).items() if n >= min_count} - specials - characters
    must = specials | characters | text
    counts = {
        "special": len(specials),
        "characters": len(characters - specials),
        "text": len(text),
    }
    if len(must) > vocab_size:
        raise UserError(
            f"--vocab-size {vocab_size:,} is smaller than the {len(must):,} tokens that must be kept "
            f"({counts['special']} special, {counts['characters']:,} single characters of the languages' "
            f"scripts, {counts['text']:,} seen in the given text); raise --vocab-size to at least "
            f"{len(must):,}, or give less text or a higher --min-count"
        )
    frequency = frequency or {}
    candidates = [
        i
        for i, (piece, _score) in enumerate(vocab)
        if i not in must and piece.removeprefix(WORD_PREFIX) and chars.allows(piece.removeprefix(WORD_PREFIX))
    ]

    def rank(i: int) -> tuple[int, bool, float]:
        seen = frequency.get(i, 0)
        core = vocab[i][0].removeprefix(WORD_PREFIX)
        text_less = any(chars.script_of(char) in uncovered for char in core)
        return (-seen, not text_less, -float(vocab[i][1]))

    candidates.sort(key=rank)
    room = max(vocab_size - len(must), 0)
    chosen = candidates[:room]
    counts["frequent"] = sum(1 for i in chosen if frequency.get(i, 0) > 0)
    counts["by_score"] = len(chosen) - counts["frequent"]
    if uncovered:
        counts["by_score_textless_scripts"] = sum(
            1
            for i in chosen
            if frequency.get(i, 0) <= 0
            and any(chars.script_of(c) in uncovered for c in vocab[i][0].removeprefix(WORD_PREFIX))
        )
    return Selection(keep=sorted(must | set(chosen)), counts=counts, uncovered=sorted(uncovered))
