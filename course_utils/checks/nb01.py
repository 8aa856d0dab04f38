"""Checkers for 01_minimax_game."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from course_utils.checks._core import (
    Checker,
    ExerciseFailed,
    as_float,
    call_student,
    exercise,
    judge_derived,
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
                " -log(sigmoid(t)) equals softplus(-t), which stays finite."
            )
        require_close(
            "1.2", got, expected, what="the loss", atol=1e-4, rtol=1e-4, hint=hint
        )


def _reference_step(x, y, h, alternating):
    x_new = x - h * y
    y_new = y + h * (x_new if alternating else x)
    return x_new, y_new


class _Step(Checker):
    alternating = False

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
            expected = _reference_step(
                float(case["x"]), float(case["y"]), h, self.alternating
            )
            if self.alternating:
                hint = (
                    "Alternating: first x descends on f = x*y using the current y, "
                    "then y ascends using the NEW x."
                )
            else:
                hint = (
                    "Simultaneous: both players use the old point; x descends "
                    "(x - h*df/dx) and y ascends (y + h*df/dy) on f = x*y."
                )
            require_close(ex, [x, y], expected, what="the new point", atol=1e-9,
                          rtol=1e-9, hint=hint)
        elif self.alternating:
            # Alternating steps keep x^2 + y^2 - h*x*y (= 1 from (1, 0)).
            require_close(ex, x * x + y * y - h * x * y, 1.0,
                          what="the conserved quantity", atol=1e-9,
                          hint="Use the updated x when you update y.")
        else:
            # Simultaneous steps scale the radius by sqrt(1 + h^2) each time.
            require_close(ex, math.hypot(x, y), (1 + h * h) ** 5,
                          what="the radius after 10 steps", atol=1e-9,
                          hint="Both updates must use the old point.")


@exercise("1.3", "one simultaneous step of the bilinear game is right.",
          gives_away=("bilinear_simultaneous_step",))
class SimultaneousStep(_Step):
    alternating = False


@exercise("1.4", "one alternating step of the bilinear game is right.",
          gives_away=("bilinear_alternating_step",))
class AlternatingStep(_Step):
    alternating = True


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
