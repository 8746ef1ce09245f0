"""BLI on the MUSE test split, two ways: the kit's MuseBLI task (mteb retrieval, embedkit's encoder) and the
independent scorer of `benchmarks.lexical_acceptance` (the raw dictionary files read afresh, the split
rebuilt, plain numpy cosine retrieval over every target word). Both see the same vectors: each text is encoded
once, under the model's default prompt, by the kit's `CachedEncoder`; the scorer looks them up, or encodes
what it misses itself.

The lexical recipe's acceptance measurement (a finished run vs the default model) is not a test: it is
`python -m benchmarks.lexical_acceptance --run RUN` (docs/results.md).
"""

from __future__ import annotations

import pytest

from benchmarks.lexical_acceptance import (
    MUSE_FILES,
    SCORER_TOLERANCE,
    encode_with,
    kit_encoder,
    kit_scores,
    muse_test_split,
    numpy_bli,
)


def test_independent_bli_scorer_agrees_with_the_kit_task(tiny_model, shared_data):
    """Tamil only (22k candidates), on the tiny random model. It still finds the ~12% of test words whose
    "Tamil" translation is the English word copied (same string, same vector); MRR compares every query's
    rank of its best translation. mteb rounds its scores to 5 decimals."""
    encoder, _prompt = kit_encoder(str(tiny_model))
    kit = kit_scores(encoder, "MuseBLI", ["tam"])["eng-tam"]
    mine = numpy_bli(encode_with(encoder), shared_data / "muse_dictionaries" / "en-ta.dict")
    assert mine["mrr_at_1000"] > 0.01
    assert mine["p_at_1"] == pytest.approx(100 * kit["precision_at_1"], abs=SCORER_TOLERANCE)
    assert mine["mrr_at_1000"] == pytest.approx(100 * kit["mrr_at_1000"], abs=SCORER_TOLERANCE)


def test_muse_split_rebuilt_here_matches_the_kit_task(shared_data):
    from mteb_tasks import get_task

    task = get_task("MuseBLI")
    for subset, name in MUSE_FILES.items():
        queries, gold, candidates = muse_test_split(shared_data / "muse_dictionaries" / name)
        kit_queries, kit_gold = task.test_words(subset)
        assert set(queries) == kit_queries and len(queries) == 1500
        assert {t for targets in gold.values() for t in targets} == kit_gold
        assert len(candidates) > 15_000
