"""Tests of course_utils.classifier: the shipped digit classifier and its training."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from course_utils import classifier, data, paths
from solutions import load_script


# scripts/train_classifier.py, where the classifier's training code lives
script = load_script("train_classifier.py", "train_classifier_script")

WEIGHTS = Path(paths.DATA_DIR) / classifier.WEIGHTS_FILE


def test_recorded_checksum_matches_weights_and_metadata():
    assert data.sha256_file(WEIGHTS) == classifier.CLASSIFIER_SHA256
    meta = json.loads(WEIGHTS.with_suffix(".json").read_text())
    assert meta["sha256"] == classifier.CLASSIFIER_SHA256
    assert meta["data_sha256"] == data.MNIST_SHA256
    assert WEIGHTS.stat().st_size < 1_000_000


def test_load_gives_cached_eval_model_without_parameter_gradients():
    model = classifier.load_classifier()
    assert isinstance(model, classifier.DigitClassifier)
    assert not model.training
    assert all(not p.requires_grad for p in model.parameters())
    assert classifier.load_classifier("cpu") is model
    x = torch.zeros(3, 1, 28, 28) - 1
    assert model.features(x).shape == (3, classifier.DigitClassifier.feature_dim)
    assert model(x).shape == (3, 10)
    # Gradients still reach the input (e.g. for a classifier-guided loss).
    x.requires_grad_(True)
    model(x).sum().backward()
    assert x.grad is not None


def test_heldout_accuracy_at_least_97_percent():
    images, labels = data.mnist("heldout")
    model = classifier.load_classifier()
    acc = classifier.accuracy(model, images, labels)
    assert acc >= 0.97, acc
    with torch.no_grad():
        predicted = model(images).argmax(dim=1)
    for digit in range(10):
        assert float((predicted[labels == digit] == digit).float().mean()) >= 0.9


def test_checksum_mismatch_raises(tmp_path):
    damaged = bytearray(WEIGHTS.read_bytes())
    damaged[-100] ^= 0x01
    path = tmp_path / classifier.WEIGHTS_FILE
    path.write_bytes(bytes(damaged))
    with pytest.raises(data.ChecksumError, match="SHA-256"):
        classifier.load_classifier(path=path)
    # An intact copy elsewhere loads, and the checksum can be given explicitly.
    shutil.copy(WEIGHTS, path)
    assert classifier.load_classifier(path=path) is not None
    with pytest.raises(data.ChecksumError):
        classifier.load_classifier(path=path, expected_sha256="0" * 64)


def test_missing_weights_say_how_to_retrain(tmp_path):
    with pytest.raises(FileNotFoundError, match="train_classifier"):
        classifier.load_classifier(path=tmp_path / "nothing.pt")


def test_training_code_is_not_in_the_students_package():
    for name in ("augment", "junk_images", "train_classifier"):
        assert not hasattr(classifier, name)


def test_augment_keeps_shape_range_and_background():
    images, _ = data.mnist("heldout")
    gen = torch.Generator().manual_seed(0)
    out = script.augment(images[:64], gen)
    assert out.shape == (64, 1, 28, 28)
    assert float(out.min()) >= -1.0001 and float(out.max()) <= 1.0001
    assert float(out[..., 0, :].mean()) < -0.99  # border stays background
    assert not torch.equal(out, images[:64])
    again = script.augment(images[:64], torch.Generator().manual_seed(0))
    assert torch.equal(out, again)


def test_junk_images_are_not_digits_to_the_classifier():
    gen = torch.Generator().manual_seed(1)
    digits, _ = data.mnist("heldout")
    junk = script.junk_images(200, gen, digits)
    assert junk.shape == (200, 1, 28, 28)
    assert float(junk.min()) >= -1.0 and float(junk.max()) <= 1.0
    with torch.no_grad():
        top = torch.softmax(classifier.load_classifier()(junk), dim=1).max(1).values
    assert float((top > 0.9).float().mean()) < 0.05


def test_training_is_reproducible():
    images, labels = data.mnist("train")
    images, labels = images[:256], labels[:256]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    rng_state = torch.get_rng_state()
    try:
        kwargs = dict(epochs=1, seed=3, log=None)
        first = script.train_classifier(images, labels, **kwargs)
        second = script.train_classifier(images, labels, **kwargs)
        third = script.train_classifier(images, labels, **{**kwargs, "seed": 4})
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(torch.get_rng_state(), rng_state)  # global RNG untouched
    for name, value in first.state_dict().items():
        assert torch.equal(value, second.state_dict()[name]), name
    assert not torch.equal(first.head.weight, third.head.weight)
    assert not first.training
