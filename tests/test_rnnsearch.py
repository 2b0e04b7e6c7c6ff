"""Tests of transformer_book.models.rnnsearch.RNNSearch: the recurrent encoder-decoder with additive
attention (and without it), run through the package's training loop and decoders."""

from __future__ import annotations

import pytest
import torch

from transformer_book import set_seed
from transformer_book.decoding import beam_search, greedy_decode
from transformer_book.models.rnnsearch import RNNSearch, RNNSearchConfig, _reverse_within
from transformer_book.text.data import date_pairs, date_tokenizer
from transformer_book.training import TrainingConfig, fit

VOCAB = 11


def make(attention: bool = True, d_model: int = 8, seed: int = 0, **kw) -> RNNSearch:
    set_seed(seed)
    return RNNSearch(RNNSearchConfig(VOCAB, VOCAB, d_model=d_model, attention=attention, **kw))


@pytest.mark.parametrize("attention", [True, False])
def test_shapes_and_gradients(attention):
    model = make(attention)
    src, tgt = torch.randint(VOCAB, (3, 7)), torch.randint(VOCAB, (3, 5))
    memory = model.encode(src)
    assert memory.shape == (3, 7, 16)
    logits = model(src, tgt)
    assert logits.shape == (3, 5, VOCAB) and logits.dtype == torch.float32
    torch.testing.assert_close(model.decode(tgt, memory)[0], logits)
    logits.sum().backward()
    grads = {n: p.grad for n, p in model.named_parameters()}
    assert all(g is not None and torch.isfinite(g).all() for g in grads.values())
    assert ("attn_score.weight" in grads) == attention
    assert model(src.int(), tgt.int()).shape == (3, 5, VOCAB)


def test_attention_weights_are_distributions_over_real_tokens():
    model = make()
    src = torch.randint(1, VOCAB, (2, 6))
    mask = torch.tensor([[True] * 6, [True] * 4 + [False] * 2])
    logits, (weights,) = model.decode(torch.randint(VOCAB, (2, 3)), model.encode(src, mask),
                                      mask, need_weights=True)
    assert weights.shape == (2, 1, 3, 6)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 1, 3))
    assert (weights[1, ..., 4:] == 0).all() and (weights[1, ..., :4] > 0).all()
    with pytest.raises(ValueError, match="need_weights=True needs a model with attention=True"):
        make(attention=False).decode(torch.zeros(2, 3, dtype=torch.long), model.encode(src),
                                     need_weights=True)


def test_reverse_within_reverses_the_real_tokens_only():
    x = torch.arange(10.0).view(2, 5, 1)
    out = _reverse_within(x, torch.tensor([5, 3]))
    assert out[..., 0].tolist() == [[4, 3, 2, 1, 0], [7, 6, 5, 8, 9]]
    torch.testing.assert_close(_reverse_within(out, torch.tensor([5, 3])), x)


@pytest.mark.parametrize("attention", [True, False])
def test_padding_changes_nothing(attention):
    model = make(attention).double()
    src, tgt = torch.randint(1, VOCAB, (1, 5)), torch.randint(1, VOCAB, (1, 4))
    alone = model(src, tgt)
    # The same pair padded (with ids that are not the pad id, to show the masks do the work).
    src_pad = torch.cat([src, torch.randint(1, VOCAB, (1, 3))], dim=1)
    tgt_pad = torch.cat([tgt, torch.randint(1, VOCAB, (1, 2))], dim=1)
    src_mask = torch.arange(8)[None] < 5
    tgt_mask = torch.arange(6)[None] < 4
    padded = model(src_pad, tgt_pad, src_mask, tgt_mask)
    torch.testing.assert_close(padded[:, :4], alone, atol=1e-12, rtol=0)
    # Without the mask the padding does change the output: the mask is what protects it.
    assert not torch.allclose(model(src_pad, tgt_pad)[:, :4], alone)


def test_decoder_is_causal():
    model = make().double()
    src, tgt = torch.randint(VOCAB, (2, 6)), torch.randint(VOCAB, (2, 5))
    changed = tgt.clone()
    changed[:, 3] = (changed[:, 3] + 1) % VOCAB
    a, b = model(src, tgt), model(src, changed)
    # Output i reads target inputs 0..i: changing input 3 leaves outputs 0..2 as they were.
    torch.testing.assert_close(a[:, :3], b[:, :3], atol=1e-12, rtol=0)
    assert not torch.allclose(a[:, 3], b[:, 3]) and not torch.allclose(a[:, 4], b[:, 4])


