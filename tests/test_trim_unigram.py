"""Id remapping of hand-made Unigram tokenizers, and which ids a trim keeps."""

from __future__ import annotations

import json

import pytest
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors

from embedkit.errors import UserError
from embedkit.trim.scripts import CharFilter, parse_langs
from embedkit.trim.select import select_ids
from embedkit.trim.unigram import check_unigram, remap_tokenizer, remap_tokenizer_config, special_ids

SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]
# pieces with and without the word prefix, Latin, Devanagari and Tamil; <mask> last as in XLM-R
PIECES = [
    ("▁", -2.0), ("a", -3.0), ("b", -3.1), ("c", -3.2), ("▁a", -3.5), ("▁b", -3.6), ("ab", -4.0),
    ("▁ab", -4.1), ("bc", -4.2), ("▁abc", -5.0), ("क", -3.3), ("▁क", -3.4), ("म", -3.3), ("ल", -3.3),
    ("कम", -4.5), ("▁कमल", -6.0), ("த", -3.3), ("▁த", -3.4), ("மி", -4.4), ("ழ", -3.3), ("-", -3.0),
    ("▁-", -3.9), ("cab", -7.0), ("▁ca", -6.5),
]  # fmt: skip


def build(processor: str = "template") -> dict:
    vocab = [(token, 0.0) for token in SPECIALS] + PIECES + [("<mask>", 0.0)]
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=3, byte_fallback=False))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.decoder = decoders.Metaspace()
    tokenizer.add_special_tokens([*SPECIALS, "<mask>"])
    if processor == "template":
        tokenizer.post_processor = processors.TemplateProcessing(
            single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
        )
    else:
        tokenizer.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    return json.loads(tokenizer.to_str())


def load(data: dict) -> Tokenizer:
    return Tokenizer.from_str(json.dumps(data))


def ids_of(data: dict, *pieces: str) -> list[int]:
    vocab = [piece for piece, _ in data["model"]["vocab"]]
    return [vocab.index(piece) for piece in pieces]


TEXTS = ["ab abc", "a b <mask> ab", "कमल क", "abc-ab", "cab"]


@pytest.mark.parametrize("processor", ["template", "roberta"])
def test_kept_text_tokenizes_identically_and_ids_map_back(processor):
    original = build(processor)
    old = load(original)
    needed = set(special_ids(original))
    for text in TEXTS:
        needed |= set(old.encode(text).ids)
    keep = sorted(needed)
    assert len(keep) < len(original["model"]["vocab"])  # something was dropped
    trimmed = remap_tokenizer(original, keep)
    new = load(trimmed)
    assert new.get_vocab_size() == len(keep)
    for text in TEXTS:
        before, after = old.encode(text), new.encode(text)
        assert after.tokens == before.tokens
        assert [keep[i] for i in after.ids] == before.ids
    pair_before, pair_after = old.encode("ab", "कमल"), new.encode("ab", "कमल")
    assert [keep[i] for i in pair_after.ids] == pair_before.ids


def test_specials_mask_and_unknown_are_remapped():
    original = build()
    keep = sorted({0, 1, 2, 3, *ids_of(original, "▁", "a", "▁a", "ab", "▁ab"), 28})
    trimmed = remap_tokenizer(original, keep)
    new = load(trimmed)
    mask = new.token_to_id("<mask>")
    assert mask == len(keep) - 1 and keep[mask] == ids_of(original, "<mask>")[0]
    assert {t["content"]: t["id"] for t in trimmed["added_tokens"]} == {
        "<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "<mask>": len(keep) - 1,
    }  # fmt: skip
    assert trimmed["model"]["unk_id"] == 3
    # 'c' was dropped: it becomes the unknown piece, under its new id
    encoded = new.encode("ab c", add_special_tokens=False)
    assert encoded.ids == [new.token_to_id("▁ab"), new.token_to_id("▁"), 3]
    # without the prefixed piece the best path left is '▁' + 'ab' (-6.0), not '▁a' + 'b' (-6.6)
    keep_bare = [i for i in keep if i != ids_of(original, "▁ab")[0]]
    assert load(remap_tokenizer(original, keep_bare)).encode("ab", add_special_tokens=False).tokens == [
        "▁",
        "ab",
    ]


def test_refuses_to_drop_a_special_or_to_reorder():
    original = build()
    with pytest.raises(ValueError, match="special ids"):
        remap_tokenizer(original, [0, 1, 2, 4, 5])
    with pytest.raises(ValueError, match="sorted"):
        remap_tokenizer(original, [0, 2, 1, 3])


def test_tokenizer_config_added_tokens_decoder_is_rekeyed():
    config = {"added_tokens_decoder": {"0": {"content": "<s>"}, "28": {"content": "<mask>"}}, "x": 1}
    out = remap_tokenizer_config(config, [0, 5, 28])
    assert out == {"added_tokens_decoder": {"0": {"content": "<s>"}, "2": {"content": "<mask>"}}, "x": 1}


def test_non_unigram_tokenizer_is_refused():
    wordpiece = json.loads(Tokenizer(models.WordPiece({"[UNK]": 0, "a": 1}, unk_token="[UNK]")).to_str())
    with pytest.raises(UserError, match="WordPiece, not Unigram.*supports Unigram"):
        check_unigram(wordpiece, "tokenizer.json")


def test_selection_keeps_script_characters_and_ranks_by_frequency_then_score():
    original = build()
    langs = parse_langs("hi,en")
    chars = CharFilter(("Devanagari", "Latin"))
    by_script = {"Devanagari": ["hi"], "Latin": ["en"]}
    from collections import Counter

    frequency = Counter({ids_of(original, "bc")[0]: 5})
    selection = select_ids(original, chars, by_script, vocab_size=20, frequency=frequency)
    kept = {original["model"]["vocab"][i][0] if i < 29 else "?" for i in selection.keep}
    assert langs == ["hi", "en"]
    assert {"a", "b", "c", "▁a", "क", "▁क", "म", "ल", "-", "▁-", "▁", "<mask>", "<unk>"} <= kept
    assert not kept & {"த", "▁த", "மி", "ழ"}  # Tamil is not a named language
    assert "bc" in kept  # the frequency text's token goes before higher-scored pieces
    assert len(selection.keep) == 20
    ranked = [p for p in ("ab", "▁ab", "कम", "▁abc", "▁कमल", "▁ca", "cab") if p in kept]
    assert ranked == ["ab", "▁ab"]  # then by piece score, best first


def test_selection_errors():
    original = build()
    with pytest.raises(UserError, match="no Sinhala pieces.*cannot represent"):
        select_ids(original, CharFilter(("Sinhala",)), {"Sinhala": ["si"]}, vocab_size=100)
    with pytest.raises(
        UserError, match="--vocab-size 10 is smaller than the 1[0-9] tokens that must be kept"
    ):
        select_ids(original, CharFilter(("Latin", "Devanagari")), {"Latin": ["en"]}, vocab_size=10)
    with pytest.raises(UserError, match="unknown language code 'xx'"):
        parse_langs("hi,xx")
