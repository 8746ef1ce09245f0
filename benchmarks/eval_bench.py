"""Suite evaluation vs stock mteb, on the same model and tasks.

- suite: `embedkit.evaluation.run_eval` — every task of the suite through `mteb.evaluate`, one model wrapped
in
  the run-wide encoding cache (each distinct text encoded once);
- separate: each task on its own with stock `mteb.evaluate(SentenceTransformer, task, cache=None)` (mteb's own
  SentenceTransformer wrapper, no cache).

Both include loading the model once. `ratio` = separate wall time / suite wall time. Main scores are listed
per task: they agree except where the prompt policy differs (stock mteb encodes retrieval documents with the
model's "document" prompt; embedkit gives every text the same prompt). Defaults: the default model on the
`demo-registry` suite (registry-package data, needs no ../shared); EMBEDKIT_BENCH_MODEL and
EMBEDKIT_BENCH_SUITE choose others.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import warnings
from pathlib import Path


def run() -> list[dict]:
    import mteb

    from embedkit.evaluation import run_eval
    from embedkit.models import load_model
    from mteb_tasks import get_suite

    model_spec = os.environ.get("EMBEDKIT_BENCH_MODEL", "default")
    suite = os.environ.get("EMBEDKIT_BENCH_SUITE", "demo-registry")
    warnings.filterwarnings("ignore", category=UserWarning)
    with tempfile.TemporaryDirectory(prefix="eval-bench-") as tmp:
        out = Path(tmp) / "out"
        start = time.perf_counter()
        suite_run = run_eval([model_spec], get_suite(suite), out)
        suite_s = time.perf_counter() - start
        suite_scores = _scores(out)

        start = time.perf_counter()
        model = load_model(model_spec)
        separate_scores = {}
        for task in get_suite(suite):
            result = mteb.evaluate(model, task, cache=None, show_progress_bar=False, co2_tracker=False)
            task_result = result.task_results[0]
            split = next(iter(task_result.scores))
            separate_scores[task.metadata.name] = _mean(task_result.scores[split])
        separate_s = time.perf_counter() - start

    record = suite_run.models[0]
    rows = [
        {
            "benchmark": f"eval {suite} ({model_spec})",
            "suite_s": round(suite_s, 1),
            "separate_s": round(separate_s, 1),
            "ratio": round(separate_s / suite_s, 2),
            "texts_encoded": record.texts_encoded,
            "texts_requested": record.texts_requested,
        }
    ]
    for task, score in suite_scores.items():
        rows.append(
            {
                "benchmark": f"  {task} main score ×100",
                "suite": round(score, 2),
                "separate": round(separate_scores.get(task, float("nan")), 2),
            }
        )
    print(
        f"eval bench: separate/suite wall time = {rows[0]['ratio']}x ({separate_s:.0f} s vs {suite_s:.0f} s)"
    )
    return rows


def _mean(entries: list[dict]) -> float:
    return 100 * sum(e["main_score"] for e in entries) / len(entries)


def _scores(out: Path) -> dict[str, float]:
    scores = {}
    for path in sorted(out.glob("results/*/*/experiments/*/*.json")):
        if path.name == "model_meta.json":
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        scores[data["task_name"]] = _mean(next(iter(data["scores"].values())))
    return scores
