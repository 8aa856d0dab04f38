"""Checkers for 02_optimal_discriminator.

Exercise 2.1: ``optimal_discriminator(p_data, p_g, x)`` returns D*(x).
Exercise 2.2: ``optimal_discriminator_prior(p_data, p_g, x, pi)`` returns the best
D when real samples make up a share ``pi`` of what the discriminator sees.
Exercise 2.3: ``js_divergence(p, q, x)`` returns JSD(p || q) by the trapezoidal
rule on the grid ``x``.
Exercise 2.4: ``value_function(p_data, p_g, logit, x)`` returns V(D, G) for
D = sigmoid(logit) by the trapezoidal rule on the grid ``x``, finite where D rounds
to 0 or 1.
Exercise 2.5: ``smoothed_optimal_discriminator(p_data, p_g, x, alpha, beta)``
returns the best D when the cross-entropy's targets are ``alpha`` for real
samples and ``beta`` for generated ones (label smoothing).

Densities and discriminators are passed as functions from a float64 tensor of
points to a tensor of values. Densities and grids travel between processes as plain specs.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from course_utils.checks._core import (
    STEP,
    Checker,
    ExerciseFailed,
    as_array,
    as_float,
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


# Densities travel as plain specs: ["gauss", mean, std], ["mix", [[w, m, s], ...]]
# or ["bump", centre]; each side builds the function from the spec.
def _density(spec):
    kind = spec[0]
    if kind == "gauss":
        return _gaussian(float(spec[1]), float(spec[2]))
    if kind == "mix":
        return _mixture([tuple(float(v) for v in part) for part in spec[1]])
    if kind == "bump":
        return _bump(float(spec[1]))
    raise ValueError(f"unknown density {kind!r}")


def _grid(spec) -> torch.Tensor:
    lo, hi, n = spec
    return torch.linspace(float(lo), float(hi), int(n), dtype=torch.float64)


def _number(exercise_id: str, value, what: str, zero_hint: str) -> float:
    """plain_float, with a hint about 0 log 0 when the answer is NaN."""
    if type(value) is torch.Tensor and torch.Tensor.numel(value) == 1:
        item = float(torch.Tensor.item(torch.Tensor.detach(value)))
        if math.isnan(item):
            raise ExerciseFailed(f"Exercise {exercise_id}: {what} is nan. {zero_hint}")
    return plain_float(exercise_id, value, what)


def _r(rng, lo, hi):
    return round(float(rng.uniform(lo, hi)), 3)


# -- 2.1 ---------------------------------------------------------------------


@exercise("2.1", "D*(x) = p_data(x) / (p_data(x) + p_g(x)) on three pairs of "
          "densities.", gives_away=("optimal_discriminator",))
class OptimalDiscriminator(Checker):
    def cases(self, rng):
        return [
            {"p": ["gauss", 0.0, 1.0], "q": ["gauss", _r(rng, 0.5, 2), _r(rng, .5, 1)],
             "x": [-4.0, 5.0, 181]},
            {"p": ["mix", [[0.5, _r(rng, -2.5, -1.5), 0.5], [0.5, 2.0, 0.5]]],
             "q": ["gauss", 0.0, _r(rng, 1.2, 1.8)], "x": [-4.0, 4.0, 161]},
            {"p": ["gauss", 0.0, 1.0], "q": ["gauss", 0.0, 1.0], "x": [-3.0, 3.0, 7]},
        ]

    def run(self, fn, case):
        x = _grid(case["x"])
        answer = call_student("2.1", fn, _density(case["p"]), _density(case["q"]), x)
        return plain_tensor("2.1", answer, "D*(x)", shape=tuple(x.shape))

    def verify(self, case, result):
        x = _grid(case["x"])
        got = torch.from_numpy(as_array("2.1", result, "D*(x)", shape=tuple(x.shape)))
        p, q = _density(case["p"])(x), _density(case["q"])(x)
        expected, flipped = p / (p + q), q / (p + q)
        if torch.allclose(got, flipped, atol=1e-9) and not torch.allclose(
            got, expected, atol=1e-9
        ):
            raise ExerciseFailed(
                "Exercise 2.1: you returned p_g / (p_data + p_g), the probability "
                "that x is fake. D(x) is the probability that x is real."
            )
        if bool((got > 1 + 1e-9).any()) or bool((got < -1e-9).any()):
            raise ExerciseFailed(
                "Exercise 2.1: D*(x) leaves [0, 1] at some points, so it is not a "
                "probability (a ratio p_data / p_g, for example, is not). Solve "
                f"f'(y) = 0 for y in (0, 1).{STEP}f'(y) = a / y - b / (1 - y) = 0 "
                "gives a (1 - y) = b y, so y = a / (a + b)."
            )
        if torch.allclose(got, torch.full_like(got, 0.5), atol=1e-9) and not \
                torch.allclose(expected, torch.full_like(expected, 0.5), atol=1e-9):
            raise ExerciseFailed(
                "Exercise 2.1: you returned 1/2 everywhere, which is D* only where "
                "p_data(x) = p_g(x). The maximiser of a log y + b log(1 - y) moves "
                f"with a and b.{STEP}f'(y) = a / y - b / (1 - y) = 0 gives "
                "y = a / (a + b)."
            )
        require_close(
            "2.1", got, expected, what="D*(x)", atol=1e-9, rtol=1e-7,
            hint="Maximise p_data(x) log y + p_g(x) log(1 - y) over y at each x: "
            f"set the derivative in y to zero and solve.{STEP}"
            "a log y + b log(1 - y) is largest at y = a / (a + b).",
        )


# -- 2.3 ---------------------------------------------------------------------


def _reference_jsd(p, q, x) -> float:
    px, qx = p(x), q(x)
    total = px + qx
    integrand = 0.5 * (
        torch.xlogy(px, px) - torch.xlogy(px, total)
        + torch.xlogy(qx, qx) - torch.xlogy(qx, total)
    ) + 0.5 * LOG2 * total
    return float(torch.trapezoid(integrand, x))


_ZERO_HINT = (
    "Where a density is 0 the term p log(p / m) must count as 0 (its limit as p goes "
    f"to 0), but 0 * log(0) is nan in floating point.{STEP}torch.xlogy(a, b) "
    "computes a log b and returns 0 where a = 0: write p log(p / m) as "
    "torch.xlogy(p, p) - torch.xlogy(p, m)."
)


@exercise("2.3", "JSD by quadrature: 0 for equal densities, log 2 for disjoint ones, "
          "0.287769 for N(0, 1) against N(1.5, 0.7^2).")
class JSDivergence(Checker):
    def cases(self, rng):
        same = ["gauss", _r(rng, -1, 1), _r(rng, 1.5, 2.5)]
        return [
            {"label": "N(0, 1) against N(1.5, 0.7^2)", "p": ["gauss", 0.0, 1.0],
             "q": ["gauss", 1.5, 0.7], "x": [-12.0, 12.0, 24001], "known": 0.287769},
            {"label": "a density against itself", "p": same, "q": same,
             "x": [-25.0, 25.0, 5001], "known": 0.0},
            {"label": "two densities with disjoint supports",
             "p": ["bump", -2.0], "q": ["bump", 2.0], "x": [-4.0, 4.0, 8001],
             "known": LOG2},
            {"label": "a mixture against a Gaussian",
             "p": ["mix", [[0.3, _r(rng, -2.5, -1.5), 0.5], [0.7, 2.0, 0.8]]],
             "q": ["gauss", _r(rng, -0.5, 0.5), 1.5], "x": [-14.0, 14.0, 28001]},
        ]

    def run(self, fn, case):
        x = _grid(case["x"])
        return _number("2.3", call_student("2.3", fn, _density(case["p"]),
                                           _density(case["q"]), x),
                       f"JSD for {case['label']}", _ZERO_HINT)

    def verify(self, case, result):
        label = case["label"]
        got = as_float("2.3", result, f"the JSD for {label}")
        expected = _reference_jsd(_density(case["p"]), _density(case["q"]),
                                  _grid(case["x"]))  # agrees with "known" (tested)
        if abs(got - 2 * expected) < 1e-5 and expected > 1e-3:
            raise ExerciseFailed(
                f"Exercise 2.3: for {label} you returned twice the JSD. JSD is the "
                "average of KL(p || m) and KL(q || m), not their sum."
            )
        require_close(
            "2.3", got, expected, what=f"the JSD for {label}", atol=1e-5, rtol=0.0,
            hint="JSD(p || q) = KL(p || m) / 2 + KL(q || m) / 2 with m = (p + q) / 2 "
            "and KL(p || m) = integral of p log(p / m); integrate with "
            "torch.trapezoid(values, x) and use the natural logarithm.",
        )


# -- 2.4 ---------------------------------------------------------------------


def _reference_value(p_data, p_g, logit, x) -> float:
    t = logit(x)
    log_d, log_1md = -F.softplus(-t), -F.softplus(t)  # log D and log(1 - D), exactly
    return float(torch.trapezoid(p_data(x) * log_d + p_g(x) * log_1md, x))


def _logit(spec, p_data, p_g):
    kind = spec[0]
    if kind == "half":
        return lambda x: torch.zeros_like(x)
    if kind == "logistic":
        a, b = float(spec[1]), float(spec[2])
        return lambda x: a + b * x
    if kind == "optimal":  # log p_data - log p_g, from the two Gaussians' specs
        (_, m1, s1), (_, m2, s2) = spec[1], spec[2]

        def log_gauss(x, m, s):
            return -0.5 * ((x - m) / s) ** 2 - math.log(s * math.sqrt(2 * math.pi))

        return lambda x: log_gauss(x, m1, s1) - log_gauss(x, m2, s2)
    raise ValueError(f"unknown discriminator {kind!r}")


@exercise("2.4", "V(D, G) from D's logits, finite where D rounds to 0 or 1, for three "
          "discriminators, including D = 1/2 (V = -log 4) and D = D*.",
          gives_away=("value_from_logits",))
class ValueFromLogits(Checker):
    """``value_function(p_data, p_g, logit, x)``: V(D, G) for D = sigmoid(logit),
    by the trapezoidal rule, with log D = -softplus(-t), log(1 - D) = -softplus(t).
    On the grids here D*'s logit reaches about 100, where sigmoid rounds to 1."""

    def cases(self, rng):
        p, q = ["gauss", 0.0, 1.0], ["gauss", 1.5, 0.7]
        x = [_r(rng, -12.0, -11.0), _r(rng, 12.0, 13.0), int(rng.integers(12001, 14002))]
        a, b = _r(rng, 1.0, 2.0), -_r(rng, 1.5, 2.5)
        return [
            {"label": "D(x) = 1/2", "p": p, "q": q, "D": ["half"], "x": x},
            {"label": f"D(x) = sigmoid({a} - {-b}x)", "p": p, "q": q,
             "D": ["logistic", a, b], "x": x},
            {"label": "D = D*", "p": p, "q": q, "D": ["optimal", p, q], "x": x},
        ]

    def run(self, fn, case):
        p_data, p_g = _density(case["p"]), _density(case["q"])
        logit = _logit(case["D"], p_data, p_g)
        value = call_student("2.4", fn, p_data, p_g, logit, _grid(case["x"]))
        if type(value) is torch.Tensor and torch.Tensor.numel(value) == 1:
            item = float(torch.Tensor.item(torch.Tensor.detach(value)))
            if not math.isfinite(item):
                return {"value": None, "nonfinite": item}
        elif type(value) is float and not math.isfinite(value):
            return {"value": None, "nonfinite": value}
        return {"value": plain_float("2.4", value, f"V for {case['label']}"),
                "nonfinite": None}

    def verify(self, case, result):
        label = case["label"]
        if type(result) is not dict:
            raise ExerciseFailed("Exercise 2.4: expected a number.")
        if result.get("nonfinite") is not None:
            t_max = 0.0
            if case["D"][0] == "optimal":
                x = _grid(case["x"])
                p_data, p_g = _density(case["p"]), _density(case["q"])
                t_max = float(_logit(case["D"], p_data, p_g)(x).abs().max())
            raise ExerciseFailed(
                f"Exercise 2.4: for {label} you returned {result['nonfinite']}. Where "
                f"the logit is large (here up to {t_max:.0f}), sigmoid(t) rounds to "
                "exactly 1 or 0, and log(1 - D) or log D becomes -inf."
                f"{STEP}Never form D: log sigmoid(t) = -log(1 + exp(-t)) = "
                "-softplus(-t) and log(1 - sigmoid(t)) = -softplus(t), and "
                "F.softplus computes both without overflow."
            )
        got = as_float("2.4", result.get("value"), f"V for {label}")
        p_data, p_g = _density(case["p"]), _density(case["q"])
        logit = _logit(case["D"], p_data, p_g)
        x = _grid(case["x"])
        expected = _reference_value(p_data, p_g, logit, x)
        if abs(got + expected) < 1e-6 and abs(expected) > 1e-3:
            raise ExerciseFailed(
                f"Exercise 2.4: for {label} you returned -V. V(D, G) is what the "
                "discriminator maximises: E log D(x) + E log(1 - D(G(z))), a "
                "negative number."
            )
        if abs(got - _reference_value(p_g, p_data, logit, x)) < 1e-6 and abs(
                expected - _reference_value(p_g, p_data, logit, x)) > 1e-4:
            raise ExerciseFailed(
                f"Exercise 2.4: for {label} you weighted log D by p_g and "
                "log(1 - D) by p_data, or, what is the same, swapped log D and "
                "log(1 - D): the real data should be called real, and log D = "
                "log sigmoid(t) goes to 0 as t grows."
            )
        require_close(
            "2.4", got, expected, what=f"V for {label}", atol=1e-6, rtol=0.0,
            hint="V(D, G) = integral of p_data(x) log D(x) + p_g(x) log(1 - D(x)) dx, "
            "integrated with torch.trapezoid(values, x).",
        )


