import random

import numpy as np
import pytest
import torch

from course_utils import checks
from course_utils.checks import _core


class LyingFloat(float):
    def __eq__(self, other):
        return True

    def __repr__(self):
        return "whatever you expect"


class LyingTensor(torch.Tensor):
    pass


def test_plain_float_accepts_only_exact_types():
    assert _core.plain_float("x", 2) == 2.0
    assert _core.plain_float("x", np.float32(0.5)) == 0.5
    assert _core.plain_float("x", torch.tensor([1.5])) == 1.5
    for bad in (
        LyingFloat(1.0),
        torch.tensor(1.0).as_subclass(LyingTensor),
        "1.0",
        [1.0],
        None,
    ):
        with pytest.raises(checks.ExerciseFailed):
            _core.plain_float("x", bad)
    with pytest.raises(checks.ExerciseFailed, match="single number"):
        _core.plain_float("x", torch.ones(3))
    with pytest.raises(checks.ExerciseFailed, match="inf"):
        _core.plain_float("x", float("inf"))


def test_plain_tensor_checks_type_and_shape():
    out = _core.plain_tensor("x", torch.ones(2, 3), shape=(2, 3))
    assert out.dtype == torch.float64
    with pytest.raises(checks.ExerciseFailed, match="shape"):
        _core.plain_tensor("x", torch.ones(3, 2), shape=(2, 3))
    with pytest.raises(checks.ExerciseFailed, match="torch.Tensor"):
        _core.plain_tensor("x", np.ones(3))


def test_private_rng_leaves_the_notebook_stream_alone():
    torch.manual_seed(1)
    np.random.seed(1)
    random.seed(1)
    expected = (torch.rand(1).item(), np.random.rand(), random.random())
    torch.manual_seed(1)
    np.random.seed(1)
    random.seed(1)
    with _core.private_rng(99):
        torch.rand(100)
        np.random.rand(100)
        random.random()
    assert (torch.rand(1).item(), np.random.rand(), random.random()) == expected


def test_call_student_swallows_output_and_explains_errors(capsys):
    def noisy():
        print("debug!")
        return 3

    assert _core.call_student("9.9", noisy) == 3
    assert capsys.readouterr().out == ""

    def stub():
        raise NotImplementedError("Exercise 9.9")

    with pytest.raises(checks.ExerciseFailed, match="not solved yet"):
        _core.call_student("9.9", stub)
    with pytest.raises(checks.ExerciseFailed, match="raised ZeroDivisionError"):
        _core.call_student("9.9", lambda: 1 / 0)
    with pytest.raises(checks.ExerciseFailed, match="expected a function"):
        _core.call_student("9.9", 42)


def test_check_prints_exactly_one_line(capsys):
    checks.check("1.3", lambda x, y, h: (x - h * y, y + h * x))
    assert capsys.readouterr().out == (
        "Exercise 1.3 passed: one simultaneous step of the bilinear game is right.\n"
    )
    with pytest.raises(KeyError, match="no checker"):
        checks.check("99.1", None)


def test_registered_ids_are_sorted_numerically():
    ids = checks.registered()
    assert ids == sorted(ids, key=lambda s: tuple(map(int, s.split("."))))
    assert {"1.1", "1.2", "1.3", "1.4"} <= set(ids)
