"""Divergences and distances: by quadrature for 1-D densities, exact for samples.

For densities (introduced in 02_optimal_discriminator) a density is anything that
maps a float64 tensor of points to a tensor of density values: a
:class:`course_utils.toy.Gaussian`, a :class:`~course_utils.toy.GaussianMixture`,
their ``pdf`` method or a plain function. Integrals use the trapezoidal rule on
a fine uniform grid over ``[lower, upper]``; when the bounds are not given, they
are taken from the densities' ``bounds()`` (12 standard deviations around every
component, far beyond where a float64 Gaussian is distinguishable from 0).
Logarithms are natural, so JSD lies in [0, log 2].

For samples (introduced in 03_point_cloud_gan) the Wasserstein-1 distance is
computed exactly: in 1-D from sorted samples, in 2-D by solving the optimal
assignment between two equal-size point sets.
"""

from __future__ import annotations

import math
from typing import Callable, Optional, Union

import numpy as np
import torch

__all__ = [
    "quadrature_grid",
    "integrate",
    "kl_divergence",
    "js_divergence",
    "optimal_discriminator",
    "value_function",
    "wasserstein_1d",
    "wasserstein_2d",
]

Density = Callable[[torch.Tensor], torch.Tensor]
DEFAULT_POINTS = 200_001


def _bounds_of(*densities) -> tuple[float, float]:
    lows, highs = [], []
    for p in densities:
        owner = getattr(p, "__self__", p)  # a bound method like g.pdf
        if not hasattr(owner, "bounds"):
            raise ValueError(
                "give lower and upper: the densities do not say where their mass is "
                "(plain functions have no bounds())"
            )
        lo, hi = owner.bounds()
        lows.append(lo)
        highs.append(hi)
    return min(lows), max(highs)


def quadrature_grid(
    *densities,
    lower: Optional[float] = None,
    upper: Optional[float] = None,
    num_points: int = DEFAULT_POINTS,
) -> torch.Tensor:
    """A uniform float64 grid over ``[lower, upper]``, by default the densities'
    ``bounds()``."""
    if lower is None or upper is None:
        lo, hi = _bounds_of(*densities)
        lower = lo if lower is None else lower
        upper = hi if upper is None else upper
    if not upper > lower:
        raise ValueError(f"need lower < upper, got [{lower}, {upper}]")
    if num_points < 3:
        raise ValueError(f"num_points must be >= 3, got {num_points}")
    return torch.linspace(
        float(lower), float(upper), int(num_points), dtype=torch.float64
    )


def integrate(values: torch.Tensor, x: torch.Tensor) -> float:
    """The trapezoidal-rule integral of ``values`` sampled at the points ``x``."""
    return float(torch.trapezoid(torch.as_tensor(values, dtype=torch.float64), x))


def _pdf_values(p: Density, x: torch.Tensor) -> torch.Tensor:
    values = torch.as_tensor(p(x), dtype=torch.float64)
    if values.shape != x.shape:
        raise ValueError(
            f"a density returned shape {tuple(values.shape)} for "
            f"{tuple(x.shape)} points"
        )
    if bool((values < 0).any()) or not bool(torch.isfinite(values).all()):
        raise ValueError("a density returned negative or non-finite values")
    return values


def _log_values(p: Density, x: torch.Tensor) -> torch.Tensor:
    """log p(x), from the density's ``log_pdf`` when it has one (no underflow)."""
    owner = getattr(p, "__self__", p)
    if hasattr(owner, "log_pdf"):
        return torch.as_tensor(owner.log_pdf(x), dtype=torch.float64)
    return torch.log(_pdf_values(p, x))


def kl_divergence(
    p: Density,
    q: Density,
    *,
    lower: Optional[float] = None,
    upper: Optional[float] = None,
    num_points: int = DEFAULT_POINTS,
) -> float:
    """KL(p || q) = integral of p log(p / q), in nats, by quadrature.

    ``0 log(0 / q) = 0``; where p > 0 and q = 0 the divergence is infinite and
    ``math.inf`` is returned. Densities with a ``log_pdf`` method (the ones of
    :mod:`course_utils.toy`) are evaluated in log space, so far tails do not
    underflow to 0. Introduced in 02_optimal_discriminator.
    """
    x = quadrature_grid(p, q, lower=lower, upper=upper, num_points=num_points)
    px = _pdf_values(p, x)
    log_p, log_q = _log_values(p, x), _log_values(q, x)
    if bool(((px > 0) & torch.isneginf(log_q)).any()):
        return math.inf
    integrand = torch.where(px > 0, px * (log_p - log_q), torch.zeros_like(px))
    return integrate(integrand, x)


def js_divergence(
    p: Density,
    q: Density,
    *,
    lower: Optional[float] = None,
    upper: Optional[float] = None,
    num_points: int = DEFAULT_POINTS,
) -> float:
    """JSD(p || q) = KL(p || m) / 2 + KL(q || m) / 2 with m = (p + q) / 2, in nats.

    Always finite, symmetric, 0 exactly when p = q and log 2 when the supports
    are disjoint. Introduced in 02_optimal_discriminator.
    """
    x = quadrature_grid(p, q, lower=lower, upper=upper, num_points=num_points)
    px, qx = _pdf_values(p, x), _pdf_values(q, x)
    total = px + qx
    # p log(p / m) with log m = log(p + q) - log 2, so that m never underflows
    kl_p_m = torch.xlogy(px, px) - torch.xlogy(px, total) + math.log(2.0) * px
    kl_q_m = torch.xlogy(qx, qx) - torch.xlogy(qx, total) + math.log(2.0) * qx
    return integrate(0.5 * (kl_p_m + kl_q_m), x)


