"""The `joint` stage: translation ranking + masked-LM in one loss on a tiny model — both parts give
gradients, the weight scales the masked-LM part, the saved model has no MLM head, recipe errors."""

from __future__ import annotations

import json

import pytest
import torch
from test_mlm_stage import EN, SI, TA, corpora, recipe_file  # noqa: F401  (corpora: a fixture)

from embedkit.errors import InputError
from trainers import load_recipe, train
from trainers.mlm.collator import MaskedLMCollator
from trainers.mlm.head import build_head
from trainers.stages.joint import JointCollator, RankingWithMaskedLM


def _batch(model, monolingual: bool = True) -> tuple[dict, list]:
    rows = [
        {"text": EN, "spans": [], "text_pair": SI, "spans_pair": []},
        {"text": TA, "spans": [], "text_pair": EN, "spans_pair": []},
        {"text": SI, "spans": [], "text_pair": TA, "spans_pair": []},
    ]
    masked = MaskedLMCollator(model.tokenizer, masking="random", ratio=0.3, seed=1, pairs=not monolingual)
    batch = JointCollator(model.preprocess, "query: ", masked, monolingual)(rows)
    from sentence_transformers import SentenceTransformerTrainer

    batch.pop("masking_stats")
    return SentenceTransformerTrainer.collect_features(None, batch)


def _grads(model, loss: RankingWithMaskedLM, features, labels) -> dict[str, torch.Tensor]:
    model.zero_grad(set_to_none=True)
    loss.masked_lm.head.zero_grad(set_to_none=True)
    parts = loss(features, labels)
    sum(parts.values()).backward()
    named = {
        **dict(model.named_parameters()),
        **{f"head.{k}": v for k, v in loss.masked_lm.head.named_parameters()},
    }
    return {k: (v.grad.clone() if v.grad is not None else torch.zeros_like(v)) for k, v in named.items()}


def test_both_parts_give_gradients_and_the_weight_scales_the_masked_lm_part(tiny_model):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.losses import MultipleNegativesSymmetricRankingLoss

    from trainers.mlm.head import MaskedLMLoss

    model = SentenceTransformer(str(tiny_model), device="cpu")
    model.train()
    for module in model.modules():  # no dropout: the same forward for every call
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    head, _ = build_head(model)
    features, labels = _batch(model)
    assert len(features) == 3 and labels.shape[0] == 6  # monolingual: each side its own sequence
    assert (labels != -100).any()

    def joint(weight: float) -> RankingWithMaskedLM:
        return RankingWithMaskedLM(
            MultipleNegativesSymmetricRankingLoss(model), MaskedLMLoss(model, head), weight
        )

    mlm_alone = float(MaskedLMLoss(model, head)(features[2:3], labels))
    ranking_alone = float(MultipleNegativesSymmetricRankingLoss(model)(features[:2], None))
    parts = joint(0.5)(features, labels)
    assert float(parts["masked_lm"]) == pytest.approx(0.5 * mlm_alone, rel=1e-5)
    assert float(parts["ranking"]) == pytest.approx(ranking_alone, rel=1e-5)

    zero, one, two = (_grads(model, joint(w), features, labels) for w in (0.0, 1.0, 2.0))
    layer = "0.model.encoder.layer.0.attention.self.query.weight"
    # the ranking part alone moves the encoder, not the head
    assert zero[layer].abs().sum() > 0 and zero["head.bias"].abs().sum() == 0
    # the masked-LM part adds its own gradient, linear in the weight, to the encoder and the head
    mlm_part = one[layer] - zero[layer]
    assert mlm_part.abs().sum() > 1e-6 * zero[layer].abs().sum()
    torch.testing.assert_close(two[layer] - zero[layer], 2 * mlm_part, rtol=1e-3, atol=1e-7)
    torch.testing.assert_close(two["head.bias"], 2 * one["head.bias"], rtol=1e-4, atol=1e-8)


