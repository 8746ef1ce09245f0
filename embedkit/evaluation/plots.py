"""Matplotlib plots of an eval folder: per-language grouped bars per task (one bar per model), the summary of
task means, and deltas of every model against the first (the baseline)."""

from __future__ import annotations

import re
from pathlib import Path

from embedkit.atomic import atomic_file
from embedkit.evaluation.results import EvalResults

GAIN, LOSS = "#2e7d32", "#c62828"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _save(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    try:
        with atomic_file(path) as tmp:
            fig.savefig(tmp, format="png", dpi=110)
    finally:
        plt.close(fig)


def _bars(
    path: Path, title: str, groups: list[str], series: dict[str, list[float | None]], ylabel: str
) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    width = 0.8 / max(len(series), 1)
    x = np.arange(len(groups))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.6 * len(groups) * max(len(series), 1) + 2), 4))
    for i, (label, values) in enumerate(series.items()):
        heights = [np.nan if v is None else v for v in values]
        ax.bar(x + (i - (len(series) - 1) / 2) * width, heights, width, label=label)
    ax.set_xticks(
        x, groups, rotation=45 if len(groups) > 6 else 0, ha="right" if len(groups) > 6 else "center"
    )
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    if len(series) > 1:
        ax.legend(fontsize="small")
    fig.tight_layout()
    _save(fig, path)
    return path


def _deltas(path: Path, title: str, groups: list[str], series: dict[str, list[float | None]]) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    width = 0.8 / max(len(series), 1)
    x = np.arange(len(groups))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.6 * len(groups) * max(len(series), 1) + 2), 4))
    for i, (label, values) in enumerate(series.items()):
        heights = np.array([np.nan if v is None else v for v in values])
        colors = [GAIN if h >= 0 else LOSS for h in np.nan_to_num(heights)]
        ax.bar(
            x + (i - (len(series) - 1) / 2) * width,
            heights,
            width,
            color=colors,
            label=label,
            edgecolor="black",
            linewidth=0.3,
        )
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(
        x, groups, rotation=45 if len(groups) > 6 else 0, ha="right" if len(groups) > 6 else "center"
    )
    ax.set_ylabel("change vs baseline (points)")
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    _save(fig, path)
    return path


def _delta(value: float | None, base: float | None) -> float | None:
    return None if value is None or base is None else value - base


def write_plots(results: EvalResults, folder: Path) -> dict[str, Path]:
    """Write the plots into `folder`; returns {key: path} with keys "summary", "summary-delta", TASK,
    TASK-delta."""
    folder.mkdir(parents=True, exist_ok=True)
    models = results.models
    base = models[0] if models else None
    plots: dict[str, Path] = {}
    task_names = [t for t in results.tasks if any(t in m.scores for m in models)]
    if not task_names:
        return plots
    summary = {m.label: [m.task_mean(t) for t in task_names] for m in models}
    plots["summary"] = _bars(
        folder / "summary.png", "Mean main score per task", task_names, summary, "score ×100"
    )
    if len(models) > 1:
        deltas = {
            m.label: [_delta(m.task_mean(t), base.task_mean(t)) for t in task_names] for m in models[1:]
        }
        plots["summary-delta"] = _deltas(
            folder / "summary-delta.png", f"Change vs {base.label} (task means)", task_names, deltas
        )
    for task in task_names:
        info = results.tasks[task]
        subsets = list(dict.fromkeys(s for m in models for s in m.scores.get(task, {})))
        series = {m.label: [m.scores.get(task, {}).get(s) for s in subsets] for m in models}
        plots[task] = _bars(
            folder / f"{_safe(task)}.png",
            f"{task}: {info.main_score} per language",
            subsets,
            series,
            f"{info.main_score} ×100",
        )
        if len(models) > 1:
            base_scores = base.scores.get(task, {})
            deltas = {
                m.label: [_delta(m.scores.get(task, {}).get(s), base_scores.get(s)) for s in subsets]
                for m in models[1:]
            }
            plots[f"{task}-delta"] = _deltas(
                folder / f"{_safe(task)}-delta.png", f"{task}: change vs {base.label}", subsets, deltas
            )
    return plots
