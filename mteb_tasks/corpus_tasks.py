"""Any corpus folder (the `embedkit corpus build` contract: a `datasets` dataset saved to disk +
manifest.json) as an mteb task, so a held-out corpus is scored exactly like a published benchmark:

- `parallel` (source, target, source_lang, target_lang) -> bitext mining, one subset per language pair;
- `sts` (sentence1, sentence2, score in [0, 1], lang) -> STS, one subset per lang;
- `nli` (anchor, positive, negative, lang) -> pair classification: (anchor, positive) label 1,
  (anchor, negative) label 0, one subset per lang.

The task is declared at run time from the corpus's own columns and languages; its name is `Corpus-<folder>`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from datasets import Dataset
from mteb.abstasks.abstask import AbsTask
from mteb.abstasks.task_metadata import TaskMetadata

from corpora.readers import TableFormat
from embedkit.errors import UserError
from mteb_tasks.abstasks import LabelledPairClassification, ParallelBitextMining, ScoredPairsSTS
from mteb_tasks.languages import langscript

KIND_COLUMNS = {
    "parallel": {"source", "target", "source_lang", "target_lang"},
    "sts": {"sentence1", "sentence2", "score", "lang"},
    "nli": {"anchor", "positive", "negative", "lang"},
}


def is_corpus_folder(path: Path) -> bool:
    return path.is_dir() and ((path / "dataset_info.json").exists() or (path / "state.json").exists())


def _subset_langs(subset: str) -> list[str]:
    return [langscript(code) for code in subset.split("-")]


def _load(path: Path) -> Dataset:
    from datasets import load_from_disk

    try:
        data = load_from_disk(str(path))
    except Exception as exc:
        raise UserError(
            f"corpus {path}: not a dataset saved with datasets ({type(exc).__name__}: {exc})"
        ) from None
    if not isinstance(data, Dataset):
        raise UserError(f"corpus {path}: holds several splits; a corpus folder is one saved Dataset")
    return data


class _CorpusTask:
    lang_column: str = "lang"

    def _rows(self, root: Path, subset: str) -> Dataset:
        data = _load(root)
        if self.lang_column == "pair":
            return data.filter(lambda r: f"{r['source_lang']}-{r['target_lang']}" == subset)
        return data.filter(lambda r: r["lang"] == subset)


class CorpusBitextMining(_CorpusTask, ParallelBitextMining):
    lang_column = "pair"

    def read_pairs(self, root: Path, subset: str, split: str) -> tuple[list[str], list[str]]:
        rows = self._rows(root, subset)
        return rows["source"], rows["target"]


class CorpusSTS(_CorpusTask, ScoredPairsSTS):
    table = TableFormat(columns=(0, 1, 2), max_score=1.0)

    def load_split(self, root: Path, subset: str, split: str) -> Dataset:
        return self._rows(root, subset).select_columns(["sentence1", "sentence2", "score"])


class CorpusPairClassification(_CorpusTask, LabelledPairClassification):
    def read_labelled_pairs(self, root: Path, subset: str, split: str) -> list[tuple[str, str, int]]:
        rows = self._rows(root, subset)
        positives = [(a, p, 1) for a, p in zip(rows["anchor"], rows["positive"], strict=True)]
        negatives = [(a, n, 0) for a, n in zip(rows["anchor"], rows["negative"], strict=True) if n]
        return positives + negatives


_TYPES: dict[str, tuple[type[AbsTask], str, str]] = {
    "parallel": (CorpusBitextMining, "BitextMining", "f1"),
    "sts": (CorpusSTS, "STS", "cosine_spearman"),
    "nli": (CorpusPairClassification, "PairClassification", "max_ap"),
}


def corpus_task(path: Path) -> AbsTask:
    """An mteb task scoring the corpus folder at `path` (see the module docstring)."""
    path = path.resolve()
    data = _load(path)
    columns = set(data.column_names)
    kind = next((k for k, needed in KIND_COLUMNS.items() if needed <= columns), None)
    if kind is None:
        raise UserError(
            f"corpus {path}: columns {sorted(columns)} fit no scorable kind "
            f"({', '.join(f'{k}: {sorted(v)}' for k, v in KIND_COLUMNS.items())})"
        )
    if kind == "parallel":
        subsets = sorted({f"{s}-{t}" for s, t in zip(data["source_lang"], data["target_lang"], strict=True)})
    else:
        subsets = sorted(set(data["lang"]))
    manifest = path / "manifest.json"
    fingerprint = hashlib.sha256(
        manifest.read_bytes() if manifest.exists() else str(path).encode()
    ).hexdigest()
    base, task_type, main_score = _TYPES[kind]
    metadata = TaskMetadata(
        name=f"Corpus-{path.name}",
        description=f"The {kind} corpus at {path}",
        dataset={"path": str(path), "revision": fingerprint[:12]},
        type=task_type,
        category="t2t",
        modalities=["text"],
        eval_splits=["test"],
        eval_langs={subset: _subset_langs(subset) for subset in subsets},
        main_score=main_score,
        bibtex_citation="",
    )
    attrs: dict[str, Any] = {"metadata": metadata}
    return type(f"Corpus_{kind}", (base,), attrs)()
