"""The map of the book: the whole encoder-decoder Transformer drawn as one diagram.

Our own drawing of the architecture that Figure 1 of Vaswani et al. (2017) shows: the source
tokens pass through an embedding plus positional encoding and ``N`` encoder layers (multi-head
self-attention and a feed-forward network, each followed by Add & Norm); the target, shifted
right, passes through an embedding plus positional encoding and ``N`` decoder layers (masked
self-attention, cross-attention over the encoder's output, a feed-forward network, each followed
by Add & Norm), then a linear layer and a softmax give the probabilities of the next token.

``architecture(highlight=...)`` colours the part one chapter builds and greys the rest; see
``HIGHLIGHTS`` for the names. Every box carries a ``gid`` (its part name, listed in ``PARTS``),
which also becomes its ``id`` in an SVG file.
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle

from .._checks import check_choice
from ._drawing import (
    ACCENT,
    FILL,
    GREY_EDGE,
    GREY_TEXT,
    INK,
    adder,
    arrow,
    box,
    canvas,
    frame,
    label,
)

__all__ = ["HIGHLIGHTS", "PARTS", "STRUCK_OUT", "architecture"]

_ENCODER_LAYER = ("encoder_layer", "enc_self_attention", "enc_norm1", "enc_feed_forward",
                  "enc_norm2")
_DECODER_LAYER = ("decoder_layer", "dec_self_attention", "dec_norm1", "dec_cross_attention",
                  "dec_norm2", "dec_feed_forward", "dec_norm3")
_ATTENTION = ("enc_self_attention", "dec_self_attention", "dec_cross_attention")

#: The names ``architecture(highlight=...)`` accepts, the chapter that builds each part, and the
#: parts (gids) it colours.
HIGHLIGHTS: dict[str, tuple[str, ...]] = {
    # Chapters 2-3: scaled dot-product attention, the core of every attention block.
    "attention": _ATTENTION,
    # Chapter 4: the same three blocks, each of them h heads side by side.
    "multi_head": _ATTENTION,
    # Chapter 5: the positional encoding added to both embeddings.
    "positional": ("enc_positional", "dec_positional"),
    # Chapter 6: the encoder layer (residual connections, LayerNorm, feed-forward), N times.
    "encoder": _ENCODER_LAYER,
    # Chapter 7: the decoder layer, its cross-attention over the encoder's memory, the
    # embeddings and the output projection (tied to the embeddings).
    "decoder": _DECODER_LAYER + ("memory", "enc_embedding", "dec_embedding", "linear"),
    # Chapter 8: what training adds: the target shifted right as the decoder's input, and the
    # softmax whose probabilities the loss compares with the next tokens.
    "training": ("shifted_outputs", "softmax", "probabilities"),
    # Chapter 13: the decoder alone (GPT): the decoder column without its cross-attention, which
    # is struck out, and without the encoder and its memory.
    "decoder_only": ("shifted_outputs", "dec_embedding", "dec_positional", "decoder_layer",
                     "dec_self_attention", "dec_norm1", "dec_feed_forward", "dec_norm3",
                     "linear", "softmax", "probabilities"),
}

#: What ``highlight="decoder_only"`` strikes out: the cross-attention and its Add & Norm.
STRUCK_OUT = "no_cross_attention"

#: Every part of the drawing, by gid.
PARTS: tuple[str, ...] = (
    "inputs", "enc_embedding", "enc_positional", *_ENCODER_LAYER, "memory",
    "shifted_outputs", "dec_embedding", "dec_positional", *_DECODER_LAYER,
    "linear", "softmax", "probabilities",
)

_W, _H = 12.0, 12.5
_BOX_W = 3.0
_ENC_X, _DEC_X = 3.2, 8.8


def _positional_icon(ax: Axes, x: float, y: float, on: bool, gid: str) -> None:
    """A circle holding one period of a sine: the positional encoding's symbol."""
    circle = Circle((x, y), 0.3, facecolor=FILL["positional"] if on else "white",
                    edgecolor=INK if on else GREY_EDGE, linewidth=1.2, zorder=2)
    circle.set_gid(gid)
    ax.add_patch(circle)
    t = np.linspace(-0.2, 0.2, 41)
    ax.plot(x + t, y + 0.12 * np.sin(t * np.pi / 0.2), color=INK if on else GREY_EDGE,
            linewidth=1.0, zorder=3)


def _sub_layer(ax: Axes, x: float, y: float, h: float, text: str, kind: str, part: str,
               on: set[str]) -> None:
    box(ax, x, y, _BOX_W, h, text, fill=FILL[kind], on=part in on, gid=part)


