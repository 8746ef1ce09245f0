"""Which word-embedding rows a lexical stage trains.

On CPU the run freezes the 250k x 384 word-embedding matrix (`compute.freeze_embeddings: auto`): training
all of it costs ~7x a frozen step there (a dense 96M gradient and AdamW update per step). Lexical
specialization with a frozen matrix moves only the transformer layers. `constraint_tokens` trains the rows of
the tokens that occur in the constraints' words (~26k of 250k for lexical-offline) as a separate small
parameter (`TokenRows`) that replaces those rows in the forward pass and is copied back into the matrix after
every optimizer step, so checkpoints and the saved model are ordinary; every other row stays bit-for-bit
as it was.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Literal

import torch
from torch import nn
from transformers import TrainerCallback

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


class TokenRows(nn.Module):
    """Trainable copies of some rows of a (frozen) embedding matrix, used in its place by a forward hook.

    Owned by the loss, so sentence-transformers' Trainer optimises it with the model. `push` writes the rows
    back into the matrix (after every optimizer step and at the end), `pull` reads them from it (after a
    checkpoint is loaded)."""

    def __init__(self, embedding: nn.Embedding, token_ids: list[int]) -> None:
        super().__init__()
        weight = embedding.weight
        object.__setattr__(self, "embedding", embedding)  # not a child: its matrix is not ours to train
        ids = torch.tensor(sorted(set(token_ids)), dtype=torch.long, device=weight.device)
        slot = torch.full((weight.shape[0],), len(ids), dtype=torch.long, device=weight.device)
        slot[ids] = torch.arange(len(ids), device=weight.device)
        self.register_buffer("ids", ids, persistent=False)
        self.register_buffer("slot", slot, persistent=False)
        self.rows = nn.Parameter(weight.detach()[ids].clone())
        self.handle = embedding.register_forward_hook(self._replace)

    def _replace(self, module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor:
        slot = self.slot[args[0]]
        inside = slot < len(self.ids)
        picked = nn.functional.embedding(slot.clamp(max=len(self.ids) - 1), self.rows)
        return torch.where(inside.unsqueeze(-1), picked.to(output.dtype), output)

    @torch.no_grad()
    def push(self) -> None:
        self.embedding.weight[self.ids] = self.rows.detach().to(self.embedding.weight.dtype)

    @torch.no_grad()
    def pull(self) -> None:
        self.rows.copy_(self.embedding.weight[self.ids])

    def remove(self) -> None:
        self.push()
        self.handle.remove()


class TokenRowsSync(TrainerCallback):
    """Keeps `TokenRows` and the embedding matrix the same across steps, checkpoints and resumes."""

    def __init__(self, rows: TokenRows) -> None:
        self.rows = rows

    def on_train_begin(self, args, state, control, **kwargs):
        self.rows.pull()  # a resumed run has just loaded the checkpoint's matrix

    def on_optimizer_step(self, args, state, control, **kwargs):
        self.rows.push()

    def on_train_end(self, args, state, control, **kwargs):
        self.rows.push()


@contextlib.contextmanager
def embedding_training(
    model: SentenceTransformer, mode: EmbeddingMode, token_ids: list[int] | None = None
) -> Iterator[TokenRows | None]:
    """Within the block the word-embedding matrix trains as `mode` says; yields the `TokenRows` of
    `constraint_tokens` (None otherwise). Afterwards the run's own setting is back."""
    module = word_embeddings(model)
    if module is None or mode == "run":
        yield None
        return
    before = module.weight.requires_grad
    module.weight.requires_grad_(mode == "all")
    rows = TokenRows(module, token_ids or []) if mode == "constraint_tokens" else None
    try:
        yield rows
    finally:
        if rows is not None:
            rows.remove()
        module.weight.requires_grad_(before)
