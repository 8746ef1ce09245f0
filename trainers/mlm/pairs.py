"""TLM rows from a tagged corpus built from line-aligned files (`format: aligned`), whose rows carry a `pair`
id (aligned group and line). Rows sharing an id translate each other: every two of them in different
languages make one pair (a 3-way si/ta/en line gives si-ta, si-en and ta-en); which text goes first is drawn
with the seed, so neither language always sits at the start of the sequence."""

from __future__ import annotations

from itertools import combinations
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from datasets import Dataset

PAIR_COLUMN = "pair"


def pair_rows(dataset: Dataset, seed: int) -> Dataset:
    """{text, spans, lang, text_pair, spans_pair, lang_pair} for every two aligned rows in two languages."""
    from datasets import Dataset

    groups: dict[str, list[int]] = {}
    for index, pair in enumerate(list(dataset[PAIR_COLUMN])):
        if pair:
            groups.setdefault(pair, []).append(index)
    langs = list(dataset["lang"])
    rng = np.random.default_rng(seed)
    firsts, seconds = [], []
    for members in groups.values():
        for a, b in combinations(members, 2):
            if langs[a] == langs[b]:
                continue
            if rng.random() < 0.5:
                a, b = b, a
            firsts.append(a)
            seconds.append(b)
    if not firsts:
        return Dataset.from_dict(
            {name: [] for name in ("text", "spans", "lang", "text_pair", "spans_pair", "lang_pair")}
        )
    one = dataset.select(firsts).to_dict()
    two = dataset.select(seconds).to_dict()
    return Dataset.from_dict(
        {
            "text": one["text"],
            "spans": one["spans"],
            "lang": one["lang"],
            "text_pair": two["text"],
            "spans_pair": two["spans"],
            "lang_pair": two["lang"],
        }
    )
