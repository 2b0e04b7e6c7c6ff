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

_W, _H = 8.6, 13.2  # in units of half an inch: a 4.3 x 6.6 inch figure
_BOX_W = 2.6
_ENC_X, _DEC_X = 2.1, 6.5
_INNER, _OUTER = 1.8, 2.0  # a frame's margin from its column's centre, towards the other or not
_MEMORY_X = (_ENC_X + _DEC_X) / 2  # the memory runs down between the two frames


def _positional_icon(ax: Axes, x: float, y: float, on: bool, gid: str) -> None:
    """A circle holding one period of a sine: the positional encoding's symbol."""
    circle = Circle((x, y), 0.3, facecolor=FILL["positional"] if on else "white",
                    edgecolor=INK if on else GREY_EDGE, linewidth=1.2, zorder=2)
    circle.set_gid(gid)
    ax.add_patch(circle)
    t = np.linspace(-0.2, 0.2, 41)
    ax.plot(x + t, y + 0.12 * np.sin(t * np.pi / 0.2), color=INK if on else GREY_EDGE,
            linewidth=1.0, linestyle="-", zorder=3)


def _sub_layer(ax: Axes, x: float, bottom: float, h: float, text: str, kind: str, part: str,
               on: set[str]) -> float:
    """A sub-layer's box from ``bottom`` up, ``h`` high; returns its top."""
    box(ax, x, bottom + h / 2, _BOX_W, h, text, fill=FILL[kind], on=part in on, gid=part)
    return bottom + h


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


def _add_and_norm(ax: Axes, x: float, y_in: float, y_from: float, side: float, part: str,
                  on: set[str]) -> float:
    """The arrow up from a sub-layer, its Add & Norm and the residual from ``y_from`` into it;
    returns the top of the Add & Norm."""
    arrow(ax, [(x, y_in), (x, y_in + 0.4)], on=part in on)
    _residual(ax, x, y_from, side, y_in + 0.65, part, on)
    return _sub_layer(ax, x, y_in + 0.4, 0.5, "Add & Norm", "norm", part, on)


def _embedding_and_positions(ax: Axes, x: float, side: float, text: str, token_text: str,
                             prefix: str, token_part: str, on: set[str]) -> None:
    """Tokens -> embedding -> (+) positional encoding, at the foot of one column; the
    positional encoding's symbol sits on the side ``side`` (towards the other column)."""
    label(ax, x, 0.3, token_text, color=INK if token_part in on else GREY_TEXT,
          fontweight="bold" if len(on) < len(PARTS) and token_part in on else "normal",
          gid=token_part)
    arrow(ax, [(x, 0.5), (x, 0.875)], on=token_part in on)
    box(ax, x, 1.3, _BOX_W, 0.85, text, fill=FILL["embedding"], on=f"{prefix}_embedding" in on,
        gid=f"{prefix}_embedding")
    pe = f"{prefix}_positional"
    arrow(ax, [(x, 1.725), (x, 2.23)], on=f"{prefix}_embedding" in on)
    adder(ax, x, 2.45, r=0.22, on=pe in on)
    icon_x = x + side * 0.95
    _positional_icon(ax, icon_x, 2.45, on=pe in on, gid=pe)
    arrow(ax, [(icon_x - side * 0.3, 2.45), (x + side * 0.22, 2.45)], on=pe in on)
    arrow(ax, [(x, 2.67), (x, 3.15)], on=token_part in on, head=False)


def _frame(ax: Axes, x: float, side: float, top: float, title: str, part: str,
           on: set[str]) -> None:
    """The frame of a layer repeated ``N`` times, titled at its outer corner."""
    x0, x1 = sorted((x - side * _INNER, x + side * _OUTER))
    frame(ax, x0, 3.0, x1, top, on=part in on, gid=part)
    label(ax, x1 if side > 0 else x0, top + 0.27, title, ha="right" if side > 0 else "left",
          fontweight="bold", color=INK if part in on else GREY_TEXT)


