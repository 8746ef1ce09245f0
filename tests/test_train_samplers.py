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
    # the batch with the longest row comes first (the step's memory is allocated at its largest once)
    assert longest[0] == max(lengths[i] for b in grouped for i in b) > max(longest[1:4])


@pytest.fixture(scope="module")
def multiway(shared_data):
    """A real multi-way parallel corpus: the first 400 NTREX English sentences, each with its Hindi, Tamil,
    Marathi and Bengali translation (every English sentence four times)."""
    from datasets import Dataset

    ntrex = shared_data / "ntrex128"
    english = (ntrex / "newstest2019-src.eng.txt").read_text(encoding="utf-8").splitlines()[:400]
    rows = {"source": [], "target": []}
    for code in ("hin", "tam", "mar", "ben"):
        target = (ntrex / f"newstest2019-ref.{code}.txt").read_text(encoding="utf-8").splitlines()[:400]
        rows["source"] += english
        rows["target"] += target
    return Dataset.from_dict(rows)


def test_length_grouped_no_duplicates_has_no_repeat_and_little_padding(multiway):
    from trainers.samplers import LengthGroupedNoDuplicatesBatchSampler

    pairs = zip(multiway["source"], multiway["target"], strict=True)
    lengths = np.array([max(len(s), len(t)) for s, t in pairs])

    def make(cls, epoch=0, seed=42, drop_last=True):
        sampler = cls(multiway, batch_size=32, drop_last=drop_last, seed=seed, lengths=lengths)
        sampler.set_epoch(epoch)
        return sampler, list(sampler)

    sampler, grouped = make(LengthGroupedNoDuplicatesBatchSampler)
    assert len(grouped) == len(sampler) and all(len(b) == 32 for b in grouped)
    for batch in grouped:
        texts = [multiway["source"][i] for i in batch] + [multiway["target"][i] for i in batch]
        assert len(set(texts)) == len(texts)
    # plain length grouping does put copies of one English sentence together here
    _, plain_grouped = make(LengthGroupedBatchSampler)
    assert any(len({multiway["source"][i] for i in b}) < len(b) for b in plain_grouped)

    def padding(batch_list):
        return sum(max(lengths[b]) * len(b) - sum(lengths[b]) for b in batch_list)

    _, random_batches = make(SeededBatchSampler)
    assert padding(grouped) < 0.4 * padding(random_batches)
    # every row once per epoch (short batches kept without drop_last); the order follows seed and epoch
    _, whole = make(LengthGroupedNoDuplicatesBatchSampler, drop_last=False)
    assert sorted(i for b in whole for i in b) == list(range(len(multiway)))
    assert (
        make(LengthGroupedNoDuplicatesBatchSampler, epoch=1)[1]
        == make(LengthGroupedNoDuplicatesBatchSampler, epoch=1)[1]
    )
    assert make(LengthGroupedNoDuplicatesBatchSampler, epoch=1)[1] != grouped
    for epoch in (0, 1):
        first, *rest = make(LengthGroupedNoDuplicatesBatchSampler, epoch=epoch)[1]
        assert max(lengths[first]) == max(max(lengths[b]) for b in rest + [first])
