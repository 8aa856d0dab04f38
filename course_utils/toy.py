"""Toy data with known densities: 1-D densities and 2-D point clouds.

1-D densities (introduced in 02_optimal_discriminator) have an exact ``pdf``, a
``cdf``, a sampler and an ``interval(mass)`` holding the central share of their
mass, so that the optimal discriminator and the divergences can be computed by
quadrature and compared with what a network learns from samples.

2-D samplers (introduced in 03_point_cloud_gan; the ring and the grid are
written for the mode-collapse notebook, 04) take ``n`` and an optional ``generator``: a
``torch.Generator`` or an int seed (``None`` uses torch's global random stream).
They return float32 tensors of shape ``(n, 2)`` of independent samples.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence, Union

import numpy as np
import torch

__all__ = [
    "Gaussian",
    "GaussianMixture",
    "mixture_of",
    "double_moons",
    "moon_distances",
    "ring",
    "ring_centres",
    "grid",
    "grid_centres",
    "swiss_roll",
]

GeneratorLike = Union[torch.Generator, int, None]


def _generator(generator: GeneratorLike) -> Optional[torch.Generator]:
    """A ``torch.Generator`` from a generator, an int seed or None (global stream)."""
    if generator is None or isinstance(generator, torch.Generator):
        return generator
    if isinstance(generator, bool) or not isinstance(generator, (int, np.integer)):
        raise TypeError(
            "generator must be a torch.Generator, an int seed or None, "
            f"got {type(generator).__name__}"
        )
    return torch.Generator().manual_seed(int(generator))


def _check_n(n) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be an int >= 0, got {n!r}")
    return int(n)


def _as_float64(x) -> torch.Tensor:
    return torch.as_tensor(x, dtype=torch.float64)


# ---------------------------------------------------------------------------
# 1-D densities
# ---------------------------------------------------------------------------


class _Density1D:
    """Shared behaviour of the 1-D densities: sampling shape, interval, repr."""

    def pdf(self, x) -> torch.Tensor:  # pragma: no cover - overridden
        raise NotImplementedError

    def cdf(self, x) -> torch.Tensor:  # pragma: no cover - overridden
        raise NotImplementedError

    def __call__(self, x) -> torch.Tensor:
        """Same as :meth:`pdf`, so a density can be passed where a function is."""
        return self.pdf(x)

    def bounds(self, width: float = 12.0) -> tuple[float, float]:
        """An interval outside which the density is negligible (``width`` stds)."""
        raise NotImplementedError  # pragma: no cover - overridden

    def interval(self, mass: float = 0.99) -> tuple[float, float]:
        """The central interval holding ``mass`` of the probability.

        Found by bisection on the cdf, so it works for mixtures too.
        """
        if not 0.0 < mass < 1.0:
            raise ValueError(f"mass must be in (0, 1), got {mass!r}")
        tail = (1.0 - mass) / 2.0
        return self._quantile(tail), self._quantile(1.0 - tail)

    def _quantile(self, level: float) -> float:
        lo, hi = self.bounds()
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if float(self.cdf(mid)) < level:
                lo = mid
            else:
                hi = mid
            if hi - lo < 1e-12:
                break
        return 0.5 * (lo + hi)


class Gaussian(_Density1D):
    """The normal density N(mean, std^2) on the real line.

    ``pdf(x)`` and ``cdf(x)`` take anything ``torch.as_tensor`` takes and return
    float64 tensors; ``sample(n, generator)`` returns a float32 tensor (n, 1).
    Introduced in 01_minimax_game.
    """

    def __init__(self, mean: float = 0.0, std: float = 1.0):
        if not std > 0:
            raise ValueError(f"std must be > 0, got {std!r}")
        self.mean = float(mean)
        self.std = float(std)

    def __repr__(self) -> str:
        return f"Gaussian(mean={self.mean:g}, std={self.std:g})"

    def pdf(self, x) -> torch.Tensor:
        u = (_as_float64(x) - self.mean) / self.std
        return torch.exp(-0.5 * u * u) / (self.std * math.sqrt(2.0 * math.pi))

    def log_pdf(self, x) -> torch.Tensor:
        u = (_as_float64(x) - self.mean) / self.std
        return -0.5 * u * u - math.log(self.std * math.sqrt(2.0 * math.pi))

    def cdf(self, x) -> torch.Tensor:
        u = (_as_float64(x) - self.mean) / (self.std * math.sqrt(2.0))
        return 0.5 * (1.0 + torch.erf(u))

    def quantile(self, u) -> torch.Tensor:
        """The inverse of ``cdf``: the x with cdf(x) = u, for u in (0, 1).

        ``quantile(z)`` with z ~ U(0, 1) samples the density, so it is the
        generator that maps uniform noise to this Gaussian (02's mapping plots).
        """
        u = _as_float64(u)
        if ((u <= 0) | (u >= 1)).any():
            raise ValueError("quantile takes u strictly between 0 and 1")
        return self.mean + self.std * math.sqrt(2.0) * torch.erfinv(2.0 * u - 1.0)

    def bounds(self, width: float = 12.0) -> tuple[float, float]:
        return self.mean - width * self.std, self.mean + width * self.std

    def sample(self, n: int, generator: GeneratorLike = None) -> torch.Tensor:
        n = _check_n(n)
        noise = torch.randn(n, 1, generator=_generator(generator))
        return (self.mean + self.std * noise).to(torch.float32)


class GaussianMixture(_Density1D):
    """A mixture of 1-D Gaussians: sum_k w_k N(means[k], stds[k]^2).

    ``weights`` default to equal weights and are normalised to sum to 1.
    Introduced in 02_optimal_discriminator.
    """

    def __init__(
        self,
        means: Sequence[float],
        stds: Union[Sequence[float], float],
        weights: Optional[Sequence[float]] = None,
    ):
        means = [float(m) for m in means]
        if not means:
            raise ValueError("a mixture needs at least one component")
        if isinstance(stds, (int, float)):
            stds = [float(stds)] * len(means)
        stds = [float(s) for s in stds]
        if weights is None:
            weights = [1.0] * len(means)
        weights = [float(w) for w in weights]
        if not len(means) == len(stds) == len(weights):
            raise ValueError("means, stds and weights must have the same length")
        if any(w < 0 for w in weights) or sum(weights) <= 0:
            raise ValueError("weights must be >= 0 and not all 0")
        total = sum(weights)
        self.components = [Gaussian(m, s) for m, s in zip(means, stds)]
        self.weights = [w / total for w in weights]

    @property
    def mean(self) -> float:
        return sum(w * c.mean for w, c in zip(self.weights, self.components))

    def __repr__(self) -> str:
        parts = ", ".join(
            f"{w:.3g}*N({c.mean:g}, {c.std:g}^2)"
            for w, c in zip(self.weights, self.components)
        )
        return f"GaussianMixture({parts})"

    def pdf(self, x) -> torch.Tensor:
        x = _as_float64(x)
        return sum(w * c.pdf(x) for w, c in zip(self.weights, self.components))

    def log_pdf(self, x) -> torch.Tensor:
        x = _as_float64(x)
        terms = torch.stack(
            [math.log(w) + c.log_pdf(x) for w, c in zip(self.weights, self.components)
             if w > 0]
        )
        return torch.logsumexp(terms, dim=0)

    def cdf(self, x) -> torch.Tensor:
        x = _as_float64(x)
        return sum(w * c.cdf(x) for w, c in zip(self.weights, self.components))

    def bounds(self, width: float = 12.0) -> tuple[float, float]:
        lows, highs = zip(*(c.bounds(width) for c in self.components))
        return min(lows), max(highs)

    def sample(self, n: int, generator: GeneratorLike = None) -> torch.Tensor:
        n = _check_n(n)
        gen = _generator(generator)
        which = torch.multinomial(
            torch.tensor(self.weights), n, replacement=True, generator=gen
        )
        means = torch.tensor([c.mean for c in self.components])[which]
        stds = torch.tensor([c.std for c in self.components])[which]
        noise = torch.randn(n, generator=gen)
        return (means + stds * noise).to(torch.float32).unsqueeze(1)


def mixture_of(
    densities: Sequence[_Density1D], weights: Optional[Sequence[float]] = None
) -> GaussianMixture:
    """The mixture sum_k w_k p_k of Gaussians and Gaussian mixtures, flattened.

    With equal weights, ``mixture_of([p_data, p_g])`` is the density of a
    discriminator's training samples, (p_data + p_g) / 2. Introduced in
    02_optimal_discriminator.
    """
    if weights is None:
        weights = [1.0] * len(densities)
    if len(weights) != len(densities) or not densities:
        raise ValueError("give one weight per density, and at least one density")
    total = float(sum(weights))
    means, stds, flat = [], [], []
    for density, weight in zip(densities, weights):
        if isinstance(density, Gaussian):
            parts = [(1.0, density)]
        elif isinstance(density, GaussianMixture):
            parts = list(zip(density.weights, density.components))
        else:
            raise TypeError(f"cannot mix a {type(density).__name__}")
        for w, component in parts:
            means.append(component.mean)
            stds.append(component.std)
            flat.append(weight / total * w)
    return GaussianMixture(means, stds, flat)


# ---------------------------------------------------------------------------
# 2-D samplers
# ---------------------------------------------------------------------------


def double_moons(
    n: int, noise: float = 0.05, generator: GeneratorLike = None,
    labels: bool = False,
):
    """Two interleaved half circles ("double moons") with Gaussian noise.

    Each point picks a moon with probability 1/2 and an angle t uniform on
    [0, pi]: the upper moon is (cos t, sin t), the lower one
    (1 - cos t, 1/2 - sin t); then N(0, noise^2) is added to each coordinate.
    The samples are independent (scikit-learn's ``make_moons`` instead puts the
    angles on a regular grid). Introduced in 03_point_cloud_gan.

    With ``labels=True`` returns ``(points, moon)``, ``moon`` an int64 tensor
    holding 0 for the upper moon and 1 for the lower one (written for
    05_conditional_and_infogan); the points are the same as without labels.
    """
    n = _check_n(n)
    gen = _generator(generator)
    lower = torch.rand(n, generator=gen) < 0.5
    t = math.pi * torch.rand(n, generator=gen)
    x = torch.where(lower, 1.0 - torch.cos(t), torch.cos(t))
    y = torch.where(lower, 0.5 - torch.sin(t), torch.sin(t))
    points = torch.stack([x, y], dim=1)
    points = points + noise * torch.randn(n, 2, generator=gen)
    points = points.to(torch.float32)
    if labels:
        return points, lower.to(torch.int64)
    return points


def moon_distances(points) -> torch.Tensor:
    """Distance of each point to the two noise-free moons of
    :func:`double_moons`: an (n, 2) float64 tensor, column 0 the upper half
    circle, column 1 the lower one; ``argmin(dim=1)`` names the nearest moon.

    The upper moon is the half of the unit circle about (0, 0) with y >= 0, the
    lower one the half of the unit circle about (1, 1/2) with y <= 1/2. A point
    on the side of a half circle's centre that the arc covers is at distance
    | |p - centre| - 1 | from it; any other point is nearest to one of the
    arc's two ends. Written for 05_conditional_and_infogan.
    """
    p = _as_float64(points)
    if p.dim() != 2 or p.shape[1] != 2:
        raise ValueError(f"expected points of shape (n, 2), got {tuple(p.shape)}")
    out = []
    for centre, side in (((0.0, 0.0), 1.0), ((1.0, 0.5), -1.0)):
        d = p - torch.tensor(centre, dtype=torch.float64)
        on_arc = (side * d[:, 1]) >= 0
        radial = (d.norm(dim=1) - 1.0).abs()
        ends = torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=torch.float64)
        to_ends = torch.cdist(d, ends).min(dim=1).values
        out.append(torch.where(on_arc, radial, to_ends))
    return torch.stack(out, dim=1)


def ring_centres(num_modes: int = 8, radius: float = 2.0) -> torch.Tensor:
    """The centres of :func:`ring`: ``num_modes`` points evenly spaced on a circle.

    The angles are ``linspace(0, 2 pi, num_modes, endpoint=False)``: with the
    end point included the first and last centre would coincide.
    """
    if num_modes < 1:
        raise ValueError(f"num_modes must be >= 1, got {num_modes!r}")
    angles = np.linspace(0.0, 2.0 * np.pi, num_modes, endpoint=False)
    centres = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return torch.tensor(centres, dtype=torch.float32)


def grid_centres(size: int = 5, radius: float = 2.0) -> torch.Tensor:
    """The centres of :func:`grid`: a ``size`` x ``size`` square lattice.

    One axis holds ``size`` positions, ``linspace(0, 2 radius, size,
    endpoint=False)`` shifted so that they are symmetric about 0: the spacing is
    ``2 radius / size`` and the centres lie in [-radius, radius].
    """
    if size < 1:
        raise ValueError(f"size must be >= 1, got {size!r}")
    step = 2.0 * radius / size
    axis = np.linspace(0.0, 2.0 * radius, size, endpoint=False) - (size - 1) * step / 2
    xs, ys = np.meshgrid(axis, axis, indexing="xy")
    centres = np.stack([xs.ravel(), ys.ravel()], axis=1)
    return torch.tensor(centres, dtype=torch.float32)


def _mixture_of_centres(
    n: int, centres: torch.Tensor, sigma: float, generator: GeneratorLike
) -> torch.Tensor:
    n = _check_n(n)
    gen = _generator(generator)
    which = torch.randint(len(centres), (n,), generator=gen)
    points = centres[which] + sigma * torch.randn(n, 2, generator=gen)
    return points.to(torch.float32)


def ring(
    n: int,
    num_modes: int = 8,
    radius: float = 2.0,
    sigma: float = 0.02,
    generator: GeneratorLike = None,
) -> torch.Tensor:
    """Equal-weight Gaussians N(c, sigma^2 I) at the :func:`ring_centres`.

    Written for the mode-collapse notebook (04).
    """
    return _mixture_of_centres(n, ring_centres(num_modes, radius), sigma, generator)


def grid(
    n: int,
    size: int = 5,
    radius: float = 2.0,
    sigma: float = 0.02,
    generator: GeneratorLike = None,
) -> torch.Tensor:
    """Equal-weight Gaussians N(c, sigma^2 I) at the :func:`grid_centres`.

    The default is the 25-mode grid of the mode-collapse notebook (04).
    """
    return _mixture_of_centres(n, grid_centres(size, radius), sigma, generator)


def swiss_roll(
    n: int,
    noise: float = 0.05,
    scale: float = 0.2,
    generator: GeneratorLike = None,
) -> torch.Tensor:
    """A 2-D swiss roll: t uniform on [1.5 pi, 4.5 pi], point scale * t (cos t, sin t).

    With the default ``scale`` the roll fits in about [-1, 1.5]^2. Gaussian
    noise of standard deviation ``noise`` is added after scaling.
    """
    n = _check_n(n)
    gen = _generator(generator)
    t = 1.5 * math.pi * (1.0 + 2.0 * torch.rand(n, generator=gen))
    points = scale * torch.stack([t * torch.cos(t), t * torch.sin(t)], dim=1)
    points = points + noise * torch.randn(n, 2, generator=gen)
    return points.to(torch.float32)
