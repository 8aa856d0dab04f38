"""The checkers of 06_dcgan accept the reference solutions and refuse wrong ones."""

import math

import pytest
import torch
from torch import nn

from course_utils import checks
from solutions import solution


generator_block = solution("06_dcgan", "6.1")


dcgan_init = solution("06_dcgan", "6.2")


initial_weight = solution("06_dcgan", "6.3")


slerp = solution("06_dcgan", "6.4")


line_squared_length = solution("06_dcgan", "6.5")


SOLUTIONS = {
    "6.1": generator_block,
    "6.2": dcgan_init,
    "6.3": initial_weight,
    "6.4": slerp,
    "6.5": line_squared_length,
}


def _init_no_bn(module):
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def _init_bn_at_zero(module):
    _init_no_bn(module)
    if isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 0.0, 0.02)
        nn.init.zeros_(module.bias)


def _init_std_too_big(module):
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.2)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def _init_keeps_bias(module):
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def _init_crashes_on_activations(module):
    nn.init.normal_(module.weight, 0.0, 0.02)


def _init_uniform_same_std(module):  # mean 0, std 0.02, but not normal
    half_width = 0.02 * 3**0.5
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.uniform_(module.weight, -half_width, half_width)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def _init_everything_with_weights(module):  # hasattr instead of isinstance
    if isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
    elif hasattr(module, "weight"):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def _slerp_naive(z0, z1, t):  # no care for Omega = 0
    cos = torch.dot(z0, z1) / (z0.norm() * z1.norm())
    omega = torch.arccos(cos.clamp(-1.0, 1.0))
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(
        omega)


def _slerp_z0_when_parallel(z0, z1, t):  # right only when z1 = z0
    cos = torch.dot(z0, z1) / (z0.norm() * z1.norm())
    omega = torch.arccos(cos.clamp(-1.0, 1.0))
    if omega < 1e-4:
        return z0.clone()
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(
        omega)


def _block(k, s, p, output_padding=0):
    def make(i, o):
        return nn.Sequential(
            nn.ConvTranspose2d(i, o, k, s, p, output_padding=output_padding, bias=False),
            nn.BatchNorm2d(o), nn.ReLU())
    return make