def optimal_discriminator(p_data: Density, p_g: Density, x) -> torch.Tensor:
    """D*(x) = p_data(x) / (p_data(x) + p_g(x)), with 1/2 where both are 0.

    Returns a float64 tensor shaped like ``x``. Introduced in
    02_optimal_discriminator.
    """
    x = torch.as_tensor(x, dtype=torch.float64)
    a, b = _pdf_values(p_data, x), _pdf_values(p_g, x)
    total = a + b
    return torch.where(total > 0, a / torch.where(total > 0, total, 1.0), 0.5)


def value_function(
    p_data: Density,
    p_g: Density,
    D: Union[Density, str] = "optimal",
    *,
    logits: bool = False,
    lower: Optional[float] = None,
    upper: Optional[float] = None,
    num_points: int = DEFAULT_POINTS,
) -> float:
    """V(D, G) = integral of p_data log D + p_g log(1 - D), by quadrature.

    ``D`` maps points to probabilities in [0, 1]; with ``logits=True`` it maps
    them to logits t (D = sigmoid(t)), and log D = -softplus(-t),
    log(1 - D) = -softplus(t) are computed without rounding D to 0 or 1. The
    default ``"optimal"`` uses D* in closed form (then V = -log 4 + 2 JSD).
    Terms with zero density weight count as 0 even where log D is -inf.
    Introduced in 01_minimax_game (for a fixed D); D* in 02_optimal_discriminator.
    """
    x = quadrature_grid(p_data, p_g, lower=lower, upper=upper, num_points=num_points)
    a, b = _pdf_values(p_data, x), _pdf_values(p_g, x)
    if isinstance(D, str):
        if D != "optimal":
            raise ValueError(f"D must be a function or 'optimal', got {D!r}")
        total = a + b
        # a log(a / (a + b)) + b log(b / (a + b)), with 0 log 0 = 0
        integrand = (
            torch.xlogy(a, a) - torch.xlogy(a, total) + torch.xlogy(b, b)
            - torch.xlogy(b, total)
        )
    else:
        d = torch.as_tensor(D(x), dtype=torch.float64)
        if d.shape != x.shape:
            raise ValueError(
                f"D returned shape {tuple(d.shape)} for {tuple(x.shape)} points"
            )
        if logits:
            log_d = -torch.nn.functional.softplus(-d)
            log_1md = -torch.nn.functional.softplus(d)
            integrand = torch.where(a > 0, a * log_d, 0.0) + torch.where(
                b > 0, b * log_1md, 0.0
            )
        else:
            if bool(((d < 0) | (d > 1)).any()):
                raise ValueError("D must return probabilities in [0, 1]")
            integrand = torch.xlogy(a, d) + torch.xlogy(b, 1.0 - d)
        if not bool(torch.isfinite(integrand).all()):
            return -math.inf
    return integrate(integrand, x)


# ---------------------------------------------------------------------------
# Wasserstein-1 between samples
# ---------------------------------------------------------------------------


def _as_numpy(samples, name: str) -> np.ndarray:
    if isinstance(samples, torch.Tensor):
        samples = samples.detach().cpu().numpy()
    array = np.asarray(samples, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or inf")
    return array


def wasserstein_1d(x, y) -> float:
    """Exact W1 between the empirical distributions of two 1-D samples.

    For equal sizes it is the mean of |sorted x - sorted y|; in general the
    integral of |F_x - F_y| between the two empirical cdfs. Accepts tensors or
    arrays of shape (n,) or (n, 1). Introduced in 02_optimal_discriminator.
    """
    x = _as_numpy(x, "x").reshape(-1)
    y = _as_numpy(y, "y").reshape(-1)
    if x.size == 0 or y.size == 0:
        raise ValueError("both samples must be non-empty")
    if x.size == y.size:
        return float(np.mean(np.abs(np.sort(x) - np.sort(y))))
    points = np.sort(np.concatenate([x, y]))
    widths = np.diff(points)
    cdf_x = np.searchsorted(np.sort(x), points[:-1], side="right") / x.size
    cdf_y = np.searchsorted(np.sort(y), points[:-1], side="right") / y.size
    return float(np.sum(np.abs(cdf_x - cdf_y) * widths))


def wasserstein_2d(X, Y) -> float:
    """Exact W1 (Euclidean ground cost) between two equal-size point sets.

    With n points on each side every optimal transport plan can be taken to be
    a permutation, so W1 = min over permutations of the mean distance between
    matched points, found by ``scipy.optimize.linear_sum_assignment`` (about a
    second for 2,000 points). Introduced in 03_point_cloud_gan.
    """
    from scipy.optimize import linear_sum_assignment
    from scipy.spatial.distance import cdist

    X = _as_numpy(X, "X")
    Y = _as_numpy(Y, "Y")
    if X.ndim != 2 or Y.ndim != 2 or X.shape[1] != Y.shape[1]:
        raise ValueError(
            f"X and Y must be (n, d) arrays of the same d, got {X.shape} and {Y.shape}"
        )
    if X.shape[0] != Y.shape[0]:
        raise ValueError(
            f"wasserstein_2d needs two sets of the same size, got {X.shape[0]} and "
            f"{Y.shape[0]}; subsample the larger one"
        )
    if X.shape[0] == 0:
        raise ValueError("the point sets are empty")
    cost = cdist(X, Y)
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].mean())
