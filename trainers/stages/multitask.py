"""`type: multitask` — several datasets, each with its own loss, trained together in one stage.

Each optimisation step takes one batch from one task (sentence-transformers' multi-dataset training: a
DatasetDict and a dict of losses); `mix: proportional` draws the task of each batch in proportion to its
batches, so a task's `max_rows` sets its share. Mixing objectives in one stage, rather than one stage per
objective, keeps what each of them teaches: a later stage no longer trains the earlier one's skill away.

    - type: multitask
      name: mix
      tasks:
        - {name: ranking, train: [...], columns: [source, target],
           loss: CachedMultipleNegativesSymmetricRankingLoss, batch_sampler: no_duplicates}
        - {name: sts, train: [...], columns: [sentence1, sentence2], label: score, loss: CoSENTLoss}
      batch_size: 64
      dev: {data: [...]}

A task is read, checked and probed exactly as a `custom` stage with the same keys would be; every task shares
the stage's batch size, optimiser, schedule, prompt and dev evaluator.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from trainers.recipe import DataRef, StageConfig, Strict, train_as_list
from trainers.stages.base import PreparedStage, Stage, StageData, register_stage
from trainers.stages.custom import CustomConfig, CustomStage

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


class TaskSpec(Strict):
    """One dataset of a multitask stage and the loss it trains with."""

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]*$", description="the task's name in logs and run.json")
    train: list[DataRef] = Field(min_length=1, description="corpus folders or inline corpus specs")
    columns: list[str] = Field(min_length=1, description="corpus columns fed to the loss, in order")
    label: str | None = Field(default=None, description="corpus column passed to the loss as its label")
    loss: str = Field(description="a sentence-transformers loss class name")
    loss_args: dict[str, Any] = Field(default_factory=dict)
    max_rows: int | None = Field(default=None, ge=1, description="a seeded random sample of this size")
    batch_sampler: Literal["random", "length", "no_duplicates", "length_no_duplicates"] = Field(
        default="random",
        description="(length_)no_duplicates for in-batch-negative losses on corpora that repeat texts",
    )

    @model_validator(mode="before")
    @classmethod
    def _single_train(cls, value: Any) -> Any:
        return train_as_list(value)


class MultitaskConfig(StageConfig):
    train: list[DataRef] = Field(default_factory=list, description="unused: each task has its own train")
    tasks: list[TaskSpec] = Field(min_length=1)
    mix: Literal["proportional", "round_robin"] = Field(
        default="proportional",
        description="proportional: a batch's task drawn ∝ the task's batches; round_robin: tasks in turn "
        "until the smallest runs out",
    )

    @model_validator(mode="after")
    def _tasks_own_their_data(self) -> MultitaskConfig:
        for key in ("train", "loss", "max_rows"):
            if getattr(self, key):
                raise ValueError(f"a multitask stage has no stage-level {key!r}: give each task its own")
        if self.loss_args:
            raise ValueError("a multitask stage has no stage-level 'loss_args': give each task its own")
        if self.batch_sampler != "auto":
            raise ValueError("a multitask stage's batch_sampler is set per task")
        if self.dev is not None and self.dev.holdout is not None:
            raise ValueError("a multitask stage's dev is a dev corpus ('data'), not a holdout")
        names = [task.name for task in self.tasks]
        if len(set(names)) != len(names):
            raise ValueError(f"task names repeat: {names}; give each task a distinct name")
        return self


def task_config(stage: MultitaskConfig, task: TaskSpec) -> CustomConfig:
    """The `custom` stage config that reads, checks and probes `task` the way a custom stage would."""
    return CustomConfig(
        type="custom",
        name=task.name,
        train=task.train,
        columns=task.columns,
        label=task.label,
        loss=task.loss,
        loss_args=task.loss_args,
        max_rows=task.max_rows,
        batch_size=stage.batch_size,
    )


@dataclass(frozen=True)
class MultitaskData(StageData):
    tasks: dict[str, StageData] = field(default_factory=dict)


@dataclass(frozen=True)
class MultitaskPrepared(PreparedStage):
    tasks: dict[str, PreparedStage] = field(default_factory=dict)


class TaskBatchSamplers:
    """The `batch_sampler` the Trainer calls once per task dataset: the task's own sampler and lengths."""

    def __init__(self, config: MultitaskConfig, prepared: MultitaskPrepared) -> None:
        self.by_dataset = {
            id(prepared.tasks[task.name].dataset): (task.batch_sampler, prepared.tasks[task.name].lengths)
            for task in config.tasks
        }

    def __call__(self, dataset, **kwargs):
        from sentence_transformers.base.sampler import NoDuplicatesBatchSampler

        from trainers.samplers import SAMPLERS

        kind, lengths = self.by_dataset[id(dataset)]
        if kind == "no_duplicates":
            return NoDuplicatesBatchSampler(dataset, **kwargs)
        return SAMPLERS[kind](dataset, lengths=lengths, **kwargs)