# -- 2.2 ---------------------------------------------------------------------


@exercise("2.2", "D* with a prior pi matches on a grid of x for four priors pi, "
          "1/2 among them.", gives_away=("optimal_discriminator_with_prior",))
class OptimalDiscriminatorPrior(Checker):
    def cases(self, rng):
        return [
            {"p": ["gauss", 0.0, 1.0], "q": ["gauss", _r(rng, 0.5, 2), _r(rng, .5, 1)],
             "x": [-4.0, 5.0, 91], "pi": _r(rng, 0.1, 0.3)},
            {"p": ["mix", [[0.5, _r(rng, -2.5, -1.5), 0.5], [0.5, 2.0, 0.5]]],
             "q": ["gauss", 0.0, _r(rng, 1.2, 1.8)], "x": [-4.0, 4.0, 81],
             "pi": _r(rng, 0.7, 0.9)},
            {"p": ["gauss", 0.0, 1.0], "q": ["gauss", 0.0, 1.0], "x": [-3.0, 3.0, 7],
             "pi": _r(rng, 0.55, 0.65)},
            {"p": ["gauss", 0.0, 1.0], "q": ["gauss", 1.0, 1.0], "x": [-3.0, 4.0, 15],
             "pi": 0.5},
        ]

    def run(self, fn, case):
        x = _grid(case["x"])
        answer = call_student("2.2", fn, _density(case["p"]), _density(case["q"]), x,
                              float(case["pi"]))
        return plain_tensor("2.2", answer, "D*_pi(x)", shape=tuple(x.shape))

    def verify(self, case, result):
        x = _grid(case["x"])
        got = torch.from_numpy(as_array("2.2", result, "D*_pi(x)",
                                        shape=tuple(x.shape)))
        a, b = _density(case["p"])(x), _density(case["q"])(x)
        pi = float(case["pi"])
        expected = pi * a / (pi * a + (1 - pi) * b)
        if torch.allclose(got, expected, atol=1e-9, rtol=1e-7):
            return
        wrong = [
            (a / (a + b), "that is D* for pi = 1/2: the prior weights the two terms of "
             "V, pi log D on real samples and (1 - pi) log(1 - D) on fakes."),
            ((1 - pi) * a / ((1 - pi) * a + pi * b), "pi and 1 - pi are swapped: pi "
             "is the share of real samples, so it multiplies p_data."),
            (pi * a / (a + b), "a probability must come out: maximise "
             "pi a log y + (1 - pi) b log(1 - y) over y, as in Section 1."),
            (pi * a / (pi * a + b), "the fake term carries the weight 1 - pi too."),
            ((1 - pi) * b / (pi * a + (1 - pi) * b), "that is the probability that x "
             "is fake; D(x) is the probability that x is real."),
        ]
        for value, hint in wrong:
            if torch.allclose(got, value, atol=1e-9, rtol=1e-7):
                raise ExerciseFailed(f"Exercise 2.2 (pi = {pi}): {hint}")
        require_close(
            "2.2", got, expected, what=f"D*_pi(x) for pi = {pi}", atol=1e-9, rtol=1e-7,
            hint="Maximise pi p_data(x) log y + (1 - pi) p_g(x) log(1 - y) over y: "
            "a log y + b log(1 - y) is largest at y = a / (a + b).",
        )


