"""Chapter 1's recurrent baselines (chapter 9's RNNsearch is in ``rnnsearch``).

``RNNCell`` and ``StepRNN`` write the vanilla (Elman) recurrence out one step at a time,

    h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh),

with the parameter names and initialisation of ``torch.nn.RNN`` so that the two can be compared
with copied weights (``StepRNN.from_torch``). ``RecurrentClassifier`` (RNN or LSTM) reads a token
sequence and predicts a class from its last position (its attention counterpart is
``classifier.AttentionClassifier``); ``input_gradient_norms`` measures how strongly an output
depends on each input position.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

from .._checks import check_integer, check_token_ids

__all__ = ["RNNCell", "StepRNN", "RecurrentClassifier", "input_gradient_norms"]


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
