"""`embedkit model inspect`: the coverage check a low-resource user needs before choosing a base model."""

from __future__ import annotations

from dataclasses import asdict, dataclass


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
