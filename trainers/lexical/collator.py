"""Batches of word pairs -> the words of the batch (each distinct word once) and their positives mask."""

from __future__ import annotations

from typing import Any

from trainers.lexical.loss import synset_positives
from trainers.lexical.words import Encoding, tokenize_words

FEATURE_PREFIX = "words_"  # the Trainer groups `words_input_ids`, `words_attention_mask`, ... into one input


class WordPairCollator:
    """Rows with synset, lang1, word1, lang2, word2 (and gloss1, gloss2 for `word_gloss`) -> tokenized words
    plus `label`, the N x N synset-positives mask.

    A word that occurs in several rows of a batch (the same English word with two translations, or one
    Hindi word translating two English words) is encoded once and is a positive of every word it shares a
    synset with; it is never its own negative."""

    valid_label_columns = ["label"]  # read by sentence-transformers' batch samplers

    def __init__(
        self, tokenizer, encoding: Encoding = "word_iso", max_length: int = 128, prompt: str = ""
    ) -> None:
        self.tokenizer, self.encoding, self.max_length = tokenizer, encoding, max_length
        self.prompt = prompt  # for the `sentence` encoding only

    def words(self, rows: list[dict[str, Any]]) -> tuple[list[str], list[str], list[set[str]]]:
        """(words, glosses, synsets of each word) of a batch, each distinct (language, word, gloss) once."""
        index: dict[tuple[str, str, str], int] = {}
        words, glosses, synsets = [], [], []
        for row in rows:
            for side in ("1", "2"):
                gloss = (row.get("gloss" + side) or "") if self.encoding == "word_gloss" else ""
                key = (row["lang" + side], row["word" + side], gloss)
                if key not in index:
                    index[key] = len(words)
                    words.append(row["word" + side])
                    glosses.append(gloss)
                    synsets.append(set())
                synsets[index[key]].add(row["synset"])
        return words, glosses, synsets

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        words, glosses, synsets = self.words(rows)
        features = tokenize_words(
            self.tokenizer,
            words,
            glosses if self.encoding == "word_gloss" else None,
            self.max_length,
            prompt=self.prompt if self.encoding == "sentence" else None,
        )
        batch = {FEATURE_PREFIX + key: value for key, value in features.items()}
        batch["label"] = synset_positives(synsets)
        return batch
