"""Trimmed vs untrimmed model, side by side in one run: folder size, parameters, encode throughput, and the
time of one training step (AdamW, batch 16, texts of NTREX-128) for a contrastive loss with trainable word
embeddings and for the `mlm` stage's loss (the tied head over the whole vocabulary at the masked positions),
with the word embeddings frozen and trained. `ratio` = trimmed / untrimmed.

Defaults: the default model, trimmed with `embedkit trim default --langs hi,mr,bn,gu,pa,or,ta,te,kn,ml,si,
ur,ne,en` into a temporary folder. EMBEDKIT_BENCH_MODEL, EMBEDKIT_BENCH_TRIM_LANGS choose others;
EMBEDKIT_BENCH_TRIMMED names an existing trimmed folder to use instead of trimming. Needs ../shared/data.
Run alone with `python -m benchmarks trim`.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

LANGS = "hi,mr,bn,gu,pa,or,ta,te,kn,ml,si,ur,ne,en"
BATCH, STEPS, MAX_LENGTH, ENCODE_TEXTS = 16, 3, 64, 256


def run() -> list[dict]:
    from embedkit.files import folder_bytes
    from embedkit.models import load_model, resolve_model
    from embedkit.paths import shared_data_dir
    from embedkit.trim import parse_langs, trim_model

    spec = os.environ.get("EMBEDKIT_BENCH_MODEL", "default")
    langs = os.environ.get("EMBEDKIT_BENCH_TRIM_LANGS", LANGS)
    if not (shared_data_dir() / "ntrex128").is_dir():
        return [{"benchmark": "trim", "skipped": f"needs {shared_data_dir()}/ntrex128"}]
    texts = _texts(shared_data_dir())
    with tempfile.TemporaryDirectory(prefix="trim-bench-") as tmp:
        trimmed_dir = os.environ.get("EMBEDKIT_BENCH_TRIMMED")
        trim_s = None
        if not trimmed_dir:
            started = time.perf_counter()
            trimmed_dir = str(Path(tmp) / "trimmed")
            trim_model(spec, parse_langs(langs), trimmed_dir)
            trim_s = round(time.perf_counter() - started, 1)
        folders = {"untrimmed": resolve_model(spec), "trimmed": Path(trimmed_dir)}
        measured: dict[str, dict[str, float]] = {}
        for name, folder in folders.items():
            model = load_model(str(folder), device="cpu")
            model.max_seq_length = MAX_LENGTH
            measured[name] = {
                "folder MB": folder_bytes(folder) / 1e6,
                "parameters (M)": sum(p.numel() for p in model.parameters()) / 1e6,
                "vocabulary": len(model.tokenizer),
                "encode texts/s": _encode_rate(model, texts[:ENCODE_TEXTS]),
                "step s, contrastive, embeddings trained": _contrastive_step(model, texts),
                "step s, mlm, embeddings frozen": _mlm_step(model, texts, train_embeddings=False),
                "step s, mlm, embeddings trained": _mlm_step(model, texts, train_embeddings=True),
            }
            del model
    rows = []
    for metric in measured["untrimmed"]:
        before, after = measured["untrimmed"][metric], measured["trimmed"][metric]
        rows.append(
            {
                "benchmark": f"trim {spec} ({len(parse_langs(langs))} langs): {metric}",
                "untrimmed": round(before, 4),
                "trimmed": round(after, 4),
                "ratio": round(after / before, 3) if before else None,
            }
        )
    if trim_s is not None:
        rows.append({"benchmark": f"trim {spec}: wall time of `embedkit trim`", "trimmed": trim_s})
    return rows


def _texts(shared: Path) -> list[str]:
    """Interleaved lines of NTREX-128 in English and the Indic languages (a realistic mixed batch)."""
    files = sorted((shared / "ntrex128").glob("newstest2019-*.txt"))
    columns = [path.read_text(encoding="utf-8").splitlines()[:200] for path in files]
    return [line for row in zip(*columns, strict=True) for line in row if line.strip()]


def _encode_rate(model, texts: list[str]) -> float:
    model.encode(texts[:32], batch_size=32)  # warm-up
    started = time.perf_counter()
    model.encode(texts, batch_size=32)
    return len(texts) / (time.perf_counter() - started)


def _median_step(parameters, loss_of_batch, batches) -> float:
    import torch

    optimizer = torch.optim.AdamW([p for p in parameters if p.requires_grad], lr=1e-5)
    times = []
    for i, batch in enumerate(batches[: STEPS + 1]):
        started = time.perf_counter()
        optimizer.zero_grad()
        loss_of_batch(batch).backward()
        optimizer.step()
        if i:  # the first step allocates the optimizer state
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def _contrastive_step(model, texts: list[str]) -> float:
    from sentence_transformers.losses import MultipleNegativesRankingLoss

    model.train()
    for p in model.parameters():
        p.requires_grad_(True)
    loss = MultipleNegativesRankingLoss(model)
    pairs = [(texts[i], texts[i + 1]) for i in range(0, len(texts) - 1, 2)]
    batches = [pairs[i : i + BATCH] for i in range(0, BATCH * (STEPS + 1), BATCH)]

    def step(batch):
        anchors = model.preprocess([a for a, _ in batch])
        positives = model.preprocess([b for _, b in batch])
        return loss([anchors, positives], labels=None)

    seconds = _median_step(model.parameters(), step, batches)
    model.eval()
    return seconds


def _mlm_step(model, texts: list[str], *, train_embeddings: bool) -> float:
    import torch

    from trainers.mlm.head import MaskedLMHead, MaskedLMLoss, encoder_of

    encoder = encoder_of(model)
    model.train()
    for p in model.parameters():
        p.requires_grad_(True)
    encoder.get_input_embeddings().weight.requires_grad_(train_embeddings)
    head = MaskedLMHead(encoder.config, encoder.get_input_embeddings().weight.shape[0])
    loss = MaskedLMLoss(model, head)
    generator = torch.Generator().manual_seed(0)
    batches = [texts[i : i + BATCH] for i in range(0, BATCH * (STEPS + 1), BATCH)]
    special = set(model.tokenizer.all_special_ids)

    def step(batch):
        features = model.preprocess(batch)
        ids = features["input_ids"]
        maskable = ~torch.isin(ids, torch.tensor(sorted(special)))
        picked = maskable & (torch.rand(ids.shape, generator=generator) < 0.15)
        labels = torch.where(picked, ids, torch.full_like(ids, -100))
        features["input_ids"] = torch.where(picked, torch.full_like(ids, model.tokenizer.mask_token_id), ids)
        return loss([features], labels)

    seconds = _median_step([*model.parameters(), *head.parameters()], step, batches)
    model.eval()
    return seconds
