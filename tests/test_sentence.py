"""Chapter 10: mean pooling, the in-batch contrastive loss, the sentence encoder, paraphrases."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from transformer_book.models.sentence import SentenceEncoder, info_nce_loss, mean_pool
from transformer_book.text.data import DATE_FORMATS, date_split, format_date, paraphrase_pairs


def test_mean_pool_ignores_padding():
    torch.manual_seed(0)
    hidden = torch.randn(3, 5, 4)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], dtype=torch.bool)
    expected = torch.stack([hidden[i, mask[i]].mean(dim=0) for i in range(3)])
    torch.testing.assert_close(mean_pool(hidden, mask), expected)
    changed = hidden.masked_fill(~mask.unsqueeze(-1), float("nan"))  # garbage at padding
    torch.testing.assert_close(mean_pool(changed, mask), expected)


def test_mean_pool_empty_row_is_zero_and_padding_gets_no_gradient():
    hidden = torch.randn(2, 3, 4, requires_grad=True)
    mask = torch.tensor([[True, True, False], [False, False, False]])
    out = mean_pool(hidden, mask)
    assert torch.equal(out[1], torch.zeros(4))
    out.sum().backward()
    assert torch.equal(hidden.grad[0, 2], torch.zeros(4))
    torch.testing.assert_close(hidden.grad[0, 0], torch.full((4,), 0.5))


def test_mean_pool_keeps_dtype():
    hidden = torch.randn(2, 3, 4, dtype=torch.float64)
    assert mean_pool(hidden, torch.ones(2, 3, dtype=torch.bool)).dtype == torch.float64


@pytest.mark.parametrize("hidden,mask,error", [
    (torch.randn(3, 4), torch.ones(3, dtype=torch.bool), ValueError),
    (torch.ones(2, 3, 4, dtype=torch.long), torch.ones(2, 3, dtype=torch.bool), TypeError),
    (torch.randn(2, 3, 4), torch.ones(2, 3), TypeError),
    (torch.randn(2, 3, 4), torch.ones(2, 4, dtype=torch.bool), ValueError),
])
def test_mean_pool_bad_input(hidden, mask, error):
    with pytest.raises(error):
        mean_pool(hidden, mask)


def hand_info_nce(a, b, tau):
    """-1/B sum_i log(exp(a_i.b_i / tau) / sum_j exp(a_i.b_j / tau)), with Python loops."""
    total = 0.0
    for i in range(a.size(0)):
        logits = [float(a[i] @ b[j]) / tau for j in range(b.size(0))]
        total += -(logits[i] - math.log(sum(math.exp(s) for s in logits)))
    return total / a.size(0)


def test_info_nce_equals_hand_computation_and_cross_entropy():
    torch.manual_seed(0)
    a = F.normalize(torch.randn(5, 8, dtype=torch.float64), dim=-1)
    b = F.normalize(torch.randn(5, 8, dtype=torch.float64), dim=-1)
    one_way = info_nce_loss(a, b, temperature=0.3, symmetric=False)
    assert one_way.item() == pytest.approx(hand_info_nce(a, b, 0.3), rel=1e-12)
    ce = F.cross_entropy(a @ b.T / 0.3, torch.arange(5))
    torch.testing.assert_close(one_way, ce)


def test_info_nce_symmetric_averages_both_directions():
    torch.manual_seed(1)
    a, b = torch.randn(6, 4, dtype=torch.float64), torch.randn(6, 4, dtype=torch.float64)
    both = info_nce_loss(a, b, 0.5)
    expected = (hand_info_nce(a, b, 0.5) + hand_info_nce(b, a, 0.5)) / 2
    assert both.item() == pytest.approx(expected, rel=1e-12)
    torch.testing.assert_close(both, info_nce_loss(b, a, 0.5))  # symmetric in its arguments


def test_info_nce_limits_and_gradients():
    eye = torch.eye(4)
    assert info_nce_loss(eye, eye, temperature=0.01).item() < 1e-6  # perfect pairs
    same = torch.ones(4, 3) / math.sqrt(3)  # every pair alike: chance, log(batch)
    assert info_nce_loss(same, same).item() == pytest.approx(math.log(4), rel=1e-5)
    a = torch.randn(4, 3, requires_grad=True)
    info_nce_loss(a, torch.randn(4, 3)).backward()
    assert a.grad is not None and torch.isfinite(a.grad).all()


@pytest.mark.parametrize("a,b,temperature,error,match", [
    (torch.randn(3, 4), torch.randn(4, 4), 0.1, ValueError, "same shape"),
    (torch.randn(3), torch.randn(3), 0.1, ValueError, r"a must have shape \(batch, d\)"),
    (torch.ones(3, 4, dtype=torch.long), torch.ones(3, 4, dtype=torch.long), 0.1, TypeError,
     "floating-point"),
    (torch.randn(3, 4), torch.randn(3, 4), 0.0, ValueError, "temperature=0.0"),
    (torch.randn(3, 4), torch.randn(3, 4), -1.0, ValueError, "temperature=-1.0"),
    (torch.randn(3, 4), torch.randn(3, 4), True, TypeError, "temperature=True"),
    ("a", torch.randn(3, 4), 0.1, TypeError, "a must be a torch.Tensor"),
])
def test_info_nce_bad_input(a, b, temperature, error, match):
    with pytest.raises(error, match=match):
        info_nce_loss(a, b, temperature)


def make_model(**kw):
    torch.manual_seed(0)
    return SentenceEncoder(vocab_size=20, d_model=16, num_heads=2, num_layers=2, d_ff=32,
                           **kw).eval()


def test_sentence_encoder_output_is_unit_length_and_ignores_padding():
    model = make_model()
    alone = model(torch.tensor([[5, 6, 7]]))
    batch = model(torch.tensor([[5, 6, 7, 0, 0, 0], [8, 9, 10, 11, 12, 13]]))
    assert batch.shape == (2, 16)
    torch.testing.assert_close(batch.norm(dim=-1), torch.ones(2))
    torch.testing.assert_close(batch[0], alone[0], atol=1e-6, rtol=1e-5)


def test_sentence_encoder_explicit_mask_and_pad_id():
    model = make_model(pad_id=3)
    tokens = torch.tensor([[5, 6, 3, 3]])
    torch.testing.assert_close(model(tokens), model(tokens, tokens != 3))
    assert model.token_vectors(tokens).shape == (1, 4, 16)


def test_sentence_encoder_trains():
    model = make_model(dropout=0.0).train()
    tokens = torch.randint(1, 20, (8, 6))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        emb = model(tokens)
        loss = info_nce_loss(emb, model(tokens.flip(1)), temperature=0.1)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize("kwargs,match", [
    (dict(vocab_size=0), "vocab_size=0"),
    (dict(vocab_size=10, pad_id=10), "pad_id=10"),
    (dict(vocab_size=10, d_model=10, num_heads=3), "not divisible"),
])
def test_sentence_encoder_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SentenceEncoder(**kwargs)


def test_sentence_encoder_bad_input():
    model = make_model()
    with pytest.raises(TypeError, match="tokens must hold integer token ids"):
        model(torch.randn(2, 3))
    with pytest.raises(ValueError, match=r"padding_mask must have shape \(2, 3\)"):
        model(torch.ones(2, 3, dtype=torch.long), torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(TypeError, match="padding_mask must be a bool tensor"):
        model.token_vectors(torch.ones(2, 3, dtype=torch.long), torch.ones(2, 3))


def test_paraphrase_pairs_are_two_spellings_of_one_held_out_date():
    days = date_split("test")
    spelling = {format_date(d, f): (d, f) for d in days for f in DATE_FORMATS}
    pairs = paraphrase_pairs(300, "test", seed=3)
    assert pairs == paraphrase_pairs(300, "test", seed=3)  # repeatable
    dates = []
    for a, b in pairs:
        assert a != b and spelling[a][0] == spelling[b][0]
        dates.append(spelling[a][0])
    assert len(set(dates)) == 300  # distinct dates: no false negatives in a batch
    train = set(date_split("train"))
    assert not train & set(dates)


def test_paraphrase_pairs_bad_arguments():
    with pytest.raises(ValueError, match="n=0"):
        paraphrase_pairs(0)
    with pytest.raises(ValueError, match="more than"):
        paraphrase_pairs(10**6, "test")
    for a, b in paraphrase_pairs(200, formats=["dd.mm.yyyy", "d.m.yyyy", "mm/dd/yyyy"]):
        assert a != b  # the first two only differ for days or months below 10
    with pytest.raises(ValueError, match="only as"):
        paraphrase_pairs(500, formats=["dd.mm.yyyy", "d.m.yyyy"])
    with pytest.raises(ValueError, match="at least two"):
        paraphrase_pairs(3, formats=["mm/dd/yy", "mm/dd/yy"])
    with pytest.raises(ValueError, match="nope"):
        paraphrase_pairs(3, formats=["nope", "mm/dd/yy"])
