"""Bilingual lexicon induction: MUSE en->hi/bn/ta (../shared/data, the standard test split), NLPC's si->en and
ta->en dictionaries (../shared/data) and open-tamil's en->ta dictionary (shipped in the `open-tamil` registry
package). Main score P@1."""

from __future__ import annotations

from pathlib import Path

from mteb.abstasks.task_metadata import TaskMetadata

from corpora.heldout import MUSE_TEST, NLPC_LEXICON_TEST, OPEN_TAMIL_TEST
from corpora.readers import MUSE_HUNALIGN, OPEN_TAMIL_FORMAT, open_tamil_entries
from mteb_tasks.abstasks import AlignedDictionaryBLI, DictionaryBLI


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


class OpenTamilBLI(DictionaryBLI):
    files = {"eng-tam": "parallel_dictionary.txt"}
    dictionary = OPEN_TAMIL_FORMAT
    test_split = OPEN_TAMIL_TEST
    candidates_every = 8
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

    def read_pairs(self, root: Path, subset: str) -> list[tuple[str, str]]:
        # the entries the `opentamil` corpus format reads too (~8k untranslated English copies dropped)
        return [
            (source, target) for _, source, target in open_tamil_entries(self.dictionary_path(root, subset))
        ]


class NlpcLexiconBLI(AlignedDictionaryBLI):
    files = {
        "sin-eng": ("EN-SI/combineddictionary.si", "EN-SI/combineddictionary.en"),
        "tam-eng": ("EN-TA/combineddictionary.ta", "EN-TA/combineddictionary.en"),
    }
    source_scripts = {"sin-eng": "SINHALA", "tam-eng": "TAMIL"}
    test_split = NLPC_LEXICON_TEST
    metadata = TaskMetadata(
        name="NlpcLexiconBLI",
        description="NLPC (University of Moratuwa) Sinhala-English and Tamil-English dictionaries, one-word "
        "entries only. Queries: every 16th distinct Sinhala / Tamil word in file order (test_words lists "
        "them for a recipe to leave out; the mlm recipes never read these dictionaries, while "
        "recipes/lexical-offline.yaml trains on all of them, so its model must not be scored here); "
        "candidates: every English word of the kept entries; a hit is any gold translation. The data has no "
        "stated licence: it is read in place, never redistributed.",
        reference="https://github.com/nlpcuom/parallel_corpus_mining",
        dataset={
            "path": "${shared}/si_ta_en_lexicons_nlpcuom",
            "revision": "432c0ac16fe51aae46aa6cf8635db97391c8ca12",
        },
        type="Retrieval",
        category="t2t",
        modalities=["text"],
        eval_splits=["test"],
        eval_langs={"sin-eng": ["sin-Sinh", "eng-Latn"], "tam-eng": ["tam-Taml", "eng-Latn"]},
        main_score="precision_at_1",
        domains=["Written"],
        license="not specified",
        annotations_creators="expert-annotated",
        sample_creation="found",
        bibtex_citation="",
    )
