"""One YAML loader (corpora.yamlfile): the same data as yaml.safe_load on every real recipe, but a key given
twice in one mapping (recipe keys, an inline corpus spec, `search.params`, a `--set` value) stops with
exit 2 and file:line instead of the last value silently winning."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from corpora import yamlfile
from embedkit.cli import main
from embedkit.errors import InputError, UserError
from trainers.overrides import parse_overrides
from trainers.recipe import load_recipe

RECIPES = sorted((Path(__file__).resolve().parent.parent / "recipes").glob("*.yaml"))


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.name)
def test_every_real_recipe_loads_exactly_as_safe_load(recipe):
    text = recipe.read_text(encoding="utf-8")
    assert yamlfile.load(text) == yaml.safe_load(text)


def _with_line_after(path: Path, anchor: str, extra: str) -> tuple[str, int]:
    """The text of `path` with `extra` inserted after the first line containing `anchor` (same indent);
    returns the text and the 1-based line number of the inserted line."""
    lines = path.read_text(encoding="utf-8").splitlines()
    i = next(n for n, line in enumerate(lines) if anchor in line)
    indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
    lines.insert(i + 1, indent + extra)
    return "\n".join(lines) + "\n", i + 2


SMOKE = Path(__file__).resolve().parent.parent / "recipes/tune-smoke.yaml"


@pytest.mark.parametrize(
    ("anchor", "extra", "key"),
    [
        ("    lr: 2.0e-5", "lr: 9.0", "lr"),  # a stage key: the run would have trained at lr 9.0
        ("seed: 42", "seed: 7", "seed"),  # a top-level key
        ("      lang: en", "lang: hi", "lang"),  # a key of an inline corpus spec
        (
            "    stages.0.lr:",
            "stages.0.lr: {type: float, low: 0.1, high: 9.0}",
            "stages.0.lr",
        ),  # search.params
    ],
    ids=["stage", "top-level", "corpus-spec", "search-params"],
)
def test_a_duplicate_key_names_the_file_and_line(tmp_path, anchor, extra, key):
    text, line = _with_line_after(SMOKE, anchor, extra)
    recipe = tmp_path / "dup.yaml"
    recipe.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_recipe(recipe)
    assert caught.value.path == str(recipe) and caught.value.line == line
    assert f"duplicate key {key!r}" in str(caught.value) and f"line {line - 1}" in str(caught.value)


def test_tune_refuses_a_duplicate_search_param_with_exit_2(tmp_path, capsys):
    text, line = _with_line_after(SMOKE, "    stages.0.lr:", "stages.0.lr: [9.0]")
    recipe = tmp_path / "dup.yaml"
    recipe.write_text(text, encoding="utf-8")
    assert main(["tune", str(recipe), "--trials", "1", "--out", str(tmp_path / "tune")]) == 2
    flat = "".join(capsys.readouterr().err.split())  # the screen wraps long lines
    assert f"{recipe}:{line}:notvalidYAML:duplicatekey'stages.0.lr'" in flat
    assert not (tmp_path / "tune").exists()


def test_loader_rules():
    # nested mappings and mappings inside lists are checked too
    with pytest.raises(yamlfile.DuplicateKeyError) as caught:
        yamlfile.load("a:\n  - {x: 1, y: 2}\n  - x: 1\n    x: 2\n")
    assert caught.value.problem_mark.line + 1 == 4
    # keys that YAML reads as the same value are the same key
    with pytest.raises(yamlfile.DuplicateKeyError):
        yamlfile.load("1: a\n0x1: b\n")
    # a merge key may be overridden: that is what `<<` is for
    assert yamlfile.load("base: &b {lr: 1, seed: 2}\nrun:\n  <<: *b\n  lr: 3\n")["run"] == {
        "lr": 3,
        "seed": 2,
    }
    # safe: no Python objects
    with pytest.raises(yaml.YAMLError):
        yamlfile.load("!!python/object/apply:os.system ['echo hi']")


def test_load_file_places_errors(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text("kind: sts\nlang: hi\ninputs: [a.tsv]\nlang: mr\n", encoding="utf-8")
    with pytest.raises(
        InputError, match=r"spec.yaml:4: not valid YAML: duplicate key 'lang' \(first given on line 2"
    ):
        yamlfile.load_file(path)


def test_set_value_with_a_duplicate_key_is_refused():
    with pytest.raises(UserError, match="duplicate key 'scale'"):
        parse_overrides(["stages.0.loss_args={scale: 10, scale: 40}"])
