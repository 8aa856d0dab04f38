"""The checkers of 05_conditional_and_infogan accept the solutions and refuse the
wrong answers students plausibly write, each with a hint."""

import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment

from course_utils import checks

from solutions import exercise_tests, solution

STEM = "05_conditional_and_infogan"
SOLUTIONS = {ex: solution(STEM, ex) for ex in ("5.1", "5.2", "5.3", "5.4", "5.5",
                                             "5.6")}
RIGHT = SOLUTIONS


def _labels_first(x, y, k):
    code = F.one_hot(y, k).to(x.dtype)
    if x.dim() == 4:
        code = code[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
    return torch.cat([code, x], dim=1)


def _no_num_classes(x, y, k):
    code = F.one_hot(y).to(x.dtype)
    if x.dim() == 4:
        code = code[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
    return torch.cat([x, code], dim=1)


def _last_dim(x, y, k):
    code = F.one_hot(y, k).to(x.dtype)
    if x.dim() == 4:
        code = code[:, None, None, :].expand(-1, x.shape[1], x.shape[2], -1)
    return torch.cat([x, code], dim=-1)


def _float64(x, y, k):
    return RIGHT["5.1"](x, y, k).double()


def _detached(x, y, k):
    return RIGHT["5.1"](x.detach(), y, k)


def _label_as_number(x, y, k):
    if x.dim() == 4:
        return torch.cat([x, y.to(x.dtype)[:, None, None, None].expand(
            -1, 1, x.shape[2], x.shape[3])], dim=1)
    return torch.cat([x, y.to(x.dtype)[:, None]], dim=1)


def _minus_ones(x, y, k):
    return RIGHT["5.1"](x, y, k) * 2 - torch.cat(
        [x, torch.ones_like(RIGHT["5.1"](x, y, k)[:, x.shape[1]:])], dim=1)


def _bound_parts(joint, q, entropy="c", log=torch.log, weights="joint", sign=1.0):
    cells = joint > 0
    if weights == "joint":
        e = (joint[cells] * log(q[cells])).sum()
    elif weights == "mean":
        e = log(q[cells]).mean()
    else:  # the product of the marginals
        e = (joint.sum(1, keepdim=True) * joint.sum(0, keepdim=True) * log(q)).sum()
    p = joint.sum(dim=1 if entropy == "c" else 0)
    h = -(p[p > 0] * log(p[p > 0])).sum()
    return (sign * e + h).item() if entropy else (sign * e).item()


def _info(q, idx, cont, softmax=False, reduce="mean", const=True, std=True,
          log_std_is_std=False, swap=False, per_code=False, detach=False, prob=False):
    if detach:
        q = q.detach()
    m = cont.shape[1]
    k = q.shape[1] - 2 * m
    red = (lambda v: v.mean()) if reduce == "mean" else (lambda v: v.sum())
    logits = q[:, :k]
    if softmax:
        logits = torch.softmax(logits, dim=1)
    if prob:
        cat = -red(torch.softmax(logits, 1)[torch.arange(len(idx)), idx])
    else:
        cat = F.cross_entropy(logits, idx, reduction=reduce)
    mean, log_std = q[:, k:k + m], q[:, k + m:]
    if swap:
        mean, log_std = log_std, mean
    if not std:
        nll = 0.5 * (cont - mean) ** 2
    elif log_std_is_std:
        nll = 0.5 * ((cont - mean) / log_std) ** 2 + torch.log(log_std.abs())
    else:
        nll = 0.5 * ((cont - mean) / log_std.exp()) ** 2 + log_std
    if const:
        nll = nll + 0.5 * math.log(2 * math.pi)
    cont_loss = red(nll.sum(dim=1)) if not per_code else nll.mean()
    return cat, cont_loss


def _table(codes, labels, k):
    t = np.zeros((k, k), dtype=np.int64)
    np.add.at(t, (codes, labels), 1)
    return t


WRONG = {
    "5.1": [
        (_labels_first, "x first"),
        (_no_num_classes, "pass num_classes"),
        (_last_dim, "dim 1"),
        (_float64, "dtype"),
        (_detached, "no gradient flows back"),
        (_label_as_number, "one-hot code"),
        (_minus_ones, "values are wrong"),
        (lambda x, y, k: torch.cat([x, F.one_hot(y, k).to(x.dtype)], dim=1)
         if x.dim() == 2 else x, "expected shape"),
    ],
    "5.2": [
        (lambda j, q: _bound_parts(j, q, entropy=None), "add H(c)"),
        (lambda j, q: _bound_parts(j, q, entropy="x"), "not of x"),
        (lambda j, q: _bound_parts(j, q, log=torch.log2), "nats"),
        (lambda j, q: _bound_parts(j, q, weights="mean"), "weight each"),
        (lambda j, q: _bound_parts(j, q, weights="product"), "p(c) p(x)"),
        (lambda j, q: _bound_parts(j, q, sign=-1.0), "not minus it"),
        # no mask: 0 * log 0 is NaN on the table with a zero cell
        (lambda j, q: ((j * torch.log(q)).sum() - (j.sum(1) * torch.log(j.sum(1)))
                       .sum()).item(), "NaN"),
    ],
    "5.3": [
        (lambda q, i, c: _info(q, i, c, softmax=True), "softmax before"),
        (lambda q, i, c: _info(q, i, c, reduce="sum"), "do not sum"),
        (lambda q, i, c: _info(q, i, c, prob=True), "take the log"),
        (lambda q, i, c: _info(q, i, c, const=False), "1/2 log(2 pi)"),
        (lambda q, i, c: _info(q, i, c, std=False), "standard deviation too"),
        (lambda q, i, c: _info(q, i, c, std=False, const=False),
         "standard deviation too"),
        (lambda q, i, c: _info(q, i, c, log_std_is_std=True), "their exp"),
        (lambda q, i, c: _info(q, i, c, swap=True), "means come first"),
        (lambda q, i, c: _info(q, i, c, per_code=True), "sum over the continuous"),
        (lambda q, i, c: _info(q, i, c, detach=True), "no gradient"),
        (lambda q, i, c: _info(q, i, c)[0], "tuple"),
    ],
    "5.4": [
        (lambda c, l, k: _table(c, l, k).max(axis=1).sum() / len(c), "one-to-one"),
        (lambda c, l, k: _table(c, l, k).max(axis=0).sum() / len(c), "one-to-one"),
        (lambda c, l, k: (lambda t: t[linear_sum_assignment(t)].sum() / len(c))(
            _table(c, l, k)), "maximize=True"),
        (lambda c, l, k: float(np.mean(c == l)), "match codes"),
        (lambda c, l, k: (lambda t: float(t[linear_sum_assignment(
            t, maximize=True)].sum()))(_table(c, l, k)), "not a count"),
        # a table of the wrong orientation is still right (the transpose has the
        # same best matching); a table of size max + 1 is not, when a code is unused
        (lambda c, l, k: 0.5, "expected"),
        (lambda c, l, k: _purity_matching(c, l, k), "no sample has code"),
        (lambda c, l, k: _mean_purity(c, l, k), "no sample has code"),
    ],
}


def _purity_matching(codes, labels, k):
    """Matches on each code's share of its samples: 0 / 0 for an unused code."""
    table = _table(codes, labels, k)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = table / table.sum(axis=1, keepdims=True)
    rows, cols = linear_sum_assignment(share, maximize=True)
    return table[rows, cols].sum() / len(codes)


def _mean_purity(codes, labels, k):
    table = _table(codes, labels, k)
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.mean(table.max(axis=1) / table.sum(axis=1)))

# -- 5.5: the wrong labels a student plausibly draws ----------------------------


def _redrawn_once(y, k):
    wrong = torch.randint(k, y.shape)
    return torch.where(wrong == y, torch.randint(k, y.shape), wrong)


def _shuffled_without_own(y, k):
    # the batch's labels shuffled, collisions moved on by one: never y, but the
    # wrong labels follow the batch's mix of classes
    wrong = y[torch.randperm(len(y))]
    return torch.where(wrong == y, (y + 1) % k, wrong)


WRONG["5.5"] = [
    (lambda y, k: torch.randint(k, y.shape), "equal the true label"),
    (_redrawn_once, "redrawn only once"),
    (lambda y, k: y[torch.randperm(len(y))], "another order"),
    (lambda y, k: (y + 1) % k, "always the same wrong label"),
    (lambda y, k: (y + torch.randint(1, max(k - 1, 2), y.shape)) % k,
     "upper bound is exclusive"),
    (lambda y, k: y + torch.randint(1, k, y.shape), "% num_classes"),
    (lambda y, k: ((y + torch.randint(1, k, y.shape)) % k).float(), "integers"),
    (lambda y, k: ((y + torch.randint(1, k, y.shape)) % k).numpy(), "torch.Tensor"),
    (_shuffled_without_own, "not uniform"),
]


# -- 5.6: the split of AC-GAN's class term ---------------------------------------


def _xlogy(a, b):
    return torch.xlogy(a, a) - torch.xlogy(a, b)


def _parts(q, p, reverse_joint=False, reverse_images=False, label_marginal=False,
           third="q_posterior", sign=1):
    qx, px = q.sum(0), p.sum(0)
    kl_joint = _xlogy(p, q).sum() if reverse_joint else _xlogy(q, p).sum()
    if label_marginal:
        kl_images = _xlogy(q.sum(1), p.sum(1)).sum()
    elif reverse_images:
        kl_images = _xlogy(px, qx).sum()
    else:
        kl_images = _xlogy(qx, px).sum()
    third_value = {
        "q_posterior": -torch.xlogy(q, torch.where(qx > 0, q / qx, 1.0)).sum(),
        "class_term": -torch.xlogy(q, p / px).sum(),
        "data": -torch.xlogy(p, p / px).sum(),
        "joint": -torch.xlogy(q, q).sum(),
    }[third]
    return kl_joint.item(), sign * kl_images.item(), third_value.item()


WRONG["5.6"] = [
    (lambda q, p: _parts(q, p, reverse_joint=True), "KL(q || p), not KL(p || q)"),
    (lambda q, p: _parts(q, p, reverse_images=True), "not KL(p(x) || q(x))"),
    (lambda q, p: _parts(q, p, sign=-1), "the decomposition subtracts it"),
    (lambda q, p: _parts(q, p, label_marginal=True), "sum the tables over the labels"),
    (lambda q, p: _parts(q, p, third="class_term"), "the whole class term"),
    (lambda q, p: _parts(q, p, third="data"), "the data's conditional"),
    (lambda q, p: _parts(q, p, third="joint"), "joint entropy"),
    (lambda q, p: tuple(v / math.log(2) for v in _parts(q, p)), "nats"),
    (lambda q, p: _parts(q, p)[:2], "tuple of three"),
    (lambda q, p: ((q * (q / p).log()).sum().item(),) + _parts(q, p)[1:], "0 log 0"),
]


test_solution_passes, test_wrong_answers_fail_with_a_hint = exercise_tests(
    SOLUTIONS, WRONG)


def test_matched_accuracy_cases_break_the_greedy_matching():
    """The cases of 5.4 are built so that greedy and one-to-one matchings differ."""
    from course_utils.checks import nb05

    checker = nb05.MatchedAccuracy()
    for seed in range(20):  # the notebook's seed and challenges the grader may draw
        broken = 0
        for case in checker.cases(np.random.default_rng(seed)):
            t = _table(case["codes"], case["labels"], case["k"])
            best = t[linear_sum_assignment(t, maximize=True)].sum()
            broken += int(t.max(axis=1).sum() > best)
        assert broken >= 3, seed


def test_info_bound_cases_include_a_tight_bound_and_a_zero_cell():
    from course_utils.checks import nb05

    cases = nb05.InfoBound().cases(np.random.default_rng(0))
    assert any((c["joint"] == 0).any() for c in cases)
    tight = 0
    for c in cases:
        joint, q = c["joint"], c["q"]
        post = joint / joint.sum(axis=0, keepdims=True)
        if np.allclose(q, post):
            tight += 1
            mask = joint > 0
            pc, px = joint.sum(1), joint.sum(0)
            mi = np.sum(joint[mask] * np.log(joint[mask] / np.outer(pc, px)[mask]))
            assert abs(nb05._bound(joint, q)[0] - mi) < 1e-12
    assert tight >= 2


def test_5_3_names_float32_rounding():
    def float32_log_softmax(q, i, c):
        k = q.shape[1] - 2 * c.shape[1]
        cat_loss = -torch.log(torch.softmax(q[:, :k].float(), 1))[
            torch.arange(len(i)), i].mean().double()
        return cat_loss, _info(q, i, c)[1]

    with pytest.raises(checks.ExerciseFailed, match="float32") as info:
        checks.check("5.3", float32_log_softmax)
    got, expected = re.search(r"got (\S+), expected (\S+) ", str(info.value)).groups()
    assert got != expected  # the message shows the digits where they differ


def test_5_4_cases_include_a_code_no_sample_uses():
    from course_utils.checks import nb05

    for seed in range(5):
        cases = nb05.MatchedAccuracy().cases(np.random.default_rng(seed))
        unused = [c for c in cases if c["unused"] >= 0]
        assert len(unused) == 1
        case = unused[0]
        assert case["unused"] not in set(case["codes"].tolist())


def test_5_5_and_5_6_fallbacks_pass_and_are_named_as_giving_the_answer_away(capsys):
    from course_utils import reference, updates
    from course_utils.checks import _core

    for exercise_id, fallback in (("5.5", updates.mismatched_labels),
                                  ("5.6", reference.class_term_parts)):
        checks.check(exercise_id, fallback)
        assert capsys.readouterr().out.startswith(f"Exercise {exercise_id} passed")
        assert fallback.__name__ in _core.checker_for(exercise_id).gives_away
        answer = SOLUTIONS[exercise_id]
        state = torch.random.get_rng_state()
        assert _core.student_or(exercise_id, answer, fallback) is answer
        assert torch.equal(torch.random.get_rng_state(), state)  # the notebook's stream
        assert _core.student_or(exercise_id, lambda *a: 0, fallback,
                                quiet=True) is fallback
        capsys.readouterr()


def test_5_5_refusals_give_the_worked_step_only_the_second_time():
    from course_utils.checks import _core

    _core._REFUSALS.pop("5.5", None)
    hints = []
    for _ in range(2):
        with pytest.raises(checks.ExerciseFailed) as err:
            checks.check("5.5", lambda y, k: (y + 1) % k)
        hints.append(str(err.value))
    assert "Try again" in hints[0] and "randint(1, num_classes" not in hints[0]
    assert "Worked step" in hints[1] and "randint(1, num_classes" in hints[1]


def test_5_5_cases_include_a_skewed_batch_and_two_classes():
    from course_utils.checks import nb05

    for seed in range(5):
        cases = nb05.MismatchedLabels().cases(np.random.default_rng(seed))
        assert {c["k"] for c in cases} >= {2, 10}
        skewed = [c for c in cases if c["kind"] == "skewed"]
        assert skewed and np.mean(skewed[0]["y"] == 0) > 0.7
