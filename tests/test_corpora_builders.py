"""Each builder on real rows from ../shared/data (expected values are computed here from the files)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from corpora import build_corpus, load_corpus, read_manifest
from corpora.formats import AlignedReader
from corpora.languages import lang_in_name, script_share
from corpora.records import Input


def stsb_rows(path: Path) -> dict[tuple, tuple[str, str, float]]:
    """(genre, file, year, int idx) -> (sentence1, sentence2, score), read independently of corpora."""
    rows = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        genre, file, year, idx, score, s1, s2 = line.split("\t")[:7]
        rows[(genre, file, year, int(idx))] = (s1, s2, float(score))
    return rows


def test_sts_monolingual_hindi_train(tmp_path, shared_data):
    source = shared_data / "stsb_translated_l3cube/hindi/sts-train-hi.tsv"
    out = build_corpus("sts", [str(source)], ["hi"], tmp_path / "sts-hi")
    data, manifest = load_corpus(out), read_manifest(out)
    assert data.column_names == ["sentence1", "sentence2", "score", "lang"]
    assert manifest["rows_in"] == 5749
    assert manifest["rows_out"] == len(data) == 5749 - sum(manifest["drops"].values())
    assert manifest["inputs"][0]["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    expected = {(s1, s2): score / 5 for s1, s2, score in stsb_rows(source).values()}
    for row in data.select(range(0, len(data), 97)):
        assert row["lang"] == "hi"
        assert row["score"] == pytest.approx(expected[(row["sentence1"], row["sentence2"])], abs=1e-6)
    scores = list(data["score"])
    assert min(scores) == 0.0 and max(scores) == 1.0


def test_sts_cross_lingual_joins_on_the_key_not_row_order(tmp_path, shared_data):
    english = shared_data / "stsb_english/sts-dev.csv"
    hindi = shared_data / "stsb_translated_l3cube/hindi/sts-dev-hi.tsv"
    en_rows, hi_rows = stsb_rows(english), stsb_rows(hindi)
    assert list(en_rows) != list(
        hi_rows
    )  # the translated dev split is out of order: a row-order join is wrong
    out = build_corpus("sts", [str(english), str(hindi)], ["en", "hi"], tmp_path / "sts-en-hi")
    data = load_corpus(out)
    built = {(r["sentence1"], r["sentence2"], round(r["score"], 5)) for r in data if r["lang"] == "en-hi"}
    expected = {(en_rows[k][0], hi_rows[k][1], round(en_rows[k][2] / 5, 5)) for k in en_rows}
    assert built == expected
    reverse = {(r["sentence1"], r["sentence2"]) for r in data if r["lang"] == "hi-en"}
    assert reverse == {(hi_rows[k][0], en_rows[k][1]) for k in en_rows}
    assert read_manifest(out)["drops"].get("unmatched_key", 0) == 0


def test_sts_from_csv_with_declared_columns_and_scale(tmp_path, shared_data):
    rows = list(stsb_rows(shared_data / "stsb_translated_l3cube/marathi/sts-train-mr.tsv").values())[:40]
    lines = ["id,sentence1,sentence2,manual_similarity"]
    lines += [f'{i},"{s1}","{s2}",{score / 5:.3f}' for i, (s1, s2, score) in enumerate(rows)]
    path = tmp_path / "mr-pairs.csv"
    path.write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")
    out = build_corpus(
        "sts", [str(path)], ["mr"], tmp_path / "out", scale="0,1", columns={"score": "manual_similarity"}
    )
    data = load_corpus(out)
    assert len(data) == len({(s1, s2) for s1, s2, _ in rows})
    assert data[0]["sentence1"] == rows[0][0] and data[0]["score"] == pytest.approx(round(rows[0][2] / 5, 3))


XNLI_HI = [
    ("एक आदमी घोड़े पर सवार होकर नदी पार कर रहा है।", "एक आदमी जानवर की सवारी कर रहा है।", "entailment"),
    ("एक आदमी घोड़े पर सवार होकर नदी पार कर रहा है।", "आदमी अपने घर में सो रहा है।", "contradiction"),
    ("एक आदमी घोड़े पर सवार होकर नदी पार कर रहा है।", "आदमी एक प्रतियोगिता के लिए अभ्यास कर रहा है।", "neutral"),
    ("दो बच्चे पार्क में फुटबॉल खेल रहे हैं।", "बच्चे बाहर खेल रहे हैं।", "entailment"),
    ("दो बच्चे पार्क में फुटबॉल खेल रहे हैं।", "बच्चे कक्षा में पढ़ रहे हैं।", "contradiction"),
    ("एक महिला रसोई में खाना बना रही है।", "महिला खाना पका रही है।", "entailment"),
    ("दो बच्चे पार्क में फुटबॉल खेल रहे हैं।", "बच्चे खेल रहे हैं।", "entailment"),
]


def test_nli_triples_grouped_by_premise_across_languages(tmp_path):
    hindi = tmp_path / "xnli.hi.jsonl"
    rows = [dict(zip(("premise", "hypothesis", "label"), row, strict=True)) for row in XNLI_HI]
    hindi.write_text("\n".join(json.dumps(row, ensure_ascii=False) for row in rows), encoding="utf-8")
    marathi = tmp_path / "xnli.mr.jsonl"  # numeric labels, declared below
    marathi_rows = [
        ("एक माणूस घोड्यावर बसला आहे.", "एक माणूस प्राण्यावर आहे.", 0),
        ("एक माणूस घोड्यावर बसला आहे.", "माणूस झोपला आहे.", 2),
        ("एक माणूस घोड्यावर बसला आहे.", "माणूस स्पर्धेसाठी सराव करत आहे.", 1),
    ]
    marathi.write_text(
        "\n".join(
            json.dumps({"premise": p, "hypothesis": h, "label": g}, ensure_ascii=False)
            for p, h, g in marathi_rows
        ),
        encoding="utf-8",
    )
    out = build_corpus("nli", [str(hindi)], ["hi"], tmp_path / "hi")
    triples = {(r["anchor"], r["positive"], r["negative"], r["lang"]) for r in load_corpus(out)}
    assert triples == {
        (XNLI_HI[0][0], XNLI_HI[0][1], XNLI_HI[1][1], "hi"),
        (XNLI_HI[3][0], XNLI_HI[3][1], XNLI_HI[4][1], "hi"),
        (XNLI_HI[3][0], XNLI_HI[6][1], XNLI_HI[4][1], "hi"),  # a later row of a premise joins its group
    }
    assert read_manifest(out)["drops"] == {"neutral": 1, "no_contradiction": 1}
    labels = {"entailment": ["0"], "neutral": ["1"], "contradiction": ["2"]}
    both = load_corpus(
        build_corpus("nli", [str(hindi), str(marathi)], ["hi", "mr"], tmp_path / "both", labels=labels)
    )
    assert sorted(both["lang"]) == ["hi", "hi", "hi", "mr"]
    assert {"anchor": "एक माणूस घोड्यावर बसला आहे.", "positive": "एक माणूस प्राण्यावर आहे.",
            "negative": "माणूस झोपला आहे.", "lang": "mr"} in both  # fmt: skip


def test_parallel_ntrex_multiway(tmp_path, shared_data):
    folder = shared_data / "ntrex128"
    files = [
        folder / "newstest2019-ref.hin.txt",
        folder / "newstest2019-src.eng.txt",
        folder / "newstest2019-ref.sin.txt",
    ]
    out = build_corpus("parallel", [str(f) for f in files], ["en", "hi", "si"], tmp_path / "ntrex")
    data, manifest = load_corpus(out), read_manifest(out)
    assert manifest["rows_in"] == 1997
    assert len(data) == 2 * 1997 - sum(manifest["drops"].values())
    assert set(zip(data["source_lang"], data["target_lang"], strict=True)) == {("en", "hi"), ("en", "si")}
    english = (folder / "newstest2019-src.eng.txt").read_text(encoding="utf-8").splitlines()
    hindi = (folder / "newstest2019-ref.hin.txt").read_text(encoding="utf-8").splitlines()
    copies = [i for i, (e, h) in enumerate(zip(english, hindi, strict=True)) if e.strip() == h.strip()]
    assert copies and manifest["drops"]["untranslated"] >= 1
    pairs = set(zip(data["source"], data["target"], strict=True))
    assert all((english[i], hindi[i]) not in pairs for i in copies)
    assert (english[10], hindi[10]) in pairs
    for row in data.select(range(0, len(data), 50)):
        assert script_share(row["target"], row["target_lang"]) >= 0.5
        assert max(len(row["source"]), len(row["target"])) / min(len(row["source"]), len(row["target"])) <= 3


def test_parallel_tico_pairs_in_one_build_and_num_proc(tmp_path, shared_data):
    folder = shared_data / "tico19_test"
    files = [
        str(folder / pair / f"tico19-test.{lang}") for pair in ("en-hi", "en-mr") for lang in ("en", pair[3:])
    ]
    one = load_corpus(build_corpus("parallel", files, ["en", "hi", "mr"], tmp_path / "one"))
    two = load_corpus(build_corpus("parallel", files, ["en", "hi", "mr"], tmp_path / "two", num_proc=2))
    assert one.to_dict() == two.to_dict()
    per_pair = {lang: sum(1 for t in one["target_lang"] if t == lang) for lang in ("hi", "mr")}
    assert 2000 < per_pair["hi"] <= 2100 and 2000 < per_pair["mr"] <= 2100
    english_mr = (folder / "en-mr/tico19-test.en").read_text(encoding="utf-8").splitlines()
    marathi = (folder / "en-mr/tico19-test.mr").read_text(encoding="utf-8").splitlines()
    assert {"source": english_mr[9], "target": marathi[9], "source_lang": "en", "target_lang": "mr"} in one


def test_aligned_groups_and_file_languages(shared_data):
    assert [lang_in_name(n) for n in ("sts-dev-mr.tsv", "tico19-test.hi", "newstest2019-ref.hin.txt")] == [
        "mr", "hi", "hi"]  # fmt: skip
    lex = shared_data / "si_ta_en_lexicons_nlpcuom"
    paths = [lex / "EN-SI/designations.en", lex / "EN-TA/designations.en", lex / "EN-SI/designations.si",
             lex / "EN-TA/designations.ta", shared_data / "ntrex128/newstest2019-src.eng.txt",
             shared_data / "ntrex128/newstest2019-ref.tam.txt"]  # fmt: skip
    reader = AlignedReader([Input(str(p)) for p in paths], ["en", "si", "ta"])
    groups = {name: [inp.lang for inp in members] for name, members in reader.groups()}
    assert groups == {
        "EN-SI/designations": ["en", "si"],
        "EN-TA/designations": ["en", "ta"],
        "ntrex128": ["en", "ta"],
    }


def muse_words(path: Path, low: int, high: int) -> set[str]:
    ranks: dict[str, int] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        target, source = line.split(" @ ")
        ranks.setdefault(source, len(ranks))
    return {word for word, rank in ranks.items() if low <= rank < high}


def test_lexicon_muse_train_split(tmp_path, shared_data):
    path = shared_data / "muse_dictionaries/en-hi.dict"
    out = build_corpus("lexicon", [str(path)], ["en", "hi"], tmp_path / "muse", muse_split="train")
    data, manifest = load_corpus(out), read_manifest(out)
    train = muse_words(path, 0, 5000)
    assert set(data["word1"]) <= train and len(set(data["word1"])) > 4500
    assert set(data["lang1"]) == {"en"} and set(data["lang2"]) == {"hi"}
    assert manifest["drops"]["outside_muse_split"] == 38221 - sum(
        1 for line in path.read_text(encoding="utf-8").splitlines() if line.split(" @ ")[1] in train
    )
    row = data[0]
    assert (row["word1"], row["word2"], row["synset"]) == ("and", "और", "muse:en-hi:and")


def test_lexicon_si_ta_en_excludes_muse_test_words(tmp_path, shared_data):
    lex = shared_data / "si_ta_en_lexicons_nlpcuom"
    files = [
        lex / f"{pair}/designations.{lang}"
        for pair in ("EN-SI", "EN-TA", "SI-TA")
        for lang in pair.lower().split("-")
    ]
    muse = shared_data / "muse_dictionaries"
    out = build_corpus("lexicon", [str(f) for f in files], ["en", "si", "ta"], tmp_path / "lex",
                       exclude_muse_test=[str(muse / "en-ta.dict"), str(muse / "ta-en.dict")])  # fmt: skip
    data, manifest = load_corpus(out), read_manifest(out)
    test_en, test_ta = (
        muse_words(muse / "en-ta.dict", 5000, 6500),
        muse_words(muse / "ta-en.dict", 5000, 6500),
    )
    for row in data:
        for lang, word in ((row["lang1"], row["word1"]), (row["lang2"], row["word2"])):
            excluded = {"en": test_en, "ta": test_ta}.get(lang, set())
            assert word.casefold() not in excluded and not set(word.casefold().split()) & excluded
    assert manifest["drops"]["excluded_eval_word"] > 0
    assert {(r["lang1"], r["lang2"]) for r in data} == {("en", "si"), ("en", "ta"), ("si", "ta")}
    assert {role["role"] for role in manifest["inputs"]} == {"input", "exclude_muse_test"}
    first_en = (lex / "EN-SI/designations.en").read_text(encoding="utf-8").splitlines()[0]
    first_si = (lex / "EN-SI/designations.si").read_text(encoding="utf-8").splitlines()[0]
    assert {"lang1": "en", "word1": first_en, "lang2": "si", "word2": first_si} in [
        {k: r[k] for k in ("lang1", "word1", "lang2", "word2")} for r in data.select(range(50))
    ]


CAT = "Feline mammal usually having thick soft fur and no ability to roar"
ICE_CREAM = "Frozen dessert containing cream and sugar and flavoring"
BABELNET_CSV = f"""synsetID,lang1,lang2,word1,word2,sent1,sent2
bn:00015267n,EN,HI,cat,बिल्ली,"{CAT}","घरों में पाला जाने वाला एक चौपाया"
bn:00015267n,EN,MR,cat,मांजर,"{CAT}","एक पाळीव प्राणी"
bn:00046516n,EN,HI,ice_cream,आइसक्रीम,"{ICE_CREAM}",""
bn:00046516n,EN,TA,ice_cream,பனிக்கூழ்,"{ICE_CREAM}",""
"""


def test_lexicon_babelnet_csv(tmp_path):
    path = tmp_path / "babelbert.csv"
    path.write_text(BABELNET_CSV, encoding="utf-8")
    out = build_corpus("lexicon", [str(path)], ["en", "hi"], tmp_path / "bn")
    rows = load_corpus(out).to_list()
    assert [(r["synset"], r["word1"], r["word2"]) for r in rows] == [
        ("bn:00015267n", "cat", "बिल्ली"), ("bn:00046516n", "ice cream", "आइसक्रीम")]  # fmt: skip
    assert rows[0]["gloss1"] == CAT and rows[0]["gloss2"] == "घरों में पाला जाने वाला एक चौपाया"
    assert rows[1]["gloss2"] == "" and rows[0]["source"] == "babelnet:babelbert.csv"
    assert read_manifest(out)["drops"]["language_not_requested"] == 2


CLDR = Path("/usr/share/unicode/cldr/common/annotations")


@pytest.mark.skipif(not CLDR.is_dir(), reason="Debian package unicode-cldr-core not installed")
def test_lexicon_cldr_annotations(tmp_path):
    import xml.etree.ElementTree as ET

    def names(lang):
        root = ET.parse(CLDR / f"{lang}.xml").getroot()
        return {a.get("cp"): a.text for a in root.iter("annotation") if a.get("type") == "tts"}

    out = build_corpus("lexicon", [str(CLDR)], ["en", "hi", "si"], tmp_path / "cldr")
    data = load_corpus(out)
    en, hi, si = names("en"), names("hi"), names("si")
    rows = [r for r in data if r["synset"] == "cldr:😀"]
    pairs = {(r["lang1"], r["word1"], r["lang2"], r["word2"]) for r in rows}
    assert pairs == {("en", en["😀"], "hi", hi["😀"]), ("en", en["😀"], "si", si["😀"]),
                     ("hi", hi["😀"], "si", si["😀"])}  # fmt: skip
    assert len({r["synset"] for r in data}) > 1500
