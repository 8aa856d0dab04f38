"""The checkers of 07_lsgan accept the solutions and refuse wrong answers."""

import torch

from course_utils import checks
from solutions import exercise_tests, solution

STEM = "07_lsgan"
SOLUTIONS = {ex: solution(STEM, ex) for ex in ("7.1", "7.2", "7.3", "7.4")}


def _ls(real, fake, a, b, c, half=0.5, reduce="mean", target_g=None, swap=False,
        sigmoid=False, detach_g=False):
    if sigmoid:
        real, fake = torch.sigmoid(real), torch.sigmoid(fake)
    red = (lambda v: v.mean()) if reduce == "mean" else (lambda v: v.sum())
    ta, tb = (b, a) if swap else (a, b)
    loss_d = half * red((real - tb) ** 2) + half * red((fake - ta) ** 2)
    g_fake = fake.detach() if detach_g else fake
    loss_g = half * red((g_fake - (c if target_g is None else target_g)) ** 2)
    return loss_d, loss_g


def _trapezoid_equal_steps(values, x):  # right on equally spaced grids only
    dx = x[1] - x[0]
    return ((values.sum() - (values[0] + values[-1]) / 2) * dx).item()


def _trapezoid_mean_step(values, x):
    dx = (x[-1] - x[0]) / (len(x) - 1)
    return ((values.sum() - (values[0] + values[-1]) / 2) * dx).item()


WRONG = {
    "7.1": [
        (lambda r, f, a, b, c: _ls(r, f, a, b, c, half=1.0), "factor 1/2"),
        (lambda r, f, a, b, c: _ls(r, f, a, b, c, swap=True), "swapped"),
        (lambda r, f, a, b, c: _ls(r, f, a, b, c, reduce="sum"), "do not sum"),
        (lambda r, f, a, b, c: _ls(r, f, a, b, c, sigmoid=True), "no sigmoid"),
        (lambda r, f, a, b, c: _ls(r, f, a, b, c, target_g=b), "towards c"),
        (lambda r, f, a, b, c: _ls(r, f, a, b, c, target_g=a), "G's target is c"),
        (lambda r, f, a, b, c: _ls(r, f, a, b, c, detach_g=True), "no gradient"),
        (lambda r, f, a, b, c: (_ls(r, f, a, b, c)[0], -_ls(r, f, a, b, c)[0]),
         "not minus D's"),
        (lambda r, f, a, b, c: (0.5 * (r - b).abs().mean() + 0.5 * (f - a).abs().mean(),
                                0.5 * ((f - c) ** 2).mean()), "absolute values"),
        (lambda r, f, a, b, c: _ls(r, f, a, b, c)[0], "tuple"),
        (lambda r, f, a, b, c: (torch.cat([(r - b) ** 2, (f - a) ** 2]).mean(),
                                0.5 * ((f - c) ** 2).mean()), "own batch"),
        (lambda r, f, a, b, c: (0.5 * torch.cat([(r - b) ** 2, (f - a) ** 2]).mean(),
                                0.5 * ((f - c) ** 2).mean()), "own batch"),
    ],
    "7.2": [
        (lambda pd, pg, a, b: (a * pd + b * pg) / (pd + pg), "swapped"),
        (lambda pd, pg, a, b: pd / (pd + pg), "cross-entropy's D*"),
        (lambda pd, pg, a, b: (b * pd + a * pg) / 2, "derivative"),
        (lambda pd, pg, a, b: torch.full_like(pd, (a + b) / 2), "(a + b) / 2"),
        (lambda pd, pg, a, b: (b * pd - a * pg) / (pd + pg), "sign of the a term"),
        (lambda pd, pg, a, b: ((b * pd + a * pg) / (pd + pg)).float(), None),  # 1e-7
        (lambda pd, pg, a, b: ((b * pd + a * pg) / (pd + pg))[:-1], "shape"),
    ],
    "7.3": [
        (lambda p, q, x: torch.trapezoid((p - q) ** 2 / p, x).item(), "Neyman"),
        (lambda p, q, x: torch.trapezoid((p - q) / q, x).item(), "square"),
        (lambda p, q, x: ((p - q) ** 2 / q).sum().item(), "grid spacing"),
        (lambda p, q, x: (((p - q) ** 2 / q).sum() * (x[1] - x[0])).item(),
         "trapezoidal"),
        (lambda p, q, x: torch.trapezoid(p * torch.log(p / q), x).item(), "KL"),
        (lambda p, q, x: torch.trapezoid((p - q).abs(), x).item() / 2,
         "total variation"),
        # int p^2 / q - 1 holds only for densities of mass 1; one case has mass 2
        (lambda p, q, x: torch.trapezoid(p * p / q, x).item() - 1.0, None),
        (lambda p, q, x: _trapezoid_equal_steps((p - q) ** 2 / q, x),
         "equally spaced"),
        (lambda p, q, x: _trapezoid_mean_step((p - q) ** 2 / q, x), "one width"),
    ],
    "7.4": [
        (lambda a, b, c: (1.0, 0.0), "Mao et al.'s conditions"),  # Mao's coding only
        (lambda a, b, c: (abs(b - a) / 2, 2 * ((a + b) / 2 - c) ** 2), "squared"),
        (lambda a, b, c: ((b - a) ** 2, 2 * ((a + b) / 2 - c) ** 2), "half the gap"),
        (lambda a, b, c: ((b - a) ** 2 / 2, 2 * ((a + b) / 2 - c) ** 2),
         "half the gap"),
        (lambda a, b, c: ((b - a) ** 2 / 8, 2 * ((a + b) / 2 - c) ** 2),
         "factor 2 already"),
        (lambda a, b, c: ((b - a) ** 2 / 4, 0.0), "c only shifts the value"),
        (lambda a, b, c: ((b - a) ** 2 / 4, ((a + b) / 2 - c) ** 2), "whose mass is 2"),
        (lambda a, b, c: ((b - a) ** 2 / 4, 4 * ((a + b) / 2 - c) ** 2),
         "the constant is 2 (m - c)^2"),
        (lambda a, b, c: ((b - a) ** 2 / 4, 2 * (b - c) ** 2), "uses the midpoint"),
        (lambda a, b, c: ((b - a) ** 2 / 4, 2 * (a - c) ** 2), "uses the midpoint"),
        (lambda a, b, c: ((b - a) ** 2 / 4, 2 * ((a + b) / 2 - c) ** 2
                          + 2 * (b - a) * ((a + b) / 2 - c)), "no cross term"),
        # the two swapped: scale and constant in the wrong order
        (lambda a, b, c: (2 * ((a + b) / 2 - c) ** 2, (b - a) ** 2 / 4), None),
        (lambda a, b, c: (b - a) ** 2 / 4, "two numbers"),
        (lambda a, b, c: ((b - a) ** 2 / 4, 2 * ((a + b) / 2 - c) ** 2, 0.0),
         "two numbers"),
        (lambda a, b, c: (float("nan"), 0.0), None),
    ],
}


