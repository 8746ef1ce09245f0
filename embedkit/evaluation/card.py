"""Model cards for trained runs: README.md with Hugging Face YAML front matter (languages, licence, tags,
base model, and a `model-index` built from the run's MTEB result files) and a body with the evaluation tables,
the training recipe, the stages, and the provenance and licences of the training data."""

from __future__ import annotations

import importlib.metadata
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from corpora import yamlfile
from embedkit.errors import UserError
from embedkit.evaluation.results import EvalResults, ModelScores, TaskInfo
from mteb_tasks.languages import iso1

DEFAULT_BASE = "intfloat/multilingual-e5-small"  # what embedkit's `default` model is (dequantised)
DEFAULT_BASE_LICENSE = "mit"
TAGS = ["sentence-transformers", "sentence-similarity", "feature-extraction", "mteb", "embedkit"]
_NON_COMMERCIAL = re.compile(r"\bNC\b|non-?commercial|research[- ]only", re.IGNORECASE)


@dataclass
class DataSource:
    kind: str
    languages: list[str]
    rows: int | None
    inputs: list[dict[str, str]]  # {name, sha256, licence}


def base_model_id(run: dict[str, Any]) -> str:
    base = run.get("base_model") or "default"
    spec = base.get("spec", "default") if isinstance(base, dict) else str(base)
    return DEFAULT_BASE if spec == "default" else spec


def _provenance_licence(path: Path) -> str | None:
    """The licence line of the PROVENANCE.md next to a shared-data file (first one found going up)."""
    for folder in [path.parent, *path.parents][:4]:
        provenance = folder / "PROVENANCE.md"
        if provenance.is_file():
            text = provenance.read_text(encoding="utf-8")
            section = re.search(r"^##\s*Licen[cs]e[^\n]*\n+(.+?)(?:\n\n|\n##|\Z)", text, re.M | re.S)
            if section:
                bold = re.findall(r"\*\*(.+?)\*\*", section.group(1))
                line = " ".join(section.group(1).split())
                return " / ".join(bold[:2]) if bold else line[:120]
            return None
    return None


def _package_licence(path: Path) -> str | None:
    """The License of the installed distribution a file ships in."""
    for dist in importlib.metadata.distributions():
        root = Path(dist.locate_file(""))
        try:
            relative = path.resolve().relative_to(root.resolve())
        except ValueError:
            continue
        files = {str(f) for f in dist.files or []}
        if str(relative) in files:
            licence = dist.metadata.get("License") or "licence not stated"
            return f"{dist.metadata['Name']} {dist.version}: {licence}"
    return None


def input_licence(entry: dict[str, Any]) -> str:
    for key in ("license", "licence"):
        if entry.get(key):
            return str(entry[key])
    if entry.get("hub"):
        return f"see https://huggingface.co/datasets/{entry['hub']}"
    path = Path(str(entry.get("path", "")))
    return _provenance_licence(path) or _package_licence(path) or "unknown"


def data_sources(run: dict[str, Any]) -> list[DataSource]:
    sources = []
    for manifest in run.get("data") or []:
        inputs = []
        for entry in manifest.get("inputs") or []:
            entry = entry if isinstance(entry, dict) else {"path": str(entry)}
            name = entry.get("hub") or Path(str(entry.get("path", "?"))).name
            parent = Path(str(entry.get("path", ""))).parent.name
            inputs.append(
                {
                    "name": f"{parent}/{name}" if parent and not entry.get("hub") else name,
                    "sha256": str(entry.get("sha256", ""))[:12],
                    "licence": input_licence(entry),
                }
            )
        langs = manifest.get("languages") or []
        sources.append(
            DataSource(
                kind=str(manifest.get("kind", "?")),
                languages=[langs] if isinstance(langs, str) else list(langs),
                rows=manifest.get("rows_out"),
                inputs=inputs,
            )
        )
    return sources


def pick_model(results: EvalResults, revision: str, default_prompt: str | None) -> ModelScores:
    """This run's model among the evaluated ones (matched by content revision), under its default prompt."""
    mine = [m for m in results.models if m.revision == revision]
    if not mine:
        seen = ", ".join(f"{m.label} ({m.revision})" for m in results.models) or "none"
        raise UserError(
            f"{results.out}: no results for this run's model (revision {revision}); results there are for: "
            f"{seen}. "
            f"Evaluate it first: embedkit eval default RUN_DIR/model --suite NAME --out {results.out}"
        )
    for model in mine:
        if model.prompt == (default_prompt or "none"):
            return model
    return sorted(mine, key=lambda m: m.prompt)[0]


