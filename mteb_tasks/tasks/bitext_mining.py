"""Bitext mining tasks: Tatoeba, FLORES-200 and NTREX-128 (line-aligned files in ../shared/data) and the
Thirukkural (Tamil couplets vs G. U. Pope's English verse, shipped in the `libkural` registry package)."""

from __future__ import annotations

from pathlib import Path

from mteb.abstasks.task_metadata import TaskMetadata

from corpora.heldout import kural_is_test  # noqa: F401  (re-exported; the rule lives in corpora)
from corpora.readers import read_kurals
from mteb_tasks.abstasks import (
    AlignedFilesBitextMining,
    ParallelBitextMining,
    PooledBitextMining,
    PooledRetrieval,
)
from mteb_tasks.languages import langscript

TATOEBA_LANGS = ("hin", "mar", "ben", "urd", "mal", "tam", "tel")
FLORES_CODES = {
    "asm": "asm_Beng",
    "ben": "ben_Beng",
    "guj": "guj_Gujr",
    "hin": "hin_Deva",
    "kan": "kan_Knda",
    "mal": "mal_Mlym",
    "mar": "mar_Deva",
    "npi": "npi_Deva",
    "ory": "ory_Orya",
    "pan": "pan_Guru",
    "sin": "sin_Sinh",
    "tam": "tam_Taml",
    "tel": "tel_Telu",
    "urd": "urd_Arab",
}
FLORES_SOURCE = {
    "path": "${shared}/flores200",
    "revision": "OPUS-MT-testsets-ac0f19c0be3cb4e0d9450fcb2d7a9847c4bdd180",
}


def _flores_file(lang: str) -> str:
    code = "eng_Latn" if lang == "eng" else FLORES_CODES[lang]
    return f"devtest/{code}.devtest"


def flores_metadata(
    *,
    name: str,
    description: str,
    eval_langs: dict[str, list[str]],
    type: str = "BitextMining",
    main_score: str = "f1",
) -> TaskMetadata:
    """The metadata every FLORES-200 devtest task shares, with the task's own name, text and subsets."""
    return TaskMetadata(
        name=name,
        description=description,
        eval_langs=eval_langs,
        type=type,
        main_score=main_score,
        reference="https://github.com/facebookresearch/flores/tree/main/flores200",
        dataset=FLORES_SOURCE,
        category="t2t",
        modalities=["text"],
        eval_splits=["devtest"],
        domains=["Non-fiction", "Encyclopaedic", "Written"],
        license="cc-by-sa-4.0",
        annotations_creators="human-annotated",
        sample_creation="human-translated",
        bibtex_citation="",
    )


NTREX_LANGS = ("hin", "mar", "ben", "guj", "kan", "mal", "pan", "tam", "tel", "sin", "urd", "nep")


def _to_english(langs) -> dict[str, list[str]]:
    return {f"{lang}-eng": [langscript(lang), "eng-Latn"] for lang in langs}


class TatoebaIndic(AlignedFilesBitextMining):
    files = {
        f"{lang}-eng": (f"tatoeba.{lang}-eng.{lang}", f"tatoeba.{lang}-eng.eng") for lang in TATOEBA_LANGS
    }
    metadata = TaskMetadata(
        name="TatoebaIndic",
        description="LASER Tatoeba v1 (the data of MTEB's Tatoeba task), Indic languages to English: "
        "up to 1,000 aligned sentence pairs per language; each Indic sentence is matched against all English "
        "ones.",
        reference="https://github.com/facebookresearch/LASER/tree/main/data/tatoeba/v1",
        dataset={"path": "${shared}/tatoeba", "revision": "LASER-74bc6ae7ffb7cba670fe0f428d0ede9f666fb821"},
        type="BitextMining",
        category="t2t",
        modalities=["text"],
        eval_splits=["test"],
        eval_langs=_to_english(TATOEBA_LANGS),
        main_score="f1",
        domains=["Written"],
        license="cc-by-2.0",
        annotations_creators="human-annotated",
        sample_creation="found",
        bibtex_citation="",
    )


class FloresIndic(AlignedFilesBitextMining):
    files = {f"{lang}-eng": (_flores_file(lang), _flores_file("eng")) for lang in FLORES_CODES}
    metadata = flores_metadata(
        name="FloresIndic",
        description="FLORES-200 devtest (1,012 multi-way parallel sentences), 13 Indic languages and Sinhala "
        "to "
        "English. The English side is shared by every language pair.",
        eval_langs=_to_english(FLORES_CODES),
    )


