"""Which word-embedding rows a lexical stage trains.

On CPU the run freezes the 250k x 384 word-embedding matrix (`compute.freeze_embeddings: auto`); lexical
specialization then moves only the transformer layers. `constraint_tokens` trains the rows of the tokens
that occur in the constraints as well, leaving every other row bit-for-bit unchanged: their gradient is
masked to zero, and with AdamW a parameter whose gradient has always been zero does not move (the stage
refuses weight decay in this mode, since decay would shrink the untouched rows).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Literal

from trainers.compute import word_embeddings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

EmbeddingMode = Literal["run", "none", "constraint_tokens", "all"]


def constraint_token_ids(tokenizer, texts: Iterable[str]) -> list[int]:
    """Distinct token ids of `texts`, tokenized as words are in training (no special tokens)."""
    texts = list(dict.fromkeys(texts))
    ids: set[int] = set()
    for start in range(0, len(texts), 4096):
        for row in tokenizer(texts[start : start + 4096], add_special_tokens=False)["input_ids"]:
            ids.update(row)
    return sorted(ids)


@contextlib.contextmanager
def embedding_training(
    model: SentenceTransformer, mode: EmbeddingMode, token_ids: list[int] | None = None
) -> Iterator[int]:
    """Within the block the word-embedding matrix trains as `mode` says; yields how many of its parameters
    train. Afterwards the run's own setting is back."""
    module = word_embeddings(model)
    if module is None or mode == "run":
        weight = getattr(module, "weight", None)
        yield weight.numel() if weight is not None and weight.requires_grad else 0
        return
    weight = module.weight
    before, handle = weight.requires_grad, None
    weight.requires_grad_(mode != "none")
    trained = weight.numel() if mode == "all" else 0
    if mode == "constraint_tokens":
        import torch

        rows = torch.zeros((weight.shape[0], 1), dtype=weight.dtype, device=weight.device)
        rows[torch.tensor(token_ids or [], dtype=torch.long, device=weight.device)] = 1.0
        handle = weight.register_hook(lambda grad: grad * rows.to(grad.dtype))
        trained = int(rows.sum().item()) * weight.shape[1]
    try:
        yield trained
    finally:
        if handle is not None:
            handle.remove()
        weight.requires_grad_(before)
