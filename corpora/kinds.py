"""Corpus kinds: one small builder class per kind, mapping records to the contract's columns.

A build runs in three steps (see corpora.build): `rows()` streams records into rows in the main process
(joins, label mapping, malformed rows); `transform()` and `check()` run per row, in `num_proc` workers
(tagging; the drop reason of each row); then duplicates are dropped by the keys `dedup` declares.
"""

from __future__ import annotations

import hashlib
import math
from abc import ABC, abstractmethod
from collections.abc import Iterator
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from corpora.languages import normalise, script_share
from corpora.readers import describe_value, text_lines, text_problem
from corpora.records import BuildContext, Record, user_error

if TYPE_CHECKING:
    from datasets import Dataset, Features

KINDS: dict[str, type[Builder]] = {}


def register(cls: type[Builder]) -> type[Builder]:
    KINDS[cls.kind] = cls
    return cls


def hash64(*parts: str) -> int:
    """A stable signed 64-bit key for dedup and grouping (Arrow/numpy friendly)."""
    digest = hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


class Builder(ABC):
    kind: ClassVar[str]
    plain_text_format: ClassVar[str] = "text"  # the format of plain-text inputs for this kind
    multilingual_records: ClassVar[bool] = False  # reads entries records (aligned/muse/...)
    field_records: ClassVar[bool] = True  # reads named-field records (tsv/jsonl/...)
    option_defaults: ClassVar[dict[str, Any]] = {}
    dedup: ClassVar[tuple[str, ...]] = ("duplicate",)  # drop reasons, each with a key method below

    def __init__(self, langs: list[str], **options: Any):
        self.langs = langs
        unknown = set(options) - set(self.option_defaults) - {"columns"}
        if unknown:
            raise user_error(
                f"unknown option(s) for {self.kind} corpora: {', '.join(sorted(unknown))}",
                f"{self.kind} takes: {', '.join(sorted({*self.option_defaults, 'columns'}))}",
            )
        self.options = {**self.option_defaults, **options}
        self.columns: dict[str, str] = dict(options.get("columns") or {})

    @staticmethod
    @abstractmethod
    def features() -> Features: ...

    def stage_features(self) -> Features:
        """Columns of the rows `rows()` yields (before `aggregate`)."""
        return self.features()

    @abstractmethod
    def rows(self, records: Iterator[Record], ctx: BuildContext) -> Iterator[dict]: ...

    def aggregate(self, dataset: Dataset, ctx: BuildContext) -> Iterator[dict] | None:
        """Rows built from the whole stage dataset (NLI triples), or None to keep the stage rows."""
        return None

    def transform(self, batch: dict[str, list]) -> dict[str, list]:
        """A per-row step run in workers (e.g. tagging)."""
        return batch

    def check(self, row: dict) -> str | None:
        """The reason to drop this row, or None."""
        return None

    def key(self, reason: str, row: dict) -> tuple[str, ...]:
        return tuple(str(row[name]) for name in self.features())

    def extra_files(self) -> list[tuple[str, Path]]:
        """(role, path) of files besides the inputs that shape the output (exclusion lists, word lists)."""
        return []

    # helpers for named-field records
    def value(self, record: Record, name: str, ctx: BuildContext, kind: str = "text") -> Any:
        """Field `name` (or the field --column maps it to) of a named-field record, checked for its kind:
        "text" (a string without NUL), "number" (a number or a numeric string) or "key" (a string or a
        whole number). Never coerced: a missing or mistyped field is an invalid row (returns None)."""
        field = self.columns.get(name, name)
        if field not in record.fields:
            ctx.invalid_record(
                record,
                f"no field {field!r} (fields: {', '.join(k for k in record.fields if k != 'lang')})",
                f"map it with --column {name}=FIELD",
            )
            return None
        value = record.fields[field]
        problem = field_problem(value, kind)
        if problem:
            ctx.invalid_record(record, f"field {field!r} {problem}", FIELD_FIXES[kind])
            return None
        return value

    def record_lang(self, record: Record, ctx: BuildContext) -> str | None:
        lang = record.fields.get("lang")
        if lang is None:
            raise user_error(
                f"cannot tell the language of the rows of {record.file}",
                "write it as LANG=PATH or pass one --lang",
            )
        if lang not in self.langs:
            ctx.drop("language_not_requested")
            return None
        return lang

    def entries(self, record: Record, ctx: BuildContext) -> list[tuple[str, str, str]] | None:
        """(lang, text, gloss) of a multilingual record; for a named-field row, its `source` and `target`
        fields in the first two --lang languages."""
        if "entries" in record.fields:
            return [entry for entry in record.fields["entries"] if entry[0] in self.langs]
        if len(self.langs) != 2:
            raise user_error(f"{self.kind} rows from {record.file} need --lang SOURCE,TARGET")
        source = self.value(record, "source", ctx)
        target = self.value(record, "target", ctx) if source is not None else None
        if source is None or target is None:
            return None
        return [(self.langs[0], source, ""), (self.langs[1], target, "")]

    def pairs(self, entries: list[tuple[str, str, str]], pivot_only: bool) -> Iterator[tuple[tuple, tuple]]:
        """Entry pairs ordered by --lang: each with the pivot (the entry of the earliest --lang), or all."""
        ordered = sorted(entries, key=lambda entry: self.langs.index(entry[0]))
        if pivot_only:
            yield from ((ordered[0], other) for other in ordered[1:])
        else:
            yield from combinations(ordered, 2)


