"""Rows of text (+ tagged spans; + a parallel text for TLM) -> masked token ids and MLM labels.

A row is {"text", "spans"} or, for TLM, also {"text_pair", "spans_pair"}: the two texts are encoded as one
sequence (the tokenizer's pair template, e.g. `<s> a </s></s> b </s>`) and each side is masked with its own
budget, so both sides always carry masks. The training prompt goes before the first text and is never
masked, nor are special tokens. Each batch also carries its `masking_stats` (counts, see trainers.mlm.stats),
so the counts reach the trainer from dataloader workers too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np

from trainers.mlm.masking import Piece, lem_plan, random_plan, replace_tokens
from trainers.mlm.stats import MaskingStats

FEATURE_PREFIX = "text_"  # the Trainer groups `text_input_ids`, `text_attention_mask` into one input
STATS_KEY = "masking_stats"
IGNORE = -100  # label of an unmasked position
Masking = Literal["random", "lem"]
DEFAULT_ENTITY_PROBS = {"ENT": 1.0, "VERB": 0.5, "NOUN": 0.5}


class MaskedLMCollator:
    valid_label_columns = ["label"]  # read by sentence-transformers' batch samplers

    def __init__(
        self,
        tokenizer,
        masking: Masking = "lem",
        ratio: float = 0.15,
        entity_probs: Mapping[str, float] | None = None,
        whole_word: bool = False,
        max_length: int = 128,
        prompt: str = "",
        pairs: bool = False,
        seed: int = 0,
        pad_to_max: bool = False,
    ) -> None:
        if not getattr(tokenizer, "is_fast", False):
            raise ValueError("masking needs a fast tokenizer (character offsets and word ids)")
        if tokenizer.mask_token_id is None:
            raise ValueError("the tokenizer has no mask token")
        self.tokenizer, self.masking, self.ratio = tokenizer, masking, ratio
        self.entity_probs = dict(DEFAULT_ENTITY_PROBS if entity_probs is None else entity_probs)
        self.whole_word, self.max_length, self.prompt = whole_word, max_length, prompt
        self.pairs, self.seed, self.pad_to_max = pairs, seed, pad_to_max
        self.special_ids = set(tokenizer.all_special_ids)
        self.vocab_size = len(tokenizer)
        self.calls = 0  # batches made so far: with the seed, it decides the masks of the next batch

    def _rng(self) -> np.random.Generator:
        import torch.utils.data

        worker = torch.utils.data.get_worker_info()
        rng = np.random.default_rng([self.seed, self.calls, worker.id if worker else 0])
        self.calls += 1
        return rng

    def encode(self, rows: Sequence[Mapping[str, Any]]):
        firsts = [self.prompt + row["text"] for row in rows]
        seconds = [row["text_pair"] for row in rows] if self.pairs else None
        return self.tokenizer(
            firsts,
            seconds,
            truncation="longest_first",
            max_length=self.max_length,
            padding="max_length" if self.pad_to_max else "longest",
            return_offsets_mapping=True,
            return_attention_mask=True,
        )

    def pieces(self, encoding, side: int, text: str) -> list[Piece]:
        """The maskable subwords of one side (`text` as encoded, prompt included): not special, not the
        prompt, covering some text. Offsets are trimmed of whitespace: some tokenizer setups count a word's
        leading space ("▁Paris") in its offsets, others do not."""
        skip = len(self.prompt) if side == 0 else 0
        found = []
        for index, (sequence, word, (start, end)) in enumerate(
            zip(encoding.sequence_ids, encoding.word_ids, encoding.offsets, strict=True)
        ):
            if sequence != side or word is None:
                continue
            while start < end and text[start].isspace():
                start += 1
            while end > start and text[end - 1].isspace():
                end -= 1
            if end <= start or start < skip:
                continue
            if encoding.ids[index] in self.special_ids:
                continue
            found.append(Piece(index, start - skip, end - skip, word))
        return found

    def __call__(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        import torch

        rng = self._rng()
        batch = self.encode(rows)
        input_ids = np.array(batch["input_ids"], dtype=np.int64)
        labels = np.full_like(input_ids, IGNORE)
        stats = MaskingStats()
        for b, row in enumerate(rows):
            encoding = batch.encodings[b]
            sides = ((0, self.prompt + row["text"], row.get("spans") or []),)
            if self.pairs:
                sides += ((1, row["text_pair"], row.get("spans_pair") or []),)
            for side, text, spans in sides:
                pieces = self.pieces(encoding, side, text)
                if self.masking == "lem":
                    plan = lem_plan(pieces, spans, self.ratio, self.entity_probs, rng)
                else:
                    plan = random_plan(pieces, self.ratio, rng, self.whole_word)
                positions = [mask.index for mask in plan.masks]
                labels[b, positions] = input_ids[b, positions]
                kinds = replace_tokens(
                    input_ids[b],
                    positions,
                    rng,
                    self.tokenizer.mask_token_id,
                    self.vocab_size,
                    self.special_ids,
                )
                stats.add_plan(plan, len(pieces), kinds)
        return {
            FEATURE_PREFIX + "input_ids": torch.from_numpy(input_ids),
            FEATURE_PREFIX + "attention_mask": torch.tensor(batch["attention_mask"], dtype=torch.long),
            "label": torch.from_numpy(labels),
            STATS_KEY: stats.to_dict(),
        }
