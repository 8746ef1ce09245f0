"""The `search:` block: every mistake is one message naming its line in the recipe, before any trial."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from embedkit.cli import main
from embedkit.errors import InputError, UserError
from embedkit.tune.space import load_search, trial_recipe

REPO = Path(__file__).resolve().parent.parent
SMOKE = REPO / "recipes" / "tune-smoke.yaml"


def with_search(tmp_path: Path, search: str) -> Path:
    """The smoke recipe with its search block replaced by `search` (YAML text below `search:`)."""
    text = SMOKE.read_text(encoding="utf-8")
    text = text[: text.index("search:")] + "search:\n" + search
    path = tmp_path / "recipe.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def line_of(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


def problem(path: Path, overrides: list[str] | None = None) -> InputError:
    with pytest.raises(InputError) as caught:
        load_search(path, overrides or [])
    return caught.value


def test_the_smoke_recipe_declares_its_search(tmp_path):
    recipe, space = load_search(SMOKE)
    assert list(space.params) == ["stages.0.lr", "stages.0.warmup", "stages.0.loss_args.scale"]
    assert (space.metric, space.direction, space.stage_index) == ("dev_score", "maximize", 0)
    assert space.params["stages.0.lr"].log and space.params["stages.0.lr"].low == pytest.approx(1e-5)
    assert recipe.stages[0].dev is not None


def test_trial_values_go_through_the_set_mechanism_keeping_their_types():
    recipe = trial_recipe(SMOKE, [], {"stages.0.lr": 5e-05, "stages.0.loss_args.scale": 40.0})
    assert recipe.stages[0].lr == 5e-05 and isinstance(recipe.stages[0].lr, float)
    assert recipe.stages[0].loss_args == {"scale": 40.0}
    assert recipe.search is None  # a trial trains the recipe without its search block
    by_name = trial_recipe(SMOKE, [], {"stages.sts-en.scheduler": "cosine"})
    assert by_name.stages[0].scheduler == "cosine"


def test_unknown_recipe_key_names_the_param_line(tmp_path):
    path = with_search(tmp_path, "  params:\n    stages.0.lrate: {type: float, low: 1.0e-5, high: 1.0e-4}\n")
    error = problem(path)
    assert (error.path, error.line) == (str(path), line_of(path, "stages.0.lrate:"))
    assert error.problem.startswith("search.params.stages.0.lrate:")
    assert "unknown key 'lrate'" in error.problem and "batch_size" in error.problem


def test_key_path_past_the_end_of_a_list(tmp_path):
    path = with_search(tmp_path, "  params:\n    stages.3.lr: {type: float, low: 1.0e-5, high: 1.0e-4}\n")
    error = problem(path)
    assert error.line == line_of(path, "stages.3.lr:")
    assert "not a recipe key" in error.problem and "no index 3" in error.problem


def test_low_above_high(tmp_path):
    path = with_search(
        tmp_path, "  params:\n    stages.0.lr:\n      type: float\n      low: 1.0e-3\n      high: 1.0e-5\n"
    )
    error = problem(path)
    assert line_of(path, "stages.0.lr:") <= error.line <= line_of(path, "high: 1.0e-5")  # in its block
    assert "low (0.001) must be below high (1e-05)" in error.problem


def test_log_range_from_zero(tmp_path):
    path = with_search(
        tmp_path, "  params:\n    stages.0.warmup: {type: float, low: 0.0, high: 0.3, log: true}\n"
    )
    assert "a log range needs low > 0" in problem(path).problem


def test_range_end_the_recipe_rejects(tmp_path):
    path = with_search(tmp_path, "  params:\n    stages.0.warmup: {type: float, low: 0.0, high: 1.5}\n")
    error = problem(path)
    assert error.line == line_of(path, "stages.0.warmup:")
    assert "1.5 does not fit the recipe" in error.problem and "less than or equal to 1" in error.problem


def test_float_range_on_an_integer_key(tmp_path):
    path = with_search(tmp_path, "  params:\n    stages.0.batch_size: {type: float, low: 8, high: 32}\n")
    error = problem(path)
    assert error.line == line_of(path, "stages.0.batch_size:")
    assert "valid integer" in error.problem


def test_choices_of_the_wrong_type(tmp_path):
    path = with_search(tmp_path, "  params:\n    stages.0.scheduler: [linear, 3]\n")
    error = problem(path)
    assert "3 does not fit the recipe" in error.problem and "cosine" in error.problem


def test_unknown_param_type_lists_the_known_ones(tmp_path):
    path = with_search(
        tmp_path, "  params:\n    stages.0.lr: {type: loguniform, low: 1.0e-5, high: 1.0e-4}\n"
    )
    error = problem(path)
    assert error.line == line_of(path, "type: loguniform")
    assert "unknown param type 'loguniform' (one of: float, int, categorical)" in error.problem


def test_misspelt_key_in_the_search_block(tmp_path):
    path = with_search(
        tmp_path, "  objetive: {metric: dev_score}\n  params:\n    stages.0.lr: [1.0e-5, 2.0e-5]\n"
    )
    error = problem(path)
    assert error.line == line_of(path, "objetive")
    assert "unknown key 'objetive' (known: objective, params, sampler, pruner)" in error.problem


def test_objective_stage_without_dev_set(tmp_path):
    path = with_search(tmp_path, "  params:\n    stages.0.lr: [1.0e-5, 2.0e-5]\n")
    with pytest.raises(InputError) as caught:
        load_search(path, ["stages.0.dev=null"])
    assert "no stage has a dev set" in caught.value.problem and "never a test set" in caught.value.problem


def test_a_recipe_without_search_block(tmp_path):
    text = SMOKE.read_text(encoding="utf-8")
    path = tmp_path / "plain.yaml"
    path.write_text(text[: text.index("search:")], encoding="utf-8")
    with pytest.raises(UserError, match="no `search:` block"):
        load_search(path)


def test_cli_reports_one_line_and_exit_2_before_any_trial(tmp_path, capsys):
    path = with_search(tmp_path, "  params:\n    stages.0.lr: {type: float, low: 0.1, high: 0.01}\n")
    out = tmp_path / "out"
    assert main(["tune", str(path), "--trials", "2", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert re.search(rf"{re.escape(str(path))}:\d+: search\.params\.stages\.0\.lr: low \(0\.1\)", err)
    assert "Traceback" not in err
    assert not out.exists()  # nothing written for a recipe that cannot run


def test_metric_the_dev_evaluator_does_not_report(tmp_path, tiny_model, monkeypatch, capsys):
    import optuna

    monkeypatch.chdir(REPO)  # the smoke recipe's data paths are relative to the repository root
    path = with_search(
        tmp_path,
        "  objective: {metric: dev_en_spearman_dot}\n  params:\n    stages.0.lr: [1.0e-5, 2.0e-5]\n",
    )
    out = tmp_path / "out"
    tiny = ["--set", f"base_model={tiny_model}", "--set", "stages.0.dev.max_rows=16"]
    assert main(["tune", str(path), "--trials", "2", "--out", str(out), *tiny]) == 2
    err = capsys.readouterr().err
    assert f"{path}:{line_of(path, 'dev_en_spearman_dot')}: search.objective.metric" in err
    assert "'dev_en_spearman_dot' is not reported by the dev evaluator of stage 'sts-en'" in err
    assert "dev_en_spearman_cosine" in err and "dev_score" in err  # what it does report
    study = optuna.load_study(study_name="tune-smoke", storage=f"sqlite:///{out / 'study.db'}")
    assert study.trials == []  # refused before any trial
    assert not (out / "trials").exists()