FIELD_FIXES = {
    "text": "write the text as a string, without NUL characters",
    "number": "write the score as a number",
    "key": "write the value as a string or a whole number",
}


def field_problem(value: Any, kind: str) -> str | None:
    """Why `value` is not a field of `kind` (see Builder.value), or None."""
    if kind == "text" or isinstance(value, str):
        return text_problem(value)
    numbers = (int, float) if kind == "number" else (int,)
    if isinstance(value, numbers) and not isinstance(value, bool) and value == value:  # NaN != NaN
        return None
    return (
        f"is {describe_value(value)}, not {'a number' if kind == 'number' else 'a string or a whole number'}"
    )


def _parse_pair(value: Any, what: str) -> tuple[float, float]:
    if isinstance(value, str):
        value = value.split(",")
    try:
        low, high = (float(part) for part in value)
    except (TypeError, ValueError):
        raise user_error(f"{what} must be two numbers MIN,MAX, got {value!r}") from None
    if not low < high:
        raise user_error(f"{what} must have MIN < MAX, got {low},{high}")
    return low, high


@register
class StsBuilder(Builder):
    """Sentence pairs with a similarity score rescaled to [0, 1] from a declared scale (`scale`, e.g. 0,5;
    the stsb format declares 0-5). One --lang: monolingual pairs. Two --lang and two inputs: cross-lingual
    pairs, joined on `key` (default genre, file, year, idx) never on row order; both directions are
    written (lang `en-hi` for an English sentence1 and a Hindi sentence2, `hi-en` the other way)."""

    kind = "sts"
    option_defaults = {"scale": None, "key": ("genre", "file", "year", "idx")}

    def __init__(self, langs: list[str], **options: Any):
        super().__init__(langs, **options)
        if self.options["scale"] is None:
            raise user_error(
                "the score scale of this input is not declared", "pass --scale MIN,MAX (e.g. 0,5)"
            )
        self.scale = _parse_pair(self.options["scale"], "--scale")
        if len(langs) not in (1, 2):
            raise user_error("sts takes one --lang (monolingual) or two (cross-lingual, joined on a key)")
        key = self.options["key"]
        self.key_fields = tuple(key.split(",") if isinstance(key, str) else key)

    @staticmethod
    def features() -> Features:
        from datasets import Features, Value

        return Features(
            {
                "sentence1": Value("string"),
                "sentence2": Value("string"),
                "score": Value("float32"),
                "lang": Value("string"),
            }
        )

    def scored(self, record: Record, ctx: BuildContext) -> tuple[str, str, float] | None:
        values = []
        for name, kind in (("sentence1", "text"), ("sentence2", "text"), ("score", "number")):
            values.append(self.value(record, name, ctx, kind))
            if values[-1] is None:
                return None
        sentence1, sentence2, raw = values
        low, high = self.scale
        try:
            score = float(raw)
        except (TypeError, ValueError):
            ctx.invalid_record(record, f"score {raw!r} is not a number")
            return None
        if math.isnan(score) or not low <= score <= high:
            ctx.invalid_record(record, f"score {raw} is outside the declared scale {low:g}-{high:g}")
            return None
        return sentence1, sentence2, (score - low) / (high - low)

    def rows(self, records: Iterator[Record], ctx: BuildContext) -> Iterator[dict]:
        if len(self.langs) == 1:
            for record in records:
                lang, scored = self.record_lang(record, ctx), self.scored(record, ctx)
                if lang and scored:
                    yield {"sentence1": scored[0], "sentence2": scored[1], "score": scored[2], "lang": lang}
            return
        yield from self.joined(records, ctx)

    def joined(self, records: Iterator[Record], ctx: BuildContext) -> Iterator[dict]:
        """Hash join of the two languages' rows on the key; only the side read first is held in memory."""
        first_lang, waiting = None, {}
        matched = 0
        for record in records:
            lang, scored = self.record_lang(record, ctx), self.scored(record, ctx)
            if not lang or not scored:
                continue
            keys = [self.value(record, name, ctx, "key") for name in self.key_fields]
            if any(value is None for value in keys):
                continue
            key = tuple(str(value).strip() for value in keys)
            first_lang = first_lang or lang
            if lang == first_lang:
                if key in waiting:
                    ctx.invalid_record(
                        record,
                        f"duplicate key {key} (first at line {waiting[key][0].line})",
                    )
                    continue
                waiting[key] = (record, scored)
                continue
            partner = waiting.pop(key, None)
            if partner is None:
                ctx.drop("unmatched_key")
                continue
            other, other_scored = partner
            if abs(other_scored[2] - scored[2]) > 1e-6:
                ctx.invalid_record(
                    record,
                    f"score differs from {other.file}:{other.line} for the same key {key}",
                    "the two files must be translations of the same scored pairs",
                )
                continue
            matched += 1
            by_lang = {first_lang: other_scored, lang: scored}
            a, b = self.langs
            yield {
                "sentence1": by_lang[a][0],
                "sentence2": by_lang[b][1],
                "score": scored[2],
                "lang": f"{a}-{b}",
            }
            yield {
                "sentence1": by_lang[b][0],
                "sentence2": by_lang[a][1],
                "score": scored[2],
                "lang": f"{b}-{a}",
            }
        ctx.drop("unmatched_key", len(waiting))
        if first_lang is not None and matched == 0:
            raise user_error(
                f"no rows of the two languages share a key ({', '.join(self.key_fields)})",
                "cross-lingual STS needs two inputs that are translations of the same pairs",
            )

    def check(self, row: dict) -> str | None:
        return "empty" if not row["sentence1"].strip() or not row["sentence2"].strip() else None


