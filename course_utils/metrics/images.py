"""Numbers that measure generated digits, all through the course's digit classifier.

Introduced in 06_dcgan (Frechet distance, confident share, class histogram and
its KL to uniform, `evaluate_images`); the conditional and matched-code
accuracies are there for the conditional GAN and InfoGAN of notebook 05. The
classifier always runs in eval mode here, whatever mode a caller left it in.

Every image argument is a tensor of shape (N, 1, 28, 28) (or (N, 28, 28)) with
values in [-1, 1], the range of a Tanh generator and of `course_utils.data.mnist`;
uint8 images are converted. The classifier runs in batches, without gradients,
on `device` (default: the images' device); results come back on the CPU.

A Frechet distance means little on its own: it depends on the feature network
and shrinks with the sample size. Always show it next to
`real_reference_fd`, the distance between two disjoint sets of real digits of
the same sizes (`evaluate_images` returns both).
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from course_utils import data
from course_utils.classifier import load_classifier
from course_utils.metrics._common import kl_to_uniform

__all__ = [
    "classifier_features",
    "predict_proba",
    "predict_labels",
    "frechet_distance",
    "real_reference_fd",
    "confident_share",
    "class_histogram",
    "class_kl_uniform",
    "conditional_accuracy",
    "matched_code_accuracy",
    "evaluate_images",
]

N_CLASSES = 10

# (source, split, device) -> (features, logits) of that real split, CPU float32
_REAL_OUTPUTS: dict[tuple[str, str, str], tuple[torch.Tensor, torch.Tensor]] = {}


# --------------------------------------------------------------------- helpers
def _as_images(images) -> torch.Tensor:
    """Validate and normalise an image batch to float (N, 1, 28, 28) in [-1, 1]."""
    if not torch.is_tensor(images):
        images = torch.as_tensor(np.asarray(images))
    x = images.detach()
    if x.dtype == torch.uint8:
        return data.images_to_float(x.cpu()).to(images.device)
    if not x.is_floating_point():
        raise TypeError(f"expected float images in [-1, 1] (or uint8), got {x.dtype}")
    if x.dim() == 3:
        x = x.unsqueeze(1)
    if x.dim() != 4 or tuple(x.shape[1:]) != (1, 28, 28):
        raise ValueError(
            f"expected images of shape (N, 1, 28, 28), got {tuple(images.shape)}"
        )
    if len(x) == 0:
        raise ValueError("no images given")
    if not torch.isfinite(x).all():
        raise ValueError("images contain NaN or infinite values")
    low, high = float(x.min()), float(x.max())
    if low < -1.001 or high > 1.001:
        raise ValueError(
            f"images must lie in [-1, 1] (found {low:.3g}..{high:.3g}); "
            "for [0, 1] images pass 2 * x - 1"
        )
    return x.float()


def _classify(images, batch_size: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    """(features (N, 64), logits (N, 10)) of the classifier, float32 on CPU."""
    x = _as_images(images)
    device = torch.device(device) if device is not None else x.device
    model = load_classifier(device).eval()  # no dropout, whatever a caller did
    features, logits = [], []
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            f = model.features(x[start : start + batch_size].to(device))
            features.append(f.float().cpu())
            logits.append(model.head(f).float().cpu())  # eval mode: no dropout
    return torch.cat(features), torch.cat(logits)


def _labels_from(images_or_labels, batch_size: int = 500, device=None) -> np.ndarray:
    """Integer labels: given directly (1-D) or predicted from images (3-D/4-D)."""
    x = images_or_labels
    if not torch.is_tensor(x):
        x = torch.as_tensor(np.asarray(x))
    if x.dim() == 1:
        if x.is_floating_point() and not torch.equal(x, x.round()):
            raise TypeError("labels must be integers")
        labels = x.detach().cpu().numpy().astype(np.int64)
        if len(labels) and (labels.min() < 0 or labels.max() >= N_CLASSES):
            raise ValueError("labels must lie in 0..9")
        return labels
    return predict_labels(x, batch_size=batch_size, device=device).numpy()


def _as_codes(codes) -> np.ndarray:
    c = codes.detach().cpu().numpy() if torch.is_tensor(codes) else np.asarray(codes)
    if c.ndim != 1:
        raise ValueError(f"codes must be a 1-D array of integers, got shape {c.shape}")
    if not np.array_equal(c, np.round(c)) or (len(c) and c.min() < 0):
        raise ValueError("codes must be non-negative integers")
    return c.astype(np.int64)


# ---------------------------------------------------------- classifier outputs
def classifier_features(images, batch_size: int = 500, device=None) -> torch.Tensor:
    """Penultimate-layer features of the digit classifier, shape (N, 64), on CPU.

    Introduced in 06_dcgan.
    """
    return _classify(images, batch_size, device)[0]


def predict_proba(images, batch_size: int = 500, device=None) -> torch.Tensor:
    """Class probabilities (softmax of the classifier), shape (N, 10), on CPU.

    Introduced in 06_dcgan.
    """
    return F.softmax(_classify(images, batch_size, device)[1], dim=1)


def predict_labels(images, batch_size: int = 500, device=None) -> torch.Tensor:
    """The classifier's predicted digit for each image, int64 (N,), on CPU.

    Introduced in 06_dcgan.
    """
    return _classify(images, batch_size, device)[1].argmax(dim=1)


# ------------------------------------------------------------ Frechet distance
def _sqrtm_psd(matrix: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix (via eigh)."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def _frechet_from_features(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 2 or len(b) < 2:
        raise ValueError("need at least two samples on each side")
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov_a = np.atleast_2d(np.cov(a, rowvar=False))
    cov_b = np.atleast_2d(np.cov(b, rowvar=False))
    # tr((A B)^1/2) = tr((A^1/2 B A^1/2)^1/2); the inner matrix is symmetric PSD,
    # so its eigenvalues are real and >= 0 up to rounding: no imaginary parts.
    root_a = _sqrtm_psd(cov_a)
    inner = root_a @ cov_b @ root_a
    eig = np.linalg.eigvalsh((inner + inner.T) / 2)
    trace_sqrt = float(np.sqrt(np.clip(eig, 0.0, None)).sum())
    diff = mu_a - mu_b
    value = float(diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2.0 * trace_sqrt)
    return max(value, 0.0)


def _features_of(x, batch_size: int, device) -> np.ndarray:
    t = x if torch.is_tensor(x) else torch.as_tensor(np.asarray(x))
    if t.dim() == 2:  # already features (N, D)
        return t.detach().cpu().double().numpy()
    feats = classifier_features(t, batch_size=batch_size, device=device)
    return feats.double().numpy()


def frechet_distance(real, fake, batch_size: int = 500, device=None) -> float:
    """Frechet distance between Gaussians fitted to two sets' classifier features.

    FD = |mu_r - mu_f|^2 + tr(S_r + S_f - 2 (S_r^1/2 S_f S_r^1/2)^1/2), computed in
    float64 with symmetric eigen-decompositions (no complex square roots). `real`
    and `fake` are image batches, or (N, D) feature matrices already computed
    with `classifier_features`. The value is biased upwards for small samples:
    compare it only with `real_reference_fd` at the same sizes.
    Introduced in 06_dcgan.
    """
    a = _features_of(real, batch_size, device)
    b = _features_of(fake, batch_size, device)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature dimensions differ: {a.shape[1]} vs {b.shape[1]}")
    return _frechet_from_features(a, b)


def _real_outputs(split: str, source: str, device) -> tuple[torch.Tensor, ...]:
    """Cached (features, logits) of a real split, in `data.mnist` order."""
    dev = torch.device(device) if device is not None else torch.device("cpu")
    key = (source, split, str(dev))
    if key not in _REAL_OUTPUTS:
        images, _ = data.mnist(split, source=source)
        _REAL_OUTPUTS[key] = _classify(images, 1000, dev)
    return _REAL_OUTPUTS[key]


REFERENCES = ("heldout", "train")


def _real_sets(
    n_compare: int, n_real: int, seed: int, source: str, device,
    reference: str = "heldout",
):
    """Disjoint real sets, as ((features, logits), (features, logits)): the
    reference set of `n_real` held-out digits, and a comparison set of `n_compare`
    real digits that stands in for a perfect generator.

    With ``reference="heldout"`` (the default) the comparison digits are other
    held-out digits, which the classifier never saw, like a generator's samples;
    with ``"train"`` they come from the classifier's training digits, whose
    features are not those of unseen digits (the course's reference before the
    change, kept for comparison). Drawn with a generator seeded by `seed` alone
    (the global RNGs are untouched).
    """
    if reference not in REFERENCES:
        raise ValueError(f"reference must be one of {REFERENCES}, got {reference!r}")
    held = _real_outputs("heldout", source, device)
    n_held = len(held[0])
    rng = np.random.default_rng(seed)
    if reference == "heldout":
        if n_real < 2 or n_compare < 2 or n_real + n_compare > n_held:
            raise ValueError(
                f"the held-out reference needs two disjoint sets of held-out digits: "
                f"n_real + compared digits must be at most {n_held} (the {source} "
                f"held-out split) and each at least 2, got {n_real} + {n_compare}; "
                f"with the bundled data use n_real=500 and 500 digits per draw"
            )
        order = rng.permutation(n_held)
        ref = torch.from_numpy(np.sort(order[:n_real]))
        cmp = torch.from_numpy(np.sort(order[n_real : n_real + n_compare]))
        return (held[0][ref], held[1][ref]), (held[0][cmp], held[1][cmp])
    train = _real_outputs("train", source, device)
    n_train = len(train[0])
    if not 2 <= n_real <= n_held:
        raise ValueError(
            f"n_real must be between 2 and {n_held} (the {source} held-out "
            f"split), got {n_real}"
        )
    if not 2 <= n_compare <= n_train:
        raise ValueError(
            f"need between 2 and {n_train} samples to compare (the {source} "
            f"training split), got {n_compare}"
        )
    ref = torch.from_numpy(np.sort(rng.choice(n_held, n_real, replace=False)))
    cmp = torch.from_numpy(np.sort(rng.choice(n_train, n_compare, replace=False)))
    return (held[0][ref], held[1][ref]), (train[0][cmp], train[1][cmp])


def real_reference_fd(
    n: int = 500,
    seed: int = 0,
    n_real: int | None = None,
    source: str = "bundled",
    device=None,
    reference: str = "heldout",
) -> float:
    """The Frechet distance between two disjoint sets of real digits.

    `n` real digits against `n_real` (default `n`) held-out digits, the
    reference set `evaluate_images` compares generated digits with. By default
    the `n` digits are other held-out digits, never seen by the classifier, as a
    perfect generator's samples would be: this is the floor such a generator
    reaches with samples of that size; show it next to every FD. With the
    bundled data (1,000 held-out digits) ``n + n_real`` is at most 1,000.
    ``reference="train"`` draws the `n` digits from the classifier's training
    split instead. Introduced in 06_dcgan.
    """
    n_real = n if n_real is None else n_real
    (ref, _), (cmp, _) = _real_sets(n, n_real, seed, source, device, reference)
    return _frechet_from_features(ref.double().numpy(), cmp.double().numpy())


# ---------------------------------------------------------- class statistics
def confident_share(
    images, threshold: float = 0.9, batch_size: int = 500, device=None
) -> float:
    """Share of images whose top class probability exceeds `threshold`.

    Real held-out digits score about 0.95; noise and smudges score low.
    Introduced in 06_dcgan.
    """
    top = predict_proba(images, batch_size=batch_size, device=device).max(dim=1).values
    return float((top > threshold).double().mean())


def class_histogram(
    images_or_labels, normalize: bool = False, batch_size: int = 500, device=None
) -> np.ndarray:
    """Counts (or with `normalize`, proportions) of the 10 predicted classes.

    Takes images (classified here) or integer labels already predicted.
    Introduced in 06_dcgan.
    """
    labels = _labels_from(images_or_labels, batch_size, device)
    counts = np.bincount(labels, minlength=N_CLASSES)
    if normalize:
        return counts / max(counts.sum(), 1)
    return counts


def class_kl_uniform(images_or_labels, batch_size: int = 500, device=None) -> float:
    """KL(predicted-class histogram || uniform over 10 digits), in nats.

    0 for perfectly balanced classes, log(10) = 2.303 when every image is the
    same digit (total mode collapse). Empty classes contribute 0 (0 log 0 = 0).
    Introduced in 06_dcgan.
    """
    return kl_to_uniform(class_histogram(images_or_labels, False, batch_size, device))


def conditional_accuracy(
    images, requested_labels, batch_size: int = 500, device=None
) -> float:
    """Share of images the classifier assigns to the class they were asked for.

    Written for notebook 05 (conditional GAN and InfoGAN).
    """
    wanted = _labels_from(requested_labels)
    predicted = _labels_from(images, batch_size, device)
    if len(wanted) != len(predicted):
        raise ValueError(f"{len(predicted)} images but {len(wanted)} requested labels")
    return float(np.mean(predicted == wanted))


def matched_code_accuracy(
    codes,
    images_or_labels,
    return_mapping: bool = False,
    batch_size: int = 500,
    device=None,
    fit_on=None,
):
    """Accuracy of a discrete code as a digit label, after the best matching.

    InfoGAN's categorical code has no reason to call digit 3 "code 3": this
    finds the one-to-one assignment of codes to classes that maximises the
    number of agreements (Hungarian algorithm, scipy's linear_sum_assignment)
    and returns the share of samples it gets right. `images_or_labels` are the
    generated images (classified here) or their labels. With
    `return_mapping=True` returns (accuracy, {code: class}).

    By default the matching is fitted on the very samples it scores, which
    flatters a weak code: the best of 10! matchings fits part of the noise of
    the sample (codes that are pure noise score about 0.14 on 1,000 samples and 0.12 on
    5,000, not 0.1).
    `fit_on=(other_codes, other_images_or_labels)`, an independent sample of
    the same generator, fits the matching there and scores it here: a
    held-out estimate, unbiased for the matching it uses. A code the fitting
    sample never drew counts as wrong.
    Written for notebook 05 (conditional GAN and InfoGAN).
    """
    from scipy.optimize import linear_sum_assignment

    def counts(codes_, labels_, n_codes):
        table = np.zeros((n_codes, N_CLASSES), dtype=np.int64)
        np.add.at(table, (codes_, labels_), 1)
        return table

    c = _as_codes(codes)
    labels = _labels_from(images_or_labels, batch_size, device)
    if len(c) != len(labels):
        raise ValueError(f"{len(c)} codes but {len(labels)} images/labels")
    n_codes = int(c.max()) + 1 if len(c) else 0
    if fit_on is None:
        fit_table = table = counts(c, labels, n_codes)
    else:
        fit_c = _as_codes(fit_on[0])
        fit_labels = _labels_from(fit_on[1], batch_size, device)
        if len(fit_c) != len(fit_labels):
            raise ValueError(f"fit_on: {len(fit_c)} codes but {len(fit_labels)} "
                             "images/labels")
        n_codes = max(n_codes, int(fit_c.max()) + 1 if len(fit_c) else 0)
        fit_table = counts(fit_c, fit_labels, n_codes)
        table = counts(c, labels, n_codes)
    rows, cols = linear_sum_assignment(fit_table, maximize=True)
    accuracy = float(table[rows, cols].sum() / max(len(c), 1))
    if return_mapping:
        return accuracy, {int(r): int(k) for r, k in zip(rows, cols, strict=True)}
    return accuracy


# ----------------------------------------------------------------- one call
def evaluate_images(
    fake,
    n_real: int = 500,
    seed: int = 0,
    source: str = "bundled",
    batch_size: int = 500,
    device=None,
    draws: int = 1,
    reference: str = "heldout",
) -> dict[str, float]:
    """All image numbers for a batch of generated digits, next to real references.

    Generated features are compared with `n_real` held-out real digits; the
    reference is the same comparison made with as many other real digits
    instead (`real_reference_fd`): by default held-out digits the classifier never
    saw, disjoint from the first set, so the bundled data allow 500 against 500.
    With ``draws > 1`` the generated images are split into `draws` equal sets,
    each compared with its own random split of the held-out digits (drawn with
    `seed`), and both Frechet distances are averages over the draws. A single
    draw of 500 digits is noisy (the real-vs-real value has a standard deviation
    of about 2.5 around 12 over splits), and averaging shrinks that noise on both
    sides alike. The class statistics use all generated images.

    Returns a dict with fd_generated, fd_real_reference, confident_share_generated,
    confident_share_real, class_kl_uniform, class_kl_uniform_real, n_generated
    (per draw), n_real and draws (the "real" class statistics are those of all
    held-out digits). Introduced in 06_dcgan.
    """
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 1:
        raise ValueError(f"draws must be an int >= 1, got {draws!r}")
    feats, logits = _classify(fake, batch_size, device)
    n = len(feats) // draws
    if n < 2:
        raise ValueError(
            f"{len(feats)} generated images cannot be split into {draws} draws"
        )
    fd_fake, fd_real = [], []
    rng = np.random.default_rng(seed)
    for i in range(draws):
        draw_seed = seed if i == 0 else int(rng.integers(2**31))
        (ref, _), (cmp, _) = _real_sets(
            n, n_real, draw_seed, source, device, reference
        )
        ref_np = ref.double().numpy()
        part = feats[i * n : (i + 1) * n].double().numpy()
        fd_fake.append(_frechet_from_features(ref_np, part))
        fd_real.append(_frechet_from_features(ref_np, cmp.double().numpy()))

    held_logits = _real_outputs("heldout", source, device)[1]  # all of them

    def confident(lg: torch.Tensor) -> float:
        return float((F.softmax(lg, dim=1).max(dim=1).values > 0.9).double().mean())

    return {
        "n_generated": n,
        "n_real": n_real,
        "draws": draws,
        "fd_generated": float(np.mean(fd_fake)),
        "fd_real_reference": float(np.mean(fd_real)),
        "confident_share_generated": confident(logits),
        "confident_share_real": confident(held_logits),
        "class_kl_uniform": class_kl_uniform(logits.argmax(dim=1)),
        "class_kl_uniform_real": class_kl_uniform(held_logits.argmax(dim=1)),
    }

