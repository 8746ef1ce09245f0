"""Running an Optuna study over a recipe: storage, workers, one trial = one `trainers.train` run.

A study lives in an Optuna storage (SQLite in DIR by default, any RDB URL otherwise), so it survives
the process: finished trials are never repeated, and a trial whose process died (kill -9, a lost
machine) is marked FAIL and its parameters queued again (`study.enqueue_trial`). Death is noticed at
once for a process of this host (its pid is gone) and, for any host, when the trial's heartbeat is
older than GRACE_S. Workers that share a storage run one study: each claims a trial only while fewer
than N are finished or running, so the study ends with exactly N finished (COMPLETE or PRUNED) trials.
"""

from __future__ import annotations

import fcntl
import gc
import json
import logging
import os
import shutil
import socket
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from transformers import TrainerCallback

from embedkit.errors import EmbedkitError, UserError
from embedkit.nested import first_difference
from embedkit.progress import SILENT, Progress
from embedkit.tune.space import SearchSpec, check_metric, trial_recipe

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

    from trainers.recipe import Recipe

logger = logging.getLogger(__name__)

TRIALS_DIR, STUDY_DB, LOCK_FILE, STUDY_FILE = "trials", "study.db", ".tune.lock", "tune.json"
HEARTBEAT_S, GRACE_S = 10, 60  # a trial with no heartbeat for GRACE_S is taken as dead
SQLITE_TIMEOUT_S = 120  # SQLite lets one writer at a time; others wait this long instead of failing
POLL_S = 2.0  # how often a worker with nothing to claim looks at the study again
WORKER, RUN_DIR, RETRY_OF, METRICS = "worker", "run_dir", "retry_of", "metrics"


class SurplusTrial(Exception):
    """Another worker claimed the last trial at the same moment: this one is not needed."""


