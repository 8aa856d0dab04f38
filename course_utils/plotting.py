"""Plotting helpers with one style for the whole course (introduced in 01_minimax_game).

Every helper returns the matplotlib figure (so a notebook can save or tweak it),
labels its axes and draws a legend when there is more than one curve. Call
:func:`use_course_style` once in a notebook's set-up cell.
"""

from __future__ import annotations

import re

from pathlib import Path
from typing import Optional, Sequence


import matplotlib.pyplot as plt
import numpy as np
import torch

from course_utils.utils import eval_mode

__all__ = [
    "STYLE_FILE",
    "use_course_style",
    "plot_curves",
    "plot_losses",
    "moving_average",
    "show_images",
    "plot_trajectories",
    "plot_class_histograms",
]

STYLE_FILE = Path(__file__).with_name("course.mplstyle")


def use_course_style() -> None:
    """Apply the course's matplotlib style. Introduced in 01_minimax_game."""
    plt.style.use(str(STYLE_FILE))


def _to_numpy(values) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().numpy()
    return np.asarray(values)


def plot_curves(
    x,
    curves: dict,
    *,
    xlabel: str,
    ylabel: str,
    title: Optional[str] = None,
    ax=None,
    logy: bool = False,
    styles: Optional[dict] = None,
):
    """Plot several named curves against ``x`` on one labelled axis.

    ``curves`` maps a legend label to y-values; ``styles`` optionally maps a label
    to keyword arguments for ``ax.plot``. Introduced in 01_minimax_game.
    """
    if ax is None:
        fig, ax = plt.subplots()
    else:
        fig = ax.figure
    x = _to_numpy(x)
    styles = styles or {}
    for label, y in curves.items():
        ax.plot(x, _to_numpy(y), label=label, **styles.get(label, {}))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if logy:
        ax.set_yscale("log")
    if len(curves) > 1:
        ax.legend()
    return fig


def moving_average(values: Sequence[float], window: int) -> np.ndarray:
    """The mean of each run of ``window`` consecutive values (``len - window + 1``
    of them); the values unchanged when ``window <= 1`` or there are fewer than
    ``window``. Introduced in 01_minimax_game (loss curves), used in 08_wgan."""
    values = np.asarray(values, dtype=float)
    if window <= 1 or len(values) < window:
        return values
    kernel = np.ones(window) / window
    return np.convolve(values, kernel, mode="valid")


def plot_losses(
    history, *, smooth: int = 1, title: str = "Training losses", probs=True
):
    """Loss curves of a :class:`course_utils.train.History`.

    With ``probs`` and when the history has them, a second panel shows the mean
    D(x) on real and D(G(z)) on fake batches. ``smooth`` is a moving-average
    window in steps. Introduced in 01_minimax_game.
    """
    show_probs = probs and len(history.D_real) > 0
    ncols = 2 if show_probs else 1
    fig, axes = plt.subplots(1, ncols, figsize=(6.4 * ncols * 0.8, 3.6), squeeze=False)
    ax = axes[0, 0]
    steps = np.asarray(history.steps)
    for label, values in (("loss_D", history.loss_D), ("loss_G", history.loss_G)):
        y = moving_average(values, smooth)
        ax.plot(steps[len(steps) - len(y) :], y, label=label)
    ax.set_xlabel("generator step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend()
    if show_probs:
        ax = axes[0, 1]
        for label, values in (
            ("D(x), real", history.D_real),
            ("D(G(z)), fake", history.D_fake),
        ):
            y = moving_average(values, smooth)
            ax.plot(steps[len(steps) - len(y) :], y, label=label)
        ax.axhline(0.5, color="grey", lw=1, ls="--", label="0.5 (equilibrium)")
        ax.set_ylim(0, 1)
        ax.set_xlabel("generator step")
        ax.set_ylabel("mean discriminator output")
        ax.set_title("Discriminator on real and fake batches")
        ax.legend()
    return fig


def plot_class_histograms(
    histograms: dict, title: str = "Which digits are made?", ax=None
):
    """Bar chart of class shares (10 digits), several sets side by side.

    ``histograms`` maps a label ("held-out real", "generated") to 10 shares
    (or counts, normalised here). A dashed line marks the uniform 1/10.
    Introduced in 06_dcgan.
    """
    if not histograms:
        raise ValueError("give at least one histogram")
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.4, 3.2))
    else:
        fig = ax.figure
    width = 0.8 / len(histograms)
    for i, (label, values) in enumerate(histograms.items()):
        v = _to_numpy(values).astype(float)
        if v.shape != (10,):
            raise ValueError(f"{label}: expected 10 class shares, got shape {v.shape}")
        v = v / v.sum()
        offset = (i - (len(histograms) - 1) / 2) * width
        ax.bar(np.arange(10) + offset, v, width=width, label=label)
    ax.axhline(0.1, color="grey", ls="--", lw=1, label="uniform")
    ax.set_xticks(range(10))
    ax.set_xlabel("digit predicted by the classifier")
    ax.set_ylabel("share of images")
    ax.set_title(title)
    top = max(p.get_height() for p in ax.patches)
    ax.set_ylim(0, max(top, 0.1) * 1.3)  # room for the legend above the bars
    ax.legend(fontsize=8, loc="upper center", ncol=len(histograms) + 1)
    return fig


