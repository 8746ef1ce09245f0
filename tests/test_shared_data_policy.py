"""Tests that need ../shared/data skip without it on a developer's machine, and fail without it in CI
(EMBEDKIT_REQUIRE_SHARED_DATA=1, which .ci/run sets)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# a quick test that takes the `shared_data` fixture
NEEDS_DATA = "tests/test_lexical_bli.py::test_muse_split_rebuilt_here_matches_the_kit_task"


def run_pytest(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "EMBEDKIT_REQUIRE_SHARED_DATA"}
    environ.update(EMBEDKIT_SHARED_DATA=str(tmp_path / "no-such-folder"), **env)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", NEEDS_DATA],
        cwd=REPO_ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_missing_shared_data_skips_outside_ci(tmp_path):
    done = run_pytest(tmp_path)
    assert done.returncode == 0, done.stdout[-2000:]
    assert "1 skipped" in done.stdout and "no-such-folder not present" in done.stdout


def test_missing_shared_data_fails_when_required(tmp_path):
    done = run_pytest(tmp_path, EMBEDKIT_REQUIRE_SHARED_DATA="1")
    assert done.returncode == 1, done.stdout[-2000:]
    assert "1 error" in done.stdout or "1 failed" in done.stdout, done.stdout[-2000:]
    assert "EMBEDKIT_REQUIRE_SHARED_DATA is set" in done.stdout
