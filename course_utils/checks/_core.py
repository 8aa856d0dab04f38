"""Machinery shared by every checker: registration, strict types, private RNG."""

from __future__ import annotations

import contextlib
import io
import math
import random
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

__all__ = [
    "ExerciseFailed",
    "exercise",
    "check",
    "registered",
    "plain_float",
    "plain_tensor",
    "call_student",
    "private_rng",
    "require_close",
]


class ExerciseFailed(AssertionError):
    """The answer to an exercise is wrong; the message says how and hints why."""


@dataclass(frozen=True)
class _Checker:
    exercise_id: str
    summary: str
    fn: Callable


_REGISTRY: dict[str, _Checker] = {}

_NUMPY_SCALARS = (np.float64, np.float32, np.float16, np.int64, np.int32, np.int16)


def exercise(exercise_id: str, summary: str):
    """Register the decorated function as the checker of ``exercise_id``.

    ``summary`` ends the success line: ``Exercise 1.1 passed: <summary>``.
    """

    def decorate(fn):
        if exercise_id in _REGISTRY:
            raise ValueError(f"exercise {exercise_id} already has a checker")
        _REGISTRY[exercise_id] = _Checker(exercise_id, summary, fn)
        return fn

    return decorate


def registered() -> list[str]:
    """The exercise ids that have a checker."""
    return sorted(_REGISTRY, key=lambda s: tuple(int(p) for p in s.split(".")))


def check(exercise_id: str, *answers) -> None:
    """Check the answer(s) to ``exercise_id``; print one line or raise."""
    try:
        checker = _REGISTRY[exercise_id]
    except KeyError:
        raise KeyError(f"no checker for exercise {exercise_id!r}") from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with private_rng(_seed_for(exercise_id)):
            checker.fn(*answers)
    print(f"Exercise {exercise_id} passed: {checker.summary}")


def _seed_for(exercise_id: str) -> int:
    # A fixed seed per exercise, not the notebook's SEED: the checker's inputs
    # do not depend on anything the student controls.
    return 7919 * sum((i + 1) * ord(c) for i, c in enumerate(exercise_id))


@contextlib.contextmanager
def private_rng(seed: int):
    """Seed Python, NumPy and torch inside the block and restore their states after."""
    py_state = random.getstate()
    np_state = np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        random.seed(seed)
        np.random.seed(seed % 2**32)
        torch.manual_seed(seed)
        try:
            yield
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)


def call_student(exercise_id: str, fn, *args, **kwargs):
    """Call the student's function with output swallowed and errors explained."""
    if not callable(fn):
        raise ExerciseFailed(
            f"Exercise {exercise_id}: expected a function, got {type(fn).__name__}."
        )
    sink = io.StringIO()
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            return fn(*args, **kwargs)
    except NotImplementedError:
        raise ExerciseFailed(
            f"Exercise {exercise_id} is not solved yet: replace the "
            "`raise NotImplementedError` line with your code."
        ) from None
    except ExerciseFailed:
        raise
    except Exception as exc:  # the student's code crashed: say where
        raise ExerciseFailed(
            f"Exercise {exercise_id}: your code raised {type(exc).__name__}: {exc}"
        ) from exc


def plain_float(exercise_id: str, value, what: str = "the result") -> float:
    """``value`` as a float, accepting only exact numeric types.

    Accepted: ``int``, ``float``, NumPy scalars, and a one-element exact
    ``torch.Tensor``. Subclasses are refused, so their methods are never called.
    """
    kind = type(value)
    if kind is float or kind is int or kind in _NUMPY_SCALARS:
        result = float(value)
    elif kind is torch.Tensor:
        if torch.Tensor.numel(value) != 1:
            raise ExerciseFailed(
                f"Exercise {exercise_id}: {what} should be a single number, got a "
                f"tensor of shape {tuple(torch.Tensor.size(value))}."
            )
        result = float(torch.Tensor.item(torch.Tensor.detach(value)))
    else:
        raise ExerciseFailed(
            f"Exercise {exercise_id}: {what} should be a number (float or a "
            f"one-element torch.Tensor), got {kind.__name__}."
        )
    if not math.isfinite(result):
        raise ExerciseFailed(
            f"Exercise {exercise_id}: {what} is {result}. NaN or inf usually comes "
            "from log(0) or 0/0: work with logits (softplus) or clamp."
        )
    return result


def plain_tensor(exercise_id: str, value, what: str = "the result", shape=None):
    """A detached float64 copy of ``value``, which must be an exact torch.Tensor."""
    if type(value) is not torch.Tensor:
        raise ExerciseFailed(
            f"Exercise {exercise_id}: {what} should be a torch.Tensor, got "
            f"{type(value).__name__}."
        )
    out = torch.Tensor.clone(torch.Tensor.detach(value)).to(torch.float64).cpu()
    if shape is not None and tuple(out.shape) != tuple(shape):
        raise ExerciseFailed(
            f"Exercise {exercise_id}: {what} should have shape {tuple(shape)}, got "
            f"{tuple(out.shape)}."
        )
    if not bool(torch.isfinite(out).all()):
        raise ExerciseFailed(f"Exercise {exercise_id}: {what} contains NaN or inf.")
    return out


def require_close(
    exercise_id: str,
    got,
    expected,
    *,
    what: str,
    hint: str,
    atol: float = 1e-6,
    rtol: float = 1e-5,
) -> None:
    """Raise :class:`ExerciseFailed` unless ``got`` and ``expected`` agree."""
    got_t = torch.as_tensor(got, dtype=torch.float64)
    exp_t = torch.as_tensor(expected, dtype=torch.float64)
    if got_t.shape != exp_t.shape or not torch.allclose(
        got_t, exp_t, atol=atol, rtol=rtol
    ):
        if got_t.numel() == 1 and exp_t.numel() == 1:
            detail = f"got {got_t.item():.6g}, expected {exp_t.item():.6g}"
        else:
            err = (
                (got_t - exp_t).abs().max().item()
                if got_t.shape == exp_t.shape
                else None
            )
            detail = (
                f"largest difference {err:.3g}"
                if err is not None
                else f"shape {tuple(got_t.shape)} instead of {tuple(exp_t.shape)}"
            )
        raise ExerciseFailed(
            f"Exercise {exercise_id}: {what} is wrong ({detail}). {hint}"
        )