WRONG = {
    "6.1": [
        lambda i, o: nn.Sequential(  # stride 1: no upsampling
            nn.ConvTranspose2d(i, o, 3, 1, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU()
        ),
        lambda i, o: nn.Sequential(  # ReLU before batch norm
            nn.ConvTranspose2d(i, o, 4, 2, 1, bias=False), nn.ReLU(), nn.BatchNorm2d(o)
        ),
        lambda i, o: nn.Sequential(  # a useless bias
            nn.ConvTranspose2d(i, o, 4, 2, 1), nn.BatchNorm2d(o), nn.ReLU()
        ),
        lambda i, o: nn.Sequential(  # LeakyReLU is the discriminator's
            nn.ConvTranspose2d(i, o, 4, 2, 1, bias=False),
            nn.BatchNorm2d(o),
            nn.LeakyReLU(0.2),
        ),
        lambda i, o: nn.Sequential(  # an ordinary convolution
            nn.Conv2d(i, o, 4, 2, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU()
        ),
        lambda i, o: [nn.ConvTranspose2d(i, o, 4, 2, 1, bias=False)],  # not a module
        _block(4, 2, 0),  # no padding: 2H + 2
        _block(4, 2, 2),  # too much padding: 2H - 2
        _block(2, 2, 0),  # doubles, but neighbouring outputs share no input
        _block(3, 2, 1, output_padding=1),  # doubles, with a patch and a checkerboard
        _block(3, 2, 0),  # 2H + 1, and a kernel that is not a multiple of the stride
        _block(6, 2, 2),  # doubles, but not the smallest kernel
    ],
    "6.2": [
        _init_no_bn,
        _init_bn_at_zero,
        _init_std_too_big,
        _init_keeps_bias,
        _init_crashes_on_activations,
        "not a function",
        _init_uniform_same_std,
        _init_everything_with_weights,
    ],
    "6.3": [
        lambda beta, n: (1 - beta) * beta**n,  # theta_0 entered like a step
        lambda beta, n: 1 - beta**n,  # the trained weights' share
        lambda beta, n: beta ** (n - 1),
        lambda beta, n: beta ** (n + 1),
        lambda beta, n: math.exp(-n * (1 - beta)),  # the continuous approximation
        lambda beta, n: 1 - n * (1 - beta),  # linearised
        lambda beta, n: beta * n,
        lambda beta, n: "beta ** n",  # not a number
    ],
    "6.4": [
        lambda z0, z1, t: (1 - t) * z0 + t * z1,  # linear
        lambda z0, z1, t: slerp(z0, z1, 1 - t),  # reversed
        lambda z0, z1, t: slerp(z0, z1, t).tolist(),  # not a tensor
        lambda z0, z1, t: slerp(z0 / z0.norm(), z1 / z1.norm(), t),  # loses the norms
        _slerp_naive,  # NaN when z0 = z1
        _slerp_z0_when_parallel,  # z0 for parallel codes of different lengths
    ],
    "6.5": [
        lambda d, t: float(d),  # the end points' length all along the line
        lambda d, t: (d * ((1 - t) ** 2 + t**2)) ** 0.5,  # the length, not squared
        lambda d, t: (1 - t) ** 2 + t**2,  # one coordinate
        lambda d, t: d * (1 - 2 * t),  # sign errors
        lambda d, t: d * (1 - 2 * t + t**2),  # one t^2 only
        lambda d, t: d / 2,  # the midpoint for every t
        lambda d, t: 2 * d * t * (1 - t),  # the cross term kept, the squares lost
        lambda d, t: d * ((1 - t) + t),  # weights not squared
        lambda d, t: torch.tensor([d * ((1 - t) ** 2 + t**2)] * 2),  # two numbers
    ],
}


@pytest.mark.parametrize("exercise_id", sorted(SOLUTIONS))
def test_solution_passes(exercise_id, capsys):
    checks.check(exercise_id, SOLUTIONS[exercise_id])
    out = capsys.readouterr().out
    assert out.startswith(f"Exercise {exercise_id} passed: ") and out.count("\n") == 1


@pytest.mark.parametrize(
    "exercise_id, index",
    [(ex, i) for ex, wrongs in WRONG.items() for i in range(len(wrongs))],
)
def test_wrong_answers_fail(exercise_id, index):
    with pytest.raises(checks.ExerciseFailed, match=f"Exercise {exercise_id}"):
        checks.check(exercise_id, WRONG[exercise_id][index])


def test_unsolved_exercise_says_so():
    def stub(*args):
        raise NotImplementedError("Exercise 6.1")

    with pytest.raises(checks.ExerciseFailed, match="not solved yet"):
        checks.check("6.1", stub)


def test_checks_leave_the_global_random_state_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    for exercise_id, solution in SOLUTIONS.items():
        checks.check(exercise_id, solution)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize(
    "exercise_id, answer, hint",
    [
        ("6.1", _block(4, 2, 0), "size .*2H \\+ 2.*solve"),
        ("6.1", _block(4, 2, 2), "2H - 2"),
        ("6.1", _block(2, 2, 0), "share nothing"),
        ("6.1", _block(3, 2, 1, output_padding=1), "output_padding patches"),
        ("6.1", _block(3, 2, 0), "checkerboard"),
        ("6.1", _block(6, 2, 2), "smallest kernel"),
        ("6.2", _init_uniform_same_std, "normal shape"),
        ("6.2", _init_everything_with_weights, "leave every other module alone"),
        ("6.3", lambda beta, n: (1 - beta) * beta**n, "starts as theta_0"),
        ("6.3", lambda beta, n: 1 - beta**n, "all the trained weights"),
        ("6.3", lambda beta, n: beta ** (n - 1), "one factor"),
        ("6.3", lambda beta, n: beta ** (n + 1), "one factor"),
        ("6.3", lambda beta, n: math.exp(-n * (1 - beta)), "approximation"),
        ("6.3", lambda beta, n: 1 - n * (1 - beta), "approximation"),
        ("6.3", lambda beta, n: beta * n, "Unroll the update"),
        ("6.4", _slerp_naive, "Omega is 0"),
        ("6.4", _slerp_z0_when_parallel, "differ in length"),
        ("6.5", lambda d, t: float(d), "end points only"),
        ("6.5", lambda d, t: (d * ((1 - t) ** 2 + t**2)) ** 0.5, "squared length"),
        ("6.5", lambda d, t: (1 - t) ** 2 + t**2, "d coordinates"),
        ("6.5", lambda d, t: d * (1 - 2 * t), "check the signs"),
        ("6.5", lambda d, t: d * (1 - 2 * t + t**2), "appears twice"),
        ("6.5", lambda d, t: d / 2, "midpoint t = 1/2 only"),
        ("6.5", lambda d, t: 2 * d * t * (1 - t), "cross term"),
        ("6.5", lambda d, t: d * ((1 - t) + t), "end points only"),
        ("6.5", lambda d, t: d * ((1 - t) ** 2 + t**2) + 1, "Expand"),
    ],
)
def test_new_wrong_answers_get_their_own_hint(exercise_id, answer, hint):
    with pytest.raises(checks.ExerciseFailed, match=hint):
        checks.check(exercise_id, answer)


def test_6_5_accepts_float32_numpy_and_int_answers():
    import numpy as np

    for answer in (
        lambda d, t: torch.tensor(d * ((1 - t) ** 2 + t**2), dtype=torch.float32),
        lambda d, t: np.float32(d * ((1 - t) ** 2 + t**2)),
        lambda d, t: np.float64(d) * ((1 - t) ** 2 + t**2),
    ):
        checks.check("6.5", answer)
    # an int is a number too, and fails where the answer is not whole
    with pytest.raises(checks.ExerciseFailed, match="Exercise 6.5: for d = 2"):
        checks.check("6.5", lambda d, t: int(d * ((1 - t) ** 2 + t**2)))


def test_6_1_first_refusal_names_the_size_and_the_second_solves_for_p():
    from course_utils.checks import _core

    _core._REFUSALS.clear()
    try:
        with pytest.raises(checks.ExerciseFailed) as first:
            checks.check("6.1", _block(4, 2, 0))
        assert "2H + 2" in str(first.value) and "p = 1" not in str(first.value)
        with pytest.raises(checks.ExerciseFailed) as second:
            checks.check("6.1", _block(4, 2, 0))
        assert "which is 2H when p = 1" in str(second.value)
    finally:
        _core._REFUSALS.clear()
