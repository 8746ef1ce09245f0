"""The `lexical` stage: the supervised contrastive loss on hand-made batches, word_iso encoding, the
language-pair sampler's weights, MUSE test words kept out of the recipe's constraints, dev words kept out of
training, and a short run on the tiny model with real MUSE rows."""

from __future__ import annotations

import json
import math
import textwrap
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from embedkit.errors import InputError
from trainers import load_recipe, train, validate_recipe
from trainers.lexical import (
    LanguagePairBatchSampler,
    WordPairCollator,
    carve_dev,
    encode_words,
    pair_weights,
    supervised_contrastive_loss,
    synset_positives,
    tokenize_words,
)

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "lexical-offline.yaml"


def muse_rows(shared: Path, target: str, n: int, start: int = 0) -> list[dict]:
    """Real MUSE entries (`target @ source`), as rows of a lexicon corpus."""
    lines = (shared / f"muse_dictionaries/en-{target}.dict").read_text(encoding="utf-8").splitlines()
    rows = []
    for line in lines[start : start + n]:
        word2, word1 = line.split(" @ ")
        rows.append(
            {
                "synset": f"muse:en-{target}:{word1}",
                "lang1": "en",
                "word1": word1,
                "lang2": target,
                "word2": word2,
                "gloss1": "",
                "gloss2": "",
                "source": f"muse:en-{target}.dict",
            }
        )
    return rows


def write_lexicon(folder: Path, rows: list[dict]) -> Path:
    from datasets import Dataset

    Dataset.from_list(rows).save_to_disk(str(folder))
    manifest = {"kind": "lexicon", "rows_out": len(rows), "inputs": [], "builder": "tests"}
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


# --- the loss ---------------------------------------------------------------------------------------


def _reference_loss(vectors: list[list[float]], synsets: list[set[str]], t: float) -> float:
    """Supervised contrastive loss written out with plain floats."""
    unit = [np.array(v) / np.linalg.norm(v) for v in vectors]
    terms = []
    for i, anchor in enumerate(unit):
        positives = [j for j in range(len(unit)) if j != i and synsets[i] & synsets[j]]
        if not positives:
            continue
        denominator = sum(math.exp(anchor @ unit[a] / t) for a in range(len(unit)) if a != i)
        terms.append(
            -sum(math.log(math.exp(anchor @ unit[p] / t) / denominator) for p in positives) / len(positives)
        )
    return sum(terms) / len(terms)


def test_loss_positives_and_negatives_on_a_hand_made_batch():
    # water (en), पानी (hi), জল (bn) share synset W; fire, आग share F; "bank" belongs to B1 and B2;
    # नदी has only B2; "lonely" has no partner in the batch (no positive: not an anchor, still a negative)
    synsets = [{"W"}, {"W"}, {"W"}, {"F"}, {"F"}, {"B1", "B2"}, {"B2"}, {"L"}]
    positives = synset_positives(synsets)
    expected = {(0, 1), (0, 2), (1, 2), (3, 4), (5, 6)}
    for i in range(8):
        for j in range(8):
            assert bool(positives[i, j]) == ((min(i, j), max(i, j)) in expected), (i, j)

    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(8, 5)).tolist()
    value = supervised_contrastive_loss(torch.tensor(vectors), positives, temperature=0.07)
    assert value.item() == pytest.approx(_reference_loss(vectors, synsets, 0.07), rel=1e-5)
    # temperature matters and is the default
    assert supervised_contrastive_loss(torch.tensor(vectors), positives).item() == pytest.approx(value.item())
    assert supervised_contrastive_loss(torch.tensor(vectors), positives, 1.0).item() != pytest.approx(
        value.item()
    )

    # every positive pulls and every negative pushes: starting from orthogonal words, turning word i a little
    # towards word j changes (to first order) only their similarity, and the loss falls exactly for positives
    base = torch.eye(8)
    start = supervised_contrastive_loss(base, positives).item()
    for i in range(8):
        for j in range(8):
            if i != j:
                nudged = base.clone()
                nudged[i] += 1e-3 * base[j]
                change = supervised_contrastive_loss(nudged, positives).item() - start
                assert (change < 0) == bool(positives[i, j]), (i, j, change)

    # a perfect arrangement (synsets at orthogonal corners) scores lower than the random one
    corners = torch.eye(5)[[0, 0, 0, 1, 1, 2, 2, 3]] + 0.01
    assert supervised_contrastive_loss(corners, positives).item() < value.item()


