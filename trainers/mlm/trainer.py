"""SentenceTransformerTrainer for MLM: checkpoints also hold the head and the masking counts so far, and the
counts each batch carries are summed here."""

from __future__ import annotations

from pathlib import Path

from safetensors.torch import load_file
from sentence_transformers import SentenceTransformerTrainer

from trainers.mlm.collator import STATS_KEY
from trainers.mlm.head import HEAD_FILE, MaskedLMHead, save_head
from trainers.mlm.stats import STATS_FILE, MaskingStats


class MaskedLMTrainer(SentenceTransformerTrainer):
    def __init__(self, *args, head: MaskedLMHead, stats: MaskingStats, **kwargs) -> None:
        self.head, self.stats = head, stats
        super().__init__(*args, **kwargs)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        counts = inputs.pop(STATS_KEY, None)
        if counts is not None and model.training:
            self.stats.merge(counts)
        return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)

    def _save(self, output_dir: str | None = None, state_dict=None) -> None:
        super()._save(output_dir, state_dict)
        folder = Path(output_dir if output_dir is not None else self.args.output_dir)
        save_head(self.head, folder)
        self.stats.write(folder / STATS_FILE)

    def _load_from_checkpoint(self, checkpoint_path: str, *args, **kwargs) -> None:
        super()._load_from_checkpoint(checkpoint_path, *args, **kwargs)
        folder = Path(checkpoint_path)
        device = self.head.bias.device
        self.head.load_state_dict({k: v.to(device) for k, v in load_file(str(folder / HEAD_FILE)).items()})
        if (folder / STATS_FILE).is_file():
            self.stats.__init__()
            self.stats.merge(MaskingStats.read(folder / STATS_FILE))
