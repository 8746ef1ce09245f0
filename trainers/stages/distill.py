"""`type: distill` — multilingual knowledge distillation (Reimers & Gurevych, 2020).

On a parallel corpus (source = the teacher's language, usually English), the student learns to map
both the source and its translation onto the teacher's embedding of the source (MSELoss). The teacher
embeddings are computed once, before training, and cached in the stage folder for --resume.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from pydantic import Field

from embedkit.console import info
from trainers.recipe import StageConfig
from trainers.stages.base import TrainerStage, register_stage

if TYPE_CHECKING:
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer


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
class DistillStage(TrainerStage):
    Config = DistillConfig
    kind = "parallel"
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

    def prepare(self, model: SentenceTransformer) -> None:
        self.teacher = None
        super().prepare(model)
        self.teacher = None  # its embeddings are in the dataset and the dev evaluator now

    def _teacher(self, base: SentenceTransformer) -> Teacher:
        """`prepare` sees the untrained base model: a teacher that is the base model needs no second copy."""
        if self.teacher is None:
            if self.config.teacher == self.ctx.recipe.base_model:
                self.teacher = Teacher(base, self.ctx.base_prompt)
            else:
                from embedkit.models import load_model

                model = load_model(self.config.teacher, device=self.ctx.device)
                prompt = model.prompts.get(model.default_prompt_name) if model.default_prompt_name else None
                self.teacher = Teacher(model, prompt)
        return self.teacher

    def to_loss_dataset(self, train: Dataset, model: SentenceTransformer) -> Dataset:
        import numpy as np

        sources = sorted(set(train["source"]))
        embeddings = self.teacher_embeddings(sources, model)
        row_of = {text: i for i, text in enumerate(sources)}
        labels = embeddings[np.array([row_of[text] for text in train["source"]])]
        dataset = train.select_columns(list(self.loss_columns(self.config)))
        return dataset.add_column("label", list(labels))

    def teacher_embeddings(self, sources: list[str], model: SentenceTransformer):
        """Teacher embeddings of `sources`, from the stage folder's cache when the same texts were encoded."""
        import numpy as np

        digest = hashlib.sha256("\n".join([self.config.teacher, *sources]).encode()).hexdigest()[:16]
        cache = self.dir / f"teacher-{digest}.npy"
        if cache.exists():
            return np.load(cache)
        info(f"stage {self.name}: teacher {self.config.teacher} encodes {len(sources)} source texts")
        embeddings = self._teacher(model).encode(sources, batch_size=64, show_progress_bar=False)
        if self.ctx.is_main:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(".tmp.npy")
            np.save(tmp, embeddings)
            tmp.replace(cache)
        return embeddings

    def build_evaluator(self, dev, kind, model):
        from sentence_transformers.sentence_transformer.evaluation import MSEEvaluator

        from trainers.evaluators import MeanEvaluator, build_dev_evaluators

        if dev is None:
            return None
        scored = build_dev_evaluators(dev, kind, self.config.dev.evaluator)
        # MSE of student(target) to teacher(source): the training objective on unseen pairs
        mse = MSEEvaluator(
            dev["source"], dev["target"], teacher_model=self._teacher(model), name="dev", batch_size=64
        )
        return MeanEvaluator(scored, [mse])
