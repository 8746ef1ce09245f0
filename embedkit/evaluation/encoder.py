"""The model side of an evaluation: which model (name + content revision), under which prompt, and an mteb
encoder that encodes each distinct (prompt, text) once per run.

mteb's own `CachedEmbeddingWrapper` keys its on-disk cache by task, so texts shared between tasks (the English
side of FLORES for 14 language pairs, candidate words, repeated STS sentences) are encoded again for every
task; here one in-memory cache serves every task of the run.

Prompt policy: one prompt for every text of a run — the model's default prompt unless `--prompt NAME|none`
says otherwise. The prompt name is recorded as mteb's `experiment_kwargs` ({"prompt": NAME}), so results under
different prompts never mix (they live in separate experiment folders); compare models only under the same
prompt.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from mteb.models.abs_encoder import AbsEncoder

from embedkit.errors import UserError
from embedkit.progress import SILENT, Progress

if TYPE_CHECKING:
    from mteb.abstasks.task_metadata import TaskMetadata
    from mteb.models.model_meta import ModelMeta
    from mteb.types import PromptType
    from sentence_transformers import SentenceTransformer
    from torch.utils.data import DataLoader

NO_PROMPT = "none"
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".onnx")


def resolve_prompt(model: SentenceTransformer, name: str | None) -> tuple[str, str]:
    """(prompt name, prompt text) for `--prompt NAME|none`; None means the model's own default prompt."""
    if name is None:
        name = model.default_prompt_name or NO_PROMPT
    if name == NO_PROMPT:
        return NO_PROMPT, ""
    prompts = {k: v for k, v in (model.prompts or {}).items() if v}
    if name not in prompts:
        known = ", ".join(sorted(prompts)) or "(the model has no prompts)"
        raise UserError(f"--prompt {name!r}: the model has no such prompt; use one of {known}, or none")
    return name, prompts[name]


def content_revision(folder: Path) -> str:
    """A short hash of a model folder's weights and configs: same files, same revision (results are
    resumable)."""
    digest = hashlib.sha256()
    files = sorted(
        p for p in folder.rglob("*") if p.is_file() and (p.suffix in _WEIGHT_SUFFIXES or p.suffix == ".json")
    )
    for path in files:
        digest.update(str(path.relative_to(folder)).encode())
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 22), b""):
                digest.update(block)
    return digest.hexdigest()[:12]


def model_name(spec: str, folder: Path) -> str:
    """mteb needs "org/name": `embedkit/default`, the Hub id, or `local/<folder>` (a run's `model` folder is
    named after its run)."""
    from embedkit.models import DEFAULT
    from mteb_tasks.sources import is_hub_id

    if spec == DEFAULT:
        return "embedkit/default"
    if is_hub_id(spec):
        return spec
    label = folder.parent.name if folder.name == "model" else folder.name
    return f"local/{label}"


def model_meta(model: SentenceTransformer, name: str, revision: str, prompt_name: str) -> ModelMeta:
    from mteb.models.model_meta import ModelMeta, ScoringFunction

    similarity = model.similarity_fn_name or "cosine"
    return ModelMeta.create_empty(
        overwrites=dict(
            name=name,
            revision=revision,
            embed_dim=model.get_embedding_dimension(),
            max_tokens=model.max_seq_length,
            n_parameters=sum(p.numel() for p in model.parameters()),
            similarity_fn_name=ScoringFunction.from_str(similarity),
            framework=["Sentence Transformers", "PyTorch"],
            use_instructions=prompt_name != NO_PROMPT,
            experiment_kwargs={"prompt": prompt_name},
        )
    )


class CachedEncoder(AbsEncoder):
    """mteb encoder: every text gets `prompt`; each distinct (prompt, text) is encoded once per run."""

    def __init__(self, model: SentenceTransformer, meta: ModelMeta, prompt: str, batch_size: int = 128):
        self.model = model
        self.mteb_model_meta = meta
        self.prompt = prompt
        self.batch_size = batch_size
        self.progress: Progress = SILENT  # where encoding progress goes; set by the runner
        self.texts_encoded = 0  # distinct texts sent to the model
        self.texts_requested = 0  # texts mteb asked for
        self._vectors: dict[tuple[str, str], np.ndarray] = {}

    def encode(
        self,
        inputs: DataLoader,
        *,
        task_metadata: TaskMetadata,
        hf_split: str,
        hf_subset: str,
        prompt_type: PromptType | None = None,
        **kwargs: Any,
    ) -> np.ndarray:
        texts = [text for batch in inputs for text in batch["text"]]
        self.texts_requested += len(texts)
        missing = [t for t in dict.fromkeys(texts) if (self.prompt, t) not in self._vectors]
        if missing:
            self._encode(missing, f"{task_metadata.name} {hf_subset}")
        return np.stack([self._vectors[(self.prompt, t)] for t in texts])

    def _encode(self, texts: list[str], what: str) -> None:
        # Longest first in chunks, so progress moves while padding stays as low as one big call's.
        order = sorted(texts, key=len, reverse=True)
        chunk = self.batch_size * 8
        with self.progress.task(f"  encoding {what}", total=len(order)) as bar:
            for start in range(0, len(order), chunk):
                part = order[start : start + chunk]
                vectors = self.model.encode(
                    part,
                    prompt=self.prompt,
                    batch_size=self.batch_size,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
                for text, vector in zip(part, vectors, strict=True):
                    self._vectors[(self.prompt, text)] = vector.astype(np.float32, copy=False)
                bar.advance(len(part))
        self.texts_encoded += len(texts)
