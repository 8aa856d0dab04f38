"""Checkers for 03_point_cloud_gan: the two steps of the lecture's training loop.

Exercise 3.1: ``d_step(net_G, net_D, opt_D, X, Z)`` makes one discriminator
update and returns ``loss_D``.
Exercise 3.2: ``g_step(net_G, net_D, opt_G, Z)`` makes one generator update and
returns ``loss_G``.
Exercise 3.3: ``w1_of_shift(shift)`` returns W1 between a distribution and its
copy moved by the vector ``shift`` (a derivation; see the class below).

``net_D`` returns a logit t, with D(x) = sigmoid(t) (the course's convention: the
sigmoid lives inside the loss, computed with softplus). One case has logits
near -100, where a sigmoid followed by a hand-written log gives -inf. Each case gives a tiny model's weights; the student's step runs
on a float32 copy and sends back the loss and every parameter, which are compared
with a float64 reference step made from the same weights. Plain SGD is used so that the
size of the gradient (a mean, not a sum) matters.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course_utils.checks._core import (
    STEP,
    Checker,
    ExerciseFailed,
    as_array,
    as_float,
    call_student,
    exercise,
    judge_derived,
    plain_float,
)

LATENT_DIM = 3
BATCH = 16
LR = 0.5


def _nets():
    net_G = nn.Sequential(nn.Linear(LATENT_DIM, 8), nn.ReLU(), nn.Linear(8, 2))
    net_D = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))  # a logit
    return net_G, net_D


def _case(rng, extreme: bool = False) -> dict:
    """Weights, real batch and noise for the tiny models, as plain arrays.

    With ``extreme``, D's last bias is -100, so every logit is near -100, where
    sigmoid(t) rounds to 0 in float32 and log(sigmoid(t)) is -inf.
    """
    net_G, net_D = _nets()

    def weights(net):
        return [(rng.standard_normal(tuple(p.shape)) * 0.8).astype(np.float32)
                for p in net.parameters()]

    d_weights = weights(net_D)
    if extreme:
        d_weights[3] = np.full_like(d_weights[3], -100.0)
    return {
        "G": weights(net_G),
        "D": d_weights,
        "X": rng.standard_normal((BATCH, 2)).astype(np.float32),
        "Z": rng.standard_normal((BATCH, LATENT_DIM)).astype(np.float32),
    }


def _load(case, dtype=torch.float32):
    net_G, net_D = _nets()
    with torch.no_grad():
        for net, key in ((net_G, "G"), (net_D, "D")):
            for p, w in zip(net.parameters(), case[key]):
                p.copy_(torch.as_tensor(np.asarray(w)))
    return net_G.to(dtype), net_D.to(dtype)


def _params(net: nn.Module) -> list[np.ndarray]:
    return [p.detach().double().numpy().copy() for p in net.parameters()]


def _returned_params(exercise_id, result, key, like: list) -> list[np.ndarray]:
    values = result[key]
    if type(values) is not list or len(values) != len(like):
        raise ExerciseFailed(f"Exercise {exercise_id}: malformed parameters.")
    return [as_array(exercise_id, v, "a parameter", shape=w.shape)
            for v, w in zip(values, like)]


def _same(a: list, b: list, atol: float = 1e-5) -> bool:
    return all(np.allclose(x, y, atol=atol, rtol=1e-4) for x, y in zip(a, b))


def _stale_gradients(net: nn.Module) -> None:
    """Leave old gradients behind, as a previous step would without zero_grad."""
    for p in net.parameters():
        p.grad = torch.full_like(p, 0.3)


def _loss_hints(exercise_id: str, got: float, expected: float, variants: dict) -> None:
    if abs(got - expected) <= 1e-5 + 1e-5 * abs(expected):
        return
    for value, hint in variants.items():
        if abs(got - value) <= 1e-5 + 1e-5 * abs(value):
            raise ExerciseFailed(f"Exercise {exercise_id}: {hint}")
    raise ExerciseFailed(
        f"Exercise {exercise_id}: the returned loss is {got:.6g}, expected "
        f"{expected:.6g}. Return the loss you called backward() on."
    )


class _StepChecker(Checker):
    def cases(self, rng):
        return [_case(rng), _case(rng), _case(rng, extreme=True)]

    def _finish(self, answer, net_G, net_D, what):
        got = plain_float(self.exercise_id, answer, what)
        return {"loss": got, "G": _params(net_G), "D": _params(net_D)}


# -- 3.1 ---------------------------------------------------------------------


@exercise("3.1", "one discriminator step: loss_D = -mean log D(X) - mean log(1 - "
          "D(G(Z))) from logits, D updated, G untouched, stable at extreme logits.",
          gives_away=("discriminator_step",))
class DiscriminatorStep(_StepChecker):
    def run(self, fn, case):
        net_G, net_D = _load(case)
        opt_D = torch.optim.SGD(net_D.parameters(), lr=LR)
        _stale_gradients(net_D)
        X, Z = torch.tensor(case["X"]), torch.tensor(case["Z"])
        answer = call_student("3.1", fn, net_G, net_D, opt_D, X, Z)
        result = self._finish(answer, net_G, net_D, "the returned loss_D")
        # Did D's loss send gradients into G? (it must not: fake_X is detached)
        result["G_grad"] = any(
            p.grad is not None and bool(torch.Tensor.any(p.grad != 0))
            for p in net_G.parameters()
        )
        return result

    def verify(self, case, result):
        got = as_float("3.1", result["loss"], "the returned loss_D")
        ref_G, ref_D = _load(case, torch.float64)
        X = torch.tensor(case["X"], dtype=torch.float64)
        Z = torch.tensor(case["Z"], dtype=torch.float64)
        G_before = _params(ref_G)
        ref_opt = torch.optim.SGD(ref_D.parameters(), lr=LR)
        with torch.no_grad():
            fake_X = ref_G(Z)
        t_real, t_fake = ref_D(X), ref_D(fake_X)
        ref_loss = F.softplus(-t_real).mean() + F.softplus(t_fake).mean()
        ref_opt.zero_grad()
        ref_loss.backward()
        ref_opt.step()
        expected = ref_loss.item()
        with torch.no_grad():
            real_log = -F.softplus(-t_real).mean().item()  # mean log D(X)
            fake_log = -F.softplus(t_fake).mean().item()  # mean log(1 - D(fake))
            fake_as_real = -F.softplus(-t_fake).mean().item()
            double = (F.softplus(-torch.sigmoid(t_real)).mean()
                      + F.softplus(torch.sigmoid(t_fake)).mean()).item()
        _loss_hints("3.1", got, expected, {
            -expected: "the sign is flipped: the discriminator maximises E log D(x) + "
            "E log(1 - D(G(z))), so loss_D is minus that.",
            BATCH * expected: "use the mean over the batch, not the sum.",
            -real_log: "loss_D has two terms: add -mean log(1 - D(fake_X)) for the "
            "generated batch.",
            -fake_log: "loss_D has two terms: add -mean log D(X) for the real batch.",
            -real_log - fake_as_real: "on the generated "
            "batch the target is 'fake': use log(1 - D(fake_X)), not log D(fake_X).",
            double: "net_D already returns logits: pass them to softplus or "
            "binary_cross_entropy_with_logits directly, without a sigmoid first.",
        })
        if not _same(_returned_params("3.1", result, "G", G_before), G_before):
            raise ExerciseFailed(
                "Exercise 3.1: the generator's weights changed. The discriminator step "
                f"must only update net_D.{STEP}Detach fake_X (net_G(Z).detach()) or "
                "compute it under torch.no_grad()."
            )
        if result["G_grad"] is not False:
            raise ExerciseFailed(
                "Exercise 3.1: loss_D.backward() sent gradients into the generator: "
                "net_G's parameters have a .grad after your step, and D's step paid "
                f"for a backward pass through G.{STEP}Detach the fake batch "
                "(net_G(Z).detach()) so that nothing flows back into G."
            )
        D_after = _params(ref_D)
        if not _same(_returned_params("3.1", result, "D", D_after), D_after):
            raise ExerciseFailed(
                "Exercise 3.1: the loss is right but net_D's weights after the step are "
                "not: the checker left old gradients in net_D, as a previous step "
                f"would, and backward() adds to them.{STEP}Call opt_D.zero_grad() "
                "before loss_D.backward(), then opt_D.step() once."
            )


# -- 3.2 ---------------------------------------------------------------------


@exercise("3.2", "one generator step with the non-saturating loss_G = -mean log "
          "D(G(Z)), G updated, D untouched.", gives_away=("g_loss_nonsaturating", "generator_step"))
class GeneratorStep(_StepChecker):
    def run(self, fn, case):
        net_G, net_D = _load(case)
        opt_G = torch.optim.SGD(net_G.parameters(), lr=LR)
        _stale_gradients(net_G)
        answer = call_student("3.2", fn, net_G, net_D, opt_G, torch.tensor(case["Z"]))
        return self._finish(answer, net_G, net_D, "the returned loss_G")

    def verify(self, case, result):
        got = as_float("3.2", result["loss"], "the returned loss_G")
        ref_G, ref_D = _load(case, torch.float64)
        Z = torch.tensor(case["Z"], dtype=torch.float64)
        D_before = _params(ref_D)
        ref_opt = torch.optim.SGD(ref_G.parameters(), lr=LR)
        t_fake = ref_D(ref_G(Z))
        ref_loss = F.softplus(-t_fake).mean()  # -mean log sigmoid(t)
        ref_opt.zero_grad()
        ref_loss.backward()
        ref_opt.step()
        expected = ref_loss.item()
        with torch.no_grad():
            saturating = -F.softplus(t_fake).mean().item()  # mean log(1 - D)
        _loss_hints("3.2", got, expected, {
            saturating: "this is the saturating loss log(1 - D(G(z))). The lecture's "
            "generator minimises -log D(G(z)) instead, whose gradient does not vanish "
            "when D rejects the fakes.",
            -expected: "the sign is flipped: the generator wants D(G(z)) near 1, so it "
            "minimises -mean log D(G(Z)).",
            BATCH * expected: "use the mean over the batch, not the sum.",
        })
        if not _same(_returned_params("3.2", result, "D", D_before), D_before):
            raise ExerciseFailed(
                "Exercise 3.2: the discriminator's weights changed. The generator step "
                "must only update net_G (step opt_G, not an optimiser of net_D)."
            )
        G_after = _params(ref_G)
        if not _same(_returned_params("3.2", result, "G", G_after), G_after):
            raise ExerciseFailed(
                "Exercise 3.2: the loss is right but net_G's weights after the step are "
                "not: the checker left old gradients in net_G, as a previous step "
                f"would, and backward() adds to them.{STEP}Call opt_G.zero_grad() "
                "before loss_G.backward(), then opt_G.step() once."
            )


# -- 3.3 ---------------------------------------------------------------------


@exercise("3.3", "W1(P, P + v) matches for 7 shifts v, (0, 0) among them.", gives_away=("w1_of_translation",))
class ShiftDistance(Checker):
    """``w1_of_shift(shift)``: W1(P, P + v) for a shift v of shape (2,).

    A derivation: the coupling x -> x + v costs |v|, and no coupling costs less,
    since E||X - Y|| >= ||E[X - Y]|| = |v| (Jensen). So W1 = |v|, the Euclidean
    norm, for every distribution P with a mean.
    """

    def cases(self, rng):
        shifts = [rng.normal(0.0, scale, 2) for scale in (0.05, 0.5, 3.0)]
        shifts += [np.array([3.0, -4.0]), np.array([0.0, -0.2]),
                   np.array([-0.7, 0.7]), np.array([0.0, 0.0])]
        return [{"shift": [float(a) for a in v]} for v in shifts]

    def run(self, fn, case):
        shift = torch.tensor(case["shift"], dtype=torch.float64)
        return plain_float("3.3", call_student("3.3", fn, shift), "W1")

    def verify(self, case, result):
        a, b = case["shift"]
        got = as_float("3.3", result, "W1")
        expected = math.hypot(a, b)
        v = f"v = ({a:.3g}, {b:.3g})"
        if expected == 0 and abs(got) > 1e-6:
            raise ExerciseFailed(
                f"Exercise 3.3: for v = (0, 0) you returned {got:.6g}: a copy that "
                "does not move is the same distribution, at distance 0.")
        wrong = [
            (0.0, "W1 compares where the mass is, not only its shape: every point of "
             "the moved copy is |v| away from where it started."),
            (abs(a) + abs(b), "that is |v_1| + |v_2|, the distance along a grid. "
             "Mass travels in straight lines and W1 here uses the Euclidean "
             "distance ||x - y||."),
            (a * a + b * b, "that is the squared length of v (the cost of W2 "
             "squared). W1 averages the distance itself, not its square."),
            (max(abs(a), abs(b)), "that is the larger coordinate's move only; the "
             "points move by the whole vector v."),
            ((abs(a) + abs(b)) / 2, "averaging the two coordinates' moves is not a "
             "distance in the plane."),
            (a + b, "a sum of signed coordinates can even be negative; W1 is an "
             "average of lengths."),
            (math.hypot(a, b) / 2, "the factor 1/2 does not belong: each point "
             "moves the whole way."),
        ]
        judge_derived(
            "3.3", got, expected, wrong, f"for {v}",
            "Find a coupling that costs little (where should each point x go?), then "
            "a lower bound that every coupling obeys: compare E||X - Y|| with "
            "||E[X - Y]||.")
