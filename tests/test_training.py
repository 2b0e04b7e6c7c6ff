"""Chapter 8's training loop: fit, its log line and history, evaluation, resuming."""

from __future__ import annotations

import pytest
import torch

from transformer_book.batching import make_batches
from transformer_book.checkpoints import average_weights, load_checkpoint
from transformer_book.loops import NonFiniteLossError, evaluate
from transformer_book.schedule import LabelSmoothingLoss, transformer_lr
from transformer_book.text.data import copy_pairs, date_tokenizer
from transformer_book.text.metrics import exact_match
from transformer_book.training import TrainingConfig, fit


def test_exact_match():
    assert exact_match(["a", "b", "c", "d"], ["a", "b", "x", "d"]) == 0.75
    with pytest.raises(ValueError):
        exact_match(["a"], ["a", "b"])


def test_fit_learns_to_copy_and_is_repeatable(tiny_model):
    tok = date_tokenizer()
    train = copy_pairs(512, max_len=6, alphabet="abcdef", seed=0)
    val = copy_pairs(64, max_len=6, alphabet="abcdef", seed=1)
    cfg = TrainingConfig(epochs=4, batch_size=32, warmup=30, lr_factor=1.0, label_smoothing=0.0,
                         progress=False, max_decode_len=8)
    runs = []
    for _ in range(2):
        model = tiny_model(len(tok))
        runs.append(fit(model, tok, train, val, cfg, device="cpu", log=None))
    assert runs[0].train_loss == runs[1].train_loss  # bit-identical on the CPU
    h = runs[0]
    assert h.train_loss[-1] < 0.5 * h.train_loss[0]
    assert len(h.step_lr) == 4 * 16 and h.epoch == [1, 2, 3, 4]
    assert h.step_lr[:3] == pytest.approx([transformer_lr(s, 32, 30) for s in (1, 2, 3)])


def test_non_finite_loss_stops_training_with_a_clear_message(tiny_model):
    tok = date_tokenizer()
    model = tiny_model(len(tok))
    with torch.no_grad():
        model.generator.weight[5, 0] = float("nan")
    pairs = copy_pairs(64, seed=0)
    with pytest.raises(NonFiniteLossError, match=r"training stopped: the loss is nan at step 1 "):
        fit(model, tok, pairs, pairs, TrainingConfig(epochs=1, progress=False), device="cpu",
            log=None)


def test_evaluate_reports_loss_and_token_accuracy(tiny_model):
    tok = date_tokenizer()
    model = tiny_model(len(tok))
    batches = make_batches(copy_pairs(40, seed=0), tok, 16)
    out = evaluate(model, batches, LabelSmoothingLoss(0.0, tok.pad_id), torch.device("cpu"))
    assert set(out) == {"loss", "token_accuracy"}
    # The same numbers by hand: per real target token, over all batches together.
    losses, correct, count = [], 0, 0
    with torch.no_grad():
        for b in batches:
            logits = model(b.src, b.tgt_in, b.src_padding_mask, b.tgt_padding_mask)
            real = b.tgt_padding_mask
            losses.append(torch.nn.functional.cross_entropy(logits[real], b.tgt_out[real],
                                                            reduction="sum"))
            correct += int((logits.argmax(-1)[real] == b.tgt_out[real]).sum())
            count += int(real.sum())
    assert out["loss"] == pytest.approx(float(sum(losses)) / count, rel=1e-5)
    assert out["token_accuracy"] == correct / count


def test_resume_continues_exactly(tmp_path, tiny_model):
    tok = date_tokenizer()
    train = copy_pairs(256, max_len=6, seed=0)
    val = copy_pairs(32, max_len=6, seed=1)
    cfg = TrainingConfig(epochs=3, batch_size=32, warmup=20, progress=False, max_decode_len=8)
    full = fit(tiny_model(len(tok), dropout=0.1), tok, train, val, cfg, device="cpu", log=None)

    path = tmp_path / "run.pt"
    short = TrainingConfig(**{**cfg.__dict__, "epochs": 2})
    fit(tiny_model(len(tok), dropout=0.1), tok, train, val, short, device="cpu", log=None,
        checkpoint_path=path)
    ck = load_checkpoint(path)
    assert ck.epoch == 2
    torch.manual_seed(123)  # resuming restores the random state saved with the checkpoint
    resumed = fit(ck.model, ck.tokenizer, train, val, cfg, device="cpu", log=None, resume=ck)
    assert resumed.epoch == [1, 2, 3]
    assert resumed.train_loss == pytest.approx(full.train_loss, rel=1e-6)
    assert resumed.step_lr == pytest.approx(full.step_lr)


def test_training_config_checks_its_arguments():
    with pytest.raises(ValueError, match="epochs=0"):
        TrainingConfig(epochs=0)
    with pytest.raises(ValueError, match="clip_norm="):
        TrainingConfig(clip_norm=-1.0)
    with pytest.raises(TypeError, match="batch_size=2.5 must be an int"):
        TrainingConfig(batch_size=2.5)
    with pytest.raises(ValueError, match="lr_factor=0"):
        TrainingConfig(lr_factor=0)


def test_average_weights_and_epoch_hook(tiny_model):
    tok = date_tokenizer()
    snapshots = []
    model = tiny_model(len(tok))
    fit(model, tok, lambda epoch: copy_pairs(64, seed=epoch), copy_pairs(16, seed=99),
        TrainingConfig(epochs=3, batch_size=16, warmup=5, progress=False, max_decode_len=14),
        device="cpu",
        log=None, on_epoch_end=lambda epoch, h: snapshots.append(
            {k: v.clone() for k, v in model.state_dict().items()}))
    assert len(snapshots) == 3
    avg = average_weights(snapshots[-2:])
    key = "generator.weight"
    torch.testing.assert_close(avg[key], (snapshots[-2][key] + snapshots[-1][key]) / 2)
    model.load_state_dict(avg)
    assert model.generator.weight is model.tgt_embed.weight
    with pytest.raises(ValueError, match="at least one"):
        average_weights([])


@pytest.mark.parametrize("kwargs, name", [
    (dict(label_smoothing=1.5), "label_smoothing=1.5"),
    (dict(lr_factor=0.0), "lr_factor=0.0"),
    (dict(lr_factor=float("nan")), "lr_factor=nan"),
    (dict(clip_norm=-1.0), "clip_norm=-1.0"),
])
def test_training_config_names_a_bad_value(kwargs, name):
    with pytest.raises(ValueError, match=name):
        TrainingConfig(**kwargs)


def test_fit_logs_one_line_per_epoch_with_the_history_values(tiny_model):
    tok = date_tokenizer()
    lines = []
    cfg = TrainingConfig(epochs=2, batch_size=16, warmup=5, progress=False, max_decode_len=8)
    history = fit(tiny_model(len(tok)), tok, copy_pairs(32, max_len=4, seed=0),
                  copy_pairs(8, max_len=4, seed=1), cfg, device="cpu", log=lines.append)
    assert len(lines) == 2
    for i, line in enumerate(lines):
        assert line == (
            f"epoch {i + 1:2d}/2  train loss {history.train_loss[i]:.3f}  "
            f"val loss {history.val_loss[i]:.3f}  "
            f"val token acc {history.val_token_accuracy[i]:.3f}  "
            f"val exact {history.val_exact_match[i]:.3f}  lr {history.step_lr[2 * i + 1]:.2e}"
        )
