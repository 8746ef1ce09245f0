"""`embedkit eval MODEL… --suite NAME | --tasks A,B --out DIR`: score models on MTEB tasks, write mteb
results, a report with plots, and print a side-by-side table."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from embedkit.errors import UserError

logger = logging.getLogger(__name__)

DESCRIPTION = """Evaluate one or more models (default | a model folder | a Hub id) on MTEB tasks through
mteb.evaluate. Tasks: embedkit's plugins (local data), any installed mteb task (Hub data; offline from
--data-dir copies), or a corpus folder. Results go to OUT/results/ in mteb's layout (resumable: re-running
into OUT skips finished results), plus OUT/report.md, OUT/report.html and OUT/plots/. The first MODEL is the
baseline the report compares the others against. Every text gets one prompt: the model's default prompt,
or --prompt NAME|none; --prompts model,none scores each model under both, and the report then compares the
other models with the baseline at its best prompt per task."""


def register(subparsers, common) -> None:
    p = subparsers.add_parser(
        "eval", parents=[common], help="score models on MTEB tasks and suites", description=DESCRIPTION
    )
    p.add_argument("models", nargs="*", metavar="MODEL", help="default, a model folder, or a Hub id")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--suite", help="a suite name (see --list)")
    which.add_argument("--tasks", help="comma-separated task names or corpus folders (see --list)")
    p.add_argument("--out", type=Path, help="output folder")
    prompt = p.add_mutually_exclusive_group()
    prompt.add_argument(
        "--prompt", help="prompt name applied to every text, or 'none' (default: the model's default)"
    )
    prompt.add_argument(
        "--prompts",
        help="score every model under each of these, comma-separated: 'model' (its default prompt), "
        "'none', or a prompt name; e.g. model,none",
    )
    p.add_argument(
        "--langs", help="keep only subsets with these languages (ISO 639-3 or 639-1, comma-separated)"
    )
    p.add_argument(
        "--data-dir", type=Path, help="local copies of stock mteb tasks' Hub datasets, at DIR/<org>/<name>"
    )
    p.add_argument("--batch-size", type=int, default=128, help="encoding batch size (default 128)")
    p.add_argument("--device", help="torch device (default: the best available)")
    p.add_argument("--overwrite", action="store_true", help="re-run tasks that already have results in OUT")
    p.add_argument("--list", action="store_true", help="list embedkit's tasks and the suites, then exit")
    p.set_defaults(func=run)


def _list() -> int:
    from mteb_tasks import SUITES, TASKS

    for name, cls in TASKS.items():
        meta = cls.metadata
        print(f"{name}\t{meta.type}\t{','.join(meta.hf_subsets)}\t{meta.dataset['path']}")
    for suite in SUITES.values():
        print(f"suite {suite.name}\t{suite.description}")
    return 0


def _tasks(args: argparse.Namespace) -> list:
    from mteb_tasks import filter_languages, get_suite, get_task
    from mteb_tasks.languages import iso3

    if args.suite:
        tasks = get_suite(args.suite)
    else:
        names = [name.strip() for name in args.tasks.split(",") if name.strip()]
        if not names:
            raise UserError("--tasks is empty")
        tasks = [get_task(name) for name in names]
    if args.langs:
        wanted = [iso3(code.strip()) for code in args.langs.split(",") if code.strip()]
        kept = filter_languages(tasks, wanted)
        names = {task.metadata.name for task in kept}
        dropped = [task for task in tasks if task.metadata.name not in names]
        if dropped and args.tasks:  # a task asked for by name is never dropped silently
            described = "; ".join(f"{task.metadata.name} has {_languages(task)}" for task in dropped)
            raise UserError(
                f"--langs {args.langs}: no subset of these tasks is in these languages: {described} "
                "(drop those tasks from --tasks or add one of their languages to --langs)"
            )
        if dropped:
            logger.info(
                "--langs %s: skipping %s (no subset in these languages)",
                args.langs,
                ", ".join(task.metadata.name for task in dropped),
            )
        tasks = kept
        if not tasks:
            raise UserError(f"--langs {args.langs}: no task has a subset in these languages")
    return tasks


def _prompts(args: argparse.Namespace) -> list[str | None]:
    """--prompt X or --prompts A,B as run_eval's prompts: None is the model's default prompt."""
    if args.prompts is None:
        return [args.prompt]
    names = [name.strip() for name in args.prompts.split(",") if name.strip()]
    if not names:
        raise UserError("--prompts is empty; give e.g. model,none")
    if len(set(names)) != len(names):
        raise UserError(f"--prompts {args.prompts}: a prompt is named twice")
    return [None if name == "model" else name for name in names]


def _languages(task) -> str:
    codes = dict.fromkeys(lang.split("-")[0] for lang in task.metadata.languages)
    return ", ".join(codes) or "no languages"


def _print_table(results) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Main score ×100 (mean over languages)")
    table.add_column("task")
    table.add_column("metric")
    table.add_column("langs", justify="right")
    for model in results.models:
        table.add_column(model.label, justify="right")
    for model in results.models[1:]:
        table.add_column(f"Δ {model.label}", justify="right")
    for task, info in results.tasks.items():
        means = [m.task_mean(task) for m in results.models]
        cells = ["–" if v is None else f"{v:.2f}" for v in means]
        base = means[0]
        for value in means[1:]:
            if value is None or base is None:
                cells.append("–")
            else:
                colour = "green" if value >= base else "red"
                cells.append(f"[{colour}]{value - base:+.2f}[/{colour}]")
        n = max(len(m.scores.get(task, {})) for m in results.models)
        table.add_row(task, info.main_score, str(n), *cells)
    Console().print(table)


def run(args: argparse.Namespace) -> int:
    if args.list:
        return _list()
    if not args.models:
        raise UserError("give at least one MODEL (default, a model folder or a Hub id)")
    if not (args.suite or args.tasks):
        raise UserError("choose the tasks: --suite NAME or --tasks A,B (see --list)")
    if args.out is None:
        raise UserError("--out DIR is required")
    if args.batch_size < 1:
        raise UserError("--batch-size must be at least 1")
    from embedkit.atomic import check_output_path

    check_output_path(args.out, "--out")
    os.environ.setdefault("TQDM_DISABLE", "1")  # rich progress only; set before tqdm is imported

    from embedkit.console import RichProgress
    from embedkit.evaluation import load_eval, run_eval, write_report

    tasks = _tasks(args)
    run_result = run_eval(
        args.models,
        tasks,
        args.out,
        prompts=_prompts(args),
        data_dir=args.data_dir,
        batch_size=args.batch_size,
        overwrite=args.overwrite,
        device=args.device,
        progress=RichProgress(),
    )
    report = write_report(args.out)
    _print_table(load_eval(args.out))
    print(f"results: {args.out / 'results'}")
    print(f"report: {report}")
    return 1 if run_result.failures else 0