# -- 2.5 ---------------------------------------------------------------------


_COLLECT = (
    "Collect what multiplies log y and log(1 - y) at one x: (alpha p_data + beta "
    "p_g) log y + ((1 - alpha) p_data + (1 - beta) p_g) log(1 - y). The maximum of "
    "a log y + b log(1 - y) is y = a / (a + b), and here a + b = p_data + p_g."
)


def _smoothed_wrong_answers(a, b, alpha, beta):
    """(value, hint) for the wrong answers Exercise 2.5 invites."""
    total = a + b
    return [
        ((beta * a + alpha * b) / total, "alpha and beta are swapped: alpha is the "
         f"target of the real samples, so it goes with p_data.{STEP}{_COLLECT}"),
        (a / total, "that is D* for the targets 1 and 0: the smoothed targets change "
         f"the optimum.{STEP}{_COLLECT}"),
        (alpha * a / total, "the generated samples' target beta is missing: a sample "
         "of G at x asks D for beta, which adds beta p_g(x) to the coefficient of "
         f"log y.{STEP}{_COLLECT}"),
        (alpha * a / (alpha * a + beta * b), "alpha and beta are targets, not weights "
         "of the two densities as pi was in Exercise 2.2: with beta = 0 this is 1 "
         "wherever p_data > 0, although D's target on real samples is alpha."
         f"{STEP}{_COLLECT}"),
        (alpha * a / (alpha * a + (1 - beta) * b), "each sample pulls D both ways: a "
         "real sample with target alpha contributes alpha log y and also "
         f"(1 - alpha) log(1 - y), a generated one beta log y and (1 - beta) "
         f"log(1 - y).{STEP}{_COLLECT}"),
        ((alpha * a + beta * b) / (2 * total), "the denominator is twice too large: "
         "the coefficients of log y and log(1 - y) add up to p_data + p_g, and with "
         f"alpha = 1, beta = 0 the answer must be Exercise 2.1's D*.{STEP}{_COLLECT}"),
        (((1 - alpha) * a + (1 - beta) * b) / total, "that is 1 - D*, the "
         "probability that x is fake; D(x) is the probability that x is real."
         f"{STEP}{_COLLECT}"),
        (alpha * a + beta * b, "a probability must come out, not a density: divide "
         f"by the sum of the two coefficients.{STEP}{_COLLECT}"),
    ]