@register_stage("multitask")
class MultitaskStage(Stage):
    Config = MultitaskConfig
    label_kind = None
    purpose = "trains each of its tasks on the corpora and columns the task names"

    @classmethod
    def loss_name(cls, config: MultitaskConfig) -> str:
        return " + ".join(f"{task.name}: {task.loss}" for task in config.tasks)

    @classmethod
    def loss_columns(cls, config: MultitaskConfig) -> tuple[str, ...]:
        return ()

    @classmethod
    def check_config(cls, config: MultitaskConfig) -> Iterable[tuple[tuple, str]]:
        from trainers.evaluators import EVALUATORS

        if config.dev is not None and config.dev.evaluator not in (None, *EVALUATORS):
            yield ("dev", "evaluator"), f"unknown dev evaluator {config.dev.evaluator!r}"
        for j, task in enumerate(config.tasks):
            for path, problem in CustomStage.check_config(task_config(config, task)):
                yield ("tasks", j, *path), problem

    def subtasks(self) -> dict[str, CustomStage]:
        place = (*self.place, "tasks")
        return {
            task.name: CustomStage(task_config(self.config, task), self.index, self.ctx, (*place, j))
            for j, task in enumerate(self.config.tasks)
        }

    def load_data(self) -> MultitaskData:
        from datasets import DatasetDict

        tasks = {name: sub.load_data() for name, sub in self.subtasks().items()}
        train = DatasetDict({name: data.train for name, data in tasks.items()})
        _train, dev, dev_kind, dev_manifests, _rows = self.load_dev(train)
        rows = {f"{name}_train": len(data.train) for name, data in tasks.items()}
        rows["dev"] = len(dev) if dev is not None else 0
        manifests = tuple(m for data in tasks.values() for m in data.manifests) + tuple(dev_manifests)
        return MultitaskData(train, dev, dev_kind, rows, manifests, tasks=tasks)

    def prepare(self, model: SentenceTransformer, data: MultitaskData) -> MultitaskPrepared:
        """Each task prepared (and probed, and memory-checked) as its custom stage; one dev evaluator."""
        import numpy as np
        from datasets import DatasetDict

        tasks = {name: sub.prepare(model, data.tasks[name]) for name, sub in self.subtasks().items()}
        return MultitaskPrepared(
            dataset=DatasetDict({name: prepared.dataset for name, prepared in tasks.items()}),
            evaluator=self.dev_evaluator(model, data),
            loss_name=self.loss_name(self.config),
            lengths=np.concatenate([prepared.lengths for prepared in tasks.values()]),
            longest=max(prepared.longest for prepared in tasks.values()),
            rows=data.rows,
            manifests=data.manifests,
            tasks=tasks,
        )

    def build_loss(self, model: SentenceTransformer, prepared: MultitaskPrepared) -> dict:
        subs = self.subtasks()
        return {name: subs[name].build_loss(model, task) for name, task in prepared.tasks.items()}

    def batch_sampler(self, prepared: MultitaskPrepared) -> TaskBatchSamplers:
        return TaskBatchSamplers(self.config, prepared)

    def total_steps(self, prepared: MultitaskPrepared) -> int:
        if self.config.max_steps:
            return self.config.max_steps
        batches = [len(task.dataset) // self.config.batch_size for task in prepared.tasks.values()]
        per_epoch = sum(batches) if self.config.mix == "proportional" else min(batches) * len(batches)
        return max(1, int(per_epoch * self.config.epochs))

    def training_args(self, prepared: MultitaskPrepared, total: int):
        from sentence_transformers.base.sampler import MultiDatasetBatchSamplers

        args = super().training_args(prepared, total)
        args.multi_dataset_batch_sampler = MultiDatasetBatchSamplers(self.config.mix)
        return args