def show_images(
    images,
    *,
    nrow: int = 8,
    title: Optional[str] = None,
    row_labels: Optional[Sequence[str]] = None,
    scale: float = 0.7,
    ax=None,
):
    """Show a grid of images given as a tensor (N, C, H, W) with values in [-1, 1].

    Introduced in 06_dcgan.
    """
    images = _to_numpy(images)
    if images.ndim == 3:
        images = images[:, None]
    n, c, h, w = images.shape
    ncol = min(nrow, n)
    nrows = int(np.ceil(n / ncol))
    pad = 2
    grid = np.ones((c, nrows * (h + pad) + pad, ncol * (w + pad) + pad), dtype=float)
    for i in range(n):
        r, col = divmod(i, ncol)
        y0, x0 = pad + r * (h + pad), pad + col * (w + pad)
        grid[:, y0 : y0 + h, x0 : x0 + w] = (np.clip(images[i], -1, 1) + 1) / 2
    if ax is None:
        fig, ax = plt.subplots(figsize=(scale * ncol + 0.4, scale * nrows + 0.4))
    else:
        fig = ax.figure
    if c == 1:
        ax.imshow(grid[0], cmap="gray", vmin=0, vmax=1)
    else:
        ax.imshow(grid.transpose(1, 2, 0))
    ax.set_xticks([])
    ax.grid(False)
    if row_labels is not None:
        ax.set_yticks([pad + r * (h + pad) + h / 2 for r in range(nrows)])
        ax.set_yticklabels(list(row_labels)[:nrows])
    else:
        ax.set_yticks([])
    if title:
        ax.set_title(title)
    return fig


def plot_trajectories(
    trajectories: dict,
    *,
    xlabel: str = "x",
    ylabel: str = "y",
    title: Optional[str] = None,
    ax=None,
    equilibrium=(0.0, 0.0),
):
    """Plot 2-D parameter trajectories (arrays of shape (T, 2)) with start markers.

    Used for the bilinear game of 01_minimax_game.
    """
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.8, 4.6))
    else:
        fig = ax.figure
    for label, traj in trajectories.items():
        traj = _to_numpy(traj)
        (line,) = ax.plot(traj[:, 0], traj[:, 1], marker=".", ms=3, lw=1, label=label)
        ax.plot(traj[0, 0], traj[0, 1], "o", color=line.get_color(), ms=6)
    if equilibrium is not None:
        ax.plot(*equilibrium, "k*", ms=10, label="equilibrium")
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(loc="upper right", fontsize=8)
    return fig


# ---------------------------------------------------------------------------
# Toy-data plots (02_optimal_discriminator, 03_point_cloud_gan)
# ---------------------------------------------------------------------------

__all__ += [
    "plot_densities",
    "decision_surface",
    "plot_decision_surface",
    "plot_training_frames",
    "animate_training",
    "offline_jshtml",
    "draw_noise_mapping",
]

_DENSITY_STYLES = ({"color": "black", "ls": ":"}, {"color": "tab:green"})
_D_STYLES = ({"color": "tab:blue", "ls": "--"}, {"color": "tab:orange", "ls": "-"})


