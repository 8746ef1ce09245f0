"""The README's quick start, run as written: every shell command of its fenced block, in order.

Only the documented variables are substituted: `D` (the folder of the user's files) points at a folder
holding the first rows of the same real STSb Hindi files under the same names, so the run stays short,
and `OUT` (the output folder) at a temporary folder."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from embedkit.paths import REPO_ROOT

README = REPO_ROOT / "README.md"
HEADING = "## Quick start"
VARIABLES = ("D", "OUT")
TRAIN_ROWS, TEST_ROWS = 600, 200  # 400 training pairs after the recipe's 200-pair dev holdout


def quickstart_block(text: str) -> list[str]:
    """The lines of the first fenced code block under the quick start heading."""
    section = text.split(f"\n{HEADING}", 1)[1]
    section = section.split("\n## ", 1)[0]
    match = re.search(r"```(?:bash|sh)\n(.*?)\n```", section, re.S)
    assert match, f"no ```bash block under {HEADING!r} in README.md"
    return [line for line in match.group(1).splitlines() if line.strip()]


def documented_variables(line: str) -> dict[str, str]:
    """`D=... OUT=...`: the block's first line names the variables a user substitutes."""
    words = shlex.split(line, comments=True)
    found = dict(word.split("=", 1) for word in words if "=" in word)
    assert len(found) == len(words) and set(found) == set(VARIABLES), line
    return found


def test_readme_quick_start_block_is_short_and_names_its_variables():
    lines = quickstart_block(README.read_text(encoding="utf-8"))
    assert len(lines) <= 6
    documented_variables(lines[0])
    assert [line.split()[:2] for line in lines[1:]] == [
        ["embedkit", "corpus"],
        ["embedkit", "corpus"],
        ["embedkit", "train"],
        ["embedkit", "eval"],
        ["embedkit", "publish"],
    ]


def head(source: Path, target: Path, rows: int) -> None:
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    target.write_text("".join(lines[:rows]), encoding="utf-8")


@pytest.mark.slow
def test_readme_quick_start_runs_as_written(tmp_path, shared_data):
    lines = quickstart_block(README.read_text(encoding="utf-8"))
    documented = documented_variables(lines[0])
    source = REPO_ROOT / documented["D"]  # the example's own data folder, relative to the repo root
    if not source.is_dir():  # EMBEDKIT_SHARED_DATA points elsewhere
        source = shared_data / Path(documented["D"]).relative_to("../shared/data")
    data = tmp_path / "data"
    data.mkdir()
    head(source / "sts-train-hi.tsv", data / "sts-train-hi.tsv", TRAIN_ROWS)
    head(source / "sts-test-hi.tsv", data / "sts-test-hi.tsv", TEST_ROWS)
    out = tmp_path / "out"
    env = {
        **os.environ,
        "D": str(data),
        "OUT": str(out),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }
    for line in lines[1:]:
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", line],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        assert done.returncode == 0, f"{line}\nexit {done.returncode}\n{done.stderr[-3000:]}"

    from embedkit.evaluation.card import model_index_values

    scores = model_index_values((out / "model" / "README.md").read_text(encoding="utf-8"))
    assert scores and all(0 < value <= 100 for value in scores.values()), scores
    assert (out / "model" / "modules.json").is_file()
    assert (out / "run" / "eval" / "report.md").is_file()