def test_the_anchor_is_zero_at_the_start_and_pulls_a_moved_model_back(tiny_model):
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.losses import MultipleNegativesSymmetricRankingLoss

    from trainers.stages.joint import with_anchor_targets

    model = SentenceTransformer(str(tiny_model), device="cpu")
    rows = Dataset.from_list(
        [
            {"text": EN, "spans": [], "text_pair": SI, "spans_pair": []},
            {"text": TA, "spans": [], "text_pair": EN, "spans_pair": []},
        ]
    )
    rows = with_anchor_targets(rows, model, "query: ")
    model.eval()  # no dropout: the model's embeddings now are the targets' (up to padding)
    batch = JointCollator(model.preprocess, "query: ", None)(list(rows))
    from sentence_transformers import SentenceTransformerTrainer

    features, _ = SentenceTransformerTrainer.collect_features(None, batch)
    assert features[0]["anchor"].shape == (2, model.get_sentence_embedding_dimension())
    # the same English text has the same target in either column
    torch.testing.assert_close(features[0]["anchor"][0], features[1]["anchor"][1])
    loss = RankingWithMaskedLM(MultipleNegativesSymmetricRankingLoss(model), None, 0.0, anchor_weight=2.0)
    start = loss(features, None)
    assert float(start["anchor"]) == pytest.approx(0.0, abs=1e-8)
    texts = [{k: v for k, v in column.items() if k != "anchor"} for column in features]
    ranking_alone = float(MultipleNegativesSymmetricRankingLoss(model)(texts, None))
    assert float(start["ranking"]) == pytest.approx(ranking_alone, rel=1e-5)

    layer = model[0].auto_model.encoder.layer[0].attention.self.query.weight
    displacement = 0.05 * torch.randn_like(layer)
    with torch.no_grad():
        layer.add_(displacement)
    model.zero_grad(set_to_none=True)
    moved = loss(features, None)
    assert float(moved["anchor"]) > 0
    moved["anchor"].backward()
    # the anchor's gradient points along the displacement: a step down it moves the layer back
    assert float((layer.grad * displacement).sum()) > 0


def test_tlm_input_is_one_sequence_per_pair(tiny_model):
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(tiny_model), device="cpu")
    features, labels = _batch(model, monolingual=False)
    assert labels.shape[0] == 3 and features[2]["input_ids"].shape[0] == 3
    sep = model.tokenizer.sep_token_id
    assert all((row == sep).sum() >= 2 for row in features[2]["input_ids"])  # both texts in one sequence
    # the ranking texts carry the prompt, the masked ones (mlm_prompt false) do not
    prompt = model.tokenizer("query: ", add_special_tokens=False)["input_ids"]
    assert features[0]["input_ids"][0, 1 : 1 + len(prompt)].tolist() == prompt
    assert features[2]["input_ids"][0, 1 : 1 + len(prompt)].tolist() != prompt


