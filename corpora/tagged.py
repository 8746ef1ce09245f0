"""`tagged` corpora (text -> character spans of nouns, verbs and named entities, for linguistic entity
masking) and the tagger-quality measurement on the project's hand-annotated sample.

`embedkit corpus tagger-eval` prints the per-language precision / recall table.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corpora.kinds import Builder, register
from corpora.records import BuildContext, Record, user_error

if TYPE_CHECKING:
    from collections.abc import Iterator

    from datasets import Features

EVAL_DIR = Path(__file__).parent / "data" / "tagger_eval"
SPAN_LABELS = ("NOUN", "VERB", "ENT")


@register
class TaggedBuilder(Builder):
    """Each text with its NOUN / VERB / ENT character spans (see corpora.taggers). Options: `tagger`
    (component names replacing the language's pipeline, e.g. wordlist), `wordlist` (TSV: word, NOUN|VERB|ENT;
    needed for languages without a tagger), `batch_size`. Texts without any span are dropped. From
    line-aligned files (`--format aligned`) each row keeps a `pair` id (aligned group and line) shared with
    its translations, for translation-pair training; plain text rows have pair "" ."""

    kind = "tagged"
    multilingual_records = True
    option_defaults = {"tagger": None, "wordlist": None, "batch_size": 64}

    def __init__(self, langs: list[str], **options: Any):
        from corpora.taggers import pipeline_for, read_wordlist

        super().__init__(langs, **options)
        tagger = self.options["tagger"]
        self.components = tuple(tagger.split(",") if isinstance(tagger, str) else tagger) if tagger else None
        self.wordlist = str(Path(self.options["wordlist"]).resolve()) if self.options["wordlist"] else None
        for lang in langs:
            if "wordlist" in pipeline_for(lang, self.components).components and not self.wordlist:
                known = ", ".join(sorted(set(_known_langs())))
                raise user_error(
                    f"no tagger for language {lang!r} (taggers: {known})",
                    "pass --wordlist FILE (TSV: word<TAB>NOUN|VERB|ENT) for the dictionary-lookup tagger",
                )
        if self.wordlist:
            read_wordlist(Path(self.wordlist))  # a malformed list fails now, not in a worker

    def extra_files(self) -> list[tuple[str, Path]]:
        return [("wordlist", Path(self.wordlist))] if self.wordlist else []

    @staticmethod
    def features() -> Features:
        from datasets import Features, List, Value

        span = {"start": Value("int32"), "end": Value("int32"), "label": Value("string")}
        return Features(
            {"text": Value("string"), "lang": Value("string"), "spans": List(span), "pair": Value("string")}
        )

    def rows(self, records: Iterator[Record], ctx: BuildContext) -> Iterator[dict]:
        from corpora.taggers import load_pipeline

        limits = {}  # load in the main process: errors surface here, forked workers inherit them
        for lang in self.langs:
            limits[lang] = load_pipeline(lang, self.components, self.wordlist).max_length
        for record in records:
            if "entries" in record.fields:
                pair = f"{record.fields.get('source', '')}:{record.line}"
                entries = self.entries(record, ctx) or []
                if all(self.fits(record, text, limits[lang], ctx) for lang, text, _ in entries):
                    for lang, text, _ in entries:
                        yield {"text": text, "lang": lang, "spans": [], "pair": pair}
                continue
            text = self.value(record, "text", ctx)
            lang = self.record_lang(record, ctx) if text is not None else None
            if lang and self.fits(record, text, limits[lang], ctx):
                yield {"text": text, "lang": lang, "spans": [], "pair": ""}

    @staticmethod
    def fits(record: Record, text: str, limit: int, ctx: BuildContext) -> bool:
        """spaCy refuses a text longer than its `max_length` (error E088) deep in a worker: check first."""
        if len(text) <= limit:
            return True
        ctx.invalid_record(
            record,
            f"the text is {len(text):,} characters long, more than the tagger takes ({limit:,})",
            "split it into sentences, one per line",
        )
        return False

    def transform(self, batch: dict[str, list]) -> dict[str, list]:
        from corpora.taggers import tag_texts

        batch["spans"] = tag_texts(
            batch["text"], batch["lang"], self.components, self.wordlist, self.options["batch_size"]
        )
        return batch

    def check(self, row: dict) -> str | None:
        if not row["text"].strip():
            return "empty"
        return None if row["spans"] else "no_spans"

    def key(self, reason: str, row: dict) -> tuple[str, ...]:
        return (row["text"], row["lang"])


def _known_langs() -> list[str]:
    from corpora.taggers import FALLBACK, PIPELINES

    return [lang for lang, spec in PIPELINES.items() if spec != FALLBACK]


# ---------------------------------------------------------------- evaluation

_MARK = re.compile(r"\[([^\[\]|]+)\|(NOUN|VERB|ENT)\]")


def parse_annotated(line: str) -> tuple[str, list[dict]]:
    """'[राम|ENT] ने [आम|NOUN] [खाया|VERB]।' -> the plain text and its gold character spans."""
    text, spans, last = [], [], 0
    length = 0
    for match in _MARK.finditer(line):
        before = line[last : match.start()]
        text.append(before)
        length += len(before)
        words = match.group(1)
        spans.append({"start": length, "end": length + len(words), "label": match.group(2)})
        text.append(words)
        length += len(words)
        last = match.end()
    text.append(line[last:])
    plain = "".join(text)
    if "[" in plain or "|" in plain:
        raise ValueError(f"unbalanced annotation in {line!r}")
    return plain, spans


def read_annotated(path: Path) -> list[tuple[str, list[dict]]]:
    from corpora.readers import text_lines

    return [
        parse_annotated(line) for line in text_lines(Path(path)) if line.strip() and not line.startswith("#")
    ]


def span_scores(gold: list[list[dict]], predicted: list[list[dict]]) -> dict[str, dict[str, float]]:
    """Per label and overall ('all'): exact-match precision, recall and F1 of (start, end, label) spans."""
    scores = {}
    for label in (*SPAN_LABELS, "all"):
        correct = n_gold = n_pred = 0
        for gold_spans, pred_spans in zip(gold, predicted, strict=False):
            g = {(s["start"], s["end"], s["label"]) for s in gold_spans if label in ("all", s["label"])}
            p = {(s["start"], s["end"], s["label"]) for s in pred_spans if label in ("all", s["label"])}
            correct, n_gold, n_pred = correct + len(g & p), n_gold + len(g), n_pred + len(p)
        precision = correct / n_pred if n_pred else 0.0
        recall = correct / n_gold if n_gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores[label] = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "gold": n_gold,
            "predicted": n_pred,
        }
    return scores


def evaluate_tagger(
    lang: str, sample: Path | None = None, tagger: tuple[str, ...] | None = None, wordlist: str | None = None
) -> dict[str, Any]:
    """Tag the annotated sample of `lang` (corpora/data/tagger_eval/<lang>.txt by default) and score it
    against the gold spans: {"lang", "sentences", "scores": {NOUN|VERB|ENT|all: {precision, recall, ...}}}."""
    from corpora.taggers import tag_texts

    sample = Path(sample) if sample else EVAL_DIR / f"{lang}.txt"
    gold = read_annotated(sample)
    predicted = tag_texts([text for text, _ in gold], [lang] * len(gold), tagger, wordlist)
    return {
        "lang": lang,
        "sentences": len(gold),
        "scores": span_scores([spans for _, spans in gold], predicted),
    }


def evaluation_table(results: list[dict[str, Any]]) -> str:
    """A markdown table of precision / recall per language and span label."""
    head = (
        "| lang | sentences | "
        + " | ".join(f"{label} P / R (gold)" for label in (*SPAN_LABELS, "all"))
        + " |"
    )
    lines = [head, "|" + "---|" * (2 + len(SPAN_LABELS) + 1)]
    for result in results:
        cells = [
            f"{s['precision']:.2f} / {s['recall']:.2f} ({s['gold']})"
            for s in (result["scores"][label] for label in (*SPAN_LABELS, "all"))
        ]
        lines.append(f"| {result['lang']} | {result['sentences']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
