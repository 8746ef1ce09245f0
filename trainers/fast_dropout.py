"""Cheaper dropout for CPU training: the same Bernoulli mask from a quarter of the random draws.

torch's CPU dropout draws one random number per element with a serial generator; in a CoSENT step of the
default model that was a fifth of the step (`aten::bernoulli_`, docs/training-speed.md). Here one 64-bit
draw gives the keep/drop decisions of four elements (16 bits each), so an element is dropped with
probability round(p·65536)/65536 — p = 0.1 becomes 0.100006. Attention dropout runs inside SDPA, whose CPU
math path (taken whenever dropout is on) adds mask checks and copies; while training on CPU the model's
attention goes through `attention_with_fast_dropout` instead, which computes the same softmax attention.

`fast_cpu_dropout(model)` applies both for the duration of a `with` block and restores the model after;
nothing of it is saved (dropout has no weights and the attention choice is not written to config.json).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

logger = logging.getLogger(__name__)

ATTENTION_NAME = "embedkit_fast_dropout"
_LANES = 4  # 16-bit decisions per 64-bit draw


def fast_dropout(x: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    """Inverted dropout, p quantised to 1/65536; on devices other than the CPU, torch's own."""
    if not training or p == 0.0:
        return x
    if x.device.type != "cpu" or p >= 1.0:
        return nn.functional.dropout(x, p, training)
    draws = torch.empty((x.numel() + _LANES - 1) // _LANES, dtype=torch.int64).random_(-(2**63), 2**63 - 1)
    lanes = draws.view(torch.int16)[: x.numel()].view(x.shape)
    keep = lanes >= -32768 + round(p * 65536)
    return x * keep.to(x.dtype).mul_(1.0 / (1.0 - p))


class FastDropout(nn.Dropout):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return fast_dropout(x, self.p, self.training)


def attention_with_fast_dropout(
    module: nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float | None = None,
    dropout: float = 0.0,
    **kwargs,
):
    """A transformers attention function: softmax attention with fast_dropout on the weights; without
    dropout (evaluation) it is the model's SDPA."""
    if dropout == 0.0 or not module.training:
        from transformers.integrations.sdpa_attention import sdpa_attention_forward

        return sdpa_attention_forward(
            module, query, key, value, attention_mask, scaling=scaling, dropout=dropout, **kwargs
        )
    if key.shape[1] != query.shape[1]:  # grouped-query attention: repeat the key/value heads
        repeats = query.shape[1] // key.shape[1]
        key, value = key.repeat_interleave(repeats, dim=1), value.repeat_interleave(repeats, dim=1)
    scale = query.size(-1) ** -0.5 if scaling is None else scaling
    weights = torch.matmul(query, key.transpose(2, 3)) * scale
    if attention_mask is not None:
        if attention_mask.dtype == torch.bool:
            weights = weights.masked_fill(~attention_mask, torch.finfo(weights.dtype).min)
        else:
            weights = weights + attention_mask
    weights = fast_dropout(nn.functional.softmax(weights, dim=-1), dropout)
    return torch.matmul(weights, value).transpose(1, 2).contiguous(), weights


def _register() -> None:
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(ATTENTION_NAME, attention_with_fast_dropout)
    # the padding mask is built per attention name; without an entry the model would build none at all
    AttentionMaskInterface.register(ATTENTION_NAME, sdpa_mask)


@contextmanager
def fast_cpu_dropout(model: nn.Module) -> Iterator[int]:
    """Within the block, every nn.Dropout of `model` is a FastDropout and SDPA attention uses
    attention_with_fast_dropout; yields how many dropout modules were replaced."""
    swapped: list[tuple[nn.Module, str, nn.Module]] = []
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is nn.Dropout and child.p > 0:
                replacement = FastDropout(child.p, child.inplace)
                replacement.train(child.training)
                setattr(parent, name, replacement)
                swapped.append((parent, name, child))
    configs = list(
        {
            id(m.config): m.config
            for m in model.modules()
            if getattr(getattr(m, "config", None), "_attn_implementation", None) == "sdpa"
        }.values()
    )
    if configs:
        _register()
    for config in configs:
        config._attn_implementation = ATTENTION_NAME
    logger.debug("fast CPU dropout: %d dropout modules, %d attention configs", len(swapped), len(configs))
    try:
        yield len(swapped)
    finally:
        for config in configs:
            config._attn_implementation = "sdpa"
        for parent, name, original in swapped:
            original.train(getattr(parent, name).training)
            setattr(parent, name, original)
