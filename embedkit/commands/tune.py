"""embedkit tune RECIPE.yaml --trials N --out DIR [--storage URL] [--study NAME] [--final] [--set k=v ...]"""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def register(sub, common) -> None:
    parser = sub.add_parser(
        "tune",
        parents=[common],
        help="search a recipe's hyperparameters with Optuna (its `search:` block)",
        description="Train one run per trial into DIR/trials/NNNN, pruning trials whose dev metric falls "
        "behind, until the study holds N finished trials. Writes DIR/best.yaml (train it again with "
        "`embedkit train DIR/best.yaml`), DIR/best-model, DIR/trials.csv and DIR/plots/. The study is "
        "stored in DIR/study.db: run the same command again to resume it after a crash, or start "
        "several at once (same --out, or same --storage on other machines) to share it.",
    )
    parser.add_argument("recipe", type=Path, help="recipe YAML with a `search:` block")
    parser.add_argument(
        "--trials", "-n", type=int, required=True, help="finished trials the study should hold"
    )
    parser.add_argument("--out", "-o", type=Path, required=True, help="output folder")
    parser.add_argument(
        "--storage",
        metavar="URL",
        help="Optuna storage URL, e.g. postgresql://user:pass@host/db for workers on several machines "
        "(default: sqlite:///DIR/study.db)",
    )
    parser.add_argument("--study", metavar="NAME", help="study name (default: the recipe's name)")
    parser.add_argument(
        "--final",
        action="store_true",
        help="retrain the best trial's recipe into DIR/final and keep that model as DIR/best-model",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a recipe key before the search, as in `embedkit train --set` (repeatable)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("TQDM_DISABLE", "1")  # library progress bars; ours are rich
    from embedkit.console import RichProgress, console, is_quiet
    from embedkit.tune import tune

    result = tune(
        args.recipe,
        args.out,
        args.trials,
        storage=args.storage,
        study=args.study,
        final=args.final,
        overrides=args.overrides,
        progress=RichProgress(),
    )
    if not is_quiet():
        console.print(rich_table(result.table))
    print(result.best_recipe)
    return 0


def rich_table(table):
    from rich.table import Table

    drawn = Table(title=table.title, caption=table.caption)
    for column in table.columns[:-1]:
        drawn.add_column(column, justify="left" if column == "state" else "right", no_wrap=True)
    drawn.add_column(table.columns[-1], overflow="fold")
    for i, row in enumerate(table.rows):
        drawn.add_row(*row, style="bold green" if i == table.best_row else None)
    return drawn
