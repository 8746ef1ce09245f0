"""Where things live: the embedkit cache, the shared real-data folder, and installed packages' files."""

from __future__ import annotations

import importlib.machinery
import os
import re
import sys
from importlib.machinery import ModuleSpec
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def embedkit_home() -> Path:
    """Cache root: $EMBEDKIT_HOME, else the user's cache dir (~/.cache/embedkit)."""
    env = os.environ.get("EMBEDKIT_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("embedkit"))


def shared_data_dir() -> Path:
    """The public test/training sets: $EMBEDKIT_SHARED_DATA, else ../shared/data beside the repo."""
    env = os.environ.get("EMBEDKIT_SHARED_DATA")
    return Path(env).expanduser() if env else REPO_ROOT.parent / "shared" / "data"


def _search_path() -> list[str]:
    """sys.path without the current working folder (`""`, `.`, or the cwd that `python -m`/`-c` put first),
    unless PYTHONPATH names it explicitly."""
    cwd = Path.cwd().resolve()
    explicit = {Path(p).resolve() for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p}
    kept = []
    for entry in sys.path:
        if entry in ("", "."):
            continue
        try:
            resolved = Path(entry).resolve()
        except OSError:
            continue
        if resolved == cwd and resolved not in explicit:
            continue
        kept.append(entry)
    return kept


def _locate_top_level(name: str) -> ModuleSpec | None:
    """The spec of top-level module `name`, found the way `import` would but without running any code:
    sys.path (less the working folder) through PathFinder, then the other meta-path finders (editable
    installs). Locating a top-level name never executes a module; a dotted name would import its parent."""
    for finder in sys.meta_path:
        try:
            if finder is importlib.machinery.PathFinder:
                spec = importlib.machinery.PathFinder.find_spec(name, _search_path())
            elif hasattr(finder, "find_spec"):
                spec = finder.find_spec(name, None)
            else:
                continue
        except (ImportError, ValueError):
            continue
        if spec is not None:
            return spec
    return None


_MODULE_NAME = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


def package_path(name: str) -> Path:
    """Where installed module `name` (dotted allowed: `trainers.mlm`) lives: its folder for a package, its
    file for a single module. Imports nothing and never looks in the current working folder; raises
    UserError when `name` is not a module name or does not resolve."""
    from embedkit.errors import UserError

    if not _MODULE_NAME.match(name):
        raise UserError(f"package {name!r} is not a module name (expected NAME or NAME.SUB, e.g. libkural)")
    top, *rest = name.split(".")
    spec = _locate_top_level(top)
    if spec is None:
        raise UserError(f"package {name!r} is not installed (run `make setup`, or check the spelling)")
    if spec.submodule_search_locations:
        folders = [Path(p) for p in spec.submodule_search_locations]
        found: Path | None = folders[0]
    elif spec.origin and spec.has_location:
        folders, found = [], Path(spec.origin)
    else:
        raise UserError(f"package {name!r} has no files on disk (a built-in or frozen module)")
    for i, part in enumerate(rest):
        found = None
        for folder in folders:
            if (folder / part).is_dir():
                found, folders = folder / part, [folder / part]
                break
            if (folder / f"{part}.py").is_file() and i == len(rest) - 1:
                found, folders = folder / f"{part}.py", []
                break
        if found is None:
            where = ".".join([top, *rest[:i]])
            raise UserError(f"package {name!r}: {where} has no submodule {part!r}")
    return found
