"""Dev evaluators, chosen by the dev corpus kind, one per language, averaged into one dev score.

The score the progress bar shows and run.json keeps is `dev_score`: the mean over languages of each
evaluator's own main metric (Spearman of cosine for STS, accuracy for triplets and translation pairs).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sentence_transformers.base.evaluation import BaseEvaluator, SequentialEvaluator
from sentence_transformers.sentence_transformer.evaluation import (
    EmbeddingSimilarityEvaluator,
    TranslationEvaluator,
    TripletEvaluator,
)

if TYPE_CHECKING:
    from datasets import Dataset

DEV_METRIC = "dev_score"
TRAINER_METRIC = f"eval_{DEV_METRIC}"  # the Trainer prefixes evaluator metrics with "eval_"


def _sts(rows: Dataset, name: str) -> BaseEvaluator:
    return EmbeddingSimilarityEvaluator(
        rows["sentence1"],
        rows["sentence2"],
        rows["score"],
        main_similarity="cosine",
        name=name,
        batch_size=64,
    )


def _triplet(rows: Dataset, name: str) -> BaseEvaluator:
    return TripletEvaluator(rows["anchor"], rows["positive"], rows["negative"], name=name, batch_size=64)


def _translation(rows: Dataset, name: str) -> BaseEvaluator:
    # one row per source text: a multi-way corpus repeats the English side once per language
    seen, sources, targets = set(), [], []
    for source, target in zip(rows["source"], rows["target"], strict=True):
        if source not in seen:
            seen.add(source)
            sources.append(source)
            targets.append(target)
    return TranslationEvaluator(sources, targets, name=name, batch_size=64)


EVALUATORS: dict[str, tuple[str, Callable[[Dataset, str], BaseEvaluator]]] = {
    "sts": ("sts", _sts),
    "triplet": ("nli", _triplet),
    "translation": ("parallel", _translation),
}
DEFAULT_FOR_KIND = {kind: name for name, (kind, _build) in EVALUATORS.items()}
LANG_COLUMN = {"sts": "lang", "nli": "lang", "parallel": "target_lang"}


class MeanEvaluator(SequentialEvaluator):
    """Runs `scored` evaluators (their main metrics are averaged into `dev_score`) and `extra` ones
    (reported only)."""

    def __init__(self, scored: list[BaseEvaluator], extra: list[BaseEvaluator] = ()) -> None:
        self.scored = len(scored)
        super().__init__(
            [*scored, *extra], main_score_function=lambda scores: sum(scores[: self.scored]) / self.scored
        )

    def __call__(self, model, output_path=None, epoch: int = -1, steps: int = -1) -> dict[str, float]:
        results = super().__call__(model, output_path, epoch, steps)
        results[DEV_METRIC] = results.pop("sequential_score")
        self.primary_metric = DEV_METRIC
        return results


def build_dev_evaluators(dev: Dataset, kind: str, evaluator: str | None) -> list[BaseEvaluator]:
    """One evaluator per language of `dev` (a corpus of `kind`)."""
    name = evaluator or DEFAULT_FOR_KIND[kind]
    _kind, build = EVALUATORS[name]
    column = LANG_COLUMN.get(kind)
    if column is None or column not in dev.column_names:
        return [build(dev, "dev")]
    langs = sorted(set(dev[column]))
    if len(langs) == 1:
        return [build(dev, f"dev_{langs[0]}")]
    return [build(dev.filter(lambda row, lang=lang: row[column] == lang), f"dev_{lang}") for lang in langs]
