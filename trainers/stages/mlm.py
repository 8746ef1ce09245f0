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

import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field

from embedkit.console import info
from trainers.data import manifest_summary, sample_rows
from trainers.mlm.collator import DEFAULT_ENTITY_PROBS, MaskedLMCollator
from trainers.mlm.head import HEAD_FILE, MaskedLMLoss, build_head, save_head
from trainers.mlm.pairs import PAIR_COLUMN, pair_rows
from trainers.mlm.stats import STATS_FILE, MaskingStats
from trainers.recipe import StageConfig
from trainers.stages.base import StageResult, TrainerStage, last_complete_checkpoint, register_stage

if TYPE_CHECKING:
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer

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


@register_stage("mlm")
class MLMStage(TrainerStage):
    Config = MLMConfig
    kind = "tagged"
    columns = ("text",)
    label_kind = None
    default_loss = LOSS_NAME
    optional_columns = ()
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
        if config.batch_sampler == "no_duplicates":
            yield ("batch_sampler",), "an mlm stage batches at random (random) or by length (auto, length)"

    # --- data ---

    def corpus_columns(self) -> tuple[str, ...]:
        if self.config.pairs:
            return ("text", "lang", "spans", PAIR_COLUMN)
        return ("text", "lang", "spans") if self.config.masking == "lem" else ("text", "lang")

    def load_data(self) -> None:
        train, corpora = self.load_train()
        self.data = [manifest_summary(corpus) for corpus in corpora]
        if self.config.pairs:
            rows = len(train)
            train = pair_rows(train, self.ctx.recipe.seed)
            if len(train) == 0:
                raise self.error(
                    ("train",),
                    f"pairs: true, but no two of the {rows} rows share a `pair` id in different languages",
                    "build the tagged corpus from line-aligned files with format: aligned",
                )
        self.train_rows = sample_rows(train, self.config.max_rows, self.ctx.recipe.seed)
        self.dev_rows = None
        self.rows = {"train": len(self.train_rows), "dev": 0}

    def prepare(self, model: SentenceTransformer) -> None:
        keep = [c for c in ("text", "spans", "text_pair", "spans_pair") if c in self.train_rows.column_names]
        self.dataset = self.train_rows.select_columns(keep)
        self.train_rows = None
        self.evaluator = None
        self.loss_fn_name = LOSS_NAME
        tokens = self.token_lengths(model, self.dataset)
        self.lengths, self.longest = tokens.sum(axis=1), int(tokens.max(initial=1))
        try:
            collator = self.collator(model)
        except ValueError as exc:
            raise self.error(("masking",), f"the model cannot be trained with masking: {exc}") from None
        self.probe(model, collator)
        self.check_memory(model)

    def token_lengths(self, model: SentenceTransformer, dataset: Dataset):
        import numpy as np

        limit = model.max_seq_length or 512
        prompt = self.ctx.prompt or ""
        columns = [[prompt + text for text in dataset["text"]]]
        if "text_pair" in dataset.column_names:
            columns.append(list(dataset["text_pair"]))
        counts = [
            [len(ids) for ids in model.tokenizer(texts, add_special_tokens=True)["input_ids"]]
            for texts in columns
        ]
        return np.minimum(np.stack(counts, axis=1), limit)

    def collator(self, model: SentenceTransformer) -> MaskedLMCollator:
        config = self.config
        return MaskedLMCollator(
            model.tokenizer,
            masking=config.masking,
            ratio=config.mask_ratio,
            entity_probs=config.entity_probs,
            whole_word=config.whole_word,
            max_length=model.max_seq_length or 512,
            prompt=self.ctx.prompt or "",
            pairs=config.pairs,
            seed=self.ctx.recipe.seed,
            pad_to_max=not self.ctx.recipe.compute.dynamic_padding,
        )

    def probe(self, model: SentenceTransformer, collator: MaskedLMCollator) -> None:
        """The loss on the first rows with a fresh head, before any training."""
        import torch

        batch = collator([self.dataset[i] for i in range(min(2, len(self.dataset)))])
        collator.calls = 0
        head, _ = build_head(model)
        device = next(model.parameters()).device
        features = {k.removeprefix("text_"): v.to(device) for k, v in batch.items() if k.startswith("text_")}
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            value = MaskedLMLoss(model, head)([features], batch["label"].to(device))
        if not torch.isfinite(value):
            raise self.error(("masking",), f"{LOSS_NAME} is {value.item()} on the first rows")

    # --- training ---

    def training_args(self, total: int):
        args = super().training_args(total)
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

    def train(self, model: SentenceTransformer) -> StageResult:
        from transformers.trainer_callback import PrinterCallback, ProgressCallback

        from trainers.evaluators import TRAINER_METRIC
        from trainers.mlm.trainer import MaskedLMTrainer
        from trainers.progress import StageProgress

        started = time.time()
        total = self.total_steps()
        try:
            self.head, origin = build_head(model, self.head_source())
        except ValueError as exc:
            raise self.error(("type",), str(exc)) from None
        info(f"stage {self.name}: MLM head {'new' if origin == 'new' else 'from ' + origin}")
        callbacks = list(self.ctx.callbacks)
        if self.ctx.bar is not None:
            label = f"stage {self.index + 1}/{len(self.ctx.recipe.stages)} {self.name}"
            callbacks.append(StageProgress(self.ctx.bar, label, TRAINER_METRIC))
        collator = self.collator(model)
        stats = MaskingStats()
        trainer = MaskedLMTrainer(
            model=model,
            args=self.training_args(total),
            train_dataset=self.dataset,
            loss=MaskedLMLoss(model, self.head),
            callbacks=callbacks,
            data_collator=collator,
            head=self.head,
            stats=stats,
        )
        for noisy in (PrinterCallback, ProgressCallback):
            trainer.remove_callback(noisy)
        checkpoint = (
            last_complete_checkpoint(self.dir, remove_partial=self.ctx.is_main) if self.ctx.resume else None
        )
        if checkpoint:
            info(f"stage {self.name}: resuming from {checkpoint}")
            state = json.loads((checkpoint / "trainer_state.json").read_text(encoding="utf-8"))
            collator.calls = int(state.get("global_step", 0))  # the masks an uninterrupted run would draw
        output = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
        counts = stats.to_dict()
        metrics = {"train_loss": round(float(output.training_loss), 6)}
        for key in ("entity_mask_in_span_ratio", "budget_ratio"):
            if counts[key] is not None:
                metrics[key] = counts[key]
        result = StageResult(
            name=self.name,
            type=self.type_name,
            loss=LOSS_NAME,
            metrics=metrics,
            steps=trainer.state.global_step,
            wall_time_s=round(time.time() - started, 1),
            rows=self.rows,
            data=self.data,
        )
        trainer.accelerator.wait_for_everyone()
        if self.ctx.is_main:
            save_head(self.head, self.dir)
            stats.write(
                self.dir / STATS_FILE, stage=self.name, masking=self.config.masking, pairs=self.config.pairs
            )
            write_run_stats(self.ctx.out)
        self.save_finished(model, result)
        return result


def write_run_stats(out: Path) -> Path:
    """DIR/masking_stats.json: the counts of every mlm stage of the run so far, summed, and per stage."""
    total, stages = MaskingStats(), {}
    for path in sorted((out / "checkpoints").glob(f"*/{STATS_FILE}")):
        data = json.loads(path.read_text(encoding="utf-8"))
        stages[data.get("stage", path.parent.name)] = data
        total.merge(data)
    total.write(out / STATS_FILE, stages=stages)
    return out / STATS_FILE
