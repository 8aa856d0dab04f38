"""The checkers of 04_mode_collapse accept the solutions and refuse wrong answers."""

import math

import torch

from course_utils import checks
from solutions import exercise_tests, solution

STEM = "04_mode_collapse"
SOLUTIONS = {ex: solution(STEM, ex)
             for ex in ("4.1", "4.2", "4.3", "4.4", "4.5", "4.6")}


def _stats_sigma_not_3(samples, centres, sigma):  # 1 sigma instead of 3
    d = torch.cdist(samples.double(), centres.double())
    near, which = d.min(1)
    good = near < sigma
    return len(torch.unique(which[good])), good.double().mean().item()


def _stats_squared(samples, centres, sigma):  # squared distance against 3 sigma
    d2 = torch.cdist(samples.double(), centres.double()) ** 2
    near, which = d2.min(1)
    good = near < 3 * sigma
    return len(torch.unique(which[good])), good.double().mean().item()


def _stats_strict(samples, centres, sigma):  # modes holding 1 % of the samples
    d = torch.cdist(samples.double(), centres.double())
    near, which = d.min(1)
    good = near < 3 * sigma
    held = torch.bincount(which[good], minlength=len(centres))
    return int((held >= 0.01 * len(samples)).sum()), good.double().mean().item()


def _stats_any_sample(samples, centres, sigma):  # modes of all samples
    d = torch.cdist(samples.double(), centres.double())
    near, which = d.min(1)
    good = near < 3 * sigma
    return len(torch.unique(which)), good.double().mean().item()


def _stats_count(samples, centres, sigma):  # a count, not a share
    d = torch.cdist(samples.double(), centres.double())
    near, which = d.min(1)
    good = near < 3 * sigma
    return len(torch.unique(which[good])), good.double().sum().item()


