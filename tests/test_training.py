"""Chapter 8's training pieces: schedule, label smoothing, loops, checkpoints, resume."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from transformer_book import Transformer, TransformerConfig, set_seed
from transformer_book.batching import make_batches
from transformer_book.checkpoints import (
    CheckpointError,
    average_weights,
    load_checkpoint,
    save_checkpoint,
)
from transformer_book.data import copy_pairs, date_tokenizer
from transformer_book.schedule import (
    LabelSmoothingLoss,
    make_optimizer,
    transformer_lr,
    warmup_scheduler,
)
from transformer_book.training import (
    History,
    NonFiniteLossError,
    TrainingConfig,
    evaluate,
    exact_match,
    fit,
)


def tiny_model(tok, **kw):
    set_seed(0)
    return Transformer(TransformerConfig.tiny(len(tok), **kw))


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


def test_exact_match():
    assert exact_match(["a", "b", "c", "d"], ["a", "b", "x", "d"]) == 0.75
    with pytest.raises(ValueError):
        exact_match(["a"], ["a", "b"])


def test_fit_learns_to_copy_and_is_repeatable():
    tok = date_tokenizer()
    train = copy_pairs(512, max_len=6, alphabet="abcdef", seed=0)
    val = copy_pairs(64, max_len=6, alphabet="abcdef", seed=1)
    cfg = TrainingConfig(epochs=4, batch_size=32, warmup=30, lr_factor=1.0, label_smoothing=0.0,
                         progress=False)
    runs = []
    for _ in range(2):
        model = tiny_model(tok)
        runs.append(fit(model, tok, train, val, cfg, device="cpu", log=None))
    assert runs[0].train_loss == runs[1].train_loss  # bit-identical on the CPU
    h = runs[0]
    assert h.train_loss[-1] < 0.5 * h.train_loss[0]
    assert len(h.step_lr) == 4 * 16 and h.epoch == [1, 2, 3, 4]
    assert h.step_lr[:3] == pytest.approx([transformer_lr(s, 32, 30) for s in (1, 2, 3)])


def test_non_finite_loss_stops_training_with_a_clear_message():
    tok = date_tokenizer()
    model = tiny_model(tok)
    with torch.no_grad():
        model.generator.weight[5, 0] = float("nan")
    pairs = copy_pairs(64, seed=0)
    with pytest.raises(NonFiniteLossError, match=r"training stopped: the loss is nan at step 1 "):
        fit(model, tok, pairs, pairs, TrainingConfig(epochs=1, progress=False), device="cpu",
            log=None)


def test_evaluate_reports_loss_and_token_accuracy():
    tok = date_tokenizer()
    model = tiny_model(tok)
    batches = make_batches(copy_pairs(40, seed=0), tok, 16)
    out = evaluate(model, batches, LabelSmoothingLoss(0.0, tok.pad_id), torch.device("cpu"))
    assert set(out) == {"loss", "token_accuracy"}
    assert 0.0 <= out["token_accuracy"] <= 1.0 and out["loss"] > 0


def test_checkpoint_round_trip_with_weights_only(tmp_path):
    tok = date_tokenizer()
    model = tiny_model(tok)
    path = tmp_path / "m.pt"
    save_checkpoint(path, model, tok, epoch=3, history=History(epoch=[1, 2, 3]),
                    extra={"task": "dates-iso"})
    raw = torch.load(path, weights_only=True)
    assert isinstance(raw["config"], dict) and raw["vocab"] == tok.vocab
    ck = load_checkpoint(path)
    assert ck.tokenizer.vocab == tok.vocab and ck.epoch == 3 and ck.extra["task"] == "dates-iso"
    assert ck.model.config == model.config and not ck.model.training
    for (k, a), b in zip(model.state_dict().items(), ck.model.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
    # Tied embeddings stay tied after loading.
    assert ck.model.generator.weight is ck.model.tgt_embed.weight


def test_bad_checkpoints_raise_checkpoint_error(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(junk)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, other)
    with pytest.raises(CheckpointError, match="not a transformer_book checkpoint"):
        load_checkpoint(other)
    tok = date_tokenizer()
    good = tmp_path / "good.pt"
    save_checkpoint(good, tiny_model(tok), tok)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[:2000])
    with pytest.raises(CheckpointError):
        load_checkpoint(truncated)


def test_resume_continues_exactly(tmp_path):
    tok = date_tokenizer()
    train = copy_pairs(256, max_len=6, seed=0)
    val = copy_pairs(32, max_len=6, seed=1)
    cfg = TrainingConfig(epochs=3, batch_size=32, warmup=20, progress=False)
    full = fit(tiny_model(tok, dropout=0.1), tok, train, val, cfg, device="cpu", log=None)

    path = tmp_path / "run.pt"
    short = TrainingConfig(**{**cfg.__dict__, "epochs": 2})
    fit(tiny_model(tok, dropout=0.1), tok, train, val, short, device="cpu", log=None,
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


def test_average_weights_and_epoch_hook():
    tok = date_tokenizer()
    snapshots = []
    model = tiny_model(tok)
    fit(model, tok, lambda epoch: copy_pairs(64, seed=epoch), copy_pairs(16, seed=99),
        TrainingConfig(epochs=3, batch_size=16, warmup=5, progress=False), device="cpu",
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
