"""`embedkit publish`: a model folder with a model card whose YAML front matter parses and whose model-index
equals the MTEB result files; --dry-run writes nothing; --hub fails fast offline; no token ever reaches disk
or output."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from mteb.results import TaskResult

from embedkit.cli import main
from embedkit.evaluation.card import front_matter, model_index_values

SECRET = "hf_embedkitTestTokenNeverWritten123"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _manifest(shared: Path) -> dict:
    """A corpus manifest in the corpora contract's shape, for real training inputs in ../shared/data."""
    inputs = [shared / "stsb_translated_l3cube/hindi/sts-train-hi.tsv", shared / "stsb_english/sts-train.csv"]
    return {
        "kind": "sts",
        "format": "stsb",
        "languages": ["hi", "en"],
        "inputs": [
            {"role": "input", "path": str(p), "sha256": _sha(p), "bytes": p.stat().st_size} for p in inputs
        ],
        "rows_in": 11498,
        "rows_out": 11498,
    }


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, tiny_model, shared_data) -> Path:
    """A training run folder in the contract layout, evaluated (base = the tiny model, trained = another
    seed)."""
    from conftest import build_tiny_model

    root = tmp_path_factory.mktemp("run")
    trained = build_tiny_model(root / "build", seed=3)
    run = root / "sts-hi"
    shutil.copytree(trained, run / "model")
    record = {
        "recipe": {"base_model": "default", "seed": 3,
                   "stages": [{"name": "sts", "type": "sts", "loss": "CoSENTLoss"}]},
        "data": [_manifest(shared_data)],
        "stages": [{"name": "sts", "type": "sts", "loss": "CoSENTLoss", "metrics": {"dev_spearman": 0.71},
                    "steps": 90, "wall_time_s": 41.0}],
        "base_model": {"spec": "default", "path": "/cache/multilingual-e5-small"},
        "versions": {"embedkit": "0.1.0"},
        "git_revision": "abc123",
        "seed": 3,
        "wall_time_s": 45.2,
    }  # fmt: skip
    (run / "run.json").write_text(json.dumps(record), encoding="utf-8")
    tasks = "STSbEnglish,KuralBitextMining"
    rc = main(
        ["eval", "--quiet", str(tiny_model), str(run / "model"), "--tasks", tasks, "--out", str(run / "eval")]
    )
    assert rc == 0
    return run


def _trained_results(run: Path) -> dict[tuple[str, str], float]:
    """(task (subset), main score name) -> main score ×100 from the trained model's result files."""
    from embedkit.evaluation.encoder import content_revision
    from mteb_tasks import TASKS

    revision = content_revision(run / "model")
    values = {}
    for path in (run / "eval/results").glob(f"*/{revision}/experiments/prompt_query/*.json"):
        if path.name in {"model_meta.json"}:
            continue
        result = TaskResult.from_disk(path)
        metric = TASKS[result.task_name].metadata.main_score
        for entry in result.scores["test"]:
            values[(f"{result.task_name} ({entry['hf_subset']})", metric)] = round(
                100 * entry["main_score"], 4
            )
    return values


