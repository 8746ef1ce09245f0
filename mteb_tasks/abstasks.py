"""embedkit's task types: mteb's abstract tasks whose data comes from local files (or a registry package, or a
Hub dataset with the same files) instead of a Hub dataset in mteb's layout.

Each type only overrides data loading; scoring is mteb's own. A concrete task is a subclass with a declarative
`TaskMetadata` (its `dataset["path"]` is the data source, see `mteb_tasks.sources`) plus a few class
attributes naming its files. `eval_langs` is always a dict, so every language (pair) is an mteb subset and
gets its own row in results and reports.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from datasets import Dataset
from mteb.abstasks import AbsTaskPairClassification, AbsTaskRetrieval, AbsTaskSTS
from mteb.abstasks.text.bitext_mining import AbsTaskBitextMining
from mteb.timing import TimingStack

from corpora.heldout import EveryNth, RankRange, bli_split  # noqa: F401  (re-exported)
from corpora.readers import (
    DictionaryFormat,
    TableFormat,
    has_script,
    read_aligned,
    read_aligned_dictionary,
    read_dictionary,
    read_scored_pairs,
    text_lines,
)
from mteb_tasks.sources import resolve_source

logger = logging.getLogger(__name__)


class LocalDataTask:
    """Mixin: load every selected subset and eval split from the task's data source."""

    def load_data(
        self, num_proc: int | None = None, *, timer: TimingStack | None = None, **kwargs: Any
    ) -> None:
        if self.data_loaded:
            return
        timer = timer or TimingStack()
        name = self.metadata.name
        with timer("Data loading", log_message=f"Loading dataset {name}..."):
            root = resolve_source(self.metadata.dataset["path"], task=name)
            self.dataset = {
                subset: {split: self.load_split(root, subset, split) for split in self.eval_splits}
                for subset in self.hf_subsets
            }
        self.data_loaded = True

    def load_split(self, root: Path, subset: str, split: str) -> Any:
        raise NotImplementedError


class ParallelBitextMining(LocalDataTask, AbsTaskBitextMining):
    """Bitext mining: for each sentence1 find its translation among all sentence2 of the subset (mteb's
    F1)."""

    def read_pairs(self, root: Path, subset: str, split: str) -> tuple[list[str], list[str]]:
        raise NotImplementedError

    def load_split(self, root: Path, subset: str, split: str) -> Dataset:
        sentences1, sentences2 = self.read_pairs(root, subset, split)
        return Dataset.from_dict({"sentence1": sentences1, "sentence2": sentences2})


class AlignedFilesBitextMining(ParallelBitextMining):
    """Bitext mining over two line-aligned files per subset (Tatoeba, FLORES and NTREX layouts)."""

    # subset -> (sentence1 file, sentence2 file), relative to the data source
    files: ClassVar[Mapping[str, tuple[str, str]]]

    def read_pairs(self, root: Path, subset: str, split: str) -> tuple[list[str], list[str]]:
        first, second = self.files[subset]
        return read_aligned(root / first, root / second)


def retrieval_split(queries: list[str], documents: list[str], relevant: list[list[int]]) -> dict[str, Any]:
    """An mteb retrieval split from texts: query i's relevant documents are the indices in relevant[i]."""
    return {
        "queries": Dataset.from_dict({"id": [f"q{i}" for i in range(len(queries))], "text": queries}),
        "corpus": Dataset.from_dict({"id": [f"d{j}" for j in range(len(documents))], "text": documents}),
        "relevant_docs": {f"q{i}": {f"d{j}": 1 for j in docs} for i, docs in enumerate(relevant)},
        "top_ranked": None,
    }


def read_pool(
    root: Path, query_file: str, target_file: str, distractor_files: tuple[str, ...]
) -> tuple[list[str], list[str]]:
    """Query sentences and their candidate pool: the aligned translations first (query i's is pool[i]), then
    the lines of the distractor files, less empty lines and copies of a translation (which would tie)."""
    queries, targets = read_aligned(root / query_file, root / target_file)
    gold_texts = set(targets)
    pool = list(targets)
    for name in distractor_files:
        lines = (line.strip() for line in text_lines(root / name))
        pool.extend(line for line in lines if line and line not in gold_texts)
    return queries, pool


class PooledBitextMining(LocalDataTask, AbsTaskBitextMining):
    """Bitext mining against a pool: each query sentence is matched against its aligned translations plus
    distractor sentences (e.g. the same sentences in other languages), so a model must find the right language
    as well as the right meaning. mteb's F1, through a `gold` column (as mteb's BUCC task does)."""

    # subset -> (query file, translation file, distractor files), relative to the data source
    files: ClassVar[Mapping[str, tuple[str, str, tuple[str, ...]]]]

    def load_split(self, root: Path, subset: str, split: str) -> dict[str, list]:
        queries, pool = read_pool(root, *self.files[subset])
        return {"sentence1": queries, "sentence2": pool, "gold": [(i, i) for i in range(len(queries))]}


