"""The checkers of notebooks 02 and 03 pass reference solutions and fail wrong ones."""

import io
import math
from contextlib import redirect_stdout

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_utils import checks
from course_utils.checks import ExerciseFailed, nb02
from solutions import solution


def _passes(exercise_id, answer):
    out = io.StringIO()
    with redirect_stdout(out):
        checks.check(exercise_id, answer)
    line = out.getvalue()
    assert line.startswith(f"Exercise {exercise_id} passed: ") and line.count("\n") == 1
    return line


def _fails(exercise_id, answer, match=None):
    with pytest.raises(ExerciseFailed, match=match):
        checks.check(exercise_id, answer)


def test_all_checkers_registered():
    assert {"2.1", "2.2", "2.3", "2.4", "2.5", "3.1", "3.2", "3.3"} <= set(
        checks.registered())


# -- 2.1 ---------------------------------------------------------------------


dstar_solution = solution("02_optimal_discriminator", "2.1")


def test_2_1_reference_passes_and_output_is_stable():
    assert _passes("2.1", dstar_solution) == _passes("2.1", dstar_solution)


@pytest.mark.parametrize("wrong,match", [
    (lambda p, q, x: q(x) / (p(x) + q(x)), "fake"),
    (lambda p, q, x: p(x) / q(x), "not a probability"),
    (lambda p, q, x: torch.full_like(x, 0.5), "only where"),
    (lambda p, q, x: p(x) / (p(x) + q(x)) ** 2, "D\\*"),
    (lambda p, q, x: (p(x) / (p(x) + q(x))).tolist(), "torch.Tensor"),
    (lambda p, q, x: (p(x) / (p(x) + q(x)))[:-1], "shape"),
])
def test_2_1_wrong_answers_fail(wrong, match):
    _fails("2.1", wrong, match)


def test_unsolved_exercise_says_so():
    def stub(p, q, x):
        raise NotImplementedError("Exercise 2.1")

    _fails("2.1", stub, "not solved yet")


# -- 2.3 ---------------------------------------------------------------------


jsd_solution = solution("02_optimal_discriminator", "2.3")


def test_2_3_reference_passes():
    _passes("2.3", jsd_solution)


def test_2_3_reference_values_agree_with_known_ones():
    x = torch.linspace(-12, 12, 24001, dtype=torch.float64)
    got = nb02._reference_jsd(nb02._gaussian(0, 1), nb02._gaussian(1.5, 0.7), x)
    assert got == pytest.approx(0.287769, abs=1e-6)
    x = torch.linspace(-4, 4, 8001, dtype=torch.float64)
    assert nb02._reference_jsd(nb02._bump(-2), nb02._bump(2), x) == pytest.approx(
        math.log(2), abs=1e-6
    )


def test_2_3_wrong_answers_fail():
    def naive(p, q, x):  # 0 * log 0 is nan
        px, qx = p(x), q(x)
        m = (px + qx) / 2
        return torch.trapezoid(px * torch.log(px / m) + qx * torch.log(qx / m), x) / 2

    _fails("2.3", naive, r"0 \* log\(0\) is nan")

    def doubled(p, q, x):
        return 2 * jsd_solution(p, q, x)

    _fails("2.3", doubled, "twice")

    def log2_based(p, q, x):
        return jsd_solution(p, q, x) / math.log(2)

    _fails("2.3", log2_based, "natural")

    def kl_only(p, q, x):
        px, qx = p(x), q(x)
        return torch.trapezoid(torch.xlogy(px, px / qx).nan_to_num(0.0), x)

    _fails("2.3", kl_only)
    _fails("2.3", lambda p, q, x: "0.287769", "number")


# -- 2.4 ---------------------------------------------------------------------


value_solution = solution("02_optimal_discriminator", "2.4")


def test_2_4_reference_passes():
    _passes("2.4", value_solution)


