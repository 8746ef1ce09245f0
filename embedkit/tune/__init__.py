"""Hyperparameter search over recipes with Optuna: a recipe's `search:` block names the keys to tune.

    result = tune("recipes/tune-smoke.yaml", "runs/tune", trials=4)
    result.best_recipe  # runs/tune/best.yaml (train it again with `embedkit train`); also best-model/,
    result.table        # plots/, trials.csv; the trials as a table of text cells

`embedkit.tune.space` reads and checks the search block, `embedkit.tune.study` runs trials (one
`trainers.train` run each) in a resumable, shareable Optuna study, `embedkit.tune.report` writes the results.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from embedkit.progress import SILENT, Progress

if TYPE_CHECKING:
    from embedkit.tune.report import TrialTable


@dataclass(frozen=True)
class TuneResult:
    best_recipe: Path  # DIR/best.yaml
    table: TrialTable  # every trial of the study, for the caller to show


def tune(
    recipe: str | Path,
    out: str | Path,
    trials: int,
    storage: str | None = None,
    study: str | None = None,
    final: bool = False,
    overrides: Sequence[str] = (),
    progress: Progress = SILENT,
) -> TuneResult:
    """Run (or continue, or join) the study of `recipe` until it has `trials` finished trials; write
    the results into `out`; return the path of `out`/best.yaml and the trials table. Every search-space and
    output-folder problem is raised before any trial runs.

    `storage` is any Optuna RDB URL (default: SQLite in `out`); `study` defaults to the recipe's name.
    `final` retrains the best trial's recipe into `out`/final and keeps that model as `out`/best-model.
    """
    from embedkit.atomic import check_output_path
    from embedkit.errors import UserError
    from embedkit.tune.report import finish, trial_table
    from embedkit.tune.space import load_search
    from embedkit.tune.study import Worker

    if trials < 1:
        raise UserError(f"--trials {trials}: give at least 1")
    check_output_path(out, "--out")
    base, space = load_search(recipe, overrides)  # every search-space error, before any work
    worker = Worker(Path(recipe), list(overrides), base, space, Path(out), trials, final, progress)
    worker.open(storage, study)
    worker.run()
    with worker.lock:  # workers sharing `out` write its results one at a time
        best = finish(worker, storage)
        return TuneResult(best, trial_table(worker.study, space))


__all__ = ["TuneResult", "tune"]
