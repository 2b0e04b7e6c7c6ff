"""The recurrent models: chapter 1's baselines and chapter 9's RNNsearch.

``RNNCell`` and ``StepRNN`` write the vanilla (Elman) recurrence out one step at a time,

    h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh),

with the parameter names and initialisation of ``torch.nn.RNN`` so that the two can be compared
with copied weights (``StepRNN.from_torch``). ``RecurrentClassifier`` (RNN or LSTM) reads a token
sequence and predicts a class from its last position (its attention counterpart is
``classifier.AttentionClassifier``); ``input_gradient_norms`` measures how strongly an output
depends on each input position.

``RNNSearch`` is the recurrent encoder-decoder with additive attention of Bahdanau et al. (2015),
the state of the art that the Transformer was measured against; with ``attention=False`` it is the
fixed-vector encoder-decoder of Cho et al. (2014) and Sutskever et al. (2014). It has the
interface of ``model.Transformer`` (``forward``, ``encode``, ``decode``, ``config``), so the same
training loop and decoders run on either.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

from .._checks import check_integer, check_padding_mask, check_token_ids

__all__ = [
    "RNNCell", "StepRNN", "RecurrentClassifier", "input_gradient_norms",
    "RNNSearchConfig", "RNNSearch",
]


def _check_float_input(name: str, x: object, dim: int, last: int) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.dtype.is_floating_point:
        raise TypeError(f"{name} must have a floating-point dtype, got {x.dtype}")
    if x.dim() != dim or x.size(-1) != last:
        expected = "(batch, input_size)" if dim == 2 else "(batch, seq, input_size)"
        raise ValueError(
            f"{name} must have shape {expected} with input_size={last}, got {tuple(x.shape)}"
        )
    return x


class RNNCell(nn.Module):
    r"""One step of the vanilla RNN: ``h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)``.

    Parameters are named and initialised as in ``torch.nn.RNNCell`` (uniform in
    ``[-1/sqrt(hidden_size), 1/sqrt(hidden_size)]``): ``weight_ih`` is
    ``(hidden_size, input_size)``, ``weight_hh`` is ``(hidden_size, hidden_size)``.

    ``forward(x_t, h_prev)`` takes ``(batch, input_size)`` and ``(batch, hidden_size)`` and
    returns the new state ``(batch, hidden_size)``.
    """

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        check_integer("input_size", input_size)
        check_integer("hidden_size", hidden_size)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(hidden_size))
        self.bias_hh = nn.Parameter(torch.empty(hidden_size))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def forward(self, x_t: Tensor, h_prev: Tensor) -> Tensor:
        return torch.tanh(x_t @ self.weight_ih.T + self.bias_ih
                          + h_prev @ self.weight_hh.T + self.bias_hh)


class StepRNN(nn.Module):
    """A single-layer vanilla RNN that calls ``RNNCell`` once per position (``batch_first``).

    The teaching version of ``torch.nn.RNN(input_size, hidden_size, batch_first=True)``: same
    inputs, outputs and parameters (under the cell's names), computed by a Python loop whose
    ``n`` iterations cannot start before the previous one has finished.

    ``forward(x, h0=None)``: ``x`` is ``(batch, seq, input_size)``, ``h0`` is
    ``(1, batch, hidden_size)`` (zeros if ``None``). Returns ``(output, h_n)``: ``output`` is
    ``(batch, seq, hidden_size)`` (every state ``h_1 .. h_n``), ``h_n`` is
    ``(1, batch, hidden_size)``.
    """

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.cell = RNNCell(input_size, hidden_size)
        self.input_size = input_size
        self.hidden_size = hidden_size

    @classmethod
    def from_torch(cls, rnn: nn.RNN) -> StepRNN:
        """A ``StepRNN`` holding copies of the weights of a one-layer ``tanh`` ``torch.nn.RNN``."""
        if not isinstance(rnn, nn.RNN):
            raise TypeError(f"rnn must be a torch.nn.RNN, got {type(rnn).__name__}")
        if rnn.num_layers != 1 or rnn.bidirectional or rnn.nonlinearity != "tanh" or not rnn.bias:
            raise ValueError(
                "rnn must be a one-layer, unidirectional tanh RNN with biases, got "
                f"num_layers={rnn.num_layers}, bidirectional={rnn.bidirectional}, "
                f"nonlinearity={rnn.nonlinearity!r}, bias={rnn.bias}"
            )
        step = cls(rnn.input_size, rnn.hidden_size)
        w = rnn.weight_ih_l0
        step.to(device=w.device, dtype=w.dtype)
        with torch.no_grad():
            step.cell.weight_ih.copy_(rnn.weight_ih_l0)
            step.cell.weight_hh.copy_(rnn.weight_hh_l0)
            step.cell.bias_ih.copy_(rnn.bias_ih_l0)
            step.cell.bias_hh.copy_(rnn.bias_hh_l0)
        return step

    def forward(self, x: Tensor, h0: Tensor | None = None) -> tuple[Tensor, Tensor]:
        _check_float_input("x", x, 3, self.input_size)
        batch, seq, _ = x.shape
        if h0 is None:
            h = torch.zeros(batch, self.hidden_size, device=x.device, dtype=x.dtype)
        else:
            if not isinstance(h0, Tensor) or tuple(h0.shape) != (1, batch, self.hidden_size):
                shape = tuple(h0.shape) if isinstance(h0, Tensor) else type(h0).__name__
                raise ValueError(
                    f"h0 must have shape (1, batch={batch}, hidden_size={self.hidden_size}), "
                    f"got {shape}"
                )
            h = h0[0]
        states = []
        for t in range(seq):  # n sequential steps: step t needs h_{t-1}
            h = self.cell(x[:, t], h)
            states.append(h)
        return torch.stack(states, dim=1), h.unsqueeze(0)


class RecurrentClassifier(nn.Module):
    """Embedding, then a one-layer ``torch.nn.RNN`` or ``torch.nn.LSTM``, then a linear read-out.

    The class is predicted from the final hidden state, the only place where a recurrent network
    keeps what it has read.

    Args:
        vocab_size: number of token ids.
        num_classes: number of output classes.
        hidden_size: width of the embedding and of the recurrent state.
        cell: ``"lstm"`` (default) or ``"rnn"`` (vanilla, tanh).

    ``forward(tokens)``: ``(batch, seq)`` int64 -> logits ``(batch, num_classes)``.
    """

    def __init__(self, vocab_size: int, num_classes: int, hidden_size: int = 32,
                 cell: str = "lstm"):
        super().__init__()
        for name, value in (("vocab_size", vocab_size), ("num_classes", num_classes),
                            ("hidden_size", hidden_size)):
            check_integer(name, value)
        recurrent = {"lstm": nn.LSTM, "rnn": nn.RNN}
        if cell not in recurrent:
            raise ValueError(f"cell={cell!r} must be one of {sorted(recurrent)}")
        self.vocab_size = vocab_size
        self.cell = cell
        self.embedding = nn.Embedding(vocab_size, hidden_size)
        self.recurrent = recurrent[cell](hidden_size, hidden_size, batch_first=True)
        self.output = nn.Linear(hidden_size, num_classes)

    def forward(self, tokens: Tensor) -> Tensor:
        check_token_ids("tokens", tokens, nonempty=True)
        states, _ = self.recurrent(self.embedding(tokens))
        return self.output(states[:, -1])


def input_gradient_norms(f: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """How much the last output depends on each input position: ``||d y_n / d x_t||_F``.

    ``f`` maps ``x`` of shape ``(1, seq, d_in)`` to outputs ``(1, seq, d_out)``; ``y_n`` is the
    output at the last position. Returns a ``(seq,)`` tensor whose entry ``t`` is the Frobenius
    norm of the Jacobian of ``y_n`` with respect to ``x_t`` (one backward pass per output unit),
    so entry ``seq - 1 - k`` is the dependence on the input ``k`` steps back.
    """
    if not isinstance(x, Tensor) or not x.dtype.is_floating_point:
        raise TypeError("x must be a floating-point torch.Tensor")
    if x.dim() != 3 or x.size(0) != 1:
        raise ValueError(f"x must have shape (1, seq, d_in), got {tuple(x.shape)}")
    x = x.detach().requires_grad_(True)
    y = f(x)
    if not isinstance(y, Tensor) or y.dim() != 3 or y.shape[:2] != x.shape[:2]:
        shape = tuple(y.shape) if isinstance(y, Tensor) else type(y).__name__
        raise ValueError(f"f(x) must have shape (1, seq={x.size(1)}, d_out), got {shape}")
    last = y[0, -1]
    squares = torch.zeros(x.size(1), device=x.device, dtype=x.dtype)
    for j in range(last.numel()):
        (grad,) = torch.autograd.grad(last[j], x, retain_graph=j + 1 < last.numel())
        squares = squares + grad[0].pow(2).sum(dim=-1)
    return squares.sqrt()


# ---- chapter 9: RNNsearch --------------------------------------------------------------------

@dataclass
class RNNSearchConfig:
    """Sizes of an ``RNNSearch``, named as in ``TransformerConfig`` where the idea is the same.

    ``d_model`` is the width of the embeddings and of each GRU state (Bahdanau et al.'s ``m`` and
    ``n``, one number here); the encoder's annotations are ``2 * d_model`` wide. ``max_len`` bounds
    what the decoders generate (the recurrence itself has no length limit). ``attention=False``
    gives the fixed-vector encoder-decoder.
    """

    src_vocab_size: int
    tgt_vocab_size: int
    d_model: int = 64
    max_len: int = 64
    attention: bool = True
    share_embeddings: bool = False

    def __post_init__(self) -> None:
        for name in ("src_vocab_size", "tgt_vocab_size", "d_model", "max_len"):
            check_integer(name, getattr(self, name))
        for name in ("attention", "share_embeddings"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name}={getattr(self, name)!r} must be a bool")
        if self.share_embeddings and self.src_vocab_size != self.tgt_vocab_size:
            raise ValueError(
                f"share_embeddings=True needs one vocabulary, but src_vocab_size="
                f"{self.src_vocab_size} and tgt_vocab_size={self.tgt_vocab_size}"
            )

    def to_dict(self) -> dict:
        return asdict(self)


def _reverse_within(x: Tensor, lengths: Tensor) -> Tensor:
    """Reverse each row's first ``lengths[b]`` positions, leave the padding after them in place.

    ``x`` is ``(batch, seq, d)``, ``lengths`` ``(batch,)``; applying it twice gives ``x`` back.
    """
    t = torch.arange(x.size(1), device=x.device)
    n = lengths[:, None]
    index = torch.where(t < n, n - 1 - t, t)  # (batch, seq), computed on the device
    return x.gather(1, index[..., None].expand_as(x))


class RNNSearch(nn.Module):
    r"""The recurrent encoder-decoder of Bahdanau et al. (2015), "RNNsearch".

    Encoder: embeddings, then a bidirectional GRU; the annotation of source position ``j`` is
    ``h_j = [->h_j ; <-h_j]``, ``(batch, src_len, 2 d_model)`` (``encode`` returns them, the
    *memory*). Each direction reads only the real tokens, so padding changes nothing.

    Decoder: a GRU cell, one target position at a time, started from
    ``s_0 = tanh(W_s [->h_n ; <-h_1])``. At step ``i`` additive attention scores every annotation,
    ``e_ij = v_a^T tanh(W_a s_{i-1} + U_a h_j)``, the context is ``c_i = sum_j softmax(e_i)_j h_j``,
    and ``s_i = GRU([E y_{i-1} ; c_i], s_{i-1})``. The logits come from a deep output layer,
    ``W_o tanh(L_o [s_i ; c_i ; E y_{i-1}])`` (a tanh where the paper has a maxout). With
    ``config.attention=False`` every step gets the same fixed vector ``c = [->h_n ; <-h_1]``:
    the encoder-decoder of Cho et al. (2014) that squeezes the source into one vector.

    Token tensors are ``(batch, seq)`` ids and padding masks ``(batch, seq)`` bool, ``True`` at
    real tokens, as for ``Transformer``. The decoder is causal by construction (step ``i`` reads
    ``y_{<i}`` only), so ``tgt_padding_mask`` is checked but changes nothing.

    >>> model = RNNSearch(RNNSearchConfig(20, 20, d_model=16))
    >>> model(torch.randint(20, (2, 7)), torch.randint(20, (2, 5))).shape
    torch.Size([2, 5, 20])
    """

    def __init__(self, config: RNNSearchConfig):
        super().__init__()
        if not isinstance(config, RNNSearchConfig):
            raise TypeError(f"config must be an RNNSearchConfig, got {type(config).__name__}")
        self.config = c = config
        d = c.d_model
        self.tgt_embed = nn.Embedding(c.tgt_vocab_size, d)
        self.src_embed = (self.tgt_embed if c.share_embeddings
                          else nn.Embedding(c.src_vocab_size, d))
        self.encoder_fwd = nn.GRU(d, d, batch_first=True)
        self.encoder_bwd = nn.GRU(d, d, batch_first=True)
        self.init_state = nn.Linear(2 * d, d)  # W_s
        if c.attention:
            self.attn_query = nn.Linear(d, d, bias=False)  # W_a
            self.attn_key = nn.Linear(2 * d, d)  # U_a
            self.attn_score = nn.Linear(d, 1, bias=False)  # v_a
        self.decoder_cell = nn.GRUCell(3 * d, d)
        self.deep_output = nn.Linear(4 * d, d)  # L_o
        self.generator = nn.Linear(d, c.tgt_vocab_size)  # W_o

    def encode(self, src: Tensor, src_padding_mask: Tensor | None = None) -> Tensor:
        """``(batch, src_len)`` ids -> the annotations ``(batch, src_len, 2 d_model)``."""
        check_token_ids("src", src, nonempty=True)
        check_padding_mask("src_padding_mask", src_padding_mask, src.shape)
        x = self.src_embed(src)
        forward, _ = self.encoder_fwd(x)
        lengths = self._lengths(src_padding_mask, x)
        backward, _ = self.encoder_bwd(_reverse_within(x, lengths))
        return torch.cat([forward, _reverse_within(backward, lengths)], dim=-1)

    @staticmethod
    def _lengths(mask: Tensor | None, x: Tensor) -> Tensor:
        if mask is None:
            return torch.full((x.size(0),), x.size(1), dtype=torch.long, device=x.device)
        return mask.sum(dim=1)

    def decode(self, tgt: Tensor, memory: Tensor, src_padding_mask: Tensor | None = None,
               tgt_padding_mask: Tensor | None = None, need_weights: bool = False
               ) -> tuple[Tensor, list[Tensor] | None]:
        """``(batch, tgt_len)`` ids and the memory -> ``(logits, weights)``, logits
        ``(batch, tgt_len, tgt_vocab)``, as ``Transformer.decode`` returns them.

        With ``need_weights=True`` (attention only) the weights are a one-element list of
        ``(batch, 1, tgt_len, src_len)``, shaped like ``Transformer``'s; otherwise ``None``.
        """
        check_token_ids("tgt", tgt, nonempty=True)
        check_padding_mask("tgt_padding_mask", tgt_padding_mask, tgt.shape)
        d = self.config.d_model
        if not isinstance(memory, Tensor) or memory.dim() != 3 or memory.size(-1) != 2 * d:
            shape = tuple(memory.shape) if isinstance(memory, Tensor) else type(memory).__name__
            raise ValueError(
                f"memory must have shape (batch, src_len, 2 * d_model={2 * d}), got {shape}"
            )
        if tgt.size(0) != memory.size(0):
            raise ValueError(
                f"tgt has batch size {tgt.size(0)} but the memory (from src) has {memory.size(0)}"
            )
        if src_padding_mask is not None:
            check_padding_mask("src_padding_mask", src_padding_mask, memory.shape[:2])
        if need_weights and not self.config.attention:
            raise ValueError("need_weights=True needs a model with attention=True")
        batch = torch.arange(memory.size(0), device=memory.device)
        last = self._lengths(src_padding_mask, memory) - 1
        fixed = torch.cat([memory[batch, last, :d], memory[:, 0, d:]], dim=-1)  # (batch, 2d)
        s = torch.tanh(self.init_state(fixed))
        if self.config.attention:
            keys = self.attn_key(memory)  # U_a h_j, computed once: (batch, src_len, d)
            if src_padding_mask is not None:
                hide = ~src_padding_mask
        y = self.tgt_embed(tgt)
        features, weights = [], []
        for i in range(tgt.size(1)):  # one step after the other: s_i needs s_{i-1}
            context = fixed
            if self.config.attention:
                scores = self.attn_score(torch.tanh(self.attn_query(s)[:, None] + keys))[..., 0]
                if src_padding_mask is not None:
                    scores = scores.masked_fill(hide, torch.finfo(scores.dtype).min)
                alpha = scores.softmax(dim=-1)  # (batch, src_len)
                if src_padding_mask is not None:  # an all-padding source attends to nothing
                    alpha = alpha * src_padding_mask
                context = (alpha[:, None] @ memory)[:, 0]
                weights.append(alpha)
            s = self.decoder_cell(torch.cat([y[:, i], context], dim=-1), s)
            features.append(torch.cat([s, context, y[:, i]], dim=-1))
        logits = self.generator(torch.tanh(self.deep_output(torch.stack(features, dim=1))))
        return logits, ([torch.stack(weights, dim=1)[:, None]] if need_weights else None)

    def forward(self, src: Tensor, tgt: Tensor, src_padding_mask: Tensor | None = None,
                tgt_padding_mask: Tensor | None = None) -> Tensor:
        """Teacher-forced logits ``(batch, tgt_len, tgt_vocab)``."""
        if isinstance(src, Tensor) and isinstance(tgt, Tensor) and src.size(0) != tgt.size(0):
            raise ValueError(
                f"src and tgt must share the batch size, got {src.size(0)} and {tgt.size(0)}"
            )
        memory = self.encode(src, src_padding_mask)
        return self.decode(tgt, memory, src_padding_mask, tgt_padding_mask)[0]