@dataclass
class Worker:
    """One process taking part in a study: it claims trials, trains them, and tidies after itself."""

    recipe_path: Path
    overrides: list[str]
    base: Recipe
    space: SearchSpec
    out: Path
    trials: int
    final: bool = False
    progress: Progress = SILENT
    study: optuna.Study = field(init=False)
    lock: DirLock = field(init=False)
    checked: bool = False

    def __post_init__(self) -> None:
        self.lock = DirLock(self.out / LOCK_FILE)

    # --- the study -------------------------------------------------------------------------------

    def open(self, storage_url: str | None, study_name: str | None) -> None:
        """Create or load the study (under the folder lock: workers beside each other may start at once)."""
        import optuna

        optuna.logging.set_verbosity(optuna.logging.ERROR)  # we report trials ourselves
        name = study_name or self.base.name or self.recipe_path.stem
        with self.lock:
            _claim_out_dir(self.out, name)
            storage = open_storage(storage_url, self.out, self.requeue)
            self.study = self._create(optuna, storage, name)
            if self.study.direction.name.lower() != self.space.direction:
                if self.study.get_trials(deepcopy=False):
                    raise UserError(
                        f"study {name!r} {self.study.direction.name.lower()}s its objective but the "
                        f"recipe says {self.space.direction}; use another --study or --out"
                    )
                optuna.delete_study(study_name=name, storage=storage)  # empty: made by a run that stopped
                self.study = self._create(optuna, storage, name)
            self._check_same_recipe()

    def _create(self, optuna, storage, name: str) -> optuna.Study:
        return optuna.create_study(
            storage=storage,
            study_name=name,
            direction=self.space.direction,
            sampler=self.space.sampler.build(self.base.seed),
            pruner=self.space.pruner.build(),
            load_if_exists=True,
        )

    def _check_same_recipe(self) -> None:
        """A study is one search: refuse to continue it with another recipe or search block (a study
        with no trials yet takes the new one: its first run stopped at a recipe error)."""
        resolved = self.base.resolved()
        before = self.study.user_attrs.get("recipe")
        if before is None or not self.study.get_trials(deepcopy=False):
            self.study.set_user_attr("recipe", resolved)
            self.study.set_user_attr("recipe_file", str(self.recipe_path))
            return
        changed = first_difference(before, resolved)
        if changed:
            raise UserError(
                f"study {self.study.study_name!r} was started with a different recipe (at {changed}); "
                "continue it with the same recipe and --set values, or use another --study or --out"
            )

    # --- the worker loop -------------------------------------------------------------------------

    def run(self) -> None:
        """Claim and run trials until the study holds `trials` finished ones."""
        waiting = False
        while True:
            with self.lock:
                self.recover()
                finished, running = self.counts()
                if finished >= self.trials:
                    return
                if finished + running < self.trials:
                    waiting = False
                    if not self.checked:
                        self.preflight()
                    logger.info(f"trial {finished + running + 1} of {self.trials} ({finished} finished)")
                    self._run_one()  # releases the lock once its trial exists
                    continue
            if not waiting:
                logger.info(f"waiting for {running} trial(s) running in other workers")
                waiting = True
            time.sleep(POLL_S)

    def counts(self) -> tuple[int, int]:
        from optuna.trial import TrialState

        trials = self.study.get_trials(deepcopy=False)
        finished = sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials)
        running = sum(t.state == TrialState.RUNNING for t in trials)
        return finished, running

    def preflight(self) -> None:
        """Before this worker's first trial: the objective metric exists; show the base model's score.
        Skipped when a finished trial of this study already reported the metric."""
        from optuna.trial import TrialState

        done = self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if any(self.space.metric in trial.user_attrs.get(METRICS, {}) for trial in done):
            self.checked = True
            return
        produced = dev_metrics(self.base, self.space.stage_index)
        check_metric(self.base, self.space, produced)
        stage = self.base.stage_names()[self.space.stage_index]
        logger.info(
            f"base model, untuned: {self.space.metric} {produced[self.space.metric]:.4f} (stage {stage} dev)"
        )
        if "baseline" not in self.study.user_attrs:
            self.study.set_user_attr("baseline", produced[self.space.metric])
        self.checked = True

    def _run_one(self) -> None:
        try:
            self.study.optimize(self.objective, n_trials=1, catch=(SurplusTrial,), gc_after_trial=True)
        finally:
            self.lock.release()
        self.tidy_models()

    def objective(self, trial: optuna.Trial) -> float:
        from optuna import TrialPruned

        from trainers.run import RUN_FILE, train

        # Seeded per trial, not per process: two workers never draw the same params, and a study
        # repeats its draws on a re-run.
        self.study.sampler = self.space.sampler.build(self.base.seed + trial.number)
        params = self.space.suggest(trial)
        trial.set_user_attr(WORKER, worker_id())  # from here on, a dead worker's trial can be re-queued
        self.lock.release()
        if self.surplus(trial):
            if RETRY_OF in trial.user_attrs:  # a queued re-run: keep it queued
                requeue_params(self.study, params, trial.user_attrs[RETRY_OF])
            raise SurplusTrial(f"the study already has {self.trials} trials")
        run_dir = self.out / TRIALS_DIR / f"{trial.number:04d}"
        trial.set_user_attr(RUN_DIR, str(run_dir.resolve()))
        shutil.rmtree(run_dir, ignore_errors=True)  # left by an earlier study of this name: stale
        described = ", ".join(f"{k}={_short(v)}" for k, v in params.items())
        retry = trial.user_attrs.get(RETRY_OF)
        logger.info(
            f"trial {trial.number}: {described}"
            + (f" (re-run of trial {retry})" if retry is not None else "")
        )

        recipe = trial_recipe(self.recipe_path, self.overrides, params)
        pruning = PruneOnDev(trial, self.space.metric, self.space.stage_index)
        try:
            train(recipe, run_dir, callbacks=[pruning], progress=self.progress)
        except TrialPruned:
            logger.info(
                f"trial {trial.number}: pruned at dev evaluation {pruning.evals} ({pruning.last:.4f})"
            )
            shutil.rmtree(run_dir, ignore_errors=True)
            raise
        except KeyboardInterrupt:  # interrupted, not failed on its merits: run it again next time
            requeue_params(self.study, params, retry if retry is not None else trial.number)
            shutil.rmtree(run_dir, ignore_errors=True)
            raise
        except BaseException:
            shutil.rmtree(run_dir / "checkpoints", ignore_errors=True)
            raise
        finally:
            gc.collect()

        run = json.loads((run_dir / RUN_FILE).read_text(encoding="utf-8"))
        metrics = run["stages"][self.space.stage_index]["metrics"]
        if self.space.metric not in metrics:
            raise EmbedkitError(
                f"trial {trial.number} reports no {self.space.metric} (it has {', '.join(metrics)})"
            )
        trial.set_user_attr(METRICS, metrics)
        trial.set_user_attr("wall_time_s", run["wall_time_s"])
        shutil.rmtree(run_dir / "checkpoints", ignore_errors=True)  # the model is kept, resume is moot
        value = float(metrics[self.space.metric])
        logger.info(f"trial {trial.number}: {self.space.metric} {value:.4f}")
        return value

    def surplus(self, trial: optuna.Trial) -> bool:
        """True when `trials` trials numbered below this one already exist (a worker elsewhere raced us)."""
        from optuna.trial import TrialState

        ahead = self.study.get_trials(
            deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)
        )
        return sum(t.number < trial.number for t in ahead) >= self.trials

    # --- dead trials and disk --------------------------------------------------------------------

    def recover(self) -> None:
        """Fail the running trials of dead processes and queue their parameters again."""
        import optuna
        from optuna.trial import TrialState

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(self.study)  # heartbeats: any host
        me = worker_id()
        for trial in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            worker = trial.user_attrs.get(WORKER)
            if not worker or worker["host"] != me["host"] or worker["pid"] == me["pid"]:
                continue
            if process_alive(worker["pid"]):
                continue
            try:
                self.study.tell(trial.number, state=TrialState.FAIL)
            except (ValueError, optuna.exceptions.UpdateFinishedTrialError):
                continue  # another worker got there first
            self.requeue(self.study, trial)

    def requeue(self, study: optuna.Study, trial: FrozenTrial) -> None:
        """A trial died with its process: queue its parameters again and drop its half-written run."""
        logger.info(
            f"trial {trial.number} was interrupted (its process is gone): marked failed, queued again"
        )
        requeue_params(study, trial.params, trial.user_attrs.get(RETRY_OF, trial.number))
        run_dir = trial.user_attrs.get(RUN_DIR)
        if run_dir and trial.user_attrs.get(WORKER, {}).get("host") == socket.gethostname():
            shutil.rmtree(run_dir, ignore_errors=True)

    def tidy_models(self) -> None:
        """Keep only the best trial's model on disk (none with --final, which retrains it)."""
        from optuna.trial import TrialState

        done = self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if not done:
            return
        best = None if self.final else self.study.best_trial.number
        host = socket.gethostname()
        for trial in done:
            run_dir = trial.user_attrs.get(RUN_DIR)
            if trial.number != best and run_dir and trial.user_attrs.get(WORKER, {}).get("host") == host:
                shutil.rmtree(Path(run_dir) / "model", ignore_errors=True)


