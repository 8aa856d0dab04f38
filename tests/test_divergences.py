"""Tests of course_utils.divergences against closed forms and known values."""

import math

import numpy as np
import pytest
import torch
from scipy import stats

from course_utils import divergences, toy

LOG4 = math.log(4.0)


def _kl_gauss(m1, s1, m2, s2):
    return math.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5


@pytest.mark.parametrize(
    "m1,s1,m2,s2", [(0, 1, 1.5, 0.7), (-1, 2, 3, 0.5), (0, 1, 0, 1)]
)
def test_kl_matches_closed_form_for_gaussians(m1, s1, m2, s2):
    got = divergences.kl_divergence(toy.Gaussian(m1, s1), toy.Gaussian(m2, s2))
    assert got == pytest.approx(_kl_gauss(m1, s1, m2, s2), abs=1e-8)


def test_kl_is_infinite_where_q_vanishes():
    def uniform01(x):
        return ((x >= 0) & (x <= 1)).double()

    def uniform02(x):
        return ((x >= 0) & (x <= 2)).double() / 2

    kl = divergences.kl_divergence(uniform02, uniform01, lower=-1, upper=3)
    assert kl == math.inf
    kl = divergences.kl_divergence(uniform01, uniform02, lower=-1, upper=3)
    assert kl == pytest.approx(math.log(2), abs=1e-3)


def test_jsd_known_value_and_value_function_identity():
    p, q = toy.Gaussian(0, 1), toy.Gaussian(1.5, 0.7)
    jsd = divergences.js_divergence(p, q)
    assert jsd == pytest.approx(0.287769, abs=1e-5)
    v_star = divergences.value_function(p, q)
    assert v_star == pytest.approx(-0.810757, abs=1e-5)
    assert v_star == pytest.approx(-LOG4 + 2 * jsd, abs=1e-10)
    # the same through a D given as a function, D = D*, on a range where
    # D* does not round to exactly 0 or 1
    v_fn = divergences.value_function(
        p, q, lambda x: divergences.optimal_discriminator(p, q, x), lower=-5, upper=9
    )
    assert v_fn == pytest.approx(-LOG4 + 2 * jsd, abs=1e-6)


def test_jsd_of_identical_densities_is_zero():
    m = toy.GaussianMixture([-2.0, 2.0], [0.5, 0.8])
    assert divergences.js_divergence(m, m) == pytest.approx(0.0, abs=1e-12)
    assert divergences.kl_divergence(m, m) == pytest.approx(0.0, abs=1e-12)
    assert divergences.value_function(m, m) == pytest.approx(-LOG4, abs=1e-9)


def test_jsd_of_disjoint_supports_is_log2():
    far = divergences.js_divergence(toy.Gaussian(-50, 1), toy.Gaussian(50, 1))
    assert far == pytest.approx(math.log(2), abs=1e-12)

    def bump(centre):
        def pdf(x):
            u = x - centre
            return torch.where(u.abs() < 1, 0.75 * (1 - u * u), torch.zeros_like(u))
        return pdf

    jsd = divergences.js_divergence(bump(-2.0), bump(2.0), lower=-4, upper=4)
    assert jsd == pytest.approx(math.log(2), abs=1e-6)


def test_jsd_is_symmetric_bounded_and_sqrt_is_a_metric():
    dens = [toy.Gaussian(0, 1), toy.Gaussian(1, 0.5), toy.GaussianMixture([-1, 2], 0.6)]
    d = np.zeros((3, 3))
    for i, p in enumerate(dens):
        for j, q in enumerate(dens):
            d[i, j] = divergences.js_divergence(p, q, num_points=20_001)
    assert np.allclose(d, d.T, atol=1e-12)
    assert (d >= -1e-12).all() and (d <= math.log(2)).all()
    root = np.sqrt(np.clip(d, 0, None))
    assert root[0, 2] <= root[0, 1] + root[1, 2] + 1e-12


def test_optimal_discriminator_and_value_of_other_discriminators():
    p, q = toy.Gaussian(0, 1), toy.Gaussian(1.5, 0.7)
    x = torch.linspace(-3, 4, 15, dtype=torch.float64)
    d = divergences.optimal_discriminator(p, q, x)
    assert torch.allclose(d, p.pdf(x) / (p.pdf(x) + q.pdf(x)))
    v_star = divergences.value_function(p, q)
    assert divergences.value_function(p, q, lambda x: torch.full_like(x, 0.5)) == (
        pytest.approx(-LOG4, abs=1e-9)
    )
    for a, b in [(1.0, 0.0), (-2.0, 1.0), (0.3, -0.2)]:
        def D(x, a=a, b=b):
            return torch.sigmoid(a * x + b)

        v = divergences.value_function(p, q, D)
        assert v < v_star
    # where both densities are 0, D* is 1/2 by convention
    zero = divergences.optimal_discriminator(lambda x: 0 * x, lambda x: 0 * x, x)
    assert torch.equal(zero, torch.full_like(x, 0.5))