def architecture(highlight: str | None = None, ax: Axes | None = None) -> Figure:
    """Draw the encoder-decoder Transformer; colour the part ``highlight`` names, grey the rest.

    ``highlight``: ``None`` (everything in colour) or a key of ``HIGHLIGHTS``: ``"attention"``
    (chapters 2-3), ``"multi_head"`` (4), ``"positional"`` (5), ``"encoder"`` (6),
    ``"decoder"`` (7), ``"training"`` (8), ``"decoder_only"`` (13: the decoder column with its
    cross-attention struck out, gid ``STRUCK_OUT``). Draws on ``ax`` if given, else on a new
    4.3 x 6.6 inch figure whose text (10 pt) stays legible on a phone; returns the figure.

    >>> fig = architecture(highlight="encoder")
    >>> sorted({p.get_gid() for p in fig.axes[0].patches if p.get_gid()} - set(PARTS))
    []
    """
    if highlight is not None:
        check_choice("highlight", highlight, list(HIGHLIGHTS))
    on = set(PARTS) if highlight is None else set(HIGHLIGHTS[highlight])
    fig, ax = canvas(ax, _W, _H, inch_per_unit=0.5)

    # The encoder column: inputs, embedding, positions, N x (self-attention, FFN).
    x = _ENC_X
    _embedding_and_positions(ax, x, 1.0, "Input\nEmbedding", "Inputs", "enc", "inputs", on)
    _frame(ax, x, -1.0, 7.5, "N× Encoder", "encoder_layer", on)
    _attention_inputs(ax, x, 3.15, 3.35, 3.6, "enc_self_attention", on)
    top = _sub_layer(ax, x, 3.6, 0.85, "Multi-Head\nSelf-Attention", "attention",
                     "enc_self_attention", on)
    top = _add_and_norm(ax, x, top, 3.2, -1.0, "enc_norm1", on)
    arrow(ax, [(x, top), (x, top + 0.4)], on="enc_feed_forward" in on)
    top = _sub_layer(ax, x, top + 0.4, 0.55, "Feed-Forward", "feed_forward",
                     "enc_feed_forward", on)
    enc_top = _add_and_norm(ax, x, top, top - 0.75, -1.0, "enc_norm2", on)

    # Positional encodings: one symbol beside each adder, their name between the columns.
    d = _DEC_X
    positional = {"enc_positional", "dec_positional"} & on
    label(ax, _MEMORY_X, 2.45, "Positional\nEncoding", color=INK if positional else GREY_TEXT,
          linespacing=1.15)

    # The decoder column: shifted outputs, embedding, positions, N x (masked self-attention,
    # cross-attention, FFN), then the output projection and the softmax.
    _embedding_and_positions(ax, d, -1.0, "Output\nEmbedding", "Outputs (shifted right)", "dec",
                             "shifted_outputs", on)
    _frame(ax, d, 1.0, 10.3, "N× Decoder", "decoder_layer", on)
    _attention_inputs(ax, d, 3.15, 3.35, 3.6, "dec_self_attention", on)
    top = _sub_layer(ax, d, 3.6, 1.2, "Masked\nMulti-Head\nSelf-Attention", "attention",
                     "dec_self_attention", on)
    top = _add_and_norm(ax, d, top, 3.2, 1.0, "dec_norm1", on)
    # The query of cross-attention comes from below, its keys and values from the memory.
    cross = "dec_cross_attention" in on
    arrow(ax, [(d, top), (d, top + 0.2), (d + 0.8, top + 0.2), (d + 0.8, top + 0.7)], on=cross)
    cross_bottom = top + 0.7
    top = _sub_layer(ax, d, cross_bottom, 0.85, "Multi-Head\nCross-Attention", "attention",
                     "dec_cross_attention", on)
    top = _add_and_norm(ax, d, top, cross_bottom - 0.5, 1.0, "dec_norm2", on)
    if highlight == "decoder_only":  # nothing to attend to: the sub-layer is gone
        for ys in ((cross_bottom - 0.1, top + 0.1), (top + 0.1, cross_bottom - 0.1)):
            ax.plot([d - 1.6, d + 1.6], ys, color=ACCENT, linewidth=2.0, linestyle="-",
                    zorder=4, gid=STRUCK_OUT)
    arrow(ax, [(d, top), (d, top + 0.4)], on="dec_feed_forward" in on)
    top = _sub_layer(ax, d, top + 0.4, 0.55, "Feed-Forward", "feed_forward",
                     "dec_feed_forward", on)
    top = _add_and_norm(ax, d, top, top - 0.75, 1.0, "dec_norm3", on)
    arrow(ax, [(d, top), (d, 10.9)], on="linear" in on)
    top = _sub_layer(ax, d, 10.9, 0.5, "Linear", "linear", "linear", on)
    arrow(ax, [(d, top), (d, top + 0.4)], on="softmax" in on)
    top = _sub_layer(ax, d, top + 0.4, 0.5, "Softmax", "softmax", "softmax", on)
    arrow(ax, [(d, top), (d, top + 0.35)], on="probabilities" in on)
    label(ax, d, top + 0.58, "Output Probabilities", gid="probabilities",
          color=INK if "probabilities" in on else GREY_TEXT,
          fontweight="bold" if highlight is not None and "probabilities" in on else "normal")

    # The encoder's output (its memory) becomes the keys and values of every cross-attention:
    # up out of the encoder, down between the frames, into the decoder.
    mem, y_mem = "memory" in on, enc_top + 0.9
    y_kv = cross_bottom - 0.3
    arrow(ax, [(x, enc_top), (x, y_mem), (_MEMORY_X, y_mem), (_MEMORY_X, y_kv)], on=mem,
          head=False, gid="memory")
    for kx in (d - 0.8, d):
        arrow(ax, [(_MEMORY_X, y_kv), (kx, y_kv), (kx, cross_bottom)],
              on=mem or "dec_cross_attention" in on)
    label(ax, (x + _MEMORY_X) / 2, y_mem + 0.45, "encoder output\n(memory)", linespacing=1.15,
          color=INK if mem else GREY_TEXT)
    return fig
