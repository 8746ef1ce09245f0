"""`type: sts` — sentence pairs with a similarity score in [0, 1] (CoSENT by default)."""

from __future__ import annotations

from trainers.stages.base import Stage, register_stage


@register_stage("sts")
class STSStage(Stage):
    columns = ("sentence1", "sentence2")
    label = "score"
    label_kind = "score"
    default_loss = "CoSENTLoss"
    purpose = "reads an sts corpus (sentence1, sentence2, score); build one with `embedkit corpus build sts`"
