"""`--set key.path=value` overrides on a recipe mapping, applied before validation.

A path is dotted; list items are picked by index (``stages.0.lr``) or by stage name (``stages.sts.lr``).
The value is read as YAML (``2e-5``, ``true``, ``[hi, mr]``, ``null``).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

import yaml

from corpora import yamlfile
from embedkit.errors import UserError

_FLOAT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)$")  # YAML 1.1 reads 2e-5 as a string


@dataclass(frozen=True)
class Override:
    text: str
    path: tuple[str | int, ...]
    value: Any


def parse_overrides(items: list[str]) -> list[Override]:
    parsed = []
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--set {item}: expected KEY=VALUE, e.g. --set stages.0.lr=2e-5")
        parts = key.strip().split(".")
        if any(not part for part in parts):
            raise UserError(f"--set {item}: empty part in key {key!r}")
        try:
            value = float(raw) if _FLOAT.match(raw.strip()) else yamlfile.load(raw)
        except yaml.YAMLError as exc:
            raise UserError(f"--set {item}: value is not valid YAML ({exc})") from None
        parsed.append(Override(item, tuple(parts), value))
    return parsed


def apply_overrides(
    data: dict[str, Any], overrides: list[Override], source: str = "recipe"
) -> dict[str, Any]:
    """Return a copy of `data` with each override applied; the Override paths get list indices resolved."""
    data = copy.deepcopy(data)
    for position, override in enumerate(overrides):
        node: Any = data
        resolved: list[str | int] = []
        for depth, part in enumerate(override.path):
            last = depth == len(override.path) - 1
            if isinstance(node, list):
                index = _list_index(node, part, override, resolved)
                resolved.append(index)
                if last:
                    node[index] = override.value
                else:
                    node = node[index]
            elif isinstance(node, dict):
                resolved.append(part)
                if last:
                    node[part] = override.value
                else:
                    node = node.setdefault(part, {})
            else:
                where = ".".join(map(str, resolved))
                raise UserError(
                    f"--set {override.text}: {where} is a value, not a mapping or list in {source}"
                )
        overrides[position] = Override(override.text, tuple(resolved), override.value)
    return data


def _list_index(node: list, part: str, override: Override, resolved: list) -> int:
    if part.lstrip("-").isdigit():
        index = int(part)
        if not -len(node) <= index < len(node):
            where = ".".join(map(str, resolved))
            raise UserError(f"--set {override.text}: {where} has {len(node)} items, no index {index}")
        return index % len(node)
    names = [item.get("name") or item.get("type") if isinstance(item, dict) else None for item in node]
    if part in names:
        return names.index(part)
    where = ".".join(map(str, resolved))
    raise UserError(
        f"--set {override.text}: {where} has no item named {part!r} (names: {names}); use an index"
    )
