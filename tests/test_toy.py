"""Tests of course_utils.toy: exact 1-D densities and the 2-D samplers."""

import math

import pytest
import torch
from scipy import stats

from course_utils import toy


def _integral(f, lo, hi, n=200_001):
    x = torch.linspace(lo, hi, n, dtype=torch.float64)
    return float(torch.trapezoid(f(x), x))


def test_gaussian_pdf_and_cdf_match_scipy():
    g = toy.Gaussian(1.5, 0.7)
    x = torch.linspace(-3, 5, 41, dtype=torch.float64)
    assert torch.allclose(g.pdf(x), torch.tensor(stats.norm(1.5, 0.7).pdf(x.numpy())))
    assert torch.allclose(g.cdf(x), torch.tensor(stats.norm(1.5, 0.7).cdf(x.numpy())))
    assert torch.allclose(g.log_pdf(x), g.pdf(x).log())
    assert g(x).dtype == torch.float64  # calling a density is its pdf


def test_densities_integrate_to_one():
    m = toy.GaussianMixture([-2.0, 1.0, 3.0], [0.5, 1.0, 0.3], [1, 2, 1])
    assert sum(m.weights) == pytest.approx(1.0)
    for density in (toy.Gaussian(), toy.Gaussian(-4, 3), m):
        lo, hi = density.bounds()
        assert _integral(density.pdf, lo, hi) == pytest.approx(1.0, abs=1e-9)


def test_mixture_pdf_is_weighted_sum():
    m = toy.GaussianMixture([-2.0, 2.0], 0.5, [0.25, 0.75])
    x = torch.tensor([-2.0, 0.0, 2.0], dtype=torch.float64)
    expected = 0.25 * stats.norm(-2, 0.5).pdf(x.numpy()) + 0.75 * stats.norm(
        2, 0.5
    ).pdf(x.numpy())
    assert torch.allclose(m.pdf(x), torch.tensor(expected))
    assert m.mean == pytest.approx(1.0)


def test_interval_holds_the_requested_mass():
    g = toy.Gaussian(0, 1)
    lo, hi = g.interval(0.99)
    assert hi == pytest.approx(stats.norm.ppf(0.995), abs=1e-8)
    assert lo == pytest.approx(-hi, abs=1e-8)
    m = toy.GaussianMixture([-2.0, 2.0], 0.5)
    lo, hi = m.interval(0.99)
    assert float(m.cdf(hi) - m.cdf(lo)) == pytest.approx(0.99, abs=1e-9)
    with pytest.raises(ValueError):
        g.interval(1.0)


def test_1d_samplers_shape_dtype_and_moments():
    g = toy.Gaussian(1.5, 0.7)
    X = g.sample(50_000, generator=0)
    assert X.shape == (50_000, 1) and X.dtype == torch.float32
    assert X.mean().item() == pytest.approx(1.5, abs=0.02)
    assert X.std().item() == pytest.approx(0.7, abs=0.02)
    m = toy.GaussianMixture([-2.0, 2.0], 0.5, [0.3, 0.7])
    Y = m.sample(50_000, generator=1)
    assert Y.shape == (50_000, 1) and Y.dtype == torch.float32
    assert (Y > 0).float().mean().item() == pytest.approx(0.7, abs=0.01)
    # a Kolmogorov-Smirnov test against the exact cdf
    ks = stats.kstest(Y[:, 0].double().numpy(), lambda t: m.cdf(t).numpy())
    assert ks.pvalue > 1e-3


def test_seeds_and_generators_are_reproducible():
    for sampler in (toy.double_moons, toy.ring, toy.grid, toy.swiss_roll,
                    toy.Gaussian(0, 1).sample):
        a = sampler(100, generator=3)
        b = sampler(100, generator=torch.Generator().manual_seed(3))
        c = sampler(100, generator=4)
        assert torch.equal(a, b)
        assert not torch.equal(a, c)
    torch.manual_seed(0)
    a = toy.double_moons(10)
    torch.manual_seed(0)
    assert torch.equal(a, toy.double_moons(10))  # None uses the global stream


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        toy.Gaussian(0, 0)
    with pytest.raises(ValueError):
        toy.double_moons(-1)
    with pytest.raises(TypeError):
        toy.double_moons(10, generator="seed")
    with pytest.raises(ValueError):
        toy.GaussianMixture([0, 1], [1, 1], [1])


SAMPLERS_2D = [toy.double_moons, toy.ring, toy.grid, toy.swiss_roll]


@pytest.mark.parametrize("sampler", SAMPLERS_2D)
def test_2d_samplers_shape_and_dtype(sampler):
    X = sampler(257, generator=0)
    assert X.shape == (257, 2) and X.dtype == torch.float32
    assert torch.isfinite(X).all()
    assert sampler(0).shape == (0, 2)


def test_double_moons_lie_on_the_two_half_circles():
    X = toy.double_moons(4000, noise=0.0, generator=0).double()
    upper = (X - torch.tensor([0.0, 0.0])).norm(dim=1)
    lower = (X - torch.tensor([1.0, 0.5])).norm(dim=1)
    on_upper = (upper - 1).abs() < 1e-5
    on_lower = (lower - 1).abs() < 1e-5
    assert bool((on_upper | on_lower).all())
    assert on_upper.float().mean().item() == pytest.approx(0.5, abs=0.03)
    assert bool((X[on_upper, 1] >= -1e-6).all())  # the upper half circle
    assert bool((X[on_lower, 1] <= 0.5 + 1e-6).all())  # the lower half circle
    noisy = toy.double_moons(4000, noise=0.1, generator=0).double()
    assert (noisy - X).std().item() == pytest.approx(0.1, abs=0.01)


