"""Checkpoints under faults and hostile files: nothing half-written, nothing spoiled saved,
nothing unsafe or oversized loaded, and a one-line reason for every refusal."""

from __future__ import annotations

import math
import os
import re

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
from transformer_book.loops import NonFiniteLossError
from transformer_book.text.data import date_pairs, date_tokenizer
from transformer_book.training import TrainingConfig, fit


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
    rewrite(path, lambda s: s["config"].update(d_model=2**20, num_heads=1))
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


# --- Round two: what a file declares never drives memory or time ------------------------------

@pytest.mark.parametrize("sizes, reason", [
    ({"num_layers": 100_000, "d_model": 2, "num_heads": 1, "d_ff": 1}, "num_layers=100,000"),
    ({"max_len": 180_000_000}, "max_len=180,000,000"),
])
def test_a_config_of_many_modules_or_positions_is_refused_before_any_is_built(saved, monkeypatch,
                                                                             sizes, reason):
    path, _, _ = saved
    rewrite(path, lambda s: s["config"].update(sizes))
    config_class = checkpoints.MODELS["Transformer"][1]
    monkeypatch.setitem(checkpoints.MODELS, "Transformer", (None, config_class))  # no building
    with pytest.raises(CheckpointError, match=f"asks for {reason}, more than the"):
        load_checkpoint(path)


def test_compressed_records_are_refused_before_torch_load_inflates_them(saved, monkeypatch):
    import zipfile

    path, _, _ = saved
    bomb = path.with_name("bomb.pt")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
    monkeypatch.setattr(checkpoints.torch, "load", None)  # never reached
    with pytest.raises(CheckpointError, match="holds a compressed record .* refused as unsafe"):
        load_checkpoint(bomb)
    assert saved_epoch(bomb) is None


def test_the_legacy_format_is_refused(saved):
    path, _, _ = saved
    state = torch.load(path, weights_only=True)
    torch.save(state, path, _use_new_zipfile_serialization=False)
    with pytest.raises(CheckpointError, match="not a zip-format PyTorch file"):
        load_checkpoint(path)


class FailingFile:
    """A file whose writes fail (with ``fault``) once ``room`` bytes are written."""

    def __init__(self, f, room: int, fault: BaseException):
        self.f, self.room, self.fault = f, room, fault

    def write(self, data) -> int:
        self.room -= len(data)
        if self.room < 0:
            raise self.fault
        return self.f.write(data)

    def __getattr__(self, name):
        return getattr(self.f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()


@pytest.mark.parametrize("fault", [OSError(28, "No space left on device"),
                                   OSError(27, "File too large"), KeyboardInterrupt()])
def test_a_failed_write_inside_torch_save_surfaces_as_itself(saved, monkeypatch, fault):
    # torch's zip writer turns the failed write into "RuntimeError: unexpected pos ..."
    path, model, tok = saved
    before = path.read_bytes()
    real_fdopen = os.fdopen
    monkeypatch.setattr(checkpoints.os, "fdopen",
                        lambda fd, mode: FailingFile(real_fdopen(fd, mode), 10_000, fault))
    with pytest.raises(type(fault)) as info:
        save_checkpoint(path, model, tok, epoch=2)
    assert info.value is fault
    assert path.read_bytes() == before and [p.name for p in path.parent.iterdir()] == ["m.pt"]


def test_a_file_name_of_255_bytes_can_be_saved(saved):
    _, model, tok = saved
    path = saved[0].with_name("m" * 252 + ".pt")
    save_checkpoint(path, model, tok, epoch=1)
    assert saved_epoch(path) == 1


def test_a_save_through_a_symbolic_link_keeps_the_link(saved):
    path, model, tok = saved
    link = path.with_name("link.pt")
    link.symlink_to(path.name)
    save_checkpoint(link, model, tok, epoch=2)
    assert link.is_symlink() and saved_epoch(path) == 2


def _resume_with(path, model, tok, damage):
    """Train one epoch into ``path``, damage its training state, and resume."""
    fit(model, tok, date_pairs(16), date_pairs(8, split="validation"),
        TrainingConfig(epochs=1, batch_size=8), device="cpu", log=None, checkpoint_path=path)
    rewrite(path, damage)
    ck = load_checkpoint(path)
    fit(ck.model, ck.tokenizer, date_pairs(16), date_pairs(8, split="validation"),
        TrainingConfig(epochs=2, batch_size=8), device="cpu", log=None, resume=ck)


@pytest.mark.parametrize("damage, reason", [
    (lambda s: s["optimizer"]["state"][0].update(exp_avg=torch.zeros(3)),
     r"optimizer\['state'\]\[0\]\['exp_avg'\] does not fit weight 0"),
    (lambda s: s["scheduler"].update(last_epoch="x"), r"last_epoch'\]='x' must be of type int"),
    (lambda s: s["scheduler"]["lr_lambdas"][0].update(factor="x"), r"\['factor'\]='x' must be"),
    (lambda s: s["scheduler"].update(get_lr=5), "unexpected key 'get_lr'"),
    (lambda s: s["scheduler"]["lr_lambdas"][0].update(warmup=0), r"\['warmup'\]=0 is out of"),
])
def test_a_malformed_training_state_is_refused_before_the_first_step(saved, damage, reason):
    path, model, tok = saved
    with pytest.raises(ValueError, match="training state is malformed") as info:
        _resume_with(path, model, tok, damage)
    assert re.search(reason, str(info.value))
