"""How a lexical stage turns a word into a vector.

- `word_iso` (BabelBERT's): the word alone, no prompt and no special tokens, through the encoder, mean-pooled
  over its subwords.
- `word_gloss`: `word <sep> gloss` (the sense's definition), still pooled over the word's subwords only.
- `sentence`: the word as the saved model encodes any text: training prompt, special tokens and the model's
  own pooling (what `model.encode(word)` returns, and what the kit's BLI task scores).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    import torch
    from sentence_transformers import SentenceTransformer

Encoding = Literal["word_iso", "word_gloss", "sentence"]


def tokenize_words(
    tokenizer,
    words: Sequence[str],
    glosses: Sequence[str] | None = None,
    max_length: int = 128,
    prompt: str | None = None,
) -> dict[str, torch.Tensor]:
    """Padded `input_ids` / `attention_mask` plus `pool_mask`: 1 on the word's own subwords.

    With `glosses`, each sequence is `word <sep> gloss` (an empty gloss leaves the word alone); the word's
    subwords come first and are never truncated away. With `prompt` (the `sentence` encoding), each sequence
    is `prompt + word` with the special tokens, and there is no `pool_mask`: the model pools as it does."""
    import torch

    if prompt is not None:
        return dict(
            tokenizer(
                [prompt + word for word in words],
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            )
        )

    word_ids = tokenizer(list(words), add_special_tokens=False)["input_ids"]
    gloss_ids = tokenizer(list(glosses), add_special_tokens=False)["input_ids"] if glosses else None
    separator = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
    sequences, word_lengths = [], []
    for i, ids in enumerate(word_ids):
        ids = ids[:max_length] or [tokenizer.unk_token_id]
        word_lengths.append(len(ids))
        if gloss_ids is not None and gloss_ids[i] and len(ids) + 1 < max_length:
            ids = ids + [separator] + gloss_ids[i][: max_length - len(ids) - 1]
        sequences.append(ids)
    longest = max(len(ids) for ids in sequences)
    input_ids = torch.full((len(sequences), longest), tokenizer.pad_token_id, dtype=torch.long)
    attention = torch.zeros((len(sequences), longest), dtype=torch.long)
    pool = torch.zeros((len(sequences), longest), dtype=torch.long)
    for i, ids in enumerate(sequences):
        input_ids[i, : len(ids)] = torch.tensor(ids)
        attention[i, : len(ids)] = 1
        pool[i, : word_lengths[i]] = 1
    return {"input_ids": input_ids, "attention_mask": attention, "pool_mask": pool}


def pool_words(model, features: dict[str, torch.Tensor]) -> torch.Tensor:
    """One vector per word: the mean of the token embeddings under `pool_mask`, or the model's own sentence
    embedding when there is no `pool_mask` (the `sentence` encoding).

    `model` is the SentenceTransformer, or the wrapper a distributed Trainer puts around it; only input_ids
    and attention_mask go into it."""
    inputs = {key: features[key] for key in ("input_ids", "attention_mask")}
    if "pool_mask" not in features:
        return model(inputs)["sentence_embedding"]
    tokens = model(inputs)["token_embeddings"]
    mask = features["pool_mask"].unsqueeze(-1).to(tokens.dtype)
    return (tokens * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)


def encode_words(
    model: SentenceTransformer,
    words: Sequence[str],
    glosses: Sequence[str] | None = None,
    batch_size: int = 128,
    prompt: str | None = None,
) -> np.ndarray:
    """L2-normalised word vectors, float32, in the order of `words` (no gradients); `glosses` for
    `word_gloss`, `prompt` for `sentence`."""
    import torch

    if not words:
        return np.zeros((0, model.get_embedding_dimension()), dtype=np.float32)
    order = np.argsort([len(word) for word in words], kind="stable")
    device = next(model.parameters()).device
    limit = model.max_seq_length or 128
    out = np.zeros((len(words), model.get_embedding_dimension()), dtype=np.float32)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for start in range(0, len(order), batch_size):
                chunk = order[start : start + batch_size]
                features = tokenize_words(
                    model.tokenizer,
                    [words[i] for i in chunk],
                    [glosses[i] for i in chunk] if glosses is not None else None,
                    max_length=limit,
                    prompt=prompt,
                )
                vectors = pool_words(model, {k: v.to(device) for k, v in features.items()})
                vectors = torch.nn.functional.normalize(vectors.float(), dim=-1)
                out[chunk] = vectors.cpu().numpy()
    finally:
        model.train(was_training)
    return out
