"""The decoder's output side drawn: teacher forcing, label-smoothed targets, greedy decoding
step by step, and a beam-search tree.

Training feeds the decoder the target shifted right and asks every position for the next token
at once (teacher forcing), against a label-smoothed target distribution; decoding has no target
and feeds the model's own outputs back, one token per step, greedily or keeping a beam.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .._checks import check_fraction, check_integer
from ._drawing import (
    ACCENT,
    FILL,
    FONT_FAMILY,
    FONT_SIZE,
    GREY_EDGE,
    GREY_TEXT,
    INK,
    Diagram,
    arrow,
    box,
    canvas,
    label,
)

__all__ = ["beam_tree", "decoding_steps_diagram", "label_smoothing_diagram",
           "smoothed_distribution", "teacher_forcing_diagram"]

_ISO_DATE = tuple("2026-11-24")


def _check_tokens(name: str, tokens: Sequence[str]) -> list[str]:
    if isinstance(tokens, str) or not all(isinstance(t, str) and t for t in tokens) \
            or len(tokens) == 0:
        raise ValueError(f"{name}={tokens!r} must be a non-empty sequence of non-empty strings")
    return list(tokens)


def _token_width(tokens: Sequence[str]) -> float:
    """A box wide enough for the longest token: about 0.17 units per character, 0.3 per wide
    (Hangul, CJK) character, in units of half an inch at 10 pt."""
    def chars(token: str) -> float:
        return sum(1.8 if unicodedata.east_asian_width(c) in "WF" else 1.0 for c in token)
    return max(0.6, 0.17 * max(chars(t) for t in tokens) + 0.3)


def _row(widths: Sequence[float], x0: float, gap: float = 0.12) -> list[float]:
    """The centres of boxes ``widths`` wide laid side by side from ``x0``, ``gap`` apart."""
    centres, x = [], x0
    for w in widths:
        centres.append(x + w / 2)
        x += w + gap
    return centres


def teacher_forcing_diagram(tokens: Sequence[str] = _ISO_DATE, bos: str = "<bos>",
                            eos: str = "<eos>", ax: Axes | None = None) -> Figure:
    """Teacher forcing: the decoder reads the target shifted right and predicts, at every
    position at once, the next target token.

    ``tokens`` is the target ``y_1 .. y_T``; the decoder's input is ``bos, y_1 .. y_T`` and what
    each position must predict is ``y_1 .. y_T, eos``. Returns the figure.
    """
    tokens = _check_tokens("tokens", tokens)
    inputs, targets = [bos, *tokens], [*tokens, eos]
    widths = [_token_width(pair) for pair in zip(inputs, targets, strict=True)]
    span = sum(widths) + 0.12 * (len(widths) - 1)
    inner = max(span, 6.8)  # room for the captions and the decoder's two lines
    width = inner + 0.4
    xs = _row(widths, (width - span) / 2)
    fig, ax = canvas(ax, width, 5.1, inch_per_unit=0.5)
    mid = width / 2
    label(ax, mid, 4.6, "predicted next tokens, compared with the target\n"
          "(one loss term per position)", linespacing=1.15)
    box(ax, mid, 2.4, inner, 0.8,
        "Decoder, all positions in one pass\n(causal mask: position t sees inputs 1..t)",
        fill=FILL["attention"], gid="decoder")
    for i, (x, w, inp, out) in enumerate(zip(xs, widths, inputs, targets, strict=True)):
        box(ax, x, 1.0, w, 0.55, inp, fill=FILL["token"], gid=f"input_{i}",
            edge=GREY_EDGE if i == 0 else INK)
        arrow(ax, [(x, 1.275), (x, 2.0)])
        arrow(ax, [(x, 2.8), (x, 3.525)])
        box(ax, x, 3.8, w, 0.55, out, fill=FILL["token"], gid=f"target_{i}", edge=ACCENT)
    label(ax, mid, 0.3, "decoder input: the target shifted right")
    return fig


def decoding_steps_diagram(tokens: Sequence[str] = tuple("2026"),
                           probabilities: Sequence[float] | None = None, bos: str = "<bos>",
                           ax: Axes | None = None) -> Figure:
    """Greedy autoregressive decoding, one row per step: the decoder reads everything written
    so far and its most probable next token (``argmax``) is appended for the next step.

    ``tokens`` are the tokens chosen at steps 1, 2, ...; ``probabilities``, if given, the
    probability the model gave each of them (column ``p``). Returns the figure.
    """
    tokens = _check_tokens("tokens", tokens)
    if probabilities is not None:
        if len(probabilities) != len(tokens):
            raise ValueError(f"probabilities has {len(probabilities)} values but tokens has "
                             f"{len(tokens)}")
        for p in probabilities:
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"probabilities={list(probabilities)!r} must lie in [0, 1]")
    steps, x0, row = len(tokens), 1.05, 1.0
    widths = [_token_width([t]) for t in [bos, *tokens]]
    tw = _token_width(tokens)  # the chosen tokens' column
    x_dec = x0 + sum(widths[:steps]) + 0.12 * (steps - 1) + 0.6 + 0.8  # the decoder's centre
    x_out = x_dec + 0.8 + 1.0 + tw / 2
    width = x_out + tw / 2 + (1.05 if probabilities is not None else 0.2)
    height = steps * row + 0.75
    fig, ax = canvas(ax, width, height, inch_per_unit=0.5)
    top = height - 0.35  # the headers of the columns
    label(ax, 0.1, top, "step", ha="left", fontweight="bold")
    label(ax, x0, top, "read so far", ha="left", fontweight="bold")
    label(ax, x_dec + 1.3, top, "argmax", fontweight="bold")
    if probabilities is not None:
        label(ax, x_out + tw / 2 + 0.15, top, "p", ha="left", fontweight="bold")
    for s in range(steps):
        y = top - 0.85 - s * row
        label(ax, 0.45, y, f"{s + 1}")
        seen = [bos, *tokens[:s]]
        xs = _row(widths[: s + 1], x0)
        for i, (x, tok) in enumerate(zip(xs, seen, strict=True)):
            new = i == s and s > 0  # last step's output, fed back
            box(ax, x, y, widths[i], 0.55, tok, fill=FILL["token"],
                edge=ACCENT if new else INK, gid=f"step{s + 1}_input_{i}")
        arrow(ax, [(xs[-1] + widths[s] / 2 + 0.05, y), (x_dec - 0.8, y)])
        box(ax, x_dec, y, 1.6, 0.6, "Decoder", fill=FILL["attention"], gid=f"step{s + 1}_decoder")
        arrow(ax, [(x_dec + 0.8, y), (x_out - tw / 2, y)])
        box(ax, x_out, y, tw, 0.55, tokens[s], fill=FILL["softmax"], edge=ACCENT,
            gid=f"step{s + 1}_output")
        if probabilities is not None:
            label(ax, x_out + tw / 2 + 0.15, y, f"{probabilities[s]:.2f}", ha="left",
                  color=INK)
    return fig


def _tree(hypotheses: Sequence[Sequence[str]], scores: Sequence[Sequence[float]]) -> dict:
    """The prefix tree: ``{prefix: score}`` in first-seen order, checked for consistency."""
    if len(hypotheses) == 0 or len(hypotheses) != len(scores):
        raise ValueError(f"hypotheses ({len(hypotheses)}) and scores ({len(scores)}) must be "
                         "non-empty and of equal length")
    nodes: dict[tuple[str, ...], float] = {}
    for i, (hyp, sc) in enumerate(zip(hypotheses, scores, strict=True)):
        hyp = _check_tokens(f"hypotheses[{i}]", hyp)
        if len(sc) != len(hyp):
            raise ValueError(f"scores[{i}] has {len(sc)} values but hypotheses[{i}] has "
                             f"{len(hyp)} tokens")
        for t in range(len(hyp)):
            prefix, value = tuple(hyp[: t + 1]), float(sc[t])
            if prefix in nodes and abs(nodes[prefix] - value) > 1e-6:
                raise ValueError(f"scores[{i}][{t}]={value} differs from {nodes[prefix]}, the "
                                 f"score of the same prefix {list(prefix)} in an earlier "
                                 "hypothesis")
            nodes.setdefault(prefix, value)
    return nodes


def beam_tree(hypotheses: Sequence[Sequence[str]], scores: Sequence[Sequence[float]],
              best: int | None = None, bos: str = "<bos>", ax: Axes | None = None) -> Figure:
    """Draw the search tree of beam search from the hypotheses it expanded.

    ``hypotheses[i]`` is a token sequence and ``scores[i]`` its cumulative log-probability after
    each token (same length). Shared prefixes become shared branches; each node shows its token
    and score. The path of ``hypotheses[best]`` (default: the highest final score) is drawn in
    colour. Returns the figure.
    """
    nodes = _tree(hypotheses, scores)
    if best is None:
        best = int(np.argmax([s[-1] for s in scores]))
    check_integer("best", best, minimum=0)
    if best >= len(hypotheses):
        raise ValueError(f"best={best} must be below len(hypotheses)={len(hypotheses)}")
    on_path = {tuple(hypotheses[best][: t + 1]) for t in range(len(hypotheses[best]))}
    leaves = [p for p in nodes if not any(q[: len(p)] == p and q != p for q in nodes)]
    row = 1.25  # a node, and its score under it
    y_of: dict[tuple[str, ...], float] = {p: -row * i for i, p in enumerate(leaves)}
    for prefix in sorted(nodes, key=len, reverse=True):  # a parent sits between its children
        if prefix not in y_of:
            kids = [y_of[q] for q in nodes if len(q) == len(prefix) + 1 and q[:-1] == prefix]
            y_of[prefix] = sum(kids) / len(kids)
    y_of[()] = float(np.mean([y_of[p] for p in nodes if len(p) == 1]))
    root_w, tw = _token_width([bos]), _token_width([p[-1] for p in nodes])
    dx, depth = tw + 1.0, max(len(p) for p in nodes)
    height = len(leaves) * row + 0.5
    fig, ax = canvas(ax, max(0.4 + root_w + depth * dx, 6.9), height, inch_per_unit=0.5)

    def at(prefix: tuple[str, ...]) -> tuple[float, float]:
        x = 0.2 + root_w / 2 if not prefix else 0.2 + root_w + len(prefix) * dx - tw / 2
        return x, height - 0.45 + y_of[prefix]

    box(ax, *at(()), root_w, 0.45, bos, fill=FILL["token"], gid="root")
    for k, (prefix, value) in enumerate(nodes.items()):
        (x, y), (px, py) = at(prefix), at(prefix[:-1])
        path = prefix in on_path
        ax.plot([px + (tw if prefix[:-1] else root_w) / 2, x - tw / 2], [py, y],
                color=ACCENT if path else GREY_EDGE, linewidth=2.0 if path else 1.0,
                linestyle="-", zorder=1)
        box(ax, x, y, tw, 0.45, prefix[-1], fill=FILL["softmax"] if path else FILL["token"],
            edge=ACCENT if path else INK, gid=f"best_{k}" if path else f"node_{k}")
        label(ax, x, y - 0.47, f"{value:.2f}".replace("-", "−"),
              color=INK if path else GREY_TEXT)
    label(ax, 0.2, 0.25, "under each token: the log-probability of its prefix", color=INK,
          ha="left")
    return fig


def smoothed_distribution(num_classes: int, target: int, smoothing: float) -> np.ndarray:
    """The label-smoothed target of ``LabelSmoothingLoss``: ``(1 - smoothing)`` on ``target``
    plus ``smoothing / num_classes`` on every class, the target included. Shape ``(V,)``.

    >>> smoothed_distribution(4, 1, 0.2).round(3).tolist()
    [0.05, 0.85, 0.05, 0.05]
    """
    check_integer("num_classes", num_classes, minimum=2)
    check_integer("target", target, minimum=0)
    if target >= num_classes:
        raise ValueError(f"target={target} must be below num_classes={num_classes}")
    check_fraction("smoothing", smoothing)
    q = np.full(num_classes, smoothing / num_classes)
    q[target] += 1.0 - smoothing
    return q


def label_smoothing_diagram(num_classes: int = 8, target: int = 2, smoothing: float = 0.1,
                            labels: Sequence[str] | None = None,
                            ax: Axes | None = None) -> Figure:
    """The one-hot target next to the label-smoothed one, as bars over the ``V`` classes.

    ``labels`` names the classes (tokens); default ``0 .. V-1``. Returns the figure.
    """
    q = smoothed_distribution(num_classes, target, smoothing)
    if labels is None:
        labels = [str(i) for i in range(num_classes)]
    elif len(labels) != num_classes:
        raise ValueError(f"labels has {len(labels)} names but num_classes={num_classes}")
    if ax is None:
        fig = Diagram(figsize=(5.0, 3.0))
        ax = fig.add_axes((0.13, 0.17, 0.85, 0.8))  # fixed margins: the same on every draw
    elif not isinstance(ax, Axes):
        raise TypeError(f"ax={ax!r} must be a matplotlib Axes or None")
    x = np.arange(num_classes)
    one_hot = np.eye(num_classes)[target]
    ax.bar(x - 0.2, one_hot, 0.4, color="white", edgecolor=INK, hatch="//", label="one-hot",
           gid="one_hot")
    ax.bar(x + 0.2, q, 0.4, color=FILL["softmax"], edgecolor=INK, gid="smoothed",
           label=f"label-smoothed, ε = {smoothing:g}")
    font = {"fontfamily": FONT_FAMILY, "fontsize": FONT_SIZE}
    ax.annotate(f"1 − ε + ε/V = {q[target]:.4g}", (target + 0.4, q[target]),
                xytext=(4, -2), textcoords="offset points", va="top", color=INK, **font)
    other = (target + 1) % num_classes
    ax.annotate(f"ε/V = {q[other]:.4g}", (other + 0.2, q[other]), xytext=(0, 6),
                textcoords="offset points", ha="left", color=INK, **font)
    ax.set_xticks(x, labels=list(labels), **font)
    ax.tick_params(labelsize=FONT_SIZE)
    ax.set_ylim(0.0, 1.08)
    ax.set_xlabel("class (token of the vocabulary)", **font)
    ax.set_ylabel("target probability", **font)
    ax.legend(loc="center right", prop={"family": FONT_FAMILY, "size": FONT_SIZE},
              frameon=False)
    return ax.figure
