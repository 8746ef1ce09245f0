"""`embedkit eval`: mteb results layout, report and plots, several models side by side, resuming, the encoding
cache, prompts, and bad input (unknown task/suite, a model that does not load, a failing task)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from mteb.cache import ResultCache
from mteb.results import TaskResult

from embedkit.cli import main


@pytest.fixture(scope="module")
def second_model(tmp_path_factory) -> Path:
    """Another tiny random model (different seed): stands in for a trained model next to its base."""
    from conftest import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny2"), seed=1)


def _eval(*args) -> int:
    return main(["eval", "--quiet", *map(str, args)])


def _main_scores(out: Path) -> dict[tuple[str, str, str], float]:
    """(model name@revision [prompt], task, subset) -> main score, read with mteb's own result classes."""
    scores = {}
    loaded = ResultCache(out).load_results(load_experiments="match_name", include_remote=False)
    for model in loaded.model_results:
        prompt = model.model_meta.experiment_kwargs["prompt"]
        for result in model.task_results:
            for split in result.scores.values():
                for entry in split:
                    key = f"{model.model_name}@{model.model_revision} [{prompt}]"
                    scores[(key, result.task_name, entry["hf_subset"])] = entry["main_score"]
    return scores


def _kural_corpus(folder: Path) -> Path:
    """A parallel corpus folder holding exactly KuralBitextMining's pairs: a second task sharing every
    text."""
    from datasets import Dataset

    from mteb_tasks import get_task, load_task_data

    task = get_task("KuralBitextMining")
    load_task_data(task)
    data = task.dataset["tam-eng"]["test"]
    n = len(data)
    Dataset.from_dict({"source": data["sentence1"], "target": data["sentence2"], "source_lang": ["ta"] * n,
                       "target_lang": ["en"] * n}).save_to_disk(str(folder))  # fmt: skip
    return folder


@pytest.fixture(scope="module")
def two_model_run(tmp_path_factory, tiny_model, second_model):
    root = tmp_path_factory.mktemp("eval")
    corpus = _kural_corpus(root / "kural-copy")
    out = root / "out"
    rc = _eval(tiny_model, second_model, "--tasks", f"STSbEnglish,KuralBitextMining,{corpus}", "--out", out)
    return rc, out


def test_results_load_with_mteb_and_report_shows_both_models(two_model_run):
    rc, out = two_model_run
    assert rc == 0
    files = sorted(out.glob("results/*/*/experiments/prompt_query/*.json"))
    assert {f.name for f in files} >= {"STSbEnglish.json", "KuralBitextMining.json", "model_meta.json"}
    for path in files:
        if path.name != "model_meta.json":
            assert TaskResult.from_disk(path).task_name == path.stem
    scores = _main_scores(out)
    assert len(scores) == 6  # 2 models x 3 tasks x 1 subset
    report = (out / "report.md").read_text(encoding="utf-8")
    # both folders are named tiny-model: labels carry the revision; the second model gets a delta column
    assert report.count("@") >= 2 and "Δ local/tiny-model [query] @" in report
    for (_, task, subset), value in scores.items():
        assert f"{100 * value:.2f}" in report, (task, subset)
    for plot in ("summary.png", "summary-delta.png", "STSbEnglish.png", "KuralBitextMining-delta.png"):
        assert (out / "plots" / plot).stat().st_size > 1000
        assert f"plots/{plot}" in report
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<img src='plots/summary.png'" in html and ("class='gain'" in html or "class='loss'" in html)
    run = json.loads((out / "eval.json").read_text(encoding="utf-8"))
    assert [m["prompt"] for m in run["models"]] == ["query: ", "query: "] and run["failures"] == []


def test_each_distinct_text_is_encoded_once_per_model(two_model_run):
    """STSb repeats sentences; the corpus task repeats every Kural text: the model sees each text once."""
    _, out = two_model_run
    from mteb_tasks import get_task, load_task_data

    texts = []
    for name in ("STSbEnglish", "KuralBitextMining"):
        task = get_task(name)
        load_task_data(task)
        data = task.dataset[task.hf_subsets[0]]["test"]
        texts += list(data["sentence1"]) + list(data["sentence2"])
    kural = 2 * 260
    for model in json.loads((out / "eval.json").read_text(encoding="utf-8"))["models"]:
        assert model["texts_requested"] == len(texts) + kural
        assert model["texts_encoded"] == len(set(texts)) < len(texts)


