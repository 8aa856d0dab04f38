"""The course's digit classifier: the yardstick for generated MNIST images.

Introduced in 04_mode_collapse.

No Inception network can be downloaded, and a digit course does not need one:
this small CNN, trained by `scripts/train_classifier.py` on the bundled training
split (4,000 digits), provides the class probabilities and the 64-dimensional
penultimate-layer features that `course_utils.metrics` turns into numbers. Its
weights ship as `data/digit_classifier.pt`; their SHA-256 is recorded below and
checked on every load.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from course_utils import paths
from course_utils.data import verify_sha256

__all__ = [
    "WEIGHTS_FILE",
    "CLASSIFIER_SHA256",
    "DigitClassifier",
    "load_classifier",
    "augment",
    "junk_images",
    "train_classifier",
    "accuracy",
]

WEIGHTS_FILE = "digit_classifier.pt"
# SHA-256 of data/digit_classifier.pt, as written by scripts/train_classifier.py.
CLASSIFIER_SHA256 = "b996d238bd9aeeb862bb865869c23e845a517bf3cb05b1785246fb53963221f7"
_FIX_HINT = (
    "Restore it with `git checkout -- data/digit_classifier.pt`, or retrain it "
    "with `python scripts/train_classifier.py` and record the new checksum as "
    "CLASSIFIER_SHA256 in course_utils/classifier.py."
)

# (path, size, mtime_ns, expected sha, device) -> model
_MODEL_CACHE: dict[tuple, DigitClassifier] = {}


class DigitClassifier(nn.Module):
    """Two convolutions and one hidden layer; input (N, 1, 28, 28) in [-1, 1].

    `features(x)` gives the 64-dimensional hidden layer (after its ReLU), the
    representation in which the course measures Frechet distances; `forward(x)`
    gives the 10 class logits. Introduced in 04_mode_collapse.
    """

    feature_dim = 64
    n_classes = 10

    def __init__(self, dropout: float = 0.3):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, 32, kernel_size=3, padding=1),  # (N, 32, 28, 28)
            nn.ReLU(),
            nn.MaxPool2d(2),  # (N, 32, 14, 14)
            nn.Conv2d(32, 32, kernel_size=3, padding=1),  # (N, 32, 14, 14)
            nn.ReLU(),
            nn.MaxPool2d(2),  # (N, 32, 7, 7)
            nn.Flatten(),  # (N, 1568)
        )
        self.hidden = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(32 * 7 * 7, self.feature_dim),  # (N, 64)
            nn.ReLU(),
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(self.feature_dim, self.n_classes)  # (N, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate-layer features, shape (N, 64)."""
        return self.hidden(self.conv(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits, shape (N, 10)."""
        return self.head(self.dropout(self.features(x)))


def default_weights_path() -> Path:
    """`data/digit_classifier.pt` (or under `$COURSE_DATA_DIR`).

    Introduced in 04_mode_collapse.
    """
    return Path(paths.DATA_DIR) / WEIGHTS_FILE


def load_classifier(
    device: str | torch.device = "cpu",
    path: str | os.PathLike | None = None,
    expected_sha256: str | None = None,
) -> DigitClassifier:
    """Return the course's trained classifier in eval mode, checksum verified.

    The model is cached per file and device: repeated calls are free and return
    the same object, so do not train or modify it (copy it first). Its
    parameters do not require gradients; gradients still flow to its input.
    `expected_sha256` defaults to `CLASSIFIER_SHA256`.
    Raises `FileNotFoundError` if the weights are missing and
    `course_utils.data.ChecksumError` if their SHA-256 differs.
    Introduced in 04_mode_collapse.
    """
    path = Path(path) if path is not None else default_weights_path()
    if not path.is_file():
        raise FileNotFoundError(f"classifier weights {path} are missing. " + _FIX_HINT)
    device = torch.device(device)
    stat = path.stat()
    expected = expected_sha256 or CLASSIFIER_SHA256
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, expected, str(device))
    model = _MODEL_CACHE.get(key)
    if model is None:
        verify_sha256(path, expected, fix=_FIX_HINT)
        state = torch.load(path, map_location="cpu", weights_only=True)
        model = DigitClassifier()
        model.load_state_dict(state)
        model.eval().requires_grad_(False).to(device)
        _MODEL_CACHE[key] = model
    return model


def augment(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Randomly rotate (+-10 deg), scale (0.9..1.1) and shift (+-2 px) images.

    Works on a batch (N, 1, 28, 28) in [-1, 1]; the uncovered border is filled
    with background (-1). Draws from `generator` (CPU) for reproducibility.
    Introduced in 04_mode_collapse.
    """
    n = x.shape[0]

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(n, generator=generator)

    angle = uniform(-10.0, 10.0) * (math.pi / 180.0)
    scale = uniform(0.9, 1.1)
    shift = torch.stack([uniform(-2.0, 2.0), uniform(-2.0, 2.0)], dim=1) / 14.0
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    row0 = torch.stack([cos, -sin, shift[:, 0]], dim=1)
    row1 = torch.stack([sin, cos, shift[:, 1]], dim=1)
    theta = torch.stack([row0, row1], dim=1).to(x)  # (N, 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    # grid_sample pads with 0; shift the background to 0 first, then back to -1.
    out = F.grid_sample(x + 1.0, grid, padding_mode="zeros", align_corners=False)
    return out - 1.0


def junk_images(
    n: int, generator: torch.Generator | None = None, digits: torch.Tensor | None = None
) -> torch.Tensor:
    """Images that are not digits, (n, 1, 28, 28) in [-1, 1], for outlier exposure.

    A mix of uniform noise, smooth random blobs, sparse speckle and, when real
    `digits` are given, digits with their pixels shuffled (the same amount of
    ink, no shape). The classifier learns to spread its probability over the
    classes for these, so that noise and smudges from an untrained generator
    do not count as confident digits. Introduced in 04_mode_collapse.
    """

    def rand(*shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=generator)

    kinds = torch.randint(0, 4 if digits is not None else 3, (n,), generator=generator)
    out = torch.empty(n, 1, 28, 28)
    # 0: uniform noise at a random contrast around a random grey level
    noise = rand(n, 1, 28, 28) * 2 - 1
    level, amp = rand(n, 1, 1, 1) * 1.6 - 0.8, rand(n, 1, 1, 1) * 0.8 + 0.2
    out[:] = (level + amp * noise).clamp(-1, 1)
    # 1: smooth blobs: coarse noise (4x4 to 14x14) upsampled and thresholded
    size = int(4 + rand(1).item() * 10)
    coarse = F.interpolate(rand(n, 1, size, size), size=(28, 28), mode="bilinear")
    cut = rand(n, 1, 1, 1) * 0.5 + 0.4
    blobs = ((coarse - cut) * 6).clamp(0, 1) * 2 - 1
    out[kinds == 1] = blobs[kinds == 1]
    # 2: sparse speckle on a dark background
    density = rand(n, 1, 1, 1) * 0.3 + 0.02
    speckle = torch.where(rand(n, 1, 28, 28) < density, rand(n, 1, 28, 28) * 2 - 1, -1)
    out[kinds == 2] = speckle[kinds == 2]
    # 3: real digits with their pixels permuted
    if digits is not None:
        chosen = (kinds == 3).nonzero().flatten()
        if len(chosen):
            pick = torch.randint(0, len(digits), (len(chosen),), generator=generator)
            source = digits[pick]
            perm = torch.argsort(rand(len(chosen), 784), dim=1)
            flat = source.reshape(len(chosen), 784).gather(1, perm)
            out[chosen] = flat.reshape(-1, 1, 28, 28)
    return out


@torch.no_grad()
def accuracy(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000
) -> float:
    """Share of `images` whose predicted class equals `labels` (model in eval mode).

    Introduced in 04_mode_collapse.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    correct = 0
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size].to(device)
        pred = model(batch).argmax(dim=1).cpu()
        correct += int((pred == labels[start : start + batch_size].cpu()).sum())
    model.train(was_training)
    return correct / max(len(images), 1)


def train_classifier(
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    epochs: int = 20,
    batch_size: int = 64,
    lr: float = 2e-3,
    weight_decay: float = 1e-4,
    use_augment: bool = True,
    junk_per_batch: int = 16,
    junk_weight: float = 0.5,
    seed: int = 0,
    eval_images: torch.Tensor | None = None,
    eval_labels: torch.Tensor | None = None,
    log=print,
) -> DigitClassifier:
    """Train a fresh `DigitClassifier` on CPU tensors; return it in eval mode.

    Adam with a cosine learning-rate decay, cross-entropy, light augmentation,
    and outlier exposure: each batch also holds `junk_per_batch` non-digits
    (`junk_images`) whose target is the uniform distribution over the classes,
    weighted by `junk_weight`.
    Reproducible for a fixed seed, torch version and thread count (the script
    also turns on deterministic algorithms and uses one thread); torch's global
    random state is left as it was.
    Introduced in 04_mode_collapse (used by scripts/train_classifier.py).
    """
    # Work on a private copy of torch's global RNG: seeded here, restored after.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # initialisation and dropout
        generator = torch.Generator().manual_seed(seed)  # batch order, augmentation
        model = DigitClassifier()
        optimiser = torch.optim.Adam(
            model.parameters(), lr=lr, weight_decay=weight_decay
        )
        n_steps = epochs * math.ceil(len(images) / batch_size)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, n_steps)
        start = time.perf_counter()
        for epoch in range(1, epochs + 1):
            model.train()
            order = torch.randperm(len(images), generator=generator)
            total = 0.0
            for i in range(0, len(images), batch_size):
                index = order[i : i + batch_size]
                x, y = images[index], labels[index]
                if use_augment:
                    x = augment(x, generator)
                if junk_per_batch:
                    junk = junk_images(junk_per_batch, generator, images[index])
                    logits = model(torch.cat([x, junk]))
                    digit_loss = F.cross_entropy(logits[: len(x)], y)
                    # cross-entropy to the uniform distribution over the classes
                    junk_loss = -F.log_softmax(logits[len(x) :], dim=1).mean()
                    loss = digit_loss + junk_weight * junk_loss
                else:
                    loss = F.cross_entropy(model(x), y)
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                schedule.step()
                total += float(loss.detach()) * len(index)
            line = f"epoch {epoch:2d}  loss {total / len(images):.4f}"
            if eval_images is not None and eval_labels is not None:
                held_out = accuracy(model, eval_images, eval_labels)
                line += f"  held-out accuracy {held_out:.4f}"
            if log is not None:
                log(f"{line}  ({time.perf_counter() - start:.1f} s)")
    return model.eval()
