"""Numbers that measure generated point clouds against a mixture of Gaussian modes.

Introduced in 03_point_cloud_gan (Wasserstein-1 to held-out points, from
:mod:`course_utils.divergences`); the mode statistics are the protocol of the
unrolled-GAN, VEEGAN and PacGAN papers for the ring of 8 and the grid of 25
Gaussians of :mod:`course_utils.toy`, written for the mode-collapse notebook (04)
and WGAN-GP (08):

* each sample's **nearest mode**;
* the **high-quality** share: samples within ``k`` = 3 standard deviations of
  their nearest centre;
* **modes captured** (the published rule): modes with at least one
  high-quality sample nearest to them; and a stricter count, modes whose
  high-quality samples make up at least ``min_share`` = 1 % of all samples;
* the **KL divergence to uniform** of the histogram of nearest modes.

Samples and centres are (N, 2) arrays or tensors (any dimension works).
"""

from __future__ import annotations

import numpy as np
import torch

from course_utils.divergences import wasserstein_1d, wasserstein_2d
from course_utils.metrics._common import kl_to_uniform

__all__ = [
    "nearest_mode",
    "high_quality",
    "mode_histogram",
    "modes_captured",
    "evaluate_points",
    "kl_to_uniform",
    "wasserstein_1d",
    "wasserstein_2d",
]


def _points(x, name: str) -> np.ndarray:
    a = x.detach().cpu().numpy() if torch.is_tensor(x) else np.asarray(x)
    a = a.astype(np.float64)
    if a.ndim != 2 or len(a) == 0:
        raise ValueError(f"{name} must be a non-empty (N, d) array, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contain NaN or infinite values")
    return a


def nearest_mode(samples, centres) -> tuple[np.ndarray, np.ndarray]:
    """(index of the nearest centre, distance to it) for every sample."""
    x, c = _points(samples, "samples"), _points(centres, "centres")
    if x.shape[1] != c.shape[1]:
        raise ValueError(f"samples have {x.shape[1]} coordinates, centres {c.shape[1]}")
    d2 = ((x[:, None, :] - c[None, :, :]) ** 2).sum(-1)
    index = d2.argmin(1)
    return index, np.sqrt(d2[np.arange(len(x)), index])


def _check_sigma(sigma, k) -> None:
    for name, v in (("sigma", sigma), ("k", k)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
            raise ValueError(f"{name} must be a number > 0, got {v!r}")


def high_quality(samples, centres, sigma: float, k: float = 3.0) -> np.ndarray:
    """Boolean mask: is each sample within ``k * sigma`` of its nearest centre?"""
    _check_sigma(sigma, k)
    _, distance = nearest_mode(samples, centres)
    return distance <= k * sigma


def mode_histogram(samples, centres, high_quality_only: bool = False,
                   sigma: float | None = None, k: float = 3.0) -> np.ndarray:
    """How many samples are nearest to each centre (optionally: only the
    high-quality ones, which needs ``sigma``)."""
    index, distance = nearest_mode(samples, centres)
    n_modes = len(_points(centres, "centres"))
    if high_quality_only:
        if sigma is None:
            raise ValueError("high_quality_only needs sigma")
        _check_sigma(sigma, k)
        index = index[distance <= k * sigma]
    return np.bincount(index, minlength=n_modes)


def modes_captured(samples, centres, sigma: float, k: float = 3.0,
                   min_share: float = 0.0) -> int:
    """Modes captured: with ``min_share = 0`` (the published rule) a mode counts
    when at least one high-quality sample is nearest to it; with ``min_share``
    = 0.01, when its high-quality samples are at least 1 % of all samples."""
    if not 0.0 <= min_share < 1.0:
        raise ValueError(f"min_share must be in [0, 1), got {min_share!r}")
    counts = mode_histogram(samples, centres, True, sigma, k)
    n = len(_points(samples, "samples"))
    if min_share == 0.0:
        return int((counts > 0).sum())
    return int((counts >= min_share * n).sum())


def evaluate_points(samples, centres, sigma: float, k: float = 3.0,
                    min_share: float = 0.01) -> dict:
    """All mode statistics at once: ``modes`` (published rule), ``modes_strict``
    (at least ``min_share`` of the samples), ``hq`` (high-quality share),
    ``kl`` (nearest-mode histogram to uniform), ``n`` (samples) and
    ``histogram`` (nearest-mode counts)."""
    counts = mode_histogram(samples, centres)
    return {
        "modes": modes_captured(samples, centres, sigma, k),
        "modes_strict": modes_captured(samples, centres, sigma, k, min_share),
        "hq": float(high_quality(samples, centres, sigma, k).mean()),
        "kl": kl_to_uniform(counts),
        "n": int(counts.sum()),
        "histogram": counts,
    }