NLI_LABELS = ("entailment", "neutral", "contradiction", "ignore")


@register
class NliBuilder(Builder):
    """premise/hypothesis/label rows -> (anchor, positive, negative): the premise, an entailed hypothesis
    and a contradicting one of the same premise. One triple per entailment, contradictions taken in turn;
    languages are aggregated into one corpus (rows keep their `lang`), as IndicSBERT trains on IndicXNLI.

    Label values are declared, never guessed: the class names themselves, plus `labels`
    ({entailment|neutral|contradiction|ignore: [values]}, e.g. --label entailment=0); Hub ClassLabel
    columns arrive as their names. Any other value is a malformed row."""

    kind = "nli"
    option_defaults = {"labels": None}

    def __init__(self, langs: list[str], **options: Any):
        super().__init__(langs, **options)
        self.label_of: dict[str, str] = {name: name for name in NLI_LABELS[:3]}
        for name, values in (self.options["labels"] or {}).items():
            if name not in NLI_LABELS:
                raise user_error(f"unknown NLI label class {name!r}", f"use {', '.join(NLI_LABELS)}")
            for value in [values] if isinstance(values, str | int) else values:
                self.label_of[str(value).strip()] = name

    @staticmethod
    def features() -> Features:
        from datasets import Features, Value

        return Features({name: Value("string") for name in ("anchor", "positive", "negative", "lang")})

    def stage_features(self) -> Features:
        from datasets import Features, Value

        return Features(
            {
                "lang": Value("string"),
                "premise": Value("string"),
                "hypothesis": Value("string"),
                "label": Value("string"),
                "_group": Value("int64"),
                "_order": Value("int64"),
            }
        )

    def rows(self, records: Iterator[Record], ctx: BuildContext) -> Iterator[dict]:
        for order, record in enumerate(records):
            values = []
            for name, kind in (("premise", "text"), ("hypothesis", "text"), ("label", "key")):
                values.append(self.value(record, name, ctx, kind))
                if values[-1] is None:
                    break
            if values[-1] is None:
                continue
            premise, hypothesis, raw = values[0], values[1], str(values[2])
            label = self.label_of.get(raw.strip())
            if label is None:
                ctx.invalid_record(
                    record,
                    f"unknown label {raw!r} (declared: {', '.join(sorted(self.label_of))})",
                    "declare it with --label CLASS=VALUE (CLASS: entailment, neutral, contradiction, ignore)",
                )
                continue
            lang = self.record_lang(record, ctx)
            if lang is None:
                continue
            if label in ("neutral", "ignore"):
                ctx.drop("neutral" if label == "neutral" else "ignored_label")
                continue
            yield {
                "lang": lang,
                "premise": premise,
                "hypothesis": hypothesis,
                "label": label,
                "_group": hash64(lang, premise),
                "_order": order,
            }

    def aggregate(self, dataset: Dataset, ctx: BuildContext) -> Iterator[dict]:
        ordered = dataset.sort(["_group", "_order"])
        group: list[dict] = []
        for batch in ordered.iter(batch_size=2048):
            for row in (
                dict(zip(batch, values, strict=False)) for values in zip(*batch.values(), strict=False)
            ):
                if group and (row["_group"], row["premise"]) != (group[0]["_group"], group[0]["premise"]):
                    yield from self.triples(group, ctx)
                    group = []
                group.append(row)
        yield from self.triples(group, ctx)

    def triples(self, group: list[dict], ctx: BuildContext) -> Iterator[dict]:
        if not group:
            return
        positives = [row["hypothesis"] for row in group if row["label"] == "entailment"]
        negatives = [row["hypothesis"] for row in group if row["label"] == "contradiction"]
        if not negatives:
            ctx.drop("no_contradiction", len(positives))
            return
        if not positives:
            ctx.drop("no_entailment", len(negatives))
            return
        ctx.drop("unused_contradiction", max(0, len(negatives) - len(positives)))
        premise, lang = group[0]["premise"], group[0]["lang"]
        for i, positive in enumerate(positives):
            yield {
                "anchor": premise,
                "positive": positive,
                "negative": negatives[i % len(negatives)],
                "lang": lang,
            }

    def check(self, row: dict) -> str | None:
        return "empty" if not all(row[name].strip() for name in ("anchor", "positive", "negative")) else None


