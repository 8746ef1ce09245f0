"""Progress of one stage from the Trainer's events: a step bar (through `embedkit.progress.Progress`) with the
latest training loss and dev metric, a log line at each dev evaluation, a debug line every 5% of the stage."""

from __future__ import annotations

import contextlib
import logging
import time

from transformers import TrainerCallback

from embedkit.progress import Progress, ProgressTask

logger = logging.getLogger(__name__)


class StageProgress(TrainerCallback):
    """Reports one stage's steps to `progress`. `close()` ends its bar, also when training fails."""

    def __init__(self, progress: Progress, label: str, metric: str) -> None:
        self.progress, self.label, self.metric = progress, label, metric
        self.bar: ProgressTask | None = None
        self._open = contextlib.ExitStack()
        self.loss: float | None = None
        self.dev: float | None = None
        self.started, self.next_line = time.time(), 0

    def status(self) -> str:
        parts = []
        if self.loss is not None:
            parts.append(f"loss {self.loss:.4f}")
        if self.dev is not None:
            parts.append(f"dev {self.dev:.4f}")
        return "  ".join(parts)

    def line(self, state) -> str:
        elapsed = time.time() - self.started
        return f"{self.label}: step {state.global_step}/{state.max_steps}  {self.status()}  ({elapsed:.0f} s)"

    def on_train_begin(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            self.started = time.time()
            task = self.progress.task(self.label, total=state.max_steps, completed=state.global_step)
            self.bar = self._open.enter_context(task)

    def on_step_end(self, args, state, control, **kwargs):
        if self.bar is None:
            return
        self.bar.update(completed=state.global_step)
        self.bar.status(self.status())
        if state.global_step >= self.next_line:
            logger.debug(self.line(state))
            self.next_line = state.global_step + max(1, state.max_steps // 20)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            self.loss = float(logs["loss"])

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if metrics and self.metric in metrics:
            self.dev = float(metrics[self.metric])
        if self.bar is not None:
            self.bar.status(self.status())
            logger.info(self.line(state))

    def on_train_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.update(completed=state.global_step)
            self.bar.status(self.status())
        self.close()

    def close(self) -> None:
        self.bar = None
        self._open.close()
