"""The key/value cache of incremental decoding: each cached step gives the logits of decoding the
whole prefix, so greedy decoding and beam search give the same outputs with and without it."""

from __future__ import annotations

import pytest
import torch

from transformer_book import (
    DecoderCache,
    KVCache,
    MultiHeadAttention,
    PositionalEncoding,
    Transformer,
    TransformerConfig,
    set_seed,
)
from transformer_book.decoding import beam_search, greedy_decode, translate
from transformer_book.models.rnnsearch import RNNSearch, RNNSearchConfig
from transformer_book.text.data import date_pairs, date_tokenizer

EOS, PAD, VOCAB = 2, 0, 12
CONFIGS = {  # the tiny model (post-LN, one layer) and a pre-LN one with three layers
    "tiny": {},
    "pre-LN, 3 layers": dict(norm_first=True, num_layers=3, num_heads=4),
}


def random_model(seed: int, **overrides) -> Transformer:
    """An untrained model whose next token depends on the context (with the output projection
    tied to the embedding, an untrained model mostly repeats its last token)."""
    set_seed(seed)
    return Transformer(TransformerConfig.tiny(VOCAB, VOCAB, tie_embeddings=False,
                                              **overrides)).eval()


def random_src(seed: int, batch: int = 8, length: int = 9) -> tuple[torch.Tensor, torch.Tensor]:
    """Source ids with padding: row lengths between 3 and ``length``."""
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(4, VOCAB, (batch, length), generator=g)
    lengths = torch.randint(3, length + 1, (batch,), generator=g)
    mask = torch.arange(length)[None, :] < lengths[:, None]
    return src.masked_fill(~mask, PAD), mask


