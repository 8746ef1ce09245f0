"""Each stage type, two steps on a tiny model and real rows; the run folder; errors before training."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from embedkit.cli import main
from embedkit.errors import InputError
from trainers import load_recipe, train
from trainers.checkpoints import load_lean

# --- corpus folders in the contract layout, from real rows of ../shared/data -----------------------


def write_corpus(folder: Path, rows: list[dict], kind: str) -> Path:
    from datasets import Dataset

    Dataset.from_list(rows).save_to_disk(str(folder))
    manifest = {"kind": kind, "rows_out": len(rows), "inputs": [], "builder": "tests"}
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def stsb_rows(shared: Path, path: str, lang: str, n: int) -> list[dict]:
    lines = (shared / path).read_text(encoding="utf-8").splitlines()[:n]
    fields = [line.split("\t") for line in lines]
    return [{"sentence1": f[5], "sentence2": f[6], "score": float(f[4]) / 5, "lang": lang} for f in fields]


def nli_rows(shared: Path, n: int) -> list[dict]:
    """(anchor, positive, negative) from English STSb: a near-paraphrase pair and an unrelated sentence."""
    rows = stsb_rows(shared, "stsb_english/sts-train.csv", "en", 2000)
    close = [r for r in rows if r["score"] >= 0.8]
    far = [r["sentence2"] for r in rows if r["score"] <= 0.1]
    return [
        {"anchor": r["sentence1"], "positive": r["sentence2"], "negative": far[i], "lang": "en"}
        for i, r in enumerate(close[:n])
    ]


def parallel_rows(shared: Path, langs: dict[str, str], n: int) -> list[dict]:
    english = (shared / "ntrex128/newstest2019-src.eng.txt").read_text(encoding="utf-8").splitlines()
    rows = []
    for code, lang in langs.items():
        target = (shared / f"ntrex128/newstest2019-ref.{code}.txt").read_text(encoding="utf-8").splitlines()
        rows += [
            {"source": e, "target": t, "source_lang": "en", "target_lang": lang}
            for e, t in zip(english[:n], target[:n], strict=True)
        ]
    return rows


def build_corpora(root: Path, shared_data: Path) -> dict[str, Path]:
    return {
        "sts": write_corpus(root / "sts-hi", stsb_rows(shared_data, STS_HI, "hi", 64), "sts"),
        "sts-dev": write_corpus(root / "sts-hi-dev", stsb_rows(shared_data, STS_HI_DEV, "hi", 40), "sts"),
        "nli": write_corpus(root / "nli", nli_rows(shared_data, 48), "nli"),
        "parallel": write_corpus(
            root / "par", parallel_rows(shared_data, {"hin": "hi", "tam": "ta"}, 40), "parallel"
        ),
    }


@pytest.fixture(scope="module")
def corpora(tmp_path_factory, shared_data) -> dict[str, Path]:
    return build_corpora(tmp_path_factory.mktemp("corpora"), shared_data)


STS_HI = "stsb_translated_l3cube/hindi/sts-train-hi.tsv"
STS_HI_DEV = "stsb_translated_l3cube/hindi/sts-dev-hi.tsv"


def recipe_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


def changed(before: dict, after: dict) -> set[str]:
    import torch

    return {name for name in before if not torch.equal(before[name], after[name])}


# --- two steps of each stage type -------------------------------------------------------------------


STAGE_CASES = {
    "sts": """\
      - type: sts
        train: {sts}
        dev: {sts-dev}
        batch_size: 8""",
    "nli": """\
      - type: nli
        train: {nli}
        dev: {sts-dev}
        batch_size: 8""",
    "distill": """\
      - type: distill
        teacher: {model}
        train: {parallel}
        dev: {{holdout: 10}}
        batch_size: 8
        lr: 1.0e-4""",
    "custom": """\
      - type: custom
        train: {nli}
        columns: [anchor, positive, negative]
        loss: TripletLoss
        batch_size: 8""",
}


@pytest.mark.parametrize("stage", sorted(STAGE_CASES))
def test_two_steps_of_each_stage_type(stage, tmp_path, tiny_model, corpora, capsys):
    stage_text = STAGE_CASES[stage].format(model=tiny_model, **corpora)
    recipe = recipe_file(
        tmp_path,
        f"base_model: {tiny_model}\nstages:\n"
        + textwrap.indent(textwrap.dedent(stage_text), "  ")
        + "\n    max_steps: 2\n    eval_every: 2\n",
    )
    out = tmp_path / "run"
    assert main(["train", str(recipe), "--out", str(out), "--quiet"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(out / "model")

    run = json.loads((out / "run.json").read_text())
    assert {
        "recipe",
        "data",
        "stages",
        "base_model",
        "versions",
        "git_revision",
        "seed",
        "wall_time_s",
    } <= set(run)
    (result,) = run["stages"]
    assert (result["type"], result["steps"]) == (stage, 2)
    default_loss = {"sts": "CoSENTLoss", "nli": "MultipleNegativesRankingLoss", "distill": "MSELoss"}
    assert result["loss"] == default_loss.get(stage, "TripletLoss")
    assert result["metrics"]["train_loss"] > 0
    if stage != "custom":  # the custom stage here has no dev set
        assert 0 <= abs(result["metrics"]["dev_score"]) <= 1
    assert run["data"] and all("path" in manifest for manifest in run["data"])
    assert run["recipe"]["stages"][0]["max_steps"] == 2
    assert run["versions"]["sentence-transformers"]

    # trained: the encoder moved, the frozen (CPU default) word embeddings did not
    moved = changed(weights(tiny_model), weights(out / "model"))
    assert any("encoder.layer" in name for name in moved)
    assert not any("word_embeddings" in name for name in moved)
    assert run["frozen_word_embeddings"] is True

    # the training prompt is kept as the saved model's default prompt
    config = json.loads((out / "model" / "config_sentence_transformers.json").read_text())
    assert run["prompt"] == "query: " == config["prompts"][config["default_prompt_name"]]
    assert (out / "checkpoints" / f"01-{stage}" / "final" / "trainable.safetensors").exists()


INTERPOLATED = """\
base_model: {model}
stages:
  - {{type: sts, name: first, train: {sts}, batch_size: 8, max_steps: 2, lr: 2.0e-3}}
  - type: sts
    name: second
    train: {sts}
    dev: {dev}
    batch_size: 8
    max_steps: 3
    eval_every: 3
    lr: 2.0e-3