def _value_naive(p, q, logit, x):  # forms D: -inf where sigmoid rounds to 1
    d = torch.sigmoid(logit(x))
    return torch.trapezoid(p(x) * torch.log(d) + q(x) * torch.log(1 - d), x)


def _value_log1p(p, q, logit, x):  # log1p(-D) does not help once D is exactly 1
    d = torch.sigmoid(logit(x))
    return torch.trapezoid(p(x) * torch.log(d) + q(x) * torch.log1p(-d), x)


def _value_signs_swapped(p, q, logit, x):
    t = logit(x)
    return torch.trapezoid(p(x) * -F.softplus(t) + q(x) * -F.softplus(-t), x)


def test_2_4_wrong_answers_fail():
    _fails("2.4", _value_naive, "rounds to exactly 1")
    _fails("2.4", _value_log1p, "rounds to exactly 1")
    _fails("2.4", _value_signs_swapped, "swapped log D")
    _fails("2.4", lambda p, q, t, x: -value_solution(p, q, t, x), "-V")
    _fails("2.4", lambda p, q, t, x: value_solution(q, p, t, x), "real")
    _fails("2.4", lambda p, q, t, x: value_solution(p, q, t, x).item() + 0.01)
    _fails("2.4", lambda p, q, t, x: torch.trapezoid(p(x) * -F.softplus(-t(x)), x))


def test_2_4_first_refusal_keeps_the_softplus_back(monkeypatch):
    from course_utils.checks import _core

    monkeypatch.setattr(_core, "_REFUSALS", {})
    with pytest.raises(ExerciseFailed) as first:
        checks.check("2.4", _value_naive)
    assert "softplus" not in str(first.value)
    with pytest.raises(ExerciseFailed) as second:
        checks.check("2.4", _value_naive)
    assert "-softplus(-t)" in str(second.value)



# -- 2.5 ---------------------------------------------------------------------


smoothed_solution = solution("02_optimal_discriminator", "2.5")


def test_2_5_reference_passes():
    _passes("2.5", smoothed_solution)
    _passes("2.5", lambda p, q, x, a, b: b + (a - b) * p(x) / (p(x) + q(x)))


def _smoothed_nan_where_data_vanish(p, q, x, a, b):  # divided through by p_data
    r = q(x) / p(x)  # inf where p_data = 0, and inf / inf is nan
    return (a + b * r) / (1 + r)


def _smoothed_float32(p, q, x, a, b):
    return smoothed_solution(p, q, x.float(), a, b).double()


@pytest.mark.parametrize("wrong, match", [
    (lambda p, q, x, a, b: (b * p(x) + a * q(x)) / (p(x) + q(x)), "swapped"),
    (lambda p, q, x, a, b: p(x) / (p(x) + q(x)), "targets 1 and 0"),
    (lambda p, q, x, a, b: a * p(x) / (p(x) + q(x)), "target beta is missing"),
    (lambda p, q, x, a, b: a * p(x) / (a * p(x) + b * q(x)), "not weights"),
    (lambda p, q, x, a, b: a * p(x) / (a * p(x) + (1 - b) * q(x)), "both ways"),
    (lambda p, q, x, a, b: (a * p(x) + b * q(x)) / (2 * (p(x) + q(x))),
     "twice too large"),
    (lambda p, q, x, a, b: ((1 - a) * p(x) + (1 - b) * q(x)) / (p(x) + q(x)),
     "probability that x is fake"),
    (lambda p, q, x, a, b: a * p(x) + b * q(x), "not a density"),
    (_smoothed_nan_where_data_vanish, "nan at x = .*p_data = 0"),
    (lambda p, q, x, a, b: (a * p(x) + b * q(x)) / (p(x) + q(x) + 1e-3),
     "you return"),
    (_smoothed_float32, "you return"),
    (lambda p, q, x, a, b: (a * p(x) + b * q(x)) / (p(x) + q(x)).tolist(), None),
    (lambda p, q, x, a, b: ((a * p(x) + b * q(x)) / (p(x) + q(x)))[1:], "shape"),
])
def test_2_5_wrong_answers_fail(wrong, match):
    _fails("2.5", wrong, match)