def test_bad_arguments():
    with pytest.raises(TypeError, match="config must be an RNNSearchConfig"):
        RNNSearch({"src_vocab_size": 5})
    with pytest.raises(ValueError, match="d_model=0 must be an int >= 1"):
        RNNSearchConfig(5, 5, d_model=0)
    with pytest.raises(TypeError, match="attention='yes' must be a bool"):
        RNNSearchConfig(5, 5, attention="yes")
    with pytest.raises(ValueError, match="share_embeddings=True needs one vocabulary"):
        RNNSearchConfig(5, 6, share_embeddings=True)
    model = make()
    src, tgt = torch.randint(VOCAB, (2, 4)), torch.randint(VOCAB, (2, 3))
    with pytest.raises(TypeError, match="src must hold integer token ids"):
        model(src.float(), tgt)
    with pytest.raises(TypeError, match="tgt must be a torch.Tensor, got list"):
        model(src, [[1, 2]])
    with pytest.raises(ValueError, match=r"src must have shape \(batch, seq\)"):
        model.encode(torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="src and tgt must share the batch size, got 2 and 3"):
        model(src, torch.randint(VOCAB, (3, 3)))
    with pytest.raises(TypeError, match=r"src_padding_mask must be a bool tensor \(True"):
        model(src, tgt, torch.ones(2, 4))
    with pytest.raises(ValueError, match=r"tgt_padding_mask must have shape \(2, 3\)"):
        model(src, tgt, None, torch.ones(2, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"memory must have shape \(batch, src_len, 2 \* d_model"):
        model.decode(tgt, torch.zeros(2, 4, 8))
    with pytest.raises(ValueError, match="tgt has batch size 2 but the memory"):
        model.decode(tgt, torch.zeros(3, 4, 16))


def test_shared_embeddings_and_config_round_trip():
    model = make(share_embeddings=True)
    assert model.src_embed is model.tgt_embed
    assert RNNSearchConfig(**model.config.to_dict()) == model.config


@pytest.fixture
def one_thread():
    # One thread: a small model trains faster than with threads that wait for each other.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("attention", [True, False])
def test_fit_learns_and_the_decoders_run(attention, one_thread):
    # The package's training loop, greedy decoding and beam search run unchanged on RNNSearch.
    tok = date_tokenizer()
    set_seed(0)
    model = RNNSearch(RNNSearchConfig(len(tok), len(tok), d_model=16, max_len=16,
                                      attention=attention))
    history = fit(model, tok, lambda epoch: date_pairs(640, seed=epoch),
                  date_pairs(50, "validation"),
                  TrainingConfig(epochs=3, batch_size=32, warmup=20, lr_factor=2.0,
                                 progress=False, max_decode_len=12), device="cpu", log=None)
    # From ln(47) = 3.85 at the first step to under 60% of it; far above chance (1/47) per token.
    assert history.val_loss[-1] < 0.6 * history.step_loss[0]
    assert history.val_token_accuracy[-1] > 0.3
    src = torch.tensor([tok.encode("12/31/99"), tok.encode("01/01/00")])
    greedy, _ = greedy_decode(model, src, max_new_tokens=12, bos_id=tok.bos_id, eos_id=tok.eos_id)
    beam, _ = beam_search(model, src, max_new_tokens=12, beam_size=3, bos_id=tok.bos_id,
                          eos_id=tok.eos_id)
    assert greedy.shape[0] == beam.shape[0] == 2 and greedy.shape[1] <= 12
    with pytest.raises(ValueError, match="max_new_tokens=17 is more than the model.s max_len=16"):
        greedy_decode(model, src, max_new_tokens=17)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_runs_on_cuda_under_bf16_autocast():
    model = make().cuda()
    src, tgt = torch.randint(VOCAB, (2, 5), device="cuda"), torch.randint(VOCAB, (2, 3),
                                                                          device="cuda")
    with torch.autocast("cuda", dtype=torch.bfloat16):
        logits = model(src, tgt, src != 0)
    assert logits.device.type == "cuda" and torch.isfinite(logits).all()
