"""Rich progress for a run: one bar over the stages, one over the current stage's steps with the
latest training loss and dev metric. Where stderr is not a terminal (a log file), a line every 5% of a
stage and at every dev evaluation instead."""

from __future__ import annotations

import time

from rich.progress import Progress, TaskID, TextColumn
from transformers import TrainerCallback

from embedkit.console import console, info, progress


def run_progress() -> Progress:
    return progress(TextColumn("{task.fields[status]}"))


class StageProgress(TrainerCallback):
    """Drives the step bar of one stage from the Trainer's events."""

    def __init__(self, bar: Progress, label: str, metric: str) -> None:
        self.bar, self.label, self.metric = bar, label, metric
        self.task: TaskID | None = None
        self.loss: float | None = None
        self.dev: float | None = None
        self.log_lines = not console.is_terminal
        self.started, self.next_line = time.time(), 0

    def _status(self) -> str:
        parts = []
        if self.loss is not None:
            parts.append(f"loss {self.loss:.4f}")
        if self.dev is not None:
            parts.append(f"dev {self.dev:.4f}")
        return "  ".join(parts)

    def on_train_begin(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            self.task = self.bar.add_task(
                self.label, total=state.max_steps, completed=state.global_step, status=""
            )

    def on_step_end(self, args, state, control, **kwargs):
        if self.task is not None:
            self.bar.update(self.task, completed=state.global_step, status=self._status())
            if self.log_lines and state.global_step >= self.next_line:
                self._line(state)
                self.next_line = state.global_step + max(1, state.max_steps // 20)

    def _line(self, state) -> None:
        elapsed = time.time() - self.started
        info(f"{self.label}: step {state.global_step}/{state.max_steps}  {self._status()}  ({elapsed:.0f} s)")

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            self.loss = float(logs["loss"])

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if metrics and self.metric in metrics:
            self.dev = float(metrics[self.metric])
        if self.task is not None:
            self.bar.update(self.task, status=self._status())
            if self.log_lines:
                self._line(state)

    def on_train_end(self, args, state, control, **kwargs):
        if self.task is not None:
            self.bar.update(self.task, completed=state.global_step, status=self._status())
