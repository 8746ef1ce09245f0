"""Reading an eval folder back: OUT/results/ (mteb's layout, loaded with mteb's ResultCache) plus
OUT/eval.json (model order and labels, failures). Scores are mteb's main scores ×100."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from statistics import mean
from typing import Any

from embedkit.errors import UserError

RUN_FILE = "eval.json"


@dataclass
class TaskInfo:
    name: str
    type: str
    main_score: str
    split: str
    languages: dict[str, list[str]] = field(default_factory=dict)  # subset -> mteb language codes
    dataset: str = ""
    revision: str = ""
    reference: str = ""

    @classmethod
    def of(cls, task: Any) -> TaskInfo:
        meta = task.metadata
        return cls(
            name=meta.name,
            type=meta.type,
            main_score=meta.main_score,
            split=task.eval_splits[0],
            languages={k: list(v) for k, v in meta.hf_subsets_to_langscripts.items()},
            dataset=meta.dataset["path"],
            revision=meta.dataset["revision"],
            reference=str(meta.reference or ""),
        )


@dataclass
class ModelScores:
    label: str
    name: str
    revision: str
    prompt: str  # prompt name
    prompt_text: str = ""
    scores: dict[str, dict[str, float]] = field(default_factory=dict)  # task -> subset -> main score ×100

    def task_mean(self, task: str) -> float | None:
        values = list(self.scores.get(task, {}).values())
        return mean(values) if values else None


@dataclass
class EvalResults:
    out: Path
    models: list[ModelScores]  # the first is the baseline for deltas
    tasks: dict[str, TaskInfo]
    failures: list[dict]
    run: dict


def task_info(name: str, recorded: dict[str, dict]) -> TaskInfo | None:
    """A task's metadata: as recorded in eval.json, else from embedkit's or the installed mteb's registry."""
    if name in recorded:
        return TaskInfo(**recorded[name])
    import mteb

    from mteb_tasks import TASKS

    try:
        return TaskInfo.of(TASKS[name]() if name in TASKS else mteb.get_task(name))
    except Exception:
        return None


def load_eval(out: Path) -> EvalResults:
    """All results under OUT/results/, models in eval.json's order first. A damaged result file stops with
    its name (re-running `embedkit eval` into OUT recomputes it); a damaged eval.json is warned about and
    ignored (it only holds the model order and the failures)."""
    from mteb.cache import ResultCache

    from embedkit.evaluation.cache import damaged_files, read_json_or_warn

    if not (out / "results").is_dir():
        raise UserError(f"{out} has no results/ folder; run `embedkit eval ... --out {out}` first")
    damaged = damaged_files(out)
    if damaged:
        path, reason = damaged[0]
        more = f" (and {len(damaged) - 1} more)" if len(damaged) > 1 else ""
        raise UserError(
            f"{path} is damaged ({reason}){more}: re-run `embedkit eval MODEL... --out {out}` to recompute it"
        )
    run = read_json_or_warn(out / RUN_FILE) or {}
    loaded = ResultCache(out).load_results(load_experiments="match_name", include_remote=False)
    order = {(m["name"], m["revision"], m["prompt_name"]): m for m in run.get("models", [])}
    models: list[ModelScores] = []
    tasks: dict[str, TaskInfo] = {}
    for result in loaded.model_results:
        meta = result.model_meta
        prompt = str((meta.experiment_kwargs or {}).get("prompt", "none")) if meta else "none"
        record = order.get((result.model_name, result.model_revision, prompt), {})
        label = result.model_name if prompt == "none" else f"{result.model_name} [{prompt}]"
        scores = ModelScores(
            label, result.model_name, result.model_revision or "", prompt, record.get("prompt", "")
        )
        for task_result in result.task_results:
            info = tasks.get(task_result.task_name) or task_info(
                task_result.task_name, run.get("task_info", {})
            )
            split = (
                info.split if info and info.split in task_result.scores else next(iter(task_result.scores))
            )
            if info is None:
                info = TaskInfo(task_result.task_name, "", "main_score", split)
            tasks[info.name] = info
            scores.scores[info.name] = {
                entry["hf_subset"]: 100 * float(entry["main_score"]) for entry in task_result.scores[split]
            }
            for entry in task_result.scores[split]:
                info.languages.setdefault(entry["hf_subset"], list(entry.get("languages", [])))
        models.append(scores)
    ranked = list(order)
    models.sort(
        key=lambda m: (
            ranked.index((m.name, m.revision, m.prompt))
            if (m.name, m.revision, m.prompt) in order
            else len(ranked)
        )
    )
    _disambiguate(models)
    task_order = {name: i for i, name in enumerate(run.get("tasks", []))}
    tasks = dict(sorted(tasks.items(), key=lambda kv: (task_order.get(kv[0], len(task_order)), kv[0])))
    return EvalResults(out, models, tasks, run.get("failures", []), run)


def _disambiguate(models: list[ModelScores]) -> None:
    labels = [m.label for m in models]
    for model in models:
        if labels.count(model.label) > 1:
            model.label = f"{model.label} @{model.revision[:7]}"
