"""Tests of the toy-data plots appended to course_utils.plotting."""

import re
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from IPython.display import HTML  # noqa: E402

from course_utils import models, plotting, toy  # noqa: E402

BOUNDS = (-2.0, 3.0, -1.5, 2.0)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _labelled(ax):
    return ax.get_xlabel() != "" and ax.get_ylabel() != ""


def test_plot_densities_labels_both_axes():
    p, q = toy.Gaussian(0, 1), toy.Gaussian(1.5, 0.7)
    x = torch.linspace(-4, 5, 200, dtype=torch.float64)
    d_star = p.pdf(x) / (p.pdf(x) + q.pdf(x))
    fig = plotting.plot_densities(
        x, {"p_data": p.pdf(x), "p_g": q.pdf(x)}, {"D*": d_star, "D": d_star * 0.9},
        title="t", shade=(-2.0, 3.0),
    )
    assert isinstance(fig, matplotlib.figure.Figure)
    ax, ax_d = fig.axes
    assert _labelled(ax) and ax_d.get_ylabel() == "D(x)"
    assert ax_d.get_ylim()[0] < 0.01 and ax_d.get_ylim()[1] > 0.99
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"p_data", "p_g", "D*", "D", "bulk of the data"} <= set(labels)
    # densities only, drawn into a given axis
    fig2, ax2 = plt.subplots()
    assert plotting.plot_densities(x, {"p": p.pdf(x)}, ax=ax2) is fig2
    assert _labelled(ax2)


def test_decision_surface_is_a_probability_grid():
    net_D = models.mlp_discriminator(2, (8,))
    surface = plotting.decision_surface(net_D, BOUNDS, resolution=30)
    assert surface.shape == (30, 30)
    assert ((surface > 0) & (surface < 1)).all()
    # bottom-left corner of the grid is (xmin, ymin)
    corner = torch.sigmoid(net_D(torch.tensor([[BOUNDS[0], BOUNDS[2]]]))).item()
    assert surface[0, 0] == pytest.approx(corner, abs=1e-6)
    corner = torch.sigmoid(net_D(torch.tensor([[BOUNDS[1], BOUNDS[2]]]))).item()
    assert surface[0, -1] == pytest.approx(corner, abs=1e-6)
    assert net_D.training  # the mode is restored


def test_plot_decision_surface_from_network_or_array():
    net_D = models.mlp_discriminator(2, (8,))
    real = toy.double_moons(300, generator=0)
    fake = torch.randn(300, 2)
    fig = plotting.plot_decision_surface(net_D, real, fake, bounds=BOUNDS, title="D")
    ax = fig.axes[0]
    assert _labelled(ax) and ax.get_title() == "D"
    assert fig.axes[1].get_ylabel() == "D(x)"  # the colour bar
    surface = plotting.decision_surface(net_D, BOUNDS, resolution=20)
    fig = plotting.plot_decision_surface(surface, real, None, bounds=BOUNDS,
                                         colorbar=False)
    assert len(fig.axes) == 1 and _labelled(fig.axes[0])


def test_plot_training_frames_with_and_without_surfaces():
    net_D = models.mlp_discriminator(2, (8,))
    real = toy.double_moons(200, generator=0)
    surf = plotting.decision_surface(net_D, BOUNDS, resolution=20)
    frames = [(s, torch.randn(100, 2), surf) for s in range(0, 1000, 100)]
    fig = plotting.plot_training_frames(frames, real, bounds=BOUNDS, num_panels=4)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["step 0", "step 300", "step 600", "step 900"]
    assert all(ax.get_xlabel() for ax in fig.axes) and fig.axes[0].get_ylabel()
    fig = plotting.plot_training_frames([(0, torch.randn(50, 2))], real, bounds=BOUNDS)
    assert len(fig.axes) == 1 and _labelled(fig.axes[0])
    with pytest.raises(ValueError):
        plotting.plot_training_frames([], real)


from course_utils.instructor.site import external_fetches  # noqa: E402


