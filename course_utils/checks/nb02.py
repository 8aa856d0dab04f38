"""Checkers for 02_optimal_discriminator.

Exercise 2.1: ``optimal_discriminator(p_data, p_g, x)`` returns D*(x).
Exercise 2.2: ``js_divergence(p, q, x)`` returns JSD(p || q) by the trapezoidal
rule on the grid ``x``.
Exercise 2.3: ``value_function(p_data, p_g, D, x)`` returns V(D, G) by the
trapezoidal rule on the grid ``x``.

Densities and discriminators are passed as functions from a float64 tensor of
points to a tensor of values. Every checker builds its own densities and grids.
"""

from __future__ import annotations

import math

import torch

from course_utils.checks._core import (
    ExerciseFailed,
    call_student,
    exercise,
    plain_float,
    plain_tensor,
    require_close,
)

LOG2 = math.log(2.0)


def _gaussian(mean: float, std: float):
    def pdf(x):
        u = (x - mean) / std
        return torch.exp(-0.5 * u * u) / (std * math.sqrt(2.0 * math.pi))

    return pdf


def _mixture(parts):
    pdfs = [(w, _gaussian(m, s)) for w, m, s in parts]

    def pdf(x):
        return sum(w * f(x) for w, f in pdfs)

    return pdf


def _bump(centre: float, half_width: float = 1.0):
    """An Epanechnikov density: exactly 0 outside [centre - w, centre + w]."""

    def pdf(x):
        u = (x - centre) / half_width
        inside = 0.75 * (1.0 - u * u) / half_width
        return torch.where(u.abs() < 1.0, inside, torch.zeros_like(u))

    return pdf


def _grid(lo: float, hi: float, n: int = 4001) -> torch.Tensor:
    return torch.linspace(lo, hi, n, dtype=torch.float64)


def _number(exercise_id: str, value, what: str, zero_hint: str) -> float:
    """plain_float, with a hint about 0 log 0 when the answer is NaN."""
    if type(value) is torch.Tensor and torch.Tensor.numel(value) == 1:
        item = float(torch.Tensor.item(torch.Tensor.detach(value)))
        if math.isnan(item):
            raise ExerciseFailed(f"Exercise {exercise_id}: {what} is nan. {zero_hint}")
    return plain_float(exercise_id, value, what)


# -- 2.1 ---------------------------------------------------------------------


@exercise("2.1", "D*(x) = p_data(x) / (p_data(x) + p_g(x)) on three pairs of "
          "densities.")
def check_optimal_discriminator(fn):
    cases = [
        (_gaussian(0.0, 1.0), _gaussian(1.5, 0.7), _grid(-4.0, 5.0, 181)),
        (_mixture([(0.5, -2.0, 0.5), (0.5, 2.0, 0.5)]), _gaussian(0.0, 1.5),
         _grid(-4.0, 4.0, 161)),
        (_gaussian(0.0, 1.0), _gaussian(0.0, 1.0), _grid(-3.0, 3.0, 7)),
    ]
    for p_data, p_g, x in cases:
        expected = p_data(x) / (p_data(x) + p_g(x))
        answer = call_student("2.1", fn, p_data, p_g, x.clone())
        got = plain_tensor("2.1", answer, "D*(x)", shape=tuple(x.shape))
        flipped = p_g(x) / (p_data(x) + p_g(x))
        if torch.allclose(got, flipped, atol=1e-9) and not torch.allclose(
            got, expected, atol=1e-9
        ):
            raise ExerciseFailed(
                "Exercise 2.1: you returned p_g / (p_data + p_g), the probability "
                "that x is fake. D(x) is the probability that x is real."
            )
        require_close(
            "2.1", got, expected, what="D*(x)", atol=1e-9, rtol=1e-7,
            hint="Maximise p_data(x) log y + p_g(x) log(1 - y) over y for each x: "
            "a log y + b log(1 - y) is largest at y = a / (a + b).",
        )


# -- 2.2 ---------------------------------------------------------------------


def _reference_jsd(p, q, x) -> float:
    px, qx = p(x), q(x)
    total = px + qx
    integrand = 0.5 * (
        torch.xlogy(px, px) - torch.xlogy(px, total)
        + torch.xlogy(qx, qx) - torch.xlogy(qx, total)
    ) + 0.5 * LOG2 * total
    return float(torch.trapezoid(integrand, x))


