"""Counts of what the masking did, summed over batches and written as `masking_stats.json`.

entity_mask_in_span_ratio     entity masks whose subword lies wholly inside its tagged span
subwords_per_chosen_span_max  the most masked subwords in any one chosen span (LEM: 1)
budget_ratio                  masked subwords / budget (ratio x maskable subwords)
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from embedkit.atomic import write_text_atomic
from trainers.mlm.masking import RANDOM, Plan

STATS_FILE = "masking_stats.json"
COUNTS = ("texts", "maskable_tokens", "masked_tokens", "entity_masks", "entity_masks_in_span")


class MaskingStats:
    """Additive counts; `add_plan` per text, `merge` per batch (also across processes or checkpoints)."""

    def __init__(self) -> None:
        self.counts: Counter = Counter()
        self.budget = 0.0
        self.max_per_span = 0
        self.by_type: Counter = Counter()  # masks by source: ENT, VERB, NOUN, random
        self.spans_by_type: Counter = Counter()  # chosen spans by label
        self.replaced: Counter = Counter()  # mask, random, keep

    def add_plan(self, plan: Plan, maskable: int, replaced: Iterable[str]) -> None:
        masked = {m.index for m in plan.masks}
        self.counts["texts"] += 1
        self.counts["maskable_tokens"] += maskable
        self.counts["masked_tokens"] += len(plan.masks)
        self.budget += plan.budget
        for mask in plan.masks:
            self.by_type[mask.source] += 1
            if mask.source != RANDOM:
                self.counts["entity_masks"] += 1
                self.counts["entity_masks_in_span"] += int(mask.in_span)
        for label, positions in plan.chosen_spans:
            self.spans_by_type[label] += 1
            self.max_per_span = max(self.max_per_span, len(masked.intersection(positions)))
        self.replaced.update(replaced)

    def merge(self, other: MaskingStats | Mapping[str, Any]) -> None:
        if not isinstance(other, MaskingStats):
            other = MaskingStats.from_dict(other)
        self.counts.update(other.counts)
        self.budget += other.budget
        self.max_per_span = max(self.max_per_span, other.max_per_span)
        self.by_type.update(other.by_type)
        self.spans_by_type.update(other.spans_by_type)
        self.replaced.update(other.replaced)

    def to_dict(self) -> dict[str, Any]:
        c = self.counts
        return {
            "entity_mask_in_span_ratio": _ratio(c["entity_masks_in_span"], c["entity_masks"]),
            "subwords_per_chosen_span_max": self.max_per_span,
            "budget_ratio": _ratio(c["masked_tokens"], self.budget),
            "budget_tokens": round(self.budget, 3),
            **{name: c[name] for name in COUNTS},
            "masks_by_type": dict(sorted(self.by_type.items())),
            "chosen_spans_by_type": dict(sorted(self.spans_by_type.items())),
            "replacement": dict(sorted(self.replaced.items())),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MaskingStats:
        stats = cls()
        stats.counts = Counter({name: int(data.get(name, 0)) for name in COUNTS})
        stats.budget = float(data.get("budget_tokens", 0.0))
        stats.max_per_span = int(data.get("subwords_per_chosen_span_max", 0))
        stats.by_type = Counter(data.get("masks_by_type", {}))
        stats.spans_by_type = Counter(data.get("chosen_spans_by_type", {}))
        stats.replaced = Counter(data.get("replacement", {}))
        return stats

    def write(self, path: Path, **extra: Any) -> None:
        write_text_atomic(path, json.dumps({**self.to_dict(), **extra}, indent=2) + "\n")

    @classmethod
    def read(cls, path: Path) -> MaskingStats:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 6) if whole else None
