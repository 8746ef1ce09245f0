"""`type: nli` — (anchor, positive, hard negative) triples with in-batch negatives.

MultipleNegativesRankingLoss by default, on batches without duplicate texts (a duplicate would be a
false negative for the other rows of the batch).
"""

from __future__ import annotations

from trainers.stages.base import Stage, register_stage


@register_stage("nli")
class NLIStage(Stage):
    columns = ("anchor", "positive", "negative")
    default_loss = "MultipleNegativesRankingLoss"
    default_sampler = "no_duplicates"
    purpose = "reads an nli corpus (anchor, positive, negative); build one with `embedkit corpus build nli`"
