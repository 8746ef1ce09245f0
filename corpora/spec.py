"""Corpora declared in YAML (a training recipe names its data): build once, reuse from a cache keyed by
the spec and the sha256 of every file it reads."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from corpora.build import BUILDER_VERSION, MANIFEST, file_sha256, plan_build, run_plan
from corpora.records import user_error
from embedkit.errors import UserError
from embedkit.paths import package_path as installed_package_path
from embedkit.paths import shared_data_dir
from embedkit.progress import SILENT, Progress

SPEC_KEYS = ("kind", "inputs", "lang", "format", "skip_invalid", "num_proc")


_PACKAGE = re.compile(r"\$\{package:([^}]*)\}")


def package_path(name: str) -> str:
    """Where an installed module lives (its folder, or its file): found without importing anything."""
    try:
        return str(installed_package_path(name))
    except UserError as exc:
        raise UserError(f"${{package:{name}}}: {exc}") from None


def expand(value: Any) -> Any:
    """`${shared}` -> the shared real-data folder and `${package:NAME}` -> an installed module's folder
    (or file), in strings, also inside lists and mappings."""
    if isinstance(value, str):
        value = _PACKAGE.sub(lambda match: package_path(match.group(1)), value)
        return value.replace("${shared}", str(shared_data_dir()))
    if isinstance(value, list | tuple):
        return [expand(item) for item in value]
    if isinstance(value, dict):
        return {key: expand(item) for key, item in value.items()}
    return value


def build_from_spec(spec: dict, cache_dir: Path, progress: Progress = SILENT) -> Path:
    """Build (or reuse) the corpus a spec declares: `{kind, inputs, lang, format?, skip_invalid?,
    num_proc?, <options of the kind and format>...}`; returns the corpus folder under `cache_dir`."""
    missing = [key for key in ("kind", "inputs", "lang") if key not in spec]
    if missing:
        raise user_error(f"corpus spec lacks {', '.join(missing)}", "a spec needs kind, inputs and lang")
    resolved = expand(dict(spec))
    inputs = resolved["inputs"]
    inputs = [inputs] if isinstance(inputs, str) else list(inputs)
    options = {key: value for key, value in resolved.items() if key not in SPEC_KEYS}
    plan = plan_build(resolved["kind"], inputs, resolved["lang"], resolved.get("format"), **options)
    digest = hashlib.sha256()
    digest.update(
        json.dumps({"spec": spec, "builder_version": BUILDER_VERSION}, sort_keys=True, default=str).encode()
    )
    for role, inp in plan.files():
        digest.update(f"{role}:{inp.lang}:{file_sha256(Path(inp.path))}".encode())
    out = Path(cache_dir) / f"{plan.kind}-{digest.hexdigest()[:16]}"
    if (out / MANIFEST).is_file():
        return out
    return run_plan(
        plan,
        out,
        bool(resolved.get("skip_invalid", False)),
        num_proc=resolved.get("num_proc"),
        spec=dict(spec),
        replace=False,
        progress=progress,
    )
