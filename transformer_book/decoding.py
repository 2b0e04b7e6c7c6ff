"""Turning a trained model into outputs: greedy decoding and beam search.

Both decode a whole batch at once, one target position per step, and stop early once every
sequence has produced ``<eos>``. Beam search ranks hypotheses by the length-normalised score of
GNMT (Wu et al., 2016, section 7):

    s(Y) = log P(Y | X) / lp(Y),    lp(Y) = ((5 + |Y|) / 6) ** alpha,

where ``|Y|`` counts the generated tokens including ``<eos>``; ``alpha = 0`` is the plain
log-probability, larger ``alpha`` favours longer outputs. (Vaswani et al., 2017, section 6.1,
use beam size 4 and ``alpha = 0.6``.)

With a ``Transformer`` each step feeds the decoder only the newest token and a key/value cache
(``DecoderCache``) supplies the keys and values of the earlier positions, which cannot change
(``use_cache=True``, the default). ``use_cache=False`` re-runs the decoder over the whole prefix
at every step, as chapter 8 first writes it: the reference that the cache must reproduce (the
same tokens, the log-probabilities to rounding). An ``RNNSearch`` always recomputes its prefix:
it has no cache, and ``use_cache`` changes nothing for it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from ._checks import (
    check_integer,
    check_number,
    check_padding_mask,
    check_token_ids,
    check_vocab_fits,
)
from .batching import pad_sequences
from .layers import DecoderCache
from .model import Transformer
from .protocols import Seq2Seq, Tokenizer, check_model

__all__ = ["length_penalty", "greedy_decode", "beam_search", "sequence_scores", "translate"]


def length_penalty(length: Tensor | int, alpha: float) -> Tensor | float:
    """GNMT's ``lp(Y) = ((5 + |Y|) / 6) ** alpha``; ``lp = 1`` for one token or ``alpha = 0``."""
    return ((5 + length) / 6) ** alpha


@torch.no_grad()
def greedy_decode(model: Seq2Seq, src: Tensor, src_padding_mask: Tensor | None = None,
                  max_new_tokens: int = 32, bos_id: int = 1, eos_id: int = 2,
                  pad_id: int = 0, use_cache: bool = True) -> tuple[Tensor, Tensor]:
    """Pick the most probable next token at every step.

    Args:
        src: ``(batch, src_len)`` source ids; ``src_padding_mask`` ``(batch, src_len)`` bool.
        max_new_tokens: the most tokens to generate (``<eos>`` included).
        use_cache: decode with a key/value cache (``Transformer`` only), else recompute the
            prefix at every step.

    Returns:
        ``(tokens, log_probs)``: ``tokens`` is ``(batch, steps)``, ``steps <= max_new_tokens``,
        without ``<bos>``, each row ending at its ``<eos>`` and padded with ``pad_id`` after it;
        ``log_probs`` is ``(batch,)``, the sum of the chosen tokens' log-probabilities.
    """
    _check(model, src, src_padding_mask, max_new_tokens, use_cache)
    model.eval()
    batch, cache = src.size(0), _new_cache(model, use_cache)
    memory = model.encode(src, src_padding_mask)
    ys = torch.full((batch, 1), bos_id, dtype=torch.long, device=src.device)
    total = torch.zeros(batch, device=src.device)
    done = torch.zeros(batch, dtype=torch.bool, device=src.device)
    for _ in range(max_new_tokens):
        logp = _next_logp(model, ys, memory, src_padding_mask, cache)
        best_logp, best = logp.max(dim=-1)
        total = total + best_logp.masked_fill(done, 0.0)
        best = best.masked_fill(done, pad_id)
        ys = torch.cat([ys, best[:, None]], dim=1)
        done = done | (best == eos_id)
        if bool(done.all()):  # early stop: one host sync per step, outside the model
            break
    return ys[:, 1:], total