def step_errors(model: Transformer, seed: int = 0, chunks: tuple[int, ...] = (1,) * 10
                ) -> list[float]:
    """Feed a random target through ``model.decode`` with a cache, ``chunks`` tokens per call,
    and return, per call, the largest difference from the logits of the whole prefix at once."""
    src, mask = random_src(seed, batch=3)
    tgt = torch.randint(VOCAB, (3, sum(chunks)), generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        memory = model.encode(src, mask)
        full, _ = model.decode(tgt, memory, mask)
        cache, errors, start = DecoderCache(model.config.num_layers), [], 0
        for n in chunks:
            logits, _ = model.decode(tgt[:, start: start + n], memory, mask, cache=cache)
            errors.append((logits - full[:, start: start + n]).abs().max().item())
            start += n
    return errors


@pytest.mark.parametrize("overrides", CONFIGS.values(), ids=CONFIGS.keys())
@pytest.mark.parametrize("chunks", [(1,) * 10, (3, 1, 4, 2)], ids=["one by one", "in chunks"])
def test_each_cached_step_gives_the_logits_of_the_whole_prefix(overrides, chunks):
    assert max(step_errors(random_model(0, **overrides), chunks=chunks)) < 1e-5


def test_a_wrong_offset_or_mask_would_be_detected():
    model = random_model(0)
    pe = model.positional.forward
    model.positional.forward = lambda x, start=0: pe(x)  # every step at position 0
    assert max(step_errors(model)) > 1e-2
    model = random_model(0)
    decode = model.decoder.forward

    def hide_the_cached_keys(x, memory, self_attn_mask, *args):
        cached = len(args[-1]) if args[-1] is not None else 0
        mask = torch.ones(x.size(1), cached + x.size(1), dtype=torch.bool).tril(cached)
        mask[:, :cached] = False  # the new queries see only themselves
        return decode(x, memory, mask, *args)

    model.decoder.forward = hide_the_cached_keys
    assert max(step_errors(model)) > 1e-2


def test_the_cache_grows_by_the_new_positions_and_keeps_the_memory_projection():
    model = random_model(0, num_layers=2, num_heads=4)
    src, mask = random_src(0, batch=3)
    memory = model.encode(src, mask)
    cache = DecoderCache(2)
    assert len(cache) == 0 and all(kv.k is None for kv in cache.self_attn + cache.cross_attn)
    first_keys = None
    with torch.no_grad():
        for step, n in enumerate((1, 1, 3, 1)):
            before = len(cache)
            logits, weights = model.decode(torch.randint(VOCAB, (3, n)), memory, mask,
                                           need_weights=True, cache=cache)
            assert logits.shape == (3, n, VOCAB) and len(cache) == before + n
            assert weights[0].shape == (3, 4, n, src.size(1))
            for kv in cache.self_attn:  # (batch, heads, positions so far, d_k)
                assert kv.k.shape == kv.v.shape == (3, 4, before + n, 8)
            for kv in cache.cross_attn:  # the memory's, projected at the first step only
                assert kv.k.shape == kv.v.shape == (3, 4, src.size(1), 8)
            if step == 0:
                first_keys = [kv.k for kv in cache.cross_attn]
            assert all(kv.k is k for kv, k in zip(cache.cross_attn, first_keys, strict=True))


def test_a_query_projection_sees_one_position_per_step():
    model = random_model(0, num_layers=2)
    widths = []  # how many positions each self-attention query projection sees
    for layer in model.decoder.layers:
        layer.self_attn.q_proj.register_forward_hook(
            lambda module, args, output: widths.append(args[0].size(1)))
    src, mask = random_src(0)
    tokens, _ = greedy_decode(model, src, mask, max_new_tokens=8)
    assert widths and set(widths) == {1}
    widths.clear()
    greedy_decode(model, src, mask, max_new_tokens=8, use_cache=False)
    assert max(widths) == tokens.size(1)


@pytest.mark.parametrize("overrides", CONFIGS.values(), ids=CONFIGS.keys())
@pytest.mark.parametrize("seed", range(3))
def test_greedy_decoding_is_the_same_with_and_without_the_cache(overrides, seed):
    model = random_model(seed, **overrides)
    src, mask = random_src(seed)
    tokens, logp = greedy_decode(model, src, mask, max_new_tokens=16)
    ref_tokens, ref_logp = greedy_decode(model, src, mask, max_new_tokens=16, use_cache=False)
    assert torch.equal(tokens, ref_tokens)
    torch.testing.assert_close(logp, ref_logp, atol=1e-5, rtol=0)


@pytest.mark.parametrize("overrides", CONFIGS.values(), ids=CONFIGS.keys())
@pytest.mark.parametrize("beam_size", [1, 2, 3, 4])
@pytest.mark.parametrize("alpha", [0.0, 0.6])
def test_beam_search_is_the_same_with_and_without_the_cache(overrides, beam_size, alpha):
    for seed in range(2):
        model = random_model(seed, **overrides)
        src, mask = random_src(seed)
        tokens, score = beam_search(model, src, mask, max_new_tokens=12, beam_size=beam_size,
                                    alpha=alpha)
        ref_tokens, ref_score = beam_search(model, src, mask, max_new_tokens=12,
                                            beam_size=beam_size, alpha=alpha, use_cache=False)
        assert torch.equal(tokens, ref_tokens)
        torch.testing.assert_close(score, ref_score, atol=1e-5, rtol=0)


def test_early_eos_stops_both_alike():
    # A model that prefers <eos> once the output has three tokens: every row ends at step 4.
    model = random_model(0)
    decode = model.decode

    def eos_after_three(tgt, memory, *args, cache=None, **kwargs):
        logits, weights = decode(tgt, memory, *args, cache=cache, **kwargs)
        read = len(cache) if cache is not None else tgt.size(1)  # positions read so far
        if read >= 4:  # <bos> and three tokens
            logits[:, -1, EOS] = 1e4
        return logits, weights

    model.decode = eos_after_three
    src, mask = random_src(0)
    for decoder, kw in ((greedy_decode, {}), (beam_search, dict(beam_size=3))):
        tokens, _ = decoder(model, src, mask, max_new_tokens=16, **kw)
        ref_tokens, _ = decoder(model, src, mask, max_new_tokens=16, use_cache=False, **kw)
        assert torch.equal(tokens, ref_tokens) and tokens.size(1) <= 5
        assert (tokens == EOS).any(dim=1).all()


def test_beam_search_needs_the_reordering():
    differs = 0
    reorder = DecoderCache.reorder
    try:
        DecoderCache.reorder = lambda self, rows: None  # the cache ignores the re-ranking
        for seed in range(3):
            model = random_model(seed)
            src, mask = random_src(seed)
            broken, _ = beam_search(model, src, mask, max_new_tokens=12, beam_size=4)
            ref, _ = beam_search(model, src, mask, max_new_tokens=12, beam_size=4, use_cache=False)
            differs += not torch.equal(broken, ref)
    finally:
        DecoderCache.reorder = reorder
    assert differs > 0


def test_reorder_keeps_the_chosen_rows_in_order():
    kv = KVCache()
    kv.reorder(torch.tensor([0]))  # an empty cache has nothing to reorder
    k = torch.arange(3.0)[:, None, None, None].expand(3, 2, 4, 5)
    kv.update(k, -k)
    kv.reorder(torch.tensor([2, 0, 0]))
    assert kv.k[:, 0, 0, 0].tolist() == [2.0, 0.0, 0.0] and torch.equal(kv.v, -kv.k)
    # Decoding reordered rows goes on as if their prefixes had been decoded in that order.
    model = random_model(0, num_layers=2)
    src, mask = random_src(0, batch=3)
    tgt = torch.randint(VOCAB, (3, 5), generator=torch.Generator().manual_seed(1))
    rows = torch.tensor([2, 0, 0])
    with torch.no_grad():
        memory = model.encode(src, mask)
        cache = DecoderCache(2)
        model.decode(tgt[:, :4], memory, mask, cache=cache)
        cache.reorder(rows)
        logits, _ = model.decode(tgt[rows, 4:], memory[rows], mask[rows], cache=cache)
        full, _ = model.decode(tgt[rows], memory[rows], mask[rows])
    torch.testing.assert_close(logits, full[:, 4:], atol=1e-5, rtol=0)


def test_multi_head_attention_with_a_cache_is_causal_attention():
    set_seed(0)
    mha = MultiHeadAttention(8, 2).eval()
    x = torch.randn(2, 5, 8)
    full, _ = mha(x, x, x, mask=torch.ones(5, 5, dtype=torch.bool).tril())
    cache = KVCache()
    steps = [mha(x[:, i: i + 1], x[:, i: i + 1], x[:, i: i + 1], cache=cache)[0]
             for i in range(5)]
    torch.testing.assert_close(torch.cat(steps, dim=1), full, atol=1e-6, rtol=0)
    assert len(cache) == 5
    # A static cache projects the first key and value it is given and ignores later ones.
    memory, static = torch.randn(2, 7, 8), KVCache(static=True)
    out, _ = mha(x[:, :1], memory, memory, cache=static)
    again, _ = mha(x[:, :1], torch.zeros(2, 3, 8), torch.zeros(2, 3, 8), cache=static)
    assert torch.equal(out, again) and len(static) == 7


def test_translate_and_rnnsearch_give_the_same_outputs_with_and_without_the_cache():
    tok = date_tokenizer()
    texts = [s for s, _ in date_pairs(6)]
    set_seed(0)
    transformer = Transformer(TransformerConfig.tiny(len(tok))).eval()
    rnn = RNNSearch(RNNSearchConfig(len(tok), len(tok), d_model=16)).eval()
    for model in (transformer, rnn):  # RNNSearch recomputes its prefix either way
        for beam_size in (1, 3):
            assert (translate(model, tok, texts, beam_size=beam_size, max_new_tokens=12)
                    == translate(model, tok, texts, beam_size=beam_size, max_new_tokens=12,
                                 use_cache=False))


def test_bad_cache_arguments_are_named():
    model = random_model(0, num_layers=2)
    src, mask = random_src(0, batch=3)
    memory = model.encode(src, mask)
    tgt = torch.ones(3, 1, dtype=torch.long)
    with pytest.raises(TypeError, match="cache must be a DecoderCache, got list"):
        model.decode(tgt, memory, mask, cache=[])
    with pytest.raises(ValueError, match=r"cache has 1 layers, the decoder 2"):
        model.decode(tgt, memory, mask, cache=DecoderCache(1))
    with pytest.raises(ValueError, match="tgt_padding_mask cannot be combined with a cache"):
        model.decode(tgt, memory, mask, torch.ones(3, 1, dtype=torch.bool), cache=DecoderCache(2))
    cache = DecoderCache(2)
    model.decode(tgt, memory, mask, cache=cache)
    with pytest.raises(ValueError, match="cache holds 3 rows but the new tokens have batch size 2"):
        model.decode(tgt[:2], memory[:2], mask[:2], cache=cache)
    limit = model.config.max_len
    with pytest.raises(ValueError, match=f"length {limit} after 1 cached positions, longer than"):
        model.decode(torch.ones(3, limit, dtype=torch.long), memory, mask, cache=cache)
    with pytest.raises(ValueError, match="start=-1 must be an int >= 0"):
        PositionalEncoding(8)(torch.zeros(1, 2, 8), start=-1)
    with pytest.raises(ValueError, match="seq=2 positions after start=9, more than max_len=10"):
        PositionalEncoding(8, max_len=10)(torch.zeros(1, 2, 8), start=9)
    with pytest.raises(ValueError, match="num_layers=0"):
        DecoderCache(0)
    with pytest.raises(TypeError, match="use_cache='yes' must be a bool"):
        greedy_decode(model, src, mask, use_cache="yes")