def test_2_5_generic_refusal_says_where_and_what(monkeypatch):
    from course_utils.checks import _core

    monkeypatch.setattr(_core, "_REFUSALS", {})

    def off_by_beta(p, q, x, a, b):  # right where both densities have mass, not
        px, qx = p(x), q(x)  # where the data vanish (returns 0 there)
        return torch.where(px > 0, (a * px + b * qx) / (px + qx), torch.zeros_like(px))

    with pytest.raises(ExerciseFailed) as first:
        checks.check("2.5", off_by_beta)
    message = str(first.value)
    assert "where only p_g has mass" in message and "you return 0" in message
    assert "Collect" not in message and "Try again" in message
    with pytest.raises(ExerciseFailed) as second:
        checks.check("2.5", off_by_beta)
    assert "Worked step: Collect what multiplies log y" in str(second.value)


def test_2_5_first_refusal_is_a_nudge_and_the_second_the_worked_step(monkeypatch):
    from course_utils.checks import _core

    monkeypatch.setattr(_core, "_REFUSALS", {})
    swapped = lambda p, q, x, a, b: (b * p(x) + a * q(x)) / (p(x) + q(x))  # noqa: E731
    with pytest.raises(ExerciseFailed) as first:
        checks.check("2.5", swapped)
    assert "swapped" in str(first.value) and "a / (a + b)" not in str(first.value)
    with pytest.raises(ExerciseFailed) as second:
        checks.check("2.5", swapped)
    assert "y = a / (a + b)" in str(second.value)


def test_2_5_cases_cover_one_sided_two_sided_disjoint_and_plain():
    from course_utils.checks import _core

    cases = _core.checker_for("2.5").cases(np.random.default_rng(0))
    pairs = [(c["alpha"], c["beta"]) for c in cases]
    assert any(b == 0 < a < 1 for a, b in pairs) and (1.0, 0.0) in pairs
    assert any(0 < b < a < 1 for a, b in pairs)
    bumps = [c for c in cases if c["p"][0] == "bump"]
    x = nb02._grid(bumps[0]["x"])
    p, q = nb02._density(bumps[0]["p"])(x), nb02._density(bumps[0]["q"])(x)
    assert ((p == 0) & (q > 0)).any() and ((q == 0) & (p > 0)).any()
    assert ((p + q) > 0).all()  # D* is defined at every point of the grid

# -- 3.1 ---------------------------------------------------------------------


d_step_solution = solution("03_point_cloud_gan", "3.1")


def _d_step_from(loss_of):
    """A ``d_step`` answer that takes one optimiser step on
    ``loss_of(net_G, net_D, X, Z)`` and returns that loss."""

    def d_step(net_G, net_D, opt_D, X, Z):
        loss = loss_of(net_G, net_D, X, Z)
        opt_D.zero_grad()
        loss.backward()
        opt_D.step()
        return loss

    return d_step


def test_2_2_reference_passes():
    _passes("2.2", solution("02_optimal_discriminator", "2.2"))


@pytest.mark.parametrize(
    "wrong, match",
    [
        (lambda p, q, x, pi: p(x) / (p(x) + q(x)), "for pi = 1/2"),  # no prior
        (lambda p, q, x, pi: (1 - pi) * p(x) / ((1 - pi) * p(x) + pi * q(x)),
         "swapped"),
        (lambda p, q, x, pi: pi * p(x) / (p(x) + q(x)), "a probability must come out"),
        (lambda p, q, x, pi: pi * p(x) / (pi * p(x) + q(x)), "weight 1 - pi too"),
        (lambda p, q, x, pi: (1 - pi) * q(x) / (pi * p(x) + (1 - pi) * q(x)),
         "probability that x is fake"),
        (lambda p, q, x, pi: torch.sigmoid(torch.logit(p(x) / (p(x) + q(x))) + pi),
         "Maximise pi p_data"),  # adds pi instead of log(pi / (1 - pi))
        (lambda p, q, x, pi: (pi * p(x) / (pi * p(x) + (1 - pi) * q(x)))[:-1], "shape"),
    ],
)
def test_2_2_wrong_answers_fail(wrong, match):
    _fails("2.2", wrong, match)


