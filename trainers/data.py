"""A stage's data: corpus folders (`embedkit corpus build` output) or inline specs built through `corpora`.

A corpus folder is a `datasets` dataset saved to disk plus `manifest.json` (see the contracts); its kind
is known from its columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from embedkit.errors import EmbedkitError, UserError

if TYPE_CHECKING:
    from datasets import Dataset

    from trainers.recipe import Recipe

KIND_COLUMNS: dict[str, tuple[str, ...]] = {
    "nli": ("anchor", "positive", "negative"),
    "sts": ("sentence1", "sentence2", "score"),
    "parallel": ("source", "target"),
    "lexicon": ("synset", "word1", "word2"),
    "tagged": ("text", "spans"),
}


@dataclass
class Corpus:
    dataset: Dataset
    path: Path
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str | None:
        return corpus_kind(self.dataset.column_names)


def corpus_kind(columns: list[str]) -> str | None:
    for kind, needed in KIND_COLUMNS.items():
        if set(needed) <= set(columns):
            return kind
    return None


def expand_path(text: str) -> Path:
    from embedkit.paths import shared_data_dir

    if text.startswith("${shared}"):
        return shared_data_dir() / text.removeprefix("${shared}").lstrip("/")
    return Path(text).expanduser()


def corpus_cache_dir() -> Path:
    from embedkit.paths import embedkit_home

    return embedkit_home() / "corpora"


def load_ref(ref: str | dict, loc: tuple, recipe: Recipe) -> Corpus:
    """Load one DataRef of the recipe at `loc`; every failure names that place."""
    if isinstance(ref, dict):
        path = _build_inline(ref, loc, recipe)
    else:
        path = expand_path(ref)
        if not path.exists():
            raise recipe.error(
                loc,
                f"corpus folder {path} not found",
                "build it with `embedkit corpus build` or declare it inline",
            )
    return load_corpus_folder(path, loc, recipe)


def _build_inline(spec: dict, loc: tuple, recipe: Recipe) -> Path:
    import corpora

    try:
        return Path(corpora.build_from_spec(dict(spec), corpus_cache_dir()))
    except EmbedkitError as exc:
        raise recipe.error(loc, f"building the inline corpus failed: {exc}") from None


def load_corpus_folder(path: Path, loc: tuple, recipe: Recipe) -> Corpus:
    try:
        dataset, manifest = _read_corpus(path)
    except EmbedkitError as exc:
        raise recipe.error(loc, str(exc)) from None
    except Exception as exc:  # datasets raises its own types for a folder that is not a saved dataset
        raise recipe.error(
            loc,
            f"{path} is not a corpus folder ({type(exc).__name__}: {exc})",
            "build it with `embedkit corpus build`",
        ) from None
    if len(dataset) == 0:
        raise recipe.error(loc, f"corpus {path} has no rows")
    return Corpus(dataset=dataset, path=path, manifest=manifest)


def require_columns(
    corpus: Corpus, needed: tuple[str, ...], loc: tuple, recipe: Recipe, purpose: str
) -> None:
    missing = [name for name in needed if name not in corpus.dataset.column_names]
    if missing:
        kind = corpus.kind or "unknown"
        columns = corpus.dataset.column_names
        raise recipe.error(
            loc, f"corpus {corpus.path} ({kind}, columns {columns}) lacks {missing}; {purpose}"
        )


def concat(corpora: list[Corpus], columns: tuple[str, ...]) -> Dataset:
    from datasets import concatenate_datasets

    parts = [corpus.dataset.select_columns(list(columns)) for corpus in corpora]
    parts = [_align_features(part, parts[0]) for part in parts]
    return parts[0] if len(parts) == 1 else concatenate_datasets(parts)


def _align_features(part: Dataset, reference: Dataset) -> Dataset:
    # e.g. a score saved as float64 by one builder and float32 by another
    return part if part.features == reference.features else part.cast(reference.features)


def sample_rows(dataset: Dataset, rows: int | None, seed: int) -> Dataset:
    if rows is None or rows >= len(dataset):
        return dataset
    return dataset.shuffle(seed=seed).select(range(rows)).flatten_indices()


def sample_per_language(dataset: Dataset, rows: int, seed: int, column: str | None) -> Dataset:
    """At most `rows` rows of each language (all languages together without a language column)."""
    if column is None or column not in dataset.column_names:
        return sample_rows(dataset, rows, seed)
    import numpy as np

    langs = np.array(dataset[column])
    rng = np.random.default_rng(seed)
    keep = []
    for lang in sorted(set(langs.tolist())):
        index = np.flatnonzero(langs == lang)
        keep += sorted(rng.permutation(index)[:rows].tolist())
    return dataset.select(sorted(keep)).flatten_indices()


def holdout_split(
    dataset: Dataset, holdout: float | int, seed: int, group_column: str
) -> tuple[Dataset, Dataset]:
    """Hold out whole groups of rows sharing `group_column` (e.g. one English sentence and all its
    translations), so no dev text is also trained on."""
    import numpy as np

    groups = dataset[group_column]
    unique = sorted(set(groups))
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(unique))
    target = holdout if isinstance(holdout, int) else max(1, round(holdout * len(dataset)))
    chosen, count = set(), 0
    per_group: dict[Any, int] = {}
    for value in groups:
        per_group[value] = per_group.get(value, 0) + 1
    for position in order:
        if count >= target:
            break
        chosen.add(unique[position])
        count += per_group[unique[position]]
    if count >= len(dataset):
        raise UserError(f"holdout {holdout} would leave no training rows (the corpus has {len(dataset)})")
    dev_idx = [i for i, value in enumerate(groups) if value in chosen]
    train_idx = [i for i, value in enumerate(groups) if value not in chosen]
    return dataset.select(train_idx).flatten_indices(), dataset.select(dev_idx).flatten_indices()


def manifest_summary(corpus: Corpus) -> dict[str, Any]:
    """The manifest as stored in run.json, with the folder it came from."""
    return {"path": str(corpus.path), **corpus.manifest}


def _read_corpus(path: Path) -> tuple[Dataset, dict[str, Any]]:
    import corpora

    return corpora.load_corpus(path), corpora.read_manifest(path)
