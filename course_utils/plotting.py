"""Plotting helpers with one style for the whole course.

Every helper returns the matplotlib figure (so a notebook can save or tweak it),
labels its axes and draws a legend when there is more than one curve. Call
:func:`use_course_style` once in a notebook's set-up cell.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import matplotlib

import matplotlib.pyplot as plt
import numpy as np
import torch

__all__ = [
    "STYLE_FILE",
    "use_course_style",
    "plot_curves",
    "plot_losses",
    "show_images",
    "plot_trajectories",
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


def _smooth(values: Sequence[float], window: int) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if window <= 1 or len(values) < window:
        return values
    kernel = np.ones(window) / window
    return np.convolve(values, kernel, mode="valid")


def plot_losses(history, *, smooth: int = 1, title: str = "Training losses", probs=True):
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
        y = _smooth(values, smooth)
        ax.plot(steps[len(steps) - len(y):], y, label=label)
    ax.set_xlabel("generator step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend()
    if show_probs:
        ax = axes[0, 1]
        for label, values in (("D(x), real", history.D_real), ("D(G(z)), fake", history.D_fake)):
            y = _smooth(values, smooth)
            ax.plot(steps[len(steps) - len(y):], y, label=label)
        ax.axhline(0.5, color="grey", lw=1, ls="--", label="0.5 (equilibrium)")
        ax.set_ylim(0, 1)
        ax.set_xlabel("generator step")
        ax.set_ylabel("mean discriminator output")
        ax.set_title("Discriminator on real and fake batches")
        ax.legend()
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
        grid[:, y0:y0 + h, x0:x0 + w] = (np.clip(images[i], -1, 1) + 1) / 2
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
