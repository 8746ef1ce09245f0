"""`type: mlm` — continual masked-language-model pre-training of the encoder: MLM, TLM and LEM.

Reads tagged corpora (`embedkit corpus build tagged`: text, lang, spans). `masking: random` is plain MLM
(`whole_word` optional); `masking: lem` is linguistic entity masking (trainers.mlm.masking): named entities,
verbs and nouns first, with per-type probabilities (`entity_probs`), one subword per chosen span, the rest of
the `mask_ratio` budget on random words. `pairs: true` is TLM: a tagged corpus built from line-aligned files
(`format: aligned`) pairs its rows by their `pair` id and each pair is one sequence, masked on both sides.

The MLM head (trainers.mlm.head) is tied to the input embeddings and scores masked positions only; it is
checkpointed with the stage and kept as `mlm_head.safetensors` in the stage folder (a later mlm stage starts
from it), while the saved model is the plain sentence-transformers encoder with its pooling and prompts, so
SBERT or distillation stages can follow in the same recipe. The masking counts go to the stage folder and,
summed over the run's mlm stages, to DIR/masking_stats.json.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field

from trainers.data import manifest_summary, sample_rows
from trainers.mlm.collator import DEFAULT_ENTITY_PROBS, MaskedLMCollator
from trainers.mlm.head import HEAD_FILE, MaskedLMLoss, build_head, save_head
from trainers.mlm.pairs import PAIR_COLUMN, pair_rows
from trainers.mlm.stats import STATS_FILE, MaskingStats
from trainers.recipe import StageConfig
from trainers.stages.base import CHECKPOINT_STATE, Stage, StageData, TrainingParts, register_stage

if TYPE_CHECKING:
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

LOSS_NAME = "MaskedLMLoss"
SpanLabel = Literal["ENT", "VERB", "NOUN"]
Probability = Annotated[float, Field(ge=0, le=1)]


class MLMConfig(StageConfig):
    masking: Literal["random", "lem"] = Field(
        default="lem", description="random: MLM; lem: linguistic entity masking (needs tagged spans)"
    )
    pairs: bool = Field(default=False, description="TLM: aligned rows (same `pair` id) as one sequence")
    mask_ratio: float = Field(default=0.15, gt=0, lt=1, description="masked subwords per maskable subword")
    whole_word: bool = Field(default=False, description="random masking: every subword of the words drawn")
    entity_probs: dict[SpanLabel, Probability] = Field(
        default_factory=lambda: dict(DEFAULT_ENTITY_PROBS),
        description="lem: probability that a tagged span of each type is a candidate (ENT, VERB, NOUN)",
    )
    lr: float = Field(default=5e-5, gt=0)
    head_lr: float | None = Field(
        default=None,
        gt=0,
        description="learning rate of the MLM head (default: lr); a new head (a base without one, such as "
        "the default model) needs a higher one to be any use within a short run",
    )


@dataclass(frozen=True)
class MLMParts(TrainingParts):
    head: Any = None  # the MaskedLMHead being trained
    stats: Any = None  # MaskingStats: the counts of every batch drawn so far


@register_stage("mlm")
class MLMStage(Stage):
    Config = MLMConfig
    columns = ("text",)
    label_kind = None
    default_loss = LOSS_NAME
    optional_columns = ()
    probe_field = ("masking",)
    # a checkpoint without the head or the counts (killed between the Trainer's files and ours) is partial
    checkpoint_files = (CHECKPOINT_STATE, STATS_FILE, HEAD_FILE)
    purpose = "reads a tagged corpus (text, lang, spans); build one with `embedkit corpus build tagged`"

    @classmethod
    def check_config(cls, config: MLMConfig) -> Iterable[tuple[tuple, str]]:
        if config.loss not in (None, LOSS_NAME):
            yield ("loss",), f"an mlm stage trains with its own {LOSS_NAME}; drop 'loss'"
        if config.loss_args:
            yield ("loss_args",), f"{LOSS_NAME} takes no arguments"
        if config.dev is not None:
            yield (
                ("dev",),
                "an mlm stage has no dev evaluation; drop 'dev' (a later stage can have one)",
            )
        if config.whole_word and config.masking == "lem":
            yield ("whole_word",), "whole_word is for masking: random; lem masks one subword per word"
        if config.batch_sampler in ("no_duplicates", "length_no_duplicates"):
            yield ("batch_sampler",), "an mlm stage batches at random (random) or by length (auto, length)"

    # --- data ---

    def corpus_columns(self) -> tuple[str, ...]:
        if self.config.pairs:
            return ("text", "lang", "spans", PAIR_COLUMN)
        return ("text", "lang", "spans") if self.config.masking == "lem" else ("text", "lang")

    def load_data(self) -> StageData:
        train, corpora = self.load_train()
        if self.config.pairs:
            rows = len(train)
            train = pair_rows(train, self.ctx.recipe.seed)
            if len(train) == 0:
                raise self.error(
                    ("train",),
                    f"pairs: true, but no two of the {rows} rows share a `pair` id in different languages",
                    "build the tagged corpus from line-aligned files with format: aligned",
                )
        train = sample_rows(train, self.config.max_rows, self.ctx.recipe.seed)
        manifests = tuple(manifest_summary(corpus) for corpus in corpora)
        return StageData(train, rows={"train": len(train), "dev": 0}, manifests=manifests)

    # --- prepare ---

    def loss_dataset(self, train: Dataset, model: SentenceTransformer) -> Dataset:
        return train.select_columns(
            [c for c in ("text", "spans", "text_pair", "spans_pair") if c in train.column_names]
        )

    def length_texts(self, dataset: Dataset) -> list[list[str]]:
        prompt = self.ctx.prompt or ""
        columns = [[prompt + text for text in dataset["text"]]]
        if "text_pair" in dataset.column_names:
            columns.append(list(dataset["text_pair"]))
        return columns

    def row_lengths(self, tokens):
        """TLM encodes a row's two texts as one sequence: its length is their sum."""
        return tokens.sum(axis=1)

    def build_collator(self, model: SentenceTransformer, prepared, probe: bool = False) -> MaskedLMCollator:
        return self.masking_collator(model, self.ctx.prompt or "", self.config.pairs)

    def masking_collator(self, model: SentenceTransformer, prompt: str, pairs: bool) -> MaskedLMCollator:
        """The stage's masking (`masking`, `mask_ratio`, ...) over texts that start with `prompt`."""
        config = self.config
        try:
            return MaskedLMCollator(
                model.tokenizer,
                masking=config.masking,
                ratio=config.mask_ratio,
                entity_probs=config.entity_probs,
                whole_word=config.whole_word,
                max_length=model.max_seq_length or 512,
                prompt=prompt,
                pairs=pairs,
                seed=self.ctx.recipe.seed,
                pad_to_max=not self.ctx.recipe.compute.dynamic_padding,
            )
        except ValueError as exc:
            raise self.error(("masking",), f"the model cannot be trained with masking: {exc}") from None

    def build_loss(self, model: SentenceTransformer, prepared) -> MaskedLMLoss:
        """The probe's loss: a fresh head (training starts from `head_source`, see training_parts)."""
        head, _ = build_head(model)
        return MaskedLMLoss(model, head)

    # --- training ---

    @contextlib.contextmanager
    def training_parts(self, model, prepared, checkpoint):
        from trainers.mlm.trainer import MaskedLMCheckpoints

        try:
            head, origin = build_head(model, self.head_source())
        except ValueError as exc:
            raise self.error(("type",), str(exc)) from None
        logger.info(f"stage {self.name}: MLM head {'new' if origin == 'new' else 'from ' + origin}")
        collator, stats = self.build_collator(model, prepared), MaskingStats()
        checkpoints = MaskedLMCheckpoints(head, stats, collator, checkpoint)
        yield MLMParts(MaskedLMLoss(model, head), collator, (checkpoints,), head=head, stats=stats)

    def make_trainer(self, model, prepared, parts: MLMParts, callbacks, reference):
        from trainers.mlm.trainer import MaskedLMTrainer

        arguments = self.trainer_arguments(model, prepared, parts, callbacks, reference)
        return MaskedLMTrainer(stats=parts.stats, **arguments)

    def training_args(self, prepared, total: int):
        args = super().training_args(prepared, total)
        if self.config.head_lr is not None:
            args.learning_rate_mapping = {r"^head\.": self.config.head_lr}  # names inside MaskedLMLoss
        return args

    def head_source(self) -> Path | None:
        """Where the head starts from: the nearest earlier stage of this run that saved one, else the base."""
        from embedkit.models import resolve_model

        for folder in sorted((self.ctx.out / "checkpoints").glob("[0-9][0-9]-*"), reverse=True):
            if folder.name < self.dir.name and (folder / HEAD_FILE).is_file():
                return folder
        try:
            return resolve_model(self.ctx.recipe.base_model)
        except Exception:  # a Hub id that is not cached: a new head
            return None

    def final_metrics(self, trainer, model, prepared, parts: MLMParts) -> dict[str, float]:
        counts = parts.stats.to_dict()
        return {
            key: counts[key]
            for key in ("entity_mask_in_span_ratio", "budget_ratio")
            if counts[key] is not None
        }

    def after_training(self, parts: MLMParts) -> None:
        save_head(parts.head, self.dir)
        parts.stats.write(
            self.dir / STATS_FILE, stage=self.name, masking=self.config.masking, pairs=self.config.pairs
        )
        write_run_stats(self.ctx.out)


def write_run_stats(out: Path) -> Path:
    """DIR/masking_stats.json: the counts of every mlm stage of the run so far, summed, and per stage."""
    total, stages = MaskingStats(), {}
    for path in sorted((out / "checkpoints").glob(f"*/{STATS_FILE}")):
        data = json.loads(path.read_text(encoding="utf-8"))
        stages[data.get("stage", path.parent.name)] = data
        total.merge(data)
    total.write(out / STATS_FILE, stages=stages)
    return out / STATS_FILE
