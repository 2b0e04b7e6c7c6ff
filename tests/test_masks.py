"""Unit tests of transformer_book.masks: padding, causal and combined boolean masks."""

from __future__ import annotations

import pytest
import torch

from transformer_book import attention_mask, causal_mask, padding_mask


def test_padding_mask_values_and_shape():
    tokens = torch.tensor([[5, 7, 0, 0], [3, 0, 9, 1]])
    mask = padding_mask(tokens, pad_id=0)
    assert mask.dtype == torch.bool and mask.shape == tokens.shape
    assert mask.tolist() == [[True, True, False, False], [True, False, True, True]]
    assert padding_mask(tokens, pad_id=9).tolist() == [[True] * 4, [True, True, False, True]]


@pytest.mark.parametrize("dtype", [torch.int8, torch.int32, torch.int64, torch.uint8])
def test_padding_mask_accepts_integer_dtypes(dtype):
    assert padding_mask(torch.tensor([[1, 0]], dtype=dtype), 0).tolist() == [[True, False]]


def test_padding_mask_keeps_the_device():
    tokens = torch.tensor([[1, 0]], device="meta")
    assert padding_mask(tokens, 0).device.type == "meta"


@pytest.mark.parametrize(
    "tokens, words",
    [
        ([[1, 0]], ["tokens", "list"]),
        (torch.tensor([[1.0, 0.0]]), ["tokens", "float32"]),
        (torch.tensor([[True, False]]), ["tokens", "bool"]),
    ],
)
def test_padding_mask_rejects_non_integer_tokens(tokens, words):
    with pytest.raises(TypeError) as info:
        padding_mask(tokens, 0)
    assert all(w in str(info.value) for w in words), str(info.value)


@pytest.mark.parametrize("size", [1, 2, 5])
def test_causal_mask_is_lower_triangular(size):
    mask = causal_mask(size)
    assert mask.shape == (size, size) and mask.dtype == torch.bool
    for i in range(size):
        for j in range(size):
            assert bool(mask[i, j]) == (j <= i)


def test_causal_mask_device():
    assert causal_mask(3).device.type == "cpu"
    assert causal_mask(3, device="cpu").device.type == "cpu"
    assert causal_mask(3, device=torch.device("meta")).device.type == "meta"


@pytest.mark.parametrize("size", [0, -1])
def test_causal_mask_rejects_bad_sizes(size):
    with pytest.raises(ValueError, match=f"size={size} must be an int >= 1"):
        causal_mask(size)


@pytest.mark.parametrize("size", [2.0, True, "3", None])
def test_causal_mask_rejects_sizes_that_are_not_ints(size):
    with pytest.raises(TypeError, match=f"size={size!r} must be an int"):
        causal_mask(size)


def test_attention_mask_none():
    assert attention_mask() is None


def test_attention_mask_padding_only():
    pad = torch.tensor([[True, True, False], [True, False, False]])
    mask = attention_mask(pad)
    assert mask.shape == (2, 1, 1, 3)
    assert torch.equal(mask[:, 0, 0], pad)


def test_attention_mask_causal_only():
    mask = attention_mask(causal_size=4)
    assert mask.shape == (4, 4) and torch.equal(mask, causal_mask(4))
    assert attention_mask(causal_size=2, device="meta").device.type == "meta"


def test_attention_mask_both():
    pad = torch.tensor([[True, True, True, False], [True, False, False, False]])
    mask = attention_mask(pad, causal_size=4)
    assert mask.shape == (2, 1, 4, 4) and mask.dtype == torch.bool
    expected = pad[:, None, None, :] & causal_mask(4)
    assert torch.equal(mask, expected)
    # Query 0 of both sequences sees only key 0; key 3 of sequence 0 is padding.
    assert mask[0, 0, 3].tolist() == [True, True, True, False]
    assert mask[1, 0, 3].tolist() == [True, False, False, False]


def test_attention_mask_follows_the_padding_mask_device_unless_told():
    pad = torch.ones(2, 3, dtype=torch.bool, device="meta")
    assert attention_mask(pad, causal_size=3).device.type == "meta"
    assert attention_mask(pad).device.type == "meta"
    on_cpu = torch.ones(2, 3, dtype=torch.bool)
    assert attention_mask(on_cpu, causal_size=3, device="meta").device.type == "meta"
    assert attention_mask(on_cpu, device="meta").device.type == "meta"


@pytest.mark.parametrize(
    "pad, error, words",
    [
        (torch.ones(2, 3), TypeError, ["padding_mask", "float32"]),
        (torch.ones(2, 3, 1, dtype=torch.bool), ValueError, ["padding_mask", "(2, 3, 1)"]),
        ([[True, False]], TypeError, ["padding_mask", "list"]),
    ],
)
def test_attention_mask_rejects_bad_padding_masks(pad, error, words):
    with pytest.raises(error) as info:
        attention_mask(pad)
    assert all(w in str(info.value) for w in words), str(info.value)


def test_attention_mask_rejects_a_causal_size_that_does_not_match():
    with pytest.raises(ValueError, match=r"causal_size=4 .* length 5"):
        attention_mask(torch.ones(2, 5, dtype=torch.bool), causal_size=4)
    with pytest.raises(ValueError, match="size="):
        attention_mask(causal_size=0)
