"""Masking policies and the MLM collator: properties on hand-made tagged texts (hypothesis), TLM pairing,
and the three LEM properties on real tagged Sinhala, Hindi and English text."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trainers.mlm.collator import IGNORE, STATS_KEY, MaskedLMCollator
from trainers.mlm.masking import RANDOM, Piece, lem_plan, random_plan, replace_tokens, stochastic_budget
from trainers.mlm.pairs import pair_rows
from trainers.mlm.stats import MaskingStats

PROBS = {"ENT": 1.0, "VERB": 0.5, "NOUN": 0.5}
WORDS = ["Paris", "organisation", "said", "talks", "ශ්‍රී", "ලංකාවේ", "ජනාධිපති", "भारत", "सरकार", "ने", "कहा", "x"]


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import PreTrainedTokenizerFast

    from embedkit.default_model.build import tokenizer_json_path

    return PreTrainedTokenizerFast(
        tokenizer_file=str(tokenizer_json_path()),
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        sep_token="</s>",
        pad_token="<pad>",
        cls_token="<s>",
        mask_token="<mask>",
    )


# --- hand-made texts: words, some of them tagged ----------------------------------------------------


@st.composite
def tagged_text(draw) -> dict:
    """A text of real words with NOUN / VERB / ENT spans over whole words or runs of words."""
    words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=30))
    starts, text = [], ""
    for word in words:
        starts.append(len(text))
        text += word + " "
    text = text.rstrip()
    spans, i = [], 0
    while i < len(words):
        length = draw(st.integers(1, 3))
        label = draw(st.sampled_from(["ENT", "VERB", "NOUN", None, None]))
        last = min(i + length, len(words)) - 1
        if label:
            spans.append({"start": starts[i], "end": starts[last] + len(words[last]), "label": label})
        i = last + 1
    return {"text": text, "spans": spans}


def pieces_from(draw_words: list[int]) -> list[Piece]:
    """Pieces of words of the given subword counts, laid out as 'aaa bbb': each subword one character."""
    pieces, position, char = [], 1, 0
    for word, count in enumerate(draw_words):
        for _ in range(count):
            pieces.append(Piece(position, char, char + 1, word))
            position, char = position + 1, char + 1
        char += 1  # the space
    return pieces


def word_spans(words: list[int], labels: list[str | None]) -> list[dict]:
    spans, char = [], 0
    for count, label in zip(words, labels, strict=False):
        if label:
            spans.append({"start": char, "end": char + count, "label": label})
        char += count + 1
    return spans


@settings(max_examples=200, deadline=None)
@given(
    words=st.lists(st.integers(1, 4), min_size=1, max_size=40),
    labels=st.lists(st.sampled_from(["ENT", "VERB", "NOUN", None]), min_size=40, max_size=40),
    ratio=st.floats(0.05, 0.5),
    seed=st.integers(0, 2**32 - 1),
)
def test_lem_plan_properties(words, labels, ratio, seed):
    pieces = pieces_from(words)
    spans = word_spans(words, labels)
    plan = lem_plan(pieces, spans, ratio, PROBS, np.random.default_rng(seed))
    positions = [m.index for m in plan.masks]
    assert len(positions) == len(set(positions)), "a subword masked twice"
    assert set(positions) <= {p.index for p in pieces}
    for _, chosen in plan.chosen_spans:  # exactly one masked subword in each chosen span
        assert len(set(chosen) & set(positions)) == 1
    assert all(m.in_span for m in plan.masks if m.source != RANDOM)
    # budget: floor or ceil of ratio x pieces, always reached when there are enough words
    assert len(positions) <= int(np.ceil(ratio * len(pieces)))
    if len(words) >= ratio * len(pieces) + 1:
        assert len(positions) >= int(np.floor(ratio * len(pieces)))
    # a random mask never falls into a word holding a chosen span, and random words get one subword each
    chosen_positions = {p for _, chosen in plan.chosen_spans for p in chosen}
    word_of = {p.index: p.word for p in pieces}
    chosen_words = {word_of[p] for p in chosen_positions}
    randoms = [m.index for m in plan.masks if m.source == RANDOM]
    assert not {word_of[p] for p in randoms} & chosen_words
    if len(words) >= ratio * len(pieces) + 1:
        assert len({word_of[p] for p in randoms}) == len(randoms)


def test_lem_takes_entities_first_then_verbs_then_nouns():
    words = [1] * 20
    labels = ["NOUN", "VERB", "ENT"] * 2 + [None] * 14
    plan = lem_plan(
        pieces_from(words),
        word_spans(words, labels),
        0.1,
        PROBS | {"VERB": 1, "NOUN": 1},
        np.random.default_rng(0),
    )
    assert [m.source for m in plan.masks] == ["ENT", "ENT"]
    plan = lem_plan(
        pieces_from(words),
        word_spans(words, labels),
        0.2,
        PROBS | {"VERB": 1, "NOUN": 1},
        np.random.default_rng(0),
    )
    assert sorted(m.source for m in plan.masks) == ["ENT", "ENT", "VERB", "VERB"]
    none = lem_plan(
        pieces_from(words),
        word_spans(words, labels),
        0.2,
        {"ENT": 0, "VERB": 0, "NOUN": 0},
        np.random.default_rng(0),
    )
    assert {m.source for m in none.masks} == {RANDOM} and not none.chosen_spans


@settings(max_examples=100, deadline=None)
@given(words=st.lists(st.integers(1, 4), min_size=1, max_size=40), seed=st.integers(0, 2**32 - 1))
def test_random_whole_word_masks_whole_words(words, seed):
    pieces = pieces_from(words)
    plan = random_plan(pieces, 0.15, np.random.default_rng(seed), whole_word=True)
    masked = {m.index for m in plan.masks}
    for word in range(len(words)):
        members = {p.index for p in pieces if p.word == word}
        assert members <= masked or not members & masked
    plain = random_plan(pieces, 0.15, np.random.default_rng(seed))
    assert len(plain.masks) == stochastic_budget(len(pieces), 0.15, np.random.default_rng(seed))


def test_stochastic_budget_is_unbiased():
    rng = np.random.default_rng(0)
    draws = [stochastic_budget(7, 0.15, rng) for _ in range(20000)]
    assert set(draws) == {1, 2} and abs(np.mean(draws) - 1.05) < 0.01


def test_80_10_10_replacement():
    rng = np.random.default_rng(0)
    ids = np.arange(100000) % 50 + 10
    positions = list(range(0, 100000))
    kinds = Counter(
        replace_tokens(ids, positions, rng, mask_id=4, vocab_size=60, special_ids={0, 1, 2, 3, 4})
    )
    assert abs(kinds["mask"] / 1e5 - 0.8) < 0.01 and abs(kinds["random"] / 1e5 - 0.1) < 0.01
    assert (ids == 4).sum() == kinds["mask"] and ids.min() >= 4


# --- the collator, with the real tokenizer -------------------------------------------------------------


def masked_positions(batch, b: int) -> list[int]:
    return [int(i) for i in np.flatnonzero(batch["label"][b].numpy() != IGNORE)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(tagged_text(), min_size=1, max_size=6), seed=st.integers(0, 1000))
def test_collator_masks_inside_spans_and_never_prompt_or_specials(tokenizer, rows, seed):
    collator = MaskedLMCollator(tokenizer, "lem", 0.15, PROBS, max_length=48, prompt="query: ", seed=seed)
    batch = collator(rows)
    plain = collator.encode(rows)
    ids = np.array(plain["input_ids"])
    for b in range(len(rows)):
        encoding = plain.encodings[b]
        for position in masked_positions(batch, b):
            start = encoding.offsets[position][0]
            start += "query: "[start : start + 1] == " "  # offsets may count the space before a word
            assert ids[b, position] not in tokenizer.all_special_ids
            assert start >= len("query: "), "the prompt is never masked"
            assert batch["label"][b, position] == ids[b, position]
        unmasked = batch["label"][b].numpy() == IGNORE
        assert (batch["text_input_ids"][b].numpy()[unmasked] == ids[b][unmasked]).all()
    stats = batch[STATS_KEY]
    assert stats["subwords_per_chosen_span_max"] <= 1
    assert stats["entity_mask_in_span_ratio"] in (None, 1.0)  # spans are whole words here


def test_collator_is_seeded_per_batch(tokenizer):
    rows = [{"text": "The organisation said talks in Paris", "spans": []}] * 4
    first = MaskedLMCollator(tokenizer, "random", seed=3)
    second = MaskedLMCollator(tokenizer, "random", seed=3)
    a, b = first(rows), second(rows)
    assert (a["label"] == b["label"]).all()
    assert second.calls == 1  # the next batch draws new masks; a resumed run sets `calls` to its step


# --- TLM -----------------------------------------------------------------------------------------------


def test_pairs_from_aligned_rows_and_both_sides_masked(tokenizer):
    from datasets import Dataset

    span = [{"start": 0, "end": 5, "label": "ENT"}]
    rows = [
        {"text": "Paris talks today", "lang": "en", "spans": span, "pair": "news:1"},
        {
            "text": "පැරිස් සාකච්ඡා",
            "lang": "si",
            "spans": [{"start": 0, "end": 6, "label": "ENT"}],
            "pair": "news:1",
        },
        {"text": "பாரிஸ் பேச்சு", "lang": "ta", "spans": [], "pair": "news:1"},
        {"text": "Lonely line", "lang": "en", "spans": [], "pair": "news:2"},
        {"text": "No pair at all", "lang": "en", "spans": [], "pair": ""},
    ]
    pairs = pair_rows(Dataset.from_list(rows), seed=0)
    assert len(pairs) == 3  # en-si, en-ta, si-ta of line 1; nothing from line 2 or the unpaired row
    assert {frozenset((r["lang"], r["lang_pair"])) for r in pairs} == {
        frozenset(p) for p in (("en", "si"), ("en", "ta"), ("si", "ta"))
    }
    collator = MaskedLMCollator(tokenizer, "lem", 0.3, PROBS, prompt="query: ", pairs=True, seed=0)
    batch = collator(list(pairs))
    plain = collator.encode(list(pairs))
    for b in range(len(pairs)):
        sides = {plain.encodings[b].sequence_ids[p] for p in masked_positions(batch, b)}
        assert sides == {0, 1}, "both texts of a pair carry masks"
    text = tokenizer.decode(plain["input_ids"][0])
    assert pairs[0]["text"] in text and pairs[0]["text_pair"] in text and "query: " + pairs[0]["text"] in text
    assert batch[STATS_KEY]["texts"] == 2 * len(pairs)


# --- the three properties on real tagged text -----------------------------------------------------------


def first_lines(path: Path, count: int, out: Path) -> Path:
    with open(path, encoding="utf-8") as handle:
        out.write_text("".join(next(handle) for _ in range(count)), encoding="utf-8")
    return out


def test_lem_on_real_tagged_sinhala_hindi_english(tmp_path, shared_data, tokenizer):
    """NTREX lines tagged by the real taggers (hi: hindiwsd, si: sinling, en: spaCy), built from aligned files
    so rows keep pair ids: >= 95% of entity masks inside tagged spans, one masked subword per chosen span,
    masked subwords within 1% of the budget; TLM pairs too."""
    from corpora import build_corpus, load_corpus

    folder = shared_data / "ntrex128"
    inputs = [
        str(first_lines(folder / f"newstest2019-{name}.txt", 400, tmp_path / f"news.{lang}.txt"))
        for name, lang in (("ref.hin", "hi"), ("ref.sin", "si"), ("src.eng", "en"))
    ]
    data = load_corpus(build_corpus("tagged", inputs, ["hi", "si", "en"], tmp_path / "tagged", fmt="aligned"))
    assert sorted(set(data["lang"])) == ["en", "hi", "si"] and all(data["pair"])
    rows = list(data)
    for pairs, texts in ((False, rows), (True, list(pair_rows(data, seed=0)))):
        collator = MaskedLMCollator(
            tokenizer, "lem", 0.15, PROBS, max_length=128, prompt="query: ", pairs=pairs
        )
        stats = MaskingStats()
        for start in range(0, len(texts), 32):
            stats.merge(collator(texts[start : start + 32])[STATS_KEY])
        found = stats.to_dict()
        assert found["texts"] == len(texts) * (2 if pairs else 1)
        assert found["entity_masks"] > 0.5 * found["masked_tokens"]
        assert found["entity_mask_in_span_ratio"] >= 0.95, found
        assert found["subwords_per_chosen_span_max"] == 1, found
        assert abs(found["budget_ratio"] - 1) <= 0.01, found
        assert set(found["chosen_spans_by_type"]) == {"ENT", "VERB", "NOUN"}
