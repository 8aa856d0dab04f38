"""Checkers for 01_minimax_game."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from course_utils.checks._core import (
    STEP,
    Checker,
    ExerciseFailed,
    as_float,
    call_student,
    exercise,
    judge_derived,
    mismatch,
    plain_float,
    require_close,
)


def _pair(exercise_id: str, result) -> tuple[float, float]:
    if type(result) is not tuple or len(result) != 2:
        raise ExerciseFailed(
            f"Exercise {exercise_id}: return the new point as a tuple (x_new, y_new), "
            f"got {type(result).__name__}."
        )
    return (
        plain_float(exercise_id, result[0], "x_new"),
        plain_float(exercise_id, result[1], "y_new"),
    )


def _floats(rng, n, scale=1.0, shift=0.0):
    return (rng.standard_normal(n) * scale + shift).astype(np.float32)


@exercise(
    "1.1",
    "the Monte-Carlo estimate of V(D, G) matches on 3 test cases.",
    gives_away=("mc_value_estimate",),
)
class ValueEstimate(Checker):
    """``estimate_value(D, X, fake_X)`` with D a logistic discriminator."""

    def cases(self, rng):
        return [
            {
                "w": float(rng.standard_normal()),
                "b": float(rng.standard_normal()),
                "X": _floats(rng, (200 + 50 * case, 1), 0.5, 2.0),
                "fake_X": _floats(rng, (150 + 25 * case, 1)),
            }
            for case in range(3)
        ]

    def run(self, estimate_value, case):
        w, b = float(case["w"]), float(case["b"])

        def D(samples):
            return torch.sigmoid(w * samples + b)

        X, fake_X = torch.tensor(case["X"]), torch.tensor(case["fake_X"])
        return plain_float(
            "1.1",
            call_student("1.1", estimate_value, D, X, fake_X),
            "estimate_value(D, X, fake_X)",
        )

    def verify(self, case, result):
        got = as_float("1.1", result, "estimate_value(D, X, fake_X)")
        w, b = float(case["w"]), float(case["b"])
        d_real = torch.sigmoid(w * torch.tensor(case["X"], dtype=torch.float64) + b)
        d_fake = torch.sigmoid(
            w * torch.tensor(case["fake_X"], dtype=torch.float64) + b
        )
        expected = (torch.log(d_real).mean() + torch.log1p(-d_fake).mean()).item()
        require_close(
            "1.1",
            got,
            expected,
            what="V(D, G)",
            atol=1e-4,
            rtol=1e-4,
            hint="V = mean of log D(x) over real samples plus mean of "
            "log(1 - D(G(z))) over fake samples (two separate means).",
        )


@exercise(
    "1.2",
    "the non-saturating generator loss matches, also for extreme logits.",
    gives_away=("g_loss_nonsaturating",),
)
class NonSaturating(Checker):
    """``ns_loss(fake_logits)``: the mean of -log sigmoid(logits)."""

    def cases(self, rng):
        extreme = np.array([-200.0, -50.0, 0.0, 30.0], dtype=np.float32)
        rng.shuffle(extreme)
        return [
            {"logits": _floats(rng, 64)},
            {"logits": _floats(rng, (7, 1), 3.0)},
            {"logits": extreme},  # D sure the fakes are fake
        ]

    def run(self, ns_loss, case):
        logits = torch.tensor(case["logits"])
        return plain_float("1.2", call_student("1.2", ns_loss, logits), "the loss")

    def verify(self, case, result):
        got = as_float("1.2", result, "the loss")
        logits = torch.tensor(case["logits"], dtype=torch.float64)
        expected = F.softplus(-logits).mean().item()
        hint = "The loss is the mean of -log D(G(z)) with D = sigmoid(logit)."
        if logits.min() < -100:
            hint += (
                " With logits as low as -200, sigmoid rounds to 0 and log gives inf:"
                " write -log(sigmoid(t)) without forming sigmoid(t)."
                f"{STEP}-log(sigmoid(t)) = log(1 + exp(-t)) = softplus(-t), which "
                "F.softplus computes without overflow."
            )
        require_close(
            "1.2", got, expected, what="the loss", atol=1e-4, rtol=1e-4, hint=hint
        )


def _reference_step(x, y, h):
    return x - h * y, y + h * x  # both players use the old point


@exercise("1.3", "one simultaneous step of the bilinear game is right.",
          gives_away=("bilinear_simultaneous_step",))
class SimultaneousStep(Checker):
    def cases(self, rng):
        points = [
            {
                "x": float(rng.uniform(-2, 2)),
                "y": float(rng.uniform(-2, 2)),
                "h": float(rng.uniform(0.05, 0.8)),
            }
            for _ in range(4)
        ]
        # Ten steps from (1, 0): a consequence the formula predicts (below).
        return points + [{"x": 1.0, "y": 0.0, "h": float(rng.uniform(0.1, 0.5)),
                          "repeat": 10}]

    def run(self, step, case):
        x, y, h = float(case["x"]), float(case["y"]), float(case["h"])
        for _ in range(int(case.get("repeat", 1))):
            x, y = _pair(self.exercise_id, call_student(self.exercise_id, step, x, y, h))
        return [x, y]

    def verify(self, case, result):
        ex = self.exercise_id
        if type(result) is not list or len(result) != 2:
            raise ExerciseFailed(f"Exercise {ex}: expected a point (x_new, y_new).")
        x, y = (as_float(ex, v, "the new point") for v in result)
        h = float(case["h"])
        if "repeat" not in case:
            expected = _reference_step(float(case["x"]), float(case["y"]), h)
            hint = (
                "Simultaneous: both players use the old point; x descends "
                "(x - h*df/dx) and y ascends (y + h*df/dy) on f = x*y."
            )
            require_close(ex, [x, y], expected, what="the new point", atol=1e-9,
                          rtol=1e-9, hint=hint)
        else:
            # Simultaneous steps scale the radius by sqrt(1 + h^2) each time.
            require_close(ex, math.hypot(x, y), (1 + h * h) ** 5,
                          what="the radius after 10 steps", atol=1e-9,
                          hint="Both updates must use the old point.")


@exercise("1.4", "Q = x^2 + y^2 - h xy, the quantity alternating steps conserve, "
          "matches at 12 points for 4 step sizes.",
          gives_away=("alternating_conserved_quantity",))
class AlternatingInvariant(Checker):
    """``conserved_quantity(x, y, h)``: the quadratic form x^2 + y^2 + c xy that
    one alternating step (x' = x - h y, y' = y + h x') leaves unchanged.

    A derivation: the step is the matrix M = [[1, -h], [h, 1 - h^2]]; a form
    v^T A v is conserved when M^T A M = A, and A = [[1, c/2], [c/2, 1]] solves it
    for c = -h.
    """

    def cases(self, rng):
        hs = [0.8, 1.5] + [round(float(v), 4) for v in rng.uniform(0.05, 1.95, 2)]
        return [{"h": h, "x": rng.uniform(-2, 2, 3), "y": rng.uniform(-2, 2, 3)}
                for h in hs]

    def run(self, fn, case):
        h = float(case["h"])
        return [plain_float("1.4", call_student("1.4", fn, float(x), float(y), h),
                            "conserved_quantity(x, y, h)")
                for x, y in zip(case["x"], case["y"])]

    def verify(self, case, result):
        h = float(case["h"])
        x = np.asarray(case["x"], dtype=np.float64)
        y = np.asarray(case["y"], dtype=np.float64)
        if type(result) is not list or len(result) != len(x):
            raise ExerciseFailed("Exercise 1.4: expected one number per point.")
        got = np.array([as_float("1.4", v, "Q(x, y)") for v in result])
        expected = x * x + y * y - h * x * y
        if np.allclose(got, expected, rtol=1e-9, atol=1e-9):
            return
        where = f"for h = {h:g}"
        r2 = x * x + y * y
        cross = x * y
        wrong = [
            (r2, "x^2 + y^2 is the squared distance to (0, 0); the alternating step "
             "does not keep it (its orbits are ellipses, not circles). Look for a "
             f"cross term c xy.{STEP}Write the step as a matrix M acting on (x, y) "
             "(substitute x_new into y's update), then ask which A = [[1, c/2], "
             "[c/2, 1]] satisfies M^T A M = A."),
            (r2 + h * cross, "the cross term has the wrong sign: check Q after one "
             "step from (1, 0), which gives (1, h)."),
            (r2 - 2 * h * cross, "the cross term is too large by a factor 2: in "
             "x^T A x the off-diagonal entry c/2 appears twice."),
            (r2 - 0.5 * h * cross, "the cross term is too small by a factor 2: in "
             "x^T A x the off-diagonal entry c/2 appears twice."),
            (r2 - h * h * cross, "the cross term is first order in h: compare the "
             "xy terms of Q(x_new, y_new) and Q(x, y) to first order."),
        ]
        for value, hint in wrong:
            if np.allclose(got, value, rtol=1e-9, atol=1e-9):
                raise ExerciseFailed(f"Exercise 1.4 ({where}): {hint}")
        if np.ptp(got) < 1e-9:
            raise ExerciseFailed(
                f"Exercise 1.4 ({where}): your Q is the same at every point. A "
                "constant is conserved by any step; the exercise asks for the form "
                "x^2 + y^2 + c xy, with coefficient 1 on x^2 and y^2.")
        ratio = got / expected
        if np.allclose(ratio, ratio[0], rtol=1e-9) or np.allclose(
                got - expected, (got - expected)[0], atol=1e-9):
            raise ExerciseFailed(
                f"Exercise 1.4 ({where}): your Q is conserved, but it is a multiple "
                "of the form asked for, or has a constant added: give x^2 + y^2 + "
                "c xy, with coefficient 1 on x^2 and y^2 and no constant.")
        raise ExerciseFailed(
            f"Exercise 1.4 ({where}): Q(x, y) at ({x[0]:.3g}, {y[0]:.3g}): "
            f"{mismatch(float(got[0]), float(expected[0]))}. Q(x_new, y_new) must "
            "equal Q(x, y) for one alternating step, at every point.")


# -- 1.5 ---------------------------------------------------------------------


@exercise("1.5", "the extragradient factor matches for 6 step sizes, h = 1 among "
          "them.",
          gives_away=("extragradient_contraction",))
class ExtragradientFactor(Checker):
    def cases(self, rng):
        hs = [float(h) for h in rng.uniform(0.05, 0.95, 4)]
        return [{"h": h} for h in hs + [1.0, float(rng.uniform(1.1, 1.6))]]

    def run(self, fn, case):
        return plain_float("1.5", call_student("1.5", fn, float(case["h"])),
                           "the factor")

    def verify(self, case, result):
        h = float(case["h"])
        got = as_float("1.5", result, "the factor")
        expected = math.sqrt(1 - h * h + h**4)
        wrong = [
            (math.sqrt(1 + h * h), "sqrt(1 + h^2) is the factor of the simultaneous "
             "step. Extragradient takes its step with the gradient at the look-ahead "
             "point, not at the current one."),
            (1.0, "1 is the modulus of the alternating step's eigenvalues. Write "
             "the extragradient step as a matrix acting on (x, y) first."),
            (1 - h * h, "1 - h^2 is only the diagonal of the step's matrix. The "
             "matrix is (1 - h^2) I + h J with J a rotation by 90 degrees: its "
             "eigenvalues are (1 - h^2) +- i h; take their modulus."),
            (1 - h * h + h**4, "that is the factor for the squared distance; the "
             "distance itself is multiplied by its square root."),
            (math.sqrt(1 + h * h + h**4), "check the sign of the h^2 term: the "
             "look-ahead pulls each player back, so the diagonal is 1 - h^2."),
            (math.sqrt(abs(1 - h * h)), "the off-diagonal entries +-h also add to "
             "the modulus: |(1 - h^2) + i h|^2 = (1 - h^2)^2 + h^2."),
        ]
        judge_derived(
            "1.5", got, expected, wrong, f"for h = {h:.3g}",
            "Write one extragradient step as (x, y) -> M (x, y) and take the modulus "
            "of M's eigenvalues (M is a rotation times a scaling).")
