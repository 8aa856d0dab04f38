"""The point-cloud metrics: nearest mode, high quality, modes captured, KL."""

import math

import numpy as np
import pytest
import torch

from course_utils import metrics, toy
from course_utils.metrics import points


def test_kl_to_uniform_is_shared_and_right():
    assert metrics.kl_to_uniform([5, 5, 5, 5]) == 0.0
    assert metrics.kl_to_uniform([0, 7, 0, 0]) == pytest.approx(math.log(4))
    p = np.array([0.5, 0.25, 0.25])
    assert metrics.kl_to_uniform(p * 8) == pytest.approx(float(np.sum(p * np.log(3 * p))))
    assert points.kl_to_uniform is metrics.kl_to_uniform
    with pytest.raises(ValueError, match="empty"):
        metrics.kl_to_uniform([0, 0])
    # the image metric uses the same helper over 10 classes
    labels = torch.tensor([3] * 10)
    assert metrics.class_kl_uniform(labels) == pytest.approx(math.log(10))


def test_nearest_mode_and_high_quality():
    centres = np.array([[0.0, 0.0], [2.0, 0.0]])
    x = np.array([[0.05, 0.0], [1.9, 0.1], [1.0, 0.01], [0.0, 0.2]])
    index, dist = points.nearest_mode(x, centres)
    assert index.tolist() == [0, 1, 0, 0]
    assert dist[1] == pytest.approx(math.hypot(0.1, 0.1))
    hq = points.high_quality(x, centres, sigma=0.05)  # within 0.15
    assert hq.tolist() == [True, True, False, False]


def test_a_perfect_generator_meets_the_ceiling():
    # 2-D Gaussian: |x - c| / sigma is Rayleigh, P(r <= 3) = 1 - exp(-9/2)
    x = toy.ring(20_000, generator=0)
    s = points.evaluate_points(x, toy.ring_centres(), sigma=0.02)
    assert s["modes"] == s["modes_strict"] == 8
    assert s["hq"] == pytest.approx(1 - math.exp(-4.5), abs=0.003)
    assert s["kl"] < 0.002
    assert s["n"] == 20_000 and s["histogram"].sum() == 20_000


def test_collapse_shows_in_every_number():
    centres = toy.ring_centres()
    gen = torch.Generator().manual_seed(0)
    # 2,475 samples on mode 0, and 25 spread around mode 3 (one per cent)
    on_one = centres[0] + 0.02 * torch.randn(2475, 2, generator=gen)
    few = centres[3] + 0.02 * torch.randn(25, 2, generator=gen)
    x = torch.cat([on_one, few[:24], torch.zeros(1, 2)])  # one sample far from all
    s = points.evaluate_points(x, centres, sigma=0.02)
    assert s["modes"] == 2  # the published rule counts the small mode
    assert s["modes_strict"] == 1  # 24 of 2,500 is under 1 %
    assert 0.97 < s["hq"] < 0.99
    assert s["kl"] > 1.9  # log 8 = 2.08 for total collapse


def test_input_checks():
    with pytest.raises(ValueError, match="sigma"):
        points.high_quality(np.zeros((3, 2)), np.zeros((1, 2)), sigma=0)
    with pytest.raises(ValueError, match="coordinates"):
        points.nearest_mode(np.zeros((3, 2)), np.zeros((1, 3)))
    with pytest.raises(ValueError, match="NaN"):
        points.nearest_mode(np.full((3, 2), np.nan), np.zeros((1, 2)))
    with pytest.raises(ValueError, match="min_share"):
        points.modes_captured(np.zeros((3, 2)), np.zeros((1, 2)), 0.1, min_share=1.0)
