"""Batch samplers whose order depends only on (seed, epoch), so a resumed run sees the same batches.

`LengthGroupedBatchSampler` puts texts of similar length together (less padding: on CPU the cost of a
batch follows its longest text), shuffling within mega-batches so batches stay random in content.
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


class LengthGroupedBatchSampler(SeededBatchSampler):
    """Random mega-batches of MEGA_BATCH batches, sorted by length inside, then batch order shuffled."""

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
        return [full[i] for i in rng.permutation(len(full))] + short
