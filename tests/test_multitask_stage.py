"""`type: multitask`: each task's batches reach its own loss, the mix follows the tasks' sizes, and recipe
mistakes stop with file:line before any training."""

from __future__ import annotations

import collections
import json

import pytest
from sentence_transformers.sentence_transformer import losses as st_losses
from test_train_stages import build_corpora, recipe_file

from embedkit.errors import InputError
from trainers import load_recipe


@pytest.fixture(scope="module")
def corpora(tmp_path_factory, shared_data):
    return build_corpora(tmp_path_factory.mktemp("corpora"), shared_data)


def _recipe(tmp_path, tiny_model, corpora, ranking_rows: int = 64, sts_rows: int = 32) -> str:
    return recipe_file(
        tmp_path,
        f"""
        base_model: {tiny_model}
        prompt: null
        compute: {{max_seq_length: 48}}
        stages:
          - type: multitask
            name: mix
            tasks:
              - name: ranking
                train: [{corpora["parallel"]}]
                columns: [source, target]
                loss: MultipleNegativesSymmetricRankingLoss
                batch_sampler: no_duplicates
                max_rows: {ranking_rows}
              - name: sts
                train: [{corpora["sts"]}]
                columns: [sentence1, sentence2]
                label: score
                loss: CoSENTLoss
                batch_sampler: length
                max_rows: {sts_rows}
              - name: anchor
                type: distill
                teacher: {tiny_model}
                train: [{corpora["parallel"]}]
                max_rows: 16
            dev: {{data: [{corpora["sts-dev"]}]}}
            batch_size: 8
            eval_every: 1.0
            save_every: 100
        """,
    )


def test_each_task_trains_its_own_loss_in_proportion(tmp_path, tiny_model, corpora, monkeypatch):
    """64 ranking rows, 32 STS rows and 16 distillation rows at batch 8: 8 + 4 + 2 batches, each given to
    its task's loss (the distill task with its teacher's embeddings as labels)."""
    from embedkit.cli import main

    seen = collections.Counter()

    def counting(cls):
        forward = cls.forward

        def wrapped(self, features, labels):
            seen[cls.__name__] += 1
            seen[f"{cls.__name__} rows"] += features[0]["input_ids"].shape[0]
            return forward(self, features, labels)

        monkeypatch.setattr(cls, "forward", wrapped)

    counting(st_losses.MultipleNegativesSymmetricRankingLoss)
    counting(st_losses.CoSENTLoss)
    counting(st_losses.MSELoss)
    out = tmp_path / "run"
    assert main(["train", "--quiet", str(_recipe(tmp_path, tiny_model, corpora)), "--out", str(out)]) == 0
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    stage = run["stages"][0]
    assert stage["steps"] == 14
    assert stage["rows"] == {"ranking_train": 64, "sts_train": 32, "anchor_train": 16, "dev": 40}
    assert "dev_score" in stage["metrics"]
    # one probe call per loss before training (2 rows each), then the training batches of 8
    assert seen["MultipleNegativesSymmetricRankingLoss"] == 1 + 8
    assert seen["CoSENTLoss"] == 1 + 4
    assert seen["MultipleNegativesSymmetricRankingLoss rows"] == 2 + 8 * 8
    assert seen["CoSENTLoss rows"] == 2 + 4 * 8
    assert seen["MSELoss"] == 1 + 2 and seen["MSELoss rows"] == 2 + 2 * 8
    from sentence_transformers import SentenceTransformer

    assert SentenceTransformer(str(out / "model")).encode(["नमस्ते"]).shape == (1, 32)


@pytest.mark.parametrize(
    ("edit", "where", "message"),
    [
        (("loss: CoSENTLoss", "loss: CoSENTLos"), "stages[0].tasks[1].loss", "unknown loss"),
        (("name: sts", "name: ranking"), "stages[0]", "task names repeat"),
        (("    batch_size: 8", "    batch_size: 8\n    loss: CoSENTLoss"), "stages[0]", "stage-level 'loss'"),
        (("label: score", "label: score\n        mix: x"), "stages[0].tasks[1].mix", "unknown key"),
        (("label: score", "label: score\n        lr: 1.0e-3"), "stages[0].tasks[1].lr", "shared by every"),
        (("name: sts", "name: sts\n        type: lexical"), "stages[0].tasks[1].type", "not 'lexical'"),
    ],
)
def test_recipe_mistakes_are_placed(tmp_path, tiny_model, corpora, edit, where, message):
    path = _recipe(tmp_path, tiny_model, corpora)
    text = path.read_text(encoding="utf-8")
    assert edit[0] in text
    path.write_text(text.replace(edit[0], edit[1], 1), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_recipe(path)
    assert where in str(caught.value) and message in str(caught.value)
    assert f"{path}:" in str(caught.value)


def test_flagship_recipe_validates():
    from pathlib import Path

    recipe = load_recipe(Path(__file__).parent.parent / "recipes/indic-offline.yaml")
    assert [stage.type for stage in recipe.stages] == ["custom", "multitask"]
    assert [task["name"] for task in recipe.stages[1].tasks] == ["ranking", "sts", "muse-words", "nlpc-words"]
