"""The `search:` block of a recipe: which recipe keys to tune over which ranges, and what to optimise.

    search:
      objective: {metric: dev_score, direction: maximize}   # stage: default the last stage with a dev set
      params:
        stages.0.lr: {type: float, low: 1.0e-5, high: 3.0e-4, log: true}
        stages.0.warmup: {type: float, low: 0.0, high: 0.3}
        stages.0.epochs: {type: int, low: 1, high: 3}
        stages.0.loss_args.scale: [10, 20, 40]          # a list is a categorical param
      sampler: {type: tpe, startup_trials: 10}           # or: random
      pruner: {type: median, startup_trials: 5, warmup_evals: 0}   # or: none

A param's key is a dotted recipe path, applied exactly like `embedkit train --set KEY=VALUE`. Every
problem (unknown key, bad range, a value the recipe rejects) is one message naming its line in the
recipe, found before any trial runs.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from embedkit.errors import InputError, UserError

if TYPE_CHECKING:
    import optuna

    from trainers.recipe import Recipe

_YAML_FLOAT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)$")  # YAML 1.1 reads 1e-5 as a string
_INTERIOR = 0.381966  # a non-round point inside a range: a float landing on an int field is caught


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Param(_Strict):
    """One searched recipe key. Subclasses declare their range and how Optuna suggests a value."""

    kind: ClassVar[str]

    def suggest(self, trial: optuna.Trial, name: str) -> Any:
        raise NotImplementedError

    def probes(self) -> list[Any]:
        """Values checked against the recipe schema before any trial: the ends and one inside."""
        raise NotImplementedError


class FloatParam(Param):
    kind = "float"
    type: Literal["float"] = "float"
    low: float
    high: float
    log: bool = False
    step: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _range(self) -> FloatParam:
        _check_range(self.low, self.high, self.log, self.step)
        return self

    def suggest(self, trial: optuna.Trial, name: str) -> float:
        return trial.suggest_float(name, self.low, self.high, log=self.log, step=self.step)

    def probes(self) -> list[float]:
        inside = _interior(self.low, self.high, self.log)
        if self.step:
            inside = self.low + round((inside - self.low) / self.step) * self.step
        return _unique([self.low, self.high, inside])


class IntParam(Param):
    kind = "int"
    type: Literal["int"] = "int"
    low: int
    high: int
    log: bool = False
    step: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _range(self) -> IntParam:
        _check_range(self.low, self.high, self.log, self.step if self.step != 1 else None)
        return self

    def suggest(self, trial: optuna.Trial, name: str) -> int:
        return trial.suggest_int(name, self.low, self.high, log=self.log, step=self.step)

    def probes(self) -> list[int]:
        inside = (
            self.low + round((_interior(self.low, self.high, self.log) - self.low) / self.step) * self.step
        )
        return _unique([self.low, self.high, int(inside)])


Choice = bool | int | float | str | None  # what Optuna can store for a categorical param


class CategoricalParam(Param):
    kind = "categorical"
    type: Literal["categorical"] = "categorical"
    choices: list[Choice] = Field(min_length=2)

    @model_validator(mode="before")
    @classmethod
    def _yaml_floats(cls, value: Any) -> Any:
        if isinstance(value, dict) and isinstance(value.get("choices"), list):
            value = {**value, "choices": [_as_float(choice) for choice in value["choices"]]}
        return value

    @model_validator(mode="after")
    def _distinct(self) -> CategoricalParam:
        if len({json.dumps(choice) for choice in self.choices}) != len(self.choices):
            raise ValueError("choices must be distinct")
        return self

    def suggest(self, trial: optuna.Trial, name: str) -> Choice:
        return trial.suggest_categorical(name, self.choices)

    def probes(self) -> list[Choice]:
        return list(self.choices)


PARAM_TYPES: dict[str, type[Param]] = {cls.kind: cls for cls in (FloatParam, IntParam, CategoricalParam)}


class Objective(_Strict):
    metric: str = Field(default="dev_score", description="a dev metric the stage's dev evaluator reports")
    direction: Literal["maximize", "minimize"] = "maximize"
    stage: str | int | None = Field(default=None, description="name or index; default: last stage with dev")


class SamplerSpec(_Strict):
    type: Literal["tpe", "random"] = "tpe"
    startup_trials: int = Field(default=10, ge=0, description="random trials before TPE models the space")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"type": value} if isinstance(value, str) else value

    def build(self, seed: int) -> optuna.samplers.BaseSampler:
        import optuna

        if self.type == "random":
            return optuna.samplers.RandomSampler(seed=seed)
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=self.startup_trials)


class PrunerSpec(_Strict):
    type: Literal["median", "none"] = "median"
    startup_trials: int = Field(default=5, ge=0, description="finished trials before any is pruned")
    warmup_evals: int = Field(default=0, ge=0, description="dev evaluations a trial gets before pruning")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"type": value} if isinstance(value, str) else value

    def build(self) -> optuna.pruners.BasePruner:
        import optuna

        if self.type == "none":
            return optuna.pruners.NopPruner()
        return optuna.pruners.MedianPruner(
            n_startup_trials=self.startup_trials, n_warmup_steps=self.warmup_evals, interval_steps=1
        )


class _Block(_Strict):
    objective: Objective = Field(default_factory=Objective)
    params: dict[str, Any] = Field(min_length=1, description="recipe key path -> range")
    sampler: SamplerSpec = Field(default_factory=SamplerSpec)
    pruner: PrunerSpec = Field(default_factory=PrunerSpec)


@dataclass(frozen=True)
class SearchSpec:
    """A validated search block, checked against the recipe it sits in."""

    params: dict[str, Param]
    objective: Objective
    stage_index: int  # the stage whose dev metric is the objective
    sampler: SamplerSpec
    pruner: PrunerSpec

    @property
    def direction(self) -> str:
        return self.objective.direction

    @property
    def metric(self) -> str:
        return self.objective.metric

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        return {name: param.suggest(trial, name) for name, param in self.params.items()}


# --- reading and checking ---------------------------------------------------------------------------


def param_overrides(params: dict[str, Any]) -> list[str]:
    """`KEY=VALUE` strings for `--set` (JSON is YAML, so strings stay strings and 1e-05 stays a float)."""
    return [f"{key}={json.dumps(value)}" for key, value in params.items()]


def trial_recipe(path: str | Path, overrides: Sequence[str], params: dict[str, Any]) -> Recipe:
    """The recipe one trial trains: the file, the user's --set values, then the trial's params; no search."""
    from trainers.recipe import load_recipe

    recipe = load_recipe(path, [*overrides, *param_overrides(params)])
    return recipe.model_copy(update={"search": None})


def load_search(path: str | Path, overrides: Sequence[str] = ()) -> tuple[Recipe, SearchSpec]:
    """Read a recipe and its search block; every problem is an InputError placed in the file."""
    from trainers.recipe import load_recipe

    recipe = load_recipe(path, list(overrides))
    if recipe.search is None:
        raise UserError(
            f"{path}: no `search:` block; add one naming the params to tune and the objective "
            "(see recipes/tune-smoke.yaml)"
        )
    try:
        block = _Block.model_validate(recipe.search)
    except ValidationError as exc:
        raise recipe.validation_error(exc, ("search",), _Block) from None
    params = {key: _param(recipe, key, raw) for key, raw in block.params.items()}
    for key, param in params.items():
        _check_against_recipe(recipe, path, overrides, key, param)
    stage_index = _objective_stage(recipe, block.objective)
    return recipe, SearchSpec(params, block.objective, stage_index, block.sampler, block.pruner)


def _param(recipe: Recipe, key: str, raw: Any) -> Param:
    where = ("params", key)
    if isinstance(raw, list):
        raw = {"type": "categorical", "choices": raw}
    if not isinstance(raw, dict):
        raise recipe.error(
            ("search", *where),
            f"a param is a mapping with 'type' ({', '.join(PARAM_TYPES)}) or a list of choices",
        )
    kind = raw.get("type")
    if kind not in PARAM_TYPES:
        problem = f"unknown param type {kind!r}" if kind else "missing 'type'"
        raise recipe.error((*("search", *where), "type"), f"{problem} (one of: {', '.join(PARAM_TYPES)})")
    cls = PARAM_TYPES[kind]
    try:
        return cls.model_validate(raw)
    except ValidationError as exc:
        raise recipe.validation_error(exc, ("search", *where), cls) from None


def _check_against_recipe(
    recipe: Recipe, path: str | Path, overrides: Sequence[str], key: str, param: Param
) -> None:
    """Set each probe value through the --set mechanism and validate: the recipe schema decides."""
    from trainers.recipe import load_recipe

    where = ("search", "params", key)
    if key.split(".")[0] == "search":
        raise recipe.error(where, "the search block cannot search over itself")
    for value in param.probes():
        setting = param_overrides({key: value})[0]
        try:
            load_recipe(path, [*overrides, setting])
        except InputError as exc:
            raise recipe.error(where, f"{value!r} does not fit the recipe: {exc.problem}") from None
        except UserError as exc:  # the key path does not lead anywhere (index out of range, into a value)
            problem = str(exc).removeprefix(f"--set {setting}: ")
            raise recipe.error(where, f"not a recipe key: {problem}") from None


def _objective_stage(recipe: Recipe, objective: Objective) -> int:
    names = recipe.stage_names()
    where = ("search", "objective", "stage")
    if objective.stage is None:
        with_dev = [i for i, stage in enumerate(recipe.stages) if stage.dev is not None]
        if not with_dev:
            raise recipe.error(
                ("search", "objective"),
                "no stage has a dev set to score trials on",
                "add `dev:` (a dev split or a holdout, never a test set) to the stage to tune on",
            )
        return with_dev[-1]
    if isinstance(objective.stage, int):
        if not -len(names) <= objective.stage < len(names):
            raise recipe.error(where, f"no stage {objective.stage} (the recipe has {len(names)})")
        index = objective.stage % len(names)
    elif objective.stage in names:
        index = names.index(objective.stage)
    else:
        raise recipe.error(where, f"no stage named {objective.stage!r} (stages: {', '.join(names)})")
    if recipe.stages[index].dev is None:
        raise recipe.error(
            where,
            f"stage {names[index]!r} has no dev set to score trials on",
            "add `dev:` to that stage (a dev split or a holdout, never a test set)",
        )
    return index


def check_metric(recipe: Recipe, spec: SearchSpec, produced: dict[str, float]) -> None:
    """Refuse an objective metric the stage's dev evaluator does not report (`produced`)."""
    if spec.metric not in produced:
        stage = recipe.stage_names()[spec.stage_index]
        raise recipe.error(
            ("search", "objective", "metric"),
            f"metric {spec.metric!r} is not reported by the dev evaluator of stage {stage!r} "
            f"(it reports: {', '.join(sorted(produced))})",
        )


# --- helpers ----------------------------------------------------------------------------------------


def _check_range(low: float, high: float, log: bool, step: float | None) -> None:
    if not low < high:
        raise ValueError(f"low ({low}) must be below high ({high})")
    if log and low <= 0:
        raise ValueError(f"a log range needs low > 0 (got {low})")
    if log and step is not None:
        raise ValueError("give either log or step, not both")
    if step is not None:
        count = (high - low) / step
        if abs(count - round(count)) > 1e-9 * max(1.0, count):
            raise ValueError(f"step {step} does not divide the range {low}..{high}")


def _interior(low: float, high: float, log: bool) -> float:
    if log:
        return math.exp(math.log(low) + _INTERIOR * (math.log(high) - math.log(low)))
    return low + _INTERIOR * (high - low)


def _unique(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


def _as_float(value: Any) -> Any:
    return float(value) if isinstance(value, str) and _YAML_FLOAT.match(value.strip()) else value
