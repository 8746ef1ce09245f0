"""`trim_model`: a sentence-transformers folder whose vocabulary keeps only the named languages' tokens."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corpora.languages import LANGUAGES
from embedkit import __version__
from embedkit.atomic import atomic_dir
from embedkit.errors import EmbedkitError, UserError
from embedkit.progress import SILENT, Progress
from embedkit.trim.frequency import describe_mixture, mixture_frequency
from embedkit.trim.scripts import CharFilter, scripts_of
from embedkit.trim.select import Selection, count_tokens, select_ids, uncovered_scripts
from embedkit.trim.sources import TextSource, builtin_source, user_source
from embedkit.trim.unigram import (
    SUPPORTED,
    check_unigram,
    remap_model_config,
    remap_tokenizer,
    remap_tokenizer_config,
)

log = logging.getLogger(__name__)

DEFAULT_VOCAB_SIZE = 50_000
PROVENANCE_FILE = "embedkit_trim.json"
# vocabulary files of slow tokenizers: they would still hold the old ids, so they are not copied
STALE_FILES = ("sentencepiece.bpe.model", "spiece.model", "vocab.txt", "vocab.json", "merges.txt")
MIN_SELF_CHECK_COSINE = 0.9999


@dataclass
class TrimPlan:
    """Everything decided before any file is written."""

    spec: str
    source_dir: Path
    tokenizer_json: dict[str, Any]
    langs: list[str]
    selection: Selection
    frequency_source: TextSource | None
    user_text: TextSource | None
    vocab_size: int
    min_count: int


def plan_trim(
    spec: str,
    langs: list[str],
    *,
    texts: list[Path] = (),
    corpora: list[Path] = (),
    vocab_size: int = DEFAULT_VOCAB_SIZE,
    min_count: int = 1,
    progress: Progress = SILENT,
) -> TrimPlan:
    """Resolve the model, read the text and choose the ids; raises UserError on any bad input."""
    from tokenizers import Tokenizer

    from embedkit.models import resolve_model
    from embedkit.paths import shared_data_dir

    if vocab_size < 1:
        raise UserError(f"--vocab-size {vocab_size}: must be a positive number of tokens")
    if min_count < 1:
        raise UserError(f"--min-count {min_count}: must be at least 1")
    source_dir = resolve_model(spec)
    path = source_dir / "tokenizer.json"
    if not path.is_file():
        raise UserError(
            f"model {spec!r}: {source_dir} has no tokenizer.json; embedkit trim supports {SUPPORTED}"
        )
    tokenizer_json = json.loads(path.read_text(encoding="utf-8"))
    check_unigram(tokenizer_json, str(path))
    tokenizer = Tokenizer.from_str(json.dumps(tokenizer_json))

    user = user_source(list(texts), list(corpora)) if (texts or corpora) else None
    frequency = user
    if user is None:
        frequency = builtin_source(shared_data_dir(), langs)
        if not frequency.lines:
            log.warning(
                "no built-in training text found under %s; using wordfreq and piece scores only",
                shared_data_dir(),
            )
            frequency = None
    scripts = scripts_of(langs)
    by_script = {script: [lang for lang in langs if LANGUAGES[lang].script == script] for script in scripts}
    chars = CharFilter(scripts)
    with progress.task("counting tokens", total=None):
        if user:
            counts = count_tokens(tokenizer, user.lines)
        else:
            text_counts = {
                lang: count_tokens(tokenizer, lines)
                for lang, lines in (frequency.by_lang if frequency else {}).items()
            }
            counts = mixture_frequency(tokenizer, tokenizer_json, chars, langs, text_counts)
            name = f"training text: {frequency.name}" if frequency else "no training text found"
            frequency = frequency or TextSource(name="")
            frequency.name = f"{describe_mixture(langs)}; {name}"
    selection = select_ids(
        tokenizer_json,
        chars,
        by_script,
        vocab_size=vocab_size,
        user_counts=counts if user else None,  # the user's text: all kept, then fill by score
        frequency=None if user else counts,  # the built-in mixture (already filtered)
        min_count=min_count,
        uncovered=uncovered_scripts(frequency.lines if frequency else [], chars),
    )
    return TrimPlan(
        spec, source_dir, tokenizer_json, langs, selection, frequency, user, vocab_size, min_count
    )


def trim_model(
    spec: str,
    langs: list[str],
    out: str | Path,
    *,
    texts: list[Path] = (),
    corpora: list[Path] = (),
    vocab_size: int = DEFAULT_VOCAB_SIZE,
    min_count: int = 1,
    progress: Progress = SILENT,
) -> dict[str, Any]:
    """Trim `spec` to `langs` into the new folder `out`; return the provenance written there."""
    out = Path(out)
    if out.exists():
        raise UserError(f"--out {out} already exists; choose a new folder (trim never overwrites)")
    plan = plan_trim(
        spec,
        langs,
        texts=texts,
        corpora=corpora,
        vocab_size=vocab_size,
        min_count=min_count,
        progress=progress,
    )
    from embedkit.models import load_model

    model = load_model(spec, device="cpu")
    before = sum(p.numel() for p in model.parameters())
    keep = plan.selection.keep
    with atomic_dir(out) as tmp:
        with progress.task("writing the trimmed model", total=None):
            write_trimmed(model, plan.tokenizer_json, keep, tmp)
        trimmed = self_check(plan, tmp)
        after = sum(p.numel() for p in trimmed.parameters())
        provenance = _provenance(plan, before, after)
        (tmp / PROVENANCE_FILE).write_text(json.dumps(provenance, indent=2, ensure_ascii=False) + "\n")
    if not (out / PROVENANCE_FILE).is_file():
        raise EmbedkitError(f"--out {out}: another process created it while trimming; nothing written")
    return provenance


def write_trimmed(model, tokenizer_json: dict[str, Any], keep: list[int], folder: Path) -> None:
    """Slice the word embeddings to `keep`, save the model to `folder`, then rewrite its tokenizer files."""
    import torch

    auto = model[0].auto_model
    old = auto.get_input_embeddings()
    if keep[-1] >= old.weight.shape[0]:
        raise EmbedkitError(
            f"the tokenizer has id {keep[-1]} but the embedding matrix only {old.weight.shape[0]} rows"
        )
    config = remap_model_config(auto.config.to_dict(), keep)
    pad = config.get("pad_token_id")
    new = torch.nn.Embedding(len(keep), old.embedding_dim, padding_idx=pad if isinstance(pad, int) else None)
    with torch.no_grad():
        new.weight.copy_(old.weight[torch.tensor(keep)])
    auto.set_input_embeddings(new)
    for key, value in config.items():
        if key.endswith("token_id") or key == "vocab_size":
            setattr(auto.config, key, value)
    model.save(str(folder))
    (folder / "tokenizer.json").write_text(
        json.dumps(remap_tokenizer(tokenizer_json, keep), ensure_ascii=False), encoding="utf-8"
    )
    tokenizer_config = folder / "tokenizer_config.json"
    if tokenizer_config.is_file():
        data = json.loads(tokenizer_config.read_text(encoding="utf-8"))
        tokenizer_config.write_text(
            json.dumps(remap_tokenizer_config(data, keep), indent=2, ensure_ascii=False)
        )
    for name in STALE_FILES:
        (folder / name).unlink(missing_ok=True)


def self_check(plan: TrimPlan, folder: Path):
    """Load the new folder as plain sentence-transformers does; its vocabulary, special ids and the
    embedding of fully kept text must match the source."""
    import numpy as np
    from sentence_transformers import SentenceTransformer

    from embedkit.models import load_model

    trimmed = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    keep = plan.selection.keep
    if len(trimmed.tokenizer) != len(keep):
        raise EmbedkitError(
            f"the trimmed tokenizer has {len(trimmed.tokenizer)} tokens, expected {len(keep)}"
        )
    source = load_model(plan.spec, device="cpu")
    for name in ("cls_token", "sep_token", "pad_token", "unk_token", "mask_token"):
        old_id = getattr(source.tokenizer, f"{name}_id", None)
        new_id = getattr(trimmed.tokenizer, f"{name}_id", None)
        if old_id is not None and (new_id is None or keep[new_id] != old_id):
            raise EmbedkitError(f"{name}: id {new_id} in the trimmed tokenizer does not map to {old_id}")
    sample = kept_sentences(
        source.tokenizer, set(keep), (plan.frequency_source.lines if plan.frequency_source else [])
    )
    if sample:
        a = source.encode(sample, normalize_embeddings=True, convert_to_numpy=True)
        b = trimmed.encode(sample, normalize_embeddings=True, convert_to_numpy=True)
        worst = float(np.min(np.sum(a * b, axis=1)))
        if worst < MIN_SELF_CHECK_COSINE:
            raise EmbedkitError(
                f"self-check failed: cosine {worst:.5f} between source and trimmed embeddings"
            )
    return trimmed


def kept_sentences(tokenizer, keep: set[int], lines: list[str], limit: int = 16) -> list[str]:
    """Up to `limit` lines whose every token (with specials) survives the trim."""
    found = []
    for line in lines[:: max(len(lines) // 400, 1)]:
        if set(tokenizer(line)["input_ids"]) <= keep:
            found.append(line)
            if len(found) == limit:
                break
    return found


def folder_sha256(folder: Path) -> str:
    """One hash over every file of a model folder (names and bytes), provenance files excluded."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("embedkit_")):
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _provenance(plan: TrimPlan, before: int, after: int) -> dict[str, Any]:
    previous = plan.source_dir / PROVENANCE_FILE
    source = plan.frequency_source
    return {
        "source_model": {
            "spec": plan.spec,
            "path": str(plan.source_dir),
            "sha256": folder_sha256(plan.source_dir),
            "tokenizer_size": len(plan.tokenizer_json["model"]["vocab"]),
        },
        "languages": plan.langs,
        "scripts": list(scripts_of(plan.langs)),
        "frequency_source": source.describe() if source else {"name": "none (piece scores only)"},
        "kept_text": plan.user_text is not None,
        "vocab_size_limit": plan.vocab_size,
        "min_count": plan.min_count,
        "kept_tokens": len(plan.selection.keep),
        "kept_by_rule": plan.selection.counts,
        "scripts_without_text": plan.selection.uncovered,
        "parameters": {"before": before, "after": after, "ratio": round(after / before, 4)},
        "source_trim": json.loads(previous.read_text(encoding="utf-8")) if previous.is_file() else None,
        "embedkit_version": __version__,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