def test_rerun_resumes_and_prompts_are_separate_experiments(two_model_run, tiny_model, second_model, capsys):
    _, out = two_model_run
    before = _main_scores(out)
    tasks = "STSbEnglish,KuralBitextMining"
    assert _eval(tiny_model, second_model, "--tasks", tasks, "--out", out) == 0
    run = json.loads((out / "eval.json").read_text(encoding="utf-8"))
    assert [m["texts_encoded"] for m in run["models"]] == [0, 0]  # nothing left to do
    assert len(run["tasks"]) == 3  # the corpus task of the first run is still listed
    assert _main_scores(out) == before
    assert capsys.readouterr().out.strip().splitlines()[-1] == f"report: {out / 'report.md'}"

    assert _eval(tiny_model, "--tasks", "KuralBitextMining", "--prompt", "none", "--out", out) == 0
    metas = sorted(out.glob("results/*/*/experiments/*/model_meta.json"))
    assert sorted({p.parent.name for p in metas}) == ["prompt_none", "prompt_query"]
    none_meta = next(p for p in metas if p.parent.name == "prompt_none")
    assert json.loads(none_meta.read_text())["experiment_kwargs"] == {"prompt": "none"}
    kural = {key: v for (key, task, _), v in _main_scores(out).items() if task == "KuralBitextMining"}
    revision = next(key for key in kural if key.endswith("[none]")).split(" ")[0]
    assert kural[f"{revision} [none]"] != kural[f"{revision} [query]"]
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "| local/tiny-model |" in report  # the no-prompt column, after the two models evaluated first
    models = json.loads((out / "eval.json").read_text(encoding="utf-8"))["models"]
    assert [m["prompt_name"] for m in models] == ["query", "query", "none"]
    assert _eval(tiny_model, "--tasks", "STSbEnglish", "--prompt", "passage: ", "--out", out) == 2
    assert "no such prompt; use one of passage, query, or none" in capsys.readouterr().err


def test_a_failing_task_keeps_the_others(tmp_path, tiny_model, shared_data, monkeypatch, capsys, logged):
    shared = tmp_path / "shared"
    (shared / "mahasts_l3cube").mkdir(parents=True)
    (shared / "tatoeba").symlink_to(shared_data / "tatoeba")
    rows = (shared_data / "mahasts_l3cube/test.csv").read_text(encoding="utf-8").splitlines()[:20]
    rows[7] = rows[7].rsplit(",", 1)[0] + ",high"
    (shared / "mahasts_l3cube/test.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    monkeypatch.setenv("EMBEDKIT_SHARED_DATA", str(shared))
    out = tmp_path / "out"
    rc = _eval(tiny_model, "--tasks", "MahaSTS,TatoebaIndic", "--langs", "tel,mar", "--out", out)
    assert rc == 1, capsys.readouterr().err
    assert re.search(  # the runner logs it (the screen may wrap the line)
        r"failed: MahaSTS with local/tiny-model \[query\]: InputError: "
        r".*test.csv:8: score 'high' is not a number",
        logged.text,
    )
    assert {task for _, task, _ in _main_scores(out)} == {"TatoebaIndic"}
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "## Failures" in report and "score 'high' is not a number" in report


def test_bad_input_exits_2(tmp_path, tiny_model, capsys):
    out = tmp_path / "out"
    assert _eval(tiny_model, "--tasks", "TatoebaIndc", "--out", out) == 2
    assert "unknown task 'TatoebaIndc': did you mean TatoebaIndic" in capsys.readouterr().err
    assert _eval(tiny_model, "--suite", "nope", "--out", out) == 2
    assert "unknown suite 'nope'" in capsys.readouterr().err
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model, broken)
    (broken / "config.json").write_text("{not json", encoding="utf-8")
    assert _eval(broken, "--tasks", "STSbEnglish", "--out", out) == 2
    assert f"the folder {broken} does not load" in capsys.readouterr().err
    assert _eval(tmp_path / "missing", "--tasks", "STSbEnglish", "--out", out) == 2
    assert not (out / "results").exists()  # nothing ran


def test_list_names_tasks_and_suites(capsys):
    assert main(["eval", "--list"]) == 0
    listing = capsys.readouterr().out
    assert "TatoebaIndic\tBitextMining" in listing and "suite indic-offline" in listing
