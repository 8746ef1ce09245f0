"""Dev data for lexical training: BLI on source words carved out of the training constraints.

`carve_dev` holds out, per language pair, whole source words (with all their translations) and removes
every training row that mentions a held-out word in its language, so no dev query is ever trained on.
`LexiconBLIEvaluator` scores P@1: for each held-out source word, is its nearest candidate (cosine) one of
its translations? Candidates: every translation in the dev split plus up to `max_candidates` other words of
the target language from the training rows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from sentence_transformers.base.evaluation import BaseEvaluator

from trainers.lexical.words import Encoding, encode_words

if TYPE_CHECKING:
    from datasets import Dataset

DEV_METRIC = "dev_score"


@dataclass
class DevCarve:
    train: Dataset
    dev: Dataset
    queries: dict[str, int] = field(default_factory=dict)  # language pair -> held-out source words
    dropped: int = 0  # training rows removed because they mention a held-out word


def _direction(lang1: str, lang2: str) -> tuple[str, str]:
    return lang1, lang2


def _name(direction: tuple[str, str]) -> str:
    return "-".join(direction)


def carve_dev(dataset: Dataset, holdout: float | int, seed: int) -> DevCarve:
    """Hold out `holdout` source words per language pair (an int), or that share of each pair's source
    words (a float in (0, 1)), with all their translations, as the dev split."""
    from embedkit.errors import UserError

    sources = _source_words(dataset)
    rng = np.random.default_rng(seed)
    chosen: dict[tuple[str, str], set[str]] = {}
    for direction in sorted(sources):
        words = sorted(sources[direction])
        count = holdout if isinstance(holdout, int) else max(1, round(holdout * len(words)))
        if count >= len(words):
            raise UserError(
                f"dev holdout {holdout}: language pair {_name(direction)} has only {len(words)} source words"
            )
        chosen[direction] = {words[i] for i in rng.permutation(len(words))[:count]}
    dev_idx, train_idx, dropped = _split(dataset, chosen)
    return DevCarve(
        train=dataset.select(train_idx).flatten_indices(),
        dev=dataset.select(dev_idx).flatten_indices(),
        queries={_name(direction): len(words) for direction, words in chosen.items()},
        dropped=dropped,
    )


def split_off(train: Dataset, dev: Dataset) -> DevCarve:
    """A given dev lexicon: training rows with any of its source words (in their language) are removed."""
    chosen = _source_words(dev)
    _dev_idx, train_idx, dropped = _split(train, chosen)
    return DevCarve(
        train=train.select(train_idx).flatten_indices(),
        dev=dev,
        queries={_name(direction): len(words) for direction, words in chosen.items()},
        dropped=dropped + len(_dev_idx),
    )


def _source_words(dataset: Dataset) -> dict[tuple[str, str], set[str]]:
    sources: dict[tuple[str, str], set[str]] = defaultdict(set)
    for l1, l2, w1 in zip(dataset["lang1"], dataset["lang2"], dataset["word1"], strict=True):
        sources[_direction(l1, l2)].add(w1)
    return sources


def _split(dataset: Dataset, chosen: dict[tuple[str, str], set[str]]) -> tuple[list[int], list[int], int]:
    """(rows whose source word is chosen, rows mentioning no chosen word, rows dropped in between)."""
    held = {(direction[0], word) for direction, words in chosen.items() for word in words}
    dev_idx, train_idx, dropped = [], [], 0
    columns = (dataset[c] for c in ("lang1", "lang2", "word1", "word2"))
    for i, (l1, l2, w1, w2) in enumerate(zip(*columns, strict=True)):
        if w1 in chosen.get(_direction(l1, l2), ()):
            dev_idx.append(i)
        elif (l1, w1) in held or (l2, w2) in held:
            dropped += 1
        else:
            train_idx.append(i)
    return dev_idx, train_idx, dropped


def limit_queries(dev: Dataset, per_direction: int, seed: int) -> Dataset:
    """Keep the rows of at most `per_direction` source words per language direction."""
    rng = np.random.default_rng(seed)
    words = _source_words(dev)
    keep = {}
    for direction, found in words.items():
        ordered = sorted(found)
        keep[direction] = {ordered[i] for i in rng.permutation(len(ordered))[:per_direction]}
    index = [
        i
        for i, (l1, l2, w1) in enumerate(zip(dev["lang1"], dev["lang2"], dev["word1"], strict=True))
        if w1 in keep[_direction(l1, l2)]
    ]
    return dev.select(index).flatten_indices()


@dataclass
class _Direction:
    name: str  # e.g. "en-hi"
    queries: list[tuple[str, str]]  # (word, gloss)
    gold: list[set[str]]  # translations of each query
    candidates: list[tuple[str, str]]


class LexiconBLIEvaluator(BaseEvaluator):
    """P@1 of BLI per language direction, encoding words as the stage trains them (`encoding`; `prompt` is
    the training prompt, for `sentence`); with `prompted`, also as the saved model encodes text
    (`model.encode`: default prompt, special tokens). `dev_score` is the mean P@1 over directions."""

    def __init__(
        self,
        dev: Dataset,
        pool: Dataset,
        encoding: Encoding = "word_iso",
        max_candidates: int = 2000,
        seed: int = 0,
        prompted: bool = True,
        batch_size: int = 128,
        prompt: str = "",
    ) -> None:
        super().__init__()
        self.encoding, self.batch_size, self.prompt = encoding, batch_size, prompt
        self.prompted = prompted and encoding != "sentence"  # for `sentence` it is the main score
        self.primary_metric = DEV_METRIC
        self.directions = _directions(dev, pool, encoding, max_candidates, seed)

    def __call__(self, model, output_path=None, epoch: int = -1, steps: int = -1) -> dict[str, float]:
        texts = list(dict.fromkeys(t for d in self.directions for t in (*d.queries, *d.candidates)))
        glosses = [gloss for _, gloss in texts] if self.encoding == "word_gloss" else None
        prompt = self.prompt if self.encoding == "sentence" else None
        vectors = encode_words(model, [word for word, _ in texts], glosses, self.batch_size, prompt)
        metrics = self._score("", dict(zip(texts, vectors, strict=True)))
        if self.prompted:
            words = list(dict.fromkeys(word for word, _ in texts))
            encoded = model.encode(
                words, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True
            )
            by_word = dict(zip(words, encoded, strict=True))
            metrics |= self._score("prompted_", {t: by_word[t[0]] for t in texts})
        self.store_metrics_in_model_card_data(model, metrics, epoch, steps)
        return metrics

    def _score(self, kind: str, vectors: dict[tuple[str, str], np.ndarray]) -> dict[str, float]:
        scores = {}
        for direction in self.directions:
            queries = np.stack([vectors[t] for t in direction.queries])
            candidates = np.stack([vectors[t] for t in direction.candidates])
            best = (queries @ candidates.T).argmax(axis=1)
            hits = [direction.candidates[j][0] in gold for j, gold in zip(best, direction.gold, strict=True)]
            scores[f"dev_{kind}p1_{direction.name}"] = float(np.mean(hits))
        mean = float(np.mean(list(scores.values())))
        scores[DEV_METRIC if not kind else f"{DEV_METRIC}_{kind.rstrip('_')}"] = mean
        return scores

    def get_config_dict(self) -> dict[str, Any]:
        return {"encoding": self.encoding, "directions": [d.name for d in self.directions]}


def _directions(
    dev: Dataset, pool: Dataset, encoding: Encoding, max_candidates: int, seed: int
) -> list[_Direction]:
    use_gloss = encoding == "word_gloss"

    def text(row: dict, side: str) -> tuple[str, str]:
        return row["word" + side], (row.get("gloss" + side) or "") if use_gloss else ""

    queries: dict[tuple[str, str], dict[tuple[str, str], set[str]]] = defaultdict(dict)
    dev_targets: dict[tuple[str, str], dict[tuple[str, str], None]] = defaultdict(dict)
    for row in dev:
        direction = _direction(row["lang1"], row["lang2"])
        queries[direction].setdefault(text(row, "1"), set()).add(row["word2"])
        dev_targets[direction][text(row, "2")] = None
    by_lang: dict[str, dict[tuple[str, str], None]] = defaultdict(dict)
    for row in pool:
        for side in ("1", "2"):
            by_lang[row["lang" + side]][text(row, side)] = None
    rng = np.random.default_rng(seed)
    directions = []
    for direction in sorted(queries):
        own = list(dev_targets[direction])
        others = [t for t in by_lang.get(direction[1], {}) if t not in dev_targets[direction]]
        extra = [others[i] for i in sorted(rng.permutation(len(others))[: max(0, max_candidates - len(own))])]
        items = list(queries[direction].items())
        directions.append(
            _Direction(_name(direction), [q for q, _ in items], [g for _, g in items], own + extra)
        )
    return directions