"""


@pytest.mark.parametrize("toward", ["start", "base"])
def test_interpolate_moves_the_trained_weights_back_toward_the_start_or_the_base(
    toward, tmp_path, tiny_model, corpora
):
    """`interpolate: {toward, keep: w}` ends the stage at w x (its start | the base) + (1 - w) x what the same
    run trains without it, and the stage's dev score is that model's, not the last step's before it."""
    import torch
    from datasets import load_from_disk
    from sentence_transformers import SentenceTransformer

    from trainers.evaluators import MeanEvaluator, build_dev_evaluators

    text = INTERPOLATED.format(model=tiny_model, sts=corpora["sts"], dev=corpora["sts-dev"])
    runs = {}
    for name, extra in {"plain": "", "kept": f"    interpolate: {{toward: {toward}, keep: 0.25}}\n"}.items():
        (tmp_path / name).mkdir()
        runs[name] = train(load_recipe(recipe_file(tmp_path / name, text + extra)), tmp_path / name / "run")
    plain, kept = weights(runs["plain"]), weights(runs["kept"])
    base = weights(tiny_model)
    if toward == "start":  # the base with the first stage's lean final applied
        first = SentenceTransformer(str(tiny_model), device="cpu")
        load_lean(first, tmp_path / "plain" / "run" / "checkpoints" / "01-first" / "final")
        first.save(str(tmp_path / "first"))
        reference = weights(tmp_path / "first")
    else:
        reference = base
    assert any("encoder.layer" in name for name in changed(reference, plain))
    for name in base:
        torch.testing.assert_close(kept[name], 0.25 * reference[name] + 0.75 * plain[name])

    evaluator = MeanEvaluator(build_dev_evaluators(load_from_disk(str(corpora["sts-dev"])), "sts", None))
    recorded = {}
    for name, model_dir in runs.items():
        run = json.loads((model_dir.parent / "run.json").read_text())
        recorded[name] = run["stages"][1]["metrics"]["dev_score"]
        scored = evaluator(SentenceTransformer(str(model_dir), device="cpu"))["dev_score"]
        assert recorded[name] == pytest.approx(scored, abs=1e-6)
    assert recorded["kept"] != recorded["plain"]


def test_training_applies_the_prompt_and_stage_outputs_chain(tmp_path, tiny_model, corpora):
    """Two stages: the second starts from the first's weights; every batch is tokenized with the prompt."""
    from transformers import TrainerCallback

    class SeePrompts(TrainerCallback):
        prompts = []

        def on_train_begin(self, args, state, control, train_dataloader=None, **kwargs):
            self.prompts.append(train_dataloader.collate_fn.prompts)

    recipe = load_recipe(
        recipe_file(
            tmp_path,
            f"""\
            base_model: {tiny_model}
            stages:
              - {{type: sts, name: first, train: {corpora["sts"]}, batch_size: 8, max_steps: 2}}
              - {{type: sts, name: second, train: {corpora["sts"]}, batch_size: 8, max_steps: 2}}
            """,
        )
    )
    seen = SeePrompts()
    model_dir = train(recipe, tmp_path / "run", callbacks=[seen])
    assert seen.prompts == ["query: ", "query: "]
    from safetensors.torch import load_file
    from sentence_transformers import SentenceTransformer

    # final/ is lean: the tensors the stage trained (see trainers.checkpoints)
    first = load_file(str(tmp_path / "run" / "checkpoints" / "01-first" / "final" / "trainable.safetensors"))
    start, end = (SentenceTransformer(str(m), device="cpu").state_dict() for m in (tiny_model, model_dir))
    assert changed(first, start) and changed(first, end)


