"""Lean checkpoints: a checkpoint holds the trained tensors and the training state, never a frozen tensor;
resuming from one ends with the weights of an uninterrupted run; `keep_checkpoints` bounds how many are on
disk while a new one is written."""

from __future__ import annotations

import json
import shutil

import pytest
from test_train_stages import build_corpora, changed, recipe_file, weights

from embedkit.files import folder_bytes
from trainers import load_recipe, train
from trainers.checkpoints import REFERENCE_FILE, TENSORS_FILE


@pytest.fixture(scope="module")
def corpora(tmp_path_factory, shared_data):
    return build_corpora(tmp_path_factory.mktemp("corpora"), shared_data)


RECIPE = """\
base_model: {model}
keep_checkpoints: 2
compute: {{max_seq_length: 64, freeze_layers: 1}}
stages:
  - type: sts
    train: {sts}
    batch_size: 8
    max_steps: 4
    save_every: 2
    lr: 1.0e-4
"""


def test_a_checkpoint_holds_no_frozen_tensor_and_resumes_bit_identically(tmp_path, tiny_model, corpora):
    from safetensors.torch import load_file

    recipe = load_recipe(recipe_file(tmp_path, RECIPE.format(model=tiny_model, sts=corpora["sts"])))
    out = tmp_path / "run"
    train(recipe, out)
    stage = out / "checkpoints" / "01-sts"
    # checkpoint-4 is the last step: final/ holds the same weights, so it goes
    assert sorted(p.name for p in stage.glob("checkpoint-*")) == ["checkpoint-2"]
    checkpoint = stage / "checkpoint-2"

    base = weights(tiny_model)
    stored = load_file(str(checkpoint / TENSORS_FILE))
    referenced = json.loads((checkpoint / REFERENCE_FILE).read_text())
    assert not (checkpoint / "model.safetensors").exists()
    # CPU: word embeddings frozen; freeze_layers 1: the embedding block and layer 0 too (the pooler is
    # trainable, unused by mean pooling)
    assert stored and all(".encoder.layer.1." in name or ".pooler." in name for name in stored)
    assert any("word_embeddings" in name for name in referenced["tensors"])
    assert referenced["source"] == str(tiny_model)
    # the optimizer holds state for the trained tensors only: the checkpoint is far smaller than the
    # frozen word-embedding matrix alone
    embedding_bytes = base["embeddings.word_embeddings.weight"].numel() * 4
    trained_bytes = sum(t.numel() * 4 for t in stored.values())
    assert folder_bytes(checkpoint) < min(embedding_bytes, 4 * trained_bytes + 100_000)
    final = load_file(str(stage / "final" / TENSORS_FILE))
    assert final.keys() == stored.keys() and changed(stored, final)  # two more steps

    # killed after checkpoint-2: --resume makes it whole and ends with the uninterrupted run's weights
    expected = weights(out / "model")
    for path in (stage / "final", out / "model"):
        shutil.rmtree(path)
    for path in (stage / "stage.json", out / "run.json"):
        path.unlink()
    train(recipe, out, resume=True)
    got = weights(out / "model")
    assert expected.keys() == got.keys() and all(expected[k].equal(got[k]) for k in expected)
    assert json.loads((out / "run.json").read_text())["resumed"] is True
    assert not (out / ".resume").exists()  # the resume folder is removed after the stage


def test_a_lean_folder_refuses_another_starting_model(tmp_path, tiny_model, corpora):
    from conftest import build_tiny_model
    from sentence_transformers import SentenceTransformer

    from embedkit.errors import UserError
    from trainers.checkpoints import load_lean

    recipe = load_recipe(recipe_file(tmp_path, RECIPE.format(model=tiny_model, sts=corpora["sts"])))
    train(recipe, tmp_path / "run")
    other = SentenceTransformer(str(build_tiny_model(tmp_path / "other", seed=1)), device="cpu")
    with pytest.raises(UserError, match="another starting model"):
        load_lean(other, tmp_path / "run" / "checkpoints" / "01-sts" / "final")


def test_room_for_a_new_checkpoint_keeps_only_the_newest_complete_ones(tmp_path):
    from trainers.checkpoints import make_room

    required = ("trainer_state.json", "mlm_head.safetensors")
    for step, files in ((2, required), (4, required), (6, required[:1])):
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        for name in files:
            (folder / name).write_text("{}")
    (tmp_path / "final").mkdir()
    make_room(tmp_path, 1, required)  # checkpoint-6 was cut off while being written (no head)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-4", "final"]
    make_room(tmp_path, 0, required)  # keep_checkpoints 1: the old one goes before the new is written
    assert [p.name for p in tmp_path.iterdir()] == ["final"]


class FolderWatch:
    """Samples the bytes under a folder after every write the Trainer makes (each save of a tensor
    file, the optimizer, the RNG state and the trainer state), i.e. at every moment a file is whole."""

    def __init__(self, folder, monkeypatch):
        import torch

        import trainers.checkpoints

        self.folder, self.peak = folder, 0
        for module, name in ((torch, "save"), (trainers.checkpoints, "save_file")):
            original = getattr(module, name)

            def watched(*args, _original=original, **kwargs):
                result = _original(*args, **kwargs)
                self.sample()
                return result

            monkeypatch.setattr(module, name, watched)

    def sample(self) -> None:
        if self.folder.exists():
            self.peak = max(self.peak, folder_bytes(self.folder))


@pytest.mark.parametrize("keep", [1, 2])
def test_keep_checkpoints_bounds_the_folder_at_every_write(tmp_path, tiny_model, corpora, monkeypatch, keep):
    from safetensors.torch import load_file

    text = RECIPE.format(model=tiny_model, sts=corpora["sts"])
    recipe = load_recipe(
        recipe_file(tmp_path, text.replace("keep_checkpoints: 2", f"keep_checkpoints: {keep}"))
    )
    out = tmp_path / "run"
    watch = FolderWatch(out / "checkpoints", monkeypatch)
    train(recipe, out)
    stage = out / "checkpoints" / "01-sts"
    final = stage / "final"
    tensors = final.joinpath(TENSORS_FILE).stat().st_size
    # a checkpoint: the tensors, their two AdamW moments, and small files (scheduler, RNG, state, reference:
    # ~21 kB here); two checkpoints are twice that
    one_checkpoint = 3 * tensors + 60_000
    others = folder_bytes(out / "checkpoints") - folder_bytes(stage)  # recipe.json
    if keep == 1:
        assert watch.peak <= one_checkpoint + others
        assert watch.peak > 3 * tensors  # the watch saw a checkpoint whole
        assert not list(stage.glob("checkpoint-*"))
    else:  # the older checkpoint stays while the new one is written
        assert watch.peak > one_checkpoint + others
        assert [p.name for p in stage.glob("checkpoint-*")] == ["checkpoint-2"]
    # final/ took the last checkpoint's tensor file: it holds the saved model's weights
    expected = weights(out / "model")
    got = {name.removeprefix("0.model."): t for name, t in load_file(str(final / TENSORS_FILE)).items()}
    compared = [name for name in got if name in expected]
    assert compared and all(expected[name].equal(got[name]) for name in compared)
