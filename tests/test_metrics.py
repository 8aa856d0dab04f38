"""Tests of course_utils.metrics on real digits, noise and known cases."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from course_utils import data, metrics


@pytest.fixture(scope="module")
def heldout():
    return data.mnist("heldout")


@pytest.fixture(scope="module")
def train():
    return data.mnist("train")


@pytest.fixture(scope="module")
def noise():
    gen = torch.Generator().manual_seed(0)
    return torch.rand(1000, 1, 28, 28, generator=gen) * 2 - 1


def _scipy_frechet(a: np.ndarray, b: np.ndarray) -> float:
    """The textbook formula with scipy's general matrix square root."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(cov_a @ cov_b)
    root = np.real(root)
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root))


# ------------------------------------------------------------ Frechet distance
def test_frechet_formula_matches_scipy_and_closed_forms():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(500, 8)) @ rng.normal(size=(8, 8))
    b = rng.normal(size=(400, 8)) * 2.0 + 1.0
    ours = metrics.frechet_distance(torch.from_numpy(a), torch.from_numpy(b))
    assert ours == pytest.approx(_scipy_frechet(a, b), rel=1e-6)
    # Same covariance, shifted mean: exactly the squared shift.
    shift = np.arange(8.0)
    shifted = metrics.frechet_distance(torch.from_numpy(a), torch.from_numpy(a + shift))
    assert shifted == pytest.approx(float(shift @ shift), rel=1e-8)
    assert metrics.frechet_distance(torch.from_numpy(a), torch.from_numpy(a)) < 1e-8
    # Symmetric.
    back = metrics.frechet_distance(torch.from_numpy(b), torch.from_numpy(a))
    assert back == pytest.approx(ours, rel=1e-8)
    # 1-D: (mu1 - mu2)^2 + (sigma1 - sigma2)^2.
    x, y = rng.normal(0, 1, (2000, 1)), rng.normal(3, 2, (2000, 1))
    sx, sy = x.std(ddof=1), y.std(ddof=1)
    expected = (x.mean() - y.mean()) ** 2 + (sx - sy) ** 2
    one_d = metrics.frechet_distance(torch.from_numpy(x), torch.from_numpy(y))
    assert one_d == pytest.approx(expected, rel=1e-8)


def test_real_vs_real_fd_is_small_next_to_real_vs_noise(heldout, noise):
    reference = metrics.real_reference_fd(500, seed=0)
    to_noise = metrics.frechet_distance(heldout[0], noise)
    assert 0 < reference < 0.02 * to_noise, (reference, to_noise)
    # Half the digits replaced by noise lands in between.
    mixed = torch.cat([heldout[0][:500], noise[:500]])
    half = metrics.frechet_distance(heldout[0], mixed)
    assert 10 * reference < half < to_noise


def test_real_reference_is_seeded_and_shrinks_with_n():
    first = metrics.real_reference_fd(500, seed=1)
    torch.manual_seed(99)
    np.random.seed(99)
    assert metrics.real_reference_fd(500, seed=1) == first
    assert metrics.real_reference_fd(500, seed=2) != first
    small, large = metrics.real_reference_fd(100), metrics.real_reference_fd(500)
    assert small > large
    with pytest.raises(ValueError, match="held-out"):
        metrics.real_reference_fd(501)  # 501 + 501 > the 1,000 held-out digits
    assert metrics.real_reference_fd(2000, n_real=1000, reference="train") > 0
    with pytest.raises(ValueError, match="reference"):
        metrics.real_reference_fd(100, reference="test")


def test_the_reference_compares_digits_the_classifier_never_saw():
    from course_utils.metrics import images

    held = images._real_outputs("heldout", "bundled", None)[0]
    train = images._real_outputs("train", "bundled", None)[0]
    (ref, _), (cmp, _) = images._real_sets(500, 500, 3, "bundled", None)

    def rows(a, b):  # how many rows of a appear in b
        dist = torch.cdist(a.double(), b.double(),
                           compute_mode="donot_use_mm_for_euclid_dist")
        return int((dist.min(dim=1).values < 1e-9).sum())

    assert rows(ref, held) == 500 and rows(cmp, held) == 500
    assert rows(cmp, ref) == 0  # disjoint
    assert rows(cmp, train) == 0  # no training digit
    (_, _), (old, _) = images._real_sets(500, 500, 3, "bundled", None, "train")
    assert rows(old, train) == 500
    # Unseen digits are further from each other than training digits are from
    # them: the training-digit reference understates a perfect generator's FD.
    honest = np.mean([metrics.real_reference_fd(500, seed=s) for s in range(6)])
    seen = np.mean([metrics.real_reference_fd(500, seed=s, reference="train")
                    for s in range(6)])
    assert honest > 1.1 * seen, (honest, seen)


