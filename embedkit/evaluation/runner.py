"""Run models on tasks through `mteb.evaluate`, results in mteb's own layout under OUT/results/.

Task by task: the task's data is loaded once (from a local copy for stock mteb tasks when `data_dir` has one)
and every model is evaluated on it; mteb writes each result as it finishes, so a failing task never loses the
others. Models load first (a model that does not load stops the run before any work), each wrapped in a
`CachedEncoder` for the whole run. Re-running into the same OUT resumes: finished (model, task) results are
kept.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from embedkit.atomic import write_text_atomic
from embedkit.errors import UserError
from embedkit.evaluation.cache import AtomicResultCache, read_json_or_warn, repair
from embedkit.evaluation.encoder import (
    CachedEncoder,
    content_revision,
    model_meta,
    model_name,
    resolve_prompt,
)
from embedkit.evaluation.results import RUN_FILE, TaskInfo
from embedkit.progress import SILENT, Progress

if TYPE_CHECKING:
    from mteb.abstasks.abstask import AbsTask

logger = logging.getLogger(__name__)


@dataclass
class EvalModel:
    spec: str  # as given on the command line
    folder: str
    name: str  # mteb model name (org/name)
    revision: str  # content hash of the folder
    prompt_name: str
    prompt: str
    texts_encoded: int = 0
    texts_requested: int = 0

    @property
    def label(self) -> str:
        return self.name if self.prompt_name == "none" else f"{self.name} [{self.prompt_name}]"


@dataclass
class Failure:
    model: str
    task: str
    error: str


@dataclass
class EvalRun:
    out: Path
    models: list[EvalModel]
    tasks: list[str]
    task_info: dict[str, dict] = field(default_factory=dict)  # name -> results.TaskInfo fields
    failures: list[Failure] = field(default_factory=list)
    wall_time_s: float = 0.0

    def to_json(self, previous: dict | None = None) -> str:
        """eval.json accumulates the runs into one OUT: models in the order first evaluated (the first is the
        report's baseline), tasks, and the failures that no later run has fixed."""
        previous = previous or {}
        mine = {(m.name, m.revision, m.prompt_name) for m in self.models}
        models = [
            m for m in previous.get("models", []) if (m["name"], m["revision"], m["prompt_name"]) not in mine
        ]
        order = [(m["name"], m["revision"], m["prompt_name"]) for m in previous.get("models", [])]
        models += [asdict(m) for m in self.models]

        def rank(model: dict) -> int:
            key = (model["name"], model["revision"], model["prompt_name"])
            return order.index(key) if key in order else len(order)

        models.sort(key=rank)
        ran = {(m.label, task) for m in self.models for task in self.tasks}
        failures = [f for f in previous.get("failures", []) if (f["model"], f["task"]) not in ran]
        data = {
            "models": models,
            "tasks": list(dict.fromkeys([*previous.get("tasks", []), *self.tasks])),
            "task_info": {**previous.get("task_info", {}), **self.task_info},
            "failures": failures + [asdict(f) for f in self.failures],
            "wall_time_s": round(self.wall_time_s, 1),
        }
        return json.dumps(data, indent=2, ensure_ascii=False)


def _load_models(specs: list[str], prompts: Sequence[str | None], batch_size: int, device: str | None):
    """Each model once, with an encoder per distinct prompt it resolves to (None: its default prompt)."""
    from embedkit.models import load_model, resolve_model

    loaded: list[tuple[EvalModel, CachedEncoder]] = []
    for spec in specs:
        folder = resolve_model(spec)
        model = load_model(spec, device=device)
        name, revision = model_name(spec, folder), content_revision(folder)
        if any(m.name == name and m.revision == revision for m, _ in loaded):
            raise UserError(f"model {spec!r} is given twice (same files as an earlier MODEL)")
        resolved = dict.fromkeys(resolve_prompt(model, prompt) for prompt in prompts)
        for prompt_name, prompt_text in resolved:
            meta = model_meta(model, name, revision, prompt_name)
            record = EvalModel(spec, str(folder), name, revision, prompt_name, prompt_text)
            loaded.append((record, CachedEncoder(model, meta, prompt_text, batch_size=batch_size)))
    return loaded


def _needs_run(cache: AtomicResultCache, task: AbsTask, encoder: CachedEncoder, overwrite: bool) -> bool:
    if overwrite:
        return True
    existing = cache.load_task_result(task.metadata.name, encoder.mteb_model_meta)
    return existing is None or bool(existing.get_missing_evaluations(task))


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".strip()


def run_eval(
    model_specs: list[str],
    tasks: list[AbsTask],
    out: Path,
    *,
    prompts: Sequence[str | None] = (None,),
    data_dir: Path | None = None,
    batch_size: int = 128,
    overwrite: bool = False,
    device: str | None = None,
    progress: Progress = SILENT,
) -> EvalRun:
    """Evaluate every model under every prompt of `prompts` on every task; write OUT/results/ (mteb
    layout) and OUT/eval.json. A prompt is a prompt name, "none", or None: the model's default prompt.

    Every file is written temp-then-rename; a damaged cached result is named in a warning and recomputed.
    """
    with warnings.catch_warnings():
        # mteb's bitext scorer copies a tensor with torch.tensor(); harmless, but it warns once per subset
        warnings.filterwarnings("ignore", message="To copy construct from a tensor", category=UserWarning)
        return _run_eval(model_specs, tasks, out, prompts, data_dir, batch_size, overwrite, device, progress)


def _run_eval(model_specs, tasks, out, prompts, data_dir, batch_size, overwrite, device, progress) -> EvalRun:
    import mteb

    from mteb_tasks import check_hub_data, load_task_data

    start = time.monotonic()
    if not tasks:
        raise UserError("no tasks to run (check --tasks / --suite / --langs)")
    check_hub_data(tasks, data_dir)
    loaded = _load_models(model_specs, prompts, batch_size, device)
    out.mkdir(parents=True, exist_ok=True)
    cache = AtomicResultCache(out)
    repair(cache, [encoder.mteb_model_meta for _, encoder in loaded])
    run = EvalRun(out, [m for m, _ in loaded], [t.metadata.name for t in tasks])
    run.task_info = {t.metadata.name: asdict(TaskInfo.of(t)) for t in tasks}

    with progress.task("evaluating", total=len(tasks) * len(loaded)) as overall:
        for task in tasks:
            name = task.metadata.name
            todo = [(m, enc) for m, enc in loaded if _needs_run(cache, task, enc, overwrite)]
            overall.advance(len(loaded) - len(todo))
            if not todo:
                continue
            overall.status(name)
            try:
                load_task_data(task, data_dir)
            except Exception as exc:  # bad data fails this task only
                logger.debug("loading %s failed", name, exc_info=True)
                for record, _ in todo:
                    run.failures.append(Failure(record.label, name, _describe(exc)))
                overall.advance(len(todo))
                continue
            for record, encoder in todo:
                encoder.progress = progress
                try:
                    mteb.evaluate(
                        encoder,
                        task,
                        cache=cache,
                        overwrite_strategy="always" if overwrite else "only-missing",
                        encode_kwargs={"batch_size": batch_size, "show_progress_bar": False},
                        show_progress_bar=False,
                        co2_tracker=False,
                    )
                except Exception as exc:
                    logger.debug("%s with %s failed", name, record.label, exc_info=True)
                    run.failures.append(Failure(record.label, name, _describe(exc)))
                finally:
                    encoder.progress = SILENT
                overall.advance()
            task.unload_data()
    for record, encoder in loaded:
        record.texts_encoded, record.texts_requested = encoder.texts_encoded, encoder.texts_requested
    run.wall_time_s = time.monotonic() - start
    write_text_atomic(out / RUN_FILE, run.to_json(read_json_or_warn(out / RUN_FILE)))
    for failure in run.failures:
        logger.error("failed: %s with %s: %s", failure.task, failure.model, failure.error)
    return run
