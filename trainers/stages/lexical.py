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

import functools
import inspect
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from pydantic import Field

from embedkit.console import info
from trainers.data import concat, load_ref, manifest_summary, require_columns
from trainers.lexical.dev import LexiconBLIEvaluator, carve_dev, limit_queries, split_off
from trainers.lexical.embeddings import EmbeddingMode, constraint_token_ids, embedding_training
from trainers.lexical.loss import LEXICAL_LOSSES
from trainers.lexical.sampler import language_pair, pair_weights
from trainers.lexical.words import Encoding
from trainers.recipe import StageConfig
from trainers.stages.base import StageResult, TrainerStage, last_complete_checkpoint, register_stage

if TYPE_CHECKING:
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer

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


@register_stage("lexical")
class LexicalStage(TrainerStage):
    Config = LexicalConfig
    kind = "lexicon"
    columns = ("word1", "word2")
    label_kind = None
    default_loss = "SynsetContrastiveLoss"
    optional_columns = ()
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

    def load_dev(self, train: Dataset) -> tuple[Dataset, Dataset | None, str | None]:
        spec = self.config.dev
        if spec is None:
            return train, None, None
        seed = self.ctx.recipe.seed
        if spec.holdout is not None:
            carved = carve_dev(train, spec.holdout, seed)
        else:
            corpora = []
            for j, ref in enumerate(spec.data):
                loc = ("stages", self.index, "dev", "data", j)
                corpus = load_ref(ref, loc, self.ctx.recipe)
                require_columns(corpus, self.corpus_columns(), loc, self.ctx.recipe, "a lexical dev corpus")
                self.data.append(manifest_summary(corpus))
                corpora.append(corpus)
            carved = split_off(train, concat(corpora, self.corpus_columns()))
        dev = carved.dev
        if spec.max_rows:
            dev = limit_queries(dev, spec.max_rows, seed)
        self.dev_summary = {
            "dev_queries": sum(carved.queries.values()),
            "train_rows_dropped_for_dev": carved.dropped,
        }
        info(
            f"stage {self.name}: dev BLI on {len(set(dev['word1']))} held-out source words "
            f"({', '.join(f'{k} {v}' for k, v in carved.queries.items())}); "
            f"{carved.dropped} training rows mentioning them dropped"
        )
        return carved.train, dev, "lexicon"

    def load_data(self) -> None:
        self.dev_summary = {}
        super().load_data()
        self.rows.update(self.dev_summary)

    def prepare(self, model: SentenceTransformer) -> None:
        config = self.config
        rows = self.train_rows
        self.dataset = rows.select_columns(list(self.corpus_columns()))
        self.pairs = [language_pair(a, b) for a, b in zip(rows["lang1"], rows["lang2"], strict=True)]
        counts = {pair: self.pairs.count(pair) for pair in sorted(set(self.pairs))}
        weights = pair_weights(counts, config.pair_smoothing)
        info(
            f"stage {self.name}: {len(rows)} word pairs; batches per language pair "
            + ", ".join(f"{p} {counts[p]} rows {100 * weights[p]:.0f}%" for p in counts)
        )
        self.evaluator = None
        if self.dev_rows is not None:
            self.evaluator = LexiconBLIEvaluator(
                self.dev_rows,
                rows,
                config.encoding,
                config.dev_candidates,
                self.ctx.recipe.seed,
                prompted=config.dev_prompted,
                prompt=self.ctx.prompt or "",
            )
        self.train_rows = self.dev_rows = None
        tokens = self.token_lengths(model, self.dataset)
        self.lengths, self.longest = tokens.sum(axis=1), int(tokens.max(initial=1))
        self.loss_fn_name = self.loss_name(config)
        texts = [*self.dataset["word1"], *self.dataset["word2"]]
        if config.encoding == "word_gloss":
            texts += [*self.dataset["gloss1"], *self.dataset["gloss2"]]
        self.token_ids = (
            constraint_token_ids(model.tokenizer, texts)
            if config.train_embeddings == "constraint_tokens"
            else []
        )
        self.probe(model, self.collator(model))
        self.check_memory(model)

    def probe(self, model: SentenceTransformer, collator) -> None:
        """The loss on the first rows, before any training: a bad loss_args value fails here."""
        import torch

        batch = collator([self.dataset[i] for i in range(min(4, len(self.dataset)))])
        device = next(model.parameters()).device
        features = {k.removeprefix("words_"): v.to(device) for k, v in batch.items() if k != "label"}
        try:
            loss = self.build_loss(model)
            with torch.random.fork_rng(devices=[]), torch.no_grad():
                value = loss([features], batch["label"].to(device))
        except (TypeError, ValueError) as exc:
            raise self.error(("loss_args",), f"{self.loss_fn_name}: {exc}") from None
        if not torch.isfinite(value):
            raise self.error(("loss",), f"{self.loss_fn_name} is {value.item()} on the first rows")

    def token_lengths(self, model: SentenceTransformer, dataset: Dataset):
        """Tokens of each word as the stage encodes it (no prompt, no special tokens): rows x columns."""
        import numpy as np

        limit = model.max_seq_length or 128
        columns = []
        for column in self.loss_columns(self.config):
            encoded = model.tokenizer(list(dataset[column]), add_special_tokens=False)
            columns.append(np.minimum([len(ids) for ids in encoded["input_ids"]], limit))
        return np.stack(columns, axis=1)

    # --- training ---

    def build_loss(self, model: SentenceTransformer):
        loss = LEXICAL_LOSSES[self.loss_fn_name](model, **self.config.loss_args)
        if getattr(self, "token_rows", None) is not None:
            loss.token_rows = self.token_rows  # the Trainer optimises the loss's parameters too
        return loss

    def sampler(self):
        from trainers.lexical.sampler import LanguagePairBatchSampler
        from trainers.samplers import SeededBatchSampler

        if self.config.batch_sampler == "random":
            return functools.partial(SeededBatchSampler, lengths=self.lengths)
        return functools.partial(
            LanguagePairBatchSampler,
            pairs=self.pairs,
            smoothing=self.config.pair_smoothing,
            lengths=self.lengths,
        )

    def collator(self, model: SentenceTransformer):
        from trainers.lexical.collator import WordPairCollator

        return WordPairCollator(
            model.tokenizer, self.config.encoding, model.max_seq_length or 128, self.ctx.prompt or ""
        )

    def train(self, model: SentenceTransformer) -> StageResult:
        from trainers.lexical.embeddings import TokenRowsSync

        mode = self.config.train_embeddings
        if mode == "constraint_tokens" and self.ctx.world_size > 1:
            raise self.error(
                ("train_embeddings",), "constraint_tokens trains in one process only", "use --nproc 1 or all"
            )
        self.start_metrics: dict[str, float] = {}
        resuming = self.ctx.resume and last_complete_checkpoint(self.dir, remove_partial=False) is not None
        if self.evaluator is not None and not resuming:
            started = time.time()
            self.start_metrics = self.evaluator(model)
            info(
                f"stage {self.name}: dev BLI P@1 before training {self.start_metrics['dev_score']:.4f} "
                f"({time.time() - started:.0f} s)"
            )
        with embedding_training(model, mode, self.token_ids) as self.token_rows:
            sync = TokenRowsSync(self.token_rows) if self.token_rows is not None else None
            if sync is not None:
                info(f"stage {self.name}: the embeddings of {len(self.token_ids)} constraint tokens train")
                self.ctx.callbacks.append(sync)
            try:
                return super().train(model)
            finally:
                if sync is not None:
                    self.ctx.callbacks.remove(sync)
                self.token_rows = None

    def final_dev_metrics(self, trainer, model) -> dict[str, float]:
        metrics = super().final_dev_metrics(trainer, model)
        metrics.update({f"{k}_start": round(float(v), 6) for k, v in self.start_metrics.items()})
        return metrics
