"""BLI on the MUSE test split, two ways: the kit's MuseBLI task (mteb retrieval, embedkit's encoder) and an
independent scorer written here (the raw dictionary files read afresh, the split rebuilt, plain numpy cosine
retrieval over every target word). Both see the same vectors: each text is encoded once, under the model's
default prompt, by the kit's `CachedEncoder`; the scorer looks them up, or encodes what it misses itself.

The slow test is the lexical recipe's "done when" check. It needs a finished run:

    embedkit train recipes/lexical-offline.yaml --out runs/lexical-offline
    EMBEDKIT_LEXICAL_RUN=runs/lexical-offline [EMBEDKIT_LEXICAL_REPORT=scores.json] \
        pytest -q -s tests/test_lexical_bli.py -m slow

Each model's scores are kept in $EMBEDKIT_LEXICAL_SCORES (a folder) when that is set. It compares the run's
model with the default model: MUSE test BLI P@1 (en->hi, bn, ta) must rise by >= 5
points on average by both scorers, Tatoeba Indic->eng mean F1 may drop by at most 0.5 (TatoebaIndic, same
prompt), and word similarity (WordSimIndic) is reported.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

MUSE_FILES = {"eng-hin": "en-hi.dict", "eng-ben": "en-bn.dict", "eng-tam": "en-ta.dict"}
TATOEBA = ("hin", "mar", "tam", "tel", "mal", "ben", "urd")


# --- the independent scorer --------------------------------------------------------------------------


def muse_test_split(path: Path, start: int = 5000, stop: int = 6500):
    """(queries, gold translations per query, candidates) of a MUSE dictionary `target @ source`: queries
    are distinct source words number start..stop-1 in file order, candidates every distinct target word."""
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            target, source = (part.strip() for part in line.split(" @ "))
            pairs.append((source, target))
    sources = list(dict.fromkeys(source for source, _ in pairs))
    queries = sources[start:stop]
    wanted = set(queries)
    gold: dict[str, set[str]] = {query: set() for query in queries}
    for source, target in pairs:
        if source in wanted:
            gold[source].add(target)
    candidates = list(dict.fromkeys(target for _, target in pairs))
    return queries, gold, candidates


def numpy_bli(encode: Callable[[list[str]], np.ndarray], path: Path) -> dict[str, float]:
    """P@1 and MRR@1000 (x100) by cosine over every target word of the dictionary."""
    queries, gold, candidates = muse_test_split(path)
    q, c = encode(queries), encode(candidates)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    index = {word: i for i, word in enumerate(candidates)}
    hits, reciprocal = [], []
    for start in range(0, len(queries), 256):
        scores = q[start : start + 256] @ c.T
        for row, query in zip(scores, queries[start : start + 256], strict=True):
            gold_ids = [index[word] for word in gold[query]]
            rank = int((row > row[gold_ids].max()).sum()) + 1  # rank of the best-placed gold translation
            hits.append(rank == 1)
            reciprocal.append(1.0 / rank if rank <= 1000 else 0.0)
    return {"p_at_1": 100 * float(np.mean(hits)), "mrr_at_1000": 100 * float(np.mean(reciprocal))}


# --- running the kit's tasks with one encoder per model ----------------------------------------------


def kit_encoder(spec: str):
    """The kit's CachedEncoder for `spec` under its default prompt (as `embedkit eval` builds it), recording
    every (text, vector) it returns so the independent scorer can reuse them."""
    from embedkit.evaluation.encoder import (
        CachedEncoder,
        content_revision,
        model_meta,
        model_name,
        resolve_prompt,
    )
    from embedkit.models import load_model, resolve_model

    class RecordingEncoder(CachedEncoder):
        def encode(self, inputs, **kwargs):
            texts = [text for batch in inputs for text in batch["text"]]
            vectors = super().encode([{"text": texts}], **kwargs)
            self.seen.update(zip(texts, vectors, strict=True))
            return vectors

    folder = resolve_model(spec)
    model = load_model(spec)
    prompt_name, prompt = resolve_prompt(model, None)
    meta = model_meta(model, model_name(spec, folder), content_revision(folder), prompt_name)
    encoder = RecordingEncoder(model, meta, prompt, batch_size=128)
    encoder.seen = {}
    return encoder, prompt_name


def encode_with(encoder) -> Callable[[list[str]], np.ndarray]:
    def encode(texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in encoder.seen]
        if missing:
            vectors = encoder.model.encode(
                missing, prompt=encoder.prompt, batch_size=128, convert_to_numpy=True
            )
            encoder.seen.update(zip(missing, vectors, strict=True))
        return np.stack([encoder.seen[t] for t in texts]).astype(np.float32)

    return encode


def kit_scores(encoder, task_name: str, langs: list[str] | None = None) -> dict[str, dict]:
    """{subset: scores} of one of the kit's tasks, through mteb."""
    import mteb

    from mteb_tasks import get_task

    task = get_task(task_name)
    if langs:
        task = task.filter_languages(langs)
    result = mteb.evaluate(encoder, task, cache=None, show_progress_bar=False, co2_tracker=False)
    return {entry["hf_subset"]: entry for entry in result.task_results[0].scores["test"]}


