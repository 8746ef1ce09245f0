"""Stage types. A stage type is one class registered by name:

    @register_stage("sts")
    class STSStage(TrainerStage):
        kind = "sts"                      # the corpus kind it reads
        columns = ("sentence1", "sentence2")  # corpus columns fed to the loss, in order
        label = "score"                   # corpus column used as the loss label (or None)
        label_kind = "score"
        default_loss = "CoSENTLoss"

plus its import in trainers/stages/__init__.py. Recipe keys of its own go in a `Config` subclass of
StageConfig. `TrainerStage` runs on SentenceTransformerTrainer; a stage type that trains differently
(e.g. masked language modelling) subclasses `Stage` and implements `load_data`, `prepare` and `train`.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from embedkit.atomic import atomic_dir, write_text_atomic
from embedkit.console import info
from embedkit.errors import UserError
from trainers import losses
from trainers.data import (
    KIND_COLUMNS,
    Corpus,
    concat,
    corpus_kind,
    holdout_split,
    load_ref,
    manifest_summary,
    require_columns,
    sample_per_language,
    sample_rows,
)
from trainers.recipe import StageConfig

if TYPE_CHECKING:
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer

    from trainers.run import RunContext

STAGES: dict[str, type[Stage]] = {}
STAGE_FILE = "stage.json"
FINAL_DIR = "final"


def register_stage(name: str):
    """Class decorator: make a stage type available to recipes as `type: <name>`."""

    def decorate(cls: type[Stage]) -> type[Stage]:
        cls.type_name = name
        STAGES[name] = cls
        return cls

    return decorate


@dataclass
class StageResult:
    name: str
    type: str
    loss: str | None
    metrics: dict[str, float]
    steps: int
    wall_time_s: float
    rows: dict[str, int] = field(default_factory=dict)
    data: list[dict[str, Any]] = field(default_factory=list)

    def for_run_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "data"}


class Stage:
    """One step of a recipe. Subclasses declare a `Config` (a StageConfig subclass) for their fields."""

    type_name: ClassVar[str]
    Config: ClassVar[type[StageConfig]] = StageConfig

    def __init__(self, config: StageConfig, index: int, ctx: RunContext) -> None:
        self.config, self.index, self.ctx = config, index, ctx
        self.name = config.name or config.type
        self.dir = ctx.out / "checkpoints" / f"{index + 1:02d}-{self.name}"
        self.data: list[dict[str, Any]] = []

    @classmethod
    def check_config(cls, config: StageConfig) -> Iterable[tuple[tuple, str]]:
        """Problems found from the recipe alone, as (field path inside the stage, message)."""
        return ()

    def error(self, field_path: tuple, problem: str, fix: str | None = None) -> Exception:
        return self.ctx.recipe.error(("stages", self.index, *field_path), problem, fix)

    def load_data(self) -> None:
        """Load and check the stage's data (before the model is loaded). Raise a placed error."""
        raise NotImplementedError

    def prepare(self, model: SentenceTransformer) -> None:
        """Check the data against the (base) model: losses, lengths, memory. Runs before any stage trains."""
        raise NotImplementedError

    def train(self, model: SentenceTransformer) -> StageResult:
        raise NotImplementedError

    # --- finished stages, so --resume can skip them ---

    def finished(self) -> StageResult | None:
        path = self.dir / STAGE_FILE
        if not path.exists() or not (self.dir / FINAL_DIR).exists():
            return None
        return StageResult(**json.loads(path.read_text(encoding="utf-8")))

    def save_finished(self, model: SentenceTransformer, result: StageResult) -> None:
        if not self.ctx.is_main:
            return
        with atomic_dir(self.dir / FINAL_DIR, replace=True) as tmp:
            model.save(str(tmp))
        write_text_atomic(self.dir / STAGE_FILE, json.dumps(result.__dict__, indent=2))


