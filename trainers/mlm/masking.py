"""Which subwords of one text to mask: random (MLM, optionally whole words) or linguistic entity masking.

Both policies work on the text's maskable subwords (`Piece`: its position in the token sequence, its
character range in the text, its word) and spend the same budget: `ratio` of the maskable subwords,
rounded stochastically so the expected count is exact for short texts too.

LEM (`lem_plan`): each tagged span is a candidate with the probability of its type (`probs`, e.g.
ENT 1.0, VERB 0.5, NOUN 0.5); candidates are taken named entities first, then verbs, then nouns (random
order within a type) while budget is left, and exactly one random subword inside each taken span is
masked. The rest of the budget goes to random words outside the taken spans, one subword each.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

SPAN_ORDER = ("ENT", "VERB", "NOUN")  # entity types are taken in this order
RANDOM = "random"  # the source of a mask that is not an entity mask


@dataclass(frozen=True)
class Piece:
    """One maskable subword: `index` in the token sequence, [start, end) in the text, its word number."""

    index: int
    start: int
    end: int
    word: int


@dataclass(frozen=True)
class Mask:
    index: int  # token position
    source: str  # ENT | VERB | NOUN (an entity mask) or "random"
    in_span: bool  # an entity mask whose subword lies wholly inside its span


@dataclass
class Plan:
    """The masks of one text, its budget (expected mask count) and the spans LEM took."""

    masks: list[Mask]
    budget: float
    chosen_spans: list[tuple[str, list[int]]]  # (label, token positions overlapping the span)


def stochastic_budget(pieces: int, ratio: float, rng: np.random.Generator) -> int:
    """floor(ratio * pieces), plus one with probability of the fractional part: unbiased for short texts."""
    exact = ratio * pieces
    whole = int(np.floor(exact))
    return whole + int(rng.random() < exact - whole)


def words_of(pieces: Sequence[Piece]) -> list[list[Piece]]:
    """Pieces grouped by word, in text order."""
    words: dict[int, list[Piece]] = {}
    for piece in pieces:
        words.setdefault(piece.word, []).append(piece)
    return list(words.values())


def random_plan(
    pieces: Sequence[Piece], ratio: float, rng: np.random.Generator, whole_word: bool = False
) -> Plan:
    """Random subwords (or, with `whole_word`, every subword of random words) up to the budget."""
    budget = stochastic_budget(len(pieces), ratio, rng)
    if not whole_word:
        picked = rng.choice(len(pieces), size=budget, replace=False) if budget else []
        return Plan([Mask(pieces[i].index, RANDOM, False) for i in picked], ratio * len(pieces), [])
    words = words_of(pieces)
    order = rng.permutation(len(words))
    taken: list[Piece] = []
    left: list[list[Piece]] = []
    for i in order:
        if len(taken) + len(words[i]) <= budget:
            taken += words[i]
        else:
            left.append(words[i])
    if left and len(taken) < budget:  # one more word when that lands nearer the budget
        word = min(left, key=len)
        if abs(len(taken) + len(word) - budget) < budget - len(taken):
            taken += word
    return Plan([Mask(p.index, RANDOM, False) for p in taken], ratio * len(pieces), [])


def lem_plan(
    pieces: Sequence[Piece],
    spans: Sequence[Mapping],
    ratio: float,
    probs: Mapping[str, float],
    rng: np.random.Generator,
) -> Plan:
    """Linguistic entity masking of one text; `spans` are {start, end, label} character spans."""
    budget = stochastic_budget(len(pieces), ratio, rng)
    candidates = []
    for span in spans:
        label = span["label"]
        overlap = [p for p in pieces if p.start < span["end"] and span["start"] < p.end]
        if not overlap or rng.random() >= probs.get(label, 0.0):
            continue  # cut off by truncation, or not drawn
        inside = [p for p in overlap if span["start"] <= p.start and p.end <= span["end"]]
        candidates.append((label, inside, overlap))
    rank = {label: i for i, label in enumerate(SPAN_ORDER)}
    order = rng.permutation(len(candidates))
    candidates = sorted((candidates[i] for i in order), key=lambda c: rank.get(c[0], len(rank)))

    masks: list[Mask] = []
    chosen: list[tuple[str, list[int]]] = []
    blocked: set[int] = set()  # token positions of taken spans: never a second mask there
    for label, inside, overlap in candidates:
        if len(masks) >= budget:
            break
        if any(p.index in blocked for p in overlap):
            continue  # shares a subword with a span already taken
        pick = (inside or overlap)[rng.integers(len(inside or overlap))]
        masks.append(Mask(pick.index, label, bool(inside)))
        chosen.append((label, [p.index for p in overlap]))
        blocked.update(p.index for p in overlap)

    free = [w for w in words_of(pieces) if not any(p.index in blocked for p in w)]
    if len(masks) < budget:
        for i in rng.permutation(len(free)):
            if len(masks) >= budget:
                break
            word = free[i]
            masks.append(Mask(word[rng.integers(len(word))].index, RANDOM, False))
    if len(masks) < budget:  # fewer free words than budget left: second subwords of free words
        used = {m.index for m in masks}
        rest = [p for w in free for p in w if p.index not in used]
        for i in rng.permutation(len(rest))[: budget - len(masks)]:
            masks.append(Mask(rest[i].index, RANDOM, False))
    return Plan(masks, ratio * len(pieces), chosen)


def replace_tokens(
    input_ids: np.ndarray,
    positions: Sequence[int],
    rng: np.random.Generator,
    mask_id: int,
    vocab_size: int,
    special_ids: set[int],
    split: tuple[float, float] = (0.8, 0.1),
) -> list[str]:
    """BERT's 80/10/10 in place: the mask token, a random non-special token, or the token kept.
    Returns what each position got ("mask", "random", "keep")."""
    kinds = []
    for position in positions:
        draw = rng.random()
        if draw < split[0]:
            input_ids[position] = mask_id
            kinds.append("mask")
        elif draw < split[0] + split[1]:
            token = int(rng.integers(vocab_size))
            while token in special_ids:
                token = int(rng.integers(vocab_size))
            input_ids[position] = token
            kinds.append("random")
        else:
            kinds.append("keep")
    return kinds
