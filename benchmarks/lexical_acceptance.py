"""The lexical recipe's acceptance measurement: a finished lexical-offline run vs the default model.

    embedkit train recipes/lexical-offline.yaml --out runs/lexical-offline
    python -m benchmarks.lexical_acceptance --run runs/lexical-offline [--json report.json] [--scores DIR]

Both models under their default prompt (`query: `): MUSE test BLI P@1 and MRR (en->hi, bn, ta) two ways —
the kit's MuseBLI task (mteb retrieval, embedkit's encoder) and an independent scorer written here (the raw
dictionary files read afresh, the split rebuilt, plain numpy cosine retrieval over every target word) —
Tatoeba Indic->eng F1 and word-similarity Spearman, all x100. Both scorers see the same vectors: each text is
encoded once by the kit's `CachedEncoder`; the numpy scorer looks them up, or encodes what it misses itself.

It prints the scores, their change, and three checks (MUSE P@1 mean up by >= 5 points by both scorers, the two
scorers agreeing per language, Tatoeba mean F1 down by at most 0.5), and exits 1 when a check fails. A model's
scores take up to an hour on a busy 2-core CPU; with --scores DIR they are kept in
DIR/<revision>-<prompt>.json (the revision is a hash of the model's files) and reused. Not part of
`make bench` (it needs a finished run).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

MUSE_FILES = {"eng-hin": "en-hi.dict", "eng-ben": "en-bn.dict", "eng-tam": "en-ta.dict"}
TATOEBA = ("hin", "mar", "tam", "tel", "mal", "ben", "urd")
MIN_BLI_GAIN = 5.0
MAX_TATOEBA_DROP = 0.5
SCORER_TOLERANCE = 1.5e-3  # mteb rounds its scores to 5 decimals


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


# --- the measurement ---------------------------------------------------------------------------------


def model_scores(spec: str, shared: Path, store: Path | None = None) -> dict[str, float | str]:
    """BLI (kit task and numpy scorer), Tatoeba F1 and word-similarity Spearman of one model, x100, under its
    default prompt; kept in and reused from `store` when given."""
    from embedkit.evaluation.encoder import content_revision
    from embedkit.models import resolve_model

    revision = content_revision(resolve_model(spec))
    if store:
        found = sorted(store.glob(f"{revision}-*.json"))
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
        store.mkdir(parents=True, exist_ok=True)
        (store / f"{revision}-{prompt_name}.json").write_text(json.dumps(scores, indent=2))
    return scores


def compare(before: dict, after: dict) -> dict:
    """The change of every score and the acceptance checks, as one JSON-able report."""
    change = {k: after[k] - before[k] for k in before if isinstance(before[k], float) and k in after}
    checks = {"same prompt": before["prompt"] == after["prompt"]}
    for kind in ("kit", "numpy"):
        checks[f"MUSE P@1 mean +{MIN_BLI_GAIN:g} ({kind})"] = change[f"bli_{kind}_p1_mean"] >= MIN_BLI_GAIN
    for subset in MUSE_FILES:
        gap = abs(after[f"bli_kit_p1_{subset}"] - after[f"bli_numpy_p1_{subset}"])
        checks[f"scorers agree on {subset}"] = gap <= SCORER_TOLERANCE
    checks[f"Tatoeba mean F1 drop <= {MAX_TATOEBA_DROP:g}"] = change["tatoeba_f1_mean"] >= -MAX_TATOEBA_DROP
    return {"default": before, "lexical": after, "change": change, "checks": checks}


def main(argv: list[str] | None = None) -> int:
    from embedkit.paths import shared_data_dir

    parser = argparse.ArgumentParser(prog="python -m benchmarks.lexical_acceptance", description=__doc__)
    parser.add_argument("--run", type=Path, required=True, help="a finished lexical-offline run folder")
    parser.add_argument("--base", default="default", help="the model to compare against (default: default)")
    parser.add_argument("--json", type=Path, help="also write the report to this file")
    parser.add_argument("--scores", type=Path, help="folder to keep and reuse each model's scores in")
    args = parser.parse_args(argv)
    if not (args.run / "model").is_dir():
        parser.error(f"{args.run / 'model'}: no such folder; train recipes/lexical-offline.yaml first")
    shared = shared_data_dir()
    before = model_scores(args.base, shared, args.scores)
    after = model_scores(str(args.run / "model"), shared, args.scores)
    report = compare(before, after)
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    failed = [name for name, ok in report["checks"].items() if not ok]
    for name in failed:
        print(f"check failed: {name}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
