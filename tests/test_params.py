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


PRESETS = {
    "laptop": {"NUM_STEPS": 3000, "LR": 2e-3, "DATA": "bundled"},
    "gpu": {"NUM_STEPS": 10_000, "LR": 2e-4, "DATA": "full"},
}


def test_preset_sets_the_parameters_still_at_their_defaults(capsys):
    space = ns(NUM_STEPS=3000, LR=2e-3, DATA="bundled")
    assert params.apply_preset(space, "gpu", PRESETS) == PRESETS["gpu"]
    assert {k: space[k] for k in PRESETS["gpu"]} == PRESETS["gpu"]
    assert "NUM_STEPS = 10000" in capsys.readouterr().out


def test_preset_keeps_what_the_user_changed(capsys):
    space = ns(NUM_STEPS=500, LR=2e-3, DATA="bundled")
    changed = params.apply_preset(space, "gpu", PRESETS)
    assert space["NUM_STEPS"] == 500 and "NUM_STEPS" not in changed
    assert space["LR"] == 2e-4 and space["DATA"] == "full"
    assert "kept, as you changed them from the defaults: NUM_STEPS = 500" in (
        capsys.readouterr().out)
    # 3000.0 and 0.002 are the defaults 3000 and 2e-3 written otherwise
    space = ns(NUM_STEPS=3000.0, LR=0.002, DATA="bundled")
    assert params.apply_preset(space, "gpu", PRESETS) == PRESETS["gpu"]
    # True is not the int 1, nor 1 the bool True
    flags = {"laptop": {"N": 1, "FLAG": True}, "gpu": {"N": 2, "FLAG": False}}
    space = ns(N=True, FLAG=1)
    assert params.apply_preset(space, "gpu", flags) == {}
    assert space["N"] is True and space["FLAG"] == 1


def test_base_preset_changes_nothing_and_bad_names_raise():
    space = ns(NUM_STEPS=500, LR=2e-3, DATA="bundled")
    assert params.apply_preset(space, "laptop", PRESETS) == {}
    assert space["NUM_STEPS"] == 500
    with pytest.raises(ParameterError, match="PRESET must be one of 'laptop', 'gpu'"):
        params.apply_preset(space, "tpu", PRESETS)
    with pytest.raises(ParameterError, match="got list"):
        params.apply_preset(space, ["gpu"], PRESETS)
    with pytest.raises(ParameterError, match="LR is not defined"):
        params.apply_preset(ns(NUM_STEPS=3000, DATA="bundled"), "gpu", PRESETS)
    with pytest.raises(ValueError, match="lacks"):
        params.apply_preset(space, "gpu", {"laptop": {}, "gpu": {"LR": 1.0}})
