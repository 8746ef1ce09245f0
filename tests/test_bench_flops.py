"""The training benchmark's analytic FLOP count agrees with torch's own count of the matmuls run."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("lengths", [(12, 12, 12), (5, 30)])
def test_the_flop_formula_matches_torch_flop_counter_on_a_padded_batch(tmp_path, lengths):
    import torch
    from conftest import build_tiny_model
    from sentence_transformers import SentenceTransformer
    from torch.utils.flop_counter import FlopCounterMode

    from benchmarks.train_bench import _train_flops

    path = build_tiny_model(tmp_path, hidden=64, layers=3)
    # eager attention: its matmuls are aten ops the counter sees (CPU SDPA's are not counted)
    model = SentenceTransformer(str(path), device="cpu", model_kwargs={"attn_implementation": "eager"})
    encoder = model[0].auto_model
    encoder.get_input_embeddings().weight.requires_grad_(False)
    padded = max(lengths)
    mask = torch.zeros(len(lengths), padded, dtype=torch.long)
    for row, n in enumerate(lengths):
        mask[row, :n] = 1
    ids = torch.randint(5, 1000, (len(lengths), padded)) * mask
    with FlopCounterMode(display=False) as counter:
        out = encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        (out * mask[..., None]).sum().backward()
    counted = counter.get_total_flops()
    # the pooler (one d x d product per text, no backward: mean pooling does not use it) is not in the formula
    pooler = 2 * 64 * 64 * len(lengths)
    expected = _train_flops(path, [(len(lengths), padded)])
    assert counted - pooler == pytest.approx(expected, rel=0.01)
