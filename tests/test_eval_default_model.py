"""The Tatoeba plugin on the real default model equals an independent mteb-based scorer: the installed mteb's
own Tatoeba task, run offline from a Hub-layout copy of ../shared/data/tatoeba through mteb's own
SentenceTransformer wrapper (no embedkit encoder, reader or cache involved). Telugu and Tamil only, to keep it
short."""

from __future__ import annotations

import mteb
import pytest
from test_mteb_local_data import stock_tatoeba, write_tatoeba_hub_copy

from embedkit.evaluation import load_eval, run_eval
from mteb_tasks import get_task, load_task_data

LANGS = ["tel", "tam"]


@pytest.mark.slow
def test_tatoeba_plugin_matches_stock_mteb_and_prompt_matters(tmp_path, shared_data, default_model):
    from sentence_transformers import SentenceTransformer

    plugin = get_task("TatoebaIndic").filter_languages(LANGS)
    run_eval(["default"], [plugin], tmp_path / "out")
    run_eval(
        ["default"], [get_task("TatoebaIndic").filter_languages(LANGS)], tmp_path / "out", prompts=["none"]
    )
    by_prompt = {m.prompt: m.scores["TatoebaIndic"] for m in load_eval(tmp_path / "out").models}

    write_tatoeba_hub_copy(tmp_path / "copies", shared_data / "tatoeba", LANGS)
    stock = stock_tatoeba(LANGS)
    load_task_data(stock, tmp_path / "copies")
    model = SentenceTransformer(str(default_model), local_files_only=True)  # its default prompt is "query: "
    result = mteb.evaluate(model, stock, cache=None, show_progress_bar=False, co2_tracker=False)
    independent = {e["hf_subset"]: 100 * e["f1"] for e in result.task_results[0].scores["test"]}

    for lang in LANGS:
        subset = f"{lang}-eng"
        assert by_prompt["query"][subset] == pytest.approx(independent[subset], abs=0.2)
        assert 75 < by_prompt["query"][subset] < 95
    # the default model scores clearly higher on Tatoeba without its "query: " prefix (tel: ~86.8 vs ~92.3)
    assert by_prompt["none"]["tel-eng"] > by_prompt["query"]["tel-eng"] + 2
