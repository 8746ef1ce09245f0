"""Batch order depends only on (seed, epoch); length grouping cuts padding; every row once per epoch."""

from __future__ import annotations

import numpy as np
import pytest

from trainers.samplers import LengthGroupedBatchSampler, SeededBatchSampler


@pytest.fixture(scope="module")
def lengths(shared_data) -> np.ndarray:
    """Character lengths of real Hindi STSb sentences (first 3000 rows)."""
    lines = (shared_data / "stsb_translated_l3cube/hindi/sts-train-hi.tsv").read_text(encoding="utf-8")
    return np.array([len(line.split("\t")[5]) for line in lines.splitlines()[:3000]])


def batches(cls, lengths, epoch: int, seed: int = 42, drop_last: bool = True) -> list[list[int]]:
    sampler = cls(range(len(lengths)), batch_size=32, drop_last=drop_last, seed=seed, lengths=lengths)
    sampler.set_epoch(epoch)
    return list(sampler)


@pytest.mark.parametrize("cls", [SeededBatchSampler, LengthGroupedBatchSampler])
def test_order_depends_only_on_seed_and_epoch(cls, lengths):
    assert batches(cls, lengths, 1) == batches(cls, lengths, 1)
    assert batches(cls, lengths, 1) != batches(cls, lengths, 2)
    assert batches(cls, lengths, 1) != batches(cls, lengths, 1, seed=7)
    full = batches(cls, lengths, 0, drop_last=False)
    assert sorted(i for batch in full for i in batch) == list(range(len(lengths)))
    dropped = batches(cls, lengths, 0)
    assert len(dropped) == len(lengths) // 32 and all(len(b) == 32 for b in dropped)


def test_length_grouping_cuts_padding(lengths):
    def padding(batch_list):  # padded positions when each batch pads to its longest row
        return sum(max(lengths[b]) * len(b) - sum(lengths[b]) for b in batch_list)

    grouped = batches(LengthGroupedBatchSampler, lengths, 0)
    plain = batches(SeededBatchSampler, lengths, 0)
    assert padding(grouped) < 0.3 * padding(plain)
    # still shuffled: consecutive batches are not in length order
    longest = [max(lengths[b]) for b in grouped]
    assert longest != sorted(longest) and longest != sorted(longest, reverse=True)