def test_a_batch_without_positives_has_zero_loss_and_a_graph():
    embeddings = torch.randn(4, 3, requires_grad=True)
    value = supervised_contrastive_loss(embeddings, synset_positives([{"a"}, {"b"}, {"c"}, {"d"}]))
    value.backward()
    assert value.item() == 0.0 and embeddings.grad is not None


def test_collator_merges_repeated_words_into_one_with_every_synset(tiny_model):
    from sentence_transformers import SentenceTransformer

    tokenizer = SentenceTransformer(str(tiny_model)).tokenizer
    rows = [
        {"synset": "bank.finance", "lang1": "en", "word1": "bank", "lang2": "hi", "word2": "बैंक"},
        {"synset": "bank.river", "lang1": "en", "word1": "bank", "lang2": "hi", "word2": "किनारा"},
        {"synset": "bank.river", "lang1": "en", "word1": "shore", "lang2": "hi", "word2": "किनारा"},
    ]
    batch = WordPairCollator(tokenizer)(rows)
    words, _, synsets = WordPairCollator(tokenizer).words(rows)
    assert words == ["bank", "बैंक", "किनारा", "shore"]
    assert synsets[0] == {"bank.finance", "bank.river"}
    label = batch["label"]
    assert label.shape == (4, 4) and not label.diagonal().any()
    assert label[0, 1] and label[0, 2] and label[0, 3] and label[2, 3]
    assert not label[1, 2] and not label[1, 3]  # the finance sense is not a river bank
    # no special tokens and no prompt: the ids are the word's own subwords
    assert (
        batch["words_input_ids"][3, : batch["words_pool_mask"][3].sum()].tolist()
        == tokenizer("shore", add_special_tokens=False)["input_ids"]
    )


# --- word encoding ----------------------------------------------------------------------------------


def test_word_iso_is_the_mean_of_the_words_subwords_without_special_tokens(tiny_model):
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(tiny_model))
    words = ["water", "पानी", "অরণ্য", "unbelievably"]
    vectors = encode_words(model, words)
    backbone = model[0].auto_model.eval()
    for word, vector in zip(words, vectors, strict=True):
        ids = model.tokenizer(word, add_special_tokens=False)["input_ids"]
        assert model.tokenizer.cls_token_id not in ids and model.tokenizer.sep_token_id not in ids
        with torch.no_grad():
            hidden = backbone(input_ids=torch.tensor([ids])).last_hidden_state[0]
        expected = torch.nn.functional.normalize(hidden.mean(dim=0), dim=0).numpy()
        assert np.allclose(vector, expected, atol=1e-5)
    # the prompted sentence encoding of a word is a different vector
    prompted = model.encode(words, normalize_embeddings=True)
    assert not np.allclose(prompted, vectors, atol=1e-3)


def test_word_gloss_pools_over_the_word_only(tiny_model):
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(tiny_model))
    features = tokenize_words(model.tokenizer, ["bank", "bank"], ["the land beside a river", ""])
    word_ids = model.tokenizer("bank", add_special_tokens=False)["input_ids"]
    assert features["pool_mask"][0].sum() == len(word_ids) == features["pool_mask"][1].sum()
    assert features["attention_mask"][0].sum() > features["attention_mask"][1].sum()
    assert features["input_ids"][0, len(word_ids)] == model.tokenizer.sep_token_id
    alone = encode_words(model, ["bank"])
    river = encode_words(model, ["bank"], ["the land beside a river"])
    assert np.allclose(encode_words(model, ["bank"], [""]), alone, atol=1e-6)
    assert not np.allclose(river, alone, atol=1e-3)


# --- the sampler ------------------------------------------------------------------------------------


def test_pair_weights_smooth_the_language_pair_sizes():
    counts = {"en-hi": 100, "en-si": 400}
    assert pair_weights(counts, 0.5) == pytest.approx({"en-hi": 1 / 3, "en-si": 2 / 3})
    assert pair_weights(counts, 1.0) == pytest.approx({"en-hi": 0.2, "en-si": 0.8})
    assert pair_weights(counts, 0.0) == pytest.approx({"en-hi": 0.5, "en-si": 0.5})


