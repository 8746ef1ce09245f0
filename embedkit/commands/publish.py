"""`embedkit publish RUN_DIR --to DIR [--hub ORG/NAME] [--dry-run]`: a model folder ready to upload, with a
model card (README.md) built from the run and its MTEB results."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
from pathlib import Path

from embedkit.errors import EmbedkitError, UserError

DESCRIPTION = """Package a training run (RUN_DIR/model + RUN_DIR/run.json, the layout `embedkit train` writes)
as a model folder whose README.md is a Hugging Face model card: YAML metadata (languages, licence, tags incl.
mteb and sentence-transformers, model-index from the MTEB result files), evaluation tables, the training
recipe, and the provenance and licences of the training data. Results come from RUN_DIR/eval/ (`embedkit eval
... --out RUN_DIR/eval`) or --results DIR. --hub uploads the folder with huggingface_hub, using the token from
HF_TOKEN or `hf auth login` (never written anywhere). --dry-run prints the files and the card and writes
nothing."""

_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def register(subparsers, common) -> None:
    p = subparsers.add_parser(
        "publish",
        parents=[common],
        help="model folder + model card, optionally uploaded",
        description=DESCRIPTION,
    )
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a training run folder")
    p.add_argument("--to", type=Path, required=True, metavar="DIR", help="where to write the model folder")
    p.add_argument("--hub", metavar="ORG/NAME", help="also upload to this Hugging Face model repository")
    p.add_argument("--results", type=Path, metavar="DIR", help="eval folder (default RUN_DIR/eval)")
    p.add_argument("--name", help="model name in the card (default: --hub id, else the run folder's name)")
    p.add_argument("--license", help="licence of the model (default: the recipe's, else the base model's)")
    p.add_argument("--private", action="store_true", help="create the Hub repository as private")
    p.add_argument("--force", action="store_true", help="replace DIR if it exists")
    p.add_argument(
        "--dry-run", action="store_true", help="print the files and the card; write and upload nothing"
    )
    p.set_defaults(func=run)


def _read_run(run_dir: Path) -> dict:
    if not run_dir.is_dir():
        raise UserError(f"{run_dir}: no such run folder")
    model = run_dir / "model"
    if not (model / "modules.json").is_file() and not (model / "config.json").is_file():
        raise UserError(
            f"{model}: not a model folder (no modules.json or config.json); is {run_dir} a training run?"
        )
    path = run_dir / "run.json"
    if not path.is_file():
        raise UserError(f"{path}: missing; a training run folder has run.json (written by `embedkit train`)")
    try:
        run = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        from embedkit.errors import InputError

        raise InputError(path, exc.lineno, f"not valid JSON: {exc.msg}") from None
    if not isinstance(run, dict):
        raise UserError(f"{path}: expected a JSON object")
    return run


def _check_target(to: Path, protected: dict[str, Path]) -> None:
    """--to is replaced wholesale: refuse one that is, holds, or lies inside a folder we read from."""
    target = to.resolve()
    for what, folder in protected.items():
        folder = folder.resolve()
        if target == folder or folder.is_relative_to(target) or target.is_relative_to(folder):
            relation = (
                "is" if target == folder else ("contains" if folder.is_relative_to(target) else "lies inside")
            )
            raise UserError(
                f"--to {to} {relation} the {what} {folder}; publishing replaces --to, so choose a folder "
                "outside it"
            )


def _model_files(model_dir: Path) -> list[Path]:
    """Every file of the model folder (README.md excepted). A symlink to a file inside the model folder is
    copied as that file; a symlink that points out of it, nowhere, or to a folder stops the run naming the
    link, so nothing outside the model is ever copied or uploaded."""
    root = model_dir.resolve()
    files = []
    for folder, dirs, names in os.walk(model_dir, followlinks=False):
        for name in [*dirs, *names]:
            path = Path(folder) / name
            if not path.is_symlink():
                continue
            target = path.resolve()
            if not target.is_file() or not target.is_relative_to(root):
                where = "a folder" if target.is_dir() else "outside the model folder"
                raise UserError(
                    f"{path} is a symlink to {os.readlink(path)} ({where}); publish copies only the model "
                    f"folder's own files: replace the link with a copy of what it points to"
                )
        files += [Path(folder) / name for name in names]
    return sorted(p for p in files if p.relative_to(model_dir) != Path("README.md"))


def _license(args: argparse.Namespace, run: dict) -> str:
    from embedkit.evaluation.card import DEFAULT_BASE, DEFAULT_BASE_LICENSE, base_model_id

    recipe = run.get("recipe") if isinstance(run.get("recipe"), dict) else {}
    found = args.license or recipe.get("license")
    if found:
        return str(found)
    if base_model_id(run) == DEFAULT_BASE:
        return DEFAULT_BASE_LICENSE
    raise UserError(
        f"no licence known for base model {base_model_id(run)!r}: pass --license (e.g. apache-2.0)"
    )


def _check_hub(repo_id: str) -> None:
    """Fail before any work if the upload cannot happen: bad id, offline, or no token."""
    import huggingface_hub
    from huggingface_hub import constants

    if not _REPO_ID.match(repo_id):
        raise UserError(f"--hub {repo_id!r}: expected ORG/NAME")
    if constants.HF_HUB_OFFLINE:
        raise UserError(
            "--hub needs the Hugging Face Hub, but HF_HUB_OFFLINE is set: unset it, or publish without --hub"
        )
    if huggingface_hub.get_token() is None:
        raise UserError("--hub needs a Hugging Face token: run `hf auth login` or set HF_TOKEN")


def _upload(folder: Path, repo_id: str, private: bool) -> str:
    from huggingface_hub import HfApi

    api = HfApi()  # token from HF_TOKEN or the stored login; never passed around or printed
    try:
        api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
        commit = api.upload_folder(
            repo_id=repo_id,
            repo_type="model",
            folder_path=str(folder),
            commit_message="Upload with embedkit publish",
        )
    except Exception as exc:
        raise EmbedkitError(f"upload to {repo_id} failed: {type(exc).__name__}: {exc}") from None
    return str(getattr(commit, "commit_url", f"https://huggingface.co/{repo_id}"))


def run(args: argparse.Namespace) -> int:
    from sentence_transformers import SentenceTransformer

    from embedkit.atomic import atomic_dir, check_output_path
    from embedkit.console import info
    from embedkit.evaluation.card import build_card, pick_model
    from embedkit.evaluation.encoder import content_revision
    from embedkit.evaluation.results import load_eval

    run_record = _read_run(args.run_dir)
    results_dir = args.results or args.run_dir / "eval"
    _check_target(args.to, {"run folder": args.run_dir, "results folder": results_dir})
    if args.hub:
        _check_hub(args.hub)
    if args.to.exists() and not args.force and not args.dry_run:
        raise UserError(f"{args.to} exists; pass --force to replace it")
    if not args.dry_run:
        check_output_path(args.to, "--to")
    if not (results_dir / "results").is_dir():
        raise UserError(
            f"no evaluation results in {results_dir}: run `embedkit eval {args.run_dir / 'model'} --suite "
            f"NAME "
            f"--out {results_dir}` (add the base model first to compare), or pass --results DIR"
        )
    model_dir = args.run_dir / "model"
    files = _model_files(model_dir)  # before loading: a link out of the folder is refused first
    model = SentenceTransformer(str(model_dir), local_files_only=True, device="cpu")
    results = load_eval(results_dir)
    scores = pick_model(results, content_revision(model_dir), model.default_prompt_name)
    name = args.name or args.hub or args.run_dir.resolve().name
    card = build_card(
        run_record,
        results,
        scores,
        name=name,
        license=_license(args, run_record),
        dim=model.get_embedding_dimension(),
    )

    if args.dry_run:
        where = f" and upload to https://huggingface.co/{args.hub}" if args.hub else ""
        print(f"would write {args.to}{where}:")
        for path in files:
            print(f"  {path.relative_to(model_dir)}\t{path.stat().st_size} bytes")
        print(f"  README.md\t{len(card.encode())} bytes")
        print("--- README.md ---")
        print(card)
        return 0

    with atomic_dir(args.to, replace=True) as tmp:
        for path in files:
            target = tmp / path.relative_to(model_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)  # not copy2: the source's mode may be 0600 (save_pretrained)
        (tmp / "README.md").write_text(card, encoding="utf-8")
    info(f"wrote {len(files) + 1} files to {args.to}")
    if args.hub:
        url = _upload(args.to, args.hub, args.private)
        print(f"uploaded: {url}")
    print(args.to)
    return 0
