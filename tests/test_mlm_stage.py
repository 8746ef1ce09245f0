"""The `mlm` stage on a tiny model: LEM then SBERT in one recipe, TLM with --resume, the exported
sentence-transformers folder, the MLM head, and recipe errors."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest

from embedkit.errors import InputError
from trainers import load_recipe, train

EN = "The World Health Organization said on Monday that Paris hosts the talks."
SI = "ශ්‍රී ලංකාවේ ජනාධිපති කොළඹ දී කතා කළේය."
TA = "சென்னையில் மழை பெய்தது."


def spans(text: str, words: list[tuple[str, str]]) -> list[dict]:
    found = [{"start": text.index(w), "end": text.index(w) + len(w), "label": label} for w, label in words]
    return sorted(found, key=lambda s: s["start"])


def write_corpus(folder: Path, rows: list[dict], kind: str) -> str:
    from datasets import Dataset

    Dataset.from_list(rows).save_to_disk(str(folder))
    manifest = {"kind": kind, "rows_out": len(rows), "inputs": [], "builder": "tests"}
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return str(folder)


@pytest.fixture(scope="module")
def corpora(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("mlm-corpora")
    en = spans(
        EN, [("World Health Organization", "ENT"), ("said", "VERB"), ("Monday", "NOUN"), ("Paris", "ENT")]
    )
    si = spans(SI, [("ශ්‍රී ලංකාවේ", "ENT"), ("ජනාධිපති", "NOUN"), ("කොළඹ", "ENT"), ("කතා", "NOUN")])
    ta = spans(TA, [("மழை", "NOUN"), ("பெய்தது", "VERB")])
    rows = []
    for line in range(12):
        rows += [
            {"text": EN, "lang": "en", "spans": en, "pair": f"news:{line}"},
            {"text": SI, "lang": "si", "spans": si, "pair": f"news:{line}"},
            {"text": TA, "lang": "ta", "spans": ta, "pair": f"news:{line}"},
        ]
    sts = [{"sentence1": EN, "sentence2": SI, "score": 0.9, "lang": "en-si"}] * 8
    unpaired = [{**row, "pair": ""} for row in rows]
    return {
        "tagged": write_corpus(root / "tagged", rows, "tagged"),
        "unpaired": write_corpus(root / "unpaired", unpaired, "tagged"),
        "sts": write_corpus(root / "sts", sts, "sts"),
    }


def recipe_file(tmp_path: Path, model: Path, stages: str, head: str = "") -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(f"base_model: {model}\n{head}stages:\n" + textwrap.indent(textwrap.dedent(stages), "  "))
    return path


def weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


def test_lem_then_sbert_in_one_recipe(tmp_path, tiny_model, corpora):
    from safetensors.torch import load_file
    from sentence_transformers import SentenceTransformer

    recipe = recipe_file(
        tmp_path,
        tiny_model,
        f"""\
        - {{type: mlm, name: lem, train: {corpora["tagged"]}, batch_size: 4, max_steps: 3, lr: 1.0e-3}}
        - {{type: sts, name: sbert, train: {corpora["sts"]}, batch_size: 4, max_steps: 2}}
        """,
    )
    out = tmp_path / "run"
    model_dir = train(load_recipe(recipe), out)

    run = json.loads((out / "run.json").read_text())
    lem, sbert = run["stages"]
    assert (lem["type"], lem["loss"], lem["steps"], sbert["steps"]) == ("mlm", "MaskedLMLoss", 3, 2)
    assert lem["metrics"]["train_loss"] > 0 and lem["metrics"]["entity_mask_in_span_ratio"] == 1.0

    stats = json.loads((out / "masking_stats.json").read_text())
    assert stats["entity_mask_in_span_ratio"] == 1.0
    assert stats["subwords_per_chosen_span_max"] == 1
    assert 0.5 < stats["budget_ratio"] < 1.5  # 12 short texts: the rounding of each text's budget shows
    assert stats["texts"] == 12 and stats["masks_by_type"]["ENT"] > 0
    assert set(stats["stages"]) == {"lem"}

    stage = out / "checkpoints" / "01-lem"
    assert (stage / "mlm_head.safetensors").exists() and (stage / "masking_stats.json").exists()
    start = SentenceTransformer(str(tiny_model), device="cpu").state_dict()
    final = load_file(str(stage / "final" / "trainable.safetensors"))  # lean: the tensors the stage changed
    moved = {k for k, v in final.items() if not v.equal(start[k])}
    assert any("encoder.layer" in k for k in moved) and not any("word_embeddings" in k for k in moved)

    # the export: an ordinary sentence-transformers folder, mean pooling, prompts kept
    model = SentenceTransformer(str(model_dir), device="cpu")
    assert model.default_prompt_name == "query" and model.prompts["query"] == "query: "
    assert model[1].pooling_mode == "mean"
    assert not any("mlm" in p.name for p in model_dir.iterdir())
    assert model.encode([EN, SI]).shape == (2, 32)


@pytest.mark.parametrize("head_lr", [None, 1.0e-2])
def test_head_lr_sets_the_new_heads_pace(tmp_path, tiny_model, corpora, head_lr):
    from safetensors.torch import load_file

    extra = f", head_lr: {head_lr}" if head_lr else ""
    recipe = recipe_file(
        tmp_path,
        tiny_model,
        f"- {{type: mlm, train: {corpora['tagged']}, batch_size: 4, max_steps: 2, lr: 1.0e-6, "
        f"warmup: 0{extra}}}\n",
    )
    train(load_recipe(recipe), tmp_path / "run")
    bias = load_file(str(next((tmp_path / "run/checkpoints").glob("01-*/mlm_head.safetensors"))))["bias"]
    moved = bias.abs().max().item()  # the bias starts at zero; Adam moves it about lr per step
    assert (moved > 1e-3) if head_lr else (0 < moved < 1e-5)


def test_tlm_resumes_with_its_head_and_counts(tmp_path, tiny_model, corpora):
    from safetensors.torch import load_file

    stages = f"""\
    - type: mlm
      name: tlm
      pairs: true
      masking: random
      whole_word: true
      train: {corpora["tagged"]}
      batch_size: 4
      max_steps: 4
      save_every: 2
      lr: 1.0e-3
    """
    recipe = load_recipe(recipe_file(tmp_path, tiny_model, stages, head="keep_checkpoints: 2\n"))
    out = tmp_path / "run"
    train(recipe, out)
    stage = out / "checkpoints" / "01-tlm"
    full = json.loads((out / "masking_stats.json").read_text())
    assert full["texts"] == 4 * 4 * 2  # 4 steps of 4 pairs, two texts each
    assert json.loads((out / "run.json").read_text())["stages"][0]["rows"]["train"] == 36  # 3 pairs a line

    # killed after the checkpoint at step 2: --resume restores the head and the counts so far
    checkpoint = stage / "checkpoint-2"
    head_at_2 = load_file(str(checkpoint / "mlm_head.safetensors"))
    assert json.loads((checkpoint / "masking_stats.json").read_text())["texts"] == 16
    for path in (stage / "final", stage / "checkpoint-4", out / "model"):
        shutil.rmtree(path, ignore_errors=True)
    for path in (
        stage / "stage.json",
        out / "run.json",
        out / "masking_stats.json",
        stage / "mlm_head.safetensors",
    ):
        path.unlink(missing_ok=True)
    seen = {}

    from trainers.mlm import trainer as mlm_trainer

    original = mlm_trainer.MaskedLMCheckpoints.on_train_begin

    def spy(self, args, state, control, **kwargs):
        original(self, args, state, control, **kwargs)
        seen["head"] = {k: v.clone() for k, v in self.head.state_dict().items()}
        seen["calls"] = self.collator.calls

    mlm_trainer.MaskedLMCheckpoints.on_train_begin = spy
    try:
        train(recipe, out, resume=True)
    finally:
        mlm_trainer.MaskedLMCheckpoints.on_train_begin = original
    assert seen["calls"] == 2  # the next masks are those an uninterrupted run draws at step 3
    assert all(seen["head"][k].equal(head_at_2[k]) for k in head_at_2)
    resumed = json.loads((out / "masking_stats.json").read_text())
    assert resumed["texts"] == full["texts"] and resumed["masked_tokens"] == full["masked_tokens"]
    assert json.loads((out / "run.json").read_text())["stages"][0]["steps"] == 4


def test_head_from_a_masked_lm_checkpoint(tmp_path, tiny_model):
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import BertConfig, BertForMaskedLM

    from trainers.mlm.head import build_head

    model = SentenceTransformer(str(tiny_model), device="cpu")
    config = BertConfig.from_pretrained(str(tiny_model))
    BertForMaskedLM(config).save_pretrained(str(tmp_path / "mlm"))
    saved = weights(tmp_path / "mlm")
    head, origin = build_head(model, tmp_path / "mlm")
    assert origin.endswith("model.safetensors")
    assert torch.equal(head.transform.dense.weight, saved["cls.predictions.transform.dense.weight"])
    assert build_head(model, tiny_model)[1] == "new"  # an encoder-only folder: a new head


@pytest.mark.parametrize(
    ("stage", "message"),
    [
        (
            "{type: mlm, train: X, loss: MSELoss}",
            "stages\\[0\\].loss: an mlm stage trains with its own MaskedLMLoss",
        ),
        (
            "{type: mlm, train: X, whole_word: true}",
            "stages\\[0\\].whole_word: whole_word is for masking: random",
        ),
        ("{type: mlm, train: X, entity_probs: {PLACE: 1}}", "stages\\[0\\].entity_probs"),
        ("{type: mlm, train: X, dev: {holdout: 2}}", "stages\\[0\\].dev: an mlm stage has no dev evaluation"),
    ],
)
def test_recipe_errors(tmp_path, tiny_model, stage, message):
    with pytest.raises(InputError, match=message):
        load_recipe(recipe_file(tmp_path, tiny_model, f"- {stage}\n"))


def test_pairs_need_aligned_rows(tmp_path, tiny_model, corpora):
    recipe = recipe_file(
        tmp_path, tiny_model, f"- {{type: mlm, pairs: true, train: {corpora['unpaired']}}}\n"
    )
    with pytest.raises(InputError, match="no two of the 36 rows share a `pair` id.*format: aligned"):
        train(load_recipe(recipe), tmp_path / "run")


def test_the_two_recipes_differ_only_in_masking():
    root = Path(__file__).resolve().parents[1] / "recipes"
    lem, mlm = (load_recipe(root / f"{name}-si-ta-en.yaml") for name in ("lem", "mlm"))
    for a, b in zip(lem.stages, mlm.stages, strict=True):
        assert (a.masking, b.masking) == ("lem", "random")
        same = (
            "train",
            "pairs",
            "mask_ratio",
            "batch_size",
            "max_steps",
            "lr",
            "head_lr",
            "warmup",
            "max_rows",
        )
        assert all(getattr(a, key) == getattr(b, key) for key in same)
    assert lem.compute == mlm.compute