def test_3_1_reference_passes_and_bce_too():
    _passes("3.1", d_step_solution)

    @_d_step_from
    def with_bce(net_G, net_D, X, Z):
        bce = torch.nn.functional.binary_cross_entropy_with_logits
        real, fake = net_D(X), net_D(net_G(Z).detach())
        return bce(real, torch.ones_like(real)) + bce(fake, torch.zeros_like(fake))

    _passes("3.1", with_bce)


def test_3_1_wrong_answers_fail():
    def no_zero_grad(net_G, net_D, opt_D, X, Z):
        fake_X = net_G(Z).detach()
        loss = -F.logsigmoid(net_D(X)).mean() - F.logsigmoid(-net_D(fake_X)).mean()
        loss.backward()
        opt_D.step()
        return loss

    _fails("3.1", no_zero_grad, r"backward\(\) adds to them")

    def flipped(net_G, net_D, opt_D, X, Z):
        return -d_step_solution(net_G, net_D, opt_D, X, Z)

    _fails("3.1", flipped, "sign")

    @_d_step_from
    def summed(net_G, net_D, X, Z):
        fake_X = net_G(Z).detach()
        return -F.logsigmoid(net_D(X)).sum() - F.logsigmoid(-net_D(fake_X)).sum()

    _fails("3.1", summed, "mean")

    def moves_G(net_G, net_D, opt_D, X, Z):
        loss = d_step_solution(net_G, net_D, opt_D, X, Z)
        with torch.no_grad():
            for p in net_G.parameters():
                p.add_(0.1)
        return loss

    _fails("3.1", moves_G, "generator")

    def no_step(net_G, net_D, opt_D, X, Z):
        fake_X = net_G(Z).detach()
        loss = -F.logsigmoid(net_D(X)).mean() - F.logsigmoid(-net_D(fake_X)).mean()
        return loss

    _fails("3.1", no_step, "weights after the step")

    @_d_step_from
    def fake_as_real(net_G, net_D, X, Z):
        fake_X = net_G(Z).detach()
        return -F.logsigmoid(net_D(X)).mean() - F.logsigmoid(net_D(fake_X)).mean()

    _fails("3.1", fake_as_real, "fake")

    @_d_step_from
    def no_detach(net_G, net_D, X, Z):  # right loss and step, G not detached
        return -torch.mean(F.logsigmoid(-net_D(net_G(Z))) + F.logsigmoid(net_D(X)))

    _fails("3.1", no_detach, "(gradients into the generator|weights changed)")

    @_d_step_from
    def swapped(net_G, net_D, X, Z):  # the real and fake roles swapped
        fake_X = net_G(Z).detach()
        return -F.logsigmoid(net_D(fake_X)).mean() - F.logsigmoid(-net_D(X)).mean()

    _fails("3.1", swapped)

    @_d_step_from
    def naive_log(net_G, net_D, X, Z):  # sigmoid, then log: inf at |t| ~ 100
        fake_X = net_G(Z).detach()
        return (-torch.log(torch.sigmoid(net_D(X))).mean()
                - torch.log(1 - torch.sigmoid(net_D(fake_X))).mean())

    _fails("3.1", naive_log, "softplus")

    @_d_step_from
    def double_sigmoid(net_G, net_D, X, Z):
        bce = torch.nn.functional.binary_cross_entropy_with_logits
        real = torch.sigmoid(net_D(X))
        fake = torch.sigmoid(net_D(net_G(Z).detach()))
        return bce(real, torch.ones_like(real)) + bce(fake, torch.zeros_like(fake))

    _fails("3.1", double_sigmoid, "without a sigmoid")


