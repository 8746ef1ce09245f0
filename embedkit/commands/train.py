"""embedkit train RECIPE.yaml --out DIR [--set key=value ...] [--resume] [--nproc N]"""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def register(sub, common) -> None:
    parser = sub.add_parser(
        "train",
        parents=[common],
        help="fine-tune a sentence-embedding model from a YAML recipe",
        description="Run the stages of a recipe (nli, sts, distill, custom, lexical, mlm, joint, "
        "multitask) on SentenceTransformerTrainer. "
        "Writes DIR/model (a sentence-transformers folder), DIR/run.json and DIR/checkpoints/. "
        "The recipe is validated before any work starts.",
    )
    parser.add_argument("recipe", type=Path, help="recipe YAML, e.g. recipes/indicsbert-offline.yaml")
    parser.add_argument("--out", "-o", type=Path, required=True, help="run folder to write")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a recipe key, e.g. --set stages.0.lr=2e-5 (repeatable)",
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue an interrupted run in DIR from its last checkpoint"
    )
    parser.add_argument(
        "--nproc",
        type=int,
        default=1,
        help="train with N data-parallel processes (torchrun DDP; gloo on CPU)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("TQDM_DISABLE", "1")  # library progress bars (read when tqdm loads); ours are rich
    from trainers.launch import relaunch, under_torchrun
    from trainers.recipe import load_recipe
    from trainers.run import FINISHED, MODEL_DIR, check_out_dir, train

    recipe = load_recipe(args.recipe, args.overrides)  # validated before anything else happens
    if args.nproc != 1 and not under_torchrun():
        # one clear message here, not one per process
        if check_out_dir(recipe, args.out, args.resume) == FINISHED:
            print(args.out / MODEL_DIR)
            return 0
        child = ["train", str(args.recipe), "--out", str(args.out)]
        child += [item for override in args.overrides for item in ("--set", override)]
        child += ["--resume"] * args.resume + ["--quiet"] * args.quiet + ["--debug"] * args.debug
        return relaunch(args.nproc, child)

    from embedkit.console import RichProgress

    model_dir = train(recipe, args.out, resume=args.resume, progress=RichProgress())
    if os.environ.get("RANK", "0") == "0":  # under torchrun only the first process reports
        print(model_dir)
    return 0
