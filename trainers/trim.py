"""A recipe's `trim:` block: the base model with its vocabulary trimmed, built once per run folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trainers.recipe import Recipe

TRIM_DIR = "trimmed-base"  # under DIR/checkpoints/; reused on --resume


def trimmed_base(
    recipe: Recipe, checkpoints: Path, is_main: bool = True
) -> tuple[str, dict[str, Any] | None]:
    """The model the first stage starts from, and the run.json record of the trim (None without one)."""
    if recipe.trim is None:
        return recipe.base_model, None
    from embedkit.trim import PROVENANCE_FILE, trim_model
    from trainers.data import expand_path

    folder = checkpoints / TRIM_DIR
    paths = [expand_path(text) for text in recipe.trim.text]
    if is_main and not folder.exists():
        trim_model(
            recipe.base_model,
            recipe.trim.langs,
            folder,
            texts=[p for p in paths if not p.is_dir()],
            corpora=[p for p in paths if p.is_dir()],
            vocab_size=recipe.trim.vocab_size,
            min_count=recipe.trim.min_count,
        )
    provenance = json.loads((folder / PROVENANCE_FILE).read_text(encoding="utf-8"))
    record = {
        "folder": str(folder),
        "languages": provenance["languages"],
        "frequency_source": {key: provenance["frequency_source"].get(key) for key in ("name", "sha256")},
        "kept_tokens": provenance["kept_tokens"],
        "parameters": provenance["parameters"],
    }
    return str(folder), record


def vocab_rows(model_dir: str) -> int | None:
    """Rows of the word-embedding matrix, from the model folder's config.json (None when unknown)."""
    from embedkit.models import resolve_model

    config = resolve_model(model_dir) / "config.json"
    if not config.is_file():
        return None
    return json.loads(config.read_text(encoding="utf-8")).get("vocab_size")
