"""Bilingual lexicon induction: MUSE en->hi/bn/ta (../shared/data, the standard test split) and open-tamil's
en->ta dictionary (shipped in the `open-tamil` registry package). Main score P@1."""

from __future__ import annotations

from mteb.abstasks.task_metadata import TaskMetadata

from mteb_tasks.abstasks import DictionaryBLI, EveryNth, RankRange
from mteb_tasks.readers import MUSE_HUNALIGN, DictionaryFormat

MUSE_TEST = RankRange(5000, 6500)  # distinct source words 0-5000 are MUSE's train split


class MuseBLI(DictionaryBLI):
    files = {"eng-hin": "en-hi.dict", "eng-ben": "en-bn.dict", "eng-tam": "en-ta.dict"}
    dictionary = MUSE_HUNALIGN
    test_split = MUSE_TEST
    metadata = TaskMetadata(
        name="MuseBLI",
        description="MUSE bilingual dictionaries, English to Hindi, Bengali and Tamil. Queries: distinct "
        "source "
        "words 5000-6500 in file order (the MUSE test split, reconstructed); candidates: every target word "
        "of the "
        "dictionary; a hit is any of the word's gold translations. P@1 (precision_at_1) and MRR "
        "(mrr_at_1000).",
        reference="https://github.com/facebookresearch/MUSE#ground-truth-bilingual-dictionaries",
        dataset={
            "path": "${shared}/muse_dictionaries",
            "revision": "hunalign-dict-muse-0950a115b315cab94a16b65c4e80df630c7058b3",
        },
        type="Retrieval",
        category="t2t",
        modalities=["text"],
        eval_splits=["test"],
        eval_langs={
            "eng-hin": ["eng-Latn", "hin-Deva"],
            "eng-ben": ["eng-Latn", "ben-Beng"],
            "eng-tam": ["eng-Latn", "tam-Taml"],
        },
        main_score="precision_at_1",
        domains=["Written"],
        license="cc-by-nc-4.0",
        annotations_creators="derived",
        sample_creation="found",
        bibtex_citation="",
    )


OPEN_TAMIL_TEST = EveryNth(40)


class OpenTamilBLI(DictionaryBLI):
    files = {"eng-tam": "parallel_dictionary.txt"}
    dictionary = DictionaryFormat(separator=" - ", source_first=True)
    test_split = OPEN_TAMIL_TEST
    candidates_every = 8
    target_script = "TAMIL"  # ~8k entries are untranslated English copies
    metadata = TaskMetadata(
        name="OpenTamilBLI",
        description="open-tamil's English-Tamil dictionary (alphabetical, one Tamil rendering per English "
        "word; "
        "entries without Tamil script dropped). Queries: every 40th English word (932); candidates: the "
        "Tamil "
        "side of every 8th entry plus all gold translations (4,425). A demo may train on entries whose "
        "English "
        "word is not a query.",
        reference="https://github.com/Ezhil-Language-Foundation/open-tamil",
        dataset={"path": "package:solthiruthi/data", "revision": "open-tamil-1.1"},
        type="Retrieval",
        category="t2t",
        modalities=["text"],
        eval_splits=["test"],
        eval_langs={"eng-tam": ["eng-Latn", "tam-Taml"]},
        main_score="precision_at_1",
        domains=["Written"],
        license="mit",
        annotations_creators="expert-annotated",
        sample_creation="found",
        bibtex_citation="",
    )