def test_sampler_draws_one_pair_per_batch_with_smoothed_probabilities(shared_data):
    from datasets import Dataset

    from trainers.lexical import language_pair

    rows = (
        muse_rows(shared_data, "hi", 1600)
        + muse_rows(shared_data, "bn", 400)
        + muse_rows(shared_data, "ta", 100)
    )
    dataset = Dataset.from_list(rows)
    pairs = [language_pair(r["lang1"], r["lang2"]) for r in rows]
    assert set(pairs) == {"en-hi", "bn-en", "en-ta"}
    sampler = LanguagePairBatchSampler(dataset, 32, True, seed=7, pairs=pairs, smoothing=0.5)
    assert sampler.weights == pytest.approx({"en-hi": 40 / 70, "bn-en": 20 / 70, "en-ta": 10 / 70})
    drawn = Counter()
    for epoch in range(40):
        sampler.set_epoch(epoch)
        batches = list(sampler)
        assert len(batches) == len(sampler) == 2100 // 32
        for batch in batches:
            assert len(batch) == 32
            kinds = {pairs[i] for i in batch}
            assert len(kinds) == 1  # one language pair per batch
            drawn[kinds.pop()] += 1
    total = sum(drawn.values())
    for pair, weight in sampler.weights.items():
        assert drawn[pair] / total == pytest.approx(weight, abs=0.03)
    # proportional sampling would give en-ta 100/2100 of the batches; smoothing lifts it to 1/7
    assert drawn["en-ta"] / total > 0.1

    # same seed and epoch, same batches; another epoch, other batches
    sampler.set_epoch(3)
    again = LanguagePairBatchSampler(dataset, 32, True, seed=7, pairs=pairs)
    again.set_epoch(3)
    assert list(sampler) == list(again)
    again.set_epoch(4)
    assert list(sampler) != list(again)


def test_a_pair_smaller_than_a_batch_is_filled_up_by_other_draws(shared_data):
    from datasets import Dataset

    rows = muse_rows(shared_data, "hi", 200) + muse_rows(shared_data, "ta", 5)
    pairs = [f"en-{r['lang2']}" for r in rows]
    sampler = LanguagePairBatchSampler(Dataset.from_list(rows), 16, True, seed=1, pairs=pairs, smoothing=0.0)
    batches = list(sampler)
    assert all(len(batch) == 16 for batch in batches)
    assert any({pairs[i] for i in batch} == {"en-hi", "en-ta"} for batch in batches)


# --- data: MUSE test words and dev words stay out of training ---------------------------------------


def test_recipe_constraints_hold_no_muse_test_word(shared_data):
    import corpora
    from mteb_tasks import get_task
    from trainers.data import corpus_cache_dir

    task = get_task("MuseBLI")
    test_words: set[str] = set()
    for subset in ("eng-hin", "eng-ben", "eng-tam"):
        queries, _gold = task.test_words(subset)
        assert len(queries) == 1500
        test_words |= {word.casefold() for word in queries}

    recipe = load_recipe(RECIPE)
    (stage,) = recipe.stages
    excluded = 0
    english = 0
    for spec in stage.train:
        folder = corpora.build_from_spec(dict(spec), corpus_cache_dir())
        dataset = corpora.load_corpus(folder)
        excluded += corpora.read_manifest(folder)["drops"].get("excluded_eval_word", 0)
        for side in ("1", "2"):
            for lang, word in zip(dataset["lang" + side], dataset["word" + side], strict=True):
                if lang != "en":
                    continue
                english += 1
                folded = word.casefold()
                assert folded not in test_words, word
                assert not any(token in test_words for token in folded.split()), word
    assert english > 100_000
    assert excluded > 1000  # the en-ta lexicon copies the full MUSE dictionary: the filter had work to do


