"""The course's digit classifier: the yardstick for generated MNIST images.

Introduced in 06_dcgan.

No Inception network can be downloaded, and a digit course does not need one:
this small CNN, trained by `scripts/train_classifier.py` on the bundled training
split (4,000 digits), provides the class probabilities and the 64-dimensional
penultimate-layer features that `course_utils.metrics` turns into numbers. Its
weights ship as `data/digit_classifier.pt`; their SHA-256 is recorded below and
checked on every load.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from course_utils import paths
from course_utils.data import verify_sha256

__all__ = [
    "WEIGHTS_FILE",
    "CLASSIFIER_SHA256",
    "DigitClassifier",
    "load_classifier",
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
    gives the 10 class logits. Introduced in 06_dcgan.
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

    Introduced in 06_dcgan.
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
    Introduced in 06_dcgan.
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


@torch.no_grad()
def accuracy(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000
) -> float:
    """Share of `images` whose predicted class equals `labels` (model in eval mode).

    Introduced in 06_dcgan.
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
