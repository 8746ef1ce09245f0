"""The stage lifecycle, the same for every stage type, read top to bottom:

    stage = STAGES[config.type](config, index, ctx)
    data = stage.load_data()                  # StageData: rows read and checked; no model loaded yet
    prepared = stage.prepare(model, data)     # PreparedStage: loss rows, dev evaluator, token lengths;
                                              # the loss is probed and the memory checked (preflight)
    result = stage.train(model, prepared)     # the one training loop, for every stage type

`trainers.run` loads and prepares every stage before any stage trains, so a bad stage 3 stops the run
before stage 1 has taken a step. A stage type is one class registered by name:

    @register_stage("sts")
    class STSStage(Stage):
        columns = ("sentence1", "sentence2")  # corpus columns fed to the loss, in order
        label = "score"                   # corpus column used as the loss label (or None)
        label_kind = "score"
        default_loss = "CoSENTLoss"

plus its import in trainers/stages/__init__.py. Recipe keys of its own go in a `Config` subclass of
StageConfig. A type that needs more changes small steps, never the loop: `loss_dataset`, `dev_evaluator`,
`length_texts`, `build_loss`, `build_collator`, `batch_sampler`, `training_args`, `training_parts` (what one
training needs: loss, collator, callbacks), `make_trainer`, `final_metrics`, `after_training`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import shutil
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from embedkit.atomic import atomic_dir, write_text_atomic
from embedkit.errors import UserError
from trainers import losses
from trainers.data import (
    KIND_COLUMNS,
    concat,
    corpus_kind,
    holdout_split,
    load_ref,
    manifest_summary,
    require_columns,
    sample_per_language,
    sample_rows,
)
from trainers.recipe import Interpolate, StageConfig

if TYPE_CHECKING:
    import numpy as np
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer
    from torch import nn
    from transformers import TrainerCallback

    from trainers.run import RunContext

logger = logging.getLogger(__name__)

STAGES: dict[str, type[Stage]] = {}
STAGE_FILE = "stage.json"
FINAL_DIR = "final"
CHECKPOINT_STATE = "trainer_state.json"  # written last into a Trainer checkpoint
RESUME_SCRATCH = ".resume"  # DIR/.resume/NN-<stage>-rankR: a lean checkpoint made whole, while resuming


def register_stage(name: str):
    """Class decorator: make a stage type available to recipes as `type: <name>`."""

    def decorate(cls: type[Stage]) -> type[Stage]:
        cls.type_name = name
        STAGES[name] = cls
        return cls

    return decorate


@dataclass(frozen=True)
class StageData:
    """What `load_data` read: the training rows, the dev rows, and what run.json records about them."""

    train: Dataset
    dev: Dataset | None = None
    dev_kind: str | None = None  # the dev corpus kind (sts, nli, parallel, lexicon)
    rows: dict[str, int] = field(default_factory=dict)
    manifests: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class PreparedStage:
    """What `prepare` made of the data against the base model: everything the training loop reads."""

    dataset: Dataset  # the columns the loss reads, in order, label last
    evaluator: Any | None  # the dev evaluator (a sentence-transformers evaluator), or None
    loss_name: str
    lengths: np.ndarray  # a length per row, the length-grouped batch sampler's key (see row_lengths)
    longest: int  # the longest text in tokens
    rows: dict[str, int]
    manifests: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class TrainingParts:
    """What one training of a stage needs besides the prepared data (built when it starts)."""

    loss: nn.Module
    collator: Any | None = None  # None: the Trainer's own (pads each batch to its longest text)
    callbacks: tuple[TrainerCallback, ...] = ()


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
    """One step of a recipe, trained with SentenceTransformerTrainer on `columns` (+ `label`) of its data."""

    type_name: ClassVar[str]
    Config: ClassVar[type[StageConfig]] = StageConfig
    columns: ClassVar[tuple[str, ...]]
    label: ClassVar[str | None] = None
    label_kind: ClassVar[losses.Label] = "none"
    default_loss: ClassVar[str | None] = None
    default_sampler: ClassVar[str] = "length"
    # kept when every corpus has them: dev scores per language
    optional_columns: ClassVar[tuple[str, ...]] = ("lang",)
    purpose: ClassVar[str] = ""
    probe_rows: ClassVar[int] = 2  # rows of the loss probe before training
    probe_field: ClassVar[tuple[str, ...]] = ("loss",)  # the recipe key blamed for a non-finite probe
    length_special_tokens: ClassVar[bool] = True  # texts are encoded with special tokens
    fallback_max_length: ClassVar[int] = 512  # for a model without max_seq_length
    checkpoint_files: ClassVar[tuple[str, ...]] = (CHECKPOINT_STATE,)  # a complete checkpoint has them

    def __init__(self, config: StageConfig, index: int, ctx: RunContext, place: tuple = ()) -> None:
        self.config, self.index, self.ctx = config, index, ctx
        self.place = place or ("stages", index)  # where the config sits in the recipe, for errors
        self.name = config.name or config.type
        self.dir = ctx.out / "checkpoints" / f"{index + 1:02d}-{self.name}"

    def error(self, field_path: tuple, problem: str, fix: str | None = None) -> Exception:
        return self.ctx.recipe.error((*self.place, *field_path), problem, fix)

    # --- recipe-time checks ---

    @classmethod
    def loss_name(cls, config: StageConfig) -> str | None:
        return config.loss or cls.default_loss

    @classmethod
    def checked_loss(cls, config: StageConfig) -> str | None:
        """The sentence-transformers loss that check_config checks against the stage's columns."""
        return cls.loss_name(config)

    @classmethod
    def loss_columns(cls, config: StageConfig) -> tuple[str, ...]:
        return cls.columns

    @classmethod
    def check_config(cls, config: StageConfig) -> Iterable[tuple[tuple, str]]:
        """Problems found from the recipe alone, as (field path inside the stage, message)."""
        from trainers.evaluators import EVALUATORS

        if config.dev is not None and config.dev.evaluator not in (None, *EVALUATORS):
            known = ", ".join(EVALUATORS)
            yield ("dev", "evaluator"), f"unknown dev evaluator {config.dev.evaluator!r} (known: {known})"
        name = cls.checked_loss(config)
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

    # --- 1. data (before the model is loaded) ---

    def corpus_columns(self) -> tuple[str, ...]:
        """Corpus columns the stage needs."""
        return (*self.loss_columns(self.config), *((self.label,) if self.label else ()))

    def load_data(self) -> StageData:
        """Load and check the stage's corpora; raise a placed error."""
        train, corpora = self.load_train()
        manifests = [manifest_summary(corpus) for corpus in corpora]
        train, dev, dev_kind, dev_manifests, dev_rows = self.load_dev(train)
        train = sample_rows(train, self.config.max_rows, self.ctx.recipe.seed)
        rows = {"train": len(train), "dev": len(dev) if dev is not None else 0, **dev_rows}
        return StageData(train, dev, dev_kind, rows, tuple(manifests + dev_manifests))

    def load_train(self) -> tuple[Dataset, list]:
        corpora = []
        for j, ref in enumerate(self.config.train):
            corpus = load_ref(ref, (*self.place, "train", j), self.ctx.recipe)
            require_columns(
                corpus,
                self.corpus_columns(),
                (*self.place, "train", j),
                self.ctx.recipe,
                f"a {self.type_name} stage {self.purpose}",
            )
            corpora.append(corpus)
        optional = [c for c in self.optional_columns if all(c in k.dataset.column_names for k in corpora)]
        return concat(corpora, (*self.corpus_columns(), *optional)), corpora

    def load_dev(self, train: Dataset) -> tuple[Dataset, Dataset | None, str | None, list[dict], dict]:
        """(train, dev rows, dev corpus kind, dev manifests, extra row counts); a holdout leaves train."""
        dev_spec = self.config.dev
        if dev_spec is None:
            return train, None, None, [], {}
        manifests: list[dict] = []
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
            dev, kind, manifests = self.load_dev_corpora(dev_spec)
        if dev_spec.max_rows:
            from trainers.evaluators import LANG_COLUMN

            dev = sample_per_language(dev, dev_spec.max_rows, self.ctx.recipe.seed, LANG_COLUMN.get(kind))
        return train, dev, kind, manifests, {}

    def load_dev_corpora(self, dev_spec) -> tuple[Dataset, str, list[dict]]:
        from trainers.evaluators import DEFAULT_FOR_KIND, EVALUATORS

        corpora, manifests = [], []
        for j, ref in enumerate(dev_spec.data):
            loc = (*self.place, "dev", "data", j)
            corpus = load_ref(ref, loc, self.ctx.recipe)
            manifests.append(manifest_summary(corpus))
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
        return concat(corpora, tuple(dict.fromkeys(columns))), kind, manifests

    # --- 2. prepare (against the base model, before any stage trains) ---

    def prepare(self, model: SentenceTransformer, data: StageData) -> PreparedStage:
        """The stage's prepared parts; the loss is probed on real rows and the memory checked."""
        return self.checked(
            model, data, self.loss_dataset(data.train, model), self.dev_evaluator(model, data)
        )

    def checked(
        self,
        model: SentenceTransformer,
        data: StageData,
        dataset: Dataset,
        evaluator,
        kind=PreparedStage,
        **extra,
    ) -> PreparedStage:
        """`kind` (PreparedStage or a stage type's subclass, with its `extra` fields) after the preflight
        checks: token lengths, the loss on the first rows, memory."""
        tokens = token_lengths(
            model.tokenizer,
            self.length_texts(dataset),
            model.max_seq_length or self.fallback_max_length,
            self.length_special_tokens,
        )
        prepared = kind(
            dataset=dataset,
            evaluator=evaluator,
            loss_name=self.loss_name(self.config),
            lengths=self.row_lengths(tokens),
            longest=int(tokens.max(initial=1)),
            rows=data.rows,
            manifests=data.manifests,
            **extra,
        )
        self.probe(model, prepared)
        self.check_memory(model, prepared)
        return prepared

    def loss_dataset(self, train: Dataset, model: SentenceTransformer) -> Dataset:
        """The columns the loss reads, in order, label last. Distillation adds teacher labels here."""
        keep = [*self.loss_columns(self.config), *((self.label,) if self.label else ())]
        return train.select_columns(keep)

    def dev_evaluator(self, model: SentenceTransformer, data: StageData):
        """The stage's dev evaluator on `data.dev` (None without dev data): the one training reports as
        `eval_dev_score` and `embedkit tune` scores trials and the base model with."""
        from trainers.evaluators import MeanEvaluator, build_dev_evaluators

        if data.dev is None:
            return None
        return MeanEvaluator(build_dev_evaluators(data.dev, data.dev_kind, self.config.dev.evaluator))

    def length_texts(self, dataset: Dataset) -> list[list[str]]:
        """The texts the loss reads, as the model sees them (prompt included), one list per column."""
        prompt = self.ctx.prompt or ""
        return [[prompt + text for text in dataset[column]] for column in self.loss_columns(self.config)]

    def row_lengths(self, tokens: np.ndarray) -> np.ndarray:
        """A row's length for length grouping, from its tokens per column. Each column is padded on its
        own, so a batch costs its longest text per column: rows grouped by their longest text pad least
        (translated STSb pairs: 1.14 padded tokens per real token, against 1.28 grouped by the pair's
        total and 2.5 in random batches)."""
        return tokens.max(axis=1)

    def probe(self, model: SentenceTransformer, prepared: PreparedStage) -> None:
        """The loss on the first rows, before any training: columns, labels or loss_args that do not fit
        fail here, naming the recipe key."""
        rows = [prepared.dataset[i] for i in range(min(self.probe_rows, len(prepared.dataset)))]
        collator = self.build_collator(model, prepared, probe=True)
        try:
            value = losses.probe_loss(model, self.build_loss(model, prepared), collator(rows))
        except Exception as exc:
            raise self.probe_error(prepared, exc) from None
        if not math.isfinite(value):
            raise self.error(self.probe_field, f"{prepared.loss_name} is {value} on the first rows")

    def probe_error(self, prepared: PreparedStage, exc: Exception) -> Exception:
        if isinstance(exc, UserError):
            return self.error(("loss_args",), str(exc))
        return self.error(
            ("loss",),
            f"{prepared.loss_name} does not fit the data columns {prepared.dataset.column_names} "
            f"({type(exc).__name__}: {exc})",
        )

    def check_memory(self, model: SentenceTransformer, prepared: PreparedStage) -> None:
        from trainers.compute import estimate_memory

        if not self.ctx.recipe.compute.memory_check:
            return
        per_device = self.per_device_batch()
        texts = len(self.loss_columns(self.config))
        longest = prepared.longest if self.ctx.recipe.compute.dynamic_padding else model.max_seq_length
        estimate = estimate_memory(
            model,
            per_device * texts,
            min(longest, model.max_seq_length),
            self.ctx.device,
            frozen_layers=self.ctx.recipe.compute.freeze_layers,
        )
        if not estimate.fits():
            raise self.error(
                ("batch_size",),
                f"batch_size {self.config.batch_size} × {texts} texts × up to {longest} tokens needs "
                f"{estimate.describe()}",
                "lower batch_size or compute.max_seq_length, freeze the embeddings, or use a Cached* loss "
                "(e.g. CachedMultipleNegativesRankingLoss) whose memory does not grow with the batch",
            )

    def no_batch_error(self, prepared: PreparedStage) -> Exception:
        """The sampler makes no full batch (a last short one is dropped): the Trainer would run 0 steps."""
        sampler = self.sampler_choice()
        repeats = " (no text twice in a batch)" if sampler.endswith("no_duplicates") else ""
        return self.error(
            ("batch_size",),
            f"the {len(prepared.dataset)} training rows make no full batch of {self.config.batch_size} "
            f"with batch_sampler {sampler}{repeats}, so the stage would train 0 steps",
            "lower batch_size or add training rows",
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

    # --- 3. train: one loop for every stage type ---

    def train(self, model: SentenceTransformer, prepared: PreparedStage) -> StageResult:
        from trainers.checkpoints import FrozenReference
        from trainers.evaluators import TRAINER_METRIC
        from trainers.progress import StageProgress
        from trainers.weight_averaging import trainable_copy

        started = time.time()
        checkpoint = self.resume_checkpoint()
        label = f"stage {self.index + 1}/{len(self.ctx.recipe.stages)} {self.name}"
        progress = StageProgress(self.ctx.progress, label, TRAINER_METRIC)
        with self.training_parts(model, prepared, checkpoint) as parts, contextlib.closing(progress):
            # what the stage starts from, taken before a checkpoint's tensors are applied
            reference = FrozenReference.of(model, self.start_source())
            interpolate = self.config.interpolate
            start = trainable_copy(model) if interpolate and interpolate.toward == "start" else None
            callbacks = [*self.ctx.callbacks, *parts.callbacks, progress]
            trainer = self.make_trainer(model, prepared, parts, callbacks, reference)
            if len(trainer.get_train_dataloader()) == 0:
                raise self.no_batch_error(prepared)
            _quiet_trainer(trainer)
            with self.resume_folder(checkpoint, model) as resume_from, self.cpu_modes(model):
                output = trainer.train(resume_from_checkpoint=resume_from)
            if interpolate:
                self.interpolate(model, interpolate, start)
            metrics = {"train_loss": round(float(output.training_loss), 6)}
            metrics.update(self.final_metrics(trainer, model, prepared, parts))
            result = StageResult(
                name=self.name,
                type=self.type_name,
                loss=prepared.loss_name,
                metrics=metrics,
                steps=trainer.state.global_step,
                wall_time_s=round(time.time() - started, 1),
                rows=prepared.rows,
                data=list(prepared.manifests),
            )
            trainer.accelerator.wait_for_everyone()
            if self.ctx.is_main:
                self.after_training(parts)
        self.save_finished(model, result, reference)
        return result

    def interpolate(self, model: SentenceTransformer, how: Interpolate, start: dict | None) -> None:
        """`interpolate:` after the last step: mix `how.keep` of the start (copied before training) or of
        the run's base model into the trained weights."""
        from embedkit.models import load_model, resolve_model
        from trainers.checkpoints import trainable_names
        from trainers.weight_averaging import keep_share

        if how.toward == "base":
            trainable = trainable_names(model)
            base = load_model(str(resolve_model(self.ctx.recipe.base_model)), device="cpu")
            start = {name: p.detach() for name, p in base.named_parameters() if name in trainable}
        keep_share(model, start, how.keep)
        logger.info(f"stage {self.name}: kept {how.keep:g} of the {how.toward} model's weights")

    def resume_checkpoint(self) -> Path | None:
        """With --resume, the newest complete checkpoint of this stage (partial ones are removed)."""
        if not self.ctx.resume:
            return None
        return last_complete_checkpoint(self.dir, self.ctx.is_main, self.checkpoint_files)

    def start_source(self) -> str:
        """Where the stage's starting model comes from: the base model, or the previous stage's final."""
        from embedkit.models import resolve_model

        if self.index == 0:
            return str(resolve_model(self.ctx.recipe.base_model))
        previous = self.ctx.recipe.stages[self.index - 1]
        return str(self.dir.parent / f"{self.index:02d}-{previous.name or previous.type}" / FINAL_DIR)

    @contextlib.contextmanager
    def resume_folder(self, checkpoint: Path | None, model: SentenceTransformer) -> Iterator[str | None]:
        """The folder the Trainer resumes from (None: a fresh start): a lean checkpoint made whole, outside
        the checkpoints folder, removed after training."""
        from trainers.checkpoints import resume_folder

        if checkpoint is None:
            yield None
            return
        logger.info(f"stage {self.name}: resuming from {checkpoint}")
        scratch = self.ctx.out / RESUME_SCRATCH / f"{self.dir.name}-rank{self.ctx.rank}"
        with resume_folder(checkpoint, model, scratch) as folder:
            yield str(folder)

    @contextlib.contextmanager
    def cpu_modes(self, model: SentenceTransformer) -> Iterator[None]:
        """On CPU, for the training loop only: compute.fast_dropout (trainers.fast_dropout) and
        compute.reuse_freed_memory (trainers.memory_reuse)."""
        compute = self.ctx.recipe.compute
        with contextlib.ExitStack() as stack:
            if self.ctx.device == "cpu" and compute.fast_dropout:
                from trainers.fast_dropout import fast_cpu_dropout

                stack.enter_context(fast_cpu_dropout(model))
            if self.ctx.device == "cpu" and compute.reuse_freed_memory:
                from trainers.memory_reuse import reuse_freed_memory

                stack.enter_context(reuse_freed_memory())
            yield

    @contextlib.contextmanager
    def training_parts(
        self, model: SentenceTransformer, prepared: PreparedStage, checkpoint: Path | None
    ) -> Iterator[TrainingParts]:
        """The loss, collator and callbacks of one training (`checkpoint`: where it resumes from)."""
        yield TrainingParts(self.build_loss(model, prepared), self.build_collator(model, prepared))

    def build_loss(self, model: SentenceTransformer, prepared: PreparedStage) -> nn.Module:
        """The loss module the Trainer trains with (a stage type with its own loss classes overrides this)."""
        return losses.build_loss(prepared.loss_name, model, self.config.loss_args)

    def build_collator(self, model: SentenceTransformer, prepared: PreparedStage, probe: bool = False):
        """The batch collator. Training: None (the Trainer's own: pads each batch to its longest text), or
        one padding to max length. The probe always pads to the longest."""
        from sentence_transformers.sentence_transformer.data_collator import SentenceTransformerDataCollator

        if probe:
            return SentenceTransformerDataCollator(preprocess_fn=model.preprocess, prompts=self.ctx.prompt)
        if self.ctx.recipe.compute.dynamic_padding:
            return None
        import functools

        static = functools.partial(model.preprocess, processing_kwargs={"text": {"padding": "max_length"}})
        return SentenceTransformerDataCollator(preprocess_fn=static, prompts=self.ctx.prompt)

    def make_trainer(
        self, model: SentenceTransformer, prepared: PreparedStage, parts: TrainingParts, callbacks, reference
    ):
        from trainers.checkpoints import StageTrainer

        return StageTrainer(**self.trainer_arguments(model, prepared, parts, callbacks, reference))

    def trainer_arguments(
        self, model, prepared: PreparedStage, parts: TrainingParts, callbacks, reference
    ) -> dict:
        """The Trainer's keyword arguments; `reference`: the starting model lean checkpoints refer to."""
        return {
            "reference": reference,
            "keep": self.ctx.recipe.keep_checkpoints,
            "required": self.checkpoint_files,
            "model": model,
            "args": self.training_args(prepared, self.total_steps(prepared)),
            "train_dataset": prepared.dataset,
            "loss": parts.loss,
            "evaluator": prepared.evaluator,
            "callbacks": callbacks,
            "data_collator": parts.collator,
        }

    def total_steps(self, prepared: PreparedStage) -> int:
        if self.config.max_steps:
            return self.config.max_steps
        per_epoch = len(prepared.dataset) // self.config.batch_size  # the last short batch is dropped
        return max(1, math.ceil(per_epoch * self.config.epochs))

    def sampler_choice(self) -> str:
        """The recipe's `batch_sampler`, with `auto` resolved for this stage type."""
        choice = self.config.batch_sampler
        if choice == "auto":
            choice = self.default_sampler
            if choice == "length" and not self.ctx.recipe.compute.group_by_length:
                choice = "random"
        return choice

    def batch_sampler(self, prepared: PreparedStage):
        import functools

        from trainers.samplers import SAMPLERS

        choice = self.sampler_choice()
        if choice == "no_duplicates":
            return "no_duplicates"
        return functools.partial(SAMPLERS[choice], lengths=prepared.lengths)

    def training_args(self, prepared: PreparedStage, total: int):
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
            batch_sampler=self.batch_sampler(prepared),
            dataloader_drop_last=True,
            eval_strategy="steps" if prepared.evaluator is not None else "no",
            eval_steps=eval_steps,
            save_strategy="steps",
            save_steps=config.save_every,
            save_total_limit=None,  # StageTrainer.save_model keeps recipe.keep_checkpoints
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

    def final_metrics(
        self, trainer, model, prepared: PreparedStage, parts: TrainingParts
    ) -> dict[str, float]:
        """The dev metrics of the stage's final weights (from the last evaluation when it ran at the last
        step and `interpolate` did not change the weights after it)."""
        if prepared.evaluator is None:
            return {}
        last = [log for log in trainer.state.log_history if "eval_dev_score" in log]
        if last and last[-1].get("step") == trainer.state.global_step and not self.config.interpolate:
            found = last[-1]
        else:
            found = {f"eval_{k}": v for k, v in prepared.evaluator(model).items()}
        return {
            k.removeprefix("eval_"): round(float(v), 6) for k, v in found.items() if k.startswith("eval_dev")
        }

    def after_training(self, parts: TrainingParts) -> None:
        """Main process, after the last step: write what the stage keeps beside its final model."""

    # --- finished stages, so --resume can skip them ---

    def finished(self) -> StageResult | None:
        path = self.dir / STAGE_FILE
        if not path.exists() or not (self.dir / FINAL_DIR).exists():
            return None
        return StageResult(**json.loads(path.read_text(encoding="utf-8")))

    def load_finished(self, model: SentenceTransformer) -> None:
        """Apply the finished stage's final tensors onto `model`, the stage's starting model."""
        from trainers.checkpoints import load_lean

        load_lean(model, self.dir / FINAL_DIR)

    def save_finished(self, model: SentenceTransformer, result: StageResult, reference) -> None:
        """final/ (lean: the tensors the stage changed, see trainers.checkpoints) and stage.json; then the
        last step's checkpoint goes. It holds the same tensors: its file is moved into final/
        rather than written again, so the folder never holds the tensors twice."""
        from trainers.checkpoints import CHECKPOINT_PREFIX, save_lean

        if not self.ctx.is_main:
            return
        last = self.dir / f"{CHECKPOINT_PREFIX}{result.steps}"
        with atomic_dir(self.dir / FINAL_DIR, replace=True) as tmp:
            save_lean(model, tmp, reference, take_from=last, marker=CHECKPOINT_STATE)
        write_text_atomic(self.dir / STAGE_FILE, json.dumps(result.__dict__, indent=2))
        shutil.rmtree(last, ignore_errors=True)


def token_lengths(tokenizer, columns: list[list[str]], limit: int, special_tokens: bool = True) -> np.ndarray:
    """Tokens of every text (capped at `limit`): rows x columns."""
    import numpy as np

    counts = [
        [len(ids) for ids in tokenizer(texts, add_special_tokens=special_tokens)["input_ids"]]
        for texts in columns
    ]
    return np.minimum(np.stack([np.array(c) for c in counts], axis=1), limit)


def _quiet_trainer(trainer) -> None:
    """Drop the Trainer's own printing and tqdm callbacks: progress goes through StageProgress."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    for noisy in (PrinterCallback, ProgressCallback):
        trainer.remove_callback(noisy)


def _label_words(kind: str) -> str:
    return {"none": "no label", "score": "a float score", "class": "a class label"}.get(
        kind, "teacher embeddings"
    )


def last_complete_checkpoint(
    folder: Path, remove_partial: bool = True, required: tuple[str, ...] = (CHECKPOINT_STATE,)
) -> Path | None:
    """The newest checkpoint-N that holds every `required` file (trainer_state.json is written last by the
    Trainer); partial ones (killed while writing) are removed."""
    if not folder.exists():
        return None
    found = []
    for path in folder.glob("checkpoint-*"):
        if path.name.removeprefix("checkpoint-").isdigit():
            if all((path / name).exists() for name in required):
                found.append(path)
            elif remove_partial:
                shutil.rmtree(path, ignore_errors=True)
    return max(found, key=lambda p: int(p.name.split("-")[1]), default=None)