def test_double_moons_labels_name_the_moon_and_keep_the_points():
    X, moon = toy.double_moons(2000, noise=0.0, generator=3, labels=True)
    assert torch.equal(X, toy.double_moons(2000, noise=0.0, generator=3))
    assert moon.dtype == torch.int64 and set(moon.tolist()) == {0, 1}
    dist = toy.moon_distances(X)
    assert dist.shape == (2000, 2) and dist.dtype == torch.float64
    # noise-free points lie on their own moon
    assert dist[torch.arange(2000), moon].max().item() < 1e-5
    assert torch.equal(dist.argmin(dim=1), moon)


def test_moon_distances_by_hand():
    points = torch.tensor([
        [0.0, 2.0],  # 1 above the top of the upper moon
        [0.0, -1.0],  # below the upper moon's centre: nearest end (-1, 0) or (1, 0)
        [1.0, -0.5],  # the bottom of the lower moon
        [0.5, 0.25],  # between the moons
    ])
    d = toy.moon_distances(points)
    assert d[0, 0].item() == pytest.approx(1.0)
    assert d[1, 0].item() == pytest.approx(math.sqrt(2.0))
    assert d[2, 1].item() == pytest.approx(0.0, abs=1e-12)
    assert d[3, 0].item() == pytest.approx(1 - math.hypot(0.5, 0.25))
    assert d[3, 1].item() == pytest.approx(1 - math.hypot(0.5, 0.25))
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        toy.moon_distances(torch.zeros(3, 3))


def test_ring_has_distinct_evenly_spaced_centres():
    centres = toy.ring_centres(8, radius=2.0).double()
    assert centres.shape == (8, 2)
    radii = centres.norm(dim=1)
    assert torch.allclose(radii, torch.full((8,), 2.0, dtype=torch.float64))
    gaps = torch.cdist(centres, centres) + 10 * torch.eye(8)
    # endpoint=False: 8 distinct modes, neighbours 2 * r * sin(pi / 8) apart
    assert gaps.min().item() == pytest.approx(4 * math.sin(math.pi / 8), rel=1e-6)
    X = toy.ring(8000, sigma=0.02, generator=0).double()
    nearest = torch.cdist(X, centres).argmin(dim=1)
    counts = torch.bincount(nearest, minlength=8).double()
    assert (counts / 8000 - 1 / 8).abs().max().item() < 0.02
    dist = torch.cdist(X, centres).min(dim=1).values
    assert dist.mean().item() == pytest.approx(0.02 * math.sqrt(math.pi / 2), rel=0.05)


def test_grid_has_25_symmetric_centres():
    centres = toy.grid_centres(5, radius=2.0).double()
    assert centres.shape == (25, 2)
    assert torch.allclose(centres.mean(dim=0), torch.zeros(2, dtype=torch.float64),
                          atol=1e-6)
    axis = torch.unique(centres[:, 0])
    assert len(axis) == 5
    assert torch.allclose(axis.diff(), torch.full((4,), 0.8, dtype=torch.float64))
    assert centres.abs().max().item() <= 2.0
    X = toy.grid(10_000, sigma=0.05, radius=2.0, generator=0).double()
    nearest = torch.cdist(X, centres).argmin(dim=1)
    assert len(torch.unique(nearest)) == 25


def test_swiss_roll_radius_follows_angle():
    X = toy.swiss_roll(2000, noise=0.0, scale=0.2, generator=0).double()
    radius = X.norm(dim=1) / 0.2
    assert radius.min().item() >= 1.5 * math.pi - 1e-5
    assert radius.max().item() <= 4.5 * math.pi + 1e-5


def test_log_pdf_agrees_with_pdf_and_survives_far_tails():
    m = toy.GaussianMixture([-2.0, 2.0], [0.5, 1.0], [0.3, 0.7])
    x = torch.linspace(-6, 6, 101, dtype=torch.float64)
    assert torch.allclose(m.log_pdf(x), m.pdf(x).log())
    far = torch.tensor([-60.0, 80.0], dtype=torch.float64)
    assert torch.isfinite(m.log_pdf(far)).all() and (m.pdf(far) == 0).all()


def test_mixture_of_flattens_and_weights():
    p = toy.Gaussian(0, 1)
    q = toy.GaussianMixture([-2.0, 2.0], 0.5, [0.25, 0.75])
    both = toy.mixture_of([p, q])
    assert len(both.components) == 3
    x = torch.linspace(-5, 5, 51, dtype=torch.float64)
    assert torch.allclose(both.pdf(x), 0.5 * p.pdf(x) + 0.5 * q.pdf(x))
    skewed = toy.mixture_of([p, q], [3, 1])
    assert torch.allclose(skewed.pdf(x), 0.75 * p.pdf(x) + 0.25 * q.pdf(x))
    with pytest.raises(TypeError):
        toy.mixture_of([p, lambda t: t])
