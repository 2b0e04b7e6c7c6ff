"""Checkpoints under faults and hostile files: nothing half-written, nothing spoiled saved,
nothing unsafe or oversized loaded, and a one-line reason for every refusal."""

from __future__ import annotations

import math
import os

import pytest
import torch

from transformer_book import checkpoints, training
from transformer_book.checkpoints import (
    MAX_ELEMENTS,
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
    saved_epoch,
)
from transformer_book.data import date_pairs, date_tokenizer
from transformer_book.training import NonFiniteLossError, TrainingConfig, fit


@pytest.fixture
def saved(tmp_path, tiny_model):
    """A good checkpoint on disk: ``(path, model, tokenizer)``."""
    tok = date_tokenizer()
    model = tiny_model(len(tok))
    path = tmp_path / "m.pt"
    save_checkpoint(path, model, tok, epoch=1)
    return path, model, tok


def rewrite(path, damage) -> None:
    state = torch.load(path, weights_only=True)
    damage(state)
    torch.save(state, path)


def test_temporary_files_are_unique_fsynced_and_renamed(saved, monkeypatch):
    path, model, tok = saved
    (path.parent / "m.pt.tmp").mkdir()  # a fixed temporary name would collide with this
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace",
                        lambda a, b: (events.append(("replace", a)), real_replace(a, b))[1])
    save_checkpoint(path, model, tok, epoch=2)
    assert events[0] == "fsync" and events[1][0] == "replace"  # flushed to disk, then renamed
    assert os.path.dirname(events[1][1]) == str(path.parent)  # renamed within one folder
    assert saved_epoch(path) == 2
    assert sorted(p.name for p in path.parent.iterdir()) == ["m.pt", "m.pt.tmp"]
    assert oct(path.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.mark.parametrize("fault", [KeyboardInterrupt, OSError])
def test_a_fault_inside_a_save_leaves_the_old_file_and_no_temporary_one(saved, monkeypatch,
                                                                         fault):
    path, model, tok = saved
    before = path.read_bytes()

    def broken_save(state, f):
        f.write(b"half a checkpoint")
        raise fault()

    monkeypatch.setattr(checkpoints.torch, "save", broken_save)
    with pytest.raises(fault):
        save_checkpoint(path, model, tok, epoch=2)
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["m.pt"]


def test_non_finite_weights_are_neither_saved_nor_loaded(saved):
    path, model, tok = saved
    before = path.read_bytes()
    with torch.no_grad():
        model.encoder.layers[0].feed_forward.linear1.weight[0, 0] = math.nan
    with pytest.raises(ValueError, match="feed_forward.linear1.weight holds NaN or infinite"):
        save_checkpoint(path, model, tok, epoch=2)
    assert path.read_bytes() == before
    key = "decoder.layers.0.feed_forward.linear2.bias"
    rewrite(path, lambda s: s["model"][key].__setitem__(0, math.inf))
    with pytest.raises(CheckpointError, match=f"{key} holds NaN or infinite values"):
        load_checkpoint(path)


def test_fit_stops_before_saving_a_non_finite_state(saved, monkeypatch):
    path, model, tok = saved
    before = path.read_bytes()
    real_train_epoch = training.train_epoch

    def poisoning_train_epoch(model, *args, **kwargs):
        loss = real_train_epoch(model, *args, **kwargs)
        with torch.no_grad():
            next(model.parameters())[0, 0] = math.nan
        return loss

    monkeypatch.setattr(training, "train_epoch", poisoning_train_epoch)
    with pytest.raises(NonFiniteLossError, match="training stopped"):
        fit(model, tok, date_pairs(16), date_pairs(8, split="validation"),
            TrainingConfig(epochs=1, batch_size=8), device="cpu", log=None,
            checkpoint_path=path)
    assert path.read_bytes() == before


def test_fit_stops_on_a_non_finite_validation_loss(saved, monkeypatch):
    path, model, tok = saved
    before = path.read_bytes()
    monkeypatch.setattr(training, "evaluate",
                        lambda *a, **k: {"loss": math.nan, "token_accuracy": 0.0})
    with pytest.raises(NonFiniteLossError, match="validation loss is nan after epoch 1"):
        fit(model, tok, date_pairs(16), date_pairs(8, split="validation"),
            TrainingConfig(epochs=1, batch_size=8), device="cpu", log=None,
            checkpoint_path=path)
    assert path.read_bytes() == before


class Payload:
    def __reduce__(self):
        return (os.system, ("echo owned",))


def test_python_objects_are_refused_as_unsafe(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": checkpoints.FORMAT, "config": Payload()}, path)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    assert str(info.value) == (f"{str(path)!r} contains Python objects other than tensors, "
                               f"refused as unsafe")


def test_not_a_regular_file(tmp_path):
    for path in (tmp_path, "/dev/null"):
        with pytest.raises(CheckpointError, match="is not a regular file"):
            load_checkpoint(path)


def test_a_huge_config_is_refused_before_anything_is_allocated(saved):
    path, _, _ = saved
    rewrite(path, lambda s: s["config"].update(d_model=2**20, num_heads=1, max_len=2**20))
    with pytest.raises(CheckpointError, match=f"more than the {MAX_ELEMENTS:,} a checkpoint"):
        load_checkpoint(path)


def test_shapes_are_checked_against_the_config_naming_the_first_mismatch(saved):
    path, _, _ = saved
    rewrite(path, lambda s: s["model"].update(
        {"encoder.layers.0.feed_forward.linear1.weight": torch.zeros(10**4, 32)}))
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    assert str(info.value).endswith("(encoder.layers.0.feed_forward.linear1.weight has shape "
                                    "(10000, 32), but the config gives (64, 32))")
    rewrite(path, lambda s: s["model"].update(
        {"encoder.layers.0.feed_forward.linear1.weight": torch.zeros(64, 32),
         "extra_weight": torch.zeros(3)}))
    with pytest.raises(CheckpointError, match=r"\(extra_weight is unexpected\)"):
        load_checkpoint(path)


@pytest.mark.parametrize("damage, reason", [
    (lambda s: s.update(epoch="3"), "epoch is a str"),
    (lambda s: s.update(epoch=-2), "epoch=-2 is negative"),
    (lambda s: s.update(optimizer=[1, 2]), "optimizer is a list"),
    (lambda s: s.update(config=[1]), "config is a list"),
    (lambda s: s.update(vocab=[*s["vocab"], *(chr(0xFF10 + i) for i in range(16))]),
     "vocab has 91 tokens, more than the model's vocab_size=75"),
    (lambda s: s["model"].update({"generator.weight": s["model"]["generator.weight"].long()}),
     "generator.weight is not a floating-point tensor"),
])
def test_malformed_fields_give_one_line(saved, damage, reason):
    path, _, _ = saved
    rewrite(path, damage)
    with pytest.raises(CheckpointError, match="is a damaged checkpoint") as info:
        load_checkpoint(path)
    assert reason in str(info.value) and "\n" not in str(info.value)
