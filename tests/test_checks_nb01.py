import math

import torch
import torch.nn.functional as F

from course_utils import checks
from solutions import exercise_tests, solution

SOLUTIONS = {
    ex: solution("01_minimax_game", ex)
    for ex in ("1.1", "1.2", "1.3", "1.4", "1.5")
}

WRONG = {
    "1.1": [
        lambda D, X, fake_X: torch.log(D(X)).mean() + torch.log(D(fake_X)).mean(),
        lambda D, X, fake_X: torch.log(torch.cat([D(X), 1 - D(fake_X)])).mean(),
        # sums instead of means
        lambda D, X, fake_X: torch.log(D(X)).sum() + torch.log(1 - D(fake_X)).sum(),
        # real and fake swapped
        lambda D, X, fake_X: torch.log(D(fake_X)).mean() + torch.log(1 - D(X)).mean(),
        # the loss -V instead of V
        lambda D, X, fake_X: -(torch.log(D(X)).mean() + torch.log(1 - D(fake_X)).mean()),
    ],
    "1.2": [
        lambda logits: -torch.log(torch.sigmoid(logits)).mean(),  # overflows
        lambda logits: -F.softplus(logits).mean(),  # the saturating loss
        lambda logits: F.softplus(-logits).sum(),  # a sum
        lambda logits: -F.softplus(-logits).mean(),  # the sign
        lambda logits: F.softplus(logits).mean(),  # D's loss on fakes, not G's
    ],
    "1.3": [
        lambda x, y, h: (x + h * y, y - h * x),
        lambda x, y, h: (x - h * y, y + h * (x - h * y)),  # alternating
        lambda x, y, h: [x - h * y, y + h * x],  # a list, not a tuple
    ],
}

# The quantity alternating steps conserve, and what students derive instead.
WRONG_1_4 = [
    (lambda x, y, h: x * x + y * y, "squared distance"),  # the simultaneous intuition
    (lambda x, y, h: x * x + y * y + h * x * y, "wrong sign"),
    (lambda x, y, h: x * x + y * y - 2 * h * x * y, "too large by a factor 2"),
    (lambda x, y, h: x * x + y * y - 0.5 * h * x * y, "too small by a factor 2"),
    (lambda x, y, h: x * x + y * y - h * h * x * y, "first order in h"),
    (lambda x, y, h: 1.0, "constant is conserved"),
    (lambda x, y, h: 2 * (x * x + y * y - h * x * y), "multiple"),
    (lambda x, y, h: x * x + y * y - h * x * y + 1, "constant added"),
    (lambda x, y, h: x * x - y * y - h * x * y, "must equal Q(x, y)"),
    (lambda x, y, h: (x * x + y * y - h * x * y, 0.0), "should be a number"),
]

# The factor of one extragradient step, and what students derive instead.
WRONG_1_5 = [
    (lambda h: math.sqrt(1 + h * h), "factor of the simultaneous step"),
    (lambda h: 1.0, "alternating step"),
    (lambda h: 1 - h * h, "only the diagonal"),
    (lambda h: 1 - h * h + h**4, "squared distance"),
    (lambda h: math.sqrt(1 + h * h + h**4), "sign of the h^2 term"),
    (lambda h: math.sqrt(abs(1 - h * h)), "off-diagonal entries"),
    (lambda h: math.sqrt(1 - h * h + h**3), "Write one extragradient step"),
    (lambda h: torch.tensor([math.sqrt(1 - h * h + h**4)] * 2), "single number"),
]


test_solution_passes, test_wrong_answers_fail_with_a_hint = exercise_tests(
    SOLUTIONS, {**{ex: [(answer, None) for answer in answers]
                   for ex, answers in WRONG.items()}, "1.4": WRONG_1_4,
                "1.5": WRONG_1_5})
