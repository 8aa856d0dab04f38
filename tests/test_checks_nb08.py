"""The checkers of 08_wgan accept the solutions and refuse wrong answers."""

import math

import torch

from course_utils import checks
from solutions import exercise_tests, solution

STEM = "08_wgan"
SOLUTIONS = {ex: solution(STEM, ex) for ex in ("8.1", "8.2", "8.3", "8.5", "8.4")}


# -- 8.1: the parallel lines
def _lines_bits(theta):  # JS in bits
    return (abs(theta), 1.0, 1.0) if theta else (0.0, 0.0, 0.0)


def _lines_no_zero_case(theta):  # forgets that the lines coincide at theta = 0
    return abs(theta), math.log(2), 1.0


def _lines_signed(theta):
    return (theta, math.log(2), 1.0) if theta else (0.0, 0.0, 0.0)


def _lines_l1(theta):  # TV as the L1 distance
    return (abs(theta), math.log(2), 2.0) if theta else (0.0, 0.0, 0.0)


def _lines_js_grows(theta):  # JS that "sees" the distance
    return (abs(theta), min(abs(theta), math.log(2)), 1.0) if theta else (0, 0, 0)


# -- 8.2: the critic's losses
def _losses_swapped(real, fake):
    return real.mean() - fake.mean(), fake.mean()


def _losses_bce(real, fake):  # the GAN's cross-entropy on a critic
    return (torch.nn.functional.softplus(-real).mean()
            + torch.nn.functional.softplus(fake).mean(), -fake.mean())


def _losses_sum(real, fake):
    return fake.sum() - real.sum(), -fake.sum()


def _losses_g_sign(real, fake):
    return fake.mean() - real.mean(), fake.mean()


def _losses_g_detached(real, fake):
    return fake.mean() - real.mean(), -fake.detach().mean()


def _losses_item(real, fake):
    return torch.tensor((fake.mean() - real.mean()).item()), -fake.mean()


def _losses_g_with_real(real, fake):  # a constant offset: accepted
    return fake.mean() - real.mean(), real.mean() - fake.mean()


# -- 8.3: the gradient penalty
def _gp(critic, real, fake, eps, norm="per sample", create_graph=True, at=None,
        reduce="sum", one_sided=False, total="mean", lam=1.0):
    x_hat = eps * real + (1 - eps) * fake if at is None else at(eps, real, fake)
    x_hat = x_hat.detach().requires_grad_(True)
    out = critic(x_hat)
    out = out.sum() if reduce == "sum" else out.mean()
    (grad,) = torch.autograd.grad(out, x_hat, create_graph=create_graph)
    if norm == "per sample":
        norms = grad.flatten(1).norm(dim=1)
    elif norm == "squared":
        norms = grad.flatten(1).pow(2).sum(1)
    elif norm == "dim 1":
        norms = grad.norm(dim=1)
    else:
        norms = grad.norm()
    gap = torch.relu(norms - 1) if one_sided else norms - 1
    per = gap ** 2
    return lam * (per.mean() if total == "mean" else per.sum())


def _w1_equal_sizes_only(x, y):  # crashes when the sizes differ
    return (x.sort().values - y.sort().values).abs().mean().item()


def _w1_truncated(x, y):  # drops the tail of the longer sample
    k = min(len(x), len(y))
    return (x.sort().values[:k] - y.sort().values[:k]).abs().mean().item()


def _w1_interpolated(x, y):  # quantiles by linear interpolation: only close
    u = torch.linspace(0, 1, 1001, dtype=torch.float64)
    return (torch.quantile(x, u) - torch.quantile(y, u)).abs().mean().item()


