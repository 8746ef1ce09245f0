"""--resume after kill -9 ends with exactly the weights of an uninterrupted run with the same seed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from test_train_stages import build_corpora, recipe_file, weights


@pytest.fixture(scope="module")
def corpora(tmp_path_factory, shared_data):
    return build_corpora(tmp_path_factory.mktemp("corpora"), shared_data)


RECIPE = """\
base_model: {model}
compute: {{max_seq_length: 64}}
stages:
  - type: sts
    name: first
    train: {sts}
    batch_size: 16
    max_steps: 3
  - type: sts
    name: second
    train: {sts}
    dev: {dev}
    batch_size: 16
    epochs: 5
    save_every: 4
    eval_every: 8
    lr: 1.0e-4
    interpolate: {{toward: start, keep: 0.3}}  # the start is kept through the kill
"""


def embedkit(*args: str) -> list[str]:
    return [sys.executable, "-m", "embedkit", "train", *args, "--quiet"]


@pytest.mark.slow  # three training processes, one of them killed: the end-to-end check of --resume
def test_resume_after_kill_reproduces_the_uninterrupted_run(tmp_path, tiny_model, corpora):
    recipe = recipe_file(
        tmp_path, RECIPE.format(model=tiny_model, sts=corpora["sts"], dev=corpora["sts-dev"])
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}

    whole = tmp_path / "whole"
    subprocess.run(embedkit(str(recipe), "--out", str(whole)), env=env, check=True)

    # kill -9 once the second stage has written a checkpoint in its third epoch (4 steps per epoch)
    killed = tmp_path / "killed"
    process = subprocess.Popen(embedkit(str(recipe), "--out", str(killed)), env=env)
    marker = killed / "checkpoints" / "02-second" / "checkpoint-8" / "trainer_state.json"
    deadline = time.time() + 600
    while process.poll() is None and not marker.exists() and time.time() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL
    assert not (killed / "run.json").exists(), "the run finished before it could be killed"
    assert (killed / "checkpoints" / "01-first" / "stage.json").exists()

    subprocess.run(embedkit(str(recipe), "--out", str(killed), "--resume"), env=env, check=True)

    expected, got = weights(whole / "model"), weights(killed / "model")
    assert expected.keys() == got.keys()
    assert all((expected[name] == got[name]).all() for name in expected)
    whole_run, resumed_run = (json.loads((d / "run.json").read_text()) for d in (whole, killed))
    assert resumed_run["resumed"] is True
    assert [s["steps"] for s in resumed_run["stages"]] == [s["steps"] for s in whole_run["stages"]] == [3, 20]
    assert resumed_run["stages"][1]["metrics"]["dev_score"] == whole_run["stages"][1]["metrics"]["dev_score"]


def test_resume_refuses_a_different_recipe(tmp_path, tiny_model, corpora, capsys):
    from embedkit.cli import main

    recipe = recipe_file(
        tmp_path, RECIPE.format(model=tiny_model, sts=corpora["sts"], dev=corpora["sts-dev"])
    )
    out = tmp_path / "run"
    (out / "checkpoints").mkdir(parents=True)
    from trainers import load_recipe

    (out / "checkpoints" / "recipe.json").write_text(json.dumps(load_recipe(recipe).resolved()))
    (out / "checkpoints" / "01-first").mkdir()
    (out / "checkpoints" / "01-first" / "stage.json").write_text("{}")  # a finished step: worth resuming
    assert main(["train", str(recipe), "--out", str(out), "--set", "stages.second.lr=1e-3", "--resume"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "differs from the one" in err and "stages[1].lr" in err
    assert main(["train", str(recipe), "--out", str(out)]) == 2  # an unfinished run needs --resume
    assert "add --resume" in " ".join(capsys.readouterr().err.split())