@torch.no_grad()
def beam_search(model: Seq2Seq, src: Tensor, src_padding_mask: Tensor | None = None,
                max_new_tokens: int = 32, beam_size: int = 4, alpha: float = 0.6,
                bos_id: int = 1, eos_id: int = 2, pad_id: int = 0, use_cache: bool = True
                ) -> tuple[Tensor, Tensor]:
    """Keep the ``beam_size`` best hypotheses per source, ranked by the GNMT score.

    All ``batch * beam_size`` hypotheses run through the decoder as one batch. A hypothesis that
    has produced ``<eos>`` is finished: it stays in the beam with its final score, and competes
    with the live ones until the search ends (every beam finished, or ``max_new_tokens`` steps).
    With ``beam_size=1`` this is greedy decoding. ``use_cache`` as in ``greedy_decode``; the
    cache's rows follow their hypotheses when the beam is re-ranked.

    Returns:
        ``(tokens, scores)``: the best hypothesis per source, ``(batch, steps)`` as in
        ``greedy_decode``, and its score ``log P / lp`` ``(batch,)``.
    """
    _check(model, src, src_padding_mask, max_new_tokens, use_cache)
    check_integer("beam_size", beam_size)
    if not check_number("alpha", alpha) >= 0:  # also rejects NaN
        raise ValueError(f"alpha={alpha!r} must be >= 0")
    model.eval()
    batch, k, device = src.size(0), beam_size, src.device
    cache = _new_cache(model, use_cache)
    memory = model.encode(src, src_padding_mask).repeat_interleave(k, dim=0)
    mask = None if src_padding_mask is None else src_padding_mask.repeat_interleave(k, dim=0)
    ys = torch.full((batch * k, 1), bos_id, dtype=torch.long, device=device)
    # Only the first beam is live at the start (the others would repeat it).
    logp_sum = torch.full((batch, k), float("-inf"), device=device)
    logp_sum[:, 0] = 0.0
    length = torch.zeros(batch, k, device=device)
    done = torch.zeros(batch, k, dtype=torch.bool, device=device)
    for step in range(1, max_new_tokens + 1):
        logp = _next_logp(model, ys, memory, mask, cache)
        vocab = logp.size(-1)
        logp = logp.view(batch, k, vocab)
        # A finished hypothesis has one continuation, <pad>, which costs nothing.
        finished = torch.full_like(logp, float("-inf"))
        finished[..., pad_id] = 0.0
        logp = torch.where(done[..., None], finished, logp)
        cand_logp = logp_sum[..., None] + logp  # (batch, k, vocab)
        cand_len = torch.where(done, length, torch.full_like(length, step))[..., None]
        cand_score = cand_logp / length_penalty(cand_len, alpha)
        top_score, top = cand_score.view(batch, -1).topk(k, dim=-1)  # (batch, k)
        beam, token = top // vocab, top % vocab
        rows = (beam + torch.arange(batch, device=device)[:, None] * k).view(-1)
        ys = torch.cat([ys[rows], token.view(-1, 1)], dim=1)
        if cache is not None:
            cache.reorder(rows)
        logp_sum = cand_logp.view(batch, -1).gather(1, top)
        length = cand_len.squeeze(-1).gather(1, beam)
        # A candidate scored -inf (fewer than k possible) stays dead; count it as finished.
        done = done.gather(1, beam) | (token == eos_id) | torch.isinf(top_score)
        if bool(done.all()):
            break
    scores = logp_sum / length_penalty(length, alpha)
    best = scores.argmax(dim=-1)
    rows = best + torch.arange(batch, device=device) * k
    return ys[rows, 1:], scores.gather(1, best[:, None]).squeeze(1)


@torch.no_grad()
def sequence_scores(model: Seq2Seq, src: Tensor, tokens: Tensor,
                    src_padding_mask: Tensor | None = None, alpha: float = 0.0, bos_id: int = 1,
                    eos_id: int = 2) -> Tensor:
    """The model's own score of given outputs: ``log P(tokens | src) / lp(|tokens|)``.

    ``tokens`` is ``(batch, steps)`` as returned by the decoders; each row counts up to and
    including its first ``<eos>`` (or all ``steps`` if there is none). Returns ``(batch,)``.
    Use it to compare decoders under one yardstick.
    """
    model.eval()
    bos = torch.full((tokens.size(0), 1), bos_id, dtype=torch.long, device=tokens.device)
    tgt_in = torch.cat([bos, tokens[:, :-1]], dim=1)
    logp = model(src, tgt_in, src_padding_mask).float().log_softmax(dim=-1)
    token_logp = logp.gather(-1, tokens[..., None]).squeeze(-1)
    is_eos = (tokens == eos_id).long()
    # Positions up to and including the first <eos>: no <eos> seen strictly before them.
    keep = (is_eos.cumsum(dim=1) - is_eos) == 0
    length = keep.sum(dim=1)
    return (token_logp * keep).sum(dim=1) / length_penalty(length.float(), alpha)


