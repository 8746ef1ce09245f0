"""trainers.fast_dropout: the same Bernoulli dropout as torch's, and a model that is unchanged outside it."""

from __future__ import annotations

import torch
from torch import nn

from trainers.fast_dropout import (
    ATTENTION_NAME,
    FastDropout,
    attention_with_fast_dropout,
    fast_cpu_dropout,
    fast_dropout,
)


def test_drops_a_fraction_p_and_rescales_the_rest():
    torch.manual_seed(0)
    x = torch.rand(1_000_000) + 1.0  # no zeros of its own
    out = fast_dropout(x, 0.1)
    dropped = (out == 0).float().mean().item()
    assert abs(dropped - 0.1) < 0.002  # binomial sd 0.0003
    kept = out != 0
    assert torch.allclose(out[kept], x[kept] / 0.9)
    # every 16-bit lane of a 64-bit draw is used: each of the four positions drops ~p on its own
    lanes = (out == 0).view(-1, 4).float().mean(0)
    assert torch.all((lanes - 0.1).abs() < 0.004), lanes
    # neighbours are not correlated
    both = ((out[:-1] == 0) & (out[1:] == 0)).float().mean().item()
    assert abs(both - 0.01) < 0.001


def test_gradient_is_the_mask_and_eval_is_identity():
    torch.manual_seed(1)
    x = torch.randn(64, 33, requires_grad=True)  # numel not a multiple of 4
    out = fast_dropout(x, 0.25)
    out.sum().backward()
    expected = (out != 0).float() / 0.75
    assert torch.equal(x.grad, expected)
    assert fast_dropout(x, 0.25, training=False) is x
    module = FastDropout(0.25).eval()
    assert module(x) is x


def test_same_seed_same_mask():
    x = torch.ones(1000)
    torch.manual_seed(7)
    a = fast_dropout(x, 0.3)
    torch.manual_seed(7)
    b = fast_dropout(x, 0.3)
    assert torch.equal(a, b)


def _qkv(heads=4, n=9, d=8, batch=3):
    torch.manual_seed(2)
    q, k, v = (torch.randn(batch, heads, n, d) for _ in range(3))
    mask = torch.zeros(batch, 1, n, n)
    mask[0, :, :, 6:] = torch.finfo(torch.float32).min  # padding of the first sequence
    return q, k, v, mask


def test_attention_without_dropout_matches_eager_softmax_attention():
    from transformers.models.xlm_roberta.modeling_xlm_roberta import eager_attention_forward

    module = nn.Module().train()
    q, k, v, mask = _qkv()
    ours, _ = attention_with_fast_dropout(module, q, k, v, mask, scaling=0.3, dropout=0.0)
    reference, _ = eager_attention_forward(module, q, k, v, mask, scaling=0.3, dropout=0.0)
    assert torch.allclose(ours, reference, atol=1e-5)


def test_attention_dropout_zeroes_and_rescales_softmax_weights():
    module = nn.Module().train()
    q, k, v, mask = _qkv()
    torch.manual_seed(3)
    out, weights = attention_with_fast_dropout(module, q, k, v, mask, scaling=0.3, dropout=0.2)
    probabilities = torch.softmax(q @ k.transpose(2, 3) * 0.3 + mask, dim=-1)
    nonzero = weights != 0
    assert 0.1 < 1 - nonzero.float().mean().item() < 0.3
    assert torch.allclose(weights[nonzero], probabilities[nonzero] / 0.8, atol=1e-6)
    assert torch.allclose(out, (weights @ v).transpose(1, 2), atol=1e-5)
    assert torch.all(weights[0, :, :, 6:] == 0)  # padding stays masked


def test_model_inside_and_after_the_block(tiny_model, tmp_path):
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(tiny_model), device="cpu")
    backbone = model[0].auto_model
    backbone.config._attn_implementation = "sdpa"
    originals = [m for m in model.modules() if type(m) is nn.Dropout]
    assert originals
    texts = ["ගෙදර යනවා", "வீட்டுக்குப் போகிறேன்", "going home"]
    model.eval()
    before = model.encode(texts, convert_to_tensor=True)
    with fast_cpu_dropout(model) as swapped:
        assert swapped == sum(1 for m in originals if m.p > 0)
        assert backbone.config._attn_implementation == ATTENTION_NAME
        assert not any(type(m) is nn.Dropout and m.p > 0 for m in model.modules())
        inside = model.encode(texts, convert_to_tensor=True)  # eval mode: no dropout, SDPA
        model.train()
        features = model.tokenize(texts)
        torch.manual_seed(5)
        first = model(dict(features))["sentence_embedding"]
        torch.manual_seed(5)
        second = model(dict(features))["sentence_embedding"]
        assert torch.equal(first, second)
        assert not torch.allclose(first, before)  # dropout is on in training
        model.eval()
    assert torch.allclose(inside, before, atol=1e-6)
    assert backbone.config._attn_implementation == "sdpa"
    assert [m for m in model.modules() if type(m) is nn.Dropout] == originals
    model.save(str(tmp_path / "saved"))
    assert ATTENTION_NAME not in (tmp_path / "saved" / "config.json").read_text()
