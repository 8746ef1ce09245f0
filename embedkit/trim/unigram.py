"""Rebuilding a Unigram (SentencePiece-style) tokenizer.json on a subset of its ids.

`keep` is a sorted list of old ids; the new id of a token is its position in `keep`, so the relative order
of every kept token (specials first, `<mask>` last in XLM-R) is unchanged. Every place that stores an id is
remapped: the Unigram vocabulary (pieces and scores, in id order), `unk_id`, `added_tokens`, the
post-processor's special-token ids, and in tokenizer_config.json the `added_tokens_decoder` keys.
"""

from __future__ import annotations

import copy
from typing import Any

from embedkit.errors import UserError

SUPPORTED = (
    "Unigram (SentencePiece-style) tokenizers with a tokenizer.json, as XLM-R, mT5 and multilingual-E5 use"
)


def check_unigram(tokenizer: dict[str, Any], where: str) -> None:
    kind = tokenizer.get("model", {}).get("type")
    if kind != "Unigram":
        raise UserError(
            f"{where}: the tokenizer model is {kind or 'unknown'}, not Unigram; embedkit trim supports "
            f"{SUPPORTED} (WordPiece and BPE vocabularies are not supported)"
        )


def special_ids(tokenizer: dict[str, Any]) -> set[int]:
    """Ids that must survive any trim: added tokens, the unknown piece and the post-processor's ids."""
    ids = {int(token["id"]) for token in tokenizer.get("added_tokens") or []}
    unk = tokenizer["model"].get("unk_id")
    if unk is not None:
        ids.add(int(unk))
    ids.update(_post_processor_ids(tokenizer.get("post_processor")))
    return ids


def _post_processor_ids(processor: dict[str, Any] | None) -> set[int]:
    if not processor:
        return set()
    ids: set[int] = set()
    for sub in processor.get("processors") or []:  # Sequence
        ids |= _post_processor_ids(sub)
    for special in (processor.get("special_tokens") or {}).values():  # TemplateProcessing
        ids.update(int(i) for i in special.get("ids", []))
    for key in ("sep", "cls"):  # RobertaProcessing / BertProcessing: [token, id]
        if isinstance(processor.get(key), list):
            ids.add(int(processor[key][1]))
    return ids


def id_map(keep: list[int]) -> dict[int, int]:
    if keep != sorted(set(keep)):
        raise ValueError("keep must be sorted old ids without duplicates")
    return {old: new for new, old in enumerate(keep)}


def remap_tokenizer(tokenizer: dict[str, Any], keep: list[int]) -> dict[str, Any]:
    """A new tokenizer.json dict holding only the tokens of `keep` (old ids), ids renumbered."""
    mapping = id_map(keep)
    vocab = tokenizer["model"]["vocab"]
    added = {int(token["id"]) for token in tokenizer.get("added_tokens") or []}
    beyond = [old for old in keep if old >= len(vocab)]
    if any(old not in added for old in beyond):
        raise ValueError(f"ids {beyond[:5]} are neither in the Unigram vocabulary nor added tokens")
    missing = special_ids(tokenizer) - set(mapping)
    if missing:
        raise ValueError(f"special ids {sorted(missing)} are not kept")
    out = copy.deepcopy({key: value for key, value in tokenizer.items() if key != "model"})
    model = {key: value for key, value in tokenizer["model"].items() if key != "vocab"}
    model["vocab"] = [list(vocab[old]) for old in keep if old < len(vocab)]
    if model.get("unk_id") is not None:
        model["unk_id"] = mapping[int(model["unk_id"])]
    out["model"] = model
    for token in out.get("added_tokens") or []:
        token["id"] = mapping[int(token["id"])]
    _remap_post_processor(out.get("post_processor"), mapping)
    return out


def _remap_post_processor(processor: dict[str, Any] | None, mapping: dict[int, int]) -> None:
    if not processor:
        return
    for sub in processor.get("processors") or []:
        _remap_post_processor(sub, mapping)
    for special in (processor.get("special_tokens") or {}).values():
        special["ids"] = [mapping[int(i)] for i in special.get("ids", [])]
    for key in ("sep", "cls"):
        if isinstance(processor.get(key), list):
            processor[key] = [processor[key][0], mapping[int(processor[key][1])]]


def remap_tokenizer_config(config: dict[str, Any], keep: list[int]) -> dict[str, Any]:
    """tokenizer_config.json with `added_tokens_decoder` keyed by the new ids (other keys unchanged)."""
    mapping = id_map(keep)
    out = copy.deepcopy(config)
    decoder = out.get("added_tokens_decoder")
    if isinstance(decoder, dict):
        out["added_tokens_decoder"] = {str(mapping[int(old)]): entry for old, entry in decoder.items()}
    return out


def remap_model_config(config: dict[str, Any], keep: list[int]) -> dict[str, Any]:
    """config.json with `vocab_size` and the special-token ids renumbered."""
    mapping = id_map(keep)
    out = copy.deepcopy(config)
    out["vocab_size"] = len(keep)
    for key in ("pad_token_id", "bos_token_id", "eos_token_id", "sep_token_id", "cls_token_id",
                "mask_token_id", "unk_token_id", "decoder_start_token_id"):  # fmt: skip
        value = out.get(key)
        if isinstance(value, int) and value in mapping:
            out[key] = mapping[value]
    return out
