"""What a finished study leaves in DIR: best.yaml, best-model/, best.json, trials.csv, plots/; and its table.

best.yaml is the best trial's resolved recipe without its search block: `embedkit train DIR/best.yaml`
trains that trial again (same seed, same data, same values) and reaches its dev score.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from embedkit.atomic import atomic_dir, write_text_atomic
from embedkit.errors import EmbedkitError
from embedkit.tune.space import trial_recipe
from embedkit.tune.study import RETRY_OF, RUN_DIR, WORKER, Worker

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

    from embedkit.tune.space import SearchSpec

logger = logging.getLogger(__name__)

BEST_RECIPE, BEST_MODEL, BEST_FILE, FINAL_RUN = "best.yaml", "best-model", "best.json", "final"
PLOTS = ("optimization_history", "param_importances", "parallel_coordinate")


def finish(worker: Worker, storage_url: str | None) -> Path:
    """Write the study's results into worker.out; return the path of best.yaml."""
    from optuna.trial import TrialState

    study, out = worker.study, worker.out
    if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        raise EmbedkitError(f"study {study.study_name!r}: no trial completed (all pruned or failed)")
    best = study.best_trial
    recipe = trial_recipe(worker.recipe_path, worker.overrides, best.params)
    resolved = recipe.resolved()
    resolved.pop("search", None)
    write_text_atomic(out / BEST_RECIPE, _best_yaml(resolved, worker, best))

    summary = {
        "study": study.study_name,
        "storage": _storage_text(storage_url, out),
        "metric": worker.space.metric,
        "direction": worker.space.direction,
        "baseline": study.user_attrs.get("baseline"),
        "best_trial": best.number,
        "value": best.value,
        "params": best.params,
        "metrics": best.user_attrs.get("metrics"),
        "recipe": BEST_RECIPE,
    }
    summary.update(_best_model(worker, best))
    write_text_atomic(out / BEST_FILE, json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    study.trials_dataframe().to_csv(out / "trials.csv", index=False)
    write_plots(study, out / "plots", worker.space.metric)
    return out / BEST_RECIPE


def _best_yaml(resolved: dict[str, Any], worker: Worker, best: FrozenTrial) -> str:
    header = [
        f"# Best trial ({best.number}) of study {worker.study.study_name!r}, tuned by `embedkit tune "
        f"{worker.recipe_path}`:",
        f"#   {worker.space.metric} = {best.value:.6f} on the dev set of stage "
        f"{worker.base.stage_names()[worker.space.stage_index]!r}",
        *(f"#   {key} = {value!r}" for key, value in best.params.items()),
        f"# Train it again (same seed, same data): embedkit train {worker.out / BEST_RECIPE} --out RUN",
    ]
    body = yaml.safe_dump(resolved, sort_keys=False, allow_unicode=True, width=110)
    return "\n".join(header) + "\n" + body


def _best_model(worker: Worker, best: FrozenTrial) -> dict[str, Any]:
    """DIR/best-model: the best trial's own model (hard links, no copy), or with --final one retrained
    from DIR/best.yaml, exactly as `embedkit train` would, into DIR/final (a full training run folder)."""
    out = worker.out
    record_path = out / BEST_FILE
    before = json.loads(record_path.read_text(encoding="utf-8")) if record_path.exists() else {}
    if worker.final:
        final = _retrain(worker)
        _link_model(final / "model", out / BEST_MODEL)
        worker.tidy_models()  # with --final no trial keeps its model
        run = json.loads((final / "run.json").read_text(encoding="utf-8"))
        value = run["stages"][worker.space.stage_index]["metrics"].get(worker.space.metric)
        logger.info(
            f"retrained best trial: {worker.space.metric} {value:.4f} (trial {best.number}: {best.value:.4f})"
        )
        return {"model": BEST_MODEL, "model_from": FINAL_RUN, "final_value": value}
    if before.get("model_from") == f"trial {best.number}" and (out / BEST_MODEL).exists():
        return {"model": BEST_MODEL, "model_from": before["model_from"]}
    source = Path(best.user_attrs.get(RUN_DIR, "")) / "model"
    host = best.user_attrs.get(WORKER, {}).get("host")
    if host == socket.gethostname() and source.is_dir():
        _link_model(source, out / BEST_MODEL)
        return {"model": BEST_MODEL, "model_from": f"trial {best.number}"}
    logger.info(
        f"the best trial's model is not here (trial {best.number} ran on {host} in {source.parent}); "
        "run again with --final to train it here from best.yaml"
    )
    return {"model": None, "model_from": None}


def _retrain(worker: Worker) -> Path:
    """Train best.yaml into DIR/final, reusing a finished (or resuming an unfinished) run of it."""
    from trainers.recipe import load_recipe
    from trainers.run import FINISHED, RecipeDiffers, check_out_dir, train

    recipe = load_recipe(worker.out / BEST_RECIPE)
    final = worker.out / FINAL_RUN
    try:
        state = check_out_dir(recipe, final, resume=True)
    except RecipeDiffers:  # a run of an earlier best trial
        shutil.rmtree(final)
        state = None
    if state != FINISHED:
        logger.info(f"--final: training the best trial's recipe into {final}")
        train(recipe, final, resume=True, progress=worker.progress)
    return final


def _link_model(source: Path, target: Path) -> None:
    with atomic_dir(target, replace=True) as tmp:
        shutil.copytree(source, tmp, dirs_exist_ok=True, copy_function=_link_or_copy)


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:  # another file system, or links not allowed
        shutil.copy2(src, dst)


def _storage_text(url: str | None, out: Path) -> str:
    from embedkit.tune.study import STUDY_DB, masked

    return masked(url) if url else f"sqlite:///{(out / STUDY_DB).resolve()}"


# --- plots ------------------------------------------------------------------------------------------


def write_plots(study: optuna.Study, folder: Path, metric: str = "Objective Value") -> list[str]:
    """Optuna's history, parameter-importance and parallel-coordinate plots, as HTML (plotly; its
    script written once beside them, so they open offline) and PNG (matplotlib). Returns what was
    skipped and why (e.g. importances need two finished trials)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna.visualization as plotly_plots
    import optuna.visualization.matplotlib as mpl_plots

    skipped = []
    with atomic_dir(folder, replace=True) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # optuna's matplotlib plots are marked experimental
        for name in PLOTS:
            try:
                figure = getattr(plotly_plots, f"plot_{name}")(study, target_name=metric)
                figure.write_html(tmp / f"{name}.html", include_plotlyjs="directory")
            except ImportError:
                skipped.append(f"{name}.html (plotly is not installed)")
            except Exception as exc:
                skipped.append(f"{name}.html ({exc})")
            try:
                axes = getattr(mpl_plots, f"plot_{name}")(study, target_name=metric)
                figure = axes.flat[0].figure if hasattr(axes, "flat") else axes.figure
                figure.savefig(tmp / f"{name}.png", dpi=120, bbox_inches="tight")
                plt.close(figure)
            except Exception as exc:
                skipped.append(f"{name}.png ({exc})")
    for item in skipped:
        logger.info(f"plot skipped: {item}")
    return skipped


# --- the summary table ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrialTable:
    """The study's trials as text cells, for a caller to show (the CLI draws it with rich)."""

    title: str
    columns: list[str]
    rows: list[list[str]]
    best_row: int | None  # index into rows
    caption: str


def trial_table(study: optuna.Study, space: SearchSpec) -> TrialTable:
    trials = study.get_trials(deepcopy=False)
    best = study.best_trial.number if any(t.state.name == "COMPLETE" for t in trials) else None
    names = list(space.params)
    headers = short_names(names)
    reruns = {t.user_attrs[RETRY_OF]: t.number for t in trials if RETRY_OF in t.user_attrs}
    baseline = study.user_attrs.get("baseline")
    title = f"study {study.study_name}: {space.direction} {space.metric}"
    if baseline is not None:
        title += f" (base model {baseline:.4f})"
    rows, best_row = [], None
    for trial in trials:
        value = "" if trial.value is None else f"{trial.value:.4f}"
        minutes = f"{trial.duration.total_seconds() / 60:.1f}" if trial.duration else ""
        notes = []
        if trial.number == best:
            notes.append("best")
            best_row = len(rows)
        if RETRY_OF in trial.user_attrs:
            notes.append(f"re-run of {trial.user_attrs[RETRY_OF]}")
        if trial.number in reruns:
            notes.append(f"interrupted, re-run as {reruns[trial.number]}")
        if trial.state.name == "PRUNED" and trial.last_step is not None:
            notes.append(f"at dev eval {trial.last_step}")
        params = [_cell(trial.params.get(name)) for name in names]
        rows.append([str(trial.number), trial.state.name, value, *params, minutes, ", ".join(notes)])
    return TrialTable(
        title=title,
        columns=["trial", "state", space.metric, *headers.values(), "min", "note"],
        rows=rows,
        best_row=best_row,
        caption=", ".join(f"{short} = {name}" for name, short in headers.items()),
    )


def short_names(keys: list[str]) -> dict[str, str]:
    """Each dotted key by its shortest unique tail: stages.0.lr -> lr (stages.1.lr stays whole-ish)."""
    short = {}
    for key in keys:
        parts = key.split(".")
        for size in range(1, len(parts) + 1):
            tail = ".".join(parts[-size:])
            if sum(other == tail or other.endswith("." + tail) for other in keys) == 1:
                short[key] = tail
                break
    return short


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:.3g}" if isinstance(value, float) else str(value)