def _attention_inputs(ax: Axes, x: float, y_from: float, y_fork: float, y_box: float,
                      part: str, on: set[str]) -> None:
    """The main path forks into the three inputs (Q, K, V) of an attention block."""
    arrow(ax, [(x, y_from), (x, y_fork)], on=part in on, head=False)
    for dx in (-0.8, 0.0, 0.8):
        points = [(x, y_fork), (x + dx, y_fork), (x + dx, y_box)] if dx else [(x, y_fork),
                                                                              (x, y_box)]
        arrow(ax, points, on=part in on)


def _residual(ax: Axes, x: float, y_from: float, side: float, y_to: float, part: str,
              on: set[str]) -> None:
    """A residual connection: from the sub-layer's input, around it, into its Add & Norm."""
    edge = x + side * (_BOX_W / 2 + 0.25)
    arrow(ax, [(x, y_from), (edge, y_from), (edge, y_to), (x + side * _BOX_W / 2, y_to)],
          on=part in on)


def _embedding_and_positions(ax: Axes, x: float, side: float, text: str, token_text: str,
                             prefix: str, token_part: str, on: set[str]) -> None:
    """Tokens -> embedding -> (+) positional encoding, at the foot of one column."""
    label(ax, x, 0.45, token_text, color=INK if token_part in on else GREY_TEXT,
          fontweight="bold" if len(on) < len(PARTS) and token_part in on else "normal",
          gid=token_part)
    arrow(ax, [(x, 0.68), (x, 1.0)], on=token_part in on)
    box(ax, x, 1.3, _BOX_W, 0.6, text, fill=FILL["embedding"], on=f"{prefix}_embedding" in on,
        gid=f"{prefix}_embedding")
    pe = f"{prefix}_positional"
    arrow(ax, [(x, 1.6), (x, 2.15)], on=f"{prefix}_embedding" in on)
    adder(ax, x, 2.35, on=pe in on)
    icon_x = x + side * 1.0
    _positional_icon(ax, icon_x, 2.35, on=pe in on, gid=pe)
    arrow(ax, [(icon_x - side * 0.3, 2.35), (x + side * 0.2, 2.35)], on=pe in on)
    label(ax, icon_x + side * 0.42, 2.35, "Positional\nEncoding", size=9,
          ha="left" if side > 0 else "right", color=INK if pe in on else GREY_TEXT)


