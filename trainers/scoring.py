"""Held-out scores for trained models, independent of the training code: STS Spearman and bitext F1.

Only for final scoring on the test-only sets in ../shared/data (never for training or selection):

    python -m trainers.scoring MODEL [MODEL ...] --sets sts,tatoeba,flores [--json OUT]

STS: Spearman of cosine × 100 (as mteb's STS tasks). Bitext mining: for every non-English sentence the
nearest English one by cosine, weighted F1 × 100 of the predicted line numbers (as mteb's
BitextMiningEvaluator / AbsTaskBitextMining). Texts are encoded with the model's default prompt.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from embedkit.paths import shared_data_dir

TATOEBA = ["hin", "mar", "tam", "tel", "mal", "ben", "urd"]
FLORES = ["asm_Beng", "ben_Beng", "guj_Gujr", "hin_Deva", "kan_Knda", "mal_Mlym", "mar_Deva", "npi_Deva",
          "ory_Orya", "pan_Guru", "sin_Sinh", "tam_Taml", "tel_Telu", "urd_Arab"]  # fmt: skip


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").rstrip("\n").split("\n")


def _stsb(path: Path) -> tuple[list[str], list[str], list[float]]:
    rows = [line.split("\t") for line in _lines(path)]
    return [r[5] for r in rows], [r[6] for r in rows], [float(r[4]) for r in rows]


def _csv(path: Path, columns: tuple[str, str, str]) -> tuple[list[str], list[str], list[float]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [r[columns[0]] for r in rows], [r[columns[1]] for r in rows], [float(r[columns[2]]) for r in rows]


def sts_sets(root: Path) -> dict[str, Callable[[], tuple[list[str], list[str], list[float]]]]:
    sin = root / "sinhala_tamil_short_sts_nlpcuom/sinhala"
    sin_columns = ("sentence1", "sentence2", "manual_similarity")
    return {
        "stsb-hi-test": lambda: _stsb(root / "stsb_translated_l3cube/hindi/sts-test-hi.tsv"),
        "stsb-mr-test": lambda: _stsb(root / "stsb_translated_l3cube/marathi/sts-test-mr.tsv"),
        "mahasts-test": lambda: _csv(root / "mahasts_l3cube/test.csv", ("Sentence1", "Sentence2", "Label")),
        "sinhala-short-sts": lambda: _csv(sin / "Sinhala-short-sentence-dataset.csv", sin_columns),
        "sinhala-short-sts-test100": lambda: _csv(sin / "test.csv", sin_columns),
    }


class Encoder:
    """Encodes each distinct text once per model."""

    def __init__(self, model) -> None:
        self.model, self.cache = model, {}

    def __call__(self, texts: list[str]) -> np.ndarray:
        todo = sorted({t for t in texts if t not in self.cache}, key=len)
        if todo:
            vectors = self.model.encode(todo, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
            self.cache.update(zip(todo, vectors, strict=True))
        return np.stack([self.cache[t] for t in texts])


def spearman_cosine(encode: Encoder, first: list[str], second: list[str], gold: list[float]) -> float:
    from scipy.stats import spearmanr

    a, b = encode(first), encode(second)
    return 100 * float(spearmanr((a * b).sum(axis=1), gold).statistic)


def bitext_f1(encode: Encoder, queries: list[str], targets: list[str]) -> float:
    from sklearn.metrics import f1_score

    predicted = (encode(queries) @ encode(targets).T).argmax(axis=1)
    return 100 * float(f1_score(np.arange(len(queries)), predicted, average="weighted", zero_division=0))


def score(model_spec: str, sets: list[str], root: Path) -> dict[str, float]:
    from embedkit.models import load_model

    encode = Encoder(load_model(model_spec))
    results: dict[str, float] = {}
    if "sts" in sets:
        for name, load in sts_sets(root).items():
            results[name] = spearman_cosine(encode, *load())
    if "tatoeba" in sets:
        for lang in TATOEBA:
            base = root / "tatoeba" / f"tatoeba.{lang}-eng"
            queries, english = _lines(Path(f"{base}.{lang}")), _lines(Path(f"{base}.eng"))
            results[f"tatoeba-{lang}"] = bitext_f1(encode, queries, english)
        results["tatoeba-mean"] = float(np.mean([results[f"tatoeba-{lang}"] for lang in TATOEBA]))
    if "flores" in sets:
        english = _lines(root / "flores200/devtest/eng_Latn.devtest")
        for lang in FLORES:
            queries = _lines(root / "flores200/devtest" / f"{lang}.devtest")
            results[f"flores-{lang}"] = bitext_f1(encode, queries, english)
        results["flores-mean"] = float(np.mean([results[f"flores-{lang}"] for lang in FLORES]))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m trainers.scoring", description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--sets", default="sts,tatoeba,flores")
    parser.add_argument("--json", type=Path, help="write {model: {set: score}} here")
    args = parser.parse_args(argv)
    table = {}
    for spec in args.models:
        started = time.time()
        table[spec] = score(spec, args.sets.split(","), shared_data_dir())
        print(f"{spec}  ({time.time() - started:.0f} s)", file=sys.stderr)
        for key, value in table[spec].items():
            print(f"  {key:28s} {value:6.2f}")
    if args.json:
        args.json.write_text(json.dumps(table, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