def test_dev_words_are_never_trained_on(shared_data):
    from datasets import Dataset

    rows = muse_rows(shared_data, "hi", 3000) + muse_rows(shared_data, "bn", 3000)
    carved = carve_dev(Dataset.from_list(rows), 50, seed=3)
    assert carved.queries == {"en-hi": 50, "en-bn": 50}
    per_pair = {(r["lang2"], r["word1"]) for r in carved.dev}
    assert len(per_pair) == 100  # 50 source words per pair
    held = {(r["lang1"], r["word1"]) for r in carved.dev}  # an English word may be held out in both pairs
    for row in carved.train:
        assert (row["lang1"], row["word1"]) not in held and (row["lang2"], row["word2"]) not in held
    # every translation of a held-out word into its pair's language is in dev; its rows in the other
    # pair are dropped (neither trained on nor scored)
    dev_rows = list(carved.dev)
    for row in rows:
        if (row["lang2"], row["word1"]) in per_pair:
            assert row in dev_rows
    assert len(carved.train) + len(carved.dev) + carved.dropped == len(rows)


# --- the stage end to end on the tiny model ----------------------------------------------------------


def test_lexical_stage_trains_constraint_tokens_and_saves_a_sentence_model(tmp_path, tiny_model, shared_data):
    from safetensors.torch import load_file
    from sentence_transformers import SentenceTransformer

    corpus = write_lexicon(
        tmp_path / "lexicon", muse_rows(shared_data, "hi", 600) + muse_rows(shared_data, "ta", 400)
    )
    recipe = validate_recipe(
        {
            "base_model": str(tiny_model),
            "compute": {"device": "cpu"},
            "stages": [
                {
                    "type": "lexical",
                    "train": [str(corpus)],
                    "dev": {"holdout": 20},
                    "train_embeddings": "constraint_tokens",
                    "dev_candidates": 100,
                    "max_steps": 3,
                    "batch_size": 16,
                    "lr": 1e-3,
                    "eval_every": 3,
                }
            ],
        }
    )
    model_dir = train(recipe, tmp_path / "run")
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    (stage,) = run["stages"]
    assert stage["type"] == "lexical" and stage["loss"] == "SynsetContrastiveLoss" and stage["steps"] == 3
    assert stage["rows"]["dev_queries"] == 40
    for key in (
        "dev_score",
        "dev_score_start",
        "dev_p1_en-hi",
        "dev_prompted_p1_en-ta",
        "dev_score_prompted",
    ):
        assert 0.0 <= stage["metrics"][key] <= 1.0, key

    model = SentenceTransformer(str(model_dir))
    assert model.prompts["query"] == "query: " and model.default_prompt_name == "query"
    assert model.encode(["यह एक वाक्य है।"]).shape == (1, 32)

    def embedding_matrix(folder: Path) -> torch.Tensor:
        (weights,) = folder.rglob("model.safetensors")
        return next(v for k, v in load_file(str(weights)).items() if "word_embeddings" in k)

    before, after = embedding_matrix(tiny_model), embedding_matrix(model_dir)
    words = [
        r["word" + s]
        for r in muse_rows(shared_data, "hi", 600) + muse_rows(shared_data, "ta", 400)
        for s in "12"
    ]
    constraint = {i for ids in model.tokenizer(words, add_special_tokens=False)["input_ids"] for i in ids}
    changed = set(torch.nonzero((before != after).any(dim=1)).flatten().tolist())
    assert changed and changed <= constraint  # only constraint tokens moved; every other row is bit-identical


def test_recipe_errors_name_the_place(tmp_path):
    recipe = tmp_path / "bad.yaml"
    body = """\
        stages:
          - type: lexical
            train: [some/lexicon]
            loss: {loss}
            batch_sampler: {sampler}
        """
    recipe.write_text(textwrap.dedent(body.format(loss="CoSENTLoss", sampler="auto")))
    with pytest.raises(InputError, match=r"bad.yaml:4: stages\[0\].loss: a lexical stage trains with Synset"):
        load_recipe(recipe)
    recipe.write_text(textwrap.dedent(body.format(loss="SynsetContrastiveLoss", sampler="no_duplicates")))
    with pytest.raises(InputError, match=r"bad.yaml:5: .*batches by language pair"):
        load_recipe(recipe)
    with pytest.raises(InputError, match="takes no argument 'margin'"):
        load_recipe(recipe, ["stages.0.batch_sampler=auto", "stages.0.loss_args.margin=1"])


def test_the_offline_recipe_validates():
    recipe = load_recipe(RECIPE)
    (stage,) = recipe.stages
    assert stage.type == "lexical" and stage.encoding == "word_iso" and stage.pair_smoothing == 0.5
    assert stage.loss_args == {"temperature": 0.07}
