"""--nproc 2: two CPU processes under torchrun (DDP, gloo) train one model."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from test_train_stages import build_corpora, changed, recipe_file, weights


@pytest.fixture(scope="module")
def corpora(tmp_path_factory, shared_data):
    return build_corpora(tmp_path_factory.mktemp("corpora"), shared_data)


def test_two_process_cpu_ddp_run(tmp_path, tiny_model, corpora):
    recipe = recipe_file(
        tmp_path,
        f"""\
        base_model: {tiny_model}
        stages:
          - type: sts
            train: {corpora["sts"]}
            dev: {corpora["sts-dev"]}
            batch_size: 16
            max_steps: 4
            eval_every: 4
        """,
    )
    out = tmp_path / "run"
    command = [
        sys.executable,
        "-m",
        "embedkit",
        "train",
        str(recipe),
        "--out",
        str(out),
        "--nproc",
        "2",
        "-q",
    ]
    done = subprocess.run(command, env={**os.environ, "HF_HUB_OFFLINE": "1"}, capture_output=True, text=True)
    # each rank's own error line first: the tail alone showed only the rank that died second
    errors = [line for line in done.stderr.splitlines() if "error" in line.lower()][:30]
    assert done.returncode == 0, "\n".join(errors) + "\n...\n" + done.stderr[-3000:]
    assert done.stdout.strip() == str(out / "model")  # reported once, by the first process

    run = json.loads((out / "run.json").read_text())
    assert run["world_size"] == 2
    (stage,) = run["stages"]
    assert stage["steps"] == 4 and stage["metrics"]["train_loss"] > 0 and "dev_score" in stage["metrics"]
    assert any("encoder.layer" in name for name in changed(weights(tiny_model), weights(out / "model")))
