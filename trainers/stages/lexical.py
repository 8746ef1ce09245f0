"""`type: lexical` — contrastive lexical specialization (BabelBERT, Green et al. 2023).

Reads lexicon corpora (`embedkit corpus build lexicon`: synset-labelled word pairs, glosses optional).
Each batch holds the word pairs of one language pair, the pair drawn with smoothed probabilities
(`pair_smoothing`); every word is encoded alone (`word_iso`: no prompt, no special tokens, mean over its
subwords; or `word_gloss`) and `SynsetContrastiveLoss` pulls words of one synset together and pushes all
other words of the batch apart. Dev: BLI P@1 on source words held out of the constraints (`dev.holdout`:
words per language pair) or on a lexicon corpus (`dev.data`). The saved model is an ordinary
sentence-transformers folder that encodes sentences with its prompt.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pydantic import Field

from trainers.data import concat, load_ref, manifest_summary, require_columns
from trainers.lexical.dev import LexiconBLIEvaluator, carve_dev, limit_queries, split_off
from trainers.lexical.embeddings import EmbeddingMode, constraint_token_ids, embedding_training
from trainers.lexical.loss import LEXICAL_LOSSES
from trainers.lexical.sampler import language_pair, pair_weights
from trainers.lexical.words import Encoding
from trainers.recipe import StageConfig
from trainers.stages.base import PreparedStage, Stage, StageData, TrainingParts, register_stage

if TYPE_CHECKING:
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

LEXICON_COLUMNS = ("synset", "lang1", "word1", "lang2", "word2")
GLOSS_COLUMNS = ("gloss1", "gloss2")


class LexicalConfig(StageConfig):
    encoding: Encoding = Field(
        default="word_iso",
        description="word_iso: the word alone; word_gloss: word <sep> gloss, pooled on the word",
    )
    pair_smoothing: float = Field(
        default=0.5, ge=0, le=1, description="batch from language pair k with probability ∝ rows_k^this"
    )
    train_embeddings: EmbeddingMode = Field(
        default="run",
        description="word-embedding rows trained in this stage: run (compute.freeze_embeddings decides), "
        "none, constraint_tokens (only tokens of the constraints' words), all",
    )
    dev_candidates: int = Field(
        default=2000, ge=10, description="dev BLI: other target-language words added as candidates"
    )
    dev_prompted: bool = Field(
        default=True, description="dev BLI also as the saved model encodes text (prompt, special tokens)"
    )


@dataclass(frozen=True)
class LexicalPrepared(PreparedStage):
    pairs: list[str] = field(default_factory=list)  # the language pair of each row, for the batch sampler
    token_ids: list[int] = field(default_factory=list)  # constraint_tokens: the embedding rows that train


@dataclass(frozen=True)
class LexicalParts(TrainingParts):
    start_metrics: dict[str, float] = field(default_factory=dict)  # dev BLI before the first step


@register_stage("lexical")
class LexicalStage(Stage):
    Config = LexicalConfig
    columns = ("word1", "word2")
    label_kind = None
    default_loss = "SynsetContrastiveLoss"
    optional_columns = ()
    probe_rows = 4
    length_special_tokens = False
    fallback_max_length = 128
    purpose = (
        "reads a lexicon corpus (synset, lang1, word1, lang2, word2); build one with "
        "`embedkit corpus build lexicon`"
    )

    @classmethod
    def check_config(cls, config: LexicalConfig) -> Iterable[tuple[tuple, str]]:
        name = cls.loss_name(config)
        if name not in LEXICAL_LOSSES:
            yield ("loss",), f"a lexical stage trains with {', '.join(LEXICAL_LOSSES)}, not {name!r}"
            return
        accepted = [p for p in inspect.signature(LEXICAL_LOSSES[name]).parameters if p != "model"]
        for key in config.loss_args:
            if key not in accepted:
                yield ("loss_args", key), f"{name} takes no argument {key!r} (accepts: {', '.join(accepted)})"
        if config.batch_sampler not in ("auto", "random"):
            yield (
                ("batch_sampler",),
                "a lexical stage batches by language pair (auto) or at random (random), "
                f"not {config.batch_sampler!r}",
            )
        if config.dev is not None and config.dev.evaluator not in (None, "bli"):
            yield ("dev", "evaluator"), "a lexical stage's dev evaluator is bli (BLI P@1)"

    def corpus_columns(self) -> tuple[str, ...]:
        return LEXICON_COLUMNS + (GLOSS_COLUMNS if self.config.encoding == "word_gloss" else ())

    # --- data ---

    def load_dev(self, train: Dataset):
        spec = self.config.dev
        if spec is None:
            return train, None, None, [], {}
        seed = self.ctx.recipe.seed
        manifests = []
        if spec.holdout is not None:
            carved = carve_dev(train, spec.holdout, seed)
        else:
            corpora = []
            for j, ref in enumerate(spec.data):
                loc = (*self.place, "dev", "data", j)
                corpus = load_ref(ref, loc, self.ctx.recipe)
                require_columns(corpus, self.corpus_columns(), loc, self.ctx.recipe, "a lexical dev corpus")
                manifests.append(manifest_summary(corpus))
                corpora.append(corpus)
            carved = split_off(train, concat(corpora, self.corpus_columns()))
        dev = carved.dev
        if spec.max_rows:
            dev = limit_queries(dev, spec.max_rows, seed)
        logger.info(
            f"stage {self.name}: dev BLI on {len(set(dev['word1']))} held-out source words "
            f"({', '.join(f'{k} {v}' for k, v in carved.queries.items())}); "
            f"{carved.dropped} training rows mentioning them dropped"
        )
        counts = {"dev_queries": sum(carved.queries.values()), "train_rows_dropped_for_dev": carved.dropped}
        return carved.train, dev, "lexicon", manifests, counts

    # --- prepare ---

    def prepare(self, model: SentenceTransformer, data: StageData) -> LexicalPrepared:
        config, rows = self.config, data.train
        dataset = rows.select_columns(list(self.corpus_columns()))
        pairs = [language_pair(a, b) for a, b in zip(rows["lang1"], rows["lang2"], strict=True)]
        counts = {pair: pairs.count(pair) for pair in sorted(set(pairs))}
        weights = pair_weights(counts, config.pair_smoothing)
        logger.info(
            f"stage {self.name}: {len(rows)} word pairs; batches per language pair "
            + ", ".join(f"{p} {counts[p]} rows {100 * weights[p]:.0f}%" for p in counts)
        )
        evaluator = self.dev_evaluator(model, data)
        texts = [*dataset["word1"], *dataset["word2"]]
        if config.encoding == "word_gloss":
            texts += [*dataset["gloss1"], *dataset["gloss2"]]
        token_ids = (
            constraint_token_ids(model.tokenizer, texts)
            if config.train_embeddings == "constraint_tokens"
            else []
        )
        return self.checked(
            model, data, dataset, evaluator, kind=LexicalPrepared, pairs=pairs, token_ids=token_ids
        )

    def dev_evaluator(self, model: SentenceTransformer, data: StageData):
        """BLI P@1 on the dev words, with candidates from the training rows."""
        if data.dev is None:
            return None
        config = self.config
        return LexiconBLIEvaluator(
            data.dev,
            data.train,
            config.encoding,
            config.dev_candidates,
            self.ctx.recipe.seed,
            prompted=config.dev_prompted,
            prompt=self.ctx.prompt or "",
        )

    def length_texts(self, dataset: Dataset) -> list[list[str]]:
        """Each word as the stage encodes it (no prompt; no special tokens, see length_special_tokens)."""
        return [list(dataset[column]) for column in self.loss_columns(self.config)]

    def probe_error(self, prepared, exc: Exception) -> Exception:
        if isinstance(exc, TypeError | ValueError):
            return self.error(("loss_args",), f"{prepared.loss_name}: {exc}")
        raise exc

    # --- training ---

    @contextlib.contextmanager
    def training_parts(self, model, prepared: LexicalPrepared, checkpoint):
        from trainers.lexical.embeddings import TokenRowsSync

        mode = self.config.train_embeddings
        if mode == "constraint_tokens" and self.ctx.world_size > 1:
            raise self.error(
                ("train_embeddings",), "constraint_tokens trains in one process only", "use --nproc 1 or all"
            )
        start: dict[str, float] = {}
        if prepared.evaluator is not None and checkpoint is None:
            started = time.time()
            start = prepared.evaluator(model)
            logger.info(
                f"stage {self.name}: dev BLI P@1 before training {start['dev_score']:.4f} "
                f"({time.time() - started:.0f} s)"
            )
        with embedding_training(model, mode, prepared.token_ids) as token_rows:
            loss = self.build_loss(model, prepared)
            callbacks = ()
            if token_rows is not None:
                logger.info(
                    f"stage {self.name}: the embeddings of {len(prepared.token_ids)} constraint tokens train"
                )
                loss.token_rows = token_rows  # the Trainer optimises the loss's parameters too
                callbacks = (TokenRowsSync(token_rows),)
            yield LexicalParts(loss, self.build_collator(model, prepared), callbacks, start_metrics=start)

    def build_loss(self, model: SentenceTransformer, prepared):
        return LEXICAL_LOSSES[prepared.loss_name](model, **self.config.loss_args)

    def batch_sampler(self, prepared: LexicalPrepared):
        from trainers.lexical.sampler import LanguagePairBatchSampler
        from trainers.samplers import SeededBatchSampler

        if self.config.batch_sampler == "random":
            return functools.partial(SeededBatchSampler, lengths=prepared.lengths)
        return functools.partial(
            LanguagePairBatchSampler,
            pairs=prepared.pairs,
            smoothing=self.config.pair_smoothing,
            lengths=prepared.lengths,
        )

    def build_collator(self, model: SentenceTransformer, prepared, probe: bool = False):
        from trainers.lexical.collator import WordPairCollator

        return WordPairCollator(
            model.tokenizer, self.config.encoding, model.max_seq_length or 128, self.ctx.prompt or ""
        )

    def final_metrics(self, trainer, model, prepared, parts: LexicalParts) -> dict[str, float]:
        metrics = super().final_metrics(trainer, model, prepared, parts)
        metrics.update({f"{k}_start": round(float(v), 6) for k, v in parts.start_metrics.items()})
        return metrics
