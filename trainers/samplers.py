"""Batch samplers whose order depends only on (seed, epoch), so a resumed run sees the same batches.

`LengthGroupedBatchSampler` puts texts of similar length together (less padding: on CPU the cost of a batch
follows its longest text), shuffling within mega-batches so batches stay random in content. The batch
holding the longest row goes first, as in transformers' LengthGroupedSampler: the step's memory is then
allocated at its largest once, at the start (and an out-of-memory shows at step 1), instead of growing, page
by page, each time a longer batch than any before comes up (trainers/memory_reuse.py keeps it for the later
steps; docs/training-speed.md).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from sentence_transformers.base.sampler import DefaultBatchSampler

MEGA_BATCH = 50  # batches per sorted window, as in transformers' LengthGroupedSampler


class SeededBatchSampler(DefaultBatchSampler):
    """Random batches; the permutation is drawn from seed + epoch."""

    def __init__(
        self,
        dataset,
        batch_size: int,
        drop_last: bool,
        valid_label_columns=None,
        generator=None,
        seed: int = 0,
        lengths: np.ndarray | None = None,
    ) -> None:
        super().__init__(dataset, batch_size, drop_last, valid_label_columns, generator, seed)
        self.size = len(dataset)
        self.lengths = lengths

    def _rng(self) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch])

    def batches(self) -> list[list[int]]:
        order = self._rng().permutation(self.size)
        return [order[i : i + self.batch_size].tolist() for i in range(0, self.size, self.batch_size)]

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.batches():
            if len(batch) == self.batch_size or not self.drop_last:
                yield batch

    def __len__(self) -> int:
        return self.size // self.batch_size if self.drop_last else -(-self.size // self.batch_size)


def longest_first(batches: list[list[int]], lengths: np.ndarray) -> list[list[int]]:
    """`batches` with the one holding the longest row moved to the front, the others in their order."""
    if not batches:
        return batches
    longest = int(np.argmax([lengths[batch].max() for batch in batches]))  # the first of equals
    return [batches[longest], *batches[:longest], *batches[longest + 1 :]]


class LengthGroupedBatchSampler(SeededBatchSampler):
    """Random mega-batches of MEGA_BATCH batches, sorted by length inside, then batch order shuffled, the
    longest batch first."""

    def batches(self) -> list[list[int]]:
        rng = self._rng()
        order = rng.permutation(self.size)
        window = self.batch_size * MEGA_BATCH
        batches = []
        for start in range(0, self.size, window):
            chunk = order[start : start + window]
            chunk = chunk[np.argsort(-self.lengths[chunk], kind="stable")]
            batches += [
                chunk[i : i + self.batch_size].tolist() for i in range(0, len(chunk), self.batch_size)
            ]
        # keep a short last batch last, so drop_last drops the same rows as the plain sampler would
        full = [b for b in batches if len(b) == self.batch_size]
        short = [b for b in batches if len(b) < self.batch_size]
        return longest_first([full[i] for i in rng.permutation(len(full))], self.lengths) + short


class LengthGroupedNoDuplicatesBatchSampler(SeededBatchSampler):
    """Length-grouped batches (as LengthGroupedBatchSampler) in which no text occurs twice, for losses whose
    in-batch negatives must not be copies of a positive: a multi-way parallel corpus repeats each English
    sentence once per language, and translations of one sentence have similar lengths, so plain length
    grouping would often put two copies in one batch. Inside each sorted window, batches are filled
    greedily with the next row none of whose texts the batch holds yet; a row that does not fit waits for
    the next batch; the window's last short batch moves on to the next window."""

    def __init__(self, dataset, batch_size: int, drop_last: bool, valid_label_columns=None, **kwargs) -> None:
        super().__init__(dataset, batch_size, drop_last, valid_label_columns, **kwargs)
        labels = set(valid_label_columns or ())
        columns = [
            dataset[name]
            for name, feature in dataset.features.items()
            if name not in labels and getattr(feature, "dtype", None) == "string"
        ]
        self.texts = [frozenset(row) for row in zip(*columns, strict=True)]
        self._made: tuple[int, list[list[int]]] | None = None  # (epoch, its batches)

    def _fill(self, rows: list[int]) -> list[list[int]]:
        batches = []
        while rows:
            batch, seen, rest = [], set(), []
            for row in rows:
                texts = self.texts[row]
                if len(batch) < self.batch_size and not texts & seen:
                    batch.append(row)
                    seen |= texts
                else:
                    rest.append(row)
            batches.append(batch)
            rows = rest
        return batches

    def batches(self) -> list[list[int]]:
        if self._made is not None and self._made[0] == self.epoch:
            return self._made[1]
        rng = self._rng()
        order = rng.permutation(self.size)
        window = self.batch_size * MEGA_BATCH
        full, carry = [], []
        for start in range(0, self.size, window):
            chunk = np.concatenate([np.array(carry, dtype=int), order[start : start + window]])
            chunk = chunk[np.argsort(-self.lengths[chunk], kind="stable")]
            filled = self._fill(chunk.tolist())
            carry = [row for batch in filled if len(batch) < self.batch_size for row in batch]
            full += [batch for batch in filled if len(batch) == self.batch_size]
        short = self._fill(carry)  # each short batch still without repeats (drop_last drops them all)
        made = longest_first([full[i] for i in rng.permutation(len(full))], self.lengths) + short
        self._made = (self.epoch, made)
        return made

    def __len__(self) -> int:
        sizes = [len(batch) for batch in self.batches()]
        return sum(size == self.batch_size or not self.drop_last for size in sizes)


# recipe `batch_sampler` choice -> our seeded sampler (`no_duplicates` is sentence-transformers' own)
SAMPLERS: dict[str, type[SeededBatchSampler]] = {
    "random": SeededBatchSampler,
    "length": LengthGroupedBatchSampler,
    "length_no_duplicates": LengthGroupedNoDuplicatesBatchSampler,
}
