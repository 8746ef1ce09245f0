"""The built-in frequency mixture (wordfreq + training text + piece scores, per language) on the default
model's real tokenizer."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from embedkit.trim.frequency import (
    ENGLISH_WEIGHT,
    mixture_frequency,
    script_distribution,
    wordfreq_languages,
    wordfreq_token_counts,
)
from embedkit.trim.scripts import CharFilter, scripts_of


@pytest.fixture(scope="module")
def tokenizer_pair(default_model):
    from tokenizers import Tokenizer

    path = default_model / "tokenizer.json"
    return Tokenizer.from_file(str(path)), json.loads(path.read_text(encoding="utf-8"))


def test_wordfreq_counts_give_everyday_words_their_tokens(tokenizer_pair):
    tokenizer, _ = tokenizer_pair
    counts = wordfreq_token_counts(tokenizer, "en", 20_000)
    sorry, tired = tokenizer.token_to_id("\u2581sorry"), tokenizer.token_to_id("\u2581tired")
    rare = tokenizer.token_to_id("\u2581ventilator")
    assert counts[sorry] > 0 and counts[tired] > 0
    assert counts[sorry] > counts.get(rare, 0)
    assert wordfreq_languages(["hi", "te", "en"]) == ["hi", "en"]  # wordfreq has no Telugu


def test_mixture_weights_each_language_equally_whatever_its_text_size(tokenizer_pair):
    tokenizer, tokenizer_json = tokenizer_pair
    langs = ["te", "en"]
    chars = CharFilter(scripts_of(langs))
    big_english = Counter(tokenizer.encode("the news of the day " * 50, add_special_tokens=False).ids * 1000)
    small_telugu = Counter(tokenizer.encode("నీకు ఏమి కావాలి", add_special_tokens=False).ids * 2)
    mixture = mixture_frequency(
        tokenizer, tokenizer_json, chars, langs, {"en": big_english, "te": small_telugu}
    )
    telugu = set(script_distribution(tokenizer_json, chars, "Telugu")) | set(small_telugu)
    telugu_mass = sum(p for i, p in mixture.items() if i in telugu and i not in big_english)
    assert sum(mixture.values()) == pytest.approx(1.0 + ENGLISH_WEIGHT)
    assert telugu_mass == pytest.approx(1.0, abs=0.01)  # Telugu keeps its share against 1000x more English
    assert all(mixture.get(i, 0) > 0 for i in small_telugu)


def test_text_tokens_seen_once_do_not_count(tokenizer_pair):
    tokenizer, tokenizer_json = tokenizer_pair
    chars = CharFilter(scripts_of(["te"]))
    once = Counter(tokenizer.encode("నీకు", add_special_tokens=False).ids)
    twice = Counter({i: 2 for i in once})
    assert mixture_frequency(tokenizer, tokenizer_json, chars, ["te"], {"te": once}) == pytest.approx(
        script_distribution(tokenizer_json, chars, "Telugu")
    )
    assert mixture_frequency(tokenizer, tokenizer_json, chars, ["te"], {"te": twice}) != pytest.approx(
        script_distribution(tokenizer_json, chars, "Telugu")
    )
