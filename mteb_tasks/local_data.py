"""Stock mteb tasks offline: run any installed mteb task from a local copy of its Hub dataset.

A copy lives at `DATA_DIR/<org>/<name>` (the task's `metadata.dataset["path"]`, e.g.
`DATA_DIR/mteb/tatoeba-bitext-mining`) and is either
- the Hub repository's files (a `git clone` or `huggingface_hub.snapshot_download` of it): the task loads them
with
  its own loader, only the path is swapped for the duration of the load; or
- a folder written by `datasets` `save_to_disk`: a DatasetDict of the eval splits, or for a multilingual task
one
  such folder per subset (`<copy>/<subset>/`).

`load_task_data` is the one place this happens: it loads the task's data before mteb runs it, so mteb keeps
the loaded data (it only unloads what it loaded itself) and every model of a run shares it.
"""

from __future__ import annotations

import os
from pathlib import Path

from mteb.abstasks.abstask import AbsTask
from mteb.abstasks.retrieval import AbsTaskRetrieval

from embedkit.errors import UserError
from mteb_tasks.abstasks import LocalDataTask


def is_stock(task: AbsTask) -> bool:
    """A task of the installed mteb that loads its data from the Hugging Face Hub."""
    return not isinstance(task, LocalDataTask)


def local_copy(task: AbsTask, data_dir: Path | None) -> Path | None:
    if data_dir is None or not is_stock(task):
        return None
    folder = data_dir / task.metadata.dataset["path"]
    return folder if folder.is_dir() else None


def _offline() -> bool:
    return any(
        os.environ.get(name, "").lower() in {"1", "true", "yes", "on"}
        for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
    )


def _in_hf_cache(repo_id: str) -> bool:
    import datasets.config
    from huggingface_hub import constants

    org, _, name = repo_id.partition("/")
    return (Path(constants.HF_HUB_CACHE) / f"datasets--{org}--{name}").is_dir() or (
        Path(datasets.config.HF_DATASETS_CACHE) / f"{org}___{name}"
    ).is_dir()


def check_hub_data(tasks: list[AbsTask], data_dir: Path | None) -> None:
    """Offline, fail before any work when a stock task has neither a local copy nor a cached download."""
    if not _offline():
        return
    missing = [
        task
        for task in tasks
        if is_stock(task)
        and local_copy(task, data_dir) is None
        and not _in_hf_cache(task.metadata.dataset["path"])
    ]
    if missing:
        names = ", ".join(f"{t.metadata.name} ({t.metadata.dataset['path']})" for t in missing[:8])
        more = f" and {len(missing) - 8} more" if len(missing) > 8 else ""
        where = f" under {data_dir}" if data_dir else ""
        raise UserError(
            f"{len(missing)} task(s) need Hugging Face Hub datasets that are neither cached nor "
            f"copied{where}: "
            f"{names}{more}. HF_HUB_OFFLINE is set: go online (unset HF_HUB_OFFLINE), or put local copies at "
            "--data-dir DIR/<org>/<name>."
        )


def load_task_data(task: AbsTask, data_dir: Path | None = None, num_proc: int | None = None) -> None:
    """Load `task`'s data now, from its local copy under `data_dir` when there is one."""
    if task.data_loaded:
        return
    folder = local_copy(task, data_dir)
    if folder is None:
        task.load_data(num_proc=num_proc)
    elif _is_saved_with_datasets(folder, task):
        _load_saved(task, folder)
    else:
        original = task.metadata
        task.metadata = original.model_copy(update={"dataset": {**original.dataset, "path": str(folder)}})
        try:
            task.load_data(num_proc=num_proc)
        finally:
            task.__dict__.pop("metadata", None)  # back to the class's published metadata
    task.data_loaded = True


def _is_saved_with_datasets(folder: Path, task: AbsTask) -> bool:
    return (folder / "dataset_dict.json").exists() or any(
        (folder / subset / "dataset_dict.json").exists() for subset in task.hf_subsets
    )


def _load_saved(task: AbsTask, folder: Path) -> None:
    from datasets import load_from_disk

    if isinstance(task, AbsTaskRetrieval):
        raise UserError(
            f"task {task.metadata.name}: retrieval data cannot be read from a save_to_disk folder "
            f"({folder}); "
            "copy the Hub repository's files there instead"
        )
    if task.metadata.is_multilingual:
        dataset = {}
        for subset in task.hf_subsets:
            if not (folder / subset / "dataset_dict.json").exists():
                raise UserError(
                    f"task {task.metadata.name}: {folder / subset} is missing; a saved multilingual copy "
                    f"needs one "
                    f"DatasetDict folder per subset ({', '.join(task.hf_subsets[:5])}...)"
                )
            dataset[subset] = load_from_disk(str(folder / subset))
        task.dataset = dataset
    else:
        task.dataset = load_from_disk(str(folder))
    task.dataset_transform()
