"""`type: joint` — translation ranking and masked-LM in every optimisation step (LaBSE / DAP style, with LEM).

Masked-LM training alone pulls a contrastive sentence encoder away from its sentence space (the `mlm` stage
lowers FLORES, STS and BLI on the default model, docs/lem.md). Here each step's loss is

    ranking(text, text_pair) + w(t) · masked_lm(masked texts) + a · anchor(text, text_pair)

on one batch of aligned pairs: the ranking loss (MultipleNegativesSymmetricRankingLoss by default, or any
in-batch loss on two text columns) keeps translations together, while the masked-LM part (`masking: lem` or
`random`, trainers.mlm) trains the token representations. The data is the `mlm` stage's TLM data: a tagged
corpus built from line-aligned files, rows paired by their `pair` id.

- `mlm_input: monolingual`: each side of a pair is masked as its own sequence (2 × batch sequences);
  `tlm`: the pair is one sequence, masked on both sides.
- `mlm_prompt`: whether the masked sequences carry the training prompt (never masked); the ranking texts
  always do, as in every other stage.
- `mlm_weight` (w) and `mlm_schedule`: constant, or linear_decay from w at the first step to 0 at the last.
  `mlm_weight: 0` trains the ranking loss alone on the same batches (no masked-LM forward): the baseline
  a joint run is compared with.
- `anchor_weight` (a): the squared distance of each ranking text's embedding to the stage's starting
  model's embedding of the same text, summed over the two columns. The starting model encodes every
  training text once, before training (`anchor_text`, `anchor_pair` columns; a resumed run encodes them
  again, the same model on the same texts). It keeps the sentence space near where it was, which ranking
  alone lets drift (short STS falls, docs/results.md#joint-lem-and-ranking).

The masked-LM head is trained with the stage and kept in the stage folder (`mlm_head.safetensors`, as the
`mlm` stage does); the saved model is the plain sentence-transformers encoder. The step's two parts are
logged separately (`ranking`, `masked_lm`: the weighted value).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch
from pydantic import Field
from torch import nn
from transformers import TrainerCallback

from trainers import losses
from trainers.mlm.collator import STATS_KEY, MaskedLMCollator
from trainers.mlm.head import HEAD_FILE, MaskedLMLoss, build_head
from trainers.mlm.stats import STATS_FILE, MaskingStats
from trainers.stages.base import CHECKPOINT_STATE, Stage, register_stage
from trainers.stages.mlm import MLMConfig, MLMParts, MLMStage

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

DEFAULT_RANKING = "MultipleNegativesSymmetricRankingLoss"
MLM_PREFIX = "masked_"  # feature keys of the masked sequences; the ranking texts are source_ and target_


class JointConfig(MLMConfig):
    pairs: bool = Field(default=True, description="always true: the stage trains on aligned pairs")
    mlm_weight: float = Field(
        default=0.1, ge=0, description="weight of the masked-LM loss (0: the ranking loss alone)"
    )
    mlm_schedule: Literal["constant", "linear_decay"] = Field(
        default="constant", description="linear_decay: the weight falls linearly to 0 at the last step"
    )
    mlm_input: Literal["monolingual", "tlm"] = Field(
        default="monolingual",
        description="monolingual: each side masked as its own sequence; tlm: the pair as one sequence",
    )
    mlm_prompt: bool = Field(
        default=False, description="the masked sequences carry the training prompt (never masked)"
    )
    anchor_weight: float = Field(
        default=0.0,
        ge=0,
        description="weight of the squared distance of each ranking text's embedding to the stage's "
        "starting model's (0: no anchor)",
    )


def ranking_loss_name(config: JointConfig) -> str:
    return config.loss or DEFAULT_RANKING


ANCHOR_COLUMNS = ("anchor_text", "anchor_pair")  # the starting model's embeddings of text, text_pair
ANCHOR_KEY = "anchor"  # each ranking column's feature key for them (source_anchor, target_anchor)


def anchor_distance(embeddings: Sequence[torch.Tensor], targets: Sequence[torch.Tensor]) -> torch.Tensor:
    """Squared distance of each embedding to its target, averaged over the batch, summed over columns."""
    return sum(((e - t) ** 2).sum(dim=-1).mean() for e, t in zip(embeddings, targets, strict=True))


def with_anchor_targets(dataset, model: SentenceTransformer, prompt: str):
    """`dataset` with the model's embedding of each `prompt + text` and `prompt + text_pair` (eval mode)."""
    import numpy as np

    texts = sorted(set(dataset["text"]) | set(dataset["text_pair"]))
    logger.info(f"anchor: the starting model encodes {len(texts)} training texts")
    embeddings = model.encode(
        [prompt + text for text in texts], prompt="", batch_size=64, convert_to_numpy=True
    ).astype(np.float32)
    row_of = {text: i for i, text in enumerate(texts)}
    for name, column in zip(ANCHOR_COLUMNS, ("text", "text_pair"), strict=True):
        rows = embeddings[np.array([row_of[text] for text in dataset[column]])]
        dataset = dataset.add_column(name, list(rows))
    return dataset


