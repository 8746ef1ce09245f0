"""Stock mteb tasks offline: the installed mteb's own task classes run from local copies of their Hub
datasets, written here from the real files in ../shared/data in the Hub layout (and in save_to_disk
layout)."""

from __future__ import annotations

import json
from pathlib import Path

import mteb
import pytest

from embedkit.errors import UserError
from mteb_tasks import check_hub_data, get_task, load_task_data

TATOEBA_REPO = "mteb/tatoeba-bitext-mining"


def write_tatoeba_hub_copy(data_dir: Path, tatoeba: Path, langs: list[str]) -> Path:
    """The Hub repo layout of mteb/tatoeba-bitext-mining for `langs`, built from the LASER files: one JSONL
    file per language pair (sentence1 = the non-English side, sentence2 = English, lang = "xxx-eng"), a config
    per pair and a `default` config over all of them (the stock task fast-loads `default` and splits it on
    lang)."""
    repo = data_dir / TATOEBA_REPO
    configs = []
    for lang in langs:
        pair = f"{lang}-eng"
        source = (tatoeba / f"tatoeba.{pair}.{lang}").read_text(encoding="utf-8").splitlines()
        english = (tatoeba / f"tatoeba.{pair}.eng").read_text(encoding="utf-8").splitlines()
        (repo / pair).mkdir(parents=True, exist_ok=True)
        with open(repo / pair / "test.jsonl", "w", encoding="utf-8") as out:
            for s1, s2 in zip(source, english, strict=True):
                out.write(
                    json.dumps({"sentence1": s1, "sentence2": s2, "lang": pair}, ensure_ascii=False) + "\n"
                )
        configs.append(
            f"- config_name: {pair}\n  data_files:\n  - split: test\n    path: {pair}/test.jsonl\n"
        )
    configs.append("- config_name: default\n  data_files:\n  - split: test\n    path: '*-eng/test.jsonl'\n")
    (repo / "README.md").write_text("---\nconfigs:\n" + "".join(configs) + "---\n", encoding="utf-8")
    return repo


def stock_tatoeba(langs: list[str]):
    return mteb.get_task("Tatoeba", hf_subsets=[f"{lang}-eng" for lang in langs])


def test_stock_task_loads_from_hub_layout_copy(tmp_path, shared_data):
    write_tatoeba_hub_copy(tmp_path, shared_data / "tatoeba", ["tam", "tel"])
    task = stock_tatoeba(["tam", "tel"])
    load_task_data(task, tmp_path)
    assert task.data_loaded
    assert {s: len(task.dataset[s]["test"]) for s in task.hf_subsets} == {"tam-eng": 307, "tel-eng": 234}
    first_tamil = (
        (shared_data / "tatoeba" / "tatoeba.tam-eng.tam").read_text(encoding="utf-8").splitlines()[0]
    )
    assert task.dataset["tam-eng"]["test"]["sentence1"][0] == first_tamil
    # the swap of the data path lasts only for the load: the task still reports its published dataset
    assert task.metadata.dataset["path"] == TATOEBA_REPO


def test_stock_task_loads_from_save_to_disk_copy(tmp_path, shared_data):
    from datasets import Dataset, DatasetDict

    lines = (shared_data / "tatoeba" / "tatoeba.tel-eng.tel").read_text(encoding="utf-8").splitlines()
    english = (shared_data / "tatoeba" / "tatoeba.tel-eng.eng").read_text(encoding="utf-8").splitlines()
    saved = tmp_path / TATOEBA_REPO / "tel-eng"
    DatasetDict({"test": Dataset.from_dict({"sentence1": lines, "sentence2": english})}).save_to_disk(
        str(saved)
    )
    task = stock_tatoeba(["tel"])
    load_task_data(task, tmp_path)
    assert task.dataset["tel-eng"]["test"]["sentence2"] == english


def test_stock_and_plugin_score_the_same(tmp_path, shared_data, tiny_model):
    """The stock Tatoeba task on the local copy and embedkit's TatoebaIndic plugin give the same F1 per
    language."""
    from sentence_transformers import SentenceTransformer

    write_tatoeba_hub_copy(tmp_path, shared_data / "tatoeba", ["tel"])
    model = SentenceTransformer(str(tiny_model))
    stock = stock_tatoeba(["tel"])
    load_task_data(stock, tmp_path)
    plugin = get_task("TatoebaIndic").filter_languages(["tel"])
    scores = {}
    for task in (stock, plugin):
        result = mteb.evaluate(model, task, cache=None, show_progress_bar=False, co2_tracker=False)
        scores[task.metadata.name] = result.task_results[0].scores["test"][0]["f1"]
    assert scores["Tatoeba"] == pytest.approx(scores["TatoebaIndic"], abs=1e-9)
    assert 0 < scores["Tatoeba"] < 0.5  # a random tiny model finds a few translations by shared tokens


def test_offline_without_copy_fails_fast_naming_the_dataset(tmp_path, shared_data, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr("datasets.config.HF_DATASETS_CACHE", tmp_path / "datasets")
    copies = tmp_path / "copies"
    with pytest.raises(UserError, match=r"Tatoeba \(mteb/tatoeba-bitext-mining\).*--data-dir"):
        check_hub_data([stock_tatoeba(["tel"])], copies)
    write_tatoeba_hub_copy(copies, shared_data / "tatoeba", ["tel"])
    check_hub_data(
        [stock_tatoeba(["tel"]), get_task("TatoebaIndic")], copies
    )  # a copy, and a local task: fine