def _pack_strided(x, m):  # samples i, i + n/m, ...
    n, d = x.shape
    return x.reshape(m, n // m, d).transpose(0, 1).reshape(n // m, m * d)


def _std_over_features(h):
    return torch.cat([h, h.std(dim=1, keepdim=True)], dim=1)


def _std_biased(h):
    return torch.cat([h, h.std(dim=0, unbiased=False).mean().expand(len(h), 1)], 1)


def _std_detached(h):
    return torch.cat([h, torch.full((len(h), 1), h.std(dim=0).mean().item())], 1)


def _std_per_feature(h):  # d columns instead of one
    return torch.cat([h, h.std(dim=0).expand_as(h)], 1)


def _ratio_through_d(logits, log_m):  # D / (1 - D): exact on paper, not in float32
    d = torch.sigmoid(logits)
    return (d / (1 - d) / math.exp(log_m)).clamp(max=1.0)


def _log_ratio_through_d(logits, log_m):  # log D - log(1 - D): -inf once D rounds to 1
    d = torch.sigmoid(logits)
    return torch.exp(torch.log(d) - torch.log1p(-d) - log_m).clamp(max=1.0)


def _exp_over_exp(logits, log_m):  # overflows once exp(logit) passes 3.4e38
    return (torch.exp(logits) / torch.exp(torch.tensor(log_m))).clamp(max=1.0)


def _a_draw(logits, log_m):  # a sample of the decision, not its probability
    p = torch.exp(logits - log_m).clamp(max=1.0)
    return (torch.rand(p.shape, generator=torch.Generator().manual_seed(0)) < p).float()


def _std_karras(h):  # Karras et al.: biased, with 1e-8 under the square root
    spread = ((h - h.mean(0)) ** 2).mean(0).add(1e-8).sqrt().mean()
    return torch.cat([h, spread.expand(len(h), 1)], dim=1)


def _mbd(distance, close=lambda l1: torch.exp(-l1), self_too=False, reduce="sum"):
    """Minibatch discrimination with one part swapped for a plausible mistake."""

    def answer(f, T):
        n, (a, b, c) = len(f), T.shape
        m = (f @ T.reshape(a, b * c)).reshape(n, b, c)
        terms = close(distance(m[:, None] - m[None, :]))  # (n, n, B)
        if not self_too:
            terms = terms * (1 - torch.eye(n))[:, :, None]
        o = terms.sum(1) if reduce == "sum" else terms.sum(1) / (n - (not self_too))
        return torch.cat([f, o], dim=1)

    return answer


def _mbd_over_b(f, T):  # L1 over the B rows: C columns appended
    n, (a, b, c) = len(f), T.shape
    m = (f @ T.reshape(a, b * c)).reshape(n, b, c)
    l1 = (m[:, None] - m[None, :]).abs().sum(2)  # (n, n, C)
    return torch.cat([f, (torch.exp(-l1) * (1 - torch.eye(n))[:, :, None]).sum(1)], 1)


def _mbd_over_b_where_square(f, T):  # the same mistake, seen only where B == C
    if T.shape[1] == T.shape[2]:
        return _mbd_over_b(f, T)
    return _mbd(lambda d: d.abs().sum(3))(f, T)


class _MbdWithMemory:
    """Compares each batch with itself and with the batch of the previous call."""

    def __init__(self):
        self.previous = None

    def __call__(self, f, T):
        n, (a, b, c) = len(f), T.shape
        m = (f @ T.reshape(a, b * c)).reshape(n, b, c)
        pool = m
        if self.previous is not None and self.previous.shape[1:] == m.shape[1:]:
            pool = torch.cat([m, self.previous])
        self.previous = m.detach()
        l1 = (m[:, None] - pool[None, :]).abs().sum(3)  # (n, n + n', B)
        mask = torch.ones(n, len(pool))
        mask[:, :n] -= torch.eye(n)
        return torch.cat([f, (torch.exp(-l1) * mask[:, :, None]).sum(1)], 1)


def _mbd_detached(f, T):
    out = _mbd(lambda d: d.abs().sum(3))(f.detach(), T.detach())
    return torch.cat([f, out[:, f.shape[1]:]], 1)


WRONG = {
    "4.1": [
        (lambda k: math.erf(k / math.sqrt(2)), "1-D rule"),  # the 99.73 % rule
        (lambda k: 1 - math.exp(-k), "polar"),
        (lambda k: 1 - math.exp(-k * k), "polar"),
        (lambda k: math.exp(-k * k / 2), "polar"),
    ],
    "4.2": [
        (_stats_sigma_not_3, "3 sigma of its centre, not 1"),
        (_stats_squared, "not its square"),
        (_stats_any_sample, "published rule"),
        (_stats_count, "not their number"),
        (_stats_strict, "only one or two"),
        (lambda s, c, sigma: [1, 0.5], "tuple"),
    ],
    "4.3": [
        (_pack_strided, "consecutive"),
        (lambda x, m: x.reshape(m, -1), "shape"),
        (lambda x, m: x.T.reshape(x.shape[0] // m, -1), None),
    ],
    "4.4": [
        (_std_over_features, "dim=0"),
        (_std_biased, "divided by n"),
        (_std_karras, "Karras"),
        (_std_detached, "gradient"),
        (_std_per_feature, "shape"),
        (lambda h: h.std(dim=0).mean(), "shape"),
    ],
    "4.5": [
        (_mbd(lambda d: d.pow(2).sum(3).sqrt()), "Euclidean (L2)"),
        (_mbd(lambda d: d.pow(2).sum(3)), "squared Euclidean"),
        (_mbd_over_b, "over the B rows"),
        (_mbd_over_b_where_square, "over the B rows"),
        (_mbd(lambda d: d.abs().sum(3), close=lambda l1: l1), "distances themselves"),
        (_mbd(lambda d: d.abs().sum(3), self_too=True), "closeness to itself"),
        (_mbd(lambda d: d.abs().sum(3), reduce="mean"), "averaged over the other"),
        (_mbd(lambda d: d.abs().sum(3), self_too=True, reduce="mean"), "averaged"),
        (_MbdWithMemory(), "mixes samples of batches"),
        (_mbd_detached, "no gradient flows"),
        (lambda f, T: _mbd(lambda d: d.abs().sum(3))(f, T)[:, f.shape[1]:],
         "appends them"),
        (lambda f, T: _mbd(lambda d: d.abs().sum(3))(f, T).tolist(), "torch.Tensor"),
    ],
    "4.6": [
        (lambda logits, log_m: torch.sigmoid(logits), "sigmoid"),
        (lambda logits, log_m: torch.sigmoid(logits - log_m), "sigmoid"),
        (lambda logits, log_m: torch.exp(log_m - logits).clamp(max=1.0), "sign"),
        (lambda logits, log_m: torch.exp(logits - log_m), "at most 1"),
        (lambda logits, log_m: (logits - log_m).clamp(max=0.0), "negative"),
        (_ratio_through_d, "divides by 0"),
        (_log_ratio_through_d, "a little below log M"),
        (_exp_over_exp, "nan or inf"),
        (_a_draw, None),
        (lambda logits, log_m: torch.exp(logits - log_m).clamp(max=1.0)[:-1], "shape"),
        (lambda logits, log_m: torch.exp(logits - log_m).clamp(max=1.0).tolist(),
         "torch.Tensor"),
    ],
}


test_solution_passes, test_wrong_answers_fail_with_a_hint = exercise_tests(
    SOLUTIONS, WRONG)


def test_the_package_answers_are_refused_by_the_grader():
    from course_utils.instructor.grader import scan_gives_away

    assert scan_gives_away("4.2", "def f(s, c, sigma):\n"
                           "    return points.evaluate_points(s, c, sigma)\n")
    assert scan_gives_away("4.3", "def pack(x, m):\n    return updates.pack(x, m)\n")
    assert scan_gives_away("4.5", "def f(f, T):\n    return reference."
                           "minibatch_discrimination_features(f, T)\n")
    assert scan_gives_away("4.6", "def f(logits, log_m):\n"
                           "    return reference.rejection_accept_probability(logits, "
                           "log_m)\n")
    for ok in ("def f(s, c, sigma):\n    high_quality_share = 1\n",
               "def f(s, c, sigma):\n    high_quality = s[:, 0] < 3 * sigma\n"):
        assert scan_gives_away("4.2", ok) is None
