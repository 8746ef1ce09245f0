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

A task is a stage of type custom (the default), sts, nli or distill without the schedule: it is read,
checked, probed and given its loss and batch sampler exactly as that stage would be (a distill task computes
its teacher embeddings before any stage trains). Every task shares the multitask stage's batch size,
optimiser, schedule, prompt and dev evaluator.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, ValidationError, model_validator

from trainers.recipe import UNION_TAGS, DataRef, StageConfig, train_as_list
from trainers.stages.base import STAGES, PreparedStage, Stage, StageData, register_stage

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


TASK_TYPES = ("custom", "sts", "nli", "distill")  # stage types whose training is the plain loop
SHARED_KEYS = (  # set once on the multitask stage, for every task
    "epochs", "max_steps", "batch_size", "lr", "warmup", "weight_decay", "scheduler", "max_grad_norm",
    "eval_every", "save_every", "dev",
)  # fmt: skip


class TaskProblem(Exception):
    def __init__(self, path: tuple, problem: str) -> None:
        super().__init__(problem)
        self.path, self.problem = path, problem


class MultitaskConfig(StageConfig):
    train: list[DataRef] = Field(default_factory=list, description="unused: each task has its own train")
    tasks: list[dict[str, Any]] = Field(
        min_length=1,
        description="each a stage of type custom (default), sts, nli or distill, with its own name, train, "
        "loss, loss_args, max_rows and batch_sampler",
    )
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
        names = [task.get("name") for task in self.tasks if isinstance(task, dict)]
        if len(set(names)) != len(names):
            raise ValueError(f"task names repeat: {names}; give each task a distinct name")
        return self


def task_config(stage: MultitaskConfig, j: int) -> StageConfig:
    """Task `j` as the stage config of its type, sharing the multitask stage's batch size; raises
    TaskProblem (placed below the task) when it is not one."""
    raw = stage.tasks[j]
    if not isinstance(raw.get("name"), str) or not raw["name"]:
        raise TaskProblem(("name",), "a task needs a 'name'")
    kind = raw.get("type", "custom")
    if kind not in TASK_TYPES:
        raise TaskProblem(("type",), f"a task is of type {', '.join(TASK_TYPES)}, not {kind!r}")
    for key in SHARED_KEYS:
        if key in raw:
            raise TaskProblem((key,), f"{key!r} is set on the multitask stage, shared by every task")
    config_cls = STAGES[kind].Config
    try:
        return config_cls.model_validate(train_as_list({**raw, "type": kind, "batch_size": stage.batch_size}))
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(part for part in error["loc"] if not (isinstance(part, str) and part in UNION_TAGS))
        if error["type"] == "extra_forbidden":
            known = ", ".join(k for k in config_cls.model_fields if k not in (*SHARED_KEYS, "type"))
            problem = f"unknown key {loc[-1]!r} for a {kind} task (known: {known})"
        elif error["type"] == "missing":
            problem = f"missing required key {loc[-1]!r}"
        else:
            problem = error["msg"].removeprefix("Value error, ")
        raise TaskProblem(loc, problem) from None


@dataclass(frozen=True)
class MultitaskData(StageData):
    tasks: dict[str, StageData] = field(default_factory=dict)


@dataclass(frozen=True)
class MultitaskPrepared(PreparedStage):
    tasks: dict[str, PreparedStage] = field(default_factory=dict)


class TaskBatchSamplers:
    """The `batch_sampler` the Trainer calls once per task dataset: each task's own, as its stage type
    would choose it."""

    def __init__(self, choices: dict[int, Any]) -> None:
        self.choices = choices  # id(task dataset) -> the task stage's batch_sampler choice

    def __call__(self, dataset, **kwargs):
        from sentence_transformers.base.sampler import NoDuplicatesBatchSampler

        choice = self.choices[id(dataset)]
        if choice == "no_duplicates":
            return NoDuplicatesBatchSampler(dataset, **kwargs)
        return choice(dataset, **kwargs)


@register_stage("multitask")
class MultitaskStage(Stage):
    Config = MultitaskConfig
    label_kind = None
    purpose = "trains each of its tasks on the corpora and columns the task names"

    @classmethod
    def loss_name(cls, config: MultitaskConfig) -> str:
        names = []
        for j in range(len(config.tasks)):
            task = task_config(config, j)
            names.append(f"{task.name}: {STAGES[task.type].loss_name(task)}")
        return " + ".join(names)

    @classmethod
    def loss_columns(cls, config: MultitaskConfig) -> tuple[str, ...]:
        return ()

    @classmethod
    def check_config(cls, config: MultitaskConfig) -> Iterable[tuple[tuple, str]]:
        from trainers.evaluators import EVALUATORS

        if config.dev is not None and config.dev.evaluator not in (None, *EVALUATORS):
            yield ("dev", "evaluator"), f"unknown dev evaluator {config.dev.evaluator!r}"
        for j in range(len(config.tasks)):
            try:
                task = task_config(config, j)
            except TaskProblem as exc:
                yield ("tasks", j, *exc.path), exc.problem
                return
            for path, problem in STAGES[task.type].check_config(task):
                yield ("tasks", j, *path), problem

    def subtasks(self) -> dict[str, Stage]:
        """Each task as a stage of its type: it reads, checks, probes and builds its loss as that stage."""
        place = (*self.place, "tasks")
        subs = {}
        for j in range(len(self.config.tasks)):
            task = task_config(self.config, j)
            subs[task.name] = STAGES[task.type](task, self.index, self.ctx, (*place, j))
        return subs

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
        """Each task prepared (and probed, and memory-checked) as a stage of its type; one dev evaluator."""
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
        subs = self.subtasks()
        return TaskBatchSamplers(
            {id(task.dataset): subs[name].batch_sampler(task) for name, task in prepared.tasks.items()}
        )

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