_ZERO_HINT = (
    "Where a density is 0 the term p log(p / m) must count as 0, but 0 * log(0) "
    "is nan in floating point: write p log(p / m) as torch.xlogy(p, p) - "
    "torch.xlogy(p, m), which is 0 where p = 0."
)


@exercise("2.2", "JSD by quadrature: 0 for equal densities, log 2 for disjoint ones, "
          "0.287769 for N(0, 1) against N(1.5, 0.7^2).")
def check_js_divergence(fn):
    cases = [
        ("N(0, 1) against N(1.5, 0.7^2)", _gaussian(0.0, 1.0), _gaussian(1.5, 0.7),
         _grid(-12.0, 12.0, 24001), 0.287769),
        ("a density against itself", _gaussian(0.5, 2.0), _gaussian(0.5, 2.0),
         _grid(-25.0, 25.0, 5001), 0.0),
        ("two densities with disjoint supports", _bump(-2.0), _bump(2.0),
         _grid(-4.0, 4.0, 8001), LOG2),
        ("a mixture against a Gaussian", _mixture([(0.3, -2.0, 0.5), (0.7, 2.0, 0.8)]),
         _gaussian(0.0, 1.5), _grid(-14.0, 14.0, 28001), None),
    ]
    for label, p, q, x, known in cases:
        expected = _reference_jsd(p, q, x)  # agrees with ``known`` (tested)
        got = _number("2.2", call_student("2.2", fn, p, q, x.clone()),
                      f"JSD for {label}", _ZERO_HINT)
        if abs(got - 2 * expected) < 1e-5 and expected > 1e-3:
            raise ExerciseFailed(
                f"Exercise 2.2: for {label} you returned twice the JSD. JSD is the "
                "average of KL(p || m) and KL(q || m), not their sum."
            )
        require_close(
            "2.2", got, expected, what=f"the JSD for {label}", atol=1e-5, rtol=0.0,
            hint="JSD(p || q) = KL(p || m) / 2 + KL(q || m) / 2 with m = (p + q) / 2 "
            "and KL(p || m) = integral of p log(p / m); integrate with "
            "torch.trapezoid(values, x) and use the natural logarithm.",
        )


# -- 2.3 ---------------------------------------------------------------------


def _reference_value(p_data, p_g, D, x) -> float:
    d = D(x)
    integrand = torch.xlogy(p_data(x), d) + torch.xlogy(p_g(x), 1 - d)
    return float(torch.trapezoid(integrand, x))


@exercise("2.3", "V(D, G) by quadrature for three discriminators, including D = 1/2 "
          "(V = -log 4) and D = D*.")
def check_value_function(fn):
    p_data, p_g = _gaussian(0.0, 1.0), _gaussian(1.5, 0.7)
    # on [-5, 9] D* never rounds to exactly 0 or 1, so log D and log(1 - D) are finite
    x = _grid(-5.0, 9.0, 14001)

    def half(t):
        return torch.full_like(t, 0.5)

    def logistic(t):
        return torch.sigmoid(1.5 - 2.0 * t)

    def d_star(t):
        return p_data(t) / (p_data(t) + p_g(t))

    for label, D in (("D(x) = 1/2", half), ("D(x) = sigmoid(1.5 - 2x)", logistic),
                     ("D = D*", d_star)):
        expected = _reference_value(p_data, p_g, D, x)
        got = plain_float("2.3", call_student("2.3", fn, p_data, p_g, D, x.clone()),
                          f"V for {label}")
        if abs(got + expected) < 1e-6 and abs(expected) > 1e-3:
            raise ExerciseFailed(
                f"Exercise 2.3: for {label} you returned -V. V(D, G) is what the "
                "discriminator maximises: E log D(x) + E log(1 - D(G(z))), a "
                "negative number."
            )
        swapped = _reference_value(p_g, p_data, D, x)
        if abs(got - swapped) < 1e-6 and abs(expected - swapped) > 1e-4:
            raise ExerciseFailed(
                f"Exercise 2.3: for {label} you weighted log D by p_g and "
                "log(1 - D) by p_data: the real data should be called real."
            )
        require_close(
            "2.3", got, expected, what=f"V for {label}", atol=1e-6, rtol=0.0,
            hint="V(D, G) = integral of p_data(x) log D(x) + p_g(x) log(1 - D(x)) dx; "
            "integrate with torch.trapezoid(values, x).",
        )
