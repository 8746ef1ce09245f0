"""OUT/report.md and OUT/report.html: a summary table of task means, one table per task with a row per
language (deltas against the first model when there are several), the plots from OUT/plots/, failures and run
details."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path

from embedkit.atomic import write_text_atomic
from embedkit.evaluation.plots import write_plots
from embedkit.evaluation.results import EvalResults, load_eval


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    delta_columns: set[int] = field(default_factory=set)  # coloured by sign in HTML


@dataclass
class Section:
    title: str
    text: str = ""
    table: Table | None = None
    images: list[str] = field(default_factory=list)  # paths relative to OUT


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _fmt_delta(value: float | None, base: float | None) -> str:
    return "–" if value is None or base is None else f"{value - base:+.2f}"


def _columns(results: EvalResults) -> tuple[list[str], set[int]]:
    models = results.models
    header = [m.label for m in models]
    header += [f"Δ {m.label}" for m in models[1:]]
    return header, set(range(len(models), len(header)))


def _values(results: EvalResults, values: list[float | None]) -> list[str]:
    base = values[0] if values else None
    return [_fmt(v) for v in values] + [_fmt_delta(v, base) for v in values[1:]]


def best_prompt_section(results: EvalResults) -> Section | None:
    """When the baseline was scored under several prompts: every other model (at each of its prompts)
    against the baseline at its best prompt, task by task. None when there is nothing to compare."""
    base = results.models[0]
    same = [m for m in results.models if (m.name, m.revision) == (base.name, base.revision)]
    others = [m for m in results.models if (m.name, m.revision) != (base.name, base.revision)]
    if len(same) < 2 or not others:
        return None
    rows = []
    for task, info in results.tasks.items():
        scored = [(value, m.prompt) for m in same if (value := m.task_mean(task)) is not None]
        if not scored:
            continue
        best, prompt = max(scored)
        values = [m.task_mean(task) for m in others]
        rows.append(
            [task, info.main_score, f"{best:.2f} ({prompt})", *map(_fmt, values)]
            + [_fmt_delta(v, best) for v in values]
        )
    header = ["task", "metric", f"{base.name}, best prompt"]
    header += [m.label for m in others] + [f"Δ {m.label}" for m in others]
    first_delta = 3 + len(others)
    return Section(
        "Against the baseline at its best prompt",
        f"For each task, {base.name} under whichever of its evaluated prompts "
        f"({', '.join(m.prompt for m in same)}) scores higher; Δ: the other models against that score.",
        Table(header, rows, set(range(first_delta, len(header)))),
    )


def build_sections(results: EvalResults, plots: dict[str, Path]) -> list[Section]:
    out = results.out
    header, deltas = _columns(results)
    offset = 3
    sections = []
    summary_rows = []
    for task, info in results.tasks.items():
        means = [m.task_mean(task) for m in results.models]
        summary_rows.append([task, info.type, info.main_score, *_values(results, means)])
    baseline = (
        f" Δ columns: change against {results.models[0].label} (the first model)."
        if len(results.models) > 1
        else ""
    )
    sections.append(
        Section(
            "Summary",
            "Main score ×100, averaged over the languages (subsets) of each task." + baseline,
            Table(["task", "type", "metric", *header], summary_rows, {d + offset for d in deltas}),
            [str(plots[k].relative_to(out)) for k in ("summary", "summary-delta") if k in plots],
        )
    )
    if best := best_prompt_section(results):
        sections.append(best)
    for task, info in results.tasks.items():
        subsets = list(dict.fromkeys(s for m in results.models for s in m.scores.get(task, {})))
        rows = []
        for subset in subsets:
            values = [m.scores.get(task, {}).get(subset) for m in results.models]
            rows.append([subset, ", ".join(info.languages.get(subset, [])), *_values(results, values)])
        where = f" Data: `{info.dataset}` ({info.revision})." if info.dataset else ""
        sections.append(
            Section(
                f"{task}",
                f"{info.type} — {info.main_score} ×100 on split `{info.split}`.{where}",
                Table(["subset", "languages", *header], rows, {d + 2 for d in deltas}),
                [str(plots[k].relative_to(out)) for k in (task, f"{task}-delta") if k in plots],
            )
        )
    if results.failures:
        rows = [[f["task"], f["model"], f["error"]] for f in results.failures]
        sections.append(
            Section(
                "Failures",
                "These tasks failed; the other results are complete.",
                Table(["task", "model", "error"], rows),
            )
        )
    model_rows = []
    run_models = {(m["name"], m["revision"], m["prompt_name"]): m for m in results.run.get("models", [])}
    for m in results.models:
        record = run_models.get((m.name, m.revision, m.prompt), {})
        encoded = f"{record['texts_encoded']} / {record['texts_requested']}" if record else "–"
        model_rows.append(
            [
                m.label,
                m.revision,
                repr(m.prompt_text) if record else m.prompt,
                record.get("folder", "–"),
                encoded,
            ]
        )
    wall = results.run.get("wall_time_s")
    sections.append(
        Section(
            "Models and run",
            "Every text of a run gets the same prompt; compare models only under the same prompt. "
            "Texts encoded / requested: distinct texts the model encoded vs texts mteb asked for."
            + (f" Last run wall time: {wall:.0f} s." if wall is not None else ""),
            Table(["model", "revision", "prompt", "folder", "texts encoded / requested"], model_rows),
        )
    )
    return sections


def render_markdown(title: str, sections: list[Section]) -> str:
    lines = [f"# {title}", ""]
    for section in sections:
        lines += [f"## {section.title}", ""]
        if section.text:
            lines += [section.text, ""]
        if section.table:
            table = section.table
            lines.append("| " + " | ".join(table.header) + " |")
            lines.append("|" + "|".join("---" for _ in table.header) + "|")
            lines += [
                "| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in table.rows
            ]
            lines.append("")
        for image in section.images:
            lines += [f"![{Path(image).stem}]({image})", ""]
    return "\n".join(lines)


_CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}th{background:#f3f3f3}.gain{color:#2e7d32;font-weight:600}
.loss{color:#c62828;font-weight:600}img{max-width:100%;display:block;margin:.5em 0}code{background:#f3f3f3}"""


def render_html(title: str, sections: list[Section]) -> str:
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"]  # fmt: skip
    for section in sections:
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        if section.text:
            text = re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(section.text))
            parts.append(f"<p>{text}</p>")
        if section.table:
            table = section.table
            parts.append(
                "<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in table.header) + "</tr>"
            )
            for row in table.rows:
                cells = []
                for i, cell in enumerate(row):
                    cls = ""
                    if i in table.delta_columns and cell not in {"–", "+0.00", "-0.00"}:
                        cls = " class='gain'" if cell.startswith("+") else " class='loss'"
                    cells.append(f"<td{cls}>{html.escape(cell)}</td>")
                parts.append("<tr>" + "".join(cells) + "</tr>")
            parts.append("</table>")
        for image in section.images:
            parts.append(f"<a href='{(src := html.escape(image))}'><img src='{src}' alt='{src}'></a>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(out: Path, title: str = "Evaluation report") -> Path:
    """Write OUT/report.md, OUT/report.html and OUT/plots/*.png from OUT/results/; returns the markdown
    path."""
    results = load_eval(out)
    plots = write_plots(results, out / "plots")
    sections = build_sections(results, plots)
    write_text_atomic(out / "report.html", render_html(title, sections))
    write_text_atomic(out / "report.md", render_markdown(title, sections))
    return out / "report.md"
