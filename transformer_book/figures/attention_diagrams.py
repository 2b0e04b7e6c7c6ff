"""Block diagrams of attention: scaled dot-product attention and multi-head attention.

Our own drawings of what Figure 2 of Vaswani et al. (2017) shows, with the tensor shapes
written next to each step, in the batch-first layout of ``transformer_book.attention``:
``(batch, seq, d_model)`` is split into ``(batch, heads, seq, d_k)`` by a ``view`` and a
``transpose(1, 2)``, and merged back by a ``transpose(1, 2)`` and a ``reshape``.
"""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .._checks import check_integer
from ._drawing import FILL, INK, arrow, box, canvas, label

__all__ = ["multi_head_diagram", "scaled_dot_product_diagram"]

_NOTE = "#404040"
_NOTE_SIZE = 10  # like every text of these figures: legible on a phone (tests/test_figures.py)
#: The gids of the five blocks of ``scaled_dot_product_diagram``, bottom to top.
_SDPA_STEPS = ("scores", "scale", "mask", "softmax", "weighted_sum")


def scaled_dot_product_diagram(ax: Axes | None = None, shapes: bool = True) -> Figure:
    """Scaled dot-product attention as blocks: MatMul, Scale, Mask (opt.), SoftMax, MatMul.

    ``Q`` is ``(n, d_k)`` (n queries), ``K`` is ``(m, d_k)`` and ``V`` is ``(m, d_v)`` (m keys);
    with ``shapes=True`` the shape after each step is written beside it. Draws on ``ax`` if
    given, else on a new figure; returns the figure.
    """
    if not isinstance(shapes, bool):
        raise TypeError(f"shapes={shapes!r} must be a bool")
    fig, ax = canvas(ax, 7.7 if shapes else 4.3, 7.8, inch_per_unit=0.6)
    x, w, h = 1.7, 2.4, 0.55
    steps = [  # (y, text, fill, dashed, note)
        (1.8, "MatMul", FILL["linear"], False, r"scores $QK^\top$: (n, m)"),
        (2.8, "Scale", FILL["norm"], False, r"divide by $\sqrt{d_k}$: (n, m)"),
        (3.8, "Mask (opt.)", FILL["embedding"], True, "masked scores: (n, m)"),
        (4.8, "SoftMax", FILL["softmax"], False, "weights: (n, m), rows sum to 1"),
        (6.1, "MatMul", FILL["linear"], False, r"output: (n, $d_v$)"),
    ]
    for qx, name, note in ((1.0, "Q", "(n, $d_k$)"), (2.4, "K", "(m, $d_k$)"),
                           (3.55, "V", "(m, $d_v$)")):
        label(ax, qx, 0.75, name, size=12, fontweight="bold")
        if shapes:
            label(ax, qx, 0.3, note, size=_NOTE_SIZE, color=_NOTE)
    arrow(ax, [(1.0, 1.0), (1.0, 1.8 - h / 2)])
    arrow(ax, [(2.4, 1.0), (2.4, 1.8 - h / 2)])
    arrow(ax, [(3.55, 1.0), (3.55, 6.1), (x + w / 2, 6.1)])
    ends = [step[0] - h / 2 for step in steps[1:]] + [7.1 - 0.15]  # where each arrow stops
    for gid, (y, text, fill, dashed, note), end in zip(_SDPA_STEPS, steps, ends, strict=True):
        box(ax, x, y, w, h, text, fill=fill, dashed=dashed, gid=gid)
        arrow(ax, [(x, y + h / 2), (x, end)])
        if shapes:
            label(ax, 3.95, y + (0.22 if y > 6 else 0.0), note, size=_NOTE_SIZE, color=_NOTE,
                  ha="left")
    label(ax, x, 7.35, "Attention(Q, K, V)", size=10, color=INK)
    return fig


def _strips(ax: Axes, x: float, y: float, w: float, h: float, heads: int, fill: str,
            gid: str) -> None:
    """A box cut into ``heads`` vertical strips: one tensor seen as ``h`` heads."""
    box(ax, x, y, w, h, fill=fill, gid=gid)
    shown = min(heads, 8)
    for i in range(1, shown):
        sx = x - w / 2 + i * w / shown
        ax.plot([sx, sx], [y - h / 2, y + h / 2], color=INK, linewidth=0.8, zorder=3)