WRONG = {
    "8.1": [
        (_lines_bits, "bits"),
        (_lines_no_zero_case, "the same"),
        (_lines_signed, "never negative"),
        (_lines_l1, "half the L1"),
        (_lines_js_grows, "cannot see"),
        (lambda theta: [abs(theta), math.log(2), 1.0], "tuple"),
        (lambda theta: (abs(theta), math.log(2), math.inf), "inf"),
    ],
    "8.2": [
        (_losses_swapped, "signs are swapped"),
        (_losses_bce, "no sigmoid and no log"),
        (_losses_sum, "do not sum"),
        (_losses_g_sign, "wrong sign"),
        (_losses_g_detached, "do not detach"),
        (_losses_item, "no gradient back"),
        (lambda r, f: f.mean() - r.mean(), "tuple"),
    ],
    "8.3": [
        (lambda c, r, f, e: _gp(c, r, f, e, norm="squared"), "not its square"),
        (lambda c, r, f, e: _gp(c, r, f, e, norm="batch"), "one norm per sample"),
        (lambda c, r, f, e: _gp(c, r, f, e, norm="dim 1"), "flatten"),
        (lambda c, r, f, e: _gp(c, r, f, e, create_graph=False), "create_graph"),
        (lambda c, r, f, e: _gp(c, r, f, e, at=lambda e, r, f: r), "interpolates"),
        (lambda c, r, f, e: _gp(c, r, f, e, at=lambda e, r, f: e * f + (1 - e) * r),
         "eps weights the real"),
        (lambda c, r, f, e: _gp(c, r, f, e, reduce="mean"), ".sum(), not .mean()"),
        (lambda c, r, f, e: _gp(c, r, f, e, one_sided=True), "two-sided"),
        (lambda c, r, f, e: _gp(c, r, f, e, total="sum"), "do not sum"),
        (lambda c, r, f, e: _gp(c, r, f, e, lam=10.0), "without lambda"),
        (lambda c, r, f, e: _gp(c, r, f, e).item(), "no gradient back"),
    ],
    "8.5": [
        (lambda x, y: (x - y).abs().mean().item(), "sorted order"),
        (lambda x, y: (x.mean() - y.mean()).abs().item(), "lower bound"),
        (lambda x, y: ((x.sort().values - y.sort().values) ** 2).mean().item(),
         "not its square"),
        (lambda x, y: ((x.sort().values - y.sort().values) ** 2).mean().sqrt().item(),
         "that is W2"),
        (lambda x, y: (x.sort().values - y.sort().values).abs().sum().item(),
         "do not sum"),
        (lambda x, y: (x.sort().values - y).abs().mean().item(), "sort both"),
        (lambda x, y: (x.sort().values - y.sort(descending=True).values).abs()
         .mean().item(), "same order"),
        (lambda x, y: (x.sort().values - y.sort().values).mean().abs().item(),
         "absolute value of each difference"),  # the same as the difference of means
        (_w1_equal_sizes_only, "can no longer be paired"),
        (_w1_truncated, "cut both samples to the shorter length"),
        (_w1_interpolated, "quantile functions"),
    ],
    "8.4": [
        (lambda w, lam: w, "soft"),
        (lambda w, lam: w + w * w / (4 * lam), "penalised objective"),
        (lambda w, lam: w + w * w / lam, "2 lambda (s - 1)"),
        (lambda w, lam: w - w * w / (2 * lam), "sign"),
        (lambda w, lam: 1 + w / (2 * lam), "optimal slope"),
        (lambda w, lam: w * (1 + w / (2 * lam)) ** 2, None),
    ],
}


test_solution_passes, test_wrong_answers_fail_with_a_hint = exercise_tests(
    SOLUTIONS, WRONG)


def test_a_generator_loss_with_a_constant_offset_is_accepted(capsys):
    checks.check("8.2", _losses_g_with_real)
    assert capsys.readouterr().out.startswith("Exercise 8.2 passed")


def test_the_solutions_penalty_matches_the_package():
    torch.manual_seed(0)
    critic = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(),
                                 torch.nn.Linear(8, 1))
    real, fake = torch.randn(16, 2), torch.randn(16, 2) + 1
    eps_gen = torch.Generator().manual_seed(3)
    ours = SOLUTIONS["8.3"](critic, real, fake, torch.rand(16, 1, generator=eps_gen))
    from course_utils import losses

    package = losses.gradient_penalty(critic, real, fake, lam=1.0,
                                      generator=torch.Generator().manual_seed(3))
    assert torch.allclose(ours, package)


def test_the_package_answers_are_refused_by_the_grader():
    from course_utils.instructor.grader import scan_gives_away

    assert scan_gives_away("8.3", "def f(c, r, f, e):\n"
                           "    return losses.gradient_penalty(c, r, f)\n")
    assert scan_gives_away("8.5", "def f(x, y):\n"
                           "    return scipy.stats.wasserstein_distance(x, y)\n")
    assert scan_gives_away("8.5", "def f(x, y):\n"
                           "    return divergences.wasserstein_1d(x, y)\n")
    assert scan_gives_away("8.5", "def f(x, y):\n    return (x - y).abs().mean()\n") \
        is None