test_solution_passes, test_wrong_answers_fail_with_a_hint = exercise_tests(
    SOLUTIONS, WRONG)


def test_chi2_expanded_is_accepted(capsys):
    # (p - q)^2 / q = p^2 / q - 2 p + q: the same integral, term by term
    def expanded(p, q, x):
        return (torch.trapezoid(p * p / q, x) - 2 * torch.trapezoid(p, x)
                + torch.trapezoid(q, x)).item()

    checks.check("7.3", expanded)
    assert capsys.readouterr().out.startswith("Exercise 7.3 passed")


def test_the_package_answers_are_refused_by_the_grader():
    from course_utils.instructor.grader import scan_gives_away

    assert scan_gives_away("7.1", "def f(r, f, a, b, c):\n    L = losses.lsgan(a, b, c)\n")
    assert scan_gives_away("7.2", "def f(pd, pg, a, b):\n"
                           "    return divergences.optimal_discriminator(pd, pg, 0)\n")


def test_chi2_link_from_m_and_h_is_accepted(capsys):
    def via_midpoint(a, b, c):
        m, h = (a + b) / 2, (b - a) / 2
        return torch.tensor(h * h), float(2 * (m - c) ** 2)

    checks.check("7.4", via_midpoint)
    assert capsys.readouterr().out.startswith("Exercise 7.4 passed")


def test_second_refusal_of_7_4_adds_the_worked_step():
    from course_utils.checks import _core

    def wrong(a, b, c):
        return 0.77, 1.0

    _core._REFUSALS.clear()  # as in a fresh kernel
    messages = []
    for _ in range(2):
        try:
            checks.check("7.4", wrong)
        except checks.ExerciseFailed as err:
            messages.append(str(err))
    assert "Worked step" not in messages[0] and "Worked step" in messages[1]
    assert "Of the three terms" in messages[1]
    _core._REFUSALS.clear()
