"""The checkpoints folder of an `indicsbert-offline` run, sampled while it trains: its size at every moment.

Runs `recipes/indicsbert-offline.yaml` as a user would (`embedkit train`, in-process) cut to a few steps
with a checkpoint at every step (`--set stages.sts.max_steps=N --set stages.sts.save_every=1`, default
N = 4), so each save replaces the one before, then the stage finishes. A thread samples the bytes under
DIR/checkpoints every 5 ms. Reported: the largest sample, the size of one complete checkpoint (the last
step's, just before it is moved into final/) and of final/. Needs ../shared/data. Alone:
`python -m benchmarks checkpoint`.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path

from embedkit.files import folder_bytes

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "indicsbert-offline.yaml"


def run() -> list[dict]:
    from embedkit.cli import main
    from embedkit.paths import shared_data_dir

    if not (shared_data_dir() / "stsb_translated_l3cube").is_dir():
        return [{"benchmark": "checkpoints", "skipped": f"needs {shared_data_dir()}/stsb_translated_l3cube"}]
    steps = int(os.environ.get("EMBEDKIT_BENCH_CHECKPOINT_STEPS", "4"))
    with tempfile.TemporaryDirectory(prefix="checkpoint-bench-") as tmp:
        out = Path(tmp) / "run"
        sampler = FolderSampler(out / "checkpoints")
        overrides = [f"stages.sts.max_steps={steps}", "stages.sts.save_every=1"]
        with sampler:
            code = main(
                [
                    "train",
                    str(RECIPE),
                    "--out",
                    str(out),
                    "--quiet",
                    *sum((["--set", o] for o in overrides), []),
                ]
            )
        if code != 0:
            raise RuntimeError(f"embedkit train exited {code}")
        final = out / "checkpoints" / "01-sts" / "final"
        return [
            {
                "benchmark": "checkpoints: indicsbert-offline, a save every step",
                "steps": steps,
                "samples": sampler.samples,
                "folder_peak_mb": round(sampler.peak / 1e6, 1),
                "one_checkpoint_mb": round(sampler.largest_checkpoint / 1e6, 1),
                "final_mb": round(folder_bytes(final) / 1e6, 1),
                "folder_after_mb": round(folder_bytes(out / "checkpoints") / 1e6, 1),
            }
        ]


class FolderSampler:
    """While the block runs, sample the bytes under `folder` every 5 ms: the peak, and the largest complete
    checkpoint-N (one holding trainer_state.json) seen."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.peak, self.largest_checkpoint, self.samples = folder, 0, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> FolderSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            if self.folder.exists():
                self.peak = max(self.peak, folder_bytes(self.folder))
                for checkpoint in self.folder.glob("*/checkpoint-*"):
                    if (checkpoint / "trainer_state.json").exists():
                        self.largest_checkpoint = max(self.largest_checkpoint, folder_bytes(checkpoint))
                self.samples += 1
            time.sleep(0.005)
