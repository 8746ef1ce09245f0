"""Shared fixtures: real data paths, a tiny random model with the real XLM-R tokenizer, the default model."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# `benchmarks` (the acceptance measurements, whose independent scorers some tests check) is not an installed
# package: make it importable however pytest is started.
REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from embedkit.paths import shared_data_dir  # noqa: E402

REQUIRE_SHARED_DATA = "EMBEDKIT_REQUIRE_SHARED_DATA"


def require_shared_data() -> bool:
    """CI sets EMBEDKIT_REQUIRE_SHARED_DATA=1: there a missing real-data folder is a failure, not a skip."""
    return os.environ.get(REQUIRE_SHARED_DATA, "").strip().lower() in {"1", "true", "yes", "on"}


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real-data folder (../shared/data or $EMBEDKIT_SHARED_DATA). Tests that need it skip without it,
    except where EMBEDKIT_REQUIRE_SHARED_DATA is set, where they fail."""
    path = shared_data_dir()
    if not path.is_dir():
        message = f"real data folder {path} not present (set EMBEDKIT_SHARED_DATA)"
        if require_shared_data():
            pytest.fail(f"{message}; {REQUIRE_SHARED_DATA} is set, so this is a failure", pytrace=False)
        pytest.skip(message)
    return path


def build_tiny_model(folder: Path, hidden: int = 32, layers: int = 2, seed: int = 0) -> Path:
    """A randomly initialised BERT encoder with the real multilingual tokenizer, as an ST folder."""
    import torch
    from sentence_transformers import SentenceTransformer, models
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    from embedkit.default_model.build import tokenizer_json_path, write_tokenizer_files

    torch.manual_seed(seed)
    hf_dir = folder / "hf"
    write_tokenizer_files(hf_dir, tokenizer_json_path())
    tokenizer = PreTrainedTokenizerFast.from_pretrained(str(hf_dir))
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=4,
        intermediate_size=hidden * 2,
        max_position_embeddings=128,
        pad_token_id=tokenizer.pad_token_id,
    )
    BertModel(config).save_pretrained(str(hf_dir))
    transformer = models.Transformer(str(hf_dir), max_seq_length=64)
    pooling = models.Pooling(transformer.get_embedding_dimension(), "mean")
    model = SentenceTransformer(modules=[transformer, pooling, models.Normalize()])
    model.prompts = {"query": "query: ", "passage": "passage: "}
    model.default_prompt_name = "query"
    out = folder / "tiny-model"
    model.save(str(out))
    return out


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """Path of a tiny random sentence-transformers model (2 layers, 32 dims, real tokenizer)."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="session")
def default_model() -> Path:
    """The embedded default model (multilingual-e5-small), pulled into the user's cache once."""
    from embedkit.default_model import ensure_default

    return ensure_default()


@pytest.fixture
def read_only_dir(tmp_path) -> Path:
    """A folder nothing can be written in. For a normal user a 0555 folder; root writes through file modes,
    so as root (CI) it is a read-only tmpfs mount, skipped only where mounting is not allowed."""
    import subprocess

    folder = tmp_path / "read-only"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"root, and a read-only tmpfs cannot be mounted here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


@pytest.fixture
def logged(caplog):
    """The records of embedkit's loggers (the CLI's handler does not propagate them to the root)."""
    logger = logging.getLogger("embedkit")
    logger.addHandler(caplog.handler)
    yield caplog
    logger.removeHandler(caplog.handler)
