"""The recipe: a YAML file naming a base model and training stages, validated before any work starts.

Every problem is reported as one message naming its place, e.g.
``recipes/x.yaml:14: stages[1].loss: unknown loss 'Foo' (known: ...)``, or the ``--set`` override that
put the bad value there. Stage-specific fields live in each stage type's ``Config`` (see ``trainers.stages``).
"""

from __future__ import annotations

import copy
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from corpora import yamlfile
from embedkit.errors import InputError, UserError
from trainers.overrides import Override, apply_overrides, parse_overrides


class Strict(BaseModel):
    """Unknown keys are errors: a typo must never be silently ignored."""

    model_config = ConfigDict(extra="forbid")


def _check_data_ref(ref: Any) -> Any:
    if isinstance(ref, dict) and "kind" not in ref:
        raise ValueError(
            "an inline corpus spec needs 'kind' (nli, sts, parallel, ...), or give a corpus folder path"
        )
    if isinstance(ref, str) and not ref.strip():
        raise ValueError("empty corpus path")
    return ref


# a corpus folder, or an inline spec for corpora.build_from_spec
DataRef = Annotated[str | dict[str, Any], AfterValidator(_check_data_ref)]


class DevSpec(Strict):
    """Dev data for a stage: a corpus (`data`) or rows held out of the training corpus (`holdout`)."""

    data: list[DataRef] | None = Field(default=None, description="dev corpora of one kind")
    holdout: float | int | None = Field(
        default=None, description="rows (int) or share (0-1) held out of train"
    )
    evaluator: str | None = Field(default=None, description="default: chosen by the dev corpus kind")
    max_rows: int | None = Field(default=None, ge=1, description="at most this many dev rows per language")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str | list) or (isinstance(value, dict) and "kind" in value):
            value = {"data": value}
        if isinstance(value, dict) and isinstance(value.get("data"), str | dict):
            value = {**value, "data": [value["data"]]}
        return value

    @field_validator("holdout")
    @classmethod
    def _holdout(cls, value: float | int | None) -> float | int | None:
        if value is not None and (value <= 0 or (isinstance(value, float) and value >= 1)):
            raise ValueError("holdout is a row count (>= 1) or a share between 0 and 1")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> DevSpec:
        if (self.data is None) == (self.holdout is None):
            raise ValueError(
                "give exactly one of 'data' (a dev corpus) or 'holdout' (rows held out of train)"
            )
        return self


class Interpolate(Strict):
    """After a stage's last step: weights = keep x `toward` + (1 - keep) x the trained ones (WiSE-FT)."""

    toward: Literal["start", "base"] = Field(
        description="start: the stage's starting model; base: the run's base model (trimmed, with trim:)"
    )
    keep: float = Field(gt=0, lt=1, description="the share of `toward` in the final weights")


class StageConfig(Strict):
    """Fields every stage has. A stage type adds its own by subclassing this as its ``Config``."""

    type: str
    name: str | None = None
    train: list[DataRef] = Field(min_length=1, description="corpus folders or inline corpus specs")
    dev: DevSpec | None = None
    loss: str | None = Field(default=None, description="a sentence-transformers loss class name")
    loss_args: dict[str, Any] = Field(default_factory=dict)
    epochs: float = Field(default=1.0, gt=0)
    max_steps: int | None = Field(
        default=None, ge=1, description="stop after this many steps (overrides epochs)"
    )
    max_rows: int | None = Field(
        default=None, ge=1, description="train on a seeded random sample of this size"
    )
    batch_size: int = Field(default=32, ge=1, description="global batch size (split over --nproc processes)")
    lr: float = Field(default=2e-5, gt=0)
    warmup: float = Field(default=0.1, ge=0, le=1, description="share of the stage's steps")
    weight_decay: float = Field(default=0.01, ge=0)
    scheduler: Literal["linear", "cosine", "constant", "constant_with_warmup", "polynomial"] = "linear"
    max_grad_norm: float = Field(default=1.0, ge=0)
    batch_sampler: Literal["auto", "random", "length", "no_duplicates", "length_no_duplicates"] = Field(
        default="auto",
        description="auto: the stage type's choice; length: length-grouped batches; no_duplicates: no text "
        "twice in a batch; length_no_duplicates: both",
    )
    eval_every: float | int = Field(default=0.25, gt=0, description="steps (int) or share of the stage (0-1)")
    save_every: int = Field(default=100, ge=1, description="checkpoint every N steps (resume point)")
    interpolate: Interpolate | None = Field(
        default=None,
        description="after the last step, move the trained weights back toward the stage's start or the "
        "run's base model (WiSE-FT)",
    )

    @model_validator(mode="before")
    @classmethod
    def _single_train(cls, value: Any) -> Any:
        return train_as_list(value)


