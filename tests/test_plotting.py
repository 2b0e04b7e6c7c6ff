"""Unit tests of transformer_book.plotting (headless: the Agg backend)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import itertools  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from transformer_book.plotting import (  # noqa: E402
    BOOK_RC,
    OKABE_ITO,
    attention_heatmap,
    plot_curves,
)

# Colour-vision deficiency in linear RGB, severity 1 (Machado, Oliveira and Fernandes, 2009).
CVD = {
    "protanopia": np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
}
# Two colours closer than this (CIELAB distance) under either simulation are a red-green pair.
MIN_DISTANCE = 15.0


def _linear_rgb(colour: str) -> np.ndarray:
    c = np.array(matplotlib.colors.to_rgb(colour))
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _lab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of a linear-RGB colour."""
    to_xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722],
                       [0.0193, 0.1192, 0.9505]])
    xyz = to_xyz @ np.clip(rgb, 0.0, 1.0) / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def red_green_pairs(colours) -> list[tuple[str, str, str, float]]:
    """The pairs of ``colours`` that protanopia or deuteranopia brings within MIN_DISTANCE."""
    return [(a, b, name, round(float(d), 1))
            for a, b in itertools.combinations(colours, 2) for name, m in CVD.items()
            if (d := np.linalg.norm(_lab(m @ _linear_rgb(a)) - _lab(m @ _linear_rgb(b))))
            < MIN_DISTANCE]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_attention_heatmap_labels_and_image():
    weights = torch.softmax(torch.randn(3, 4), dim=-1)
    ax = attention_heatmap(weights, keys=["a", "b", "c", "d"], queries=["x", "y", "z"],
                           title="demo", annotate=True)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c", "d"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["x", "y", "z"]
    assert ax.get_title() == "demo"
    assert ax.get_xlabel() and ax.get_ylabel()
    image = ax.get_images()[0]
    np.testing.assert_allclose(image.get_array(), weights.numpy(), rtol=1e-6)
    assert len(ax.texts) == 12  # one annotation per cell
    assert len(ax.figure.axes) == 2  # the heatmap and its colorbar


def test_attention_heatmap_accepts_numpy_and_an_existing_axes():
    _, ax = plt.subplots()
    out = attention_heatmap(np.eye(2), ax=ax, colorbar=False)
    assert out is ax
    assert len(ax.figure.axes) == 1


def test_attention_heatmap_accepts_tensors_that_need_grad_and_half_precision():
    w = torch.rand(2, 2, requires_grad=True).half()
    ax = attention_heatmap(w)
    np.testing.assert_allclose(ax.images[0].get_array(), w.detach().float().numpy())


@pytest.mark.parametrize(
    "keys, queries, name", [(["a", "b"], None, "keys"), (None, ["x"], "queries")]
)
def test_attention_heatmap_wrong_label_count_raises(keys, queries, name):
    with pytest.raises(ValueError, match=name):
        attention_heatmap(torch.rand(3, 4), keys=keys, queries=queries)


def test_attention_heatmap_rejects_non_matrices():
    with pytest.raises(ValueError, match="weights"):
        attention_heatmap(torch.rand(2, 3, 4))


def test_plot_curves_returns_labelled_axes():
    ax = plot_curves({"train": [3.0, 2.0, 1.0], "validation": torch.tensor([3.5, 2.5, 2.0])},
                     xlabel="epoch", ylabel="loss", title="curves", logy=True)
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "loss"
    assert ax.get_title() == "curves" and ax.get_yscale() == "log"
    assert [line.get_label() for line in ax.get_lines()] == ["train", "validation"]
    np.testing.assert_allclose(ax.get_lines()[0].get_xdata(), [1, 2, 3])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train", "validation"]


def test_plot_curves_with_x_values_on_a_given_axes():
    _, ax = plt.subplots()
    out = plot_curves({"only": [1.0, 4.0]}, x=[10, 100], ax=ax, logx=True)
    assert out is ax and ax.get_xscale() == "log"
    np.testing.assert_allclose(ax.get_lines()[0].get_xdata(), [10, 100])
    assert ax.get_legend() is None  # one curve needs no legend


def test_the_default_colour_cycle_is_okabe_ito_with_a_line_style_each():
    cycle = BOOK_RC["axes.prop_cycle"].by_key()
    assert [c.upper() for c in cycle["color"]] == [
        "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
    assert list(OKABE_ITO) == cycle["color"]
    assert len({str(style) for style in cycle["linestyle"]}) == len(cycle["color"])
    _, ax = plt.subplots()
    lines = [ax.plot([0, 1], [i, i])[0] for i in range(3)]  # what pyplot draws by default
    assert [line.get_color() for line in lines] == list(OKABE_ITO[:3])
    assert len({line.get_linestyle() for line in lines}) == 3


def test_no_red_green_pair_in_the_colour_cycle():
    assert red_green_pairs(BOOK_RC["axes.prop_cycle"].by_key()["color"]) == []


def test_the_red_green_check_finds_matplotlibs_default_green_and_red():
    pairs = red_green_pairs(["tab:green", "tab:red", "tab:orange"])
    assert {(a, b) for a, b, _, _ in pairs} == {("tab:green", "tab:red"),
                                                ("tab:green", "tab:orange")}, pairs
