"""One training run, from a validated recipe to DIR/model and DIR/run.json.

Layout of DIR (see the contracts):
    model/                 the final sentence-transformers folder (prompts kept)
    run.json               resolved recipe, data manifests, per-stage metrics, versions, git revision, seed
    checkpoints/recipe.json                 the resolved recipe, so --resume can refuse a different one
    checkpoints/NN-<stage>/checkpoint-N/    lean Trainer checkpoints (the tensors the stage trains, optimizer,
                                            scheduler, RNG states; see trainers.checkpoints)
    checkpoints/NN-<stage>/final/ + stage.json   a finished stage (lean too), skipped on --resume
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import platform
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from embedkit.atomic import atomic_dir, write_text_atomic
from embedkit.errors import UserError
from embedkit.nested import first_difference
from embedkit.paths import REPO_ROOT
from embedkit.progress import SILENT, Progress

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer
    from transformers import TrainerCallback

    from trainers.recipe import Recipe

logger = logging.getLogger(__name__)

MODEL_DIR, RUN_FILE, CHECKPOINTS, RECIPE_FILE = "model", "run.json", "checkpoints", "recipe.json"


@dataclass
class RunContext:
    recipe: Recipe
    out: Path
    device: str
    prompt: str | None = None  # the text prepended to every training text
    base_prompt: str | None = None  # the base model's own default prompt (a teacher that is the base uses it)
    resume: bool = False
    world_size: int = 1
    rank: int = 0
    is_main: bool = True
    freeze: bool = False
    precision: str = "no"
    progress: Progress = SILENT
    callbacks: list[TrainerCallback] = field(default_factory=list)


def train(
    recipe: Recipe,
    out: str | Path,
    resume: bool = False,
    callbacks: list[TrainerCallback] | None = None,
    progress: Progress = SILENT,
) -> Path:
    """Run every stage of `recipe` into `out`; return the final model folder (`out`/model).

    `callbacks` are extra transformers TrainerCallbacks added to every stage (e.g. a tuner's pruning
    callback); they see the dev metric as `eval_dev_score`. `progress` shows the stages and their steps.
    With `resume` on a finished run of the same recipe, nothing is done and its model folder is returned.
    """
    from trainers.compute import pick_device, precision, should_freeze
    from trainers.stages import STAGES
    from trainers.trim import trimmed_base, vocab_rows

    started = time.time()
    out = Path(out)
    state = check_out_dir(recipe, out, resume)
    if state == FINISHED:
        logger.info(f"--out {out}: the run is finished already; nothing to resume")
        return out / MODEL_DIR
    resume = state == RESUME
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    is_main = rank == 0
    device = pick_device(recipe.compute)
    ctx = RunContext(
        recipe,
        out,
        device,
        resume=resume,
        world_size=world_size,
        rank=rank,
        is_main=is_main,
        freeze=should_freeze(recipe.compute, device),
        precision=precision(recipe.compute, device),
        progress=progress if is_main else SILENT,
        callbacks=list(callbacks or []),
    )
    distributed = _distributed_state(ctx)

    with datasets_progress_bars_off():
        stages = [STAGES[config.type](config, i, ctx) for i, config in enumerate(recipe.stages)]
        done = {stage.index: stage.finished() for stage in stages} if resume else {}
        todo = [stage for stage in stages if not done.get(stage.index)]
        # preflight: every stage's data is loaded and checked against the base model before any stage
        # trains, and before anything is written; corpora are built by the first process
        with distributed.main_process_first() if distributed else contextlib.nullcontext():
            data = {stage.index: stage.load_data() for stage in todo}
            base, trim_record = trimmed_base(recipe, out / CHECKPOINTS, is_main)  # the recipe's trim: block
            if trim_record:
                ctx.recipe = recipe.model_copy(update={"base_model": base})  # stages see the trimmed base
            ctx.freeze = should_freeze(recipe.compute, device, vocab_rows(base))  # a small vocabulary trains
            model = load_training_model(base, ctx, resolve_prompt=True)
            prepared = {stage.index: stage.prepare(model, data.pop(stage.index)) for stage in todo}
        if is_main and not resume:
            write_text_atomic(
                out / CHECKPOINTS / RECIPE_FILE, json.dumps(recipe.resolved(), indent=2, ensure_ascii=False)
            )

        results, reused = [], 0.0
        with ctx.progress.task("stages", total=len(stages)) as overall:
            for stage in stages:
                if result := done.get(stage.index):
                    logger.info(f"stage {stage.name}: finished earlier, reusing {stage.dir / 'final'}")
                    stage.load_finished(model)
                    reused += result.wall_time_s
                else:
                    result = stage.train(model, prepared.pop(stage.index))
                results.append(result)
                overall.advance()
                overall.status(f"{stage.name}: {_headline(result.metrics)}")

    if is_main:
        with atomic_dir(out / MODEL_DIR, replace=True) as tmp:
            model.save(str(tmp))
        run = run_record(recipe, ctx, results, time.time() - started + reused)
        run["trim"] = trim_record
        write_text_atomic(out / RUN_FILE, json.dumps(run, indent=2, ensure_ascii=False) + "\n")
    return out / MODEL_DIR


@contextlib.contextmanager
def datasets_progress_bars_off() -> Iterator[None]:
    """`datasets` draws no progress bars inside the block; its setting before is restored after."""
    import datasets

    was_disabled = datasets.are_progress_bars_disabled()
    if not was_disabled:
        datasets.disable_progress_bars()
    try:
        yield
    finally:
        if not was_disabled:
            datasets.enable_progress_bars()


def _headline(metrics: dict[str, float]) -> str:
    if "dev_score" in metrics:
        return f"dev {metrics['dev_score']:.4f}"
    return f"loss {metrics.get('train_loss', float('nan')):.4f}"


def _distributed_state(ctx: RunContext):
    """The accelerate state under torchrun (gloo on CPU), or None for a single process."""
    if ctx.world_size == 1:
        return None
    from accelerate import PartialState

    return PartialState(backend="gloo" if ctx.device == "cpu" else None, cpu=ctx.device == "cpu")


NEW, RESUME, FINISHED = "new", "resume", "finished"


def check_out_dir(recipe: Recipe, out: Path, resume: bool) -> str:
    """What `out` allows: NEW (empty, or a run that stopped before its first finished step), RESUME (an
    unfinished run of this recipe, with --resume) or FINISHED (a finished run of it, with --resume: left as
    it is). Refuses, writing nothing: a path that cannot be the output folder, overwriting a finished run,
    restarting an unfinished one without --resume, and resuming another recipe."""
    from embedkit.atomic import check_output_path

    check_output_path(out, "--out")
    resolved = recipe.resolved()
    if (out / RUN_FILE).exists():
        if not resume:
            raise UserError(f"--out {out}: it already holds a finished run; choose another --out")
        _refuse_other_recipe(
            out, json.loads((out / RUN_FILE).read_text(encoding="utf-8"))["recipe"], resolved
        )
        return FINISHED
    saved = out / CHECKPOINTS / RECIPE_FILE
    if not saved.exists() or not has_finished_step(out):
        return NEW  # nothing a restart would lose
    if not resume:
        raise UserError(
            f"--out {out}: it holds an unfinished run; add --resume to continue it, or choose another --out"
        )
    _refuse_other_recipe(out, json.loads(saved.read_text(encoding="utf-8")), resolved)
    return RESUME


def has_finished_step(out: Path) -> bool:
    """A finished stage or a complete Trainer checkpoint under `out`/checkpoints."""
    from trainers.stages.base import CHECKPOINT_STATE, STAGE_FILE

    checkpoints = out / CHECKPOINTS
    return any(checkpoints.glob(f"*/{STAGE_FILE}")) or any(
        checkpoints.glob(f"*/checkpoint-*/{CHECKPOINT_STATE}")
    )


class RecipeDiffers(UserError):
    """--resume with another recipe than the one the run folder was started with."""


def _refuse_other_recipe(out: Path, before: Any, resolved: dict[str, Any]) -> None:
    if changed := first_difference(before, resolved):
        raise RecipeDiffers(
            f"--resume: the recipe differs from the one {out} was started with (at {changed}); "
            "resume with the same recipe and --set values, or start a new --out"
        )


def load_training_model(spec: str, ctx: RunContext, resolve_prompt: bool = False) -> SentenceTransformer:
    """Load a model and apply the run's settings: max length, training prompt, frozen embeddings."""
    from embedkit.models import load_model
    from trainers.compute import freeze_lower_layers, freeze_word_embeddings

    model = load_model(spec, device=ctx.device)
    if ctx.recipe.compute.max_seq_length:
        model.max_seq_length = min(ctx.recipe.compute.max_seq_length, _position_limit(model))
    if resolve_prompt:
        ctx.base_prompt = training_prompt(model, "auto")
        ctx.prompt = training_prompt(model, ctx.recipe.prompt)
    set_default_prompt(model, ctx.prompt)
    frozen = freeze_word_embeddings(model) if ctx.freeze else 0
    frozen += (
        freeze_lower_layers(model, ctx.recipe.compute.freeze_layers)
        if ctx.recipe.compute.freeze_layers
        else 0
    )
    if resolve_prompt and frozen:
        total = sum(p.numel() for p in model.parameters())
        logger.info(f"frozen: {frozen / 1e6:.0f}M of {total / 1e6:.0f}M parameters are not trained")
    return model