def test_card_front_matter_and_model_index_equal_the_results(run_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", SECRET)
    out = tmp_path / "published"
    assert main(["publish", "--quiet", str(run_dir), "--to", str(out), "--name", "embedkit/tiny-sts-hi"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(out)
    card = (out / "README.md").read_text(encoding="utf-8")
    meta = front_matter(card)
    assert {"mteb", "sentence-transformers"} <= set(meta["tags"])
    assert meta["license"] == "mit" and meta["base_model"] == "intfloat/multilingual-e5-small"
    assert {"hi", "en", "ta"} <= set(meta["language"])
    expected = _trained_results(run_dir)
    assert len(expected) == 2
    assert model_index_values(card) == expected
    # the body: evaluation tables against the base, recipe, stages, data provenance with licences
    assert "Δ vs local/tiny-model" in card and "CoSENTLoss" in card and "dev_spearman=0.71" in card
    assert "sts-train-hi.tsv" in card and "CC BY-NC-SA 4.0" in card and "non-commercial" in card
    assert "CC BY-SA 4.0" in card  # STSb English scores, from its PROVENANCE.md
    # a loadable model folder
    from sentence_transformers import SentenceTransformer

    assert SentenceTransformer(str(out)).encode(["வணக்கம்"]).shape == (1, 32)
    for path in out.rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_text(encoding="utf-8", errors="ignore")


def test_dry_run_prints_files_and_card_and_writes_nothing(run_dir, tmp_path, capsys):
    out = tmp_path / "never"
    assert main(["publish", "--quiet", str(run_dir), "--to", str(out), "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert not out.exists()
    assert "model.safetensors" in printed and "README.md" in printed and "model-index:" in printed
    assert printed.split("--- README.md ---\n", 1)[1].startswith("---\n")


def test_hub_upload_fails_fast_offline_without_leaking_the_token(run_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", SECRET)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    out = tmp_path / "pub"
    assert main(["publish", str(run_dir), "--to", str(out), "--hub", "embedkit/tiny"]) == 2
    captured = capsys.readouterr()
    assert "HF_HUB_OFFLINE is set" in captured.err
    assert SECRET not in captured.err + captured.out and not out.exists()
    assert main(["publish", str(run_dir), "--to", str(out), "--hub", "not a repo id"]) == 2


def test_bad_run_folders_exit_2(run_dir, tmp_path, capsys):
    assert main(["publish", str(tmp_path / "nope"), "--to", str(tmp_path / "o")]) == 2
    no_eval = tmp_path / "no-eval"
    shutil.copytree(run_dir, no_eval, ignore=shutil.ignore_patterns("eval"))
    assert main(["publish", str(no_eval), "--to", str(tmp_path / "o")]) == 2
    assert "no evaluation results" in capsys.readouterr().err
    # results that hold other models only (e.g. the base): the trained model was never evaluated
    other = tmp_path / "other"
    shutil.copytree(run_dir, other, ignore=shutil.ignore_patterns("model"))
    shutil.copytree(run_dir.parent / "build" / "tiny-model", other / "model")
    (other / "model" / "config.json").write_text(
        (other / "model" / "config.json")
        .read_text()
        .replace('"hidden_dropout_prob": 0.1', '"hidden_dropout_prob": 0.2')
    )
    assert main(["publish", str(other), "--to", str(tmp_path / "o")]) == 2
    assert "no results for this run's model" in capsys.readouterr().err
    bad_json = tmp_path / "bad-json"
    shutil.copytree(run_dir, bad_json)
    (bad_json / "run.json").write_text('{"recipe": ', encoding="utf-8")
    assert main(["publish", str(bad_json), "--to", str(tmp_path / "o")]) == 2
    assert "run.json:1: not valid JSON" in capsys.readouterr().err


def _tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): _sha(p) for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    "where", ["the run", "inside the run", "the model", "holding the run", "the results"]
)
def test_to_never_overlaps_the_run_or_its_results(run_dir, tmp_path, capsys, where):
    """--to is replaced wholesale: one that is, holds or lies inside the run folder (or its results) would
    destroy run.json, the checkpoints and the eval results."""
    run = tmp_path / "runs" / "sts-hi"
    shutil.copytree(run_dir, run)
    to = {
        "the run": run,
        "inside the run": run / "card",
        "the model": run / "model",
        "holding the run": run.parent,
        "the results": run / "eval",
    }[where]
    before = _tree(run)
    # spelled through `..`, so only a comparison of resolved paths catches it
    spelled = Path(str(to).replace(str(run.parent), str(run.parent / ".." / "runs"), 1))
    assert main(["publish", "--quiet", str(run), "--to", str(spelled), "--force"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "publishing replaces --to, so choose a folder outside it" in err
    assert _tree(run) == before and not (run / "card").exists()


def test_symlinks_out_of_the_model_folder_are_refused(run_dir, tmp_path, capsys):
    run = tmp_path / "sts-hi"
    shutil.copytree(run_dir, run)
    secret = tmp_path / "secret.txt"
    secret.write_text("not part of the model\n", encoding="utf-8")
    link = run / "model" / "notes.txt"
    link.symlink_to(secret)
    out = tmp_path / "published"
    assert main(["publish", "--quiet", str(run), "--to", str(out)]) == 2
    err = "".join(capsys.readouterr().err.split())  # the screen wraps long paths anywhere
    assert "".join(f"{link} is a symlink to {secret} (outside the model folder)".split()) in err
    assert not out.exists()
    link.unlink()
    (run / "model" / "more").symlink_to(tmp_path, target_is_directory=True)  # a folder link, even inside
    assert main(["publish", "--quiet", str(run), "--to", str(out)]) == 2
    assert "(afolder)" in "".join(capsys.readouterr().err.split()) and not out.exists()


def test_a_link_inside_the_model_is_copied_as_a_file_and_the_folder_is_readable(run_dir, tmp_path, capsys):
    run = tmp_path / "sts-hi"
    shutil.copytree(run_dir, run)
    (run / "model" / "docs").mkdir()  # .txt: not part of the model's content revision
    (run / "model" / "docs" / "LICENSE.txt").write_text("MIT License\n", encoding="utf-8")
    (run / "model" / "LICENSE.txt").symlink_to("docs/LICENSE.txt")
    out = tmp_path / "published"
    old = os.umask(0o022)
    try:
        assert main(["publish", "--quiet", str(run), "--to", str(out)]) == 0
    finally:
        os.umask(old)
    copied = out / "LICENSE.txt"
    assert not copied.is_symlink() and copied.read_text(encoding="utf-8") == "MIT License\n"
    for path in [out, *out.rglob("*")]:  # readable by other users and web servers
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o044 == 0o044 and (not path.is_dir() or mode & 0o011 == 0o011), (path, oct(mode))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".published.")]  # no temp folder left


def test_prompts_model_none_the_report_and_the_card_compare_with_the_base_at_its_best_prompt(
    run_dir, tiny_model, tmp_path
):
    """`embedkit eval --prompts model,none` scores both models at both prompts in one run; the report's
    best-prompt table and the card's summary take the base at whichever prompt scores higher, per task."""
    from embedkit.evaluation import load_eval

    run = tmp_path / "sts-hi"
    shutil.copytree(run_dir, run, ignore=shutil.ignore_patterns("eval"))
    args = ["eval", "--quiet", str(tiny_model), str(run / "model"), "--tasks", "STSbEnglish"]
    assert main([*args, "--prompts", "model,none", "--out", str(run / "eval")]) == 0
    results = load_eval(run / "eval")
    labels = [m.label for m in results.models]
    assert labels == ["local/tiny-model [query]", "local/tiny-model", "local/sts-hi [query]", "local/sts-hi"]
    base = {m.prompt: m for m in results.models if m.name == "local/tiny-model"}
    mine = next(m for m in results.models if m.name == "local/sts-hi" and m.prompt == "query")
    assert base["query"].scores != base["none"].scores  # the prompt changes the scores

    report = (run / "eval" / "report.md").read_text(encoding="utf-8")
    section = report.split("## Against the baseline at its best prompt", 1)[1].split("\n## ", 1)[0]
    card_out = tmp_path / "published"
    assert main(["publish", "--quiet", str(run), "--to", str(card_out)]) == 0
    card = (card_out / "README.md").read_text(encoding="utf-8")
    summary = card.split("### Summary", 1)[1].split("\n### ", 1)[0]
    assert "local/tiny-model [query]" in summary and "Δ vs local/tiny-model, best prompt" in summary
    task = "STSbEnglish"
    best, prompt = max((base[p].task_mean(task), p) for p in ("query", "none"))
    row = next(line for line in section.splitlines() if line.startswith(f"| {task} |"))
    assert f"{best:.2f} ({prompt})" in row
    assert f"{mine.task_mean(task) - best:+.2f}" in row
    card_row = next(line for line in summary.splitlines() if line.startswith(f"| {task} |"))
    assert card_row.rstrip(" |").endswith(f"{mine.task_mean(task) - best:+.2f} ({prompt})")
