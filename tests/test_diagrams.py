"""The book's diagrams (headless: the Agg backend): they draw, the highlight colours the right
parts, bad arguments raise, nothing changes matplotlib's global state, the output repeats, and
the committed SVG files are what scripts/make_figures.py draws now."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import io  # noqa: E402
import logging  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from transformer_book.figures._drawing import FILL, GREY_FILL  # noqa: E402
from transformer_book.figures.architecture import HIGHLIGHTS, PARTS, STRUCK_OUT, architecture  # noqa: E402
from transformer_book.figures.attention_diagrams import (  # noqa: E402
    multi_head_diagram,
    scaled_dot_product_diagram,
)
from transformer_book.figures.decoding_diagrams import (  # noqa: E402
    beam_tree,
    decoding_steps_diagram,
    label_smoothing_diagram,
    smoothed_distribution,
    teacher_forcing_diagram,
)
from transformer_book.schedule import LabelSmoothingLoss  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
HYPOTHESES = [list("2026"), list("2025"), list("21")]
SCORES = [[-0.1, -0.2, -0.3, -0.5], [-0.1, -0.2, -0.3, -1.7], [-0.1, -2.2]]

DRAWINGS = {
    "architecture": lambda ax=None: architecture(ax=ax),
    "architecture_decoder": lambda ax=None: architecture("decoder", ax=ax),
    "architecture_decoder_only": lambda ax=None: architecture("decoder_only", ax=ax),
    "scaled_dot_product": lambda ax=None: scaled_dot_product_diagram(ax=ax),
    "multi_head": lambda ax=None: multi_head_diagram(ax=ax, d_model=64, heads=4),
    "teacher_forcing": lambda ax=None: teacher_forcing_diagram(["a", "b"], ax=ax),
    "decoding_steps": lambda ax=None: decoding_steps_diagram(["a", "b", "c"], [0.9, 0.8, 0.7],
                                                             ax=ax),
    "beam_tree": lambda ax=None: beam_tree(HYPOTHESES, SCORES, ax=ax),
    "label_smoothing": lambda ax=None: label_smoothing_diagram(ax=ax),
}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _svg(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "test"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def _by_gid(fig: Figure) -> dict[str, Patch]:
    return {p.get_gid(): p for p in fig.axes[0].patches if p.get_gid()}


@pytest.mark.parametrize("name", DRAWINGS)
def test_each_diagram_draws_a_new_figure_outside_pyplot_and_repeats(name):
    fig = DRAWINGS[name]()
    assert isinstance(fig, Figure)
    assert plt.get_fignums() == []  # not registered with pyplot: a notebook shows it once
    ax = fig.axes[0]
    assert ax.patches or ax.containers  # something was drawn
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=40)
    assert png.getvalue().startswith(b"\x89PNG")
    assert _svg(fig) == _svg(DRAWINGS[name]())  # deterministic


@pytest.mark.parametrize("name", DRAWINGS)
def test_each_diagram_draws_on_a_given_axes(name):
    fig, ax = plt.subplots()
    assert DRAWINGS[name](ax=ax) is fig
    assert ax.patches
    with pytest.raises(TypeError, match="ax="):
        DRAWINGS[name](ax="not an axes")


def test_a_new_diagram_shows_itself_in_jupyter_at_twice_its_resolution():
    fig = architecture()
    png, size = fig._repr_png_()
    assert png.startswith(b"\x89PNG")
    width, height = np.frombuffer(png[16:24], dtype=">u4")  # the PNG header's IHDR
    assert abs(int(width) - 2 * size["width"]) <= 1 and abs(int(height) - 2 * size["height"]) <= 1
    assert size["width"] == round(fig.get_size_inches()[0] * fig.dpi)


def test_drawing_leaves_matplotlib_rcparams_unchanged():
    before = dict(matplotlib.rcParams)
    for draw in DRAWINGS.values():
        draw().savefig(io.BytesIO(), format="png", dpi=30)
    assert dict(matplotlib.rcParams) == before


@pytest.mark.slow  # a fresh interpreter that imports torch (about 5 s)
def test_importing_the_diagram_modules_leaves_rcparams_unchanged():
    code = ("import matplotlib; before = dict(matplotlib.rcParams)\n"
            "import transformer_book.figures.architecture\n"
            "import transformer_book.figures.attention_diagrams\n"
            "import transformer_book.figures.decoding_diagrams\n"
            "changed = sorted(k for k, v in before.items() if matplotlib.rcParams[k] != v)\n"
            "assert not changed, changed\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT)
    assert result.returncode == 0, result.stderr


def test_hangul_tokens_render_without_font_warnings(caplog):
    fig = teacher_forcing_diagram(["2026년", "11월", "24일"])
    with warnings.catch_warnings(), caplog.at_level(logging.WARNING):
        warnings.simplefilter("error")
        fig.savefig(io.BytesIO(), format="png", dpi=30)
        decoding_steps_diagram(["이", "일"]).savefig(io.BytesIO(), format="png", dpi=30)
    assert not caplog.records, [r.getMessage() for r in caplog.records]


# --- the architecture and its highlights ---------------------------------------------------------


def test_architecture_draws_every_part_in_colour_without_highlight():
    boxes = _by_gid(architecture())
    texts = {t.get_gid() for t in architecture().axes[0].texts if t.get_gid()}
    assert set(PARTS) - {"memory"} <= set(boxes) | texts
    assert to_hex(boxes["enc_self_attention"].get_facecolor()) == FILL["attention"].lower()
    assert to_hex(boxes["dec_feed_forward"].get_facecolor()) == FILL["feed_forward"].lower()
    assert not [g for g, p in boxes.items() if to_hex(p.get_facecolor()) == GREY_FILL.lower()]


@pytest.mark.parametrize("highlight", HIGHLIGHTS)
def test_highlight_colours_its_parts_and_greys_the_others(highlight):
    fig = architecture(highlight=highlight)
    boxes = {g: p for g, p in _by_gid(fig).items() if g in PARTS and g != "memory"}
    coloured = {g for g, p in boxes.items()
                if to_hex(p.get_facecolor()) not in (GREY_FILL.lower(), "#ffffff")}
    expected = {g for g in HIGHLIGHTS[highlight] if g in boxes}
    assert coloured == expected
    texts = {t.get_gid(): t for t in fig.axes[0].texts if t.get_gid()}
    for gid, text in texts.items():  # token labels: dark if highlighted, grey otherwise
        assert (to_hex(text.get_color()) != "#9a9a9a") == (gid in HIGHLIGHTS[highlight])


def test_highlights_name_the_chapters_parts():
    assert HIGHLIGHTS["attention"] == ("enc_self_attention", "dec_self_attention",
                                       "dec_cross_attention")
    assert "enc_positional" in HIGHLIGHTS["positional"]
    assert "dec_feed_forward" not in HIGHLIGHTS["encoder"]
    assert {"dec_cross_attention", "memory", "linear"} <= set(HIGHLIGHTS["decoder"])
    assert {"shifted_outputs", "softmax"} <= set(HIGHLIGHTS["training"])
    assert all(set(parts) <= set(PARTS) for parts in HIGHLIGHTS.values())


def test_decoder_only_is_the_decoder_column_without_cross_attention():
    parts = set(HIGHLIGHTS["decoder_only"])
    decoder = {p for p in PARTS if p.startswith("dec_")} | {"decoder_layer"}
    assert parts & decoder == decoder - {"dec_cross_attention", "dec_norm2"}
    assert not parts & ({p for p in PARTS if p.startswith("enc_")} | {"memory", "inputs"})
    assert {"shifted_outputs", "linear", "softmax", "probabilities"} <= parts
    struck = [line for line in architecture("decoder_only").axes[0].lines
              if line.get_gid() == STRUCK_OUT]
    assert len(struck) == 2  # a cross over the cross-attention and its Add & Norm
    for other in [None, *HIGHLIGHTS]:
        if other != "decoder_only":
            assert not [line for line in architecture(other).axes[0].lines
                        if line.get_gid() == STRUCK_OUT], other


@pytest.mark.parametrize("bad", ["ffn", "Encoder", 3])
def test_unknown_highlight_raises_naming_value_and_choices(bad):
    with pytest.raises(ValueError, match=r"highlight=.*must be one of .*'positional'"):
        architecture(highlight=bad)


# --- attention blocks ---------------------------------------------------------------------------


def test_scaled_dot_product_blocks_in_the_papers_order():
    fig = scaled_dot_product_diagram()
    boxes = sorted(_by_gid(fig).items(), key=lambda kv: kv[1].get_y())
    assert [g for g, _ in boxes] == ["scores", "scale", "mask", "softmax", "weighted_sum"]
    assert _by_gid(fig)["mask"].get_linestyle() == "--"  # optional
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "(n, m)" in " ".join(texts)
    assert not any("(n, m)" in t for t in
                   (t.get_text() for t in scaled_dot_product_diagram(shapes=False).axes[0].texts))


def test_multi_head_diagram_writes_the_split_and_merged_shapes():
    texts = " ".join(t.get_text() for t in multi_head_diagram(d_model=512, heads=8).axes[0].texts)
    assert "(B, 8, n, 64)" in texts and "(B, n, 512)" in texts and "= 64" in texts
    texts = " ".join(t.get_text() for t in multi_head_diagram(batch="2", seq="L", d_model=12,
                                                              heads=3).axes[0].texts)
    assert "(2, 3, L, 4)" in texts and "(2, L, 12)" in texts


@pytest.mark.parametrize("kwargs, error, match", [
    ({"d_model": 10, "heads": 4}, ValueError, "d_model=10 is not divisible by heads=4"),
    ({"heads": 0}, ValueError, "heads=0"),
    ({"d_model": 51.2}, TypeError, "d_model=51.2"),
    ({"batch": ""}, TypeError, "batch=''"),
    ({"seq": 5}, TypeError, "seq=5"),
])
def test_multi_head_diagram_bad_arguments_raise(kwargs, error, match):
    with pytest.raises(error, match=match):
        multi_head_diagram(**kwargs)


def test_scaled_dot_product_shapes_must_be_a_bool():
    with pytest.raises(TypeError, match="shapes="):
        scaled_dot_product_diagram(shapes="yes")


# --- decoding ------------------------------------------------------------------------------------


def _box_texts(fig: Figure, prefix: str) -> list[str]:
    """The text inside each box whose gid starts with ``prefix``, left to right."""
    ax = fig.axes[0]
    centres = {}
    for p in ax.patches:
        if (p.get_gid() or "").startswith(prefix):
            centres[p.get_gid()] = (p.get_x() + p.get_width() / 2, p.get_y() + p.get_height() / 2)
    found = []
    for t in ax.texts:
        for gid, (x, y) in centres.items():
            if np.allclose(t.get_position(), (x, y)):
                found.append((x, gid, t.get_text()))
    return [text for _, _, text in sorted(found)]


def test_teacher_forcing_input_is_the_target_shifted_right():
    fig = teacher_forcing_diagram(["x", "y", "z"], bos="<s>", eos="</s>")
    assert _box_texts(fig, "input_") == ["<s>", "x", "y", "z"]
    assert _box_texts(fig, "target_") == ["x", "y", "z", "</s>"]


def test_decoding_steps_feed_each_output_back():
    fig = decoding_steps_diagram(["a", "b", "c"], bos="<s>")
    assert _box_texts(fig, "step3_input_") == ["<s>", "a", "b"]
    assert [t for s in (1, 2, 3) for t in _box_texts(fig, f"step{s}_output")] == ["a", "b", "c"]
    assert len([p for p in fig.axes[0].patches if (p.get_gid() or "").endswith("_decoder")]) == 3


@pytest.mark.parametrize("kwargs, match", [
    ({"tokens": []}, "tokens="),
    ({"tokens": "abc"}, "tokens="),
    ({"tokens": ["a", ""]}, "tokens="),
    ({"tokens": ["a"], "probabilities": [0.5, 0.5]}, "probabilities has 2"),
    ({"tokens": ["a"], "probabilities": [1.5]}, r"probabilities=\[1.5\]"),
])
def test_decoding_steps_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        decoding_steps_diagram(**kwargs)


def test_beam_tree_shares_prefixes_and_colours_the_best_path():
    fig = beam_tree(HYPOTHESES, SCORES)
    boxes = _by_gid(fig)
    # Nodes: 2, 20, 202, 2026, 2025, 21 (shared prefixes drawn once), plus the root.
    assert len([g for g in boxes if g.startswith(("best_", "node_"))]) == 6
    best = [g for g in boxes if g.startswith("best_")]
    assert len(best) == 4  # the path to "2026", the highest final score
    assert {to_hex(boxes[g].get_facecolor()) for g in best} == {FILL["softmax"].lower()}
    scores = {t.get_text() for t in fig.axes[0].texts}
    assert {"−0.50", "−1.70", "−2.20"} <= scores
    assert len([g for g in _by_gid(beam_tree(HYPOTHESES, SCORES, best=2)) if
                g.startswith("best_")]) == 2


@pytest.mark.parametrize("hyps, scores, best, match", [
    ([["a"]], [[-1.0], [-2.0]], None, "equal length"),
    ([["a", "b"]], [[-1.0]], None, r"scores\[0\] has 1"),
    ([["a", "b"], ["a", "c"]], [[-1.0, -2.0], [-1.5, -2.0]], None, r"scores\[1\]\[0\]=-1.5"),
    ([["a"]], [[-1.0]], 1, "best=1"),
    ([[]], [[]], None, r"hypotheses\[0\]"),
])
def test_beam_tree_bad_arguments_raise(hyps, scores, best, match):
    with pytest.raises(ValueError, match=match):
        beam_tree(hyps, scores, best=best)


# --- label smoothing -----------------------------------------------------------------------------


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
def test_smoothed_distribution_is_the_target_of_the_packages_loss(smoothing):
    vocab, target = 7, 3
    q = smoothed_distribution(vocab, target, smoothing)
    assert q.sum() == pytest.approx(1.0)
    logits = torch.randn(vocab, generator=torch.Generator().manual_seed(0))
    cross_entropy = -(torch.tensor(q, dtype=torch.float32) * logits.log_softmax(-1)).sum()
    loss = LabelSmoothingLoss(smoothing, ignore_index=-100)(logits[None], torch.tensor([target]))
    torch.testing.assert_close(cross_entropy, loss)


def test_label_smoothing_diagram_draws_one_hot_and_smoothed_bars():
    fig = label_smoothing_diagram(num_classes=5, target=1, smoothing=0.2,
                                  labels=["<pad>", "a", "b", "c", "d"])
    ax = fig.axes[0]
    one_hot, smoothed = ax.containers
    np.testing.assert_allclose([b.get_height() for b in one_hot], [0, 1, 0, 0, 0])
    np.testing.assert_allclose([b.get_height() for b in smoothed], [0.04, 0.84, 0.04, 0.04, 0.04])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["<pad>", "a", "b", "c", "d"]


@pytest.mark.parametrize("kwargs, match", [
    ({"target": 8}, "target=8 must be below num_classes=8"),
    ({"smoothing": 1.0}, "smoothing=1.0"),
    ({"num_classes": 1}, "num_classes=1"),
    ({"labels": ["a"]}, "labels has 1"),
])
def test_label_smoothing_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        label_smoothing_diagram(**kwargs)


# --- the committed figures ----------------------------------------------------------------------


def test_committed_svg_figures_are_what_the_script_draws_now(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_figures.py"),
                             "--out", str(tmp_path)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    written = sorted(p.name for p in tmp_path.glob("*.svg"))
    assert written == ["architecture.svg"]
    for name in written:
        committed = ROOT / "book" / "figures" / name
        assert committed.read_bytes() == (tmp_path / name).read_bytes(), (
            f"book/figures/{name} is out of date: run python scripts/make_figures.py")


def test_intro_shows_the_architecture_as_a_captioned_figure_the_chapters_name():
    # The map is named, not numbered: "Fig. 1" would read as chapter 1's (Fig. 1.1 to 1.3).
    intro = (ROOT / "book" / "intro.md").read_text(encoding="utf-8")
    assert "```{figure} figures/architecture.svg" in intro
    assert ":name: fig-architecture" in intro
    assert "{numref}`fig-architecture`" not in intro
    css = (ROOT / "book" / "_static" / "book.css").read_text(encoding="utf-8")
    assert "figure#fig-architecture span.caption-number" in css
    for chapter in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        text = chapter.read_text(encoding="utf-8")
        assert "{numref}`fig-architecture`" not in text, chapter.name