def _position_limit(model: SentenceTransformer) -> int:
    config = getattr(getattr(model[0], "auto_model", None), "config", None)
    limit = getattr(config, "max_position_embeddings", None) or 512
    # XLM-R style models reserve two positions for the padding offset
    return limit - 2 if getattr(config, "model_type", "") in {"xlm-roberta", "roberta"} else limit


def training_prompt(model: SentenceTransformer, setting: str | None) -> str | None:
    """The text prepended to every training text. 'auto': the model's own default prompt."""
    if setting == "auto":
        name = model.default_prompt_name
        return model.prompts.get(name) or None if name else None
    return setting or None


def set_default_prompt(model: SentenceTransformer, prompt: str | None) -> None:
    """Make `model.encode` (dev evaluators, and users of the saved model) apply the training prompt."""
    if prompt is None:
        model.default_prompt_name = None
        return
    for name, text in model.prompts.items():
        if text == prompt:
            model.default_prompt_name = name
            return
    model.prompts["default"] = prompt
    model.default_prompt_name = "default"


def run_record(recipe: Recipe, ctx: RunContext, results: list, wall_time: float) -> dict[str, Any]:
    from embedkit.models import resolve_model

    data = [manifest for result in results for manifest in result.data]
    return {
        "recipe": recipe.resolved(),
        "data": data,
        "stages": [result.for_run_json() for result in results],
        "base_model": {"spec": recipe.base_model, "path": str(resolve_model(recipe.base_model))},
        "prompt": ctx.prompt,
        "frozen_word_embeddings": ctx.freeze,
        "frozen_layers": recipe.compute.freeze_layers,
        "mixed_precision": ctx.precision,
        "device": ctx.device,
        "world_size": ctx.world_size,
        "versions": versions(),
        "git_revision": git_revision(),
        "seed": recipe.seed,
        "resumed": ctx.resume,
        "wall_time_s": round(wall_time, 1),
    }


def versions() -> dict[str, str | None]:
    names = ["embedkit", "torch", "transformers", "sentence-transformers", "datasets", "accelerate"]
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def git_revision() -> str | None:
    try:
        result = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None