def test_frechet_accepts_images_or_features(heldout, train):
    a, b = heldout[0][:300], train[0][:300]
    fa, fb = metrics.classifier_features(a), metrics.classifier_features(b)
    assert fa.shape == (300, 64) and fa.dtype == torch.float32
    assert metrics.frechet_distance(a, b) == pytest.approx(
        metrics.frechet_distance(fa, fb), rel=1e-9
    )


# ---------------------------------------------------------- class statistics
def test_confident_share_real_high_noise_low(heldout, noise):
    assert metrics.confident_share(heldout[0]) >= 0.9
    assert metrics.confident_share(noise) <= 0.05
    gen = torch.Generator().manual_seed(1)
    gaussian = (torch.randn(500, 1, 28, 28, generator=gen) * 0.5).clamp(-1, 1)
    assert metrics.confident_share(gaussian) <= 0.05
    grey = torch.zeros(50, 1, 28, 28)
    assert metrics.confident_share(grey) <= 0.05
    assert metrics.confident_share(heldout[0], threshold=0.0) == 1.0


def test_class_histogram_and_kl(heldout):
    images, labels = heldout
    counts = metrics.class_histogram(images)
    assert counts.sum() == 1000 and counts.shape == (10,)
    assert counts.min() >= 90 and counts.max() <= 110
    proportions = metrics.class_histogram(images, normalize=True)
    assert proportions.sum() == pytest.approx(1.0)
    assert metrics.class_kl_uniform(images) < 0.01
    # A single digit repeated: total mode collapse.
    one_digit = images[labels == 7][:1].repeat(400, 1, 1, 1)
    assert metrics.class_kl_uniform(one_digit) > 1.5
    assert metrics.class_histogram(one_digit)[7] == 400
    # Labels can be given directly; the maximum is log 10.
    sevens = torch.full((100,), 7)
    assert metrics.class_kl_uniform(sevens) == pytest.approx(np.log(10))
    two = torch.tensor([0, 1] * 50)
    assert metrics.class_kl_uniform(two) == pytest.approx(np.log(5))
    assert metrics.class_kl_uniform(labels) == pytest.approx(0.0, abs=1e-12)


def test_conditional_accuracy_on_real_digits(heldout):
    images, labels = heldout
    assert metrics.conditional_accuracy(images, labels) >= 0.95
    wrong = (labels + 1) % 10
    assert metrics.conditional_accuracy(images, wrong) <= 0.05
    assert metrics.conditional_accuracy(images[:10], labels[:10].tolist()) >= 0.9
    with pytest.raises(ValueError):
        metrics.conditional_accuracy(images, labels[:10])


def test_matched_code_accuracy(heldout):
    images, labels = heldout
    perm = torch.randperm(10, generator=torch.Generator().manual_seed(2))
    codes = perm[labels]
    acc, mapping = metrics.matched_code_accuracy(codes, labels, return_mapping=True)
    assert acc == 1.0
    assert all(mapping[int(perm[d])] == d for d in range(10))
    # From images: as good as the classifier.
    assert metrics.matched_code_accuracy(codes, images) >= 0.97
    gen = torch.Generator().manual_seed(3)
    random_codes = torch.randint(0, 10, (1000,), generator=gen)
    chance = metrics.matched_code_accuracy(random_codes, labels)
    assert 0.08 < chance < 0.2
    # More codes than classes: the unmatched codes count as wrong.
    twenty = labels * 2 + (torch.arange(1000) % 2)
    assert metrics.matched_code_accuracy(twenty, labels) == pytest.approx(0.5, abs=0.05)


def test_matched_code_accuracy_held_out():
    # codes that are pure noise: fitting the matching on the scored sample finds
    # the best of 10! matchings for that sample's noise and reads above chance;
    # fitted on an independent sample, it reads chance (0.1)
    rng = np.random.default_rng(0)
    in_sample, held_out = [], []
    for _ in range(20):
        codes, labels, fit_codes, fit_labels = rng.integers(0, 10, (4, 1000))
        in_sample.append(metrics.matched_code_accuracy(codes, labels))
        held_out.append(metrics.matched_code_accuracy(
            codes, labels, fit_on=(fit_codes, fit_labels)))
    assert min(in_sample) > 0.125  # about 0.14, 3 std above 0.1 in every draw
    assert abs(np.mean(held_out) - 0.1) < 0.01  # std of the mean about 0.002
    # a code that carries the label: the matching found on one sample holds on
    # another, and the mapping returned is the fitted one
    perm = rng.permutation(10)
    labels, fit_labels = rng.integers(0, 10, (2, 1000))
    acc, mapping = metrics.matched_code_accuracy(
        perm[labels], labels, return_mapping=True, fit_on=(perm[fit_labels], fit_labels))
    assert acc == 1.0 and all(mapping[int(perm[d])] == d for d in range(10))
    # a matching fitted on a sample that swapped two codes is charged for it
    swapped = fit_labels.copy()
    swapped[fit_labels == 0], swapped[fit_labels == 1] = 1, 0
    acc = metrics.matched_code_accuracy(perm[labels], labels,
                                        fit_on=(perm[fit_labels], swapped))
    assert acc == pytest.approx(1 - np.isin(labels, [0, 1]).mean())
    with pytest.raises(ValueError, match="fit_on"):
        metrics.matched_code_accuracy(labels, labels, fit_on=(labels, labels[:10]))