def architecture(highlight: str | None = None, ax: Axes | None = None) -> Figure:
    """Draw the encoder-decoder Transformer; colour the part ``highlight`` names, grey the rest.

    ``highlight``: ``None`` (everything in colour) or a key of ``HIGHLIGHTS``: ``"attention"``
    (chapters 2-3), ``"multi_head"`` (4), ``"positional"`` (5), ``"encoder"`` (6),
    ``"decoder"`` (7), ``"training"`` (8), ``"decoder_only"`` (13: the decoder column with its
    cross-attention struck out, gid ``STRUCK_OUT``). Draws on ``ax`` if given, else on a new
    6.6 x 6.9 inch figure; returns the figure.

    >>> fig = architecture(highlight="encoder")
    >>> sorted({p.get_gid() for p in fig.axes[0].patches if p.get_gid()} - set(PARTS))
    []
    """
    if highlight is not None:
        check_choice("highlight", highlight, list(HIGHLIGHTS))
    on = set(PARTS) if highlight is None else set(HIGHLIGHTS[highlight])
    fig, ax = canvas(ax, _W, _H)

    # The encoder column: inputs, embedding, positions, N x (self-attention, FFN).
    x = _ENC_X
    _embedding_and_positions(ax, x, -1.0, "Input Embedding", "Inputs", "enc", "inputs", on)
    frame(ax, x - 2.0, 3.0, x + 2.0, 7.6, on="encoder_layer" in on, gid="encoder_layer")
    label(ax, x - 2.0, 7.85, "Encoder", ha="left", fontweight="bold",
          color=INK if "encoder_layer" in on else GREY_TEXT)
    label(ax, x - 2.45, 5.3, "N×", size=12, color=INK if "encoder_layer" in on else GREY_TEXT)
    _attention_inputs(ax, x, 2.55, 3.35, 3.6, "enc_self_attention", on)
    _sub_layer(ax, x, 4.0, 0.8, "Multi-Head\nSelf-Attention", "attention",
               "enc_self_attention", on)
    _residual(ax, x, 3.15, -1.0, 5.025, "enc_norm1", on)
    arrow(ax, [(x, 4.4), (x, 4.8)], on="enc_norm1" in on)
    _sub_layer(ax, x, 5.025, 0.45, "Add & Norm", "norm", "enc_norm1", on)
    arrow(ax, [(x, 5.25), (x, 5.65)], on="enc_feed_forward" in on)
    _residual(ax, x, 5.42, -1.0, 6.875, "enc_norm2", on)
    _sub_layer(ax, x, 5.95, 0.6, "Feed-Forward", "feed_forward", "enc_feed_forward", on)
    arrow(ax, [(x, 6.25), (x, 6.65)], on="enc_norm2" in on)
    _sub_layer(ax, x, 6.875, 0.45, "Add & Norm", "norm", "enc_norm2", on)

    # The encoder's output (its memory) becomes the keys and values of every cross-attention.
    d = _DEC_X
    mem = "memory" in on
    arrow(ax, [(x, 7.1), (x, 8.15), (6.1, 8.15), (6.1, 5.7)], on=mem, head=False, gid="memory")
    for kx in (d - 0.8, d):
        arrow(ax, [(6.1, 5.7), (kx, 5.7), (kx, 5.95)], on=mem or "dec_cross_attention" in on)
    label(ax, 4.65, 8.4, "encoder output (memory)", size=9, color=INK if mem else GREY_TEXT)

    # The decoder column: shifted outputs, embedding, positions, N x (masked self-attention,
    # cross-attention, FFN), then the output projection and the softmax.
    _embedding_and_positions(ax, d, 1.0, "Output Embedding", "Outputs (shifted right)", "dec",
                             "shifted_outputs", on)
    frame(ax, d - 2.0, 3.0, d + 2.0, 9.75, on="decoder_layer" in on, gid="decoder_layer")
    label(ax, d + 2.0, 10.0, "Decoder", ha="right", fontweight="bold",
          color=INK if "decoder_layer" in on else GREY_TEXT)
    label(ax, d + 2.45, 6.4, "×N", size=12, color=INK if "decoder_layer" in on else GREY_TEXT)
    _attention_inputs(ax, d, 2.55, 3.35, 3.6, "dec_self_attention", on)
    _sub_layer(ax, d, 4.0, 0.8, "Masked Multi-Head\nSelf-Attention", "attention",
               "dec_self_attention", on)
    _residual(ax, d, 3.15, 1.0, 5.025, "dec_norm1", on)
    arrow(ax, [(d, 4.4), (d, 4.8)], on="dec_norm1" in on)
    _sub_layer(ax, d, 5.025, 0.45, "Add & Norm", "norm", "dec_norm1", on)
    # The query of cross-attention comes from below, its keys and values from the memory.
    cross = "dec_cross_attention" in on
    arrow(ax, [(d, 5.25), (d, 5.45), (d + 0.8, 5.45), (d + 0.8, 5.95)], on=cross)
    _residual(ax, d, 5.45, 1.0, 7.375, "dec_norm2", on)
    _sub_layer(ax, d, 6.35, 0.8, "Multi-Head\nCross-Attention", "attention",
               "dec_cross_attention", on)
    arrow(ax, [(d, 6.75), (d, 7.15)], on="dec_norm2" in on)
    _sub_layer(ax, d, 7.375, 0.45, "Add & Norm", "norm", "dec_norm2", on)
    if highlight == "decoder_only":  # nothing to attend to: the sub-layer is gone
        for ys in ((5.85, 7.7), (7.7, 5.85)):
            ax.plot([d - 1.6, d + 1.6], ys, color=ACCENT, linewidth=2.0, zorder=4,
                    gid=STRUCK_OUT)
    arrow(ax, [(d, 7.6), (d, 8.0)], on="dec_feed_forward" in on)
    _residual(ax, d, 7.8, 1.0, 9.225, "dec_norm3", on)
    _sub_layer(ax, d, 8.3, 0.6, "Feed-Forward", "feed_forward", "dec_feed_forward", on)
    arrow(ax, [(d, 8.6), (d, 9.0)], on="dec_norm3" in on)
    _sub_layer(ax, d, 9.225, 0.45, "Add & Norm", "norm", "dec_norm3", on)
    arrow(ax, [(d, 9.45), (d, 10.3)], on="linear" in on)
    _sub_layer(ax, d, 10.525, 0.45, "Linear", "linear", "linear", on)
    arrow(ax, [(d, 10.75), (d, 11.15)], on="softmax" in on)
    _sub_layer(ax, d, 11.375, 0.45, "Softmax", "softmax", "softmax", on)
    arrow(ax, [(d, 11.6), (d, 11.88)], on="probabilities" in on)
    label(ax, d, 12.1, "Output Probabilities", gid="probabilities",
          color=INK if "probabilities" in on else GREY_TEXT,
          fontweight="bold" if highlight is not None and "probabilities" in on else "normal")
    return fig
