"""The acceptance trim (`embedkit trim default --langs <14 languages>`) on the evaluation sets' text: no
`<unk>` the untrimmed tokenizer would not produce, and most words split exactly as before. Only the plan
and the tokenizer are built (no weights), so this runs in about a minute."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from embedkit.trim import parse_langs, plan_trim
from embedkit.trim.unigram import remap_tokenizer

LANGS = "hi,mr,bn,gu,pa,or,ta,te,kn,ml,si,ur,ne,en"
ISO3 = {
    "hi": "hin", "mr": "mar", "bn": "ben", "gu": "guj", "pa": "pan", "or": "ory", "ta": "tam",
    "te": "tel", "kn": "kan", "ml": "mal", "si": "sin", "ur": "urd", "ne": "npi", "en": "eng",
}  # fmt: skip


def eval_files(shared: Path) -> dict[str, list[Path]]:
    """The test-split files of the acceptance tasks, by language (English gathers every English side)."""
    files: dict[str, list[Path]] = {}
    for lang in parse_langs(LANGS):
        code = ISO3[lang]
        found = sorted((shared / "flores200/devtest").glob(f"{code}_*.devtest"))
        found += sorted((shared / "tatoeba").glob(f"tatoeba.{code[:3]}-eng.{code[:3]}"))
        found += sorted((shared / "muse_dictionaries").glob(f"en-{lang}.dict"))
        files[lang] = found
    files["en"] += sorted((shared / "tatoeba").glob("tatoeba.*-eng.eng"))
    files["hi"].append(shared / "stsb_translated_l3cube/hindi/sts-test-hi.tsv")
    files["mr"] += [
        shared / "stsb_translated_l3cube/marathi/sts-test-mr.tsv",
        shared / "mahasts_l3cube/test.csv",
    ]
    files["si"].append(shared / "sinhala_tamil_short_sts_nlpcuom/sinhala/test.csv")
    files["ta"].append(shared / "sinhala_tamil_short_sts_nlpcuom/tamil/test.csv")
    return files


@pytest.fixture(scope="module")
def tokenizers_pair(default_model, shared_data):
    from tokenizers import Tokenizer

    plan = plan_trim("default", parse_langs(LANGS))
    source = Tokenizer.from_file(str(default_model / "tokenizer.json"))
    trimmed = Tokenizer.from_str(json.dumps(remap_tokenizer(plan.tokenizer_json, plan.selection.keep)))
    return source, trimmed, plan


def test_acceptance_trim_fits_the_parameter_budget(tokenizers_pair):
    _source, trimmed, plan = tokenizers_pair
    kept = len(plan.selection.keep)
    assert kept == trimmed.get_vocab_size() == 50_000
    rest = 117_653_760 - 250_037 * 384  # the default model's parameters outside the word embeddings
    assert (rest + kept * 384) / 117_653_760 <= 0.35
    assert "ntrex128" in plan.frequency_source.name or any(
        "ntrex128" in f for f in plan.frequency_source.files
    )
    assert not any("devtest" in f or "/test" in f for f in plan.frequency_source.files if "tico19" not in f)


def test_everyday_pieces_are_kept(tokenizers_pair):
    # pieces the news/health training text never shows; the wordfreq and piece-score parts of the mixture do
    source, trimmed, _plan = tokenizers_pair
    for piece in ("\u2581sorry", "\u2581tired", "\u2581तुम्हारी", "\u2581تمہیں", "\u2581నీకు"):
        assert source.token_to_id(piece) is not None
        assert trimmed.token_to_id(piece) is not None, piece


def test_eval_text_gets_no_new_unknown_tokens(tokenizers_pair, shared_data):
    source, trimmed, _plan = tokenizers_pair
    unk_old, unk_new = source.token_to_id("<unk>"), trimmed.token_to_id("<unk>")
    report = {}
    for lang, files in eval_files(shared_data).items():
        lines = [
            line for path in files for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
        ]
        assert lines, f"no evaluation text found for {lang}"
        new_unknowns, words, same = [], 0, 0
        for line, before, after in zip(
            lines,
            source.encode_batch(lines, add_special_tokens=False),
            trimmed.encode_batch(lines, add_special_tokens=False),
            strict=True,
        ):
            if after.ids.count(unk_new) > before.ids.count(unk_old):
                new_unknowns.append(line)
        for word in {w for line in lines[:2000] for w in line.split()}:
            words += 1
            same += (
                source.encode(word, add_special_tokens=False).tokens
                == trimmed.encode(word, add_special_tokens=False).tokens
            )
        report[lang] = (len(lines), same / words)
        assert not new_unknowns, f"{lang}: {len(new_unknowns)} lines gain <unk>, e.g. {new_unknowns[:2]}"
    print(
        {
            lang: f"{n} lines, {share:.1%} distinct words split as before"
            for lang, (n, share) in report.items()
        }
    )
    assert min(share for _n, share in report.values()) > 0.5
