"""Any sentence-transformers loss by class name, with what it takes as input where that is known.

`LOSS_INPUTS` lets a stage say, before any work, that a loss does not fit its columns. Losses not in the
table are still usable; a forward pass on two real rows (`probe_loss`) checks them before training.
"""

from __future__ import annotations

import difflib
import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from embedkit.errors import UserError

if TYPE_CHECKING:
    import torch
    from sentence_transformers import SentenceTransformer

Label = Literal["none", "score", "class", "embedding"]


@dataclass(frozen=True)
class LossInputs:
    min_texts: int
    max_texts: int | None
    label: Label

    def describe(self) -> str:
        texts = f"{self.min_texts}" if self.max_texts == self.min_texts else f"{self.min_texts}+"
        label = {"none": "no label", "score": "a float score", "class": "an integer class label"}.get(
            self.label, "teacher embeddings as label"
        )
        return f"{texts} text column(s) and {label}"

    def accepts(self, texts: int, label: Label) -> bool:
        in_range = texts >= self.min_texts and (self.max_texts is None or texts <= self.max_texts)
        return in_range and label == self.label


_IN_BATCH = LossInputs(2, None, "none")
_PAIR_SCORE = LossInputs(2, 2, "score")
LOSS_INPUTS: dict[str, LossInputs] = {
    "MultipleNegativesRankingLoss": _IN_BATCH,
    "CachedMultipleNegativesRankingLoss": _IN_BATCH,
    "MultipleNegativesSymmetricRankingLoss": _IN_BATCH,
    "CachedMultipleNegativesSymmetricRankingLoss": _IN_BATCH,
    "MegaBatchMarginLoss": LossInputs(2, 2, "none"),
    "CoSENTLoss": _PAIR_SCORE,
    "AnglELoss": _PAIR_SCORE,
    "CosineSimilarityLoss": _PAIR_SCORE,
    "ContrastiveLoss": LossInputs(2, 2, "class"),
    "OnlineContrastiveLoss": LossInputs(2, 2, "class"),
    "SoftmaxLoss": LossInputs(2, 2, "class"),
    "TripletLoss": LossInputs(3, 3, "none"),
    "MSELoss": LossInputs(1, None, "embedding"),
    "EmbedDistillLoss": LossInputs(1, None, "embedding"),
    "MarginMSELoss": LossInputs(3, None, "score"),
    "BatchAllTripletLoss": LossInputs(1, 1, "class"),
    "BatchHardTripletLoss": LossInputs(1, 1, "class"),
    "BatchHardSoftMarginTripletLoss": LossInputs(1, 1, "class"),
    "BatchSemiHardTripletLoss": LossInputs(1, 1, "class"),
    "DenoisingAutoEncoderLoss": LossInputs(2, 2, "none"),
}
WRAPPERS = {"MatryoshkaLoss", "Matryoshka2dLoss", "AdaptiveLayerLoss"}  # take an inner loss: loss_args.loss


def loss_names() -> list[str]:
    """Every loss class sentence-transformers exports."""
    import torch
    from sentence_transformers.sentence_transformer import losses

    return sorted(
        name
        for name in losses.__all__
        if inspect.isclass(getattr(losses, name)) and issubclass(getattr(losses, name), torch.nn.Module)
    )


def unknown_loss_message(name: str) -> str:
    names = loss_names()
    close = difflib.get_close_matches(name, names, n=3)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    return f"unknown loss {name!r} ({hint}known: {', '.join(names)})"


def inputs_of(name: str, loss_args: dict[str, Any]) -> LossInputs | None:
    if name in WRAPPERS:
        inner = loss_args.get("loss")
        return LOSS_INPUTS.get(inner) if isinstance(inner, str) else None
    return LOSS_INPUTS.get(name)


def check_loss_args(name: str, loss_args: dict[str, Any]) -> str | None:
    """A problem with `loss_args` for loss `name`, or None."""
    from sentence_transformers.sentence_transformer import losses

    # the signature of __init__: some loss classes (the Cached* ones) hide theirs behind (*args, **kwargs)
    init = getattr(losses, name).__init__
    accepted = [p for p in inspect.signature(init).parameters if p not in ("self", "model")]
    for key in loss_args:
        if key not in accepted:
            return f"{name} takes no argument {key!r} (accepts: {', '.join(accepted)})"
    if name in WRAPPERS:
        inner = loss_args.get("loss")
        if not isinstance(inner, str):
            return f"{name} wraps another loss: give its class name as loss_args.loss, e.g. CoSENTLoss"
        if inner not in loss_names():
            return f"loss_args.loss: {unknown_loss_message(inner)}"
    return None


def build_loss(name: str, model: SentenceTransformer, loss_args: dict[str, Any]) -> torch.nn.Module:
    """Instantiate loss `name` on `model`; a wrapper's inner loss comes from loss_args['loss']."""
    from sentence_transformers import util
    from sentence_transformers.sentence_transformer import losses

    args = dict(loss_args)
    if name in WRAPPERS:
        args["loss"] = getattr(losses, args["loss"])(model)
    for key in ("similarity_fct", "distance_metric"):  # named functions in YAML, callables in the API
        if isinstance(args.get(key), str) and hasattr(util, args[key]):
            args[key] = getattr(util, args[key])
    try:
        return getattr(losses, name)(model, **args)
    except (TypeError, ValueError) as exc:
        raise UserError(f"{name}({', '.join(f'{k}={v!r}' for k, v in loss_args.items())}): {exc}") from None


def probe_loss(model: SentenceTransformer, loss: torch.nn.Module, batch: dict[str, Any]) -> float:
    """The value of `loss` on one collated batch of real rows, without gradients or RNG side effects.

    Catches columns or labels that do not fit the loss before any training starts.
    """
    import torch
    from sentence_transformers.sentence_transformer.trainer import SentenceTransformerTrainer

    features, labels = SentenceTransformerTrainer.collect_features(None, batch)
    device = next(model.parameters()).device
    features = [{k: v.to(device) if hasattr(v, "to") else v for k, v in f.items()} for f in features]
    labels = labels.to(device) if labels is not None else None
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        value = loss(features, labels)
    if isinstance(value, dict):
        value = sum(value.values())
    return float(value.sum()) if value.numel() > 1 else float(value)
