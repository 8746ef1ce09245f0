"""Hyperparameter search over recipes with Optuna: a recipe's `search:` block names the keys to tune.

    best_yaml = tune("recipes/tune-smoke.yaml", "runs/tune", trials=4)
    # runs/tune/best.yaml (train it again with `embedkit train`), best-model/, plots/, trials.csv

`embedkit.tune.space` reads and checks the search block, `embedkit.tune.study` runs trials (one
`trainers.train` run each) in a resumable, shareable Optuna study, `embedkit.tune.report` writes the results.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def tune(
    recipe: str | Path,
    out: str | Path,
    trials: int,
    storage: str | None = None,
    study: str | None = None,
    final: bool = False,
    overrides: Sequence[str] = (),
    show_progress: bool = True,
) -> Path:
    """Run (or continue, or join) the study of `recipe` until it has `trials` finished trials; write
    the results into `out` and return the path of `out`/best.yaml.

    `storage` is any Optuna RDB URL (default: SQLite in `out`); `study` defaults to the recipe's name.
    `final` retrains the best trial's recipe into `out`/final and keeps that model as `out`/best-model.
    """
    from embedkit.errors import UserError
    from embedkit.tune.report import finish
    from embedkit.tune.space import load_search
    from embedkit.tune.study import Worker

    if trials < 1:
        raise UserError(f"--trials {trials}: give at least 1")
    base, space = load_search(recipe, overrides)  # every search-space error, before any work
    worker = Worker(Path(recipe), list(overrides), base, space, Path(out), trials, final, show_progress)
    worker.open(storage, study)
    worker.run()
    with worker.lock:  # workers sharing `out` write its results one at a time
        return finish(worker, storage)


__all__ = ["tune"]
