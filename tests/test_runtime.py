"""Unit tests of transformer_book.runtime: set_seed and get_device."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from transformer_book import get_device, set_seed


def _draw():
    return random.random(), float(np.random.rand()), torch.rand(3).tolist()


def test_set_seed_repeats_python_numpy_and_torch():
    set_seed(42)
    first = _draw()
    set_seed(42)
    assert _draw() == first
    set_seed(43)
    assert _draw() != first


def test_set_seed_default_is_zero():
    set_seed()
    a = _draw()
    set_seed(0)
    assert _draw() == a


@pytest.mark.parametrize("seed", [1.5, "0", None, True])
def test_set_seed_rejects_non_ints(seed):
    with pytest.raises(TypeError, match="seed="):
        set_seed(seed)


def test_get_device_cpu(monkeypatch):
    monkeypatch.delenv("TRANSFORMER_BOOK_DEVICE", raising=False)
    assert get_device("cpu") == torch.device("cpu")
    assert isinstance(get_device(), torch.device)


def test_get_device_default_prefers_an_accelerator(monkeypatch):
    monkeypatch.delenv("TRANSFORMER_BOOK_DEVICE", raising=False)
    if torch.cuda.is_available():
        expected = "cuda"
    elif torch.backends.mps.is_available():
        expected = "mps"
    else:
        expected = "cpu"
    assert get_device().type == expected


@pytest.mark.parametrize("name", ["gpu", "tpu0", "not a device", "cuda:x"])
def test_get_device_rejects_bad_names(name, monkeypatch):
    monkeypatch.delenv("TRANSFORMER_BOOK_DEVICE", raising=False)
    with pytest.raises(ValueError, match="device="):
        get_device(name)


def test_get_device_rejects_missing_devices(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    for name in ("cuda", "cuda:0", "mps"):
        with pytest.raises(ValueError, match="not available"):
            get_device(name)


def test_environment_variable_is_honoured(monkeypatch):
    monkeypatch.setenv("TRANSFORMER_BOOK_DEVICE", "cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # would win otherwise
    assert get_device() == torch.device("cpu")


def test_environment_variable_with_a_bad_name_raises(monkeypatch):
    monkeypatch.setenv("TRANSFORMER_BOOK_DEVICE", "quantum")
    with pytest.raises(ValueError, match="quantum"):
        get_device()


def test_explicit_name_beats_the_environment_variable(monkeypatch):
    monkeypatch.setenv("TRANSFORMER_BOOK_DEVICE", "quantum")
    assert get_device("cpu") == torch.device("cpu")


def test_empty_environment_variable_means_automatic(monkeypatch):
    monkeypatch.setenv("TRANSFORMER_BOOK_DEVICE", "")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert get_device() == torch.device("cpu")


def test_a_malformed_world_size_is_named(monkeypatch):
    from transformer_book.runtime import init_distributed

    monkeypatch.setenv("WORLD_SIZE", "abc")
    with pytest.raises(ValueError, match="WORLD_SIZE='abc' must be an integer"):
        init_distributed("cpu")
