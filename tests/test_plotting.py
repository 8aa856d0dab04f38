import matplotlib.pyplot as plt
import pytest
import numpy as np
import torch

from course_utils import plotting, train


def test_style_file_applies():
    plotting.use_course_style()
    assert plt.rcParams["axes.grid"] is True


def test_plot_curves_labels_axes_and_legend():
    fig = plotting.plot_curves(
        [1, 2, 3],
        {"a": [1, 2, 3], "b": [3, 2, 1]},
        xlabel="step",
        ylabel="loss",
        title="t",
    )
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("step", "loss", "t")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
    plt.close(fig)


def test_plot_losses_two_panels_with_probabilities():
    h = train.History(
        steps=[1, 2, 3],
        loss_D=[1.0, 1.1, 1.2],
        loss_G=[0.7, 0.6, 0.8],
        D_real=[0.6, 0.55, 0.5],
        D_fake=[0.4, 0.45, 0.5],
    )
    fig = plotting.plot_losses(h)
    assert len(fig.axes) == 2
    assert all(ax.get_xlabel() and ax.get_ylabel() for ax in fig.axes)
    plt.close(fig)


def test_show_images_grid():
    fig = plotting.show_images(torch.rand(10, 1, 28, 28) * 2 - 1, nrow=5, title="x")
    image = fig.axes[0].images[0].get_array()
    assert image.shape == (2 * 30 + 2, 5 * 30 + 2)
    plt.close(fig)


def test_plot_trajectories():
    fig = plotting.plot_trajectories({"a": np.zeros((5, 2))}, title="orbit")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "x" and ax.get_ylabel() == "y"
    plt.close(fig)


def test_plot_class_histograms_draws_one_bar_set_per_histogram():
    import numpy as np

    from course_utils import plotting

    fig = plotting.plot_class_histograms(
        {"real": np.full(10, 0.1), "generated": np.arange(10) + 1.0})
    ax = fig.axes[0]
    assert len(ax.patches) == 20
    heights = [p.get_height() for p in ax.patches[10:]]
    assert abs(sum(heights) - 1) < 1e-9  # counts are normalised
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    with pytest.raises(ValueError, match="10 class shares"):
        plotting.plot_class_histograms({"x": np.ones(9)})
