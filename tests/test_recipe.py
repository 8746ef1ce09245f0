"""Recipe validation: every mistake is one message naming its place, before any work starts."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from embedkit.cli import main
from embedkit.errors import InputError, UserError
from trainers import load_recipe

REPO = Path(__file__).resolve().parent.parent

GOOD = """\
name: example
base_model: default
stages:
  - type: sts
    name: sts-hi
    train: runs/corpora/sts-hi
    dev: {holdout: 0.1}
    lr: 2e-5
  - type: distill
    train:
      - {kind: parallel, inputs: ["${shared}/ntrex128/newstest2019-src.eng.txt"], lang: [en, hi]}
    batch_size: 16
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problem(tmp_path: Path, text: str, overrides: list[str] | None = None) -> InputError:
    with pytest.raises(InputError) as caught:
        load_recipe(write(tmp_path, text), overrides)
    return caught.value


def test_a_good_recipe_resolves_with_defaults(tmp_path):
    recipe = load_recipe(write(tmp_path, GOOD))
    assert [s.type for s in recipe.stages] == ["sts", "distill"]
    assert recipe.stages[0].lr == pytest.approx(2e-5)  # YAML 1.1 reads 2e-5 as a string; still a float here
    assert recipe.stages[1].teacher == "default"  # a distill-only field, with its default
    resolved = recipe.resolved()
    assert resolved["compute"]["freeze_embeddings"] == "auto"
    assert resolved["stages"][0]["dev"] == {"data": None, "holdout": 0.1, "evaluator": None, "max_rows": None}
    assert resolved["stages"][1]["train"][0]["kind"] == "parallel"  # inline corpus spec kept as written
    assert resolved["stages"][1]["teacher"] == "default"  # stage types' own fields are resolved too
    assert recipe.stage_names() == ["sts-hi", "distill"]


def test_unknown_top_level_key_names_line_and_known_keys(tmp_path):
    error = problem(tmp_path, GOOD + "epochs: 3\n")
    assert error.line == 13
    assert "epochs: unknown key 'epochs'" in str(error)
    assert "base_model" in str(error) and "stages" in str(error)


def test_typo_inside_a_stage_names_the_stage_and_line(tmp_path):
    error = problem(tmp_path, GOOD.replace("    lr: 2e-5", "    lrate: 2e-5"))
    assert (error.path, error.line) == (str(tmp_path / "recipe.yaml"), 8)
    assert "stages[0].lrate: unknown key 'lrate'" in error.problem
    assert "lr" in error.problem and "batch_size" in error.problem


def test_unknown_loss_lists_the_known_ones(tmp_path):
    error = problem(tmp_path, GOOD.replace("    batch_size: 16", "    loss: Foo"))
    assert error.line == 12
    assert "stages[1].loss: unknown loss 'Foo'" in error.problem
    assert "MultipleNegativesRankingLoss" in error.problem and "CoSENTLoss" in error.problem


def test_close_loss_name_gets_a_suggestion(tmp_path):
    error = problem(tmp_path, GOOD.replace("    lr: 2e-5", "    loss: CoSentLoss"))
    assert "did you mean CoSENTLoss" in error.problem


def test_loss_that_does_not_fit_the_stage_columns(tmp_path):
    error = problem(tmp_path, GOOD.replace("    lr: 2e-5", "    loss: MultipleNegativesRankingLoss"))
    assert error.line == 8
    assert "stages[0].loss" in error.problem
    assert "an sts stage" in error.problem or "a sts stage" in error.problem
    assert "CoSENTLoss" in error.problem  # offers the losses that do fit


def test_wrong_type_names_value_and_line(tmp_path):
    error = problem(tmp_path, GOOD.replace("lr: 2e-5", "lr: fast"))
    assert error.line == 8
    assert "stages[0].lr" in error.problem and "'fast'" in error.problem