def eval_results(model: ModelScores, tasks: dict[str, TaskInfo]) -> list:
    """huggingface_hub EvalResult entries (the card's model-index): one per task and language, main score
    ×100."""
    import mteb
    from huggingface_hub import EvalResult

    items = []
    for task, subsets in model.scores.items():
        info = tasks[task]
        dataset = info.dataset if info.dataset.count("/") == 1 and ":" not in info.dataset else info.reference
        for subset, value in subsets.items():
            items.append(
                EvalResult(
                    task_type=info.type or "Other",
                    dataset_type=dataset or task,
                    dataset_name=f"{task} ({subset})",
                    dataset_config=subset,
                    dataset_split=info.split,
                    dataset_revision=info.revision or None,
                    metric_type=info.main_score,
                    metric_value=round(value, 4),
                    source_name=f"embedkit eval (mteb {mteb.__version__}, prompt {model.prompt})",
                    source_url="https://github.com/embeddings-benchmark/mteb",
                )
            )
    return items


def _languages(model: ModelScores, tasks: dict[str, TaskInfo], sources: list[DataSource]) -> list[str]:
    codes: list[str] = []
    for source in sources:
        for lang in source.languages:
            codes.extend(str(lang).split("-"))
    for task, subsets in model.scores.items():
        for subset in subsets:
            codes.extend(tasks[task].languages.get(subset, []))
    return sorted({iso1(code) for code in codes if code})


def _summary_table(model: ModelScores, others: list[ModelScores], tasks: dict[str, TaskInfo]) -> str:
    """Task means: this model, every other model at each prompt, and the change against each other
    model at its best prompt for the task."""
    if not others:
        return ""
    groups: dict[tuple[str, str], list[ModelScores]] = {}
    for other in others:
        groups.setdefault((other.name, other.revision), []).append(other)
    header = ["task", "this model", *(o.label for o in others)]
    header += [f"Δ vs {name}, best prompt" for name, _revision in groups]
    lines = ["### Summary", "", "Main score ×100, mean over each task's subsets.", ""]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for task in model.scores:
        mine = model.task_mean(task)
        cells = [task, _cell(mine), *(_cell(o.task_mean(task)) for o in others)]
        for members in groups.values():
            scored = [(v, o.prompt) for o in members if (v := o.task_mean(task)) is not None]
            best = max(scored, default=None)
            cells.append("–" if best is None or mine is None else f"{mine - best[0]:+.2f} ({best[1]})")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _cell(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _eval_tables(model: ModelScores, others: list[ModelScores], tasks: dict[str, TaskInfo]) -> str:
    lines = []
    for task, subsets in model.scores.items():
        info = tasks[task]
        header = ["subset", "this model", *(o.label for o in others), *(f"Δ vs {o.label}" for o in others)]
        lines += [f"### {task}", "", f"{info.type}, {info.main_score} ×100 (split `{info.split}`).", ""]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for subset, value in subsets.items():
            base = [o.scores.get(task, {}).get(subset) for o in others]
            cells = [f"{value:.2f}", *("–" if b is None else f"{b:.2f}" for b in base)]
            cells += ["–" if b is None else f"{value - b:+.2f}" for b in base]
            lines.append("| " + " | ".join([subset, *cells]) + " |")
        lines.append("")
    return "\n".join(lines)


def _data_section(sources: list[DataSource]) -> str:
    if not sources:
        return "No training data manifests were recorded in run.json.\n"
    lines = ["| kind | languages | rows | input | sha256 | licence |", "|---|---|---|---|---|---|"]
    restricted = False
    for source in sources:
        for i, entry in enumerate(source.inputs or [{"name": "?", "sha256": "", "licence": "unknown"}]):
            restricted |= bool(_NON_COMMERCIAL.search(entry["licence"]))
            first = i == 0
            lines.append(
                f"| {source.kind if first else ''} | {', '.join(source.languages) if first else ''} | "
                f"{source.rows if first and source.rows is not None else ''} | {entry['name']} | "
                f"`{entry['sha256']}` | {entry['licence']} |"
            )
    if restricted:
        lines += ["", "**Note:** some training data is under a non-commercial or research-only licence; "
                  "check that the model licence and your use are compatible with it."]  # fmt: skip
    return "\n".join(lines) + "\n"


def _stages_section(run: dict[str, Any]) -> str:
    stages = run.get("stages") or []
    if not stages:
        return ""
    lines = ["| stage | type | loss | steps | wall time (s) | metrics |", "|---|---|---|---|---|---|"]
    for stage in stages:
        metrics = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                            for k, v in (stage.get("metrics") or {}).items())  # fmt: skip
        lines.append(
            f"| {stage.get('name', '')} | {stage.get('type', '')} | {stage.get('loss') or ''} | "
            f"{stage.get('steps', '')} | {stage.get('wall_time_s', '')} | {metrics} |"
        )
    return "\n".join(lines) + "\n"


