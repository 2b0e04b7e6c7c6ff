"""Unit tests of transformer_book.figures.plotting (headless: the Agg backend)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from transformer_book.figures.plotting import attention_heatmap, plot_curves  # noqa: E402


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
