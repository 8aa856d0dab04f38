import random

import numpy as np
import pytest
import torch

from course_utils import utils


def draw():
    return random.random(), np.random.rand(), torch.rand(1).item()


def test_set_seed_makes_all_generators_repeat():
    utils.set_seed(123)
    first = draw()
    utils.set_seed(123)
    assert draw() == first
    utils.set_seed(124)
    assert draw() != first


def test_set_seed_sets_cudnn_flags():
    utils.set_seed(0)
    assert torch.backends.cudnn.deterministic is True
    assert torch.backends.cudnn.benchmark is False
    utils.set_seed(0, deterministic=False)
    assert torch.backends.cudnn.deterministic is False
    utils.set_seed(0)


@pytest.mark.parametrize("bad", [-1, 2**32, 1.5, "3", True])
def test_set_seed_rejects_bad_seeds(bad):
    with pytest.raises((TypeError, ValueError)):
        utils.set_seed(bad)


def test_get_device_cpu_and_auto(capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert utils.get_device("auto").type == "cpu"
    assert "Using device: cpu" in capsys.readouterr().out
    assert utils.get_device("cpu", verbose=False).type == "cpu"


def test_get_device_prefers_cuda_then_mps(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert utils.get_device("auto", verbose=False).type == "mps"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert utils.get_device("auto", verbose=False).type == "cuda"


def test_get_device_unavailable_says_what_is(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="available: .*cpu"):
        utils.get_device("cuda")
    with pytest.raises(ValueError, match="prefer must be"):
        utils.get_device("tpu")
