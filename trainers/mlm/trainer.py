"""SentenceTransformerTrainer for MLM: each batch carries the masking counts its collator drew (summed
here), and a callback keeps the MLM head and those counts in every checkpoint and restores them on resume."""

from __future__ import annotations

import logging
from pathlib import Path

from safetensors.torch import load_file
from transformers import TrainerCallback

from trainers.checkpoints import StageTrainer
from trainers.mlm.collator import STATS_KEY, MaskedLMCollator
from trainers.mlm.head import HEAD_FILE, MaskedLMHead, save_head
from trainers.mlm.stats import STATS_FILE, MaskingStats

logger = logging.getLogger(__name__)


class MaskedLMTrainer(StageTrainer):
    def __init__(self, *args, stats: MaskingStats, **kwargs) -> None:
        self.stats = stats
        super().__init__(*args, **kwargs)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        counts = inputs.pop(STATS_KEY, None)
        if counts is not None and model.training:
            self.stats.merge(counts)
        return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)


class MaskedLMCheckpoints(TrainerCallback):
    """Writes the head and the counts so far into each checkpoint the Trainer saves; on resume
    (`resume_from`), loads them back and sets the collator's batch count, so the masks drawn next are
    those of an uninterrupted run."""

    def __init__(
        self, head: MaskedLMHead, stats: MaskingStats, collator: MaskedLMCollator, resume_from: Path | None
    ) -> None:
        self.head, self.stats, self.collator, self.resume_from = head, stats, collator, resume_from

    def on_train_begin(self, args, state, control, **kwargs):
        if self.resume_from is None:
            return
        folder = Path(self.resume_from)
        device = self.head.bias.device
        self.head.load_state_dict({k: v.to(device) for k, v in load_file(str(folder / HEAD_FILE)).items()})
        self.stats.__init__()
        self.stats.merge(MaskingStats.read(folder / STATS_FILE))
        self.collator.calls = state.global_step  # the checkpoint's trainer state, loaded by now

    def on_save(self, args, state, control, **kwargs):
        if not args.should_save:
            return
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        self.stats.write(folder / STATS_FILE)
        save_head(self.head, folder)
