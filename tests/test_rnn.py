"""Tests of transformer_book.models.rnn and of chapter 1's data set (data.recall_task)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from transformer_book.models.classifier import AttentionClassifier
from transformer_book.models.rnn import (
    RecurrentClassifier,
    RNNCell,
    StepRNN,
    input_gradient_norms,
)
from transformer_book.text.data import recall_task


def _pair(input_size: int = 3, hidden_size: int = 5, dtype=torch.float64):
    torch.manual_seed(0)
    ref = nn.RNN(input_size, hidden_size, batch_first=True).to(dtype)
    return ref, StepRNN.from_torch(ref)


# ---- the step-by-step RNN ------------------------------------------------------------------

def test_cell_is_the_formula():
    torch.manual_seed(0)
    cell = RNNCell(3, 4)
    x, h = torch.randn(2, 3), torch.randn(2, 4)
    expected = torch.tanh(x @ cell.weight_ih.T + cell.bias_ih + h @ cell.weight_hh.T + cell.bias_hh)
    torch.testing.assert_close(cell(x, h), expected)


def test_cell_matches_torch_rnncell():
    torch.manual_seed(0)
    ref = nn.RNNCell(3, 4)
    cell = RNNCell(3, 4)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(getattr(ref, name))
    x, h = torch.randn(2, 3), torch.randn(2, 4)
    torch.testing.assert_close(cell(x, h), ref(x, h), atol=1e-6, rtol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_step_rnn_matches_torch_rnn(dtype):
    ref, step = _pair(dtype=dtype)
    x = torch.randn(4, 7, 3, dtype=dtype)
    out_ref, h_ref = ref(x)
    out, h = step(x)
    assert out.shape == (4, 7, 5) and h.shape == (1, 4, 5)
    assert out.dtype == dtype
    torch.testing.assert_close(out, out_ref, atol=1e-6, rtol=0)
    torch.testing.assert_close(h, h_ref, atol=1e-6, rtol=0)


def test_step_rnn_matches_torch_rnn_with_initial_state():
    ref, step = _pair()
    x, h0 = torch.randn(2, 6, 3, dtype=torch.float64), torch.randn(1, 2, 5, dtype=torch.float64)
    out_ref, h_ref = ref(x, h0)
    out, h = step(x, h0)
    torch.testing.assert_close(out, out_ref, atol=1e-6, rtol=0)
    torch.testing.assert_close(h, h_ref, atol=1e-6, rtol=0)


def test_step_rnn_gradients_match_torch_rnn():
    ref, step = _pair()
    x = torch.randn(3, 9, 3, dtype=torch.float64)
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    ref(x1)[0].pow(2).sum().backward()
    step(x2)[0].pow(2).sum().backward()
    torch.testing.assert_close(x2.grad, x1.grad, atol=1e-6, rtol=0)
    torch.testing.assert_close(step.cell.weight_hh.grad, ref.weight_hh_l0.grad, atol=1e-6, rtol=0)
    torch.testing.assert_close(step.cell.bias_ih.grad, ref.bias_ih_l0.grad, atol=1e-6, rtol=0)


def test_step_rnn_gradcheck():
    torch.manual_seed(0)
    step = StepRNN(2, 3).double()
    x = torch.randn(1, 4, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: step(t)[0], (x,))


def test_step_rnn_calls_the_cell_once_per_position():
    step = StepRNN(2, 3)
    calls = []
    step.cell.register_forward_hook(lambda *args: calls.append(1))
    step(torch.randn(2, 11, 2))
    assert len(calls) == 11


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(num_layers=2), "one-layer"),
        (dict(nonlinearity="relu"), "tanh"),
        (dict(bidirectional=True), "unidirectional"),
        (dict(bias=False), "biases"),
    ],
)
def test_from_torch_rejects_other_rnns(kwargs, match):
    with pytest.raises(ValueError, match=match):
        StepRNN.from_torch(nn.RNN(2, 3, batch_first=True, **kwargs))
    with pytest.raises(TypeError, match="torch.nn.RNN"):
        StepRNN.from_torch(nn.LSTM(2, 3))


def test_step_rnn_bad_arguments():
    with pytest.raises(ValueError, match="hidden_size=0"):
        StepRNN(3, 0)
    with pytest.raises(TypeError, match="input_size=2.5 must be an int"):
        RNNCell(2.5, 3)
    step = StepRNN(3, 4)
    with pytest.raises(ValueError, match=r"\(batch, seq, input_size\) with input_size=3"):
        step(torch.randn(2, 5, 4))
    with pytest.raises(ValueError, match="input_size=3"):
        step(torch.randn(5, 3))
    with pytest.raises(TypeError, match="floating-point"):
        step(torch.ones(2, 5, 3, dtype=torch.long))
    with pytest.raises(TypeError, match="torch.Tensor"):
        step([[0.0, 1.0, 2.0]])
    with pytest.raises(ValueError, match=r"h0 must have shape \(1, batch=2, hidden_size=4\)"):
        step(torch.randn(2, 5, 3), torch.zeros(2, 4))


# ---- the classifiers -----------------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda: RecurrentClassifier(6, 4, hidden_size=8, cell="lstm"),
    lambda: RecurrentClassifier(6, 4, hidden_size=8, cell="rnn"),
    lambda: AttentionClassifier(6, 4, d_model=8, num_heads=2, max_len=32),
    lambda: AttentionClassifier(6, 4, d_model=8, num_heads=2, positional=False),
])
def test_classifiers_shapes_and_gradients(make):
    torch.manual_seed(0)
    model = make()
    tokens = torch.randint(6, (3, 10))
    logits = model(tokens)
    assert logits.shape == (3, 4) and logits.dtype == torch.float32
    logits.sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all()
               for p in model.parameters() if p.requires_grad)
    assert model(tokens.int()).shape == (3, 4)


@pytest.mark.parametrize("make", [
    lambda: RecurrentClassifier(6, 4, hidden_size=8),
    lambda: AttentionClassifier(6, 4, d_model=8, num_heads=2, max_len=32),
])
def test_classifiers_follow_the_parameters_dtype(make):
    model = make().double()
    assert model(torch.randint(6, (2, 5))).dtype == torch.float64


def test_attention_classifier_reads_the_last_position_and_sees_order():
    torch.manual_seed(0)
    model = AttentionClassifier(6, 4, d_model=8, num_heads=2, max_len=32)
    tokens = torch.randint(6, (2, 7))
    # Changing a middle token changes the prediction at the end: attention sees every position.
    changed = tokens.clone()
    changed[:, 3] = (changed[:, 3] + 1) % 6
    assert not torch.allclose(model(tokens), model(changed))
    # Without positional encoding, swapping two earlier tokens changes nothing.
    bag = AttentionClassifier(6, 4, d_model=8, num_heads=2, positional=False)
    swapped = tokens[:, [1, 0, 2, 3, 4, 5, 6]]
    torch.testing.assert_close(bag(tokens), bag(swapped), atol=1e-5, rtol=0)
    assert not torch.allclose(model(tokens), model(swapped), atol=1e-5)


def test_classifiers_bad_arguments():
    with pytest.raises(ValueError, match="cell='gru'"):
        RecurrentClassifier(6, 4, cell="gru")
    with pytest.raises(ValueError, match="hidden_size=-1"):
        RecurrentClassifier(6, 4, hidden_size=-1)
    with pytest.raises(ValueError, match="d_model=10 is not divisible by num_heads=4"):
        AttentionClassifier(6, 4, d_model=10, num_heads=4)
    model = AttentionClassifier(6, 4, d_model=8, num_heads=2, max_len=16)
    with pytest.raises(TypeError, match="token ids"):
        model(torch.randn(2, 5))
    with pytest.raises(ValueError, match=r"\(batch, seq\)"):
        model(torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match="max_len=16"):
        model(torch.zeros(1, 17, dtype=torch.long))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_models_run_on_cuda():
    tokens = torch.randint(6, (2, 5), device="cuda")
    for model in (RecurrentClassifier(6, 4, 8), AttentionClassifier(6, 4, 8, 2, max_len=16)):
        assert model.to("cuda")(tokens).device.type == "cuda"
    ref, step = _pair(dtype=torch.float32)
    x = torch.randn(2, 4, 3, device="cuda")
    step = StepRNN.from_torch(ref.cuda())
    assert step.cell.weight_hh.device.type == "cuda"
    torch.testing.assert_close(step(x)[0], ref(x)[0], atol=1e-5, rtol=0)


# ---- input_gradient_norms ------------------------------------------------------------------

def test_input_gradient_norms_of_a_known_function():
    # y_t = 2 * x_0 + 3 * x_t: the last output depends on x_0 (norm 2 * sqrt(d)) and x_n.
    x = torch.randn(1, 5, 3, dtype=torch.float64)
    norms = input_gradient_norms(lambda t: 2 * t[:, :1] + 3 * t, x)
    expected = torch.tensor([2.0, 0, 0, 0, 3.0], dtype=torch.float64) * 3 ** 0.5
    torch.testing.assert_close(norms, expected)


def test_input_gradient_norms_of_an_rnn_are_causal_and_match_autograd():
    _, step = _pair()
    x = torch.randn(1, 6, 3, dtype=torch.float64)
    norms = input_gradient_norms(lambda t: step(t)[0], x)
    jac = torch.autograd.functional.jacobian(lambda t: step(t)[0][0, -1], x)  # (5, 1, 6, 3)
    torch.testing.assert_close(norms, jac.pow(2).sum(dim=(0, 1, 3)).sqrt())
    assert (norms > 0).all()


def test_input_gradient_norms_bad_arguments():
    with pytest.raises(ValueError, match=r"\(1, seq, d_in\)"):
        input_gradient_norms(lambda t: t, torch.randn(2, 4, 3))
    with pytest.raises(ValueError, match="f\\(x\\) must have shape"):
        input_gradient_norms(lambda t: t[:, -1], torch.randn(1, 4, 3))


# ---- the recall data set -------------------------------------------------------------------

def test_recall_task_target_is_the_first_token():
    tokens, targets = recall_task(50, 9, num_symbols=5, seed=3)
    assert tokens.shape == (50, 10) and targets.shape == (50,)
    assert tokens.dtype == targets.dtype == torch.int64
    assert torch.equal(targets, tokens[:, 0])
    assert tokens.min() >= 0 and tokens.max() < 5
    assert len(torch.unique(tokens)) == 5  # distractors come from the same symbols


def test_recall_task_is_seeded():
    a, b = recall_task(8, 4, seed=1), recall_task(8, 4, seed=1)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], recall_task(8, 4, seed=2)[0])
    gen1, gen2 = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    first, second = recall_task(8, 4, generator=gen1), recall_task(8, 4, generator=gen1)
    assert not torch.equal(first[0], second[0])  # a generator gives fresh batches ...
    assert torch.equal(recall_task(8, 4, generator=gen2)[0], first[0])  # ... that repeat


def test_recall_task_zero_distractors_and_device():
    tokens, targets = recall_task(3, 0, device="cpu")
    assert tokens.shape == (3, 1) and tokens.device.type == "cpu"


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(num_sequences=0, num_distractors=3), ValueError, "num_sequences=0"),
    (dict(num_sequences=2, num_distractors=-1), ValueError, "num_distractors=-1"),
    (dict(num_sequences=2, num_distractors=3, num_symbols=1), ValueError, "num_symbols=1"),
    (dict(num_sequences=2, num_distractors=3, seed=1.5), TypeError, "seed=1.5"),
    (dict(num_sequences=2, num_distractors=3, generator=3), TypeError, "torch.Generator"),
])
def test_recall_task_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        recall_task(**kwargs)