class RankingWithMaskedLM(nn.Module):
    """`ranking(features[0], features[1]) + weight · masked_lm(features[2], labels)
    + anchor_weight · anchor_distance(features[:2], their `anchor` targets)`; the masked-LM weight is
    `weight × schedule(progress)`, progress (0 at the first step, 1 at the last) set by JointSchedule.
    Returns the parts as a dict, which the Trainer sums and logs one by one. With an anchor the ranking
    texts are embedded once, for both terms."""

    def __init__(
        self,
        ranking: nn.Module,
        masked_lm: MaskedLMLoss | None,
        weight: float,
        schedule: Literal["constant", "linear_decay"] = "constant",
        anchor_weight: float = 0.0,
    ) -> None:
        super().__init__()
        self.ranking, self.masked_lm = ranking, masked_lm
        self.model = ranking.model
        self.weight, self.schedule, self.progress = weight, schedule, 0.0
        self.anchor_weight = anchor_weight

    def current_weight(self) -> float:
        if self.schedule == "linear_decay":
            return self.weight * (1.0 - self.progress)
        return self.weight

    def forward(
        self, features: list[dict[str, torch.Tensor]], labels: torch.Tensor | None
    ) -> dict[str, torch.Tensor]:
        texts = [{k: v for k, v in column.items() if k != ANCHOR_KEY} for column in features[:2]]
        if self.anchor_weight == 0:
            parts = {"ranking": self.ranking(texts, None)}
        else:
            embeddings = [self.model(column)["sentence_embedding"] for column in texts]
            targets = [column[ANCHOR_KEY] for column in features[:2]]
            parts = {
                "ranking": self.ranking.compute_loss_from_embeddings(embeddings, None),
                "anchor": self.anchor_weight * anchor_distance(embeddings, targets),
            }
        if self.masked_lm is not None:
            parts["masked_lm"] = self.current_weight() * self.masked_lm(features[2:3], labels)
        return parts


class JointSchedule(TrainerCallback):
    """Sets the loss's progress through the stage before each step (a resumed run recomputes it)."""

    def __init__(self, loss: RankingWithMaskedLM) -> None:
        self.loss = loss

    def on_step_begin(self, args, state, control, **kwargs):
        self.loss.progress = state.global_step / max(1, state.max_steps - 1)