def test_animate_training_returns_html_and_saves_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    net_D = models.mlp_discriminator(2, (8,))
    surf = plotting.decision_surface(net_D, BOUNDS, resolution=10)
    frames = [(s, torch.randn(50, 2), surf) for s in (0, 10, 20)]
    before = len(plt.get_fignums())
    html = plotting.animate_training(frames, toy.double_moons(50, generator=0),
                                     bounds=BOUNDS)
    assert isinstance(html, HTML)
    assert "<script" in html.data
    # one embedded image per frame, no more
    assert sorted(set(re.findall(r"frames\[(\d+)\]", html.data))) == ["0", "1", "2"]
    assert len(plt.get_fignums()) == before  # the figure was closed
    assert list(tmp_path.iterdir()) == []  # nothing written
    # the player works offline: no style sheet from a CDN, icons as characters
    assert external_fetches(html.data) == []
    assert 'class="fa ' not in html.data and "\u25b6" in html.data
    html = plotting.animate_training([(0, np.zeros((5, 2))), (1, np.ones((5, 2)))])
    assert isinstance(html, HTML)


def test_animate_training_draws_at_most_max_frames_first_and_last_included():
    frames = [(step, np.full((5, 2), float(step))) for step in range(40)]
    html = plotting.animate_training(frames, max_frames=5)
    drawn = set(re.findall(r"frames\[(\d+)\]", html.data))
    assert drawn == {"0", "1", "2", "3", "4"}
    every = plotting.animate_training(frames[:7], max_frames=None)
    assert len(set(re.findall(r"frames\[(\d+)\]", every.data))) == 7
    for bad in (1, 0, 2.5, True, "3"):
        with pytest.raises(ValueError, match="max_frames"):
            plotting.animate_training(frames, max_frames=bad)


def test_offline_jshtml_replaces_every_icon_of_matplotlibs_player():
    from matplotlib import animation

    fig, ax = plt.subplots()
    (line,) = ax.plot([0, 1], [0, 1])
    anim = animation.FuncAnimation(fig, lambda i: (line,), frames=2)
    raw = anim.to_jshtml()
    plt.close(fig)
    assert external_fetches(raw)  # matplotlib's own output fetches Font Awesome
    icons = set(re.findall(r'<i class="fa ([^"]+)"></i>', raw))
    assert icons and icons <= set(plotting._ANIMATION_ICONS)
    html = plotting.offline_jshtml(raw)
    assert external_fetches(html) == [] and "<i class=" not in html
    assert html.count("<button") == raw.count("<button")


def test_existing_helpers_are_still_exported():
    for name in ("use_course_style", "plot_curves", "plot_losses", "plot_densities",
                 "decision_surface", "plot_decision_surface", "plot_training_frames",
                 "animate_training"):
        assert name in plotting.__all__ and hasattr(plotting, name)


def test_draw_noise_mapping_points_each_arrow_at_its_quantile():
    g = toy.Gaussian(0.5, 0.9)
    x = torch.linspace(-4, 4, 201, dtype=torch.float64)
    fig = plotting.plot_densities(x, {"p_g": g.pdf(x)})
    ax = fig.axes[0]
    top = ax.get_ylim()[1]
    assert plotting.draw_noise_mapping(ax, g.quantile, num_lines=5) is ax
    arrows = [c for c in ax.get_children() if isinstance(c, matplotlib.text.Annotation)]
    assert len(arrows) == 5
    ends = [a.xy[0] for a in arrows]
    z = torch.linspace(0.03, 0.97, 5, dtype=torch.float64)
    assert ends == pytest.approx(g.quantile(z).tolist())
    assert all(a.xy[1] == 0 and a.xyann[1] == pytest.approx(-0.3 * top) for a in arrows)
    assert ax.get_ylim()[0] < -0.3 * top and all(t >= 0 for t in ax.get_yticks())
    with pytest.raises(ValueError, match="num_lines"):
        plotting.draw_noise_mapping(ax, g.quantile, num_lines=1)


def test_gaussian_quantile_inverts_the_cdf():
    g = toy.Gaussian(-1.0, 2.5)
    u = torch.tensor([1e-6, 0.025, 0.5, 0.8, 1 - 1e-6], dtype=torch.float64)
    assert torch.allclose(g.cdf(g.quantile(u)), u, atol=1e-12)
    assert g.quantile(torch.tensor(0.975)).item() == pytest.approx(-1 + 2.5 * 1.959964)
    with pytest.raises(ValueError, match="between 0 and 1"):
        g.quantile(torch.tensor([0.0, 0.5]))