def test_no_prompt_and_frozen_lower_layers(tmp_path, tiny_model, corpora):
    """prompt: null trains and saves without a prompt; compute.freeze_layers keeps the lowest layers.
    Progress goes to the Progress passed in; the `datasets` progress-bar setting is restored afterwards."""
    import datasets

    from embedkit.progress import RecordingProgress

    stage = f"  - {{type: sts, train: {corpora['sts']}, batch_size: 8, max_steps: 1}}\n"
    text = f"base_model: {tiny_model}\nprompt: null\ncompute: {{freeze_layers: 1}}\nstages:\n{stage}"
    datasets.enable_progress_bars()
    progress = RecordingProgress()
    model_dir = train(load_recipe(recipe_file(tmp_path, text)), tmp_path / "run", progress=progress)
    assert not datasets.are_progress_bars_disabled()
    assert ("start", "stages", 1, 0) in progress.events and ("end", "stages") == progress.events[-1]
    assert ("start", "stage 1/1 sts", 1, 0) in progress.events
    assert ("update", "stage 1/1 sts", 1, None) in progress.events and (
        "end",
        "stage 1/1 sts",
    ) in progress.events
    config = json.loads((model_dir / "config_sentence_transformers.json").read_text())
    assert config["default_prompt_name"] is None  # encode() must not add a prompt training never saw
    moved = changed(weights(tiny_model), weights(model_dir))
    assert any("encoder.layer.1." in name for name in moved)
    assert not any("encoder.layer.0." in name or "embeddings" in name for name in moved)


# --- bad input, caught before training --------------------------------------------------------------


def run_expecting_error(tmp_path: Path, text: str) -> InputError:
    recipe = load_recipe(recipe_file(tmp_path, text))
    with pytest.raises(InputError) as caught:
        train(recipe, tmp_path / "run")
    assert not list((tmp_path / "run" / "checkpoints").glob("*/checkpoint-*"))  # no training happened
    return caught.value


def test_missing_corpus_folder_names_its_place(tmp_path, tiny_model):
    error = run_expecting_error(
        tmp_path, f"base_model: {tiny_model}\nstages:\n  - type: sts\n    train: [{tmp_path / 'nope'}]\n"
    )
    assert error.line == 4 and "stages[0].train[0]" in error.problem and "not found" in error.problem


def test_corpus_of_the_wrong_kind(tmp_path, tiny_model, corpora):
    error = run_expecting_error(
        tmp_path, f"base_model: {tiny_model}\nstages:\n  - type: sts\n    train: {corpora['parallel']}\n"
    )
    assert "stages[0].train[0]" in error.problem
    assert (
        "parallel" in error.problem
        and "sentence1" in error.problem
        and "embedkit corpus build sts" in error.problem
    )


def test_columns_that_do_not_fit_the_loss(tmp_path, tiny_model, corpora):
    error = run_expecting_error(
        tmp_path,
        f"""\
        base_model: {tiny_model}
        stages:
          - type: custom
            train: {corpora["nli"]}
            columns: [anchor, positive, negative]
            loss: CoSENTLoss
        """,
    )
    assert "stages[0].loss" in error.problem and "CoSENTLoss does not fit" in error.problem
    assert "anchor" in error.problem


def test_batch_that_cannot_fit_in_memory_is_refused(tmp_path, tiny_model, corpora):
    error = run_expecting_error(
        tmp_path,
        f"base_model: {tiny_model}\nstages:\n  - type: sts\n    train: {corpora['sts']}\n"
        "    batch_size: 50000000\n",
    )
    assert error.line == 5 and "stages[0].batch_size" in error.problem
    assert "GiB" in error.problem and "available" in error.problem and "lower batch_size" in error.problem


def test_memory_estimate_follows_batch_length_and_freezing(tiny_model):
    from sentence_transformers import SentenceTransformer

    from trainers.compute import estimate_memory, freeze_word_embeddings

    model = SentenceTransformer(str(tiny_model), device="cpu")
    small, long = estimate_memory(model, 32, 64, "cpu"), estimate_memory(model, 32, 128, "cpu")
    assert estimate_memory(model, 64, 64, "cpu").activations == pytest.approx(2 * small.activations, rel=0.01)
    assert long.activations > 2 * small.activations  # attention scores grow with length squared
    freeze_word_embeddings(model)
    assert estimate_memory(model, 32, 64, "cpu").training_state < small.training_state


def test_finished_out_dir_is_not_overwritten(tmp_path, tiny_model, corpora, capsys):
    stage = f"  - {{type: sts, train: {corpora['sts']}, batch_size: 8, max_steps: 1}}\n"
    recipe = recipe_file(tmp_path, f"base_model: {tiny_model}\nstages:\n{stage}")
    out = tmp_path / "run"
    assert main(["train", str(recipe), "--out", str(out), "-q"]) == 0
    assert main(["train", str(recipe), "--out", str(out), "-q"]) == 2
    assert "already holds a finished run" in capsys.readouterr().err