class PruneOnDev(TrainerCallback):
    """Reports the objective stage's dev metric to Optuna at each dev evaluation (step = its ordinal in
    the stage, so trials with different step counts compare at the same share of training) and stops
    the trial when the pruner says it cannot catch up."""

    def __init__(self, trial: optuna.Trial, metric: str, stage_index: int) -> None:
        self.trial, self.key, self.stage_index = trial, f"eval_{metric}", stage_index
        self.evals, self.last = 0, float("nan")

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        from optuna import TrialPruned

        # trainers writes stage k's Trainer output to checkpoints/NN-<stage name>, NN = k + 1
        number = Path(args.output_dir).name.split("-", 1)[0]
        if not number.isdigit() or int(number) - 1 != self.stage_index or self.key not in (metrics or {}):
            return
        self.evals += 1
        self.last = float(metrics[self.key])
        self.trial.report(self.last, self.evals)
        if self.trial.should_prune():
            raise TrialPruned(f"pruned at dev evaluation {self.evals}")


# --- storage, workers, locks ------------------------------------------------------------------------


def open_storage(url: str | None, out: Path, on_stale) -> optuna.storages.RDBStorage:
    """An Optuna RDB storage with heartbeats; default SQLite in `out`. SQLite waits on a busy database
    instead of failing, so several processes of one machine can share it."""
    import optuna

    url = url or f"sqlite:///{(out / STUDY_DB).resolve()}"
    engine_kwargs: dict[str, Any] = (
        {"connect_args": {"timeout": SQLITE_TIMEOUT_S}}
        if url.startswith("sqlite")
        else {"pool_pre_ping": True}
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(
                url,
                engine_kwargs=engine_kwargs,
                heartbeat_interval=HEARTBEAT_S,
                grace_period=GRACE_S,
                heartbeat_stale_trial_callback=on_stale,
            )
    except ModuleNotFoundError as exc:
        raise UserError(
            f"--storage {masked(url)}: the database driver {exc.name!r} is not installed "
            "(PostgreSQL: pip install psycopg2-binary; MySQL: pip install PyMySQL)"
        ) from None
    except Exception as exc:  # sqlalchemy: a malformed URL, an unreachable server, no permission
        raise UserError(f"--storage {masked(url)}: cannot open it ({type(exc).__name__}: {exc})") from None


def masked(url: str) -> str:
    """The storage URL without its password, for messages and files."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]


def requeue_params(study: optuna.Study, params: dict[str, Any], original: int) -> None:
    if params:
        study.enqueue_trial(dict(params), user_attrs={RETRY_OF: original})


def worker_id() -> dict[str, Any]:
    return {"host": socket.gethostname(), "pid": os.getpid()}


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed process nobody has reaped yet is a zombie: dead for our purpose
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


class DirLock:
    """An exclusive lock on a file in the output folder, for the workers that share that folder.
    `release` may be called early (a trial releases it once claimed); leaving the block is then a no-op."""

    def __init__(self, path: Path) -> None:
        self.path, self.fd = path, None

    def __enter__(self) -> DirLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def _claim_out_dir(out: Path, name: str) -> None:
    """One study per output folder: its trials/ are numbered by that study."""
    path = out / STUDY_FILE
    if path.exists():
        held = json.loads(path.read_text(encoding="utf-8")).get("study")
        if held != name:
            raise UserError(
                f"--out {out} holds study {held!r}, not {name!r}; choose another --out (or --study {held})"
            )
        return
    from embedkit.atomic import write_text_atomic

    write_text_atomic(path, json.dumps({"study": name}, indent=2) + "\n")


# --- the objective stage's dev metrics, before any trial --------------------------------------------


def dev_metrics(recipe: Recipe, stage_index: int) -> dict[str, float]:
    """Run the objective stage's dev evaluator (`Stage.dev_evaluator`, the one its training reports) on the
    base model: the metric names every trial will report, and the untuned baseline. Loads the same data a
    trial loads (corpora are cached); writes nothing."""
    import tempfile

    from trainers.compute import pick_device
    from trainers.run import RunContext, datasets_progress_bars_off, load_training_model
    from trainers.stages import STAGES

    config = recipe.stages[stage_index]
    with tempfile.TemporaryDirectory(prefix="embedkit-tune-") as tmp, datasets_progress_bars_off():
        ctx = RunContext(recipe, Path(tmp), pick_device(recipe.compute))
        stage = STAGES[config.type](config, stage_index, ctx)
        data = stage.load_data()
        model = load_training_model(recipe.base_model, ctx, resolve_prompt=True)
        evaluator = stage.dev_evaluator(model, data)
        metrics = evaluator(model) if evaluator is not None else {}
        del model, evaluator
        gc.collect()
    return {key: float(value) for key, value in metrics.items() if key.startswith("dev")}


# --- small helpers ----------------------------------------------------------------------------------


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)