@pytest.mark.parametrize(("weight", "anchor"), [(0.2, 0.0), (0.0, 0.0), (0.2, 1.0)])
def test_joint_stage_trains_and_saves_a_plain_encoder(tmp_path, tiny_model, corpora, weight, anchor):  # noqa: F811
    from sentence_transformers import SentenceTransformer

    recipe = recipe_file(
        tmp_path,
        tiny_model,
        f"""\
        - {{type: joint, name: joint, train: {corpora["tagged"]}, masking: lem, mlm_weight: {weight},
            mlm_schedule: linear_decay, batch_sampler: length, batch_size: 4, max_steps: 3, lr: 1.0e-3,
            head_lr: 1.0e-2, anchor_weight: {anchor}}}
        """,
    )
    from transformers import TrainerCallback

    logged: list[dict] = []

    class Logged(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            logged.append(dict(logs or {}))

    out = tmp_path / "run"
    model_dir = train(load_recipe(recipe), out, callbacks=[Logged()])
    (stage,) = json.loads((out / "run.json").read_text())["stages"]
    assert stage["type"] == "joint" and stage["steps"] == 3
    stage_dir = out / "checkpoints" / "01-joint"
    assert stage["loss"].endswith(" + 1·anchor") == bool(anchor)
    steps = [entry for entry in logged if "ranking" in entry]
    assert steps and all(("anchor" in entry) == bool(anchor) for entry in steps)
    if anchor:  # dropout and the steps move the embeddings off the starting model's
        assert all(entry["anchor"] > 0 for entry in steps)
    if weight:
        assert stage["loss"].startswith("MultipleNegativesSymmetricRankingLoss + 0.2·MaskedLMLoss (lem")
        assert stage["metrics"]["entity_mask_in_span_ratio"] == 1.0
        assert (stage_dir / "mlm_head.safetensors").is_file() and (out / "masking_stats.json").is_file()
    else:
        assert stage["loss"] == "MultipleNegativesSymmetricRankingLoss"
        assert not (stage_dir / "mlm_head.safetensors").exists()
    # the export is a plain sentence-transformers encoder: no head, loads as any model does
    assert not any("mlm" in p.name or "head" in p.name for p in model_dir.rglob("*"))
    model = SentenceTransformer(str(model_dir), device="cpu")
    assert model.encode([EN, SI]).shape == (2, 32)
    assert not any(k.startswith(("head", "cls", "lm_head")) for k in model.state_dict())


def test_a_stage_with_no_full_batch_stops_instead_of_training_0_steps(tmp_path, tiny_model, corpora):  # noqa: F811
    # every row of the corpus holds the same three texts, so no two rows may share a batch
    recipe = recipe_file(
        tmp_path,
        tiny_model,
        f"- {{type: joint, name: joint, train: {corpora['tagged']}, batch_size: 4, max_steps: 3}}\n",
    )
    out = tmp_path / "run"
    with pytest.raises(
        InputError,
        match=r"recipe.yaml:\d+.*stages\[0\]\.batch_size: the 36 training rows make no "
        r"full batch of 4 with batch_sampler length_no_duplicates \(no text twice",
    ):
        train(load_recipe(recipe), out)
    assert not (out / "model").exists()


@pytest.mark.parametrize(
    ("stage", "message"),
    [
        ("{type: joint, train: X, dev: {holdout: 2}}", "stages\\[0\\].dev: a joint stage has no dev"),
        (
            "{type: joint, train: X, pairs: false}",
            "stages\\[0\\].pairs: a joint stage trains on aligned pairs",
        ),
        ("{type: joint, train: X, loss: CoSENTLoss}", "stages\\[0\\].loss: CoSENTLoss takes"),
        ("{type: joint, train: X, mlm_weight: -1}", "stages\\[0\\].mlm_weight"),
    ],
)
def test_recipe_errors(tmp_path, tiny_model, stage, message):
    with pytest.raises(InputError, match=message):
        load_recipe(recipe_file(tmp_path, tiny_model, f"- {stage}\n"))


def test_the_joint_recipes_differ_only_in_the_masked_lm_part():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "recipes"
    lem, mlm, ranking, sequential = (
        load_recipe(root / f"{name}-si-ta-en.yaml")
        for name in ("lem-joint", "mlm-joint", "ranking", "lem-then-ranking")
    )
    stages = [lem.stages[0], mlm.stages[0], ranking.stages[0], sequential.stages[-1]]
    assert [(s.type, s.masking, s.mlm_weight) for s in stages] == [
        ("joint", "lem", 0.1),
        ("joint", "random", 0.1),
        ("joint", "lem", 0.0),
        ("joint", "lem", 0.0),
    ]
    same = (
        "train",
        "loss",
        "batch_sampler",
        "batch_size",
        "max_steps",
        "lr",
        "warmup",
        "max_rows",
        "mlm_input",
        "anchor_weight",
    )
    for stage in stages[1:]:
        assert all(getattr(stage, key) == getattr(stages[0], key) for key in same)
    assert lem.compute == mlm.compute == ranking.compute == sequential.compute
    assert lem.trim == mlm.trim == ranking.trim == sequential.trim
    # the sequential variant starts with lem-si-ta-en's two stages, cut to half their steps to fit 40 min
    alone = load_recipe(root / "lem-si-ta-en.yaml")
    assert sequential.stages[:2] == [
        stage.model_copy(update={"max_steps": stage.max_steps // 2}) for stage in alone.stages
    ]