def plot_densities(
    x,
    densities: dict,
    discriminators: Optional[dict] = None,
    *,
    title: Optional[str] = None,
    ax=None,
    shade: Optional[tuple] = None,
    shade_label: str = "bulk of the data",
    styles: Optional[dict] = None,
    legend: bool = True,
    legend_loc: str = "upper left",
):
    """1-D densities (left axis) with discriminator curves D(x) (right axis, [0, 1]).

    ``densities`` and ``discriminators`` map a legend label to values at ``x``.
    The first two densities are drawn like Goodfellow's figure 1 (data dotted
    black, generator green) and the first discriminator dashed blue; ``styles``
    overrides any curve's ``ax.plot`` keywords by label. ``shade=(lo, hi)``
    shades an interval, for example the region holding 99% of the mass. A dotted
    grey line marks D = 1/2. Introduced in 02_optimal_discriminator.
    """
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.4, 3.6))
    else:
        fig = ax.figure
    x = _to_numpy(x)
    styles = styles or {}
    handles = []
    for i, (label, y) in enumerate(densities.items()):
        style = dict(_DENSITY_STYLES[i]) if i < len(_DENSITY_STYLES) else {}
        style.update(styles.get(label, {}))
        handles += ax.plot(x, _to_numpy(y), label=label, **style)
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    ax.set_ylim(bottom=0)
    if shade is not None:
        handles.append(
            ax.axvspan(shade[0], shade[1], color="grey", alpha=0.12, label=shade_label)
        )
    if discriminators:
        ax_d = ax.twinx()
        ax_d.grid(False)
        for i, (label, y) in enumerate(discriminators.items()):
            style = dict(_D_STYLES[i]) if i < len(_D_STYLES) else {}
            style.update(styles.get(label, {}))
            handles += ax_d.plot(x, _to_numpy(y), label=label, **style)
        ax_d.axhline(0.5, color="grey", lw=0.8, ls=":")
        ax_d.set_ylim(-0.02, 1.02)
        ax_d.set_yticks([0.0, 0.25, 0.5, 0.75, 1.0])
        ax_d.set_ylabel("D(x)")
        ax_d.spines["right"].set_visible(True)
    if title:
        ax.set_title(title)
    if legend and len(handles) > 1:
        ax.legend(handles=handles, loc=legend_loc, fontsize=8)
    return fig


def draw_noise_mapping(ax, generator, num_lines: int = 16, depth: float = 0.3):
    """Arrows from noise z on a line below the x axis to the points x = G(z).

    ``generator`` maps a float64 tensor of z in (0, 1) to x (for a Gaussian
    generator, ``toy.Gaussian.quantile``: uniform noise pushed through the
    inverse cdf). The z line runs across the middle 90 % of the plot's width,
    ``depth`` times the height of the density axis below 0; the arrows bunch
    where G piles up its mass. Draw the densities first (``plot_densities``).
    Returns ``ax``.
    Introduced in 02_optimal_discriminator.
    """
    if num_lines < 2:
        raise ValueError(f"num_lines must be at least 2, got {num_lines}")
    top = ax.get_ylim()[1]
    left, right = ax.get_xlim()
    z = torch.linspace(0.03, 0.97, num_lines, dtype=torch.float64)
    x_of_z = _to_numpy(generator(z))
    z_line = left + (right - left) * (0.05 + 0.9 * z.numpy())
    for zi, xi in zip(z_line, x_of_z):
        ax.annotate("", xy=(xi, 0), xytext=(zi, -depth * top),
                    arrowprops={"arrowstyle": "->", "color": "grey", "lw": 0.6})
    ax.set_ylim(-(depth + 0.02) * top, top)
    ax.set_yticks([t for t in ax.get_yticks() if 0 <= t <= top])
    ax.set_xlim(left, right)
    return ax


def decision_surface(
    net_D, bounds=(-2.0, 3.0, -1.5, 2.0), resolution: int = 100, logits: bool = True
) -> np.ndarray:
    """D(x) on a ``resolution`` x ``resolution`` grid over ``bounds``.

    ``bounds`` is ``(xmin, xmax, ymin, ymax)``. With ``logits`` the network's
    output is passed through a sigmoid. Returns an array indexed ``[row, col]``
    with rows along y (bottom row first), ready for ``imshow(origin="lower")``.
    Introduced in 03_point_cloud_gan.
    """
    xmin, xmax, ymin, ymax = bounds
    xs = torch.linspace(xmin, xmax, resolution)
    ys = torch.linspace(ymin, ymax, resolution)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    points = torch.stack([grid_x.reshape(-1), grid_y.reshape(-1)], dim=1)
    try:
        param = next(net_D.parameters())
        points = points.to(device=param.device, dtype=param.dtype)
    except StopIteration:
        pass
    with torch.no_grad(), eval_mode(net_D):
        out = net_D(points).reshape(-1)
    if logits:
        out = torch.sigmoid(out)
    return out.reshape(resolution, resolution).cpu().numpy()


