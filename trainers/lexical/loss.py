"""Supervised contrastive loss over synsets (Khosla et al. 2020; NT-Xent when every synset has two words).

In a batch of words, every pair of words that share a synset is a positive; every other pair is a negative.
For each word i with at least one positive P(i):

    loss_i = -1/|P(i)| * sum_{p in P(i)} log( exp(cos(i, p)/t) / sum_{a != i} exp(cos(i, a)/t) )

and the batch loss is the mean over those words. Temperature t defaults to 0.07 (BabelBERT).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from trainers.lexical.words import pool_words


def synset_positives(synsets: list[Iterable[str]]) -> torch.Tensor:
    """N x N bool: True where two different words share a synset (a word may belong to several)."""
    ids: dict[str, int] = {}
    rows = [[ids.setdefault(s, len(ids)) for s in word_synsets] for word_synsets in synsets]
    members = torch.zeros((len(synsets), len(ids)), dtype=torch.float32)
    for i, row in enumerate(rows):
        members[i, row] = 1.0
    positives = (members @ members.T) > 0
    positives.fill_diagonal_(False)
    return positives


def supervised_contrastive_loss(
    embeddings: torch.Tensor, positives: torch.Tensor, temperature: float = 0.07
) -> torch.Tensor:
    """The loss above for `embeddings` (N x d, any norm) and their `positives` mask (N x N bool)."""
    with torch.autocast(device_type=embeddings.device.type, enabled=False):  # fp32 logits at t=0.07
        vectors = nn.functional.normalize(embeddings.float(), dim=-1)
        logits = vectors @ vectors.T / temperature
    self_mask = torch.eye(len(vectors), dtype=torch.bool, device=vectors.device)
    logits = logits.masked_fill(self_mask, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    positives = positives.to(vectors.device) & ~self_mask
    counts = positives.sum(dim=1)
    anchors = counts > 0
    if not anchors.any():
        return embeddings.sum() * 0.0  # no positives in the batch: nothing to learn, keep the graph
    summed = log_prob.masked_fill(~positives, 0.0).sum(dim=1)
    return -(summed[anchors] / counts[anchors]).mean()


class SynsetContrastiveLoss(nn.Module):
    """sentence-transformers-style loss: `features[0]` holds the batch's words (from `WordPairCollator`),
    `labels` their synset positives mask."""

    def __init__(self, model, temperature: float = 0.07) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.model = model
        self.temperature = temperature

    def forward(self, features: list[dict[str, torch.Tensor]], labels: torch.Tensor) -> torch.Tensor:
        embeddings = pool_words(self.model, features[0])
        return supervised_contrastive_loss(embeddings, labels.bool(), self.temperature)

    def get_config_dict(self) -> dict[str, Any]:
        return {"temperature": self.temperature}

    @property
    def citation(self) -> str:
        return (
            "@inproceedings{khosla2020supervised, title={Supervised Contrastive Learning}, "
            "author={Khosla, Prannay and others}, booktitle={NeurIPS}, year={2020}}"
        )


LEXICAL_LOSSES: dict[str, type[nn.Module]] = {"SynsetContrastiveLoss": SynsetContrastiveLoss}
