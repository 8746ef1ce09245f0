"""`embedkit trim` on a tiny model with the real XLM-R tokenizer: the folder, its embeddings, re-trimming,
a recipe that trains from a trimmed base, and bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from embedkit.cli import main

HI = ["भारत एक विशाल देश है।", "आज मौसम बहुत अच्छा है और बच्चे बाहर खेल रहे हैं।", "मैं कल दिल्ली जाऊँगा।"]
EN = ["The weather is nice today.", "India is a large country.", "I will go to Delhi tomorrow."]
TEXT = HI + EN


@pytest.fixture(scope="module")
def text_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("text") / "hi-en.txt"
    path.write_text("\n".join(TEXT) + "\n\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trimmed(tmp_path_factory, tiny_model, text_file) -> Path:
    out = tmp_path_factory.mktemp("trim") / "hi-en"
    assert main(["trim", str(tiny_model), "--langs", "hi,en", "--text", str(text_file),
                 "--vocab-size", "8000", "--out", str(out), "--quiet"]) == 0  # fmt: skip
    return out


def test_trimmed_folder_loads_and_encodes_like_the_source(trimmed, tiny_model):
    from sentence_transformers import SentenceTransformer

    source = SentenceTransformer(str(tiny_model), device="cpu")
    model = SentenceTransformer(str(trimmed), device="cpu")  # plain sentence-transformers, no embedkit code
    assert len(model.tokenizer) == 8000
    assert json.loads((trimmed / "config.json").read_text())["vocab_size"] == 8000
    assert model[0].auto_model.get_input_embeddings().weight.shape == (8000, 32)
    assert model.prompts["query"] == "query: " and model.default_prompt_name == "query"
    assert (trimmed / "1_Pooling" / "config.json").is_file()
    for name in ("cls_token_id", "sep_token_id", "pad_token_id", "unk_token_id"):
        assert getattr(model.tokenizer, name) == getattr(source.tokenizer, name)
    assert model.tokenizer.mask_token_id == 7999 and model.tokenizer.convert_ids_to_tokens(7999) == "<mask>"
    # every token of the --text sentences is kept: same pieces, same embeddings
    for sentence in TEXT:
        assert model.tokenizer.tokenize(sentence) == source.tokenizer.tokenize(sentence)
    a = source.encode(TEXT, normalize_embeddings=True)
    b = model.encode(TEXT, normalize_embeddings=True)
    assert np.min(np.sum(a * b, axis=1)) >= 0.9999
    # Tamil is not among the languages: its text no longer tokenizes the same way
    tamil = "இன்று வானிலை நன்றாக இருக்கிறது"
    assert model.tokenizer.tokenize(tamil) != source.tokenizer.tokenize(tamil)


def test_provenance_and_last_stdout_line(tmp_path, tiny_model, text_file, capsys):
    out = tmp_path / "t"
    assert main(["trim", str(tiny_model), "--langs", "hin,eng", "--text", str(text_file),
                 "--vocab-size", "8000", "--out", str(out)]) == 0  # fmt: skip
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(out)
    provenance = json.loads((out / "embedkit_trim.json").read_text())
    assert provenance["languages"] == ["hi", "en"]
    assert provenance["kept_tokens"] == 8000
    assert (
        provenance["source_model"]["path"] == str(tiny_model)
        and len(provenance["source_model"]["sha256"]) == 64
    )
    source = provenance["frequency_source"]
    assert str(text_file) in source["name"] and source["lines"] == len(TEXT) and len(source["sha256"]) == 64
    params = provenance["parameters"]
    assert params["before"] - params["after"] == (250002 - 8000) * 32  # only word-embedding rows went
    assert not list(tmp_path.glob(".t.tmp-*"))


def test_a_trimmed_model_can_be_trimmed_again(tmp_path, trimmed, text_file):
    from sentence_transformers import SentenceTransformer

    again = tmp_path / "again"
    assert main(["trim", str(trimmed), "--langs", "hi,en", "--text", str(text_file),
                 "--vocab-size", "6000", "--out", str(again), "--quiet"]) == 0  # fmt: skip
    first, second = SentenceTransformer(str(trimmed)), SentenceTransformer(str(again))
    assert len(second.tokenizer) == 6000
    a, b = first.encode(TEXT, normalize_embeddings=True), second.encode(TEXT, normalize_embeddings=True)
    assert np.min(np.sum(a * b, axis=1)) >= 0.9999
    provenance = json.loads((again / "embedkit_trim.json").read_text())
    assert provenance["source_trim"]["kept_tokens"] == 8000


def test_recipe_trims_the_base_and_trains_the_word_embeddings_on_cpu(tmp_path, tiny_model):
    from datasets import Dataset
    from safetensors.torch import load_file

    from trainers import load_recipe, train

    rows = [
        {"sentence1": h, "sentence2": e, "score": 0.9, "lang": "hi-en"} for h, e in zip(HI, EN, strict=True)
    ]
    corpus = tmp_path / "sts"
    Dataset.from_list(rows * 4).save_to_disk(str(corpus))
    (corpus / "manifest.json").write_text(json.dumps({"kind": "sts", "rows_out": 12}), encoding="utf-8")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        f"base_model: {tiny_model}\n"
        f"trim: {{langs: [hi, en], text: [{corpus}], vocab_size: 8000}}\n"  # a corpus folder
        "compute: {device: cpu, freeze_embeddings: auto}\n"
        f"stages:\n  - {{type: sts, train: {corpus}, batch_size: 4, max_steps: 2, lr: 1.0e-3}}\n",
        encoding="utf-8",
    )
    model_dir = train(load_recipe(recipe), tmp_path / "run")
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["trim"]["kept_tokens"] == 8000 and run["trim"]["languages"] == ["hi", "en"]
    assert run["recipe"]["trim"]["vocab_size"] == 8000
    provenance = json.loads((tmp_path / "run/checkpoints/trimmed-base/embedkit_trim.json").read_text())
    assert (
        provenance["frequency_source"]["lines"] == 24
        and str(corpus) in provenance["frequency_source"]["name"]
    )
    assert run["frozen_word_embeddings"] is False  # a 8k-row matrix is trained on CPU
    base = load_file(str(tmp_path / "run/checkpoints/trimmed-base/model.safetensors"))
    after = load_file(str(model_dir / "model.safetensors"))
    name = next(k for k in after if k.endswith("word_embeddings.weight"))
    assert after[name].shape == (8000, 32) and not np.allclose(after[name].numpy(), base[name].numpy())


def test_untrimmed_base_keeps_its_embeddings_frozen_on_cpu():
    from trainers.compute import should_freeze
    from trainers.recipe import Compute

    auto = Compute(freeze_embeddings="auto")
    assert should_freeze(auto, "cpu", 250037) and not should_freeze(auto, "cpu", 50000)
    assert should_freeze(auto, "cpu", None) and not should_freeze(auto, "cuda", 250037)
    assert should_freeze(Compute(freeze_embeddings=True), "cpu", 50000)


# --- bad input: exit 2, a message naming the problem, nothing written ----------------------------------


def wordpiece_model(tmp_path: Path, tiny_model: Path) -> Path:
    from tokenizers import Tokenizer, models

    folder = tmp_path / "wordpiece"
    shutil.copytree(tiny_model, folder)
    Tokenizer(models.WordPiece({"[UNK]": 0, "a": 1}, unk_token="[UNK]")).save(str(folder / "tokenizer.json"))
    return folder


def no_sinhala_model(tmp_path: Path, tiny_model: Path) -> Path:
    """The tiny model's tokenizer without any Sinhala piece (a vocabulary that cannot write Sinhala)."""
    from embedkit.trim.unigram import remap_tokenizer

    folder = tmp_path / "no-si"
    shutil.copytree(tiny_model, folder)
    data = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    sinhala = {
        i for i, (piece, _) in enumerate(data["model"]["vocab"]) if any("඀" <= c <= "෿" for c in piece)
    }
    keep = [i for i in range(len(data["model"]["vocab"])) if i not in sinhala]
    (folder / "tokenizer.json").write_text(json.dumps(remap_tokenizer(data, keep)), encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    "case, message",
    [
        ("unknown-lang", "unknown language code 'xx'"),
        ("script", "no Sinhala pieces, so it cannot represent"),
        ("vocab-size", "--vocab-size 100 is smaller than the"),
        ("empty-text", "no usable lines"),
        ("wordpiece", "WordPiece, not Unigram; embedkit trim supports Unigram"),
        ("out-exists", "already exists"),
    ],
)
def test_bad_input(case, message, tmp_path, tiny_model, text_file, capsys):
    model, langs, text, size = str(tiny_model), "hi,en", str(text_file), "8000"
    out = tmp_path / "out"
    if case == "unknown-lang":
        langs = "hi,xx"
    elif case == "script":
        model, langs = str(no_sinhala_model(tmp_path, tiny_model)), "si"
    elif case == "vocab-size":
        size = "100"
    elif case == "empty-text":
        (tmp_path / "empty.txt").write_text("\n  \n", encoding="utf-8")
        text = str(tmp_path / "empty.txt")
    elif case == "wordpiece":
        model = str(wordpiece_model(tmp_path, tiny_model))
    elif case == "out-exists":
        out.mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    code = main(["trim", model, "--langs", langs, "--text", text, "--vocab-size", size, "--out", str(out)])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and message in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written, no temp folder left


def test_recipe_trim_block_with_an_unknown_language_names_its_line(tmp_path):
    from embedkit.errors import InputError
    from trainers import load_recipe

    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("base_model: default\ntrim:\n  langs: [hi, xx]\nstages:\n  - {type: sts, train: x}\n")
    with pytest.raises(InputError, match=r"recipe.yaml:3: trim.langs: unknown language code 'xx'"):
        load_recipe(recipe)


def test_inspect_reports_the_share_split_as_the_source_did(trimmed, tiny_model):
    from embedkit.inspection import trim_fidelity

    tamil = ["இன்று வானிலை நன்றாக இருக்கிறது", "நான் நாளை சென்னை செல்வேன்"]
    report = trim_fidelity(trimmed, {"hi": HI, "ta": tamil})
    rows = {row["name"]: row for row in report["texts"]}
    assert report["source_model"] == str(tiny_model) and report["languages"] == ["hi", "en"]
    assert rows["hi"]["words_exact"] == 1.0 and rows["hi"]["sentences_exact"] == 1.0
    assert rows["ta"]["sentences_exact"] == 0.0 and rows["ta"]["words_exact"] < 0.5
    assert trim_fidelity(tiny_model, {"hi": HI}) is None  # not a trimmed model
