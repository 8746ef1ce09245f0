"""Lean checkpoints: a stage's checkpoints and its final model hold only what the stage changed.

A stage starts from a model (the base model, or the previous stage's result) and trains some of its
tensors; the rest (with the default CPU settings the 96M-parameter word-embedding matrix, with
`freeze_layers` also the lower layers) stay as they were. Each checkpoint-N and the stage's final/ hold:

    trainable.safetensors   every tensor that trains in the stage, and any other tensor whose bytes are no
                            longer the starting model's (e.g. the lexical stage's constraint-token rows)
    frozen.json             the starting model's path and the sha256 of every tensor not stored: loading
                            checks that the model it is applied to is that starting model
    + the Trainer's own files (optimizer, scheduler, RNG states, trainer_state.json written last)

`StageTrainer.save_model` (the public method the Trainer calls first for each checkpoint) makes room and
writes the tensors: at most `keep` checkpoints are on disk per stage, the one being written included, so
with the default `keep` 1 the older checkpoint goes before the new one is written. A kill in that window
leaves no checkpoint of the stage, and --resume trains the stage again from its start: the same bits,
more time (`keep` 2 keeps a resume point through every save, at twice the disk). On --resume
`resume_folder` makes a full checkpoint folder the Trainer can load (the starting model with the stored
tensors, and links to the Trainer's files) outside the checkpoints folder, removed once the stage has
trained.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from safetensors.torch import load_file, save_file
from sentence_transformers import SentenceTransformerTrainer

from embedkit.atomic import atomic_file, write_text_atomic
from embedkit.errors import UserError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

TENSORS_FILE = "trainable.safetensors"
REFERENCE_FILE = "frozen.json"
CHECKPOINT_PREFIX = "checkpoint-"


def tensor_digest(tensor: torch.Tensor) -> str:
    """sha256 of a tensor's bytes (dtype and shape included)."""
    data = tensor.detach().contiguous().cpu()
    digest = hashlib.sha256(f"{data.dtype}{tuple(data.shape)}".encode())
    if data.numel():
        digest.update(memoryview(data.view(-1).view(torch.uint8).numpy()))
    return digest.hexdigest()


@dataclass(frozen=True)
class FrozenReference:
    """A stage's starting model: where it came from, and the digest of every tensor that does not train."""

    source: str
    digests: dict[str, str]  # state_dict name -> sha256, for the tensors that do not train

    @classmethod
    def of(cls, model: torch.nn.Module, source: str) -> FrozenReference:
        trainable = trainable_names(model)
        return cls(
            source,
            {name: tensor_digest(t) for name, t in model.state_dict().items() if name not in trainable},
        )

    def stored_names(self, model: torch.nn.Module) -> list[str]:
        """The tensors a lean save of `model` holds: the trainable ones and any frozen one that changed."""
        trainable = trainable_names(model)
        return [
            name
            for name, tensor in model.state_dict().items()
            if name in trainable or tensor_digest(tensor) != self.digests.get(name)
        ]


def trainable_names(model: torch.nn.Module) -> set[str]:
    """state_dict names of the parameters that require gradients."""
    return {name for name, parameter in model.named_parameters() if parameter.requires_grad}


def save_lean(
    model: SentenceTransformer,
    folder: Path,
    reference: FrozenReference,
    take_from: Path | None = None,
    marker: str = "",
) -> None:
    """Write the tensors `model` changed since `reference` (and the reference itself) into `folder`. With
    `take_from`, a checkpoint made complete by its `marker` file, its tensor file is moved in when it
    holds the same tensors (see `take_tensors`) instead of writing them again."""
    folder.mkdir(parents=True, exist_ok=True)
    state = model.state_dict()
    names = reference.stored_names(model)
    taken = take_from is not None and take_tensors(take_from, model, names, folder / TENSORS_FILE, marker)
    if not taken:
        # clones: tied tensors would share storage, which safetensors refuses
        tensors = {name: state[name].detach().cpu().clone().contiguous() for name in names}
        with atomic_file(folder / TENSORS_FILE) as tmp:
            save_file(tensors, str(tmp))
    referenced = {name: d for name, d in reference.digests.items() if name not in names}
    write_text_atomic(
        folder / REFERENCE_FILE, json.dumps({"source": reference.source, "tensors": referenced}, indent=1)
    )