def build_card(
    run: dict[str, Any],
    results: EvalResults,
    model: ModelScores,
    *,
    name: str,
    license: str,
    dim: int | None = None,
) -> str:
    """The README.md text: YAML front matter (parsable, with model-index) and the markdown body."""
    from huggingface_hub import ModelCard, ModelCardData

    sources = data_sources(run)
    # every other evaluated model under every prompt it was scored with (e.g. the base with and without
    # its prompt): "better than the base" is read against the base at its best prompt
    others = [m for m in results.models if m.revision != model.revision]
    card_data = ModelCardData(
        model_name=name,
        base_model=base_model_id(run),
        language=_languages(model, results.tasks, sources),
        license=license,
        library_name="sentence-transformers",
        pipeline_tag="sentence-similarity",
        tags=list(TAGS),
        eval_results=eval_results(model, results.tasks),
    )
    prompt_line = (
        f'Every text was encoded with the prompt "{model.prompt_text}" (prompt name `{model.prompt}`).'
        if model.prompt != "none"
        else "Texts were encoded without a prompt."
    )
    prompt_arg = f", prompt_name={model.prompt!r}" if model.prompt != "none" else ""
    recipe = yaml.safe_dump(run.get("recipe") or {}, sort_keys=False, allow_unicode=True).strip()
    versions = ", ".join(f"{k} {v}" for k, v in (run.get("versions") or {}).items() if v)
    body = f"""
# {name}

A sentence-embedding model fine-tuned from [{base_model_id(run)}](https://huggingface.co/{base_model_id(run)})
with embedkit (sentence-transformers). It maps sentences and words to {dim or "dense"}-dimensional
vectors for semantic similarity, retrieval and bitext mining.

## Usage

```python
from sentence_transformers import SentenceTransformer

model = SentenceTransformer("{name}")
embeddings = model.encode(["...", "..."]{prompt_arg})
```

## Evaluation

MTEB tasks run with `embedkit eval` through mteb's own evaluators; scores are each task's main score ×100.
{prompt_line}{" Compared with: " + ", ".join(o.label for o in others) + "." if others else ""}

{_summary_table(model, others, results.tasks)}
{_eval_tables(model, others, results.tasks)}
## Training

Stages (from run.json):

{_stages_section(run)}
Recipe (resolved):

```yaml
{recipe}
```

Seed {run.get("seed")}, wall time {run.get("wall_time_s")} s, git revision `{run.get("git_revision")}`.
Versions: {versions}.

## Training data

Provenance from the corpus manifests recorded in run.json; licences from each source's PROVENANCE.md or
package metadata.

{_data_section(sources)}"""
    card = ModelCard(f"---\n{card_data.to_yaml()}\n---\n{body}")  # validates the front matter
    return str(card)


def front_matter(card_text: str) -> dict[str, Any]:
    """The parsed YAML front matter of a card."""
    match = re.match(r"^---\n(.*?)\n---\n", card_text, re.S)
    if not match:
        raise ValueError("no YAML front matter")
    return yamlfile.load(match.group(1))


def model_index_values(card_text: str) -> dict[tuple[str, str], float]:
    """{(dataset name, metric type): value} of the card's model-index (for checks)."""
    values = {}
    for entry in front_matter(card_text)["model-index"][0]["results"]:
        for metric in entry["metrics"]:
            values[(entry["dataset"]["name"], metric["type"])] = metric["value"]
    return values
