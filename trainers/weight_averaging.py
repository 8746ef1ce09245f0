"""A stage's `interpolate:`: after its last step, the trained weights are moved back toward a reference.

    weights = keep x reference + (1 - keep) x trained

The reference is the stage's starting model or the run's base model. This is weight-space interpolation
between a model and its fine-tuned self (WiSE-FT, Wortsman et al. 2022): most of what training learned is
kept, and less is lost of what the reference did well on data the training never saw (other languages, other
tasks). Only the tensors the stage trains are mixed.
"""

from __future__ import annotations

import torch


def trainable_copy(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A copy of every parameter that requires gradients, by name: the stage's starting weights."""
    return {
        name: parameter.detach().clone()
        for name, parameter in model.named_parameters()
        if parameter.requires_grad
    }


@torch.no_grad()
def keep_share(model: torch.nn.Module, reference: dict[str, torch.Tensor], keep: float) -> None:
    """Set each of `model`'s parameters named in `reference` to keep x reference + (1 - keep) x its value."""
    if not 0 <= keep < 1:
        raise ValueError(f"keep must be in [0, 1), got {keep}")
    parameters = dict(model.named_parameters())
    missing = sorted(set(reference) - set(parameters))
    if missing:
        raise ValueError(f"the model has no parameter {missing[0]!r} (of {len(missing)} in the reference)")
    for name, before in reference.items():
        if before.shape != parameters[name].shape:
            shapes = f"{tuple(before.shape)} in the reference, {tuple(parameters[name].shape)} trained"
            raise ValueError(f"{name}: shape {shapes}")
        parameters[name].lerp_(before.to(parameters[name].device), keep)
