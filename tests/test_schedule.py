"""The paper's training recipe: the warmup schedule with Adam, and label smoothing."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from transformer_book.schedule import (
    LabelSmoothingLoss,
    make_optimizer,
    transformer_lr,
    warmup_scheduler,
)


def test_schedule_formula_and_shape():
    d, w = 512, 4000
    assert transformer_lr(1, d, w) == pytest.approx(d ** -0.5 * w ** -1.5)
    assert transformer_lr(w, d, w) == pytest.approx(d ** -0.5 * w ** -0.5)
    lrs = [transformer_lr(s, d, w) for s in range(1, 3 * w)]
    peak = max(range(len(lrs)), key=lrs.__getitem__) + 1
    assert peak == w
    assert transformer_lr(4 * w, d, w) == pytest.approx(transformer_lr(w, d, w) / 2)
    assert transformer_lr(10, d, w, factor=2.0) == pytest.approx(2 * transformer_lr(10, d, w))
    with pytest.raises(ValueError, match="step=0"):
        transformer_lr(0, d, w)


def test_lambda_lr_follows_the_paper_from_step_one():
    model = nn.Linear(4, 4)
    opt = make_optimizer(model)
    assert opt.defaults["betas"] == (0.9, 0.98) and opt.defaults["eps"] == 1e-9
    sched = warmup_scheduler(opt, d_model=64, warmup=10)
    seen = []
    for _ in range(30):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert seen == pytest.approx([transformer_lr(s, 64, 10) for s in range(1, 31)])
    with pytest.raises(ValueError, match="lr=1.0"):
        warmup_scheduler(torch.optim.Adam(model.parameters(), lr=0.1), 64)


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
def test_label_smoothing_matches_cross_entropy(smoothing):
    torch.manual_seed(0)
    logits = torch.randn(3, 7, 11, requires_grad=True)
    target = torch.randint(1, 11, (3, 7))
    target[0, 4:] = 0
    target[2, 1:] = 0
    ours = LabelSmoothingLoss(smoothing, ignore_index=0)(logits, target)
    ref = nn.CrossEntropyLoss(label_smoothing=smoothing, ignore_index=0)(
        logits.reshape(-1, 11), target.reshape(-1))
    torch.testing.assert_close(ours, ref)
    g_ours, = torch.autograd.grad(ours, logits)
    g_ref, = torch.autograd.grad(ref, logits)
    torch.testing.assert_close(g_ours, g_ref)


def test_label_smoothing_in_bf16_is_computed_in_float32():
    logits = torch.randn(4, 5, 9).bfloat16()
    target = torch.randint(1, 9, (4, 5))
    loss = LabelSmoothingLoss(0.1)(logits, target)
    assert loss.dtype == torch.float32
    with pytest.raises(ValueError, match="smoothing="):
        LabelSmoothingLoss(1.0)
    with pytest.raises(ValueError, match="logits"):
        LabelSmoothingLoss(0.1)(logits, target[:, :3])


def test_label_smoothing_when_every_target_is_padding_is_zero_not_nan():
    logits = torch.randn(2, 3, 7, requires_grad=True)
    target = torch.zeros(2, 3, dtype=torch.long)  # all <pad>
    loss = LabelSmoothingLoss(0.1, ignore_index=0)(logits, target)
    assert loss.item() == 0.0
    loss.backward()
    assert torch.equal(logits.grad, torch.zeros_like(logits))
    # With one real token the loss is that token's loss alone.
    target[1, 2] = 4
    one = LabelSmoothingLoss(0.0, ignore_index=0)(logits, target)
    expected = -logits[1, 2].log_softmax(-1)[4]
    torch.testing.assert_close(one, expected)


def test_label_smoothing_checks_its_arguments():
    with pytest.raises(ValueError, match="smoothing=1.0 must be a number in"):
        LabelSmoothingLoss(1.0)
    with pytest.raises(TypeError, match="smoothing='0.1' must be a number"):
        LabelSmoothingLoss("0.1")
    with pytest.raises(ValueError, match=r"logits \(2, 3, 7\) must be target \(2, 4\)"):
        LabelSmoothingLoss()(torch.randn(2, 3, 7), torch.zeros(2, 4, dtype=torch.long))
    with pytest.raises(TypeError, match="step=1.5 must be an int"):
        transformer_lr(1.5, 512)
    with pytest.raises(ValueError, match="step=0 must be an int >= 1"):
        transformer_lr(0, 512)
