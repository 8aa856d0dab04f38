"""Checkers for 08_wgan.

Exercise 8.1: ``parallel_lines(theta)``, the distances between P_0 and P_theta of
the parallel-lines example: ``(wasserstein, jensen_shannon, total_variation)``.
Exercise 8.2: ``critic_losses(real_scores, fake_scores)``, the losses the WGAN
critic and generator minimise: ``(loss_critic, loss_G)``.
Exercise 8.3: ``gradient_penalty(critic, real, fake, eps)``, WGAN-GP's
E[(||grad D(x_hat)|| - 1)^2] on the interpolates x_hat = eps x + (1 - eps) x_fake.
Exercise 8.4: ``gp_estimate(w, lam)``, the gap E[D(x)] - E[D(y)] that a critic
trained with a gradient penalty of weight ``lam`` reports when the true
distance is ``w`` and the best 1-Lipschitz critic has unit slope (derived).
Exercise 8.5: ``w1_sorted(x, y)``, the exact Wasserstein-1 distance between two
1-D samples of the same size, by sorting.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from course_utils.checks._core import (
    STEP,
    Checker,
    ExerciseFailed,
    as_array,
    as_float,
    call_student,
    exercise,
    input_gradients,
    known_mistake,
    mismatch,
    plain_float,
    plain_tensor,
    require_close,
)

LOG2 = math.log(2.0)


# -- 8.1 ---------------------------------------------------------------------


@exercise("8.1", "the three distances between the parallel lines match for every "
          "theta tried, theta = 0 among them.",
          gives_away=("parallel_lines_distances",))
class ParallelLines(Checker):
    def cases(self, rng):
        thetas = [1.0, -0.5, 0.0, 1e-3, -2.0]
        thetas += [round(float(v), 4) for v in rng.uniform(-3.0, 3.0, 3)]
        return [{"theta": t} for t in thetas]

    def run(self, parallel_lines, case):
        out = call_student("8.1", parallel_lines, float(case["theta"]))
        if type(out) is not tuple or len(out) != 3:
            raise ExerciseFailed(
                "Exercise 8.1: return a tuple (wasserstein, jensen_shannon, "
                f"total_variation), got {type(out).__name__}."
            )
        names = ("the Wasserstein distance", "the Jensen-Shannon divergence",
                 "the total variation")
        return [plain_float("8.1", v, f"{name} at theta = {case['theta']}")
                for v, name in zip(out, names)]

    def verify(self, case, result):
        theta = float(case["theta"])
        if type(result) is not list or len(result) != 3:
            raise ExerciseFailed("Exercise 8.1: expected three numbers.")
        w, js, tv = (as_float("8.1", v) for v in result)
        apart = theta != 0.0
        if abs(w - abs(theta)) > 1e-9:
            if abs(w - theta) < 1e-9:
                hint = "a distance is never negative: move the line by |theta|."
            elif abs(w - theta * theta) < 1e-9:
                hint = ("every point moves by |theta|; the cost is the distance, not "
                        "its square (that would be W2 squared).")
            else:
                hint = ("the cheapest plan moves each point (theta, u) straight "
                        "across to (0, u): how far does each point travel?")
            raise ExerciseFailed(
                f"Exercise 8.1: W(P_0, P_theta) at theta = {theta:g} is wrong (got "
                f"{w:.6g}, expected {abs(theta):.6g}); {hint}"
            )
        expected_js = LOG2 if apart else 0.0
        if abs(js - expected_js) > 1e-9:
            if apart and abs(js - 1.0) < 1e-9:
                hint = ("that is log 2 in bits; the course uses natural logarithms, "
                        "so JS = log 2 = 0.693.")
            elif not apart:
                hint = ("at theta = 0 the two distributions are the same, and every "
                        "divergence is 0.")
            elif abs(js - 2 * LOG2) < 1e-9:
                hint = ("JS is the mean of KL(P || M) and KL(Q || M), not their sum, "
                        "with M = (P + Q) / 2.")
            else:
                hint = ("the supports do not overlap, so M = (P + Q) / 2 is P / 2 on "
                        "P's line: KL(P || M) = log 2 whatever theta is. JS cannot "
                        "see how far apart the lines are.")
            raise ExerciseFailed(
                f"Exercise 8.1: the Jensen-Shannon divergence at theta = {theta:g} "
                f"is wrong (got {js:.6g}, expected {expected_js:.6g}); {hint}"
            )
        expected_tv = 1.0 if apart else 0.0
        if abs(tv - expected_tv) > 1e-9:
            if apart and abs(tv - 2.0) < 1e-9:
                hint = ("total variation is sup_A |P(A) - Q(A)|, half the L1 "
                        "distance: at most 1.")
            elif not apart:
                hint = "at theta = 0 the distributions are equal."
            else:
                hint = ("take A = P's line: P(A) = 1 and Q(A) = 0, whatever the "
                        "distance between the lines.")
            raise ExerciseFailed(
                f"Exercise 8.1: the total variation at theta = {theta:g} is wrong "
                f"(got {tv:.6g}, expected {expected_tv:g}); {hint}"
            )


# -- 8.5 ---------------------------------------------------------------------


def _w1_exact(x: np.ndarray, y: np.ndarray) -> float:
    """W1 between two empirical distributions of any sizes: the integral of
    |F_x - F_y| over the line (the same as that of the quantile functions)."""
    points = np.sort(np.concatenate([x, y]))
    cdf_x = np.searchsorted(np.sort(x), points[:-1], side="right") / x.size
    cdf_y = np.searchsorted(np.sort(y), points[:-1], side="right") / y.size
    return float(np.sum(np.abs(cdf_x - cdf_y) * np.diff(points)))


@exercise("8.5", "W1 between two 1-D samples matches on 8 pairs, sizes equal and "
          "not, including pairs with the same mean and variance.",
          gives_away=("wasserstein_1d", "wasserstein_distance", "w1_by_sorting"))
class SortedW1(Checker):
    def cases(self, rng):
        out = []
        for kind in ("shift", "same_moments", "same_moments", "spread", "small",
                     "random", "sizes", "sizes_small"):
            n = int(rng.integers(200, 600)) if kind != "small" else 5
            m = n
            if kind == "sizes":
                m = n + int(rng.integers(37, 300))
            if kind == "sizes_small":
                n, m = 3, 5
            if kind == "shift":
                x = rng.standard_normal(n)
                y = rng.standard_normal(m) + rng.uniform(0.5, 2.0)
            elif kind == "same_moments":
                # a Gaussian and a uniform with the same mean and variance
                mu = rng.uniform(-1, 1)
                x = mu + rng.standard_normal(n)
                y = mu + rng.uniform(-math.sqrt(3), math.sqrt(3), m)
                x = (x - x.mean()) / x.std() + mu
                y = (y - y.mean()) / y.std() + mu
            elif kind == "spread":
                x = rng.standard_normal(n) * 0.3
                y = rng.standard_normal(m) * 2.0
            elif kind in ("small", "sizes_small"):
                x = rng.uniform(-2, 2, n)
                y = rng.uniform(-2, 2, m)
            elif kind == "sizes":
                x = rng.standard_normal(n)
                y = rng.exponential(1.0, m) - 0.5
            else:
                x = rng.exponential(1.0, n)
                y = -rng.exponential(1.5, m) + 1.0
            out.append({"x": x.astype(np.float64), "y": y.astype(np.float64)})
        return out

    def run(self, w1_sorted, case):
        x = torch.tensor(case["x"], dtype=torch.float64)
        y = torch.tensor(case["y"], dtype=torch.float64)
        try:
            value = call_student("8.5", w1_sorted, x, y)
        except ExerciseFailed as exc:
            if len(x) == len(y):
                raise
            raise ExerciseFailed(
                f"{str(exc).rstrip('.')}. Here x has {len(x)} values and y {len(y)}: "
                "sorted values can no longer be paired one to one."
                f"{STEP}Each value of x carries mass 1/n and each of y 1/m. Follow "
                "the quantile functions: on each interval of u between consecutive "
                "jumps (the points i/n and j/m), both are constant; add |qx - qy| "
                "times the interval's length.") from None
        return plain_float("8.5", value, "w1_sorted(x, y)")

    def verify(self, case, result):
        got = as_float("8.5", result, "w1_sorted(x, y)")
        x = np.asarray(case["x"], dtype=np.float64)
        y = np.asarray(case["y"], dtype=np.float64)
        sx, sy = np.sort(x), np.sort(y)
        expected = _w1_exact(x, y)
        if abs(got - expected) <= 1e-9 + 1e-9 * abs(expected):
            return
        n, m = len(x), len(y)
        k = min(n, m)
        same = n == m
        wrong = [
            (float(np.mean(np.abs(x - y))) if same else None,
             "pair the samples in sorted order: the cheapest way to move one 1-D "
             "sample onto another matches the smallest with the smallest, and so on "
             "(quantile to quantile). Pairing them as they come is a transport plan, "
             "but not the cheapest."),
            (abs(float(x.mean() - y.mean())),
             "|mean(x) - mean(y)| (the same as |mean(sorted x - sorted y)|) is only a "
             "lower bound on W1: a Gaussian and a uniform with the same mean are at "
             "distance 0 by that rule, and they are not the same distribution. Take "
             "the absolute value of each difference before averaging."),
            (float(np.mean((sx - sy) ** 2)) if same else None,
             "W1 moves mass at a cost equal to the distance |x - y|, not its square "
             "(the square gives W2 squared)."),
            (math.sqrt(float(np.mean((sx - sy) ** 2))) if same else None,
             "that is W2, the root mean square of the sorted differences; W1 is "
             "their mean absolute value."),
            (float(np.sum(np.abs(sx - sy))) if same else None,
             "each sample point carries mass 1/n: average the |differences|, do "
             "not sum them."),
            (float(np.mean(np.abs(sx - y))) if same else None,
             "sort both samples, not only x."),
            (float(np.mean(np.abs(sx - sy[::-1]))) if same else None,
             "sort both samples in the same order (both ascending)."),
            (None if same else float(np.mean(np.abs(sx[:k] - sy[:k]))),
             f"you cut both samples to the shorter length ({k}): that drops the "
             "largest values of the longer one, and pairs quantiles that do not "
             f"match (the i-th of {n} is not the i-th of {m}).{STEP}Each value of x "
             "carries mass 1/n and each of y 1/m: integrate |qx(u) - qy(u)| over "
             "u in (0, 1), the quantile functions being constant between the "
             "points i/n and j/m."),
        ]
        for value, hint in wrong:
            if value is not None and abs(got - value) <= 1e-9 + 1e-9 * abs(value):
                raise ExerciseFailed(f"Exercise 8.5 (n = {n}, m = {m}): {hint}")
        raise ExerciseFailed(
            f"Exercise 8.5 (n = {n}, m = {m}): you {mismatch(got, expected)}. "
            "W1 is the integral over u in (0, 1) of |qx(u) - qy(u)|, the gap between "
            "the two quantile functions; for equal sizes, the mean absolute "
            "difference of the sorted values.")


# -- 8.2 ---------------------------------------------------------------------


@exercise("8.2", "the critic minimises E[D(G(z))] - E[D(x)], the generator "
          "-E[D(G(z))]; values and gradients match.",
          gives_away=("wgan_clip", "wgan_gp", "_critic_d", "_critic_g",
                      "wasserstein_losses"))
class CriticLosses(Checker):
    def cases(self, rng):
        out = []
        for n in (8, int(rng.integers(20, 60)), int(rng.integers(61, 200))):
            out.append({"real": rng.normal(0.5, 2.0, (n, 1)),
                        "fake": rng.normal(-0.5, 2.0, (n, 1))})
        return out

    def run(self, critic_losses, case):
        real = torch.tensor(case["real"], dtype=torch.float64, requires_grad=True)
        fake = torch.tensor(case["fake"], dtype=torch.float64, requires_grad=True)
        out = call_student("8.2", critic_losses, real, fake)
        if type(out) is not tuple or len(out) != 2:
            raise ExerciseFailed(
                "Exercise 8.2: return a tuple (loss_critic, loss_G), got "
                f"{type(out).__name__}."
            )
        result = {}
        for name, loss in zip(("critic", "G"), out):
            what = "loss_critic" if name == "critic" else "loss_G"
            result[name] = plain_float("8.2", loss, what)
            grads = input_gradients(loss, (real, fake))
            result[f"{name}_has_grad"] = grads is not None
            if grads is not None:
                result[f"{name}_grad_real"] = plain_tensor("8.2", grads[0])
                result[f"{name}_grad_fake"] = plain_tensor("8.2", grads[1])
        return result

    def verify(self, case, result):
        real = np.asarray(case["real"], dtype=np.float64)
        fake = np.asarray(case["fake"], dtype=np.float64)
        n = len(real)
        if type(result) is not dict:
            raise ExerciseFailed("Exercise 8.2: expected two losses.")
        critic = as_float("8.2", result.get("critic"), "loss_critic")
        expected = float(fake.mean() - real.mean())
        if abs(critic - expected) > 1e-9:
            others = [
                (-expected, "the signs are swapped. The critic wants high scores on "
                 "real samples and low ones on fakes, so it *minimises* "
                 "E[D(G(z))] - E[D(x)]."),
                (float(fake.sum() - real.sum()), "average over the batch (mean), "
                 "do not sum."),
                (float(np.log1p(np.exp(-real)).mean() + np.log1p(np.exp(fake)).mean()),
                 "no sigmoid and no log: the critic's output is a score on the real "
                 "line, not a probability, and its loss is linear in the scores."),
            ]
            for value, hint in others:
                if abs(critic - value) < 1e-9:
                    raise ExerciseFailed(f"Exercise 8.2: loss_critic: {hint}")
            raise ExerciseFailed(
                f"Exercise 8.2: loss_critic = {critic:.6g}, expected {expected:.6g} "
                "= mean(fake_scores) - mean(real_scores)."
            )
        if result.get("critic_has_grad") is not True:
            raise ExerciseFailed(
                "Exercise 8.2: loss_critic carries no gradient back to the scores: "
                "compute it with torch operations on the tensors you were given "
                "(no .item(), no .detach())."
            )
        grad_real = as_array("8.2", result.get("critic_grad_real"), "a gradient",
                             (n, 1))
        grad_fake = as_array("8.2", result.get("critic_grad_fake"), "a gradient",
                             (n, 1))
        if not (np.allclose(grad_real, -1.0 / n) and np.allclose(grad_fake, 1.0 / n)):
            raise ExerciseFailed(
                "Exercise 8.2: loss_critic has the right value but not the right "
                "gradient; build it from the score tensors with .mean()."
            )
        as_float("8.2", result.get("G"), "loss_G")
        if result.get("G_has_grad") is not True:
            raise ExerciseFailed(
                "Exercise 8.2: loss_G carries no gradient back to fake_scores. The "
                "generator learns only through this gradient: do not detach the "
                "fake scores in the generator's loss."
            )
        g_fake = as_array("8.2", result.get("G_grad_fake"), "a gradient", (n, 1))
        if np.allclose(g_fake, 1.0 / n):
            raise ExerciseFailed(
                "Exercise 8.2: loss_G has the wrong sign. The generator wants the "
                "critic to score its samples *high*: it minimises -E[D(G(z))]."
            )
        if np.allclose(g_fake, -1.0):
            raise ExerciseFailed("Exercise 8.2: loss_G: average over the batch "
                                 "(mean), do not sum.")
        if not np.allclose(g_fake, -1.0 / n):
            raise ExerciseFailed(
                "Exercise 8.2: loss_G should be -mean(fake_scores) (a constant "
                "may be added, since it does not change the gradient); its "
                "gradient with respect to each fake score is not -1/n."
            )


# -- 8.3 ---------------------------------------------------------------------


def _gp_net(case) -> nn.Sequential:
    shape = tuple(int(s) for s in case["shape"])
    d = int(np.prod(shape[1:]))
    net = nn.Sequential(nn.Flatten(), nn.Linear(d, 16), nn.Tanh(), nn.Linear(16, 1))
    net = net.double()
    with torch.no_grad():
        net[1].weight.copy_(torch.tensor(case["w1"]))
        net[1].bias.copy_(torch.tensor(case["b1"]))
        net[3].weight.copy_(torch.tensor(case["w2"]))
        net[3].bias.copy_(torch.tensor(case["b2"]))
    return net


def _gp_variants(case) -> dict:
    """The penalty and its parameter gradients, right and plausibly wrong."""
    net = _gp_net(case)
    real = torch.tensor(case["real"], dtype=torch.float64)
    fake = torch.tensor(case["fake"], dtype=torch.float64)
    eps = torch.tensor(case["eps"], dtype=torch.float64)
    n = real.shape[0]

    def grads_at(x_hat, reduce="sum"):
        x_hat = x_hat.clone().requires_grad_(True)
        out = net(x_hat)
        out = out.sum() if reduce == "sum" else out.mean()
        (g,) = torch.autograd.grad(out, x_hat, create_graph=True)
        return g.flatten(1)

    mixed = eps * real + (1 - eps) * fake
    g = grads_at(mixed)
    norms = g.norm(dim=1)
    variants = {
        "right": ((norms - 1) ** 2).mean(),
        "squared norm": ((g.pow(2).sum(1) - 1) ** 2).mean(),
        "batch norm": (g.norm() - 1) ** 2,
        "one-sided": (torch.relu(norms - 1) ** 2).mean(),
        "sum": ((norms - 1) ** 2).sum(),
        "mean out": ((grads_at(mixed, "mean").norm(dim=1) - 1) ** 2).mean(),
        "at real": ((grads_at(real).norm(dim=1) - 1) ** 2).mean(),
        "eps swapped": ((grads_at(eps * fake + (1 - eps) * real).norm(dim=1) - 1) ** 2
                        ).mean(),
        "lam": 10 * ((norms - 1) ** 2).mean(),
        "no mean norm": ((g - 1) ** 2).sum(1).mean(),
    }
    if len(real.shape) > 2:
        g4 = grads_at(mixed).reshape(real.shape)
        variants["dim 1"] = ((g4.norm(dim=1) - 1) ** 2).mean()
    params = list(net.parameters())
    out = {}
    for name, value in variants.items():
        grads = torch.autograd.grad(value, params, retain_graph=True,
                                    allow_unused=True)  # the last bias is unused
        out[name] = (float(value), [
            (torch.zeros_like(p) if g is None else g).detach().numpy().copy()
            for g, p in zip(grads, params)])
    assert n > 0
    return out


_GP_HINTS = {
    "squared norm": "use the norm ||grad||_2 (torch's .norm), not its square: "
                    "the penalty is (||grad|| - 1)^2.",
    "batch norm": "take one norm per sample (over all of that sample's coordinates), "
                  "not one norm of the whole batch's gradient.",
    "one-sided": "the WGAN-GP penalty is two-sided: (||grad|| - 1)^2 also when the "
                 "norm is below 1.",
    "sum": "average the per-sample penalties (mean), do not sum them.",
    "mean out": "differentiate critic(x_hat).sum(), not .mean(): the sum gives each "
                "sample's own gradient, the mean divides every one by n.",
    "at real": "evaluate the gradient at the interpolates x_hat = eps * real + "
               "(1 - eps) * fake, not at the real samples.",
    "eps swapped": "eps weights the real sample: x_hat = eps * real + (1 - eps) * "
                   "fake.",
    "lam": "return the penalty without lambda; the caller multiplies by lambda.",
    "no mean norm": "the penalty is on the norm of each gradient, "
                    "(||grad|| - 1)^2, not on each coordinate minus 1.",
    "dim 1": "flatten each sample's gradient before taking its norm: "
             "grad.flatten(1).norm(dim=1) gives one norm per sample for images too.",
}


@exercise("8.3", "the penalty on interpolates and the gradient it sends to the "
          "critic's weights match, for points and for images.",
          gives_away=("gradient_penalty", "wgan_gp", "interpolate_gradient_penalty"))
class GradientPenalty(Checker):
    def cases(self, rng):
        out = []
        for shape in ((32, 2), (24, 1, 3, 3), (int(rng.integers(10, 40)), 2)):
            n, d = shape[0], int(np.prod(shape[1:]))
            eps_shape = (n,) + (1,) * (len(shape) - 1)
            scale = rng.uniform(0.5, 1.5)  # gradient norms on both sides of 1
            out.append({
                "shape": list(shape),
                "real": rng.normal(1.0, 1.0, shape),
                "fake": rng.normal(-1.0, 1.0, shape),
                "eps": rng.uniform(0, 1, eps_shape),
                "w1": rng.normal(0, scale / math.sqrt(d), (16, d)),
                "b1": rng.normal(0, 0.5, 16),
                "w2": rng.normal(0, 0.5, (1, 16)),
                "b2": rng.normal(0, 0.5, 1),
            })
        return out

    def run(self, gradient_penalty, case):
        net = _gp_net(case)
        real = torch.tensor(case["real"], dtype=torch.float64)
        fake = torch.tensor(case["fake"], dtype=torch.float64)
        eps = torch.tensor(case["eps"], dtype=torch.float64)
        value = call_student("8.3", gradient_penalty, net, real, fake, eps)
        result = {"value": plain_float("8.3", value, "the penalty")}
        if type(value) is not torch.Tensor or value.grad_fn is None:
            result["graph"] = False
            return result
        result["graph"] = True
        grads = torch.autograd.grad(value, list(net.parameters()), allow_unused=True)
        result["grads"] = [
            plain_tensor("8.3", torch.zeros_like(p) if g is None else g)
            for g, p in zip(grads, net.parameters())
        ]
        return result

    def verify(self, case, result):
        if type(result) is not dict:
            raise ExerciseFailed("Exercise 8.3: expected a penalty.")
        value = as_float("8.3", result.get("value"), "the penalty")
        variants = _gp_variants(case)
        right, right_grads = variants.pop("right")
        if abs(value - right) > 1e-8 * max(1.0, abs(right)):
            for name, (other, _) in variants.items():
                if abs(value - other) <= 1e-8 * max(1.0, abs(other)):
                    raise ExerciseFailed(f"Exercise 8.3: {_GP_HINTS[name]}")
            raise ExerciseFailed(
                f"Exercise 8.3: the penalty is {value:.6g}, expected {right:.6g} "
                f"(batch shape {tuple(case['shape'])}). Compute x_hat = eps * real + "
                "(1 - eps) * fake, the gradient of critic(x_hat).sum() with respect "
                "to x_hat, one norm per sample, then the mean of (norm - 1)^2."
            )
        if result.get("graph") is not True:
            raise ExerciseFailed(
                "Exercise 8.3: the value is right, but the penalty carries no "
                "gradient back to the critic's weights, so minimising it would do "
                "nothing. Call torch.autograd.grad(..., create_graph=True): the "
                "penalty is a function of the gradient, and the critic's optimiser "
                "must differentiate through it."
            )
        grads = result.get("grads")
        if type(grads) is not list or len(grads) != len(right_grads):
            raise ExerciseFailed("Exercise 8.3: the critic's parameters changed.")
        for got, expected in zip(grads, right_grads):
            got = as_array("8.3", got, "a gradient", expected.shape)
            if not np.allclose(got, expected, rtol=1e-6, atol=1e-9):
                raise ExerciseFailed(
                    "Exercise 8.3: the penalty's value is right but its gradient "
                    "with respect to the critic's weights is not. Keep the graph "
                    "(create_graph=True) and do not detach the gradient or its norm."
                )


# -- 8.4 ---------------------------------------------------------------------


@exercise("8.4", "the penalised critic's estimate matches for 7 pairs (W, lambda).",
          gives_away=("penalised_critic_gap",))
class PenalisedEstimate(Checker):
    def cases(self, rng):
        pairs = [(1.0, 10.0), (1.4541, 10.0), (0.2, 100.0), (0.5, 0.1)]
        pairs += [(round(float(rng.uniform(0.05, 3.0)), 4),
                   round(float(rng.choice([0.1, 1.0, 10.0, 100.0])), 4))
                  for _ in range(3)]
        return [{"w": w, "lam": lam} for w, lam in pairs]

    def run(self, gp_estimate, case):
        return plain_float(
            "8.4", call_student("8.4", gp_estimate, float(case["w"]),
                                float(case["lam"])),
            f"gp_estimate({case['w']}, {case['lam']})")

    def verify(self, case, result):
        w, lam = float(case["w"]), float(case["lam"])
        got = as_float("8.4", result, "the estimate")
        expected = w + w * w / (2 * lam)
        wrong = [
            (w, "the penalty is soft: a slope slightly above 1 gains more gap "
                "(s W grows linearly in s) than it pays in penalty (lambda (s - 1)^2 "
                "grows quadratically), so the optimum has s > 1."),
            (w + w * w / (4 * lam), "that is the value of the penalised objective "
             "s W - lambda (s - 1)^2 at its maximum; the critic reports only the gap "
             "s W."),
            (w + w * w / lam, "the derivative of lambda (s - 1)^2 is 2 lambda (s - 1): "
             "set W - 2 lambda (s - 1) = 0."),
            (w - w * w / (2 * lam), "check the sign: the penalty pulls the slope "
             "towards 1 from above, the gap pushes it up."),
            (1 + w / (2 * lam), "that is the optimal slope s; the critic's estimate is "
             "the gap s W."),
        ]
        if abs(got - expected) <= 1e-6 * max(1.0, expected):  # float32 is fine
            return
        hint = known_mistake(got, wrong, 1e-6)
        if hint:
            raise ExerciseFailed(f"Exercise 8.4: {hint}")
        require_close(
            "8.4", got, expected, what=f"gp_estimate({w}, {lam})", atol=1e-9,
            rtol=1e-9,
            hint="Write the critic as s times the best 1-Lipschitz critic, so the gap "
            "is s W and every interpolate's gradient norm is s; maximise "
            "s W - lambda (s - 1)^2 over s and return the gap at the best s.",
        )
