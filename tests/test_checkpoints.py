"""Checkpoints: a safe round trip, clear errors for bad files, and weight averaging."""

from __future__ import annotations

import pytest
import torch

from transformer_book.checkpoints import (
    CheckpointError,
    average_weights,
    load_checkpoint,
    save_checkpoint,
)
from transformer_book.loops import History
from transformer_book.text.data import date_tokenizer


def test_checkpoint_round_trip_with_weights_only(tmp_path, tiny_model):
    tok = date_tokenizer()
    model = tiny_model(len(tok))
    path = tmp_path / "m.pt"
    save_checkpoint(path, model, tok, epoch=3, history=History(epoch=[1, 2, 3]).to_dict(),
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


def test_a_checkpoint_takes_fits_history_or_its_dict(tmp_path, tiny_model):
    tok = date_tokenizer()
    model = tiny_model(len(tok))
    history = History(epoch=[1, 2], train_loss=[2.5, 1.5])
    for name, given in (("object", history), ("dict", history.to_dict())):
        save_checkpoint(tmp_path / f"{name}.pt", model, tok, epoch=2, history=given)
        assert load_checkpoint(tmp_path / f"{name}.pt").history == history.to_dict(), name


def test_bad_checkpoints_raise_checkpoint_error(tmp_path, tiny_model):
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
    save_checkpoint(good, tiny_model(len(tok)), tok)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[:2000])
    with pytest.raises(CheckpointError):
        load_checkpoint(truncated)


@pytest.mark.parametrize("damage, reason", [
    (lambda state: state["config"].update(d_model=-1), "d_model=-1"),
    (lambda state: state.pop("vocab"), "vocab"),
    (lambda state: state["model"].pop("generator.weight"), "generator.weight"),
    (lambda state: state.update(vocab=["a", "b"]), "vocab must start with"),
])
def test_a_damaged_checkpoint_names_what_is_wrong(tmp_path, tiny_model, damage, reason):
    tok = date_tokenizer()
    path = tmp_path / "m.pt"
    save_checkpoint(path, tiny_model(len(tok)), tok)
    state = torch.load(path, weights_only=True)
    damage(state)
    torch.save(state, path)
    with pytest.raises(CheckpointError, match="is a damaged checkpoint") as info:
        load_checkpoint(path)
    assert reason in str(info.value)


def test_average_weights_is_the_mean_and_refuses_mismatched_keys(tiny_model):
    a, b = tiny_model(10, seed=0).state_dict(), tiny_model(10, seed=1).state_dict()
    avg = average_weights([a, b])
    assert list(avg) == list(b)
    for key in b:
        torch.testing.assert_close(avg[key], (a[key] + b[key]) / 2)
    assert torch.equal(average_weights([a])["generator.weight"], a["generator.weight"])
    with pytest.raises(ValueError, match="at least one"):
        average_weights([])
    other = tiny_model(10, num_layers=2).state_dict()  # one more layer: more keys
    with pytest.raises(ValueError, match=r"states\[0\] has different keys"):
        average_weights([other, b])
    renamed = {("renamed." + k if k == "generator.weight" else k): v for k, v in a.items()}
    with pytest.raises(ValueError, match=r"states\[1\] has different keys"):
        average_weights([b, renamed, b])


def test_fit_checkpoints_an_rnnsearch_that_loads_back(tmp_path):
    """A checkpoint records its model's class: ``load_checkpoint`` rebuilds any model ``fit``
    trains, not only a ``Transformer``."""
    from transformer_book.decoding import translate
    from transformer_book.models.rnnsearch import RNNSearch, RNNSearchConfig
    from transformer_book.text.data import date_pairs
    from transformer_book.training import TrainingConfig, fit

    tok = date_tokenizer()
    torch.manual_seed(0)
    model = RNNSearch(RNNSearchConfig(len(tok), len(tok), d_model=8, max_len=32))
    path = tmp_path / "rnn.pt"
    fit(model, tok, date_pairs(32), date_pairs(8, "validation"),
        TrainingConfig(epochs=1, batch_size=16, progress=False, eval_size=4), device="cpu",
        log=None, checkpoint_path=path)
    assert torch.load(path, weights_only=True)["model_class"] == "RNNSearch"
    loaded = load_checkpoint(path)
    assert isinstance(loaded.model, RNNSearch) and loaded.model.config == model.config
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[key], value.cpu())
    texts = ["24 Nov 2026", "1/2/99"]
    assert translate(loaded.model, tok, texts, max_new_tokens=12) == translate(model, tok, texts,
                                                                        max_new_tokens=12)


def test_a_checkpoint_naming_an_unknown_model_class_is_refused(tmp_path, tiny_model):
    tok = date_tokenizer()
    path = tmp_path / "m.pt"
    save_checkpoint(path, tiny_model(len(tok)), tok)
    state = torch.load(path, weights_only=True)
    state["model_class"] = "os.system"
    torch.save(state, path)
    with pytest.raises(CheckpointError, match="model_class='os.system' is not one of"):
        load_checkpoint(path)


def test_save_refuses_a_model_that_load_cannot_rebuild(tmp_path):
    with pytest.raises(TypeError, match="model must be one of"):
        save_checkpoint(tmp_path / "m.pt", torch.nn.Linear(2, 2), date_tokenizer())