def _subsample(points, max_points: Optional[int]) -> np.ndarray:
    points = _to_numpy(points)
    if max_points is not None and len(points) > max_points:
        points = points[:max_points]
    return points


def _show_surface(ax, surface, bounds):
    """D's probabilities as a heat map on ``bounds``, red where D says real."""
    return ax.imshow(
        surface,
        origin="lower",
        extent=bounds,
        vmin=0,
        vmax=1,
        cmap="RdBu_r",
        alpha=0.75,
        aspect="auto",
    )


def plot_decision_surface(
    D,
    real=None,
    fake=None,
    *,
    bounds=(-2.0, 3.0, -1.5, 2.0),
    resolution: int = 100,
    logits: bool = True,
    title: Optional[str] = None,
    ax=None,
    colorbar: bool = True,
    max_points: Optional[int] = 1000,
    legend: bool = True,
):
    """Real and generated 2-D points over a heat map of the discriminator.

    ``D`` is a network (evaluated with :func:`decision_surface`) or an array
    that function returned. Bright means "real" (D near 1), dark "fake". At
    most ``max_points`` points of each set are drawn. Introduced in
    03_point_cloud_gan.
    """
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.2, 4.0))
    else:
        fig = ax.figure
    surface = (
        D
        if isinstance(D, np.ndarray)
        else decision_surface(D, bounds, resolution, logits)
    )
    image = _show_surface(ax, surface, bounds)
    if real is not None:
        real = _subsample(real, max_points)
        ax.scatter(real[:, 0], real[:, 1], s=3, c="black", alpha=0.5, label="real")
    if fake is not None:
        fake = _subsample(fake, max_points)
        ax.scatter(
            fake[:, 0], fake[:, 1], s=3, c="gold", edgecolors="none", label="generated"
        )
    ax.set_xlim(bounds[0], bounds[1])
    ax.set_ylim(bounds[2], bounds[3])
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.grid(False)
    if colorbar:
        fig.colorbar(image, ax=ax, label="D(x)")
    if title:
        ax.set_title(title)
    if legend and real is not None and fake is not None:
        ax.legend(loc="upper right", fontsize=8, markerscale=3)
    return fig


def _frame_parts(frame):
    if len(frame) == 2:
        return frame[0], frame[1], None
    if len(frame) == 3:
        return frame
    raise ValueError("a frame is (step, samples) or (step, samples, surface)")


def plot_training_frames(
    frames,
    real=None,
    *,
    bounds=(-2.0, 3.0, -1.5, 2.0),
    num_panels: int = 4,
    max_points: Optional[int] = 1000,
    title: Optional[str] = None,
):
    """A row of panels: generated points (and D's heat map) at several moments.

    ``frames`` is a list of ``(step, samples)`` (like ``History.snapshots``) or
    ``(step, samples, surface)`` with a surface from :func:`decision_surface`;
    ``num_panels`` frames spread evenly from first to last are drawn.
    Introduced in 03_point_cloud_gan.
    """
    if not frames:
        raise ValueError("no frames to plot")
    count = min(num_panels, len(frames))
    picks = np.unique(np.linspace(0, len(frames) - 1, count).round().astype(int))
    fig, axes = plt.subplots(
        1, len(picks), figsize=(3.0 * len(picks), 3.0), squeeze=False, sharey=True
    )
    for ax, index in zip(axes[0], picks):
        step, samples, surface = _frame_parts(frames[index])
        if surface is not None:
            plot_decision_surface(
                surface,
                real,
                samples,
                bounds=bounds,
                ax=ax,
                colorbar=False,
                max_points=max_points,
                title=f"step {step}",
                legend=False,
            )
        else:
            _scatter_frame(ax, real, samples, bounds, max_points)
            ax.set_title(f"step {step}")
        if index != picks[0]:
            ax.set_ylabel("")
    if title:
        fig.suptitle(title)
    return fig


def _scatter_frame(ax, real, samples, bounds, max_points):
    if real is not None:
        real = _subsample(real, max_points)
        ax.scatter(real[:, 0], real[:, 1], s=3, c="black", alpha=0.3, label="real")
    samples = _subsample(samples, max_points)
    ax.scatter(samples[:, 0], samples[:, 1], s=3, c="tab:orange", label="generated")
    ax.set_xlim(bounds[0], bounds[1])
    ax.set_ylim(bounds[2], bounds[3])
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")