def test_unknown_stage_type(tmp_path):
    error = problem(tmp_path, GOOD.replace("type: distill", "type: distil"))
    assert error.line == 9
    assert "stages[1].type: unknown stage type 'distil'" in error.problem
    assert "distill" in error.problem and "nli" in error.problem and "sts" in error.problem


def test_stage_field_of_another_type_is_rejected(tmp_path):
    error = problem(tmp_path, GOOD.replace("    lr: 2e-5", "    teacher: default"))
    assert "stages[0].teacher: unknown key" in error.problem  # teacher belongs to distill stages


def test_unknown_loss_argument(tmp_path):
    error = problem(tmp_path, GOOD.replace("    lr: 2e-5", "    loss_args: {scal: 20}"))
    assert "stages[0].loss_args" in error.problem and "'scal'" in error.problem and "scale" in error.problem


def test_dev_needs_exactly_one_source(tmp_path):
    error = problem(tmp_path, GOOD.replace("{holdout: 0.1}", "{holdout: 0.1, data: runs/dev}"))
    assert error.line == 7
    assert "stages[0].dev" in error.problem and "exactly one" in error.problem


def test_inline_spec_needs_kind(tmp_path):
    error = problem(tmp_path, GOOD.replace("{kind: parallel, ", "{"))
    assert "stages[1].train[0]" in error.problem and "'kind'" in error.problem


def test_missing_stages(tmp_path):
    error = problem(tmp_path, "name: x\n")
    assert "missing required key 'stages'" in error.problem


def test_duplicate_stage_names(tmp_path):
    error = problem(tmp_path, GOOD.replace("name: sts-hi", "name: distill"))
    assert "stages[1].name" in error.problem and "twice" in error.problem


def test_bad_yaml_names_the_line(tmp_path):
    error = problem(tmp_path, GOOD.replace("    lr: 2e-5", "    lr: [2e-5"))
    assert error.line is not None and error.line >= 8
    assert "not valid YAML" in error.problem


def test_set_overrides_by_index_and_stage_name(tmp_path):
    path = write(tmp_path, GOOD)
    recipe = load_recipe(
        path, ["stages.0.lr=1e-5", "stages.distill.batch_size=8", "compute.group_by_length=false"]
    )
    assert recipe.stages[0].lr == pytest.approx(1e-5)
    assert recipe.stages[1].batch_size == 8
    assert recipe.compute.group_by_length is False


def test_bad_override_value_names_the_override(tmp_path):
    with pytest.raises(InputError) as caught:
        load_recipe(write(tmp_path, GOOD), ["stages.1.batch_size=many"])
    assert caught.value.path == "--set stages.1.batch_size=many"
    assert "stages[1].batch_size" in caught.value.problem


def test_override_of_unknown_key_and_missing_item(tmp_path):
    path = write(tmp_path, GOOD)
    with pytest.raises(InputError, match=r"--set stages\.0\.lrr=1: stages\[0\]\.lrr: unknown key"):
        load_recipe(path, ["stages.0.lrr=1"])
    with pytest.raises(UserError, match="no index 5"):
        load_recipe(path, ["stages.5.lr=1"])
    with pytest.raises(UserError, match="no item named 'mlm'"):
        load_recipe(path, ["stages.mlm.lr=1"])
    with pytest.raises(UserError, match="expected KEY=VALUE"):
        load_recipe(path, ["stages.0.lr"])


def test_cli_reports_one_line_and_exit_2(tmp_path, capsys):
    path = write(tmp_path, GOOD.replace("    lr: 2e-5", "    loss: Foo"))
    assert main(["train", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"{path}:8: stages[0].loss: unknown loss 'Foo'" in " ".join(err.split())
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()  # nothing written


@pytest.mark.parametrize("name", ["indicsbert.yaml", "indicsbert-offline.yaml", "distill-offline.yaml"])
def test_shipped_recipes_validate(name):
    recipe = load_recipe(REPO / "recipes" / name)
    assert recipe.stages
