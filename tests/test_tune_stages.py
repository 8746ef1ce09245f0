"""`embedkit tune` with every stage type as the objective: one trial each, on the tiny model and real rows.
(The sts stage is the smoke recipe of test_tune_study; an mlm stage has no dev set, so its recipe tunes the
mlm stage's lr on the dev score of the sts stage after it.)"""

from __future__ import annotations

import json
import textwrap

import optuna
import pytest
from optuna.trial import TrialState
from test_lexical import muse_rows, write_lexicon
from test_mlm_stage import EN, SI, spans
from test_train_stages import build_corpora, write_corpus

from embedkit.cli import main


@pytest.fixture(scope="module")
def corpora(tmp_path_factory, shared_data) -> dict:
    root = tmp_path_factory.mktemp("tune-corpora")
    found = build_corpora(root, shared_data)
    found["lexicon"] = write_lexicon(
        root / "lexicon", muse_rows(shared_data, "hi", 300) + muse_rows(shared_data, "ta", 200)
    )
    en = spans(EN, [("World Health Organization", "ENT"), ("said", "VERB"), ("Paris", "ENT")])
    si = spans(SI, [("කොළඹ", "ENT"), ("කතා", "NOUN")])
    rows = [{"text": EN, "lang": "en", "spans": en}, {"text": SI, "lang": "si", "spans": si}] * 8
    found["tagged"] = write_corpus(root / "tagged", rows, "tagged")
    return found


STAGES = {
    "nli": "- {{type: nli, train: {nli}, dev: {sts-dev}, batch_size: 8}}",
    "custom": "- {{type: custom, train: {nli}, columns: [anchor, positive, negative], loss: TripletLoss, "
    "dev: {sts-dev}, batch_size: 8}}",
    "distill": "- {{type: distill, teacher: {model}, train: {parallel}, dev: {{holdout: 10}}, "
    "batch_size: 8}}",
    "lexical": "- {{type: lexical, train: {lexicon}, dev: {{holdout: 10}}, dev_candidates: 50, "
    "batch_size: 8}}",
    "mlm": "- {{type: mlm, train: {tagged}, batch_size: 4}}\n"
    "- {{type: sts, train: {sts}, dev: {sts-dev}, batch_size: 8}}",
}


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_one_trial_with_each_stage_type_as_objective(stage, tmp_path, tiny_model, corpora, capsys):
    stages = STAGES[stage].format(model=tiny_model, **corpora)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        f"name: tune-{stage}\nbase_model: {tiny_model}\nstages:\n"
        + textwrap.indent(stages, "  ")
        + "\nsearch:\n  params:\n    stages.0.lr: [1.0e-4, 3.0e-4]\n    stages.0.max_steps: [2, 3]\n"
        "  pruner: none\n",
        encoding="utf-8",
    )
    out = tmp_path / "tune"
    assert main(["tune", str(recipe), "--trials", "1", "--out", str(out), "-q"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(out / "best.yaml")

    study = optuna.load_study(study_name=f"tune-{stage}", storage=f"sqlite:///{out / 'study.db'}")
    (trial,) = study.trials
    assert trial.state == TrialState.COMPLETE
    assert 0 <= abs(study.user_attrs["baseline"]) <= 1  # the base model scored by the same dev evaluator
    run = json.loads((out / "trials" / "0000" / "run.json").read_text(encoding="utf-8"))
    objective = run["stages"][-1]
    assert objective["metrics"]["dev_score"] == pytest.approx(trial.value)
    assert run["stages"][0]["steps"] == trial.params["stages.0.max_steps"]
    assert (out / "best-model" / "model.safetensors").exists()
