"""Batches drawn one language pair at a time, the pair chosen with smoothed probabilities.

With n_k word pairs for language pair k, a batch comes from pair k with probability n_k^a / sum_j n_j^a
(a = `smoothing`: 1 samples in proportion to the data, 0 uniformly over pairs; 0.5 by default, so a
small dictionary is not drowned by a big one). Batch order depends only on (seed, epoch), as in
`trainers.samplers`, so a resumed run sees the same batches.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from trainers.samplers import SeededBatchSampler


def pair_weights(counts: Mapping[str, int], smoothing: float = 0.5) -> dict[str, float]:
    """Probability of drawing a batch from each language pair: n^smoothing, normalised."""
    if not counts:
        return {}
    raw = {pair: float(n) ** smoothing if n > 0 else 0.0 for pair, n in counts.items()}
    total = sum(raw.values())
    return {pair: value / total for pair, value in raw.items()}


def language_pair(lang1: str, lang2: str) -> str:
    """'en-hi' for (hi, en) and (en, hi): a pair's direction does not make it another pair."""
    return "-".join(sorted((lang1, lang2)))


class LanguagePairBatchSampler(SeededBatchSampler):
    """Each batch holds word pairs of one language pair, drawn by `pair_weights`; within a pair, rows come
    in a seeded random order, reshuffled when used up. A pair with fewer rows than a batch has its batch
    filled up from further draws. An epoch is len(dataset) // batch_size batches."""

    def __init__(
        self,
        dataset,
        batch_size: int,
        drop_last: bool,
        valid_label_columns=None,
        generator=None,
        seed: int = 0,
        pairs: Sequence[str] = (),
        smoothing: float = 0.5,
        lengths: np.ndarray | None = None,
    ) -> None:
        super().__init__(dataset, batch_size, drop_last, valid_label_columns, generator, seed, lengths)
        if len(pairs) != self.size:
            raise ValueError(f"{len(pairs)} language pairs given for {self.size} rows")
        labels = np.asarray(pairs)
        self.pair_names = sorted(set(labels.tolist()))
        self.rows = {pair: np.flatnonzero(labels == pair) for pair in self.pair_names}
        self.weights = pair_weights({pair: len(rows) for pair, rows in self.rows.items()}, smoothing)

    def batches(self) -> list[list[int]]:
        rng = self._rng()
        probabilities = np.array([self.weights[pair] for pair in self.pair_names])
        streams = {pair: _Stream(self.rows[pair], rng) for pair in self.pair_names}
        batches = []
        for _ in range(len(self)):
            batch: list[int] = []
            while len(batch) < min(self.batch_size, self.size):
                pair = self.pair_names[rng.choice(len(self.pair_names), p=probabilities)]
                batch += streams[pair].take(self.batch_size - len(batch))
            batches.append(batch)
        return batches

    def __len__(self) -> int:
        return max(1, self.size // self.batch_size)


class _Stream:
    """Rows of one pair in a seeded random order, reshuffled when used up."""

    def __init__(self, rows: np.ndarray, rng: np.random.Generator) -> None:
        self.rows, self.rng = rows, rng
        self.order, self.next = rng.permutation(rows), 0

    def take(self, wanted: int) -> list[int]:
        """The next min(wanted, rows) rows. A row that comes twice into one batch (a small pair used up and
        reshuffled) is harmless: the collator merges repeated words."""
        taken = []
        for _ in range(min(wanted, len(self.rows))):
            if self.next == len(self.order):
                self.order, self.next = self.rng.permutation(self.rows), 0
            taken.append(int(self.order[self.next]))
            self.next += 1
        return taken
