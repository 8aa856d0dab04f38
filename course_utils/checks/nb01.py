"""Checkers for 01_minimax_game."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from course_utils.checks._core import (
    ExerciseFailed,
    call_student,
    exercise,
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


@exercise("1.1", "the Monte-Carlo estimate of V(D, G) matches on 3 test cases.")
def check_value_estimate(estimate_value):
    for case in range(3):
        w, b = torch.randn(2, dtype=torch.float64).tolist()
        X = torch.randn(200 + 50 * case, 1) * 0.5 + 2.0
        fake_X = torch.randn(150 + 25 * case, 1)

        def D(samples, w=w, b=b):
            return torch.sigmoid(w * samples + b)

        got = plain_float(
            "1.1",
            call_student("1.1", estimate_value, D, X.clone(), fake_X.clone()),
            "estimate_value(D, X, fake_X)",
        )
        d_real, d_fake = D(X.double()), D(fake_X.double())
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


@exercise("1.2", "the non-saturating generator loss matches, also for extreme logits.")
def check_nonsaturating(ns_loss):
    cases = [
        torch.randn(64),
        torch.randn(7, 1) * 3,
        torch.tensor([-200.0, -50.0, 0.0, 30.0]),  # D sure the fakes are fake
    ]
    for logits in cases:
        got = plain_float(
            "1.2", call_student("1.2", ns_loss, logits.clone()), "the loss"
        )
        expected = F.softplus(-logits.double()).mean().item()
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


def _check_step(exercise_id, step, alternating):
    for _ in range(4):
        x, y = (torch.rand(2, dtype=torch.float64) * 4 - 2).tolist()
        h = float(torch.empty(1).uniform_(0.05, 0.8))
        got = _pair(exercise_id, call_student(exercise_id, step, x, y, h))
        expected = _reference_step(x, y, h, alternating)
        if alternating:
            hint = (
                "Alternating: first x descends on f = x*y using the current y, "
                "then y ascends using the NEW x."
            )
        else:
            hint = (
                "Simultaneous: both players use the old point; x descends "
                "(x - h*df/dx) and y ascends (y + h*df/dy) on f = x*y."
            )
        require_close(
            exercise_id,
            got,
            expected,
            what="the new point",
            atol=1e-9,
            rtol=1e-9,
            hint=hint,
        )
    # A consequence the formula predicts: one step scales the radius by
    # sqrt(1 + h^2) (simultaneous) or keeps x^2 + y^2 - h*x*y (alternating).
    x, y, h = 1.0, 0.0, 0.3
    for _ in range(10):
        x, y = _pair(exercise_id, call_student(exercise_id, step, x, y, h))
    if alternating:
        invariant = x * x + y * y - h * x * y
        require_close(
            exercise_id,
            invariant,
            1.0,
            what="the conserved quantity",
            atol=1e-9,
            hint="Use the updated x when you update y.",
        )
    else:
        require_close(
            exercise_id,
            math.hypot(x, y),
            (1 + h * h) ** 5,
            what="the radius after 10 steps",
            atol=1e-9,
            hint="Both updates must use the old point.",
        )


@exercise("1.3", "one simultaneous step of the bilinear game is right.")
def check_simultaneous_step(simultaneous_step):
    _check_step("1.3", simultaneous_step, alternating=False)


@exercise("1.4", "one alternating step of the bilinear game is right.")
def check_alternating_step(alternating_step):
    _check_step("1.4", alternating_step, alternating=True)