@torch.no_grad()
def translate(model: Seq2Seq, tokenizer: Tokenizer, texts: Sequence[str],
              beam_size: int = 1, alpha: float = 0.6, max_new_tokens: int = 32,
              batch_size: int = 512,
              strict: bool = False, use_cache: bool = True) -> list[str]:
    """Decode ``texts`` (strings) into strings, greedily or with beam search (``beam_size > 1``).

    Runs on the model's device. ``strict=True`` raises ``ValueError`` on characters the
    tokenizer does not know instead of reading them as ``<unk>``. ``use_cache`` as in
    ``greedy_decode``.
    """
    if isinstance(texts, str):
        raise TypeError("texts must be a sequence of strings; wrap a single text in a list")
    check_model(model)
    check_vocab_fits("tokenizer", len(tokenizer), model.config)
    device = next(model.parameters()).device
    out: list[str] = []
    for i in range(0, len(texts), batch_size):
        chunk = texts[i: i + batch_size]
        ids, mask = pad_sequences([tokenizer.encode(t, strict=strict) for t in chunk],
                                  tokenizer.pad_id)
        ids, mask = ids.to(device), mask.to(device)
        decode_kwargs = dict(max_new_tokens=max_new_tokens, bos_id=tokenizer.bos_id,
                             eos_id=tokenizer.eos_id, pad_id=tokenizer.pad_id,
                             use_cache=use_cache)
        if beam_size == 1:
            tokens, _ = greedy_decode(model, ids, mask, **decode_kwargs)
        else:
            tokens, _ = beam_search(model, ids, mask, beam_size=beam_size, alpha=alpha,
                                    **decode_kwargs)
        out.extend(tokenizer.decode(row) for row in tokens.tolist())
    return out


def _next_logp(model: Seq2Seq, ys: Tensor, memory: Tensor, src_padding_mask: Tensor | None,
               cache: DecoderCache | None) -> Tensor:
    """The log-probabilities ``(rows, vocab)`` of the token after each prefix of ``ys``
    ``(rows, steps)``; with a cache only the newest token goes through the decoder."""
    if cache is None:
        logits = model.decode(ys, memory, src_padding_mask)[0]
    else:
        logits = model.decode(ys[:, -1:], memory, src_padding_mask, cache=cache)[0]
    return logits[:, -1].float().log_softmax(dim=-1)


def _new_cache(model: Seq2Seq, use_cache: bool) -> DecoderCache | None:
    """An empty cache for ``model``, or ``None`` to recompute the prefix at every step."""
    if use_cache and isinstance(model, Transformer):
        return DecoderCache(model.config.num_layers)
    return None


def _check(model: Seq2Seq, src: Tensor, src_padding_mask: Tensor | None,
           max_new_tokens: int,
           use_cache: bool) -> None:
    check_model(model)
    if not isinstance(use_cache, bool):
        raise TypeError(f"use_cache={use_cache!r} must be a bool")
    check_token_ids("src", src, model.config.src_vocab_size, nonempty=True)
    check_padding_mask("src_padding_mask", src_padding_mask, src.shape)
    check_integer("max_new_tokens", max_new_tokens)
    if max_new_tokens > model.config.max_len:
        # The decoder reads <bos> and at most max_new_tokens - 1 generated tokens: the
        # positional table must hold max_new_tokens positions.
        raise ValueError(
            f"max_new_tokens={max_new_tokens} is more than the model's "
            f"max_len={model.config.max_len}"
        )

