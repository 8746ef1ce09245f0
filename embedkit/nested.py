"""Comparing nested JSON-like values (resolved recipes, study settings)."""

from __future__ import annotations

from typing import Any


def first_difference(a: Any, b: Any, path: str = "") -> str | None:
    """The dotted path of the first place where `a` and `b` differ (keys sorted, list items in order;
    '<root>' when they differ at the top), or None when they are equal."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            found = first_difference(a.get(key), b.get(key), f"{path}.{key}" if path else key)
            if found is not None:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if (found := first_difference(x, y, f"{path}[{i}]")) is not None:
                return found
        return None
    return None if a == b else (path or "<root>")