def multi_head_diagram(ax: Axes | None = None, batch: str = "B", seq: str = "n",
                       d_model: int = 512, heads: int = 8) -> Figure:
    """Multi-head attention with the shape of each tensor, from the inputs to the output.

    ``Q``, ``K`` and ``V`` ``(batch, seq, d_model)`` are projected, split into ``heads`` heads
    of width ``d_k = d_model / heads`` as ``(batch, heads, seq, d_k)``, attended to per head,
    merged back into ``(batch, seq, d_model)`` and projected by ``W^O``. ``batch`` and ``seq``
    are the symbols written for those sizes. Draws on ``ax`` if given, else on a new figure;
    returns the figure.
    """
    for name, value in (("batch", batch), ("seq", seq)):
        if not isinstance(value, str) or not value.strip():
            raise TypeError(f"{name}={value!r} must be a non-empty string (a size's symbol)")
    check_integer("d_model", d_model)
    check_integer("heads", heads)
    if d_model % heads:
        raise ValueError(f"d_model={d_model} is not divisible by heads={heads}")
    d_k = d_model // heads
    b, n = batch, seq
    fig, ax = canvas(ax, 9.5, 10.5, inch_per_unit=0.5)
    cols = {"Q": 0.75, "K": 2.15, "V": 3.55}
    levels = {"input": 0.45, "linear": 1.65, "split": 3.2, "attend": 4.9, "merge": 6.55,
              "out": 7.75, "result": 9.0}
    w = 1.2  # the width of a projection
    for name, x in cols.items():
        label(ax, x, levels["input"], name, size=12, fontweight="bold")
        arrow(ax, [(x, 0.72), (x, levels["linear"] - 0.45)])
        box(ax, x, levels["linear"], w, 0.9, f"Linear\n$W^{name}$", fill=FILL["linear"],
            gid=f"w_{name.lower()}")
        arrow(ax, [(x, levels["linear"] + 0.45), (x, levels["split"] - 0.25)])
        _strips(ax, x, levels["split"], w, 0.5, heads, FILL["attention"], f"split_{name}")
        arrow(ax, [(x, levels["split"] + 0.25), (x, levels["attend"] - 0.65)])
    mid, span = cols["K"], cols["V"] - cols["Q"] + w
    for k in (2, 1):  # the heads behind the first one, drawn as a stack
        box(ax, mid + 0.12 * k, levels["attend"] + 0.12 * k, span, 1.3, fill=FILL["attention"])
    box(ax, mid, levels["attend"], span, 1.3, "Scaled Dot-Product\nAttention\n"
        f"(h = {heads} heads in parallel)", fill=FILL["attention"], gid="heads")
    arrow(ax, [(mid, levels["attend"] + 0.65), (mid, levels["merge"] - 0.25)])
    _strips(ax, mid, levels["merge"], w, 0.5, heads, FILL["attention"], "merge")
    label(ax, mid - w / 2 - 0.15, levels["merge"], "Concat", ha="right")
    arrow(ax, [(mid, levels["merge"] + 0.25), (mid, levels["out"] - 0.45)])
    box(ax, mid, levels["out"], w, 0.9, "Linear\n$W^O$", fill=FILL["linear"], gid="w_o")
    arrow(ax, [(mid, levels["out"] + 0.45), (mid, levels["result"] - 0.2)])
    label(ax, mid, levels["result"], "MultiHead(Q, K, V)", size=10)

    rail = 4.75
    label(ax, rail, 10.2, "tensor shape", ha="left", fontweight="bold")
    notes = {
        "input": f"({b}, {n}, $d_{{model}}$) = ({b}, {n}, {d_model})",
        "linear": f"({b}, {n}, {d_model})",
        "split": f"split: view ({b}, {n}, h, $d_k$),\ntranspose(1, 2)\n"
                 f"→ ({b}, h, {n}, $d_k$) = ({b}, {heads}, {n}, {d_k})",
        "attend": f"each head: softmax($QK^\\top/\\sqrt{{d_k}}$) V\n"
                  f"weights ({b}, {heads}, {n}, {n})\nout ({b}, {heads}, {n}, {d_k})",
        "merge": f"merge: transpose(1, 2), reshape\n"
                 f"→ ({b}, {n}, h·$d_k$) = ({b}, {n}, {d_model})",
        "out": f"({b}, {n}, $d_{{model}}$) = ({b}, {n}, {d_model})",
    }
    for level, text in notes.items():
        label(ax, rail, levels[level], text, size=_NOTE_SIZE, color=_NOTE, ha="left")
    label(ax, rail, 9.55, f"$d_{{model}}$ = {d_model}, h = {heads},\n"
          f"$d_k$ = $d_{{model}}$ / h = {d_k}", size=_NOTE_SIZE, color=_NOTE, ha="left")
    return fig
