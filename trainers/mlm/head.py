"""The MLM head over the encoder and the loss that trains through it.

The head is BERT's (transformers' `BertPredictionHeadTransform`: dense, activation, LayerNorm) with a decoder
tied to the input embeddings and a bias of its own. The decoder weight is read from the embedding matrix at
each call instead of being a second parameter, so a frozen embedding matrix stays frozen and checkpoints hold
no shared tensors. Logits are computed at the masked positions only: over a 250k-token vocabulary, scoring
every position would cost ~7x more time and memory at a 15% masking rate.

A base model that comes with a head (a BERT `cls.predictions.*` or XLM-R / RoBERTa `lm_head.*` checkpoint, or
a head saved by an earlier `mlm` stage as `mlm_head.safetensors`) starts from it; otherwise the head is new.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn
from torch.nn import functional as F

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

HEAD_FILE = "mlm_head.safetensors"
# names of the head's tensors in transformers checkpoints -> ours
CHECKPOINT_PREFIXES = {
    "cls.predictions.transform.": "transform.",
    "cls.predictions.bias": "bias",
    "lm_head.dense.": "transform.dense.",
    "lm_head.layer_norm.": "transform.LayerNorm.",
    "lm_head.bias": "bias",
}


class MaskedLMHead(nn.Module):
    def __init__(self, config, vocab_size: int) -> None:
        from transformers.models.bert.modeling_bert import BertPredictionHeadTransform

        super().__init__()
        self.transform = BertPredictionHeadTransform(config)
        self.bias = nn.Parameter(torch.zeros(vocab_size))
        std = getattr(config, "initializer_range", 0.02)
        nn.init.normal_(self.transform.dense.weight, std=std)
        nn.init.zeros_(self.transform.dense.bias)

    def forward(self, hidden: torch.Tensor, decoder_weight: torch.Tensor) -> torch.Tensor:
        return F.linear(self.transform(hidden), decoder_weight, self.bias)


def encoder_of(model: SentenceTransformer):
    """The transformers model inside the first (Transformer) module."""
    encoder = getattr(model[0], "auto_model", None) or getattr(model[0], "model", None)
    if encoder is None or not hasattr(encoder, "get_input_embeddings"):
        raise ValueError(
            f"the first module of the model ({type(model[0]).__name__}) is not a transformers encoder"
        )
    return encoder


def build_head(model: SentenceTransformer, base: Path | None = None) -> tuple[MaskedLMHead, str]:
    """A head for `model`, loaded from `base` when it holds one; also says where it came from."""
    encoder = encoder_of(model)
    embeddings = encoder.get_input_embeddings().weight
    head = MaskedLMHead(encoder.config, embeddings.shape[0]).to(embeddings.device)
    found = find_head_weights(base) if base is not None else None
    if found is None:
        return head, "new"
    state, source = found
    missing, unexpected = head.load_state_dict(state, strict=False)
    if missing or unexpected or state["bias"].shape != head.bias.shape:
        raise ValueError(f"the MLM head in {source} does not fit the model (missing {missing})")
    return head, str(source)


def find_head_weights(folder: Path) -> tuple[dict[str, torch.Tensor], Path] | None:
    """Head tensors saved in `folder` (ours, or a transformers masked-LM checkpoint's), or None."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    folder = Path(folder)
    if (folder / HEAD_FILE).is_file():
        return load_file(str(folder / HEAD_FILE)), folder / HEAD_FILE
    checkpoint = folder / "model.safetensors"
    if not checkpoint.is_file():
        return None
    state = {}
    with safe_open(str(checkpoint), framework="pt") as handle:
        for key in handle.keys():  # noqa: SIM118 (safe_open has no __iter__)
            for prefix, ours in CHECKPOINT_PREFIXES.items():
                if key.startswith(prefix):
                    state[ours + key[len(prefix) :]] = handle.get_tensor(key)
    return (state, checkpoint) if "bias" in state else None


def save_head(head: MaskedLMHead, folder: Path) -> Path:
    from safetensors.torch import save_file

    from embedkit.atomic import atomic_file

    state = {key: value.detach().contiguous().cpu() for key, value in head.state_dict().items()}
    with atomic_file(folder / HEAD_FILE) as tmp:
        save_file(state, str(tmp))
    return folder / HEAD_FILE


class MaskedLMLoss(nn.Module):
    """Cross-entropy of the tied head's predictions at the masked positions (labels != -100)."""

    def __init__(self, model: SentenceTransformer, head: MaskedLMHead) -> None:
        super().__init__()
        self.model, self.head = model, head
        self._embeddings = [encoder_of(model).get_input_embeddings()]  # a list: not registered twice

    def forward(self, features: list[dict[str, torch.Tensor]], labels: torch.Tensor) -> torch.Tensor:
        hidden = self.model(features[0])["token_embeddings"]
        picked = labels != -100
        if not picked.any():  # nothing masked in this batch: a zero that still has a graph
            return hidden.sum() * 0.0
        logits = self.head(hidden[picked], self._embeddings[0].weight)
        return F.cross_entropy(logits.float(), labels[picked])