class FloresSinhalaTamil(AlignedFilesBitextMining):
    files = {
        "sin-tam": (_flores_file("sin"), _flores_file("tam")),
        "tam-sin": (_flores_file("tam"), _flores_file("sin")),
    }
    metadata = flores_metadata(
        name="FloresSinhalaTamil",
        description="FLORES-200 devtest (1,012 multi-way parallel sentences), Sinhala to Tamil and Tamil to "
        "Sinhala: a low-resource pair without English in between.",
        eval_langs={"sin-tam": ["sin-Sinh", "tam-Taml"], "tam-sin": ["tam-Taml", "sin-Sinh"]},
    )


POOL_SOURCES = ("sin", "tam")
POOL_DISTRACTORS = tuple(_flores_file(lang) for lang in FLORES_CODES if lang not in POOL_SOURCES)


class FloresPooledEnglish(PooledBitextMining):
    files = {
        f"{lang}-eng": (_flores_file(lang), _flores_file("eng"), POOL_DISTRACTORS) for lang in POOL_SOURCES
    }
    metadata = flores_metadata(
        name="FloresPooledEnglish",
        description="FLORES-200 devtest, Sinhala and Tamil to English mined against a pool of 13 x 1,012 "
        "sentences: the English ones plus the same sentences in the 12 other Indic languages of the folder "
        "(all but Sinhala and Tamil). Plain 1,012-candidate mining to English is at its ceiling; here a "
        "model must also prefer the English translation to the Hindi, Bengali, ... ones.",
        eval_langs=_to_english(POOL_SOURCES),
    )


class FloresPooledEnglishRank(PooledRetrieval):
    files = FloresPooledEnglish.files
    metadata = flores_metadata(
        name="FloresPooledEnglishRank",
        description="FloresPooledEnglish scored as retrieval: where the English translation ranks among the "
        "13,156 candidates (main score MRR; precision@1 is the mining accuracy), so models that all miss at "
        "rank 1 still compare.",
        eval_langs=FloresPooledEnglish.metadata.eval_langs,
        type="Retrieval",
        main_score="mrr_at_1000",
    )


class NtrexIndic(AlignedFilesBitextMining):
    files = {
        f"{lang}-eng": (f"newstest2019-ref.{lang}.txt", "newstest2019-src.eng.txt") for lang in NTREX_LANGS
    }
    metadata = TaskMetadata(
        name="NtrexIndic",
        description="NTREX-128 (WMT19 news test, 1,997 sentences translated from English), Indic languages "
        "and "
        "Sinhala to English. ../shared/data marks NTREX as training data: do not evaluate a model trained on "
        "it.",
        reference="https://github.com/MicrosoftTranslator/NTREX",
        dataset={
            "path": "${shared}/ntrex128",
            "revision": "OPUS-MT-testsets-ac0f19c0be3cb4e0d9450fcb2d7a9847c4bdd180",
        },
        type="BitextMining",
        category="t2t",
        modalities=["text"],
        eval_splits=["test"],
        eval_langs=_to_english(NTREX_LANGS),
        main_score="f1",
        domains=["News", "Written"],
        license="cc-by-sa-4.0",
        annotations_creators="human-annotated",
        sample_creation="human-translated",
        bibtex_citation="",
    )


class KuralBitextMining(ParallelBitextMining):
    metadata = TaskMetadata(
        name="KuralBitextMining",
        description="Thirukkural couplets (Tamil) matched against G. U. Pope's English verse translations, "
        "from "
        "the libkural registry package. Test part: all couplets of every fifth chapter (260 pairs); the "
        "other "
        "1,070 couplets are free for training (mteb_tasks.tasks.bitext_mining.kural_is_test).",
        reference="https://github.com/arcturusannamalai/libkural",
        dataset={"path": "package:libkural", "revision": "libkural-1.0.1"},
        type="BitextMining",
        category="t2t",
        modalities=["text"],
        eval_splits=["test"],
        eval_langs={"tam-eng": ["tam-Taml", "eng-Latn"]},
        main_score="f1",
        domains=["Poetry", "Written"],
        license="https://opensource.org/license/bsd-2-clause",  # libkural.py header: BSD 2-clause
        annotations_creators="expert-annotated",
        sample_creation="human-translated",
        bibtex_citation="",
    )

    def read_pairs(self, root: Path, subset: str, split: str) -> tuple[list[str], list[str]]:
        test = [k for k in read_kurals(root) if kural_is_test(k)]
        return [k.tamil for k in test], [k.english for k in test]
