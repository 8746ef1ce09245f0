"""Write to a temp path beside the target, then rename: readers never see half-written output."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from embedkit.errors import UserError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def apply_umask(path: Path, *, directory: bool) -> None:
    """mkstemp/mkdtemp create 0600/0700; give the finished output the mode a plain open/mkdir would."""
    os.chmod(path, (0o777 if directory else 0o666) & ~_umask())


def apply_umask_tree(root: Path) -> None:
    """`apply_umask` for a folder and everything in it that was created private (libraries write some
    files through mkstemp too: transformers' model.safetensors comes out 0600). Executable bits stay."""
    mask = _umask()
    for folder, _subfolders, files in os.walk(root):
        os.chmod(folder, 0o777 & ~mask)
        for name in files:
            path = os.path.join(folder, name)
            if os.path.islink(path):
                continue
            mode = os.stat(path).st_mode
            os.chmod(path, (0o666 | (mode & 0o111)) & ~mask)


def check_output_path(path: str | Path, option: str, *, kind: str = "folder") -> Path:
    """Fail before any long work when `path` cannot become the output `kind` ("folder" or "file").

    Refuses: a file where a folder is wanted and the reverse, a parent that is a file, a location that is
    not writable (tested by creating and removing a temp file there). Creates nothing that stays.
    """
    path = Path(path)
    if kind == "folder" and path.exists() and not path.is_dir():
        raise UserError(f"{option} {path} is an existing file, not a folder (choose another {option})")
    if kind == "file" and path.is_dir():
        raise UserError(f"{option} {path} is a folder (give a file path for {option})")
    parent = path if (kind == "folder" and path.is_dir()) else path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise UserError(f"{option} {path}: {parent} is a file, not a folder (choose another {option})")
    try:  # os.access is not enough (root, read-only mounts, ACLs): try to create a file there
        with tempfile.TemporaryFile(prefix=".embedkit-write-check-", dir=parent):
            pass
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise UserError(
            f"{option} {path}: cannot write in {parent} ({why}; choose a writable {option})"
        ) from None
    return path


@contextmanager
def atomic_dir(target: str | Path, *, replace: bool = False) -> Iterator[Path]:
    """Yield a fresh temp folder; on success it becomes `target`, on error it is removed.

    With replace=False an existing target is left alone and the new folder is discarded
    (a concurrent builder got there first); with replace=True the old folder is swapped out.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    apply_umask_tree(tmp)
    if target.exists():
        if not replace:
            shutil.rmtree(tmp, ignore_errors=True)
            return
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.rename(target, old / "x")
        os.rename(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        try:
            os.rename(tmp, target)
        except OSError:  # lost a race to another writer: keep theirs
            shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def atomic_file(target: str | Path) -> Iterator[Path]:
    """Yield a temp file path beside `target`; renamed over it on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.tmp-", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        apply_umask(tmp, directory=False)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text_atomic(target: str | Path, text: str) -> None:
    with atomic_file(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
