"""Build a corpus folder: read records -> rows (streamed into Arrow on disk) -> per-row step and checks
(in `num_proc` workers) -> drop by reason and duplicates -> `save_to_disk` + manifest.json, written in
a temp folder and renamed, so a failed build leaves nothing behind."""

from __future__ import annotations

import json
import logging
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corpora.formats import FORMATS, Reader, detect_format
from corpora.kinds import KINDS, Builder, hash64
from corpora.languages import lang_code
from corpora.records import BuildContext, Input, Record, parse_input, user_error
from embedkit.atomic import atomic_dir, check_output_path, write_text_atomic
from embedkit.errors import EmbedkitError
from embedkit.files import sha256_file
from embedkit.progress import SILENT, Progress

if TYPE_CHECKING:
    from datasets import Dataset, Features

logger = logging.getLogger(__name__)

BUILDER_VERSION = "1"
CHECK_CHUNK = 10_000  # rows per per-row step call: the unit of progress
MANIFEST = "manifest.json"
DROP = "_drop"


@dataclass
class Plan:
    kind: str
    fmt: str
    langs: list[str]
    reader: Reader
    builder: Builder
    options: dict[str, Any]

    def files(self) -> list[tuple[str, Input]]:
        found = [
            ("input", Input(str(path), inp.lang))
            for path, inp in zip(self.reader.files(), self.reader.inputs, strict=False)
        ]
        return found + [(role, Input(str(path))) for role, path in self.builder.extra_files()]


def plan_build(
    kind: str, inputs: list[str], langs: list[str] | str, fmt: str | None = None, **options: Any
) -> Plan:
    """Check the request and pick the reader and builder (nothing is read yet beyond format sniffing)."""
    if kind not in KINDS:
        raise user_error(f"unknown corpus kind {kind!r}", f"use one of {', '.join(KINDS)}")
    if isinstance(langs, str):
        langs = langs.split(",")
    langs = list(dict.fromkeys(lang_code(lang) for lang in langs if lang.strip()))
    if not langs:
        raise user_error("no language given", "pass --lang L or --lang L1,L2")
    if not inputs:
        raise user_error("no input given")
    parsed = [parse_input(str(text)) for text in inputs]
    builder_cls = KINDS[kind]
    if fmt is None:
        fmt = detect_format(parsed, builder_cls.plain_text_format)
    if fmt not in FORMATS:
        raise user_error(f"unknown format {fmt!r}", f"use one of {', '.join(FORMATS)}")
    reader_cls = FORMATS[fmt]
    if fmt != "hub":
        for inp in parsed:
            if not inp.file.exists():
                raise user_error(f"input {inp.path} not found")
    if reader_cls.multilingual and not builder_cls.multilingual_records:
        raise user_error(
            f"{kind} corpora are not built from {fmt} input", "use tsv, csv, jsonl, stsb, text or hub"
        )
    options = {name: value for name, value in options.items() if value is not None}
    reader_options = {name: options.pop(name) for name in list(options) if name in reader_cls.option_defaults}
    builder_options = {**reader_cls.builder_defaults, **options}
    reader = reader_cls(parsed, langs, **reader_options)
    builder = builder_cls(langs, **builder_options)
    return Plan(kind, fmt, langs, reader, builder, {**reader_options, **options})


def build_corpus(
    kind: str,
    inputs: list[str],
    langs: list[str] | str,
    out: Path,
    fmt: str | None = None,
    skip_invalid: bool = False,
    *,
    num_proc: int | None = None,
    command: str | None = None,
    spec: dict | None = None,
    replace: bool = True,
    progress: Progress = SILENT,
    **options: Any,
) -> Path:
    """Build a corpus of `kind` from `inputs` into the folder `out` (see the contracts); returns `out`.

    Strict by default: the first malformed row raises InputError (file:line) and nothing is written.
    With `skip_invalid` such rows are dropped and listed in the manifest. `options` are the kind's and
    the format's options (e.g. scale, labels, max_ratio, muse_split, exclude_muse_test, wordlist)."""
    plan = plan_build(kind, inputs, langs, fmt, **options)
    return run_plan(
        plan,
        Path(out),
        skip_invalid,
        num_proc=num_proc,
        command=command,
        spec=spec,
        replace=replace,
        progress=progress,
    )


