"""The one YAML loader of the kit: `yaml.safe_load` semantics, but a mapping that repeats a key is an error.

PyYAML keeps the last of two equal keys without a word, so a recipe with `lr: 2e-5` and, further down the same
block, `lr: 9.0` trains at 9.0. Every recipe, corpus spec, `search.params` block and `--set` value is read
through `load` / `load_file` here.

`load` raises `yaml.YAMLError` (a duplicate is a `DuplicateKeyError`, a ConstructorError whose
`problem_mark` is the second occurrence), so callers that already turn YAML errors into placed errors keep
working; `load_file` does that itself and raises `InputError(path, line, ...)`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError

from embedkit.errors import InputError

_MERGE_TAG = "tag:yaml.org,2002:merge"


class DuplicateKeyError(ConstructorError):
    """A mapping holds the same key twice."""


class StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects a key given twice in one mapping (`<<` merge keys may still be overridden)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        if isinstance(node, yaml.MappingNode):
            first: dict[Any, yaml.Node] = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    earlier = first.get(key)
                except TypeError:  # an unhashable key: SafeLoader reports it below
                    continue
                if earlier is not None:
                    raise DuplicateKeyError(
                        "while reading a mapping",
                        node.start_mark,
                        f"duplicate key {key!r} (first given on line {earlier.start_mark.line + 1}; "
                        "keep only one)",
                        key_node.start_mark,
                    )
                first[key] = key_node
        return super().construct_mapping(node, deep=deep)


def load(text: str) -> Any:
    """Parse one YAML document like `yaml.safe_load`, refusing duplicate keys."""
    return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - StrictLoader is a SafeLoader


def error_line(exc: yaml.YAMLError) -> int | None:
    """The 1-based line a YAML error points at, if it has one."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return mark.line + 1 if mark is not None else None


def load_file(path: str | Path) -> Any:
    """Read and parse a YAML file; a syntax error or a duplicate key is an InputError naming path:line."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        return load(text)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(path, error_line(exc), f"not valid YAML: {problem}") from None
