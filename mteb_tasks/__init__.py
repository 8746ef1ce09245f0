"""MTEB task plugins for low-resource languages: mteb tasks whose data is a local path, a registry package or
a Hub dataset, a registry of them, suites, and running stock mteb tasks from local copies of their Hub data.

    from mteb_tasks import get_task, get_suite
    tasks = get_suite("indic-offline")          # list of mteb AbsTask objects
    mteb.evaluate(model, get_task("TatoebaIndic"))
"""

from mteb_tasks.abstasks import (
    AlignedDictionaryBLI,
    AlignedFilesBitextMining,
    DictionaryBLI,
    EveryNth,
    LabelledPairClassification,
    ParallelBitextMining,
    PooledBitextMining,
    PooledRetrieval,
    RankRange,
    ScoredPairsSTS,
    bli_split,
)
from mteb_tasks.local_data import check_hub_data, is_stock, load_task_data
from mteb_tasks.registry import SUITES, TASKS, StockTask, Suite, filter_languages, get_suite, get_task

__all__ = [
    "SUITES",
    "TASKS",
    "AlignedDictionaryBLI",
    "AlignedFilesBitextMining",
    "DictionaryBLI",
    "EveryNth",
    "LabelledPairClassification",
    "ParallelBitextMining",
    "PooledBitextMining",
    "PooledRetrieval",
    "RankRange",
    "ScoredPairsSTS",
    "StockTask",
    "Suite",
    "bli_split",
    "check_hub_data",
    "filter_languages",
    "get_suite",
    "get_task",
    "is_stock",
    "load_task_data",
]