def run_plan(
    plan: Plan,
    out: Path,
    skip_invalid: bool = False,
    *,
    num_proc: int | None = None,
    command: str | None = None,
    spec: dict | None = None,
    replace: bool = True,
    progress: Progress = SILENT,
) -> Path:
    """Run a checked plan into `out` (see build_corpus); progress goes to `progress`, the summary to the
    log."""
    out = check_output_path(out.expanduser().absolute(), "--out")
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MANIFEST).is_file())):
        raise user_error(f"{out} exists and is not a corpus folder", "choose another --out or remove it")
    started = time.time()
    ctx = BuildContext(skip_invalid=skip_invalid)
    out.parent.mkdir(parents=True, exist_ok=True)
    with (
        _datasets_bars_off(),
        tempfile.TemporaryDirectory(prefix=f".{out.name}.cache-", dir=out.parent) as cache,
        atomic_dir(out, replace=replace) as tmp,
    ):
        dataset = _build(plan, ctx, Path(cache), num_proc, progress)
        dataset.save_to_disk(str(tmp))
        manifest = _manifest(plan, ctx, len(dataset), skip_invalid, command, spec, time.time() - started)
        write_text_atomic(tmp / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
        del dataset
    drops = ", ".join(f"{reason} {count}" for reason, count in sorted(ctx.drops.items())) or "none"
    counts = f"{ctx.rows_in} rows in, {ctx.rows_built} built, {manifest['rows_out']} out"
    logger.info("%s: %s; dropped: %s", plan.kind, counts, drops)
    return out


@contextmanager
def _datasets_bars_off() -> Iterator[None]:
    """datasets' own tqdm bars off during a build (progress goes to the caller's Progress), restored
    afterwards."""
    from datasets.utils.tqdm import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    was_disabled = are_progress_bars_disabled()
    disable_progress_bars()
    try:
        yield
    finally:
        if not was_disabled:
            enable_progress_bars()


def _from_generator(
    make: Callable[[], Iterator[dict]], features: Features, cache: Path, plan: Plan, ctx: BuildContext
) -> Dataset:
    """Stream rows into an Arrow file under `cache`; errors raised by our code come out unwrapped, and
    no rows at all is a UserError naming the inputs."""
    from datasets import Dataset
    from datasets.exceptions import DatasetGenerationError

    yielded = False

    def generate() -> Iterator[dict]:
        nonlocal yielded
        for row in make():
            yielded = True
            yield row

    try:
        return Dataset.from_generator(
            generate, features=features, cache_dir=str(cache), fingerprint=uuid.uuid4().hex
        )
    except ValueError as exc:
        if yielded or isinstance(exc, EmbedkitError):
            raise
        raise _no_rows(plan, ctx) from None
    except DatasetGenerationError as exc:
        cause = exc.__cause__
        while cause is not None and not isinstance(cause, EmbedkitError):
            cause = cause.__cause__ or cause.__context__
        if cause is not None:
            raise cause from None
        raise


def _counted(records: Iterator[Record], ctx: BuildContext) -> Iterator[Record]:
    for record in records:
        ctx.count_in()
        yield record


def _step(batch: dict[str, list], builder: Builder) -> dict[str, list]:
    """Per-row work, run in workers: the kind's transform, then each row's drop reason and dedup keys."""
    batch = builder.transform(batch)
    rows = [dict(zip(batch, values, strict=False)) for values in zip(*batch.values(), strict=False)]
    batch[DROP] = [builder.check(row) or "" for row in rows]
    for reason in builder.dedup:
        batch[f"_key_{reason}"] = [hash64(*builder.key(reason, row)) for row in rows]
    return batch


def _build(plan: Plan, ctx: BuildContext, cache: Path, num_proc: int | None, progress: Progress) -> Dataset:
    from datasets import Features, Value, concatenate_datasets

    builder = plan.builder
    with progress.task(f"reading {plan.fmt} ({plan.kind})") as bar:
        ctx.on_row = lambda _: bar.update(completed=ctx.rows_in) if ctx.rows_in % 1000 == 0 else None
        stage = _from_generator(lambda: builder.rows(_counted(plan.reader.records(ctx), ctx), ctx),
                                builder.stage_features(), cache, plan, ctx)  # fmt: skip
        aggregated = builder.aggregate(stage, ctx)
        if aggregated is not None:
            bar.status(f"grouping {plan.kind} rows")
            stage = _from_generator(lambda: aggregated, builder.features(), cache, plan, ctx)
        bar.update(completed=ctx.rows_in, total=ctx.rows_in)
    ctx.rows_built = len(stage)
    helpers = {DROP: Value("string"), **{f"_key_{reason}": Value("int64") for reason in builder.dedup}}
    features = Features({**builder.features(), **helpers})
    parts = []
    with progress.task(f"checking {plan.kind} rows", total=len(stage)) as bar:
        for start in range(0, len(stage), CHECK_CHUNK):
            chunk = stage.select(range(start, min(start + CHECK_CHUNK, len(stage))))
            parts.append(
                chunk.map(
                    _step,
                    batched=True,
                    batch_size=256,
                    num_proc=num_proc if num_proc and num_proc > 1 and len(chunk) > 1 else None,
                    fn_kwargs={"builder": builder},
                    features=features,
                    new_fingerprint=uuid.uuid4().hex,
                )
            )
            bar.advance(len(chunk))
    checked = concatenate_datasets(parts) if len(parts) > 1 else parts[0]
    keep = _keep(checked, builder, ctx)
    if not keep.any():
        raise _no_rows(plan, ctx)
    import numpy as np

    return checked.select(np.flatnonzero(keep)).remove_columns(list(helpers))


def _no_rows(plan: Plan, ctx: BuildContext) -> EmbedkitError:
    """A build that would write an empty corpus (every row dropped or invalid): say which inputs and why."""
    paths = [inp.path for inp in plan.reader.inputs]
    named = ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
    drops = ", ".join(f"{reason} {count}" for reason, count in sorted(ctx.drops.items())) or "none"
    return user_error(
        f"no rows left to write from {named} (rows in: {ctx.rows_in}; dropped: {drops})",
        "check --lang, --format, --column and the cleaning options against the input",
    )


def _keep(dataset: Dataset, builder: Builder, ctx: BuildContext):
    """Boolean mask of the rows to write; counts each drop by reason. Works on Arrow columns and numpy
    arrays (8 bytes a row), never on Python lists of the rows."""
    import numpy as np
    import pyarrow.compute as pc

    table = dataset.data.table
    reasons = table.column(DROP)
    for item in pc.value_counts(reasons).to_pylist():
        if item["values"]:
            ctx.drop(item["values"], item["counts"])
    keep = pc.equal(reasons, "").to_numpy(zero_copy_only=False).astype(bool)
    for reason in builder.dedup:
        keys = table.column(f"_key_{reason}").to_numpy()
        candidates = np.flatnonzero(keep)
        _, first = np.unique(keys[candidates], return_index=True)
        repeated = np.ones(len(candidates), dtype=bool)
        repeated[first] = False
        keep[candidates[repeated]] = False
        if repeated.any():
            ctx.drop(reason, int(repeated.sum()))
    return keep


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


_SHA_CACHE: dict[tuple[str, int, float], str] = {}


def file_sha256(path: Path) -> str:
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime)
    if key not in _SHA_CACHE:
        _SHA_CACHE[key] = sha256_file(path)
    return _SHA_CACHE[key]