def animate_training(
    frames,
    real=None,
    *,
    bounds=(-2.0, 3.0, -1.5, 2.0),
    interval: int = 200,
    max_points: Optional[int] = 1000,
    title: str = "Training",
    save_to: Optional[str] = None,
    max_frames: Optional[int] = 21,
):
    """An HTML/JavaScript animation of training frames, for display in a notebook.

    ``frames`` is as in :func:`plot_training_frames`; each frame shows the
    generated points, the real points in grey and, when the frame has one, the
    discriminator's heat map. At most ``max_frames`` frames are drawn, evenly
    spaced, the first and the last always among them (``None``: every frame);
    each drawn frame costs a rendering and about 0.2 MB of the notebook. Returns an ``IPython.display.HTML`` object built
    by matplotlib's ``to_jshtml`` (the last expression of a cell displays it).
    Nothing is written to disk unless ``save_to`` names a file (``.html`` or,
    with the ``pillow`` package, ``.gif``). The figure is closed so it is not
    displayed a second time. Introduced in 03_point_cloud_gan.
    """
    from IPython.display import HTML
    from matplotlib import animation

    if not frames:
        raise ValueError("no frames to animate")
    if max_frames is not None:
        if isinstance(max_frames, bool) or not isinstance(max_frames, int) \
                or max_frames < 2:
            raise ValueError(f"max_frames must be an int >= 2 or None, got {max_frames!r}")
        if len(frames) > max_frames:
            keep = np.linspace(0, len(frames) - 1, max_frames).round().astype(int)
            frames = [frames[i] for i in keep]
    fig, ax = plt.subplots(figsize=(5.2, 4.0))
    _, first, surface = _frame_parts(frames[0])
    image = None
    if surface is not None:
        image = _show_surface(ax, surface, bounds)
        fig.colorbar(image, ax=ax, label="D(x)")
    if real is not None:
        pts = _subsample(real, max_points)
        ax.scatter(pts[:, 0], pts[:, 1], s=3, c="black", alpha=0.3, label="real")
    pts = _subsample(first, max_points)
    fake_plot = ax.scatter(
        pts[:, 0],
        pts[:, 1],
        s=3,
        c="gold" if image else "tab:orange",
        label="generated",
    )
    ax.set_xlim(bounds[0], bounds[1])
    ax.set_ylim(bounds[2], bounds[3])
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.grid(False)
    ax.legend(loc="upper right", fontsize=8, markerscale=3)

    def update(i):
        step, samples, surf = _frame_parts(frames[i])
        fake_plot.set_offsets(_subsample(samples, max_points))
        if image is not None and surf is not None:
            image.set_data(surf)
        ax.set_title(f"{title}: step {step}")
        return (fake_plot,) if image is None else (fake_plot, image)

    update(0)
    # Lay the figure out once: the frames change data only, so the constrained
    # layout would compute the same boxes again for every frame (most of the time).
    fig.canvas.draw()
    fig.set_layout_engine("none")
    anim = animation.FuncAnimation(
        fig, update, frames=len(frames), interval=interval, blit=False
    )
    if save_to is not None:
        writer = "pillow" if str(save_to).endswith(".gif") else "html"
        anim.save(save_to, writer=writer)
    html = HTML(offline_jshtml(anim.to_jshtml()))
    plt.close(fig)
    return html


# matplotlib's animation controls draw their icons with Font Awesome, fetched
# from a CDN; offline the buttons would be blank. Plain characters instead.
_ANIMATION_ICONS = {
    "fa-minus": "\u2212",  # slower
    "fa-fast-backward": "|\u25c1",  # first frame
    "fa-step-backward": "\u25c1",  # previous frame
    "fa-play fa-flip-horizontal": "\u25c0",  # play backwards
    "fa-pause": "\u275a\u275a",
    "fa-play": "\u25b6",
    "fa-step-forward": "\u25b7",  # next frame
    "fa-fast-forward": "\u25b7|",  # last frame
    "fa-plus": "+",  # faster
}


def offline_jshtml(html: str) -> str:
    """matplotlib's ``to_jshtml`` output without its Font Awesome style sheet.

    The player's buttons get plain characters for icons, so the animation needs
    no network, in JupyterLab and in the course's offline website alike.
    Introduced in 03_point_cloud_gan.
    """
    html = re.sub(r"<link[^>]*font-awesome[^>]*>", "", html, flags=re.IGNORECASE)

    def icon(match):
        return _ANIMATION_ICONS.get(match.group(1).strip(), match.group(0))

    return re.sub(r'<i class="fa ([^"]+)"></i>', icon, html)
