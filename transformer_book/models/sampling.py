"""Generating text with a language model: greedy choice, temperature, top-k and top-p sampling,
a repetition penalty, and the generation loop with a key/value cache (chapter 13).

Every function takes next-token logits ``(batch, vocab)``. Sampling draws with
``torch.multinomial`` from the given ``torch.Generator``, so a seeded generator repeats a
sample exactly. The order of the steps in ``generate`` is the usual one: repetition penalty,
temperature, top-k, top-p, then a draw (or the most probable token when ``temperature=0``).

- temperature ``T``: softmax(logits / T); ``T < 1`` sharpens the distribution, ``T > 1``
  flattens it, ``T = 0`` is greedy choice;
- top-k: only the ``k`` most probable tokens may be drawn (Fan et al., 2018);
- top-p, nucleus sampling (Holtzman et al., 2020): only the smallest set of most probable tokens
  whose probabilities add up to at least ``p``;
- repetition penalty (Keskar et al., 2019): the logit of every token already in the text is
  divided by ``penalty`` when positive and multiplied by it when negative.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .._checks import check_float_tensor, check_integer, check_number, check_token_ids
from .language_model import LanguageModel

__all__ = ["top_k_logits", "top_p_logits", "penalize_repetition", "sample_next", "generate"]


def top_k_logits(logits: Tensor, k: int) -> Tensor:
    """``(..., vocab)`` logits with every entry below the ``k``-th largest set to ``-inf`` (ties
    with the ``k``-th are kept). ``k >= vocab`` changes nothing.

    >>> top_k_logits(torch.tensor([[1.0, 3.0, 2.0, 0.0]]), 2)
    tensor([[-inf, 3., 2., -inf]])
    """
    check_float_tensor("logits", logits)
    check_integer("k", k)
    if k >= logits.size(-1):
        return logits
    kth = logits.topk(k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth, float("-inf"))


def top_p_logits(logits: Tensor, p: float) -> Tensor:
    """``(..., vocab)`` logits with ``-inf`` outside the nucleus: the most probable tokens, in
    order, up to and including the first at which their probabilities add up to ``p`` or more.
    The most probable token is always kept; ``p = 1`` changes nothing.

    >>> logits = torch.tensor([[0.5, 0.3, 0.15, 0.05]]).log()
    >>> top_p_logits(logits, 0.7).isfinite()
    tensor([[ True,  True, False, False]])
    """
    check_float_tensor("logits", logits)
    if not (check_number("p", p) > 0 and p <= 1):
        raise ValueError(f"p={p!r} must be a number in (0, 1]")
    if p == 1:
        return logits
    probs, order = logits.float().softmax(dim=-1).sort(dim=-1, descending=True, stable=True)
    before = probs.cumsum(dim=-1) - probs  # the probability of the tokens ranked above each
    remove = torch.zeros_like(before, dtype=torch.bool).scatter(-1, order, before >= p)
    return logits.masked_fill(remove, float("-inf"))


def penalize_repetition(logits: Tensor, tokens: Tensor, penalty: float) -> Tensor:
    """Make the tokens of ``tokens`` ``(batch, seq)`` (the text so far) less likely in
    ``logits`` ``(batch, vocab)``: a positive logit is divided by ``penalty``, a negative one
    multiplied by it, each token once however often it occurred. ``penalty = 1`` changes nothing.

    >>> penalize_repetition(torch.tensor([[2.0, -2.0, 1.0]]), torch.tensor([[0, 1, 0]]), 2.0)
    tensor([[ 1., -4.,  1.]])
    """
    check_float_tensor("logits", logits, "(batch, vocab)", dim=2)
    check_token_ids("tokens", tokens, logits.size(-1) if tokens.device.type == "cpu" else None)
    if not (math.isfinite(check_number("penalty", penalty)) and penalty > 0):
        raise ValueError(f"penalty={penalty!r} must be a finite number > 0 (1 = no penalty)")
    if tokens.size(0) != logits.size(0):
        raise ValueError(f"tokens has batch size {tokens.size(0)}, logits {logits.size(0)}")
    seen = logits.gather(-1, tokens)
    return logits.scatter(-1, tokens, torch.where(seen > 0, seen / penalty, seen * penalty))


def sample_next(logits: Tensor, temperature: float = 1.0, top_k: int | None = None,
                top_p: float = 1.0, generator: torch.Generator | None = None) -> Tensor:
    """One token per row of ``logits`` ``(batch, vocab)``: ``(batch,)`` ids.

    ``temperature=0`` returns the most probable token (greedy); otherwise the logits are
    divided by ``temperature``, cut to the ``top_k`` best and to the nucleus of mass ``top_p``,
    and one token is drawn from their softmax with ``generator``.

    >>> sample_next(torch.tensor([[0.0, 5.0, 1.0]]), temperature=0)
    tensor([1])
    """
    check_float_tensor("logits", logits, "(batch, vocab)", dim=2)
    if not (math.isfinite(check_number("temperature", temperature)) and temperature >= 0):
        raise ValueError(f"temperature={temperature!r} must be a finite number >= 0 (0 = greedy)")
    if temperature == 0:
        return logits.argmax(dim=-1)
    logits = logits.float() / temperature
    if top_k is not None:
        logits = top_k_logits(logits, top_k)
    logits = top_p_logits(logits, top_p)
    return torch.multinomial(logits.softmax(dim=-1), 1, generator=generator).squeeze(-1)


@torch.no_grad()
def generate(model: LanguageModel, prompt: Tensor, max_new_tokens: int,
             temperature: float = 1.0, top_k: int | None = None, top_p: float = 1.0,
             repetition_penalty: float = 1.0, generator: torch.Generator | None = None,
             use_cache: bool = True) -> Tensor:
    """Continue ``prompt`` ``(batch, prompt_len)`` by ``max_new_tokens`` tokens; returns the
    prompt and the continuation, ``(batch, prompt_len + max_new_tokens)``.

    Each step scores the next token from the text so far and picks it with ``sample_next``
    (``temperature=0``: greedy), after ``penalize_repetition`` when ``repetition_penalty !=
    1``. With ``use_cache`` (the default) the prompt goes through the model once and then one
    new token per step, the earlier keys and values coming from a ``DecoderCache``; without,
    every step re-reads the whole text: the same tokens (to rounding of the logits), slower.
    Every row of the prompt must be real text (no padding).
    """
    if not isinstance(model, LanguageModel):
        raise TypeError(f"model must be a LanguageModel, got {type(model).__name__}")
    check_token_ids("prompt", prompt, model.config.vocab_size, nonempty=True)
    check_integer("max_new_tokens", max_new_tokens)
    if not isinstance(use_cache, bool):
        raise TypeError(f"use_cache={use_cache!r} must be a bool")
    longest = prompt.size(1) + max_new_tokens - 1  # the last token is never read back
    if longest > model.config.max_len:
        raise ValueError(f"prompt length {prompt.size(1)} + max_new_tokens={max_new_tokens} "
                         f"- 1 = {longest} is longer than max_len={model.config.max_len}")
    model.eval()
    tokens, cache = prompt, model.new_cache() if use_cache else None
    new = prompt
    for _ in range(max_new_tokens):
        logits = model(new if use_cache else tokens, cache=cache)[:, -1]
        if repetition_penalty != 1:
            logits = penalize_repetition(logits, tokens, repetition_penalty)
        token = sample_next(logits, temperature, top_k, top_p, generator)
        tokens = torch.cat([tokens, token[:, None]], dim=1)
        new = token[:, None]
    return tokens