def _manifest(
    plan: Plan,
    ctx: BuildContext,
    rows_out: int,
    skip_invalid: bool,
    command: str | None,
    spec: dict | None,
    seconds: float,
) -> dict[str, Any]:
    import datasets

    from embedkit import __version__

    inputs = []
    for role, inp in plan.files():
        path = Path(inp.path)
        inputs.append(
            {
                "role": role,
                "path": str(path.resolve()),
                "lang": inp.lang,
                "sha256": file_sha256(path),
                "bytes": path.stat().st_size,
            }
        )
    if plan.fmt == "hub":
        inputs = [{"role": "input", "hub": inp.path, "lang": inp.lang} for inp in plan.reader.inputs]
    versions = {"embedkit": __version__, "datasets": datasets.__version__, "python": sys.version.split()[0]}
    if plan.kind == "tagged":
        import spacy

        versions["spacy"] = spacy.__version__
    return {
        "kind": plan.kind,
        "format": plan.fmt,
        "languages": plan.langs,
        "columns": list(plan.builder.features()),
        "inputs": inputs,
        "options": _jsonable(plan.options),
        "skip_invalid": skip_invalid,
        "rows_in": ctx.rows_in,
        "rows_built": ctx.rows_built,
        "rows_out": rows_out,
        "drops": dict(sorted(ctx.drops.items())),
        "invalid_rows": ctx.invalid_rows,
        "builder": f"corpora.{type(plan.builder).__name__}",
        "builder_version": BUILDER_VERSION,
        "versions": versions,
        "command": command,
        "spec": _jsonable(spec) if spec is not None else None,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "build_seconds": round(seconds, 2),
    }


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The manifest.json of a corpus folder."""
    manifest = Path(path) / MANIFEST
    if not manifest.is_file():
        raise user_error(
            f"{path} is not a corpus folder (no {MANIFEST})", "build it with `embedkit corpus build`"
        )
    return json.loads(manifest.read_text(encoding="utf-8"))


def load_corpus(path: str | Path) -> Dataset:
    """The dataset of a corpus folder."""
    from datasets import load_from_disk

    read_manifest(path)
    return load_from_disk(str(path))