def load_lean(model: SentenceTransformer, folder: Path) -> None:
    """Apply a lean folder onto `model`, which must be the folder's starting model (checked per tensor)."""
    saved = json.loads((folder / REFERENCE_FILE).read_text(encoding="utf-8"))
    state = model.state_dict()
    for name, digest in saved["tensors"].items():
        if name not in state or tensor_digest(state[name]) != digest:
            raise UserError(
                f"{folder}: it was saved from another starting model than {saved['source']} "
                f"(tensor {name} differs); start a new --out"
            )
    tensors = load_file(str(folder / TENSORS_FILE))
    missing = set(state) - set(tensors) - set(saved["tensors"])
    if missing or set(tensors) - set(state):
        raise UserError(f"{folder}: its tensors do not fit the model (e.g. {sorted(missing)[:3]})")
    with torch.no_grad():
        for name, tensor in tensors.items():
            state[name].copy_(tensor)


class StageTrainer(SentenceTransformerTrainer):
    """SentenceTransformerTrainer whose checkpoints are lean (see the module doc); `save_model` called by
    users (not for a checkpoint) saves the full model as before."""

    def __init__(
        self, *args, reference: FrozenReference, keep: int, required: tuple[str, ...], **kwargs
    ) -> None:
        self.reference, self.keep, self.required = reference, keep, required
        super().__init__(*args, **kwargs)

    def save_model(self, output_dir: str | None = None, _internal_call: bool = False) -> None:
        folder = Path(output_dir or self.args.output_dir)
        if not (_internal_call and folder.name.startswith(CHECKPOINT_PREFIX)):
            return super().save_model(output_dir, _internal_call)
        if self.args.should_save:
            make_room(folder.parent, self.keep - 1, self.required)
            save_lean(self.model, folder, self.reference)
        return None


@contextlib.contextmanager
def resume_folder(checkpoint: Path, model: SentenceTransformer, scratch: Path) -> Iterator[Path]:
    """A full checkpoint folder for `Trainer.train(resume_from_checkpoint=…)`, made from a lean one: `model`
    (the stage's starting model) gets the checkpoint's tensors and is saved whole into `scratch`, beside
    links to the Trainer's files. `scratch` is removed on leaving."""
    load_lean(model, checkpoint)
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    try:
        model.save(str(scratch))
        for path in checkpoint.iterdir():
            if path.is_file() and path.name not in (TENSORS_FILE, REFERENCE_FILE):
                _link_or_copy(path, scratch / path.name)
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        with contextlib.suppress(OSError):
            scratch.parent.rmdir()  # the scratch parent, when no other process still uses it


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def checkpoint_step(path: Path) -> int | None:
    step = path.name.removeprefix(CHECKPOINT_PREFIX)
    return int(step) if path.name.startswith(CHECKPOINT_PREFIX) and step.isdigit() else None


def make_room(folder: Path, keep: int, required: tuple[str, ...]) -> None:
    """Before a new checkpoint is written into `folder`: keep the newest `keep` complete checkpoints (0:
    none) and delete every other one, complete or partial."""
    found = sorted(
        (step, path)
        for path in folder.glob(f"{CHECKPOINT_PREFIX}*")
        if (step := checkpoint_step(path)) is not None
    )
    complete = [path for _, path in found if all((path / name).exists() for name in required)]
    kept = set(complete[-keep:]) if keep else set()
    for _, path in found:
        if path not in kept:
            shutil.rmtree(path, ignore_errors=True)


def take_tensors(
    checkpoint: Path, model: torch.nn.Module, names: list[str], target: Path, marker: str
) -> bool:
    """Move `checkpoint`'s tensor file to `target` when it holds exactly `names` with `model`'s current
    values (the stage's last step was checkpointed and nothing changed since): the final model then costs
    no second copy on disk. `marker` (the file that makes a checkpoint complete) goes first, so a kill
    after the move cannot leave the checkpoint looking complete. False, and nothing moved, otherwise."""
    from safetensors import safe_open

    tensors = checkpoint / TENSORS_FILE
    if not (checkpoint / marker).is_file() or not tensors.is_file():
        return False
    state = model.state_dict()
    with safe_open(str(tensors), framework="pt") as handle:
        if sorted(handle.keys()) != sorted(names):
            return False
        if not all(torch.equal(handle.get_tensor(name), state[name].detach().cpu()) for name in names):
            return False
    (checkpoint / marker).unlink()
    os.replace(tensors, target)
    return True