class PooledRetrieval(LocalDataTask, AbsTaskRetrieval):
    """The pool of PooledBitextMining scored as retrieval, so a miss still counts by how far down the
    translation ranks (MRR, recall@k): the one relevant document of query i is its aligned translation."""

    files: ClassVar[Mapping[str, tuple[str, str, tuple[str, ...]]]]
    k_values = (1, 10, 100, 1000)

    def load_split(self, root: Path, subset: str, split: str) -> dict[str, Any]:
        queries, pool = read_pool(root, *self.files[subset])
        return retrieval_split(queries, pool, [[i] for i in range(len(queries))])


class ScoredPairsSTS(LocalDataTask, AbsTaskSTS):
    """STS and word similarity: Spearman correlation of cosine similarity with human scores."""

    files: ClassVar[Mapping[str, str]]  # subset -> file under the source
    table: ClassVar[TableFormat]

    @property
    def min_score(self) -> float:  # used by mteb to normalise scores
        return self.table.min_score

    @property
    def max_score(self) -> float:
        return self.table.max_score

    def load_split(self, root: Path, subset: str, split: str) -> Dataset:
        rows = read_scored_pairs(root / self.files[subset], self.table)
        text1, text2, score = zip(*rows, strict=True)
        return Dataset.from_dict({"sentence1": list(text1), "sentence2": list(text2), "score": list(score)})


class DictionaryBLI(LocalDataTask, AbsTaskRetrieval):
    """Bilingual lexicon induction as word retrieval: each test source word is a query, the candidates are the
    target words of the dictionary (every one of them unless `candidates_every` > 1); a hit is any gold
    translation. Main score P@1 (mteb's precision_at_1); MRR is mrr_at_1000."""

    files: ClassVar[Mapping[str, str]]  # subset -> dictionary file under the source
    dictionary: ClassVar[DictionaryFormat]
    test_split: ClassVar[RankRange | EveryNth]
    # 1: every target word is a candidate; n: the targets of every n-th entry (plus all gold translations)
    candidates_every: ClassVar[int] = 1
    k_values = (1, 5, 10, 100, 1000)

    def dictionary_path(self, root: Path, subset: str) -> Path:
        return root / self.files[subset]

    def read_pairs(self, root: Path, subset: str) -> list[tuple[str, str]]:
        return read_dictionary(self.dictionary_path(root, subset), self.dictionary)

    def test_words(self, subset: str) -> tuple[set[str], set[str]]:
        """(query words, their gold translations) of `subset`'s test split: what training must leave out."""
        root = resolve_source(self.metadata.dataset["path"], task=self.metadata.name)
        gold = bli_split(self.read_pairs(root, subset), self.test_split)
        return set(gold), {target for targets in gold.values() for target in targets}

    def load_split(self, root: Path, subset: str, split: str) -> dict[str, Any]:
        pairs = self.read_pairs(root, subset)
        try:
            gold = bli_split(pairs, self.test_split)
        except ValueError as exc:
            from embedkit.errors import InputError

            raise InputError(self.dictionary_path(root, subset), None, str(exc)) from None
        candidates = dict.fromkeys(target for _, target in pairs[:: self.candidates_every])
        candidates.update(dict.fromkeys(t for targets in gold.values() for t in targets))
        index = {word: i for i, word in enumerate(candidates)}
        relevant = [[index[t] for t in targets] for targets in gold.values()]
        return retrieval_split(list(gold), list(candidates), relevant)


class AlignedDictionaryBLI(DictionaryBLI):
    """BLI from a dictionary kept as two line-aligned files. Only one-word entries whose source word has a
    letter of the subset's script are kept (the files also hold phrases and untranslated Latin copies)."""

    files: ClassVar[Mapping[str, tuple[str, str]]]  # subset -> (source file, target file)
    source_scripts: ClassVar[Mapping[str, str]]  # subset -> Unicode script name, e.g. "SINHALA"

    def dictionary_path(self, root: Path, subset: str) -> Path:
        return root / self.files[subset][0]

    def read_pairs(self, root: Path, subset: str) -> list[tuple[str, str]]:
        source_file, target_file = self.files[subset]
        script = self.source_scripts[subset]
        return [
            (source, target)
            for source, target in read_aligned_dictionary(root / source_file, root / target_file)
            if " " not in source and " " not in target and has_script(source, script)
        ]


class LabelledPairClassification(LocalDataTask, AbsTaskPairClassification):
    """Pair classification (NLI-style): average precision of cosine similarity at telling label-1 pairs (e.g.
    anchor-entailment) from label-0 pairs (anchor-contradiction). Subclasses provide `read_labelled_pairs`."""

    def read_labelled_pairs(self, root: Path, subset: str, split: str) -> list[tuple[str, str, int]]:
        raise NotImplementedError

    def load_split(self, root: Path, subset: str, split: str) -> Dataset:
        rows = self.read_labelled_pairs(root, subset, split)
        text1, text2, labels = zip(*rows, strict=True)
        return Dataset.from_dict({"sentence1": list(text1), "sentence2": list(text2), "labels": list(labels)})
