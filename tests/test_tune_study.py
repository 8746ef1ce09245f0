"""Tuning end to end on a tiny model: best.yaml retrains to the best trial's dev score, pruning stops
trials that fall behind, a study resumes after kill -9, and two workers share one study."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from embedkit.tune import tune

REPO = Path(__file__).resolve().parent.parent
SMOKE = REPO / "recipes" / "tune-smoke.yaml"


def tiny_overrides(model: Path, pruner: tuple[str, ...] = ("search.pruner=none",)) -> list[str]:
    """The smoke recipe scaled to seconds: the tiny model, 32 train pairs (2 steps), 32 dev pairs."""
    return [f"base_model={model}", "stages.0.max_rows=32", "stages.0.dev.max_rows=32", *pruner]


def load(out: Path) -> optuna.Study:
    return optuna.load_study(study_name="tune-smoke", storage=f"sqlite:///{out / 'study.db'}")


def by_state(study: optuna.Study, state: TrialState) -> list:
    return [trial for trial in study.trials if trial.state == state]


@pytest.fixture
def in_repo(monkeypatch):
    monkeypatch.chdir(REPO)  # the smoke recipe's data paths are relative to the repository root


def test_best_yaml_retrains_to_the_best_trials_dev_score(tmp_path, tiny_model, in_repo):
    from trainers import load_recipe

    out = tmp_path / "tune"
    result = tune(SMOKE, out, trials=2, overrides=tiny_overrides(tiny_model))
    best_yaml = result.best_recipe

    study = load(out)
    assert len(by_state(study, TrialState.COMPLETE)) == 2
    best = study.best_trial
    table = result.table  # the trials as text, for the CLI to draw
    assert [row[0] for row in table.rows] == ["0", "1"] and table.rows[table.best_row][0] == str(best.number)
    assert "search" not in yaml.safe_load(best_yaml.read_text(encoding="utf-8"))
    recipe = load_recipe(best_yaml)
    assert recipe.stages[0].lr == best.params["stages.0.lr"]
    assert recipe.stages[0].loss_args["scale"] == best.params["stages.0.loss_args.scale"]
    trial_run = json.loads((out / "trials" / f"{best.number:04d}" / "run.json").read_text(encoding="utf-8"))
    assert trial_run["recipe"] == recipe.resolved()  # best.yaml is what the best trial trained

    # only the best trial keeps a model, and it is the one in best-model/; no checkpoints linger
    assert sorted(p.parent.name for p in (out / "trials").glob("*/model")) == [f"{best.number:04d}"]
    assert (out / "best-model" / "model.safetensors").samefile(
        out / "trials" / f"{best.number:04d}" / "model" / "model.safetensors"
    )
    assert not list((out / "trials").glob("*/checkpoints"))
    summary = json.loads((out / "best.json").read_text(encoding="utf-8"))
    assert (summary["best_trial"], summary["value"]) == (best.number, best.value)
    for name in ("optimization_history", "param_importances", "parallel_coordinate"):
        assert (out / "plots" / f"{name}.png").stat().st_size > 1000
        assert (out / "plots" / f"{name}.html").stat().st_size > 1000
    assert len((out / "trials.csv").read_text(encoding="utf-8").splitlines()) == 3

    # the same command with --final trains no new trial; it trains best.yaml (as `embedkit train`
    # does) into DIR/final, which reaches the best trial's dev score and becomes best-model
    tune(SMOKE, out, trials=2, overrides=tiny_overrides(tiny_model), final=True)
    assert len(load(out).trials) == 2
    final = json.loads((out / "final" / "run.json").read_text(encoding="utf-8"))
    assert final["recipe"] == recipe.resolved()
    assert final["stages"][0]["metrics"]["dev_score"] == pytest.approx(best.value, abs=1e-4)
    assert (out / "best-model" / "model.safetensors").samefile(out / "final" / "model" / "model.safetensors")
    assert not list((out / "trials").glob("*/model"))


def test_a_trial_behind_the_median_is_pruned_and_counts(tmp_path, tiny_model, in_repo):
    out = tmp_path / "tune"
    out.mkdir()
    study = optuna.create_study(
        study_name="tune-smoke", storage=f"sqlite:///{out / 'study.db'}", direction="maximize"
    )
    # an earlier trial whose dev Spearman was perfect at every evaluation: nothing real keeps up
    study.add_trial(
        optuna.trial.create_trial(
            params={"stages.0.lr": 2e-5},
            distributions={"stages.0.lr": optuna.distributions.FloatDistribution(1e-5, 3e-4, log=True)},
            value=1.0,
            intermediate_values={1: 1.0, 2: 1.0},
        )
    )
    pruner = ("search.pruner.startup_trials=1", "search.pruner.warmup_evals=0")
    overrides = tiny_overrides(tiny_model, pruner=pruner)
    tune(SMOKE, out, trials=2, overrides=overrides)

    study = load(out)
    pruned = by_state(study, TrialState.PRUNED)
    assert len(pruned) == 1 and len(study.trials) == 2  # the pruned trial counts towards --trials
    assert list(pruned[0].intermediate_values) == [1]  # stopped at its first dev evaluation
    assert 0 < pruned[0].intermediate_values[1] < 1
    assert not (out / "trials" / f"{pruned[0].number:04d}").exists()


# --- several processes -------------------------------------------------------------------------------


def tune_command(out: Path, trials: int, model: Path) -> list[str]:
    sets = [item for override in tiny_overrides(model) for item in ("--set", override)]
    return [
        sys.executable,
        "-m",
        "embedkit",
        "tune",
        str(SMOKE),
        "--trials",
        str(trials),
        "--out",
        str(out),
        "--quiet",
        *sets,
    ]


def start(command: list[str], log: Path) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    with open(log, "w") as handle:  # a file, not a pipe: a full pipe would stall the child
        return subprocess.Popen(command, cwd=REPO, env=env, stdout=handle, stderr=subprocess.STDOUT)


def states(db: Path) -> dict[str, int]:
    """Trial states straight from the SQLite file (no Optuna import in the polling loop)."""
    if not db.exists():
        return {}
    try:
        with sqlite3.connect(db, timeout=30) as connection:
            rows = connection.execute("SELECT state, count(*) FROM trials GROUP BY state").fetchall()
    except sqlite3.OperationalError:  # tables not created yet
        return {}
    return dict(rows)


def running_with_worker(db: Path) -> bool:
    """A trial is running and has recorded which process runs it."""
    try:
        with sqlite3.connect(db, timeout=30) as connection:
            return bool(
                connection.execute(
                    "SELECT count(*) FROM trials t JOIN trial_user_attributes a ON a.trial_id = t.trial_id "
                    "WHERE t.state = 'RUNNING' AND a.key = 'worker'"
                ).fetchone()[0]
            )
    except sqlite3.OperationalError:
        return False


@pytest.mark.slow
def test_killed_study_resumes_without_repeating_finished_trials(tmp_path, tiny_model):
    out = tmp_path / "tune"
    command = tune_command(out, 3, tiny_model)
    first = start(command, tmp_path / "first.log")
    deadline = time.time() + 600

    def third_trial_training() -> bool:
        db = out / "study.db"
        started = (out / "trials").exists() and len(list((out / "trials").iterdir())) == 3
        return states(db).get("COMPLETE", 0) == 2 and running_with_worker(db) and started

    while not third_trial_training():
        assert first.poll() is None, (tmp_path / "first.log").read_text()
        assert time.time() < deadline
        time.sleep(0.2)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    before = {t.number: (t.params, t.value) for t in by_state(load(out), TrialState.COMPLETE)}
    killed = by_state(load(out), TrialState.RUNNING)
    assert len(before) == 2 and len(killed) == 1 and killed[0].params

    second = start(command, tmp_path / "second.log")
    assert second.wait(timeout=600) == 0, (tmp_path / "second.log").read_text()

    study = load(out)
    complete = by_state(study, TrialState.COMPLETE)
    failed = by_state(study, TrialState.FAIL)
    assert len(complete) == 3 and len(study.trials) == 4
    assert [t.number for t in failed] == [killed[0].number]  # the interrupted trial, marked failed
    for trial in complete:  # finished trials are not repeated
        if trial.number in before:
            assert (trial.params, trial.value) == before[trial.number]
    rerun = [t for t in complete if t.user_attrs.get("retry_of") == killed[0].number]
    assert len(rerun) == 1 and rerun[0].params == killed[0].params  # its parameters, run again
    assert not (out / "trials" / f"{killed[0].number:04d}").exists()  # its half-written run is gone
    assert (out / "best.yaml").exists()


@pytest.mark.slow
def test_two_workers_share_one_study_without_duplicates(tmp_path, tiny_model):
    out = tmp_path / "tune"
    command = tune_command(out, 4, tiny_model)
    workers = [start(command, tmp_path / f"worker{i}.log") for i in range(2)]
    for i, worker in enumerate(workers):
        assert worker.wait(timeout=900) == 0, (tmp_path / f"worker{i}.log").read_text()

    study = load(out)
    complete = by_state(study, TrialState.COMPLETE)
    assert len(complete) == 4 and len(study.trials) == 4  # exactly N, none failed or surplus
    params = [json.dumps(t.params, sort_keys=True) for t in complete]
    assert len(set(params)) == 4  # no two trials drew the same values
    assert sorted(t.number for t in complete) == [0, 1, 2, 3]  # no trial claimed twice, none surplus
    pids = {t.user_attrs["worker"]["pid"] for t in complete}
    assert pids <= {worker.pid for worker in workers}  # which worker ran how many is up to the scheduler
    assert sorted(p.name for p in (out / "trials").iterdir()) == ["0000", "0001", "0002", "0003"]
    assert (out / "best.yaml").exists() and (out / "best-model").is_dir()