class JointCollator:
    """Rows {text, spans, text_pair, spans_pair} -> the two texts as ranking features (`source_`,
    `target_`, prompt prepended), their anchor targets where the rows have them (`source_anchor`,
    `target_anchor`) and, with a masked-LM part, the masked sequences (`masked_`), their labels (`label`)
    and masking counts."""

    valid_label_columns = ["label"]

    def __init__(
        self, preprocess, prompt: str, masked: MaskedLMCollator | None, monolingual: bool = True
    ) -> None:
        self.preprocess, self.prompt, self.masked, self.monolingual = preprocess, prompt, masked, monolingual

    def __call__(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        batch: dict[str, Any] = {}
        for prefix, column in (("source_", "text"), ("target_", "text_pair")):
            features = self.preprocess([self.prompt + row[column] for row in rows])
            batch.update({prefix + key: value for key, value in features.items()})
        for prefix, column in (("source_", ANCHOR_COLUMNS[0]), ("target_", ANCHOR_COLUMNS[1])):
            if column in rows[0]:
                batch[prefix + ANCHOR_KEY] = torch.tensor(np.stack([row[column] for row in rows]))
        if self.masked is None:
            return batch
        if self.monolingual:
            sides = [{"text": row["text"], "spans": row.get("spans")} for row in rows]
            sides += [{"text": row["text_pair"], "spans": row.get("spans_pair")} for row in rows]
            masked = self.masked(sides)
        else:
            masked = self.masked(rows)
        batch[MLM_PREFIX + "input_ids"] = masked["text_input_ids"]
        batch[MLM_PREFIX + "attention_mask"] = masked["text_attention_mask"]
        batch["label"] = masked["label"]
        batch[STATS_KEY] = masked[STATS_KEY]
        return batch


@register_stage("joint")
class JointStage(MLMStage):
    Config = JointConfig
    columns = ("text", "text_pair")
    label_kind = "none"
    default_sampler = "length_no_duplicates"
    probe_field = ("loss",)
    purpose = (
        "reads a tagged corpus built from line-aligned files (text, lang, spans, pair); build one with "
        "`embedkit corpus build tagged --format aligned`"
    )

    @property
    def checkpoint_files(self) -> tuple[str, ...]:
        if self.config.mlm_weight > 0:
            return (CHECKPOINT_STATE, STATS_FILE, HEAD_FILE)
        return (CHECKPOINT_STATE,)

    @classmethod
    def loss_name(cls, config: JointConfig) -> str:
        ranking = ranking_loss_name(config)
        anchor = f" + {config.anchor_weight:g}·anchor" if config.anchor_weight > 0 else ""
        if config.mlm_weight == 0:
            return ranking + anchor
        schedule = "" if config.mlm_schedule == "constant" else f", {config.mlm_schedule}"
        masked = f"{config.mlm_weight:g}·MaskedLMLoss ({config.masking}, {config.mlm_input}{schedule})"
        return f"{ranking} + {masked}{anchor}"

    @classmethod
    def checked_loss(cls, config: JointConfig) -> str:
        return ranking_loss_name(config)

    @classmethod
    def check_config(cls, config: JointConfig) -> Iterable[tuple[tuple, str]]:
        if not config.pairs:
            yield ("pairs",), "a joint stage trains on aligned pairs; drop 'pairs: false'"
        if config.dev is not None:
            yield ("dev",), "a joint stage has no dev evaluation; drop 'dev' (a later stage can have one)"
        if config.whole_word and config.masking == "lem":
            yield ("whole_word",), "whole_word is for masking: random; lem masks one subword per word"
        if config.anchor_weight > 0:
            from sentence_transformers.sentence_transformer import losses as st_losses

            loss_class = getattr(st_losses, ranking_loss_name(config), None)
            if loss_class is not None and not hasattr(loss_class, "compute_loss_from_embeddings"):
                yield (
                    ("anchor_weight",),
                    (
                        f"{ranking_loss_name(config)} cannot take precomputed embeddings, which the anchor "
                        "needs; use MultipleNegativesSymmetricRankingLoss or MultipleNegativesRankingLoss"
                    ),
                )
        yield from Stage.check_config.__func__(cls, config)  # the ranking loss against the two text columns

    def loss_dataset(self, train, model):
        dataset = train.select_columns(["text", "text_pair", "spans", "spans_pair"])
        if self.config.anchor_weight == 0:
            return dataset
        return with_anchor_targets(dataset, model, self.ctx.prompt or "")

    def length_texts(self, dataset) -> list[list[str]]:
        prompt = self.ctx.prompt or ""
        return [[prompt + text for text in dataset[column]] for column in self.columns]

    def row_lengths(self, tokens):
        """The ranking texts are padded per column (their longest); the masked sequences follow them."""
        return tokens.max(axis=1)

    def masked_collator(self, model: SentenceTransformer) -> MaskedLMCollator | None:
        config = self.config
        if config.mlm_weight == 0:
            return None
        prompt = (self.ctx.prompt or "") if config.mlm_prompt else ""
        return self.masking_collator(model, prompt, pairs=config.mlm_input == "tlm")

    def build_collator(self, model: SentenceTransformer, prepared, probe: bool = False) -> JointCollator:
        return JointCollator(
            model.preprocess,
            self.ctx.prompt or "",
            self.masked_collator(model),
            monolingual=self.config.mlm_input == "monolingual",
        )

    def joint_loss(self, model: SentenceTransformer, head) -> RankingWithMaskedLM:
        config = self.config
        ranking = losses.build_loss(ranking_loss_name(config), model, config.loss_args)
        masked_lm = MaskedLMLoss(model, head) if head is not None else None
        return RankingWithMaskedLM(
            ranking, masked_lm, config.mlm_weight, config.mlm_schedule, config.anchor_weight
        )

    def build_loss(self, model: SentenceTransformer, prepared) -> RankingWithMaskedLM:
        """The probe's loss: a fresh head (training starts from `head_source`, see training_parts)."""
        return self.joint_loss(model, build_head(model)[0] if self.config.mlm_weight > 0 else None)

    @contextlib.contextmanager
    def training_parts(self, model, prepared, checkpoint):
        from trainers.mlm.trainer import MaskedLMCheckpoints

        collator = self.build_collator(model, prepared)
        if self.config.mlm_weight == 0:
            loss = self.joint_loss(model, None)
            yield MLMParts(loss, collator, (JointSchedule(loss),))
            return
        try:
            head, origin = build_head(model, self.head_source())
        except ValueError as exc:
            raise self.error(("type",), str(exc)) from None
        logger.info(f"stage {self.name}: MLM head {'new' if origin == 'new' else 'from ' + origin}")
        loss, stats = self.joint_loss(model, head), MaskingStats()
        callbacks = (JointSchedule(loss), MaskedLMCheckpoints(head, stats, collator.masked, checkpoint))
        yield MLMParts(loss, collator, callbacks, head=head, stats=stats)

    def training_args(self, prepared, total: int):
        args = super(MLMStage, self).training_args(prepared, total)
        if self.config.head_lr is not None and self.config.mlm_weight > 0:
            args.learning_rate_mapping = {r"^masked_lm\.head\.": self.config.head_lr}
        return args

    def final_metrics(self, trainer, model, prepared, parts: MLMParts) -> dict[str, float]:
        if parts.stats is None:
            return {}
        return super().final_metrics(trainer, model, prepared, parts)

    def after_training(self, parts: MLMParts) -> None:
        if parts.head is not None:
            super().after_training(parts)