# -- 3.2 ---------------------------------------------------------------------


g_step_solution = solution("03_point_cloud_gan", "3.2")


def test_3_2_reference_passes():
    _passes("3.2", g_step_solution)


def test_3_2_wrong_answers_fail():
    def saturating(net_G, net_D, opt_G, Z):
        loss = F.logsigmoid(-net_D(net_G(Z))).mean()
        opt_G.zero_grad()
        loss.backward()
        opt_G.step()
        return loss

    _fails("3.2", saturating, "saturating")

    def no_zero_grad(net_G, net_D, opt_G, Z):
        loss = -F.logsigmoid(net_D(net_G(Z))).mean()
        loss.backward()
        opt_G.step()
        return loss

    _fails("3.2", no_zero_grad, r"backward\(\) adds to them")

    def moves_D(net_G, net_D, opt_G, Z):
        loss = g_step_solution(net_G, net_D, opt_G, Z)
        with torch.no_grad():
            net_D[0].weight.mul_(1.1)
        return loss

    _fails("3.2", moves_D, "discriminator")

    class Liar(float):
        pass

    _fails("3.2", lambda *args: Liar(g_step_solution(*args)), "number")

    def flipped(net_G, net_D, opt_G, Z):  # maximises -log D(G(z))
        loss = F.logsigmoid(net_D(net_G(Z))).mean()
        opt_G.zero_grad()
        loss.backward()
        opt_G.step()
        return loss

    _fails("3.2", flipped, "sign")

    def summed(net_G, net_D, opt_G, Z):
        loss = -F.logsigmoid(net_D(net_G(Z))).sum()
        opt_G.zero_grad()
        loss.backward()
        opt_G.step()
        return loss

    _fails("3.2", summed, "mean")

    def naive_log(net_G, net_D, opt_G, Z):  # -log(sigmoid(t)): inf for t < -88
        loss = -torch.log(torch.sigmoid(net_D(net_G(Z)))).mean()
        opt_G.zero_grad()
        loss.backward()
        opt_G.step()
        return loss

    _fails("3.2", naive_log, "softplus")


def test_checks_do_not_touch_the_global_random_stream():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    with redirect_stdout(io.StringIO()):
        checks.check("3.1", d_step_solution)
        checks.check("2.3", jsd_solution)
    assert torch.equal(torch.rand(3), expected)


# -- 3.3 ---------------------------------------------------------------------


w1_of_shift_solution = solution("03_point_cloud_gan", "3.3")


def test_3_3_solution_and_a_tensor_answer_pass():
    _passes("3.3", w1_of_shift_solution)
    _passes("3.3", lambda v: v.norm())  # a 0-d tensor is a number too
    _passes("3.3", lambda v: math.sqrt(v[0] ** 2 + v[1] ** 2))


@pytest.mark.parametrize(
    "wrong, match",
    [
        (lambda v: v.abs().sum(), "distance along a grid"),  # L1
        (lambda v: (v**2).sum(), "squared length"),  # the W2^2 cost
        (lambda v: v.abs().max(), "larger coordinate"),
        (lambda v: v.abs().mean(), "averaging the two coordinates"),
        (lambda v: v.sum(), "signed coordinates"),
        (lambda v: 0.0, "every point of the moved copy"),  # "same shape"
        (lambda v: v.norm() / 2, "factor 1/2"),
        (lambda v: v.norm() ** 2 / 2, "lower bound"),  # unknown: the generic hint
        (lambda v: v.abs(), "number"),  # a vector, not a number
        (lambda v: float(v.norm()) + 1e-3, "you returned"),
    ],
)
def test_3_3_wrong_answers_fail(wrong, match):
    _fails("3.3", wrong, match)


def test_3_3_accepts_float32_and_numpy_answers():
    import numpy as np

    _passes("3.3", lambda v: v.float().norm())  # float32, off by about 1e-8
    _passes("3.3", lambda v: np.float32(np.hypot(float(v[0]), float(v[1]))))