# ----------------------------------------------------------------- one call
def test_evaluate_images_real_vs_noise(train, noise):
    real = metrics.evaluate_images(train[0][:500], n_real=500, seed=0)
    junk = metrics.evaluate_images(noise[:500], n_real=500, seed=0)
    keys = {
        "fd_generated",
        "fd_real_reference",
        "confident_share_generated",
        "confident_share_real",
        "class_kl_uniform",
    }
    assert keys <= set(real) and keys <= set(junk)
    assert junk["fd_real_reference"] == real["fd_real_reference"]
    assert junk["fd_real_reference"] == metrics.real_reference_fd(500, seed=0)
    assert real["fd_generated"] < 5 * real["fd_real_reference"]
    assert junk["fd_generated"] > 30 * junk["fd_real_reference"]
    assert real["confident_share_generated"] >= 0.9
    assert junk["confident_share_generated"] <= 0.05
    assert junk["confident_share_real"] >= 0.9
    assert real["class_kl_uniform"] < 0.05
    assert real["n_generated"] == 500 and real["n_real"] == 500
    # the real class statistics are those of all 1,000 held-out digits
    assert real["confident_share_real"] == metrics.confident_share(
        data.mnist("heldout")[0])
    with pytest.raises(ValueError, match="n_real=500"):
        metrics.evaluate_images(noise, n_real=500)  # 1,000 + 500 > 1,000


def test_input_checks_and_uint8(heldout):
    images = heldout[0][:20]
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        metrics.confident_share((images + 1) * 127.5)
    with pytest.raises(ValueError, match="shape"):
        metrics.confident_share(images.reshape(20, 784))
    as_uint8 = data.images_to_uint8(images)
    assert torch.equal(metrics.predict_labels(as_uint8), metrics.predict_labels(images))
    squeezed = images[:, 0]
    probs = metrics.predict_proba(images)
    assert torch.allclose(metrics.predict_proba(squeezed), probs)
    # Generated images that carry gradients are accepted.
    assert 0 <= metrics.confident_share(images.clone().requires_grad_(True)) <= 1


def test_evaluate_images_averages_over_draws(train, noise):
    images = train[0][:2000]
    one = metrics.evaluate_images(images[:500], seed=0)
    four = metrics.evaluate_images(images, seed=0, draws=4)
    assert four["n_generated"] == 500 and four["draws"] == 4
    # Real training digits stay near the (averaged) real-vs-real reference.
    assert four["fd_generated"] < 2 * four["fd_real_reference"]
    # The first draw is the single-draw evaluation; the others move the average.
    assert four["fd_real_reference"] != one["fd_real_reference"]
    assert 8.0 < four["fd_real_reference"] < 16.0
    # Averaging shrinks the spread of the reference over seeds.
    singles = [metrics.evaluate_images(noise[:500], seed=s)["fd_real_reference"]
               for s in range(6)]
    averaged = [
        metrics.evaluate_images(torch.cat([noise[:500]] * 5), seed=s, draws=5)[
            "fd_real_reference"
        ]
        for s in range(6)
    ]
    assert np.std(averaged) < 0.7 * np.std(singles)
    # Class statistics use every image.
    assert four["class_kl_uniform"] < 0.01


@pytest.mark.parametrize("draws", [0, -1, 1.5, True])
def test_evaluate_images_refuses_bad_draws(noise, draws):
    with pytest.raises(ValueError, match="draws"):
        metrics.evaluate_images(noise, draws=draws)


def test_evaluate_images_needs_two_images_per_draw(noise):
    with pytest.raises(ValueError, match="cannot be split"):
        metrics.evaluate_images(noise[:5], draws=3)


def test_the_classifier_runs_in_eval_mode_inside_the_metrics(heldout):
    from course_utils import classifier

    images = heldout[0][:200]
    before = metrics.predict_proba(images)
    classifier.load_classifier().train()  # a student leaves the cached model in train mode
    try:
        after = metrics.predict_proba(images)
    finally:
        classifier.load_classifier().eval()
    assert torch.equal(before, after)