def train_as_list(value: Any) -> Any:
    """`train: one corpus` is short for `train: [one corpus]`."""
    if isinstance(value, dict) and isinstance(value.get("train"), str | dict):
        value = {**value, "train": [value["train"]]}
    return value


class Compute(Strict):
    """Where and how to run. The CPU-aware defaults keep the default model trainable on a laptop."""

    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    freeze_embeddings: bool | Literal["auto"] = Field(
        default="auto",
        description="freeze the word-embedding matrix; auto: on CPU when it has >= 100k rows (an untrimmed "
        "XLM-R vocabulary), otherwise no",
    )
    max_seq_length: int | None = Field(default=128, ge=8, description="None keeps the model's own")
    dynamic_padding: bool = Field(
        default=True, description="pad each batch to its longest text, not max length"
    )
    group_by_length: bool = Field(default=True, description="batch texts of similar length (less padding)")
    freeze_layers: int = Field(
        default=0, ge=0, description="also freeze the embedding block and the lowest N transformer layers"
    )
    mixed_precision: Literal["no", "auto", "bf16", "fp16"] = Field(
        default="no", description="auto: bf16 where the CPU or GPU computes it natively"
    )
    fast_dropout: bool = Field(
        default=True,
        description="on CPU, dropout from 16 random bits per element (p quantised to 1/65536) and "
        "attention without SDPA's math-path overhead: 1.12-1.21x faster steps here (docs/training-speed.md)",
    )
    reuse_freed_memory: bool = Field(
        default=True,
        description="on CPU under glibc, keep freed memory in the process while a stage trains instead of "
        "taking fresh pages from the kernel every step (trainers/memory_reuse.py)",
    )
    memory_check: bool = Field(
        default=True, description="refuse a batch x length that cannot fit, before training"
    )
    dataloader_workers: int = Field(default=0, ge=0)


class Trim(Strict):
    """Trim the base model's vocabulary to these languages before the first stage (see `embedkit trim`)."""

    langs: list[str] = Field(
        min_length=1, description="language codes whose tokens are kept, e.g. [si, ta, en]"
    )
    text: list[str] = Field(
        default_factory=list,
        description="text files (one text per line) or corpus folders whose tokens are all kept "
        "(${shared} allowed)",
    )
    vocab_size: int = Field(
        default=50_000, ge=1, description="tokens in the trimmed vocabulary, specials included"
    )
    min_count: int = Field(default=1, ge=1, description="a text token is kept when seen at least this often")

    @field_validator("langs", mode="before")
    @classmethod
    def _known_langs(cls, value: Any) -> Any:
        from embedkit.trim.scripts import parse_langs

        text = value if isinstance(value, str) else ",".join(map(str, value or []))
        try:
            return parse_langs(text)
        except UserError as exc:
            raise ValueError(str(exc).removeprefix("--langs: ")) from None


class Recipe(Strict):
    name: str | None = None
    description: str | None = None
    base_model: str = Field(default="default", description="'default', a local folder or a Hub id")
    seed: int = 42
    prompt: str | None = Field(
        default="auto",
        description="text prepended to every training text; auto: the model's default prompt "
        "(the default model: 'query: '), kept in the saved model; null: none",
    )
    compute: Compute = Field(default_factory=Compute)
    trim: Trim | None = Field(
        default=None, description="trim the base model's vocabulary before the first stage"
    )
    keep_checkpoints: int = Field(
        default=1,
        ge=1,
        description="checkpoints on disk per stage, the one being written included (1: the older one goes "
        "before a new one is written; 2: a resume point through every save, twice the disk)",
    )
    stages: list[StageConfig] = Field(min_length=1)
    search: dict[str, Any] | None = Field(
        default=None, description="read by `embedkit tune`; ignored by train"
    )
    _where: tuple = PrivateAttr(default=("<recipe>", None, ()))  # (source, YAML tree, overrides)

    def error(self, loc: tuple, problem: str, fix: str | None = None) -> InputError:
        """An InputError placed at `loc` (e.g. ("stages", 1, "train", 0)) in the recipe file or --set."""
        source, root, overrides = self._where
        return _error_at(loc, problem + (f" ({fix})" if fix else ""), source, root, overrides)

    def validation_error(self, exc: ValidationError, prefix: tuple, model: type[BaseModel]) -> InputError:
        """The first problem of `exc` (pydantic validating `model` at `prefix` of this recipe), placed."""
        source, root, overrides = self._where
        return _place_error(exc.errors()[0], prefix, source, root, overrides, model)

    def resolved(self) -> dict[str, Any]:
        """The recipe with every default filled in, as plain YAML-able data."""
        return self.model_dump(mode="json", serialize_as_any=True)  # stage types' own fields too

    def stage_names(self) -> list[str]:
        return [stage.name or stage.type for stage in self.stages]


# --- loading ---------------------------------------------------------------------------------------


