"""The output folder of `embedkit train` and `embedkit tune`: checked before any work, never locked by a
failed preflight, never overwritten once finished, and always usable again after a write failure."""

from __future__ import annotations

import errno
import hashlib
import json
from pathlib import Path

import pytest
from test_train_stages import build_corpora, recipe_file

from embedkit.cli import main


@pytest.fixture(scope="module")
def corpora(tmp_path_factory, shared_data):
    return build_corpora(tmp_path_factory.mktemp("corpora"), shared_data)


def sts_recipe(tmp_path: Path, model: Path, corpora: dict, batch_size: int = 8, steps: int = 2) -> Path:
    return recipe_file(
        tmp_path,
        f"""\
        base_model: {model}
        stages:
          - type: sts
            train: {corpora["sts"]}
            dev: {corpora["sts-dev"]}
            batch_size: {batch_size}
            max_steps: {steps}
            save_every: 1
            eval_every: 2
        """,
    )


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file below `folder`: its hash and modification time."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            found[str(path.relative_to(folder))] = (digest, path.stat().st_mtime_ns)
    return found


def test_a_failed_preflight_writes_nothing_and_the_fixed_recipe_runs(tmp_path, tiny_model, corpora, capsys):
    out = tmp_path / "run"
    too_big = sts_recipe(tmp_path, tiny_model, corpora, batch_size=50_000_000)
    assert main(["train", str(too_big), "--out", str(out), "-q"]) == 2
    assert "stages[0].batch_size" in capsys.readouterr().err
    assert not out.exists() or not [p for p in out.rglob("*") if p.is_file()]  # nothing written

    fixed = sts_recipe(tmp_path, tiny_model, corpora)
    assert main(["train", str(fixed), "--out", str(out), "-q"]) == 0  # not "holds an unfinished run"
    assert (out / "run.json").exists()


def test_a_run_that_stopped_before_its_first_step_is_restartable(tmp_path, tiny_model, corpora):
    """A folder an older run left with only checkpoints/recipe.json (of another recipe) and a checkpoint
    killed while being written: neither a plain run nor --resume is refused."""
    out = tmp_path / "run"
    (out / "checkpoints" / "01-sts" / "checkpoint-1").mkdir(parents=True)
    (out / "checkpoints" / "recipe.json").write_text(json.dumps({"stages": [{"lr": 9.0}]}))
    recipe = sts_recipe(tmp_path, tiny_model, corpora)
    assert main(["train", str(recipe), "--out", str(out), "--resume", "-q"]) == 0
    run = json.loads((out / "run.json").read_text())
    saved = json.loads((out / "checkpoints" / "recipe.json").read_text())
    assert saved == run["recipe"] and run["resumed"] is False and run["stages"][0]["steps"] == 2


def test_resume_on_a_finished_run_leaves_it_untouched(tmp_path, tiny_model, corpora, capsys):
    out = tmp_path / "run"
    recipe = sts_recipe(tmp_path, tiny_model, corpora)
    assert main(["train", str(recipe), "--out", str(out), "-q"]) == 0
    before = snapshot(out)
    capsys.readouterr()
    assert main(["train", str(recipe), "--out", str(out), "--resume", "-q"]) == 0
    assert capsys.readouterr().out.strip() == str(out / "model")
    assert snapshot(out) == before  # not one file rewritten
    # another recipe is still refused
    assert main(["train", str(recipe), "--out", str(out), "--resume", "--set", "stages.0.lr=1e-3"]) == 2
    assert "differs from the one" in " ".join(capsys.readouterr().err.split())
    assert snapshot(out) == before


@pytest.mark.parametrize("command", ["train", "tune"])
def test_an_out_that_is_a_file_is_refused_before_any_work(tmp_path, tiny_model, corpora, capsys, command):
    recipe = sts_recipe(tmp_path, tiny_model, corpora)
    if command == "tune":
        recipe.write_text(recipe.read_text() + "search:\n  params:\n    stages.0.lr: [1.0e-5, 2.0e-5]\n")
    taken = tmp_path / "taken"
    taken.write_text("a file")
    extra = ["--trials", "1"] if command == "tune" else []
    assert main([command, str(recipe), "--out", str(taken), *extra]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"--out {taken} is an existing file" in err and "Traceback" not in err
    assert taken.read_text() == "a file"


@pytest.mark.parametrize("command", ["train", "tune"])
def test_a_read_only_out_is_refused_before_any_work(
    tmp_path, tiny_model, corpora, capsys, command, read_only_dir
):
    recipe = sts_recipe(tmp_path, tiny_model, corpora)
    if command == "tune":
        recipe.write_text(recipe.read_text() + "search:\n  params:\n    stages.0.lr: [1.0e-5, 2.0e-5]\n")
    extra = ["--trials", "1"] if command == "tune" else []
    assert main([command, str(recipe), "--out", str(read_only_dir / "run"), *extra]) == 2
    assert "cannot write in" in " ".join(capsys.readouterr().err.split())


# --- write failures -----------------------------------------------------------------------------------


class DiskFull:
    """Makes the k-th call of a function raise ENOSPC, as a full disk would."""

    def __init__(self, function, k: int) -> None:
        self.function, self.k, self.calls = function, k, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls == self.k:
            raise OSError(errno.ENOSPC, "No space left on device (injected)")
        return self.function(*args, **kwargs)


def write_points():
    import transformers.modeling_utils

    import embedkit.atomic
    import trainers.checkpoints

    return {
        # every temp-then-rename of embedkit (recipe.json, stage.json, run.json, ...)
        "rename": (embedkit.atomic.os, "replace"),
        # safetensors weights: the lean Trainer checkpoints and the stage's final tensors
        "weights": (trainers.checkpoints, "save_file"),
        # DIR/model
        "model weights": (transformers.modeling_utils, "safe_save_file"),
        # the Trainer's trainer_state.json and the optimizer state
        "torch.save": (__import__("torch"), "save"),
    }


@pytest.mark.parametrize(
    ("point", "k"),
    [("rename", 1), ("rename", 3), ("weights", 1), ("weights", 3), ("model weights", 1), ("torch.save", 2)],
)
def test_a_write_failure_leaves_json_that_parses_and_a_run_that_completes(
    tmp_path, tiny_model, corpora, monkeypatch, capsys, point, k
):
    module, name = write_points()[point]
    out = tmp_path / "run"
    recipe = sts_recipe(tmp_path, tiny_model, corpora, steps=3)
    with monkeypatch.context() as patch:
        fault = DiskFull(getattr(module, name), k)
        patch.setattr(module, name, fault)
        try:
            code = main(["train", str(recipe), "--out", str(out), "-q"])
        except OSError as exc:  # the CLI reports an OSError as exit 1; a raw one is fine here too
            assert exc.errno == errno.ENOSPC
            code = 1
    assert fault.calls >= k, f"the injected failure at {point} #{k} was never reached"
    assert code != 0
    for path in out.rglob("*.json"):
        json.loads(path.read_text(encoding="utf-8"))  # every JSON left behind is whole
    assert not (out / "run.json").exists()

    assert main(["train", str(recipe), "--out", str(out), "--resume", "-q"]) == 0
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["stages"][0]["steps"] == 3 and (out / "model" / "model.safetensors").exists()
