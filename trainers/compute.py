"""Device choice, embedding freezing and the memory pre-flight check.

The pre-flight estimate is analytic (weights + gradients + AdamW state + activations of one batch of
the longest texts in the data); it errs on the high side so a run it lets through does not die of
out-of-memory an hour in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from trainers.recipe import Compute

GiB = 1024**3


def pick_device(compute: Compute) -> str:
    import torch

    if compute.device != "auto":
        return compute.device
    if torch.cuda.is_available():
        return "cuda"
    return "cpu"


# `freeze_embeddings: auto` freezes on CPU only a matrix this large: a full XLM-R vocabulary (250k rows,
# 96M of the default model's 118M parameters) costs most of each CPU step's optimizer time and ~1.2 GB of
# AdamW state; a trimmed one (`embedkit trim`, ~50k rows) is cheap enough to train.
AUTO_FREEZE_MIN_ROWS = 100_000


def should_freeze(compute: Compute, device: str, vocab_rows: int | None = None) -> bool:
    """auto: freeze on CPU unless the vocabulary is known to have fewer than AUTO_FREEZE_MIN_ROWS rows."""
    if compute.freeze_embeddings != "auto":
        return bool(compute.freeze_embeddings)
    return device == "cpu" and (vocab_rows is None or vocab_rows >= AUTO_FREEZE_MIN_ROWS)


def word_embeddings(model: SentenceTransformer):
    """The input word-embedding module of the model's transformer, or None for other architectures."""
    backbone = getattr(model[0], "auto_model", None)
    return backbone.get_input_embeddings() if backbone is not None else None


def freeze_word_embeddings(model: SentenceTransformer) -> int:
    """Stop training the word-embedding matrix; returns how many parameters that froze."""
    embeddings = word_embeddings(model)
    return 0 if embeddings is None else _freeze(embeddings)


def freeze_lower_layers(model: SentenceTransformer, layers: int) -> int:
    """Freeze the embedding block and the lowest `layers` transformer layers: no backward pass runs
    through them, and languages the data does not cover keep their lower-layer representations."""
    backbone = getattr(model[0], "auto_model", None)
    stack = _layer_stack(backbone)
    if stack is None:
        from embedkit.errors import UserError

        raise UserError(
            f"compute.freeze_layers: cannot find the transformer layers of {type(backbone).__name__}"
        )
    if layers > len(stack):
        from embedkit.errors import UserError

        raise UserError(f"compute.freeze_layers {layers}: the model has {len(stack)} layers")
    embeddings = getattr(backbone, "embeddings", None)
    frozen = _freeze(embeddings) if embeddings is not None else 0
    return frozen + sum(_freeze(layer) for layer in stack[:layers])


def _layer_stack(backbone):
    for path in ("encoder.layer", "encoder.layers", "layers", "transformer.layer"):
        node = backbone
        for part in path.split("."):
            node = getattr(node, part, None)
        if node is not None and hasattr(node, "__len__"):
            return node
    return None


def _freeze(module) -> int:
    count = 0
    for parameter in module.parameters():
        if parameter.requires_grad:
            parameter.requires_grad = False
            count += parameter.numel()
    return count


def precision(compute: Compute, device: str) -> str:
    """'no', 'bf16' or 'fp16'; 'auto' picks bf16 where the hardware computes it natively."""
    if compute.mixed_precision != "auto":
        return compute.mixed_precision
    import torch

    if device == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if device == "cpu" and torch.backends.mkldnn.is_available():
        return "bf16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "no"
    return "no"


@dataclass
class MemoryEstimate:
    weights: int
    training_state: int  # gradients + AdamW moments of the trainable parameters
    activations: int
    available: int
    device: str

    @property
    def total(self) -> int:
        return self.weights + self.training_state + self.activations

    def fits(self) -> bool:
        return self.total <= self.available

    def describe(self) -> str:
        return (
            f"≈{self.total / GiB:.1f} GiB (weights {self.weights / GiB:.1f}, gradients and optimizer "
            f"{self.training_state / GiB:.1f}, activations {self.activations / GiB:.1f}) "
            f"of {self.available / GiB:.1f} GiB available on {self.device}"
        )


def estimate_memory(
    model: SentenceTransformer, sequences: int, length: int, device: str, frozen_layers: int = 0
) -> MemoryEstimate:
    """Peak training memory for `sequences` texts of `length` tokens per optimizer step.

    Per transformer layer and token we count the fp32 tensors autograd keeps for the backward pass:
    about 12 hidden-size vectors (attention inputs, Q/K/V, context, projections, layer-norm inputs,
    dropout masks), 2 intermediate-size vectors (the feed-forward), and 3 attention-score rows per head.
    """
    config = getattr(getattr(model[0], "auto_model", None), "config", None)
    params = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    weights = 4 * params
    training_state = 3 * 4 * trainable  # grad + exp_avg + exp_avg_sq
    if config is not None and hasattr(config, "num_hidden_layers"):
        hidden, layers = config.hidden_size, config.num_hidden_layers
        heads = config.num_attention_heads
        intermediate = getattr(config, "intermediate_size", 4 * hidden)
        per_token_layer = 4 * (12 * hidden + 2 * intermediate + 3 * heads * length)
        kept = max(1, layers - frozen_layers)  # frozen layers keep nothing for a backward pass
        activations = sequences * length * (kept * per_token_layer + 4 * 4 * hidden)
    else:  # unknown architecture: a generous fixed multiple of the weights
        activations = 4 * weights
    return MemoryEstimate(weights, training_state, int(activations * 1.2), available_memory(device), device)


def available_memory(device: str) -> int:
    if device.startswith("cuda"):
        import torch

        free, _total = torch.cuda.mem_get_info()
        return int(free)
    import psutil

    return int(psutil.virtual_memory().available)
