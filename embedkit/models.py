"""Taking a model: `default` (the embedded multilingual-e5-small), a local folder, or a Hub id.

Every command that takes a MODEL argument goes through `resolve_model` / `load_model`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from embedkit.errors import UserError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

DEFAULT = "default"


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}


def resolve_model(spec: str) -> Path:
    """Return a local folder for `spec`, pulling the default model or a Hub snapshot if needed."""
    if spec == DEFAULT:
        from embedkit.default_model import ensure_default

        return ensure_default()
    path = Path(spec).expanduser()
    if path.exists():
        if not path.is_dir():
            raise UserError(f"model {spec!r}: {path} is a file, expected a model folder")
        if not (path / "config.json").exists() and not (path / "modules.json").exists():
            raise UserError(
                f"model {spec!r}: {path} has no config.json or modules.json; "
                "is it a sentence-transformers or transformers model folder?"
            )
        return path
    if spec.startswith((".", "/", "~")) or spec.count("/") > 1:
        raise UserError(f"model {spec!r}: no such folder")
    return _hub_snapshot(spec)


def _hub_snapshot(repo_id: str) -> Path:
    from huggingface_hub import snapshot_download

    # Fail in seconds rather than minutes when the Hub cannot be reached.
    os.environ.setdefault("HF_HUB_ETAG_TIMEOUT", "5")
    os.environ.setdefault("HF_HUB_DOWNLOAD_TIMEOUT", "10")
    try:
        return Path(snapshot_download(repo_id, local_files_only=_offline()))
    except Exception as exc:
        mode = (
            "HF_HUB_OFFLINE is set and it is not in the local Hub cache"
            if _offline()
            else ("the Hugging Face Hub could not be reached or has no such repository")
        )
        raise UserError(
            f"model {repo_id!r}: tried 'default', a local folder and the Hub id; {mode} "
            f"({type(exc).__name__}). Use `default`, a local model folder, or go online "
            "(unset HF_HUB_OFFLINE) to download it."
        ) from None


def load_model(spec: str, *, device: str | None = None, **kwargs) -> SentenceTransformer:
    """Load `spec` as a SentenceTransformer (a plain transformers folder gets mean pooling)."""
    from sentence_transformers import SentenceTransformer

    path = resolve_model(spec)
    try:
        return SentenceTransformer(str(path), device=device, local_files_only=True, **kwargs)
    except Exception as exc:
        raise UserError(
            f"model {spec!r}: the folder {path} does not load: {type(exc).__name__}: {exc}"
        ) from None
