"""`type: custom` — any sentence-transformers loss on the corpus columns you name, in the loss's order."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import Field

from trainers.recipe import StageConfig
from trainers.stages.base import Stage, register_stage


class CustomConfig(StageConfig):
    columns: list[str] = Field(min_length=1, description="corpus columns fed to the loss, in order")
    label: str | None = Field(default=None, description="corpus column passed to the loss as its label")


@register_stage("custom")
class CustomStage(Stage):
    Config = CustomConfig
    label_kind = None  # unknown: the loss is checked on real rows before training
    purpose = "reads the columns named in its `columns` and `label`"

    @classmethod
    def loss_columns(cls, config: CustomConfig) -> tuple[str, ...]:
        return tuple(config.columns)

    @classmethod
    def check_config(cls, config: CustomConfig) -> Iterable[tuple[tuple, str]]:
        if config.loss is None:
            yield ("loss",), "a custom stage needs `loss`: a sentence-transformers loss class name"
            return
        yield from super().check_config(config)

    def corpus_columns(self) -> tuple[str, ...]:
        return (*self.config.columns, *((self.config.label,) if self.config.label else ()))

    def loss_dataset(self, train, model):
        dataset = train.select_columns(list(self.corpus_columns()))
        label = self.config.label
        return dataset.rename_column(label, "label") if label and label != "label" else dataset
