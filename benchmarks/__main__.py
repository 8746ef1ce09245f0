"""Run every benchmark module and print their rows as one table (and JSON with --json)."""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("names", nargs="*", help="benchmark modules to run (default: all)")
    parser.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    args = parser.parse_args()
    here = Path(__file__).parent
    modules = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.endswith("_bench"))
    if args.names:
        modules = [m for m in modules if m in args.names or m.removesuffix("_bench") in args.names]
    console = Console()
    rows: list[dict] = []
    for name in modules:
        started = time.time()
        console.print(f"[bold]{name}[/bold] ...")
        for row in importlib.import_module(f"benchmarks.{name}").run():
            rows.append({"module": name, **row})
        console.print(f"  done in {time.time() - started:.0f} s")
    columns = list(dict.fromkeys(key for row in rows for key in row))
    table = Table(title="embedkit benchmarks")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(_fmt(row.get(c)) for c in columns))
    console.print(table)
    if args.json:
        from embedkit.atomic import write_text_atomic

        write_text_atomic(args.json, json.dumps(rows, indent=2))
    return 0


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return "" if value is None else str(value)


if __name__ == "__main__":
    sys.exit(main())
