"""mteb's result cache with two guarantees it lacks: every file is written temp-then-rename, and a damaged
cached file (0 bytes, truncated, not JSON, the wrong shape) is named in a warning and recomputed instead of
crashing the run.

mteb's `ResultCache.save_to_cache` writes the task result, `model_meta.json` and `run_settings.jsonl` with a
plain `open("w")`; a full disk leaves a 0-byte file that every later `load_results` trips over with a bare
JSONDecodeError. `AtomicResultCache` lets mteb write into a private staging cache beside OUT/results/ (same
file system) and then renames each finished file into place: the metadata first, the task result last, so a
result never exists without its metadata.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mteb.cache import ResultCache

from embedkit.atomic import write_text_atomic

if TYPE_CHECKING:
    from mteb.models.model_meta import ModelMeta
    from mteb.results import TaskResult

logger = logging.getLogger(__name__)

META_FILE = "model_meta.json"
DAMAGED_SUFFIX = ".damaged"
_STAGING_PREFIX = ".results-staging-"


class AtomicResultCache(ResultCache):
    """A local-only ResultCache whose writes are atomic and whose reads survive damaged files."""

    def save_to_cache(
        self,
        task_result: TaskResult,
        model_name: str | ModelMeta,
        model_revision: str | None = None,
        *,
        encode_kwargs: Any = None,
    ) -> None:
        target = self.get_task_result_path(
            model_name=model_name, model_revision=model_revision, task_name=task_result.task_name
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        staging_root = Path(tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=self.cache_path))
        try:
            staging = ResultCache(staging_root)
            staged = staging.get_task_result_path(
                model_name=model_name, model_revision=model_revision, task_name=task_result.task_name
            )
            staged.parent.mkdir(parents=True, exist_ok=True)
            settings = target.parent / "run_settings.jsonl"
            if settings.is_file():  # mteb merges new settings into the existing file
                shutil.copyfile(settings, staged.parent / settings.name)
            staging.save_to_cache(task_result, model_name, model_revision, encode_kwargs=encode_kwargs)
            written = sorted(staged.parent.iterdir(), key=lambda p: p.name == staged.name)
            for path in written:
                if path.is_file():
                    os.replace(path, target.parent / path.name)
        finally:
            shutil.rmtree(staging_root, ignore_errors=True)

    def load_task_result(self, task_name: str, model_name: str | ModelMeta, *args: Any, **kwargs: Any):
        try:
            return super().load_task_result(task_name, model_name, *args, **kwargs)
        except FileNotFoundError:
            raise
        except Exception as exc:  # a damaged file: mteb recomputes the result when we report none
            path = self.get_task_result_path(
                model_name=model_name, model_revision=kwargs.get("model_revision"), task_name=task_name
            )
            logger.warning("%s is damaged (%s); recomputing it", path, _reason(exc))
            set_aside(path)
            return None


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:200]


def set_aside(path: Path) -> Path | None:
    """Rename a damaged file to NAME.damaged (kept for inspection, invisible to mteb's *.json globs)."""
    if not path.exists():
        return None
    aside = path.with_name(path.name + DAMAGED_SUFFIX)
    os.replace(path, aside)
    return aside


def _check_meta(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise ValueError("not an mteb ModelMeta object (no name)")
    if not isinstance(data.get("revision"), str | None):
        raise ValueError("revision is not a string")


def _check_result(path: Path) -> None:
    from mteb.results import TaskResult

    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("scores"), dict):
        raise ValueError("not an mteb TaskResult object (no scores)")
    result = TaskResult.from_disk(path)
    for split, entries in result.scores.items():
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("main_score"), int | float):
                raise ValueError(f"split {split!r} has an entry without a numeric main_score")


def damaged_files(out: Path) -> list[tuple[Path, str]]:
    """Every JSON under OUT/results/ that does not load: (path, reason)."""
    found = []
    results = Path(out) / "results"
    if not results.is_dir():
        return found
    for path in sorted(results.rglob("*.json")):
        try:
            _check_meta(path) if path.name == META_FILE else _check_result(path)
        except Exception as exc:
            found.append((path, _reason(exc)))
    return found


def repair(cache: ResultCache, metas: Iterable[ModelMeta] = ()) -> list[Path]:
    """Before a run: set every damaged result aside (mteb then recomputes it) and rewrite the damaged
    `model_meta.json` of the models being evaluated. Each one is named in a warning; returns their paths."""
    own = {
        cache.get_task_result_path(task_name="x", model_name=meta).parent / META_FILE: meta for meta in metas
    }
    fixed = []
    for path, reason in damaged_files(cache.cache_path):
        if path in own:
            write_text_atomic(path, json.dumps(own[path].to_dict(), default=str, indent=4))
            logger.warning("%s was damaged (%s); rewrote it", path, reason)
        else:
            set_aside(path)
            logger.warning(
                "%s was damaged (%s); set aside as %s%s and recomputed where it is one of this run's results",
                path,
                reason,
                path.name,
                DAMAGED_SUFFIX,
            )
        fixed.append(path)
    return fixed


def read_json_or_warn(path: Path) -> dict | None:
    """A JSON object from `path`, or None (with a warning naming the file) when it is missing or damaged."""
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        logger.warning("%s is damaged (%s); ignoring it", path, _reason(exc))
        return None
    if not isinstance(data, dict):
        logger.warning("%s is not a JSON object; ignoring it", path)
        return None
    return data
