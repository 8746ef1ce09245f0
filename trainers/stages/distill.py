"""`type: distill` — multilingual knowledge distillation (Reimers & Gurevych, 2020).

On a parallel corpus (source = the teacher's language, usually English), the student learns to map
both the source and its translation onto the teacher's embedding of the source (MSELoss). The teacher
embeddings are computed once, before training, and cached in the stage folder for --resume.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from embedkit.atomic import atomic_file
from trainers.recipe import StageConfig
from trainers.stages.base import PreparedStage, Stage, StageData, register_stage

if TYPE_CHECKING:
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer


logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistillPrepared(PreparedStage):
    teacher_cache: tuple[Path, Any] | None = None  # (path, teacher embeddings) not yet cached on disk


class DistillConfig(StageConfig):
    teacher: str = Field(default="default", description="'default', a folder or a Hub id; encodes `source`")
    train_source: bool = Field(
        default=True, description="also pull the student's own source embedding onto the teacher's"
    )


class Teacher:
    """The teacher model with its own default prompt, whatever prompt the student trains with."""

    def __init__(self, model: SentenceTransformer, prompt: str | None) -> None:
        self.model, self.prompt = model, prompt

    def encode(self, sentences, **kwargs):
        kwargs.setdefault("convert_to_numpy", True)
        return self.model.encode(sentences, prompt=self.prompt or "", **kwargs)


@register_stage("distill")
class DistillStage(Stage):
    Config = DistillConfig
    label = None
    label_kind = "embedding"
    default_loss = "MSELoss"
    optional_columns = ("source_lang", "target_lang")
    purpose = "reads a parallel corpus (source, target); build one with `embedkit corpus build parallel`"

    @classmethod
    def loss_columns(cls, config: DistillConfig) -> tuple[str, ...]:
        return ("source", "target") if config.train_source else ("target",)

    def corpus_columns(self) -> tuple[str, ...]:
        return ("source", "target")

    def prepare(self, model: SentenceTransformer, data: StageData) -> DistillPrepared:
        teacher = functools.cache(lambda: self.load_teacher(model))  # loaded only when something needs it
        dataset, pending = self.teacher_labels(data.train, teacher)
        evaluator = self.dev_evaluator(model, data, teacher)
        return self.checked(model, data, dataset, evaluator, kind=DistillPrepared, teacher_cache=pending)

    def load_teacher(self, base: SentenceTransformer) -> Teacher:
        """`prepare` sees the untrained base model: a teacher that is the base model needs no second copy."""
        if self.config.teacher == self.ctx.recipe.base_model:
            return Teacher(base, self.ctx.base_prompt)
        from embedkit.models import load_model

        model = load_model(self.config.teacher, device=self.ctx.device)
        prompt = model.prompts.get(model.default_prompt_name) if model.default_prompt_name else None
        return Teacher(model, prompt)

    def teacher_labels(self, train: Dataset, teacher: Callable[[], Teacher]):
        """The loss rows with the teacher's embedding of each source as label, and the embeddings still to
        be cached in the stage folder (written when training starts: nothing is written before the preflight
        has passed; under DDP the first process writes it at once, for the others to read)."""
        import numpy as np

        sources = sorted(set(train["source"]))
        digest = hashlib.sha256("\n".join([self.config.teacher, *sources]).encode()).hexdigest()[:16]
        cache = self.dir / f"teacher-{digest}.npy"
        pending = None
        if cache.exists():
            embeddings = np.load(cache)
        else:
            logger.info(
                f"stage {self.name}: teacher {self.config.teacher} encodes {len(sources)} source texts"
            )
            embeddings = teacher().encode(sources, batch_size=64, show_progress_bar=False)
            pending = (cache, embeddings)
            if self.ctx.world_size > 1 and self.ctx.is_main:  # the other processes read it (they wait)
                write_cache(*pending)
                pending = None
        row_of = {text: i for i, text in enumerate(sources)}
        labels = embeddings[np.array([row_of[text] for text in train["source"]])]
        dataset = train.select_columns(list(self.loss_columns(self.config)))
        return dataset.add_column("label", list(labels)), pending

    def dev_evaluator(self, model: SentenceTransformer, data: StageData, teacher=None):
        """The dev scores of the dev corpus kind, plus the MSE of student(target) to teacher(source): the
        training objective on unseen pairs. `teacher`: a callable returning the Teacher (default: load it)."""
        from sentence_transformers.sentence_transformer.evaluation import MSEEvaluator

        from trainers.evaluators import MeanEvaluator, build_dev_evaluators

        if data.dev is None:
            return None
        teacher = teacher or (lambda: self.load_teacher(model))
        dev = data.dev
        scored = build_dev_evaluators(dev, data.dev_kind, self.config.dev.evaluator)
        mse = MSEEvaluator(dev["source"], dev["target"], teacher_model=teacher(), name="dev", batch_size=64)
        return MeanEvaluator(scored, [mse])

    @contextlib.contextmanager
    def training_parts(self, model, prepared: DistillPrepared, checkpoint):
        if prepared.teacher_cache is not None and self.ctx.is_main:
            write_cache(*prepared.teacher_cache)
        with super().training_parts(model, prepared, checkpoint) as parts:
            yield parts


def write_cache(path: Path, embeddings) -> None:
    import numpy as np

    with atomic_file(path) as tmp, open(tmp, "wb") as handle:
        np.save(handle, embeddings)