class _BilingualChecks:
    """Cleaning shared by parallel and lexicon rows: every check in order, the first failing one names
    the drop reason."""

    def bilingual_entries(self, record: Record, ctx: BuildContext) -> list[tuple[str, str, str]] | None:
        """The record's entries in the --lang languages, or None (skipped) when fewer than two remain."""
        entries = self.entries(record, ctx)
        if entries is not None and len(entries) < 2:
            ctx.drop("language_not_requested")
            return None
        return entries

    def script_reason(self, pairs: list[tuple[str, str]], min_share: float) -> str | None:
        for text, lang in pairs:
            if script_share(text, lang) < min_share:
                return "wrong_script"
        return None


@register
class ParallelBuilder(Builder, _BilingualChecks):
    """Translation pairs (source in the earliest --lang of each aligned group, e.g. `--lang en,hi,mr`
    gives en-hi and en-mr), cleaned of: empty lines, over-long lines (`max_chars`), untranslated copies,
    text not in the declared language's script (`min_script_share` of letters), bad length ratios
    (`max_ratio`, in characters), then exact and normalised duplicates."""

    kind = "parallel"
    plain_text_format = "aligned"
    multilingual_records = True
    option_defaults = {"max_ratio": 3.0, "max_chars": 1000, "min_script_share": 0.5}
    dedup = ("duplicate", "near_duplicate")

    @staticmethod
    def features() -> Features:
        from datasets import Features, Value

        return Features(
            {name: Value("string") for name in ("source", "target", "source_lang", "target_lang")}
        )

    def rows(self, records: Iterator[Record], ctx: BuildContext) -> Iterator[dict]:
        for record in records:
            entries = self.bilingual_entries(record, ctx)
            if entries is None:
                continue
            for (lang1, text1, _), (lang2, text2, _) in self.pairs(entries, pivot_only=True):
                yield {"source": text1, "target": text2, "source_lang": lang1, "target_lang": lang2}

    def check(self, row: dict) -> str | None:
        source, target = row["source"].strip(), row["target"].strip()
        if not source or not target:
            return "empty"
        if max(len(source), len(target)) > self.options["max_chars"]:
            return "too_long"
        if normalise(source) == normalise(target):
            return "untranslated"
        script = self.script_reason(
            [(source, row["source_lang"]), (target, row["target_lang"])], self.options["min_script_share"]
        )
        if script:
            return script
        if max(len(source), len(target)) / min(len(source), len(target)) > self.options["max_ratio"]:
            return "length_ratio"
        return None

    def key(self, reason: str, row: dict) -> tuple[str, ...]:
        texts = (row["source"], row["target"])
        if reason == "near_duplicate":
            texts = tuple(normalise(text) for text in texts)
        return (*texts, row["source_lang"], row["target_lang"])


