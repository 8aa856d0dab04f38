"""Checkers for 07_lsgan.

Exercise 7.1: ``ls_losses(real_out, fake_out, a, b, c)``, the least-squares losses
of D and G with the a-b-c coding: ``(loss_D, loss_G)``.
Exercise 7.2: ``ls_optimal_d(p_data, p_g, a, b)``, the least-squares optimal
discriminator (b p_data + a p_g) / (p_data + p_g), derived.
Exercise 7.3: ``pearson_chi2(p, q, x)``, the Pearson chi-square divergence
integral of (p - q)^2 / q by the trapezoidal rule on the grid ``x``.
Exercise 7.4: ``chi2_link(a, b, c)``, derived: the scale and the constant of
2C(G) = scale * chi^2(2 p_g || p_data + p_g) + constant for any coding.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from course_utils.checks._core import (
    STEP,
    Checker,
    ExerciseFailed,
    as_array,
    as_float,
    call_student,
    exercise,
    input_gradients,
    judge_derived,
    known_mistake,
    plain_float,
    plain_tensor,
    require_close,
)

CODINGS = [(-1.0, 1.0, 0.0), (0.0, 1.0, 1.0)]


# -- 7.1 ---------------------------------------------------------------------


@exercise("7.1", "D minimises 1/2 E[(D(x) - b)^2] + 1/2 E[(D(G(z)) - a)^2], G "
          "minimises 1/2 E[(D(G(z)) - c)^2]; values and gradients match for 4 codings.",
          gives_away=("lsgan", "least_squares_losses"))
class LeastSquaresLosses(Checker):
    def cases(self, rng):
        codings = CODINGS + [
            tuple(round(float(v), 3) for v in (rng.uniform(-2, -0.5),
                                              rng.uniform(0.5, 2), rng.uniform(-1, 1)))
            for _ in range(2)
        ]
        out = []
        for i, (a, b, c) in enumerate(codings):
            # real and fake batches of different sizes (as at the end of an epoch):
            # one mean over both would weigh the two terms by their sizes
            n_real = 8 if i == 0 else int(rng.integers(20, 120))
            n_fake = 5 if i == 0 else n_real + int(rng.integers(7, 40))
            out.append({"a": a, "b": b, "c": c,
                        "real": rng.normal(0.6, 1.0, (n_real, 1)),
                        "fake": rng.normal(-0.4, 1.0, (n_fake, 1))})
        return out

    def run(self, ls_losses, case):
        real = torch.tensor(case["real"], dtype=torch.float64, requires_grad=True)
        fake = torch.tensor(case["fake"], dtype=torch.float64, requires_grad=True)
        out = call_student("7.1", ls_losses, real, fake, float(case["a"]),
                           float(case["b"]), float(case["c"]))
        if type(out) is not tuple or len(out) != 2:
            raise ExerciseFailed(
                "Exercise 7.1: return a tuple (loss_D, loss_G), got "
                f"{type(out).__name__}."
            )
        result = {}
        for name, loss in zip(("D", "G"), out):
            result[name] = plain_float("7.1", loss, f"loss_{name}")
            grads = input_gradients(loss, (real, fake))
            result[f"{name}_has_grad"] = grads is not None
            if grads is not None:
                result[f"{name}_grad_real"] = plain_tensor("7.1", grads[0])
                result[f"{name}_grad_fake"] = plain_tensor("7.1", grads[1])
        return result

    def verify(self, case, result):
        a, b, c = float(case["a"]), float(case["b"]), float(case["c"])
        r = np.asarray(case["real"], dtype=np.float64)
        f = np.asarray(case["fake"], dtype=np.float64)
        n_r, n_f = len(r), len(f)
        if type(result) is not dict:
            raise ExerciseFailed("Exercise 7.1: expected two losses.")
        coding = f"(a, b, c) = ({a:g}, {b:g}, {c:g})"
        loss_d = as_float("7.1", result.get("D"), "loss_D")
        loss_g = as_float("7.1", result.get("G"), "loss_G")
        sig_r, sig_f = 1 / (1 + np.exp(-r)), 1 / (1 + np.exp(-f))
        exp_d = 0.5 * np.mean((r - b) ** 2) + 0.5 * np.mean((f - a) ** 2)
        exp_g = 0.5 * np.mean((f - c) ** 2)
        if abs(loss_d - exp_d) > 1e-9 * max(1.0, exp_d):
            wrong = [
                (2 * exp_d, "the lecture's losses carry a factor 1/2 on each term."),
                (0.5 * np.mean((r - a) ** 2) + 0.5 * np.mean((f - b) ** 2),
                 "a and b are swapped: b is the target for real samples, a for "
                 "fakes."),
                (0.5 * np.sum((r - b) ** 2) + 0.5 * np.sum((f - a) ** 2),
                 "average over the batch (mean), do not sum."),
                (0.5 * np.mean((sig_r - b) ** 2) + 0.5 * np.mean((sig_f - a) ** 2),
                 "no sigmoid: the least-squares D uses its raw output, which may "
                 "go below a or above b."),
                (0.5 * np.mean(np.abs(r - b)) + 0.5 * np.mean(np.abs(f - a)),
                 "square the differences: least squares, not absolute values."),
                (np.mean(np.concatenate([(r - b) ** 2, (f - a) ** 2])),
                 f"one mean over both batches weighs the real term by "
                 f"{n_r}/{n_r + n_f} and the fake term by {n_f}/{n_r + n_f}; here "
                 "the batches differ in size. Average each term over its own batch, "
                 "then add them with the factor 1/2."),
                (0.5 * np.mean(np.concatenate([(r - b) ** 2, (f - a) ** 2])),
                 "one mean over both batches weighs the terms by the batch sizes, "
                 "and halves them again; average each term over its own batch."),
            ]
            hint = known_mistake(loss_d, wrong, 1e-9)
            if hint:
                raise ExerciseFailed(f"Exercise 7.1: loss_D with {coding}: {hint}")
            raise ExerciseFailed(
                f"Exercise 7.1: loss_D = {loss_d:.6g} with {coding}, expected "
                f"{exp_d:.6g} = 1/2 mean((real_out - b)^2) + 1/2 mean((fake_out - a)^2)."
            )
        if abs(loss_g - exp_g) > 1e-9 * max(1.0, exp_g):
            wrong = [
                (2 * exp_g, "the lecture's generator loss carries a factor 1/2."),
                (0.5 * np.mean((f - b) ** 2),
                 "G pulls D(G(z)) towards c, the value it wants D to believe for "
                 "fakes, not towards b (they differ in the (-1, 1, 0) coding)."),
                (0.5 * np.mean((f - a) ** 2),
                 "that is D's target for fakes; G's target is c."),
                (0.5 * np.sum((f - c) ** 2), "average over the batch (mean), do not "
                 "sum."),
                (0.5 * np.mean((sig_f - c) ** 2), "no sigmoid: use the raw output."),
                (-exp_d, "G has its own loss, 1/2 E[(D(G(z)) - c)^2], not minus D's."),
            ]
            hint = known_mistake(loss_g, wrong, 1e-9)
            if hint:
                raise ExerciseFailed(f"Exercise 7.1: loss_G with {coding}: {hint}")
            raise ExerciseFailed(
                f"Exercise 7.1: loss_G = {loss_g:.6g} with {coding}, expected "
                f"{exp_g:.6g} = 1/2 mean((fake_out - c)^2)."
            )
        for name in ("D", "G"):
            if result.get(f"{name}_has_grad") is not True:
                raise ExerciseFailed(
                    f"Exercise 7.1: loss_{name} carries no gradient back to the "
                    "outputs: compute it with torch operations on the tensors you "
                    "were given (no .item(), no .detach(), no NumPy)."
                )
        g_real = as_array("7.1", result.get("D_grad_real"), "a gradient", (n_r, 1))
        g_fake = as_array("7.1", result.get("D_grad_fake"), "a gradient", (n_f, 1))
        gg_fake = as_array("7.1", result.get("G_grad_fake"), "a gradient", (n_f, 1))
        if not (np.allclose(g_real, (r - b) / n_r)
                and np.allclose(g_fake, (f - a) / n_f)
                and np.allclose(gg_fake, (f - c) / n_f)):
            raise ExerciseFailed(
                "Exercise 7.1: the values are right but the gradients are not; build "
                "both losses from the output tensors with .mean()."
            )


# -- 7.2 ---------------------------------------------------------------------


@exercise("7.2", "the optimal least-squares discriminator matches for 4 codings.",
          gives_away=("optimal_discriminator", "least_squares_optimal_d"))
class LeastSquaresOptimalD(Checker):
    def cases(self, rng):
        codings = [(-1.0, 1.0), (0.0, 1.0), (2.0, -1.0)]
        codings.append((round(float(rng.uniform(-3, 0)), 3),
                        round(float(rng.uniform(0.5, 3)), 3)))
        out = []
        for a, b in codings:
            n = int(rng.integers(50, 200))
            out.append({"a": a, "b": b, "p_data": rng.uniform(0.01, 1.0, n),
                        "p_g": rng.uniform(0.01, 1.0, n)})
        return out

    def run(self, ls_optimal_d, case):
        pd = torch.tensor(case["p_data"], dtype=torch.float64)
        pg = torch.tensor(case["p_g"], dtype=torch.float64)
        out = call_student("7.2", ls_optimal_d, pd, pg, float(case["a"]),
                           float(case["b"]))
        return plain_tensor("7.2", out, "D*", shape=pd.shape)

    def verify(self, case, result):
        a, b = float(case["a"]), float(case["b"])
        pd = np.asarray(case["p_data"], dtype=np.float64)
        pg = np.asarray(case["p_g"], dtype=np.float64)
        got = as_array("7.2", result, "D*", pd.shape)
        expected = (b * pd + a * pg) / (pd + pg)
        if np.allclose(got, expected, rtol=1e-9, atol=1e-12):
            return
        wrong = [
            ((a * pd + b * pg) / (pd + pg),
             "a and b are swapped: where only real data has mass, D* must equal b, "
             "the target of real samples."),
            (pd / (pd + pg),
             "p_data / (p_data + p_g) is the cross-entropy's D* (notebook 02); it "
             "matches the least-squares one only for a = 0, b = 1."),
            ((b * pd + a * pg) / 2,
             "minimise p_data (y - b)^2 + p_g (y - a)^2 over y: set its derivative "
             "to 0; the answer is a weighted average of b and a, weights "
             "p_data / (p_data + p_g) and p_g / (p_data + p_g)."),
            (np.full_like(pd, (a + b) / 2), "D* depends on x through the two "
             "densities; (a + b) / 2 is its value only where they are equal."),
            ((b * pd - a * pg) / (pd + pg), "check the sign of the a term."),
        ]
        for value, hint in wrong:
            if np.allclose(got, value, rtol=1e-9, atol=1e-12):
                raise ExerciseFailed(f"Exercise 7.2 (a = {a:g}, b = {b:g}): {hint}")
        require_close(
            "7.2", got, expected, what=f"D* for a = {a:g}, b = {b:g}", atol=1e-12,
            rtol=1e-9,
            hint="At each x, D minimises p_data(x) (D - b)^2 + p_g(x) (D - a)^2.",
        )


# -- 7.3 ---------------------------------------------------------------------


def _gauss(x, m, s):
    return np.exp(-0.5 * ((x - m) / s) ** 2) / (s * math.sqrt(2 * math.pi))


@exercise("7.3", "the Pearson chi-square integral of (p - q)^2 / q by the "
          "trapezoidal rule matches on 5 pairs of densities.",
          gives_away=("pearson_chi2_divergence",))
class PearsonChi2(Checker):
    def cases(self, rng):
        out = []
        for i in range(5):
            lo, hi = -8.0, 8.0
            n = int(rng.integers(801, 2001))
            x = np.linspace(lo, hi, n)
            if i == 3:  # a grid that is finer in the middle: not equally spaced
                x = 8.0 * np.sinh(2.5 * np.linspace(-1, 1, n)) / math.sinh(2.5)
            m1, m2 = rng.uniform(-1, 1, 2)
            s1 = rng.uniform(0.5, 1.0)
            s2 = rng.uniform(1.2, 1.8)  # q wider than p: the integral is finite
            p = _gauss(x, m1, s1)
            if i == 1:  # a two-bump p
                p = 0.5 * _gauss(x, m1 - 1.5, 0.6) + 0.5 * _gauss(x, m1 + 1.5, 0.6)
            q = _gauss(x, m2, s2)
            if i == 2:  # unnormalised "densities", as in the LSGAN identity
                p, q = p + q, 2 * q
            out.append({"x": x, "p": p, "q": q})
        return out

    def run(self, pearson_chi2, case):
        x = torch.tensor(case["x"], dtype=torch.float64)
        p = torch.tensor(case["p"], dtype=torch.float64)
        q = torch.tensor(case["q"], dtype=torch.float64)
        return plain_float("7.3", call_student("7.3", pearson_chi2, p, q, x),
                           "pearson_chi2(p, q, x)")

    def verify(self, case, result):
        got = as_float("7.3", result, "pearson_chi2(p, q, x)")
        x = np.asarray(case["x"], dtype=np.float64)
        p = np.asarray(case["p"], dtype=np.float64)
        q = np.asarray(case["q"], dtype=np.float64)
        expected = float(np.trapezoid((p - q) ** 2 / q, x))
        if abs(got - expected) <= 1e-8 * max(1.0, abs(expected)):
            return
        dx = x[1] - x[0]
        values = (p - q) ** 2 / q
        uniform = float((values.sum() - (values[0] + values[-1]) / 2) * dx)
        mean_width = float((values.sum() - (values[0] + values[-1]) / 2)
                           * (x[-1] - x[0]) / (len(x) - 1))
        uneven = not np.allclose(np.diff(x), dx)
        wrong = [
            *([(uniform, "your rule assumes equally spaced points: it takes the width "
                "of the first interval for all of them. Here the grid is finer in "
                "the middle; give every interval its own width, "
                "(x[i+1] - x[i]) (f[i] + f[i+1]) / 2, or use "
                "torch.trapezoid(values, x)."),
               (mean_width, "your rule uses one width, the average (x[-1] - x[0]) / "
                "(n - 1), for every interval; the grid here is not equally spaced. "
                "Give every interval its own width, or use "
                "torch.trapezoid(values, x).")] if uneven else []),
            (float(np.trapezoid((p - q) ** 2 / p, x)),
             "divide by q, the second argument: (p - q)^2 / q. Dividing by p gives "
             "Neyman's chi-square, the same divergence with the arguments swapped."),
            (float(np.trapezoid((p - q) / q, x)),
             "square the difference: (p - q)^2 / q."),
            (float(np.sum((p - q) ** 2 / q)),
             "an integral needs the grid spacing: use torch.trapezoid(values, x)."),
            (float(np.sum((p - q) ** 2 / q) * dx),
             "use the trapezoidal rule (torch.trapezoid(values, x)), as the course's "
             "quadrature does; the rectangle rule differs at the ends of the grid."),
            (float(np.trapezoid(p * np.log(p / q), x)),
             "that is the KL divergence; chi-square integrates (p - q)^2 / q."),
            (float(np.trapezoid(np.abs(p - q), x)) / 2, "that is the total variation."),
        ]
        hint = known_mistake(got, wrong, 1e-8)
        if hint:
            raise ExerciseFailed(f"Exercise 7.3: {hint}")
        require_close(
            "7.3", got, expected, what="pearson_chi2(p, q, x)", atol=1e-8, rtol=1e-8,
            hint="Evaluate (p - q)^2 / q on the grid and integrate it with "
            "torch.trapezoid(values, x).",
        )


# -- 7.4 ---------------------------------------------------------------------


@exercise("7.4", "2C(G) = scale * chi^2(2 p_g || p_data + p_g) + constant: the scale "
          "and the constant match for 6 codings.",
          gives_away=("least_squares_chi2_link",))
class ChiSquareLink(Checker):
    """``chi2_link(a, b, c)`` -> ``(scale, constant)``, derived from D* - c =
    (m - c) + h (p_data - p_g) / (p_data + p_g) with m = (a + b)/2, h = (b - a)/2:
    scale h^2 = (b - a)^2 / 4, constant 2 (m - c)^2 (the mass of p_data + p_g
    is 2; the cross term integrates p_data - p_g to 0)."""

    def cases(self, rng):
        codings = [(-1.0, 1.0, 0.0), (0.0, 1.0, 1.0), (-1.0, 1.0, 1.0),
                   (2.0, -1.0, 0.25)]
        codings += [tuple(round(float(v), 3) for v in (rng.uniform(-2, 0),
                                                       rng.uniform(0.5, 3),
                                                       rng.uniform(-1, 2)))
                    for _ in range(2)]
        return [{"a": a, "b": b, "c": c} for a, b, c in codings]

    def run(self, chi2_link, case):
        out = call_student("7.4", chi2_link, float(case["a"]), float(case["b"]),
                           float(case["c"]))
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise ExerciseFailed("Exercise 7.4: return two numbers, (scale, constant).")
        return {"scale": plain_float("7.4", out[0], "the scale"),
                "constant": plain_float("7.4", out[1], "the constant")}

    def verify(self, case, result):
        a, b, c = float(case["a"]), float(case["b"]), float(case["c"])
        if type(result) is not dict:
            raise ExerciseFailed("Exercise 7.4: return two numbers, (scale, constant).")
        scale = as_float("7.4", result.get("scale"), "the scale")
        constant = as_float("7.4", result.get("constant"), "the constant")
        m, h = (a + b) / 2, (b - a) / 2
        where = f"for (a, b, c) = ({a:g}, {b:g}, {c:g})"
        mao = abs(h) == 1 and m == c
        judge_derived(
            "7.4", scale, h * h, [
                (None if mao else 1.0, "the scale is 1 only under Mao et al.'s "
                 "conditions (b - a = 2); in general it comes from the h term of "
                 f"D* - c.{STEP}D* - c = (m - c) + h (p_data - p_g) / (p_data + p_g) "
                 "with h = (b - a)/2: squared and integrated against p_data + p_g, "
                 "its last term is h^2 times the chi-square integral."),
                (abs(h), "in the scale, h enters squared: the chi-square term is h^2 "
                 "(p_data - p_g)^2 / (p_data + p_g)."),
                ((b - a) ** 2, "in the scale, h is half the gap, (b - a)/2, so h^2 = (b - a)^2 / 4."),
                ((b - a) ** 2 / 2, "in the scale, h is half the gap, (b - a)/2, so h^2 = (b - a)^2 / "
                 "4; the 2 of 2C(G) is already on the left-hand side."),
                ((b - a) ** 2 / 8, "2C(G) has the factor 2 already: the scale of "
                 "chi^2 in 2C(G) is h^2, not h^2 / 2."),
            ], where,
            "That scale is not h^2 for this coding. Write D* - c as (m - c) + h (p_data - p_g) / (p_data + p_g), square it "
            f"and integrate against p_data + p_g.{STEP}Of the three terms, only "
            "h^2 (p_data - p_g)^2 / (p_data + p_g) involves the divergence.")
        judge_derived(
            "7.4", constant, 2 * (m - c) ** 2, [
                (None if m == c else 0.0, "c only shifts the value, and it does shift "
                 "it: (m - c)^2 times the mass of p_data + p_g stays unless c is the "
                 "midpoint (a + b)/2."),
                ((m - c) ** 2, "integrate the constant term against p_data + p_g, "
                 "whose mass is 2, not 1."),
                (None if m == c else 4 * (m - c) ** 2, "the mass of p_data + p_g is 2: "
                 "the constant is 2 (m - c)^2."),
                (None if b == m else 2 * (b - c) ** 2, "the constant uses the midpoint "
                 "m = (a + b)/2 of the coding, not b."),
                (None if a == m else 2 * (a - c) ** 2, "the constant uses the midpoint "
                 "m = (a + b)/2 of the coding, not a."),
                (2 * (m - c) ** 2 + 4 * h * (m - c) if h * (m - c) != 0 else None,
                 "the constant has no cross term: 2h(m - c) (p_data - p_g) "
                 "integrates to 0, since both densities have mass 1."),
            ], where,
            "That constant is off. Integrate (m - c)^2 (p_data + p_g) and the cross term 2h(m - c) "
            f"(p_data - p_g) over x.{STEP}Both densities have mass 1, so the first "
            "gives 2 (m - c)^2 and the second 0.")
