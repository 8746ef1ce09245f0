"""embedkit's mteb task plugins: data loading from ../shared/data and registry packages, the MUSE split,
readers' strictness, the registry and suites, and corpus folders as tasks."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import mteb
import pytest

from embedkit.errors import InputError, UserError
from mteb_tasks import SUITES, TASKS, bli_split, get_suite, get_task, load_task_data
from mteb_tasks.readers import (
    MUSE_HUNALIGN,
    STSB_TSV,
    TableFormat,
    read_aligned,
    read_dictionary,
    read_kurals,
    read_scored_pairs,
)
from mteb_tasks.tasks.bitext_mining import kural_is_test

# rows per subset, from each folder's PROVENANCE.md (minus rows the tasks document as skipped)
EXPECTED_ROWS = {
    "TatoebaIndic": {"hin-eng": 1000, "mar-eng": 1000, "ben-eng": 1000, "urd-eng": 1000, "mal-eng": 687,
                     "tam-eng": 307, "tel-eng": 234},
    "STSbIndic": {"hin": 1379, "mar": 1379},
    "MahaSTS": {"mar": 1692},
    "SinhalaTamilShortSTS": {"sin": 5000 - 4, "tam": 2500},
    "WordSimIndic": {"guj": 163, "hin": 235, "mar": 104, "pan": 143, "tam": 96, "tel": 111, "urd": 100,
                     "sin": 345},
    "KuralBitextMining": {"tam-eng": 260},
    "STSbEnglish": {"eng": 1379},
}  # fmt: skip


def _loaded(name: str):
    task = get_task(name)
    load_task_data(task)
    return task


@pytest.mark.parametrize("name", sorted(EXPECTED_ROWS))
def test_task_loads_expected_rows(name, shared_data):
    task = _loaded(name)
    split = task.eval_splits[0]
    assert {subset: len(task.dataset[subset][split]) for subset in task.hf_subsets} == EXPECTED_ROWS[name]
    for subset in task.hf_subsets:
        rows = task.dataset[subset][split]
        assert all(rows["sentence1"]) and all(rows["sentence2"])


def test_flores_pairs_share_the_english_side(shared_data):
    task = _loaded("FloresIndic")
    assert len(task.hf_subsets) == 14 and "sin-eng" in task.hf_subsets
    english = (shared_data / "flores200/devtest/eng_Latn.devtest").read_text(encoding="utf-8").splitlines()
    sinhala = (shared_data / "flores200/devtest/sin_Sinh.devtest").read_text(encoding="utf-8").splitlines()
    data = task.dataset["sin-eng"]["devtest"]
    assert data["sentence2"] == english and data["sentence1"] == sinhala
    assert task.dataset["hin-eng"]["devtest"]["sentence2"] == english


def test_sts_scores_are_read_from_the_score_column(shared_data):
    data = _loaded("STSbIndic").dataset["hin"]["test"]
    first = (
        (shared_data / "stsb_translated_l3cube/hindi/sts-test-hi.tsv")
        .read_text(encoding="utf-8")
        .split("\n")[0]
    )
    fields = first.split("\t")
    assert (data["sentence1"][0], data["sentence2"][0], data["score"][0]) == (
        fields[5],
        fields[6],
        float(fields[4]),
    )
    assert max(_loaded("SinhalaTamilShortSTS").dataset["sin"]["test"]["score"]) <= 1.0


def test_word_similarity_keeps_scores_with_reviewer_marks(shared_data):
    data = _loaded("WordSimIndic").dataset["sin"]["test"]
    assert len(data) == 345 and max(data["score"]) <= 10 and min(data["score"]) >= 0


def test_muse_bli_is_the_reconstructed_standard_split(shared_data):
    task = _loaded("MuseBLI")
    pairs = read_dictionary(shared_data / "muse_dictionaries/en-hi.dict", MUSE_HUNALIGN)
    sources = list(dict.fromkeys(source for source, _ in pairs))
    split = task.dataset["eng-hin"]["test"]
    assert split["queries"]["text"] == sources[5000:6500]
    assert len(split["corpus"]) == len({target for _, target in pairs})  # every target word of the dictionary
    word_of = dict(zip(split["corpus"]["id"], split["corpus"]["text"], strict=True))
    query = split["queries"]["text"][0]
    gold = {word_of[doc] for doc in split["relevant_docs"]["q0"]}
    assert gold == {target for source, target in pairs if source == query}
    # training words (the first 5000 sources) never appear as queries
    assert not set(split["queries"]["text"]) & set(sources[:5000])
    queries, targets = task.test_words("eng-hin")
    assert queries == set(sources[5000:6500]) and gold <= targets


def test_bli_split_rejects_a_dictionary_too_short_for_the_split():
    from mteb_tasks import RankRange

    with pytest.raises(ValueError, match="fewer than 6500"):
        bli_split([("a", "x"), ("b", "y")], RankRange(5000, 6500))


def test_open_tamil_bli_holds_out_every_40th_word():
    task = _loaded("OpenTamilBLI")
    split = task.dataset["eng-tam"]["test"]
    assert len(split["queries"]) == 932
    assert len(split["corpus"]) < 5000  # a sampled candidate set, so the demo stays fast
    assert all(any("\u0b80" <= c <= "\u0bff" for c in word) for word in split["corpus"]["text"])


def test_kural_split_holds_out_whole_chapters():
    kurals = read_kurals(Path(importlib.util.find_spec("libkural").origin))
    test = [k for k in kurals if kural_is_test(k)]
    assert len(kurals) == 1330 and len(test) == 260
    assert {k.chapter for k in test} == set(range(5, 134, 5))
    assert kurals[0].english.startswith("A, as its first of letters")


def test_registry_package_suite_needs_no_shared_data(monkeypatch, tmp_path):
    monkeypatch.setenv("EMBEDKIT_SHARED_DATA", str(tmp_path / "absent"))
    for task in get_suite("demo-registry"):
        load_task_data(task)
        assert task.data_loaded
    with pytest.raises(UserError, match="EMBEDKIT_SHARED_DATA"):
        load_task_data(get_task("TatoebaIndic"))


def test_suites_and_names():
    assert [t.metadata.name for t in get_suite("indic-offline")] == list(SUITES["indic-offline"].tasks)
    hub = get_suite("indic-hub")
    names = [t.metadata.name for t in hub]
    assert {"XNLI", "IndicCrosslingualSTS", "Tatoeba", "SinhalaNewsClassification.v2"} <= set(names)
    tatoeba = hub[names.index("Tatoeba")]
    assert sorted(tatoeba.hf_subsets) == sorted(
        f"{lang}-eng" for lang in ("hin", "mar", "ben", "urd", "mal", "tam", "tel")
    )
    flores = hub[names.index("FloresBitextMining")]
    assert "sin_Sinh-eng_Latn" in flores.hf_subsets or "eng_Latn-sin_Sinh" in flores.hf_subsets
    assert all("eng_Latn" in subset for subset in flores.hf_subsets)
    with pytest.raises(UserError, match="did you mean TatoebaIndic"):
        get_task("TatoebaIndc")
    with pytest.raises(UserError, match="suites are"):
        get_suite("indic-ofline")
    assert get_task("STS22").metadata.name == "STS22"  # any installed mteb task


def test_readers_name_file_and_line(tmp_path):
    tsv = tmp_path / "sts.tsv"
    tsv.write_text("g\tf\t2012\t1\t3.5\ta man\ta person\ng\tf\t2012\t2\tfive\tx\ty\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"sts.tsv:2: score 'five' is not a number"):
        read_scored_pairs(tsv, STSB_TSV)
    out_of_range = TableFormat(columns=(0, 1, 2), delimiter=",", max_score=1.0)
    csv = tmp_path / "s.csv"
    csv.write_text("a,b,0.5\nc,d,4\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"s.csv:2: score 4.0 is outside \[0.0, 1.0\]"):
        read_scored_pairs(csv, out_of_range)
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text("one\ntwo\n", encoding="utf-8")
    second.write_text("uno\n", encoding="utf-8")
    with pytest.raises(InputError, match="has 1 lines but"):
        read_aligned(first, second)
    words = tmp_path / "d.dict"
    words.write_text("और @ and\nbroken line\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"d.dict:2: expected 'word @ word'"):
        read_dictionary(words, MUSE_HUNALIGN)
    bad = tmp_path / "bad.tsv"
    bad.write_bytes(b"g\tf\t2012\t1\t3.5\ta\tb\n\xff\xfe\n")
    with pytest.raises(InputError, match=r"bad.tsv:2: invalid utf-8"):
        read_scored_pairs(bad, STSB_TSV)


def test_every_task_has_complete_metadata():
    for name, cls in TASKS.items():
        meta = cls.metadata
        assert meta.name == name and meta.is_multilingual and meta.license and meta.reference
        assert meta.main_score in {"f1", "cosine_spearman", "precision_at_1"}


def _save_corpus(folder: Path, columns: dict) -> Path:
    from datasets import Dataset

    Dataset.from_dict(columns).save_to_disk(str(folder))
    return folder


def test_corpus_folders_are_scored_as_their_kind(tmp_path, shared_data, tiny_model):
    from sentence_transformers import SentenceTransformer

    tamil = (shared_data / "tatoeba/tatoeba.tam-eng.tam").read_text(encoding="utf-8").splitlines()[:60]
    english = (shared_data / "tatoeba/tatoeba.tam-eng.eng").read_text(encoding="utf-8").splitlines()[:60]
    ta, en = ["ta"] * 60, ["en"] * 60
    parallel = _save_corpus(
        tmp_path / "ta-en", {"source": tamil, "target": english, "source_lang": ta, "target_lang": en}
    )
    negatives = english[1:] + english[:1]
    nli = _save_corpus(
        tmp_path / "nli",
        {"anchor": tamil, "positive": english, "negative": negatives, "lang": ["ta-en"] * 60},
    )
    model = SentenceTransformer(str(tiny_model))
    bitext, pairs = get_task(str(parallel)), get_task(str(nli))
    assert bitext.metadata.type == "BitextMining" and bitext.hf_subsets == ["ta-en"]
    assert pairs.metadata.type == "PairClassification" and pairs.metadata.name == "Corpus-nli"
    result = mteb.evaluate(model, [bitext, pairs], cache=None, show_progress_bar=False, co2_tracker=False)
    scores = {r.task_name: r.scores["test"][0] for r in result.task_results}
    assert 0 <= scores["Corpus-ta-en"]["f1"] <= 1
    assert 0 < scores["Corpus-nli"]["max_ap"] <= 1
    with pytest.raises(UserError, match="fit no scorable kind"):
        get_task(str(_save_corpus(tmp_path / "odd", {"text": ["a"]})))
