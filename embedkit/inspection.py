"""`embedkit model inspect`: the coverage check a low-resource user needs before choosing a base model."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class TextCoverage:
    name: str
    sentences: int
    words: int
    subwords: int
    unknown: int

    @property
    def fertility(self) -> float:
        return self.subwords / max(self.words, 1)

    @property
    def unk_rate(self) -> float:
        return self.unknown / max(self.subwords, 1)


def coverage(tokenizer, name: str, sentences: list[str]) -> TextCoverage:
    encoded = tokenizer(sentences, add_special_tokens=False)["input_ids"]
    unk = tokenizer.unk_token_id
    return TextCoverage(
        name=name,
        sentences=len(sentences),
        words=sum(len(s.split()) for s in sentences),
        subwords=sum(len(ids) for ids in encoded),
        unknown=sum(ids.count(unk) for ids in encoded) if unk is not None else 0,
    )


def inspect_model(model, texts: dict[str, list[str]]) -> dict:
    """Parameter split, vocabulary, limits, prompts and per-text tokenizer coverage."""
    transformer = model[0]
    auto = transformer.auto_model
    total = sum(p.numel() for p in auto.parameters())
    embedding = auto.get_input_embeddings().weight.numel()
    tokenizer = model.tokenizer
    return {
        "parameters": {"total": total, "word_embeddings": embedding, "rest": total - embedding},
        "embedding_dimension": model.get_embedding_dimension(),
        "vocab_size": len(tokenizer),
        "max_seq_length": model.max_seq_length,
        "prompts": dict(model.prompts),
        "default_prompt_name": model.default_prompt_name,
        "coverage": [
            {**asdict(c), "fertility": round(c.fertility, 3), "unk_rate": round(c.unk_rate, 4)}
            for c in (coverage(tokenizer, name, lines) for name, lines in texts.items())
        ],
    }


def trim_fidelity(model_dir: Path, texts: dict[str, list[str]]) -> dict | None:
    """For a model made by `embedkit trim`: per text, the share of its words and sentences that the trimmed
    tokenizer splits exactly as the source model's did (None for a model that was not trimmed)."""
    import json

    from tokenizers import Tokenizer

    from embedkit.trim import PROVENANCE_FILE

    provenance_path = Path(model_dir) / PROVENANCE_FILE
    if not provenance_path.is_file():
        return None
    provenance = json.loads(provenance_path.read_text(encoding="utf-8"))
    record = {
        "source_model": provenance["source_model"]["spec"],
        "source_vocab_size": provenance["source_model"]["tokenizer_size"],
        "languages": provenance["languages"],
        "texts": [],
    }
    source_tokenizer = Path(provenance["source_model"]["path"]) / "tokenizer.json"
    if not source_tokenizer.is_file():
        record["missing"] = f"{source_tokenizer} is gone: cannot compare with the source tokenizer"
        return record
    source = Tokenizer.from_file(str(source_tokenizer))
    trimmed = Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))
    for name, lines in texts.items():
        words = [word for line in lines for word in line.split()]
        same_words = sum(_pieces(source, w) == _pieces(trimmed, w) for w in words)
        same_lines = sum(_pieces(source, line) == _pieces(trimmed, line) for line in lines)
        record["texts"].append(
            {
                "name": name,
                "words_exact": round(same_words / max(len(words), 1), 4),
                "sentences_exact": round(same_lines / max(len(lines), 1), 4),
            }
        )
    return record


def _pieces(tokenizer, text: str) -> list[str]:
    encoding = tokenizer.encode(text, add_special_tokens=False)
    unk = tokenizer.token_to_id("<unk>")
    return [("<unk>" if i == unk else token) for i, token in zip(encoding.ids, encoding.tokens, strict=True)]
