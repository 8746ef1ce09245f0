"""embedkit's mteb task plugins: data loading from ../shared/data and registry packages, the MUSE split,
readers' strictness, the registry and suites, and corpus folders as tasks."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import mteb
import pytest

from corpora.readers import (
    MUSE_HUNALIGN,
    STSB_TSV,
    TableFormat,
    read_aligned,
    read_dictionary,
    read_kurals,
    read_scored_pairs,
)
from embedkit.errors import InputError, UserError
from mteb_tasks import SUITES, TASKS, bli_split, get_suite, get_task, load_task_data
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


def test_opentamil_corpus_parts_split_the_task_dictionary_by_its_test_words(tmp_path):
    """The `opentamil` lexicon format's train part never holds an OpenTamilBLI test query or one of their
    gold translations; train and test together are every entry the task reads."""
    from corpora import build_corpus, load_corpus
    from embedkit.paths import package_path

    dictionary = package_path("solthiruthi") / "data" / "parallel_dictionary.txt"
    parts = {}
    for part in ("train", "test"):
        out = build_corpus(
            "lexicon", [str(dictionary)], ["en", "ta"], tmp_path / part, "opentamil", opentamil_part=part
        )
        data = load_corpus(out)
        parts[part] = set(zip(data["word1"], data["word2"], strict=True))
    queries, gold = get_task("OpenTamilBLI").test_words("eng-tam")
    assert len(queries) == 932 and len(parts["train"]) > 30_000
    assert not {english for english, _ in parts["train"]} & queries
    assert not {tamil for _, tamil in parts["train"]} & gold
    assert queries <= {english for english, _ in parts["test"]}
    assert not parts["train"] & parts["test"]


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
    with pytest.raises(InputError, match=r"a.txt:2: .*b.txt has no line 2"):
        read_aligned(first, second)
    words = tmp_path / "d.dict"
    words.write_text("और @ and\nbroken line\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"d.dict:2: expected 'target @ source'"):
        read_dictionary(words, MUSE_HUNALIGN)
    bad = tmp_path / "bad.tsv"
    bad.write_bytes(b"g\tf\t2012\t1\t3.5\ta\tb\n\xff\xfe\n")
    with pytest.raises(InputError, match=r"bad.tsv:2: invalid UTF-8"):
        read_scored_pairs(bad, STSB_TSV)


def test_every_task_has_complete_metadata():
    for name, cls in TASKS.items():
        meta = cls.metadata
        assert meta.name == name and meta.is_multilingual and meta.license and meta.reference
        assert meta.main_score in {"f1", "cosine_spearman", "precision_at_1", "mrr_at_1000"}


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


def test_flores_sinhala_tamil_pairs_the_two_languages_directly(shared_data):
    task = _loaded("FloresSinhalaTamil")
    flores = shared_data / "flores200/devtest"
    sinhala = (flores / "sin_Sinh.devtest").read_text(encoding="utf-8").splitlines()
    tamil = (flores / "tam_Taml.devtest").read_text(encoding="utf-8").splitlines()
    assert task.dataset["sin-tam"]["devtest"]["sentence1"] == sinhala
    assert task.dataset["sin-tam"]["devtest"]["sentence2"] == tamil
    assert task.dataset["tam-sin"]["devtest"]["sentence1"] == tamil


def test_flores_pool_is_english_plus_twelve_other_languages(shared_data):
    task = _loaded("FloresPooledEnglish")
    flores = shared_data / "flores200/devtest"
    lines = {
        p.name.split("_")[0]: [line.strip() for line in p.read_text(encoding="utf-8").splitlines()]
        for p in flores.glob("*.devtest")
    }
    split = task.dataset["tam-eng"]["devtest"]
    pool = split["sentence2"]
    assert split["sentence1"] == lines["tam"] and pool[:1012] == lines["eng"]
    assert len(pool) == 13 * 1012 and split["gold"] == [(i, i) for i in range(1012)]
    assert set(pool) == {line for lang, text in lines.items() if lang not in ("sin", "tam") for line in text}
    assert task.dataset["sin-eng"]["devtest"]["sentence2"] == pool  # one pool for both languages


def _pooled_task(base, root: Path, distractors: tuple[str, ...]):
    class Pooled(base):
        files = {"sin-eng": ("queries.txt", "gold.txt", distractors)}
        metadata = base.metadata.model_copy(
            update={
                "dataset": {"path": str(root), "revision": "test"},
                "eval_langs": {"sin-eng": ["sin-Sinh", "eng-Latn"]},
            }
        )

    return Pooled()


def test_pooled_mining_counts_a_distractor_hit_as_a_miss(tmp_path, tiny_model):
    """Identical texts embed identically, so with queries copied into the gold side every query finds its
    gold translation, unless the same text is also among the distractors (then mteb's F1 counts the
    distractor index, a miss, and the rank variant puts the translation below rank 1). Distractors identical
    to a gold translation are not in the pool."""
    from sentence_transformers import SentenceTransformer

    from mteb_tasks.tasks.bitext_mining import FloresPooledEnglish, FloresPooledEnglishRank

    queries = ["a red house by the river", "two dogs in the snow", "the train leaves at nine"]
    (tmp_path / "queries.txt").write_text("\n".join(queries) + "\n", encoding="utf-8")
    (tmp_path / "gold.txt").write_text("\n".join(queries) + "\n", encoding="utf-8")
    (tmp_path / "copies.txt").write_text("\n".join(queries) + "\n", encoding="utf-8")
    (tmp_path / "other.txt").write_text("a blue car\nsun over hills\n", encoding="utf-8")
    model = SentenceTransformer(str(tiny_model), device="cpu")

    def scores(base) -> tuple[dict, int]:
        task = _pooled_task(base, tmp_path, ("other.txt", "copies.txt"))
        load_task_data(task)
        split = task.dataset["sin-eng"]["devtest"]
        pool = len(split["sentence2"] if "sentence2" in split else split["corpus"])
        result = mteb.evaluate(model, task, cache=None, show_progress_bar=False, co2_tracker=False)
        return result.task_results[0].scores["devtest"][0], pool

    mining, pool = scores(FloresPooledEnglish)
    assert (mining["f1"], pool) == (1.0, 5)  # copies of gold translations are dropped
    rank, pool = scores(FloresPooledEnglishRank)
    assert (rank["mrr_at_1000"], rank["precision_at_1"], pool) == (1.0, 1.0, 5)

    (tmp_path / "gold.txt").write_text("un\ndeux\ntrois\n", encoding="utf-8")
    mining, pool = scores(FloresPooledEnglish)
    assert pool == 8 and mining["f1"] == 0.0  # each query's own copy among the distractors wins
    rank, _ = scores(FloresPooledEnglishRank)
    assert rank["precision_at_1"] == 0.0 and 1 / 8 <= rank["mrr_at_1000"] <= 1 / 2
    assert rank["recall_at_10"] == 1.0  # the translation is still in the pool, lower down


def test_nlpc_lexicon_bli_holds_out_one_word_entries(shared_data):
    task = _loaded("NlpcLexiconBLI")
    root = shared_data / "si_ta_en_lexicons_nlpcuom"
    for subset, (source_file, target_file), script in (
        ("sin-eng", ("EN-SI/combineddictionary.si", "EN-SI/combineddictionary.en"), "\u0d80-\u0dff"),
        ("tam-eng", ("EN-TA/combineddictionary.ta", "EN-TA/combineddictionary.en"), "\u0b80-\u0bff"),
    ):
        split = task.dataset[subset]["test"]
        words = split["queries"]["text"]
        assert len(words) > 900 and all(" " not in w and re.search(f"[{script}]", w) for w in words)
        entries = list(
            zip(
                (root / source_file).read_text(encoding="utf-8").splitlines(),
                (root / target_file).read_text(encoding="utf-8").splitlines(),
                strict=True,
            )
        )
        kept = [(s.strip(), t.strip()) for s, t in entries if s.strip() and t.strip()]
        kept = [(s, t) for s, t in kept if " " not in s and " " not in t and re.search(f"[{script}]", s)]
        sources = list(dict.fromkeys(s for s, _ in kept))
        assert words == sources[::16]  # every 16th distinct source word; the rest is free for training
        word_of = dict(zip(split["corpus"]["id"], split["corpus"]["text"], strict=True))
        assert set(word_of.values()) == {t for _, t in kept}
        gold = {word_of[doc] for doc in split["relevant_docs"]["q1"]}
        assert gold == {t for s, t in kept if s == words[1]}
        queries, _ = task.test_words(subset)
        assert queries == set(words)


def test_aligned_dictionary_sides_must_match(tmp_path):
    from corpora.readers import read_aligned_dictionary

    (tmp_path / "d.si").write_text("අම්මා\nතාත්තා\n\n", encoding="utf-8")
    (tmp_path / "d.en").write_text("mother\n\nempty\n", encoding="utf-8")
    assert read_aligned_dictionary(tmp_path / "d.si", tmp_path / "d.en") == [("අම්මා", "mother")]
    (tmp_path / "d.en").write_text("mother\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"d.si:2: .*d.en has no line 2"):
        read_aligned_dictionary(tmp_path / "d.si", tmp_path / "d.en")