def test_value_function_rejects_bad_discriminators():
    p, q = toy.Gaussian(0, 1), toy.Gaussian(1, 1)
    with pytest.raises(ValueError):
        divergences.value_function(p, q, lambda x: 2 + 0 * x)
    with pytest.raises(ValueError):
        divergences.value_function(p, q, "best")
    with pytest.raises(ValueError):
        divergences.js_divergence(lambda x: x * 0 + 1, p)  # no bounds given


def test_wasserstein_1d_matches_scipy():
    rng = np.random.default_rng(0)
    for n, m in [(500, 500), (300, 700), (1, 5)]:
        x = rng.normal(size=n)
        y = rng.normal(1.0, 2.0, size=m)
        expected = stats.wasserstein_distance(x, y)
        assert divergences.wasserstein_1d(x, y) == pytest.approx(expected, rel=1e-10)
        xt = torch.tensor(x, dtype=torch.float32)[:, None]
        assert divergences.wasserstein_1d(xt, torch.tensor(y)) == pytest.approx(
            stats.wasserstein_distance(xt[:, 0].double().numpy(), y), rel=1e-6
        )


def test_wasserstein_1d_of_a_shift_is_the_shift():
    x = torch.randn(1000, generator=torch.Generator().manual_seed(0)).double()
    assert divergences.wasserstein_1d(x, x + 0.3) == pytest.approx(0.3, abs=1e-12)


def test_wasserstein_2d_known_answers():
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(300, 2, generator=gen, dtype=torch.float64)
    # a permutation of the same set: 0
    assert divergences.wasserstein_2d(X, X[torch.randperm(300, generator=gen)]) == 0.0
    # a translation by c: |c| (Jensen: mean |x - y| >= |mean x - mean y| = |c|)
    shift = torch.tensor([0.3, -0.4], dtype=torch.float64)
    assert divergences.wasserstein_2d(X, X + shift) == pytest.approx(0.5, abs=1e-12)
    # points on a line: the 1-D answer
    a = torch.randn(200, generator=gen, dtype=torch.float64)
    b = torch.randn(200, generator=gen, dtype=torch.float64) * 2 + 1
    on_line = divergences.wasserstein_2d(
        torch.stack([a, 0 * a], 1), torch.stack([b, 0 * b], 1)
    )
    assert on_line == pytest.approx(divergences.wasserstein_1d(a, b), abs=1e-12)
    # two hand-made pairs: the crossing assignment is not optimal
    P = np.array([[0.0, 0.0], [1.0, 0.0]])
    Q = np.array([[1.0, 1.0], [0.0, 1.0]])
    assert divergences.wasserstein_2d(P, Q) == pytest.approx(1.0)


def test_wasserstein_2d_refuses_unequal_or_bad_sets():
    with pytest.raises(ValueError, match="same size"):
        divergences.wasserstein_2d(np.zeros((3, 2)), np.zeros((4, 2)))
    with pytest.raises(ValueError):
        divergences.wasserstein_2d(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError):
        divergences.wasserstein_2d(np.full((2, 2), np.nan), np.zeros((2, 2)))


def test_value_function_with_logits_is_exact_in_far_tails():
    p, q = toy.Gaussian(0, 1), toy.Gaussian(1.5, 0.7)

    def d_star_logit(x):  # log D* - log(1 - D*) = log p - log q
        return p.log_pdf(x) - q.log_pdf(x)

    v = divergences.value_function(p, q, d_star_logit, logits=True)
    jsd = divergences.js_divergence(p, q)
    assert abs(v - (-LOG4 + 2 * jsd)) < 1e-12
    # as probabilities, D* rounds to 1 in the far left tail: log(1 - D) = -inf
    prob = divergences.value_function(
        p, q, lambda x: divergences.optimal_discriminator(p, q, x)
    )
    assert prob == -math.inf


def test_kl_of_mixtures_in_log_space():
    m = toy.GaussianMixture([-2.0, 2.0], [0.5, 0.5])
    g = toy.Gaussian(0, 3)
    kl = divergences.kl_divergence(m, g)
    samples = m.sample(200_000, generator=0)[:, 0].double()
    mc = (m.log_pdf(samples) - g.log_pdf(samples)).mean().item()
    assert kl == pytest.approx(mc, abs=0.01)
