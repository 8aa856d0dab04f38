import pytest

from course_utils import params
from course_utils.params import Bool, Choice, Float, Int, ParameterError


def ns(**kw):
    base = {"SEED": 0, "QUICK": False}
    base.update(kw)
    return base


def test_valid_parameters_pass_and_are_returned():
    out = params.validate(
        ns(LR=1e-3, DEVICE="cpu", N=5),
        SEED=Int(min=0),
        QUICK=Bool(),
        LR=Float(min=0, strict=True),
        DEVICE=Choice("cpu", "cuda"),
        N=Int(1, 10),
    )
    assert out == {"SEED": 0, "QUICK": False, "LR": 1e-3, "DEVICE": "cpu", "N": 5}


@pytest.mark.parametrize(
    "name, value, rule, message",
    [
        ("N", 0, Int(1, 10), r"N must be an int in \[1, 10\], got 0"),
        ("N", 2.5, Int(min=1), "N must be an int >= 1, got float 2.5"),
        ("N", True, Int(), "N must be an int"),
        ("LR", 0.0, Float(min=0, strict=True), "LR must be a number > 0"),
        ("LR", "1e-3", Float(), "LR must be a number, got str"),
        ("LR", float("nan"), Float(), "LR must be a number"),
        ("FLAG", "false", Bool(), "FLAG must be True or False.*-y"),
        ("DEVICE", "tpu", Choice("cpu", "cuda"), "DEVICE must be one of 'cpu', 'cuda'"),
    ],
)
def test_bad_parameters_raise_naming_the_parameter(name, value, rule, message):
    with pytest.raises(ParameterError, match=message):
        params.validate(
            ns(**{name: value}), SEED=Int(min=0), QUICK=Bool(), **{name: rule}
        )


def test_seed_and_quick_are_required():
    with pytest.raises(ValueError, match="QUICK"):
        params.validate(ns(), SEED=Int())
    with pytest.raises(ParameterError, match="not defined"):
        params.validate({"SEED": 0}, SEED=Int(), QUICK=Bool())
    with pytest.raises(ValueError, match="UPPER_CASE"):
        params.validate(ns(lr=1), SEED=Int(), QUICK=Bool(), lr=Float())
