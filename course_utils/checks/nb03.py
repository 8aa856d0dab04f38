"""Checkers for 03_point_cloud_gan: the two steps of the lecture's training loop.

Exercise 3.1: ``d_step(net_G, net_D, opt_D, X, Z)`` makes one discriminator
update and returns ``loss_D``.
Exercise 3.2: ``g_step(net_G, net_D, opt_G, Z)`` makes one generator update and
returns ``loss_G``.

As in the lecture, ``net_D`` ends with a Sigmoid, so its output is the
probability D(x). Each checker builds a tiny model with fixed weights, gives the
student's function a copy, runs its own reference step on another copy and
compares the loss and every parameter afterwards. Plain SGD is used so that the
size of the gradient (a mean, not a sum) matters.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from course_utils.checks._core import (
    ExerciseFailed,
    call_student,
    exercise,
    plain_float,
)

LATENT_DIM = 3
BATCH = 16
LR = 0.5


def _tiny_models():
    net_G = nn.Sequential(nn.Linear(LATENT_DIM, 8), nn.ReLU(), nn.Linear(8, 2))
    net_D = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1), nn.Sigmoid())
    for net in (net_G, net_D):
        for p in net.parameters():
            nn.init.normal_(p, std=0.8)
    X = torch.randn(BATCH, 2)
    Z = torch.randn(BATCH, LATENT_DIM)
    return net_G, net_D, X, Z


def _params(net: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in net.parameters()]


def _same(a: list, b: list, atol: float = 1e-6) -> bool:
    return all(torch.allclose(x, y, atol=atol, rtol=1e-5) for x, y in zip(a, b))


def _stale_gradients(net: nn.Module) -> None:
    """Leave old gradients behind, as a previous step would without zero_grad."""
    for p in net.parameters():
        p.grad = torch.full_like(p, 0.3)


def _loss_hints(exercise_id: str, got: float, expected: float, variants: dict) -> None:
    if abs(got - expected) <= 1e-6 + 1e-5 * abs(expected):
        return
    for value, hint in variants.items():
        if abs(got - value) <= 1e-6 + 1e-5 * abs(value):
            raise ExerciseFailed(f"Exercise {exercise_id}: {hint}")
    raise ExerciseFailed(
        f"Exercise {exercise_id}: the returned loss is {got:.6g}, expected "
        f"{expected:.6g}. Return the loss you called backward() on."
    )


# -- 3.1 ---------------------------------------------------------------------


@exercise("3.1", "one discriminator step: loss_D = -mean log D(X) - mean log(1 - "
          "D(G(Z))), D updated, G untouched.")
def check_d_step(fn):
    net_G, net_D, X, Z = _tiny_models()
    ref_G, ref_D = copy.deepcopy(net_G), copy.deepcopy(net_D)
    G_before = _params(net_G)

    # the reference step
    ref_opt = torch.optim.SGD(ref_D.parameters(), lr=LR)
    with torch.no_grad():
        fake_X = ref_G(Z)
    d_real, d_fake = ref_D(X), ref_D(fake_X)
    ref_loss = -torch.log(d_real).mean() - torch.log(1 - d_fake).mean()
    ref_opt.zero_grad()
    ref_loss.backward()
    ref_opt.step()
    expected = ref_loss.item()

    # the student's step, with stale gradients left in net_D
    opt_D = torch.optim.SGD(net_D.parameters(), lr=LR)
    _stale_gradients(net_D)
    answer = call_student("3.1", fn, net_G, net_D, opt_D, X.clone(), Z.clone())
    got = plain_float("3.1", answer, "the returned loss_D")

    with torch.no_grad():
        real_log = torch.log(d_real.detach()).mean().item()
        fake_log = torch.log(1 - d_fake.detach()).mean().item()
    _loss_hints("3.1", got, expected, {
        -expected: "the sign is flipped: the discriminator maximises E log D(x) + "
        "E log(1 - D(G(z))), so loss_D is minus that.",
        BATCH * expected: "use the mean over the batch, not the sum.",
        -real_log: "loss_D has two terms: add -mean log(1 - D(fake_X)) for the "
        "generated batch.",
        -fake_log: "loss_D has two terms: add -mean log D(X) for the real batch.",
        -real_log - torch.log(d_fake.detach()).mean().item(): "on the generated "
        "batch the target is 'fake': use log(1 - D(fake_X)), not log D(fake_X).",
    })
    if not _same(_params(net_G), G_before):
        raise ExerciseFailed(
            "Exercise 3.1: the generator's weights changed. The discriminator step "
            "must only update net_D (detach fake_X or compute it under "
            "torch.no_grad())."
        )
    if not _same(_params(net_D), _params(ref_D)):
        raise ExerciseFailed(
            "Exercise 3.1: the loss is right but net_D's weights after the step are "
            "not. Call opt_D.zero_grad() before loss_D.backward() (old gradients "
            "add up otherwise), then opt_D.step() once."
        )


# -- 3.2 ---------------------------------------------------------------------


@exercise("3.2", "one generator step with the non-saturating loss_G = -mean log "
          "D(G(Z)), G updated, D untouched.")
def check_g_step(fn):
    net_G, net_D, _, Z = _tiny_models()
    ref_G, ref_D = copy.deepcopy(net_G), copy.deepcopy(net_D)
    D_before = _params(net_D)

    ref_opt = torch.optim.SGD(ref_G.parameters(), lr=LR)
    d_fake = ref_D(ref_G(Z))
    ref_loss = -torch.log(d_fake).mean()
    ref_opt.zero_grad()
    ref_loss.backward()
    ref_opt.step()
    expected = ref_loss.item()

    opt_G = torch.optim.SGD(net_G.parameters(), lr=LR)
    _stale_gradients(net_G)
    answer = call_student("3.2", fn, net_G, net_D, opt_G, Z.clone())
    got = plain_float("3.2", answer, "the returned loss_G")

    with torch.no_grad():
        saturating = torch.log(1 - d_fake.detach()).mean().item()
    _loss_hints("3.2", got, expected, {
        saturating: "this is the saturating loss log(1 - D(G(z))). The lecture's "
        "generator minimises -log D(G(z)) instead, whose gradient does not vanish "
        "when D rejects the fakes.",
        -expected: "the sign is flipped: the generator wants D(G(z)) near 1, so it "
        "minimises -mean log D(G(Z)).",
        BATCH * expected: "use the mean over the batch, not the sum.",
    })
    if not _same(_params(net_D), D_before):
        raise ExerciseFailed(
            "Exercise 3.2: the discriminator's weights changed. The generator step "
            "must only update net_G (step opt_G, not an optimiser of net_D)."
        )
    if not _same(_params(net_G), _params(ref_G)):
        raise ExerciseFailed(
            "Exercise 3.2: the loss is right but net_G's weights after the step are "
            "not. Call opt_G.zero_grad() before loss_G.backward() (old gradients "
            "add up otherwise), then opt_G.step() once."
        )