@exercise("2.5", "D* for the targets alpha (real) and beta (fake) is "
          "(alpha p_data + beta p_g) / (p_data + p_g), on one-sided, two-sided, "
          "disjoint and unsmoothed cases.",
          gives_away=("optimal_discriminator_with_targets",))
class SmoothedOptimalDiscriminator(Checker):
    def cases(self, rng):
        return [
            {"label": "one-sided", "p": ["gauss", 0.0, 1.0],
             "q": ["gauss", _r(rng, 0.5, 2), _r(rng, .5, 1)], "x": [-4.0, 5.0, 91],
             "alpha": _r(rng, 0.8, 0.95), "beta": 0.0},
            {"label": "two-sided",
             "p": ["mix", [[0.5, _r(rng, -2.5, -1.5), 0.5], [0.5, 2.0, 0.5]]],
             "q": ["gauss", 0.0, _r(rng, 1.2, 1.8)], "x": [-4.0, 4.0, 81],
             "alpha": _r(rng, 0.85, 0.95), "beta": _r(rng, 0.05, 0.2)},
            {"label": "two-sided, where each density is 0 on part of the grid",
             "p": ["bump", -0.5], "q": ["bump", 0.5], "x": [-1.4, 1.4, 57],
             "alpha": _r(rng, 0.8, 0.95), "beta": _r(rng, 0.1, 0.3)},
            {"label": "unsmoothed", "p": ["gauss", 0.0, 1.0],
             "q": ["gauss", 1.0, _r(rng, 0.6, 1.4)], "x": [-3.0, 4.0, 15],
             "alpha": 1.0, "beta": 0.0},
        ]

    def run(self, fn, case):
        x = _grid(case["x"])
        answer = call_student("2.5", fn, _density(case["p"]), _density(case["q"]), x,
                              float(case["alpha"]), float(case["beta"]))
        if type(answer) is torch.Tensor and tuple(answer.shape) == tuple(x.shape):
            finite = torch.isfinite(torch.Tensor.detach(answer))
            if not bool(finite.all()):  # where: the verify side names the point
                i = int(torch.nonzero(~finite)[0, 0])
                return {"nonfinite_at": i, "value": float(answer[i])}
        return plain_tensor("2.5", answer, "D*(x)", shape=tuple(x.shape))

    def verify(self, case, result):
        x = _grid(case["x"])
        a, b = _density(case["p"])(x), _density(case["q"])(x)
        alpha, beta = float(case["alpha"]), float(case["beta"])
        where = f"{case['label']}, alpha = {alpha:g}, beta = {beta:g}"
        if type(result) is dict:
            i = result.get("nonfinite_at")
            if type(i) is not int or not 0 <= i < len(x):
                raise ExerciseFailed("Exercise 2.5: D*(x) is not an array.")
            raise ExerciseFailed(
                f"Exercise 2.5 ({where}): {result.get('value')} at x = "
                f"{x[i].item():.3g}, where p_data = {a[i].item():.3g} and p_g = "
                f"{b[i].item():.3g}. D* is defined wherever one of the two densities "
                f"is positive: avoid dividing by one density alone.{STEP}{_COLLECT}")
        got = torch.from_numpy(as_array("2.5", result, "D*(x)", shape=tuple(x.shape)))
        expected = (alpha * a + beta * b) / (a + b)
        if torch.allclose(got, expected, atol=1e-9, rtol=1e-7):
            return
        for value, hint in _smoothed_wrong_answers(a, b, alpha, beta):
            if torch.allclose(got, value, atol=1e-9, rtol=1e-7):
                raise ExerciseFailed(f"Exercise 2.5 ({where}): {hint}")
        i = int((got - expected).abs().argmax())
        region = ("only p_g has mass" if a[i] == 0 else "only p_data has mass"
                  if b[i] == 0 else "both densities have mass")
        raise ExerciseFailed(
            f"Exercise 2.5 ({where}): at x = {x[i].item():.3g}, where {region} "
            f"(p_data = {a[i].item():.3g}, p_g = {b[i].item():.3g}), you return "
            f"{got[i].item():.6g} and the optimum is {expected[i].item():.6g}. Check "
            "your answer at alpha = 1, beta = 0 (Exercise 2.1's D*), and where one "
            f"density is 0.{STEP}{_COLLECT}")