@register
class LexiconBuilder(Builder, _BilingualChecks):
    """Synset-grouped word pairs (with glosses where the source has them) for lexical specialization:
    every pair of a synset's words in two --lang languages. Evaluation words are never emitted: a pair is
    dropped when either word, or any space-separated token of it, is on an exclusion list
    (`exclude_muse_test`: MUSE dictionaries whose test-split source words are excluded, `[LANG=]PATH`;
    `exclude_words`: `LANG=PATH` word lists, one word per line)."""

    kind = "lexicon"
    plain_text_format = "aligned"
    multilingual_records = True
    option_defaults = {"min_script_share": 0.5, "exclude_muse_test": (), "exclude_words": ()}
    dedup = ("duplicate", "near_duplicate")

    def __init__(self, langs: list[str], **options: Any):
        super().__init__(langs, **options)
        self.excluded: dict[str, frozenset[str]] = {}
        self._files: list[tuple[str, Path]] = []
        for spec in _as_list(self.options["exclude_muse_test"]):
            lang, path = _lang_path(spec, required=False)
            from corpora.formats import muse_source_words

            source_lang, words = muse_source_words(path, "test")
            self._exclude(lang or source_lang, words, ("exclude_muse_test", path))
        for spec in _as_list(self.options["exclude_words"]):
            lang, path = _lang_path(spec, required=True)
            words = {line.strip() for line in text_lines(path) if line.strip()}
            self._exclude(lang, words, ("exclude_words", path))

    def _exclude(self, lang: str, words: set[str], file: tuple[str, Path]) -> None:
        self.excluded[lang] = self.excluded.get(lang, frozenset()) | {word.casefold() for word in words}
        self._files.append(file)

    def extra_files(self) -> list[tuple[str, Path]]:
        return self._files

    @staticmethod
    def features() -> Features:
        from datasets import Features, Value

        names = ("synset", "lang1", "word1", "lang2", "word2", "gloss1", "gloss2", "source")
        return Features({name: Value("string") for name in names})

    def rows(self, records: Iterator[Record], ctx: BuildContext) -> Iterator[dict]:
        for record in records:
            entries = self.bilingual_entries(record, ctx)
            if entries is None:
                continue
            synset = str(record.fields.get("id") or f"{Path(record.file).name}:{record.line}")
            source = str(record.fields.get("source") or Path(record.file).name)
            for (lang1, word1, gloss1), (lang2, word2, gloss2) in self.pairs(entries, pivot_only=False):
                yield {
                    "synset": synset,
                    "lang1": lang1,
                    "word1": word1.strip(),
                    "lang2": lang2,
                    "word2": word2.strip(),
                    "gloss1": gloss1 or "",
                    "gloss2": gloss2 or "",
                    "source": source,
                }

    def is_excluded(self, word: str, lang: str) -> bool:
        excluded = self.excluded.get(lang)
        if not excluded:
            return False
        folded = word.casefold()
        return folded in excluded or any(token in excluded for token in folded.split())

    def check(self, row: dict) -> str | None:
        word1, word2 = row["word1"], row["word2"]
        if not word1 or not word2:
            return "empty"
        if row["lang1"] != row["lang2"] and normalise(word1) == normalise(word2):
            return "untranslated"
        script = self.script_reason(
            [(word1, row["lang1"]), (word2, row["lang2"])], self.options["min_script_share"]
        )
        if script:
            return script
        if self.is_excluded(word1, row["lang1"]) or self.is_excluded(word2, row["lang2"]):
            return "excluded_eval_word"
        return None

    def key(self, reason: str, row: dict) -> tuple[str, ...]:
        words = (row["word1"], row["word2"])
        if reason == "near_duplicate":
            words = tuple(normalise(word) for word in words)
        return (row["lang1"], words[0], row["lang2"], words[1])


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return [value] if isinstance(value, str | Path) else list(value)


def _lang_path(spec: str | Path, required: bool) -> tuple[str | None, Path]:
    from corpora.records import parse_input

    parsed = parse_input(str(spec))
    path = Path(parsed.path)
    if not path.is_file():
        raise user_error(f"exclusion list {path} not found")
    if required and parsed.lang is None:
        raise user_error(f"say which language the word list {path} is in", "write it as LANG=PATH")
    return parsed.lang, path