def load_recipe(path: str | Path, overrides: list[str] | None = None) -> Recipe:
    """Read, override (``key.path=value``) and validate a recipe; raise InputError naming the place."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"recipe {path}: no such file")
    text = path.read_text(encoding="utf-8")
    try:
        data = yamlfile.load(text)
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise InputError(path, line, f"not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise InputError(path, 1, "a recipe is a YAML mapping with at least 'stages'")
    parsed = parse_overrides(overrides or [])
    data = apply_overrides(data, parsed, source=str(path))
    return validate_recipe(data, source=path, root=root, overrides=parsed)


def validate_recipe(
    data: dict[str, Any],
    source: str | Path = "<recipe>",
    root: yaml.Node | None = None,
    overrides: list[Override] = (),
) -> Recipe:
    """Validate a recipe mapping: the common fields, then each stage with its stage type's Config."""
    from trainers.stages import STAGES

    data = copy.deepcopy(data)
    raw_stages = data.get("stages")
    if isinstance(raw_stages, list):
        data["stages"] = [{"type": "_placeholder", "train": ["_"]} for _ in raw_stages]
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as exc:
        raise _place_error(exc.errors()[0], (), source, root, overrides, Recipe) from None

    stages: list[StageConfig] = []
    for index, raw in enumerate(raw_stages):
        where = ("stages", index)
        if not isinstance(raw, dict):
            raise _error_at(
                where, "a stage is a mapping with at least 'type' and 'train'", source, root, overrides
            )
        kind = raw.get("type")
        if kind not in STAGES:
            known = ", ".join(sorted(STAGES))
            problem = (
                f"unknown stage type {kind!r} (known: {known})"
                if kind
                else f"missing 'type' (one of: {known})"
            )
            raise _error_at((*where, "type"), problem, source, root, overrides)
        stage_cls = STAGES[kind]
        try:
            stage = stage_cls.Config.model_validate(raw)
        except ValidationError as exc:
            raise _place_error(exc.errors()[0], where, source, root, overrides, stage_cls.Config) from None
        for field, problem in stage_cls.check_config(stage):
            raise _error_at((*where, *field), problem, source, root, overrides)
        stages.append(stage)

    names = [stage.name or stage.type for stage in stages]
    for index, name in enumerate(names):
        if names.index(name) != index:
            raise _error_at(
                ("stages", index, "name"),
                f"stage name {name!r} is used twice; give each stage a distinct 'name'",
                source,
                root,
                overrides,
            )
    recipe = recipe.model_copy(update={"stages": stages})
    recipe._where = (source, root, tuple(overrides))
    return recipe


# --- error placement -------------------------------------------------------------------------------


def _dotted(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _place_error(error: dict, prefix: tuple, source, root, overrides, model: type[BaseModel]) -> InputError:
    rel = tuple(part for part in error["loc"] if not _is_union_tag(part))
    loc = (*prefix, *rel)
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        parent = _model_at(model, rel[:-1])
        known = f" (known: {', '.join(parent.model_fields)})" if parent else ""
        message = f"unknown key {loc[-1]!r}{known}"
    elif error["type"] == "missing":
        message = f"missing required key {loc[-1]!r}"
    elif error["type"] != "value_error" and not isinstance(error.get("input"), dict | list | type(None)):
        message += f" (got {error['input']!r})"
    return _error_at(loc, message, source, root, overrides)


UNION_TAGS = frozenset({"str", "int", "float", "bool", "none", "list", "dict"})


def _is_union_tag(part: Any) -> bool:
    # pydantic names the union member it tried, e.g. ('train', 0, 'str'): not a place in the file
    return isinstance(part, str) and (part in UNION_TAGS or "[" in part)


def _model_at(model: type[BaseModel], rel: tuple) -> type[BaseModel] | None:
    """The pydantic model class that validates the mapping at `rel` below `model`."""
    for part in rel:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        candidates = [field.annotation, *typing.get_args(field.annotation)]
        nested = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        if not nested:
            return None
        model = nested[0]
    return model


def _error_at(loc: tuple, problem: str, source, root, overrides) -> InputError:
    for override in overrides:
        if tuple(override.path) == tuple(loc[: len(override.path)]):
            return InputError(f"--set {override.text}", None, f"{_dotted(loc)}: {problem}")
    line = _line_of(root, loc) if root is not None else None
    return InputError(source, line, f"{_dotted(loc)}: {problem}" if loc else problem)


def _line_of(node: yaml.Node | None, loc: tuple) -> int | None:
    """1-based line of the deepest node of `loc` that exists in the YAML tree."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            for key, value in node.value:
                if key.value == part:
                    child = value if not isinstance(value, yaml.ScalarNode) else key
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
        if child is None:
            break
        node = child
        line = node.start_mark.line + 1
    return line
