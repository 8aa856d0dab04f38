"""Seeding and device selection (introduced in 01_minimax_game)."""

from __future__ import annotations

import contextlib
import os
import random

import numpy as np
import torch

__all__ = ["set_seed", "get_device", "describe_device", "eval_mode"]


def set_seed(seed: int, deterministic: bool = True) -> None:
    """Seed Python, NumPy and torch (CPU and every GPU) with ``seed``.

    With ``deterministic=True`` cuDNN is asked for deterministic kernels and its
    autotuner is switched off, so that two runs with the same seed give the same
    numbers on the same machine. Introduced in 01_minimax_game.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}: {seed!r}")
    seed = int(seed)
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # seeds every CUDA device too
    os.environ["PYTHONHASHSEED"] = str(seed)  # for subprocesses started later
    torch.backends.cudnn.deterministic = deterministic
    torch.backends.cudnn.benchmark = not deterministic


def get_device(prefer: str = "auto", verbose: bool = True) -> torch.device:
    """Return the device to train on: cuda, then mps, then cpu.

    ``prefer`` is ``"auto"`` (the first available of cuda, mps, cpu) or one of
    ``"cpu"``, ``"cuda"``, ``"mps"``; asking for a device that is not available
    raises a ``RuntimeError`` that says which ones are. With ``verbose`` the
    choice is printed. Introduced in 01_minimax_game.
    """
    available = _available_devices()
    if prefer == "auto":
        name = available[0]
    elif prefer in ("cpu", "cuda", "mps"):
        if prefer not in available:
            raise RuntimeError(
                f"device {prefer!r} was asked for but is not available here; "
                f"available: {', '.join(available)}. Use DEVICE = 'auto' or 'cpu'."
            )
        name = prefer
    else:
        raise ValueError(
            f"prefer must be 'auto', 'cpu', 'cuda' or 'mps', got {prefer!r}"
        )
    device = torch.device(name)
    if verbose:
        print(f"Using device: {describe_device(device)}")
    return device


def describe_device(device: torch.device) -> str:
    """A one-line human description of ``device``."""
    device = torch.device(device)
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "mps":
        return "mps (Apple GPU)"
    return f"cpu ({torch.get_num_threads()} threads)"


def _available_devices() -> list[str]:
    names = []
    if torch.cuda.is_available():
        names.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        names.append("mps")
    names.append("cpu")
    return names


@contextlib.contextmanager
def eval_mode(*modules: torch.nn.Module):
    """Put ``modules`` in eval mode for the ``with`` block, and put each back in
    the mode it was in on the way out, also when the block raises.

    Eval mode changes what batch norm and dropout do (running statistics, no
    dropping); it does not switch off gradients: combine it with
    ``torch.no_grad()`` to sample or score. Introduced in 01_minimax_game.
    """
    was = [m.training for m in modules]
    try:
        for m in modules:
            m.eval()
        yield modules[0] if len(modules) == 1 else modules
    finally:
        for m, training in zip(modules, was):
            m.train(training)
