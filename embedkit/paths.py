"""Where things live: the embedkit cache and the shared real-data folder."""

from __future__ import annotations

import os
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
