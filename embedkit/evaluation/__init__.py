"""Benchmarking: run models on mteb tasks (`run_eval`), read the results back (`load_eval`), write the report
(`write_report`) and model cards (`embedkit.evaluation.card`)."""

from embedkit.evaluation.report import write_report
from embedkit.evaluation.results import EvalResults, ModelScores, TaskInfo, load_eval
from embedkit.evaluation.runner import EvalModel, EvalRun, Failure, run_eval

__all__ = [
    "EvalModel",
    "EvalResults",
    "EvalRun",
    "Failure",
    "ModelScores",
    "TaskInfo",
    "load_eval",
    "run_eval",
    "write_report",
]