class TrainerStage(Stage):
    """A stage trained with SentenceTransformerTrainer on `columns` (+ `label`) of one corpus kind."""

    kind: ClassVar[str]
    columns: ClassVar[tuple[str, ...]]
    label: ClassVar[str | None] = None
    label_kind: ClassVar[losses.Label] = "none"
    default_loss: ClassVar[str | None] = None
    default_sampler: ClassVar[str] = "length"
    # kept when every corpus has them: dev scores per language
    optional_columns: ClassVar[tuple[str, ...]] = ("lang",)
    purpose: ClassVar[str] = ""

    # --- recipe-time checks ---

    @classmethod
    def loss_name(cls, config: StageConfig) -> str | None:
        return config.loss or cls.default_loss

    @classmethod
    def loss_columns(cls, config: StageConfig) -> tuple[str, ...]:
        return cls.columns

    @classmethod
    def check_config(cls, config: StageConfig) -> Iterable[tuple[tuple, str]]:
        from trainers.evaluators import EVALUATORS

        if config.dev is not None and config.dev.evaluator not in (None, *EVALUATORS):
            known = ", ".join(EVALUATORS)
            yield ("dev", "evaluator"), f"unknown dev evaluator {config.dev.evaluator!r} (known: {known})"
        name = cls.loss_name(config)
        if name is None:
            yield ("loss",), f"a {cls.type_name} stage needs a loss (a sentence-transformers loss class name)"
            return
        if name not in losses.loss_names():
            yield ("loss",), losses.unknown_loss_message(name)
            return
        if problem := losses.check_loss_args(name, config.loss_args):
            yield ("loss_args",), problem
            return
        wanted = losses.inputs_of(name, config.loss_args)
        texts = len(cls.loss_columns(config))
        if wanted is not None and cls.label_kind is not None and not wanted.accepts(texts, cls.label_kind):
            fitting = [n for n, i in losses.LOSS_INPUTS.items() if i.accepts(texts, cls.label_kind)]
            yield (
                ("loss",),
                (
                    f"{name} takes {wanted.describe()}, but a {cls.type_name} stage gives "
                    f"{texts} text column(s) and {_label_words(cls.label_kind)}; "
                    f"use one of {', '.join(fitting) or 'the custom stage type'}"
                ),
            )

    # --- data ---

    def corpus_columns(self) -> tuple[str, ...]:
        """Corpus columns the stage needs."""
        return (*self.loss_columns(self.config), *((self.label,) if self.label else ()))

    def load_train(self) -> tuple[Dataset, list[Corpus]]:
        corpora = []
        for j, ref in enumerate(self.config.train):
            corpus = load_ref(ref, ("stages", self.index, "train", j), self.ctx.recipe)
            require_columns(
                corpus,
                self.corpus_columns(),
                ("stages", self.index, "train", j),
                self.ctx.recipe,
                f"a {self.type_name} stage {self.purpose}",
            )
            corpora.append(corpus)
        optional = [c for c in self.optional_columns if all(c in k.dataset.column_names for k in corpora)]
        return concat(corpora, (*self.corpus_columns(), *optional)), corpora

    def load_dev(self, train: Dataset) -> tuple[Dataset, Dataset | None, str | None]:
        """(train, dev rows, dev corpus kind); a holdout comes out of train."""
        dev_spec = self.config.dev
        if dev_spec is None:
            return train, None, None
        if dev_spec.holdout is not None:
            train, dev = holdout_split(
                train, dev_spec.holdout, self.ctx.recipe.seed, self.corpus_columns()[0]
            )
            kind = corpus_kind(train.column_names)
            if kind is None:
                raise self.error(
                    ("dev", "holdout"),
                    f"no dev evaluator for columns {train.column_names}",
                    "give a dev corpus of a known kind (sts, nli, parallel) as dev.data",
                )
        else:
            dev, kind = self.load_dev_corpora(dev_spec)
        if dev_spec.max_rows:
            from trainers.evaluators import LANG_COLUMN

            dev = sample_per_language(dev, dev_spec.max_rows, self.ctx.recipe.seed, LANG_COLUMN.get(kind))
        return train, dev, kind

    def load_dev_corpora(self, dev_spec) -> tuple[Dataset, str]:
        from trainers.evaluators import DEFAULT_FOR_KIND, EVALUATORS

        corpora = []
        for j, ref in enumerate(dev_spec.data):
            loc = ("stages", self.index, "dev", "data", j)
            corpus = load_ref(ref, loc, self.ctx.recipe)
            self.data.append(manifest_summary(corpus))
            name = dev_spec.evaluator or DEFAULT_FOR_KIND.get(corpus.kind or "")
            if name is None:
                raise self.ctx.recipe.error(
                    loc,
                    f"no dev evaluator for {corpus.path} (columns {corpus.dataset.column_names})",
                    "a dev corpus is of kind sts, nli or parallel",
                )
            wanted = EVALUATORS[name][0]
            if wanted != corpus.kind:
                raise self.ctx.recipe.error(
                    loc, f"dev evaluator {name!r} reads a {wanted} corpus; {corpus.path} is {corpus.kind}"
                )
            corpora.append(corpus)
        kind = corpora[0].kind
        columns = KIND_COLUMNS[kind] + tuple(
            c
            for c in ("lang", "source_lang", "target_lang")
            if all(c in k.dataset.column_names for k in corpora)
        )
        return concat(corpora, tuple(dict.fromkeys(columns))), kind

    def to_loss_dataset(self, train: Dataset, model: SentenceTransformer) -> Dataset:
        """The columns the loss reads, in order, label last. Distillation adds teacher labels here."""
        keep = [*self.loss_columns(self.config), *((self.label,) if self.label else ())]
        return train.select_columns(keep)

    def build_loss(self, model: SentenceTransformer):
        """The loss module the Trainer trains with (a stage type with its own loss classes overrides this)."""
        return losses.build_loss(self.loss_fn_name, model, self.config.loss_args)

    def build_evaluator(self, dev: Dataset | None, kind: str | None, model: SentenceTransformer):
        from trainers.evaluators import MeanEvaluator, build_dev_evaluators

        if dev is None:
            return None
        return MeanEvaluator(build_dev_evaluators(dev, kind, self.config.dev.evaluator))

    def load_data(self) -> None:
        train, corpora = self.load_train()
        self.data = [manifest_summary(corpus) for corpus in corpora]
        train, self.dev_rows, self.dev_kind = self.load_dev(train)
        self.train_rows = sample_rows(train, self.config.max_rows, self.ctx.recipe.seed)
        self.rows = {
            "train": len(self.train_rows),
            "dev": len(self.dev_rows) if self.dev_rows is not None else 0,
        }

    def prepare(self, model: SentenceTransformer) -> None:
        config = self.config
        self.dataset = self.to_loss_dataset(self.train_rows, model)
        self.evaluator = self.build_evaluator(self.dev_rows, self.dev_kind, model)
        self.train_rows = self.dev_rows = None
        tokens = self.token_lengths(model, self.dataset)  # rows x text columns
        self.lengths, self.longest = tokens.sum(axis=1), int(tokens.max(initial=1))
        self.loss_fn_name = self.loss_name(config)
        try:
            losses.probe_loss(
                model,
                losses.build_loss(self.loss_fn_name, model, config.loss_args),
                self.dataset,
                self.ctx.prompt,
            )
        except UserError as exc:
            raise self.error(("loss_args",), str(exc)) from None
        except Exception as exc:
            raise self.error(
                ("loss",),
                f"{self.loss_fn_name} does not fit the data columns {self.dataset.column_names} "
                f"({type(exc).__name__}: {exc})",
            ) from None
        self.check_memory(model)

    def token_lengths(self, model: SentenceTransformer, dataset: Dataset):
        """Tokens of every text the loss reads (prompt included, capped at max_seq_length): rows x columns."""
        import numpy as np

        prompt = self.ctx.prompt or ""
        limit = model.max_seq_length or 512
        columns = []
        for column in self.loss_columns(self.config):
            encoded = model.tokenizer([prompt + text for text in dataset[column]], add_special_tokens=True)
            columns.append(np.minimum([len(ids) for ids in encoded["input_ids"]], limit))
        return np.stack(columns, axis=1)

    def check_memory(self, model: SentenceTransformer) -> None:
        from trainers.compute import estimate_memory

        if not self.ctx.recipe.compute.memory_check:
            return
        per_device = self.per_device_batch()
        texts = len(self.loss_columns(self.config))
        longest = self.longest if self.ctx.recipe.compute.dynamic_padding else model.max_seq_length
        estimate = estimate_memory(
            model,
            per_device * texts,
            min(longest, model.max_seq_length),
            self.ctx.device,
            frozen_layers=self.ctx.recipe.compute.freeze_layers,
        )
        self.memory = estimate
        if not estimate.fits():
            raise self.error(
                ("batch_size",),
                f"batch_size {self.config.batch_size} × {texts} texts × up to {longest} tokens needs "
                f"{estimate.describe()}",
                "lower batch_size or compute.max_seq_length, freeze the embeddings, or use a Cached* loss "
                "(e.g. CachedMultipleNegativesRankingLoss) whose memory does not grow with the batch",
            )

    def per_device_batch(self) -> int:
        world = self.ctx.world_size
        if self.config.batch_size % world:
            raise self.error(
                ("batch_size",),
                f"batch_size {self.config.batch_size} does not split over {world} processes",
                f"use a multiple of {world}",
            )
        return self.config.batch_size // world

    # --- training ---

    def total_steps(self) -> int:
        if self.config.max_steps:
            return self.config.max_steps
        per_epoch = len(self.dataset) // self.config.batch_size  # the last short batch is dropped
        return max(1, math.ceil(per_epoch * self.config.epochs))

    def sampler(self):
        import functools

        from trainers.samplers import LengthGroupedBatchSampler, SeededBatchSampler

        choice = self.config.batch_sampler
        if choice == "auto":
            choice = self.default_sampler
            if choice == "length" and not self.ctx.recipe.compute.group_by_length:
                choice = "random"
        if choice == "no_duplicates":
            return "no_duplicates"
        cls = LengthGroupedBatchSampler if choice == "length" else SeededBatchSampler
        return functools.partial(cls, lengths=self.lengths)

    def training_args(self, total: int):
        from sentence_transformers import SentenceTransformerTrainingArguments

        config, ctx = self.config, self.ctx
        every = config.eval_every
        eval_steps = max(1, round(every * total)) if isinstance(every, float) and every <= 1 else int(every)
        precision = ctx.precision
        return SentenceTransformerTrainingArguments(
            output_dir=str(self.dir),
            max_steps=total,
            per_device_train_batch_size=self.per_device_batch(),
            per_device_eval_batch_size=self.per_device_batch(),
            learning_rate=config.lr,
            warmup_steps=round(config.warmup * total),
            weight_decay=config.weight_decay,
            lr_scheduler_type=config.scheduler,
            max_grad_norm=config.max_grad_norm,
            seed=ctx.recipe.seed,
            prompts=ctx.prompt,
            batch_sampler=self.sampler(),
            dataloader_drop_last=True,
            eval_strategy="steps" if self.evaluator is not None else "no",
            eval_steps=eval_steps,
            save_strategy="steps",
            save_steps=config.save_every,
            save_total_limit=ctx.recipe.keep_checkpoints,
            logging_strategy="steps",
            logging_steps=max(1, min(10, total // 20)),
            report_to="none",
            disable_tqdm=True,
            log_level="error",
            use_cpu=ctx.device == "cpu",
            bf16=precision == "bf16",
            fp16=precision == "fp16",
            dataloader_num_workers=ctx.recipe.compute.dataloader_workers,
            ddp_backend="gloo" if ctx.world_size > 1 and ctx.device == "cpu" else None,
        )

    def collator(self, model: SentenceTransformer):
        """None (the Trainer's own: pads each batch to its longest text), or one padding to max length."""
        if self.ctx.recipe.compute.dynamic_padding:
            return None
        import functools

        from sentence_transformers.sentence_transformer.data_collator import SentenceTransformerDataCollator

        static = functools.partial(model.preprocess, processing_kwargs={"text": {"padding": "max_length"}})
        return SentenceTransformerDataCollator(preprocess_fn=static, prompts=self.ctx.prompt)

    def train(self, model: SentenceTransformer) -> StageResult:
        from sentence_transformers import SentenceTransformerTrainer
        from transformers.trainer_callback import PrinterCallback, ProgressCallback

        from trainers.evaluators import TRAINER_METRIC
        from trainers.progress import StageProgress

        started = time.time()
        total = self.total_steps()
        callbacks = list(self.ctx.callbacks)
        if self.ctx.bar is not None:
            label = f"stage {self.index + 1}/{len(self.ctx.recipe.stages)} {self.name}"
            callbacks.append(StageProgress(self.ctx.bar, label, TRAINER_METRIC))
        trainer = SentenceTransformerTrainer(
            model=model,
            args=self.training_args(total),
            train_dataset=self.dataset,
            loss=self.build_loss(model),
            evaluator=self.evaluator,
            callbacks=callbacks,
            data_collator=self.collator(model),
        )
        for noisy in (PrinterCallback, ProgressCallback):
            trainer.remove_callback(noisy)
        checkpoint = (
            last_complete_checkpoint(self.dir, remove_partial=self.ctx.is_main) if self.ctx.resume else None
        )
        if checkpoint:
            info(f"stage {self.name}: resuming from {checkpoint}")
        output = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
        metrics = {"train_loss": round(float(output.training_loss), 6)}
        metrics.update(self.final_dev_metrics(trainer, model))
        result = StageResult(
            name=self.name,
            type=self.type_name,
            loss=self.loss_fn_name,
            metrics=metrics,
            steps=trainer.state.global_step,
            wall_time_s=round(time.time() - started, 1),
            rows=self.rows,
            data=self.data,
        )
        trainer.accelerator.wait_for_everyone()
        self.save_finished(model, result)
        return result

    def final_dev_metrics(self, trainer, model) -> dict[str, float]:
        if self.evaluator is None:
            return {}
        last = [log for log in trainer.state.log_history if "eval_dev_score" in log]
        if last and last[-1].get("step") == trainer.state.global_step:
            found = last[-1]
        else:
            found = {f"eval_{k}": v for k, v in self.evaluator(model).items()}
        return {
            k.removeprefix("eval_"): round(float(v), 6) for k, v in found.items() if k.startswith("eval_dev")
        }


def _label_words(kind: str) -> str:
    return {"none": "no label", "score": "a float score", "class": "a class label"}.get(
        kind, "teacher embeddings"
    )


def last_complete_checkpoint(folder: Path, remove_partial: bool = True) -> Path | None:
    """The newest checkpoint-N whose trainer_state.json (written last) exists; partial ones are removed."""
    if not folder.exists():
        return None
    found = []
    for path in folder.glob("checkpoint-*"):
        if path.name.removeprefix("checkpoint-").isdigit():
            if (path / "trainer_state.json").exists():
                found.append(path)
            elif remove_partial:
                shutil.rmtree(path, ignore_errors=True)  # killed while writing it
    return max(found, key=lambda p: int(p.name.split("-")[1]), default=None)