def test_independent_bli_scorer_agrees_with_the_kit_task(tiny_model, shared_data):
    """Tamil only (22k candidates), on the tiny random model. It still finds the ~12% of test words whose
    "Tamil" translation is the English word copied (same string, same vector); MRR compares every query's
    rank of its best translation. mteb rounds its scores to 5 decimals."""
    encoder, _prompt = kit_encoder(str(tiny_model))
    kit = kit_scores(encoder, "MuseBLI", ["tam"])["eng-tam"]
    mine = numpy_bli(encode_with(encoder), shared_data / "muse_dictionaries" / "en-ta.dict")
    assert mine["mrr_at_1000"] > 0.01
    assert mine["p_at_1"] == pytest.approx(100 * kit["precision_at_1"], abs=1.5e-3)
    assert mine["mrr_at_1000"] == pytest.approx(100 * kit["mrr_at_1000"], abs=1.5e-3)


def test_muse_split_rebuilt_here_matches_the_kit_task(shared_data):
    from mteb_tasks import get_task

    task = get_task("MuseBLI")
    for subset, name in MUSE_FILES.items():
        queries, gold, candidates = muse_test_split(shared_data / "muse_dictionaries" / name)
        kit_queries, kit_gold = task.test_words(subset)
        assert set(queries) == kit_queries and len(queries) == 1500
        assert {t for targets in gold.values() for t in targets} == kit_gold
        assert len(candidates) > 15_000


# --- the recipe's "done when" --------------------------------------------------------------------------


def model_scores(spec: str, shared: Path) -> dict[str, float | str]:
    """BLI (kit task and numpy scorer), Tatoeba F1 and word-similarity Spearman of one model, x100, under its
    default prompt. Kept in $EMBEDKIT_LEXICAL_SCORES/<revision>-<prompt>.json when that is set (a model's
    scores take an hour on a busy 2-core machine; its revision is a hash of its files)."""
    from embedkit.evaluation.encoder import content_revision
    from embedkit.models import resolve_model

    store = os.environ.get("EMBEDKIT_LEXICAL_SCORES")
    revision = content_revision(resolve_model(spec))
    if store:
        found = list(Path(store).glob(f"{revision}-*.json"))
        if found:
            return json.loads(found[0].read_text())
    encoder, prompt_name = kit_encoder(spec)
    scores: dict[str, float | str] = {"model": spec, "revision": revision, "prompt": prompt_name}
    bli = kit_scores(encoder, "MuseBLI")
    encode = encode_with(encoder)
    for subset, name in MUSE_FILES.items():
        independent = numpy_bli(encode, shared / "muse_dictionaries" / name)
        scores[f"bli_kit_p1_{subset}"] = 100 * bli[subset]["precision_at_1"]
        scores[f"bli_kit_mrr_{subset}"] = 100 * bli[subset]["mrr_at_1000"]
        scores[f"bli_numpy_p1_{subset}"] = independent["p_at_1"]
        scores[f"bli_numpy_mrr_{subset}"] = independent["mrr_at_1000"]
    for kind in ("kit", "numpy"):
        scores[f"bli_{kind}_p1_mean"] = float(np.mean([scores[f"bli_{kind}_p1_{s}"] for s in MUSE_FILES]))
    tatoeba = kit_scores(encoder, "TatoebaIndic")
    for lang in TATOEBA:
        scores[f"tatoeba_f1_{lang}"] = 100 * tatoeba[f"{lang}-eng"]["f1"]
    scores["tatoeba_f1_mean"] = float(np.mean([scores[f"tatoeba_f1_{lang}"] for lang in TATOEBA]))
    for subset, entry in kit_scores(encoder, "WordSimIndic").items():
        scores[f"wordsim_spearman_{subset}"] = 100 * entry["main_score"]
    if store:
        Path(store).mkdir(parents=True, exist_ok=True)
        (Path(store) / f"{revision}-{prompt_name}.json").write_text(json.dumps(scores, indent=2))
    return scores


@pytest.mark.slow
def test_lexical_run_improves_bli_and_keeps_tatoeba(shared_data):
    run = os.environ.get("EMBEDKIT_LEXICAL_RUN")
    if not run:
        pytest.skip(
            "set EMBEDKIT_LEXICAL_RUN to a finished `embedkit train recipes/lexical-offline.yaml` run"
        )
    before = model_scores("default", shared_data)
    after = model_scores(str(Path(run) / "model"), shared_data)
    change = {k: after[k] - before[k] for k in before if isinstance(before[k], float)}
    report = {"default": before, "lexical": after, "change": change}
    print(json.dumps(report, indent=2))
    if os.environ.get("EMBEDKIT_LEXICAL_REPORT"):
        Path(os.environ["EMBEDKIT_LEXICAL_REPORT"]).write_text(json.dumps(report, indent=2))

    assert before["prompt"] == after["prompt"]
    for kind in ("kit", "numpy"):
        assert change[f"bli_{kind}_p1_mean"] >= 5.0, kind
    for subset in MUSE_FILES:
        assert after[f"bli_kit_p1_{subset}"] == pytest.approx(after[f"bli_numpy_p1_{subset}"], abs=1.5e-3)
    assert change["tatoeba_f1_mean"] >= -0.5
