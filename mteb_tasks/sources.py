"""Where a task's data lives: `metadata.dataset["path"]` of every embedkit task is one of

- `${shared}/FOLDER` — the public data folder (`embedkit.paths.shared_data_dir()`, overridable by
EMBEDKIT_SHARED_DATA);
- `package:MODULE[/PATH]` — a file or folder shipped inside an installed registry package;
- a local path (absolute, or starting with `.` or `~`);
- `ORG/NAME` — a Hugging Face Hub dataset repository holding the same files (downloaded with huggingface_hub;
  offline it fails in seconds with a clear message).
"""

from __future__ import annotations

import os
from pathlib import Path

from embedkit.errors import UserError

SHARED_PREFIX = "${shared}/"
PACKAGE_PREFIX = "package:"


def _offline() -> bool:
    return any(
        os.environ.get(name, "").lower() in {"1", "true", "yes", "on"}
        for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
    )


def is_hub_id(spec: str) -> bool:
    return (
        spec.count("/") == 1
        and not spec.startswith((".", "/", "~", SHARED_PREFIX, PACKAGE_PREFIX))
        and not Path(spec).exists()
    )


def resolve_source(spec: str, *, task: str = "") -> Path:
    """Return the local path holding `spec`'s files (downloading a Hub dataset if needed)."""
    who = f"task {task}: " if task else ""
    if spec.startswith(SHARED_PREFIX):
        from embedkit.paths import shared_data_dir

        root = shared_data_dir()
        path = root / spec.removeprefix(SHARED_PREFIX)
        if not root.is_dir():
            raise UserError(
                f"{who}needs the shared data folder {root}, which does not exist "
                "(set EMBEDKIT_SHARED_DATA to its location, or use a suite built from registry packages: "
                "demo-registry)"
            )
        if not path.exists():
            raise UserError(f"{who}{path} does not exist (is {root} a complete copy of the shared data?)")
        return path
    if spec.startswith(PACKAGE_PREFIX):
        return _package_path(spec.removeprefix(PACKAGE_PREFIX), who)
    if is_hub_id(spec):
        return _hub_dataset(spec, who)
    path = Path(spec).expanduser()
    if not path.exists():
        raise UserError(f"{who}data path {path} does not exist")
    return path


def _package_path(spec: str, who: str) -> Path:
    from embedkit.paths import package_path

    module, _, inner = spec.partition("/")
    try:
        base = package_path(module)
    except UserError as exc:
        raise UserError(
            f"{who}{exc}; `make setup` installs the registry packages embedkit reads data from"
        ) from None
    path = base / inner if inner else base
    if not path.exists():
        raise UserError(f"{who}{path} is missing from the installed {module!r} package")
    return path


def _hub_dataset(repo_id: str, who: str) -> Path:
    from huggingface_hub import snapshot_download

    os.environ.setdefault("HF_HUB_ETAG_TIMEOUT", "5")
    os.environ.setdefault("HF_HUB_DOWNLOAD_TIMEOUT", "10")
    try:
        return Path(snapshot_download(repo_id, repo_type="dataset", local_files_only=_offline()))
    except Exception as exc:
        why = (
            "HF_HUB_OFFLINE is set and it is not in the local Hub cache"
            if _offline()
            else "the Hugging Face Hub could not be reached or has no such dataset"
        )
        raise UserError(
            f"{who}dataset {repo_id!r}: {why} ({type(exc).__name__}); go online, or pass a local copy"
        ) from None
