"""GAN losses, all computed from the discriminator's raw outputs (logits).

Why logits: ``log(sigmoid(t))`` evaluated as two steps underflows to ``-inf`` as
soon as ``sigmoid(t)`` rounds to 0 (``t < -104`` in float32), while
``-softplus(-t)`` is the same function computed stably. Every loss here takes
logits and uses ``softplus`` / ``binary_cross_entropy_with_logits``.

Each loss family is a :class:`GANLoss`: a discriminator loss, a generator loss and,
optionally, a penalty on the discriminator (a gradient penalty, say) and a hook
run after each discriminator step (weight clipping, say). The training loop in
:mod:`course_utils.train` only talks to this interface, so later notebooks add
LSGAN, WGAN and hinge losses with :func:`register` without touching the loop.

Notation: ``real_logits = net_D(X)``, ``fake_logits = net_D(fake_X)`` and
D(x) = sigmoid(logit). Introduced in 01_minimax_game.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import torch
import torch.nn.functional as F

__all__ = [
    "GANLoss",
    "register",
    "get",
    "available",
    "value_function",
    "d_loss_minimax",
    "g_loss_saturating",
    "g_loss_nonsaturating",
]


def value_function(
    real_logits: torch.Tensor, fake_logits: torch.Tensor
) -> torch.Tensor:
    """Monte-Carlo estimate of V(D, G) = E log D(x) + E log(1 - D(G(z))).

    ``log D = -softplus(-t)`` and ``log(1 - D) = -softplus(t)`` for a logit t.
    """
    return -F.softplus(-real_logits).mean() - F.softplus(fake_logits).mean()


def d_loss_minimax(
    real_logits: torch.Tensor, fake_logits: torch.Tensor
) -> torch.Tensor:
    """The discriminator's loss, -V(D, G): cross-entropy with labels 1 and 0."""
    ones = torch.ones_like(real_logits)
    zeros = torch.zeros_like(fake_logits)
    return F.binary_cross_entropy_with_logits(
        real_logits, ones
    ) + F.binary_cross_entropy_with_logits(fake_logits, zeros)


def g_loss_saturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """Goodfellow's original generator loss, E log(1 - D(G(z))), to be minimised.

    Its gradient vanishes when D confidently rejects the fakes (D(G(z)) -> 0).
    """
    return -F.softplus(fake_logits).mean()


def g_loss_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """The non-saturating generator loss, -E log D(G(z)), to be minimised."""
    return F.softplus(-fake_logits).mean()


@dataclass(frozen=True)
class GANLoss:
    """One loss family: what the discriminator and the generator minimise.

    ``d_loss(real_out, fake_out)`` and ``g_loss(fake_out)`` take the raw outputs
    of ``net_D``. ``penalty(net_D, X, fake_X)``, if given, is added to the
    discriminator's loss (it receives the real and the detached fake batch).
    ``after_d_step(net_D)``, if given, runs after every discriminator update.
    ``probability`` says whether sigmoid of the output is a probability of
    "real" (true for the minimax family, false for a WGAN critic); the training
    loop logs mean D(x) and D(G(z)) only when it is.
    """

    name: str
    d_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    g_loss: Callable[[torch.Tensor], torch.Tensor]
    penalty: Optional[Callable[..., torch.Tensor]] = None
    after_d_step: Optional[Callable[[torch.nn.Module], None]] = None
    probability: bool = True


_REGISTRY: dict[str, GANLoss] = {}


def register(loss: GANLoss, overwrite: bool = False) -> GANLoss:
    """Make ``loss`` available to :func:`get` and the training loop by its name."""
    if not isinstance(loss, GANLoss):
        raise TypeError(f"register() takes a GANLoss, got {type(loss).__name__}")
    if loss.name in _REGISTRY and not overwrite:
        raise ValueError(f"a loss called {loss.name!r} is already registered")
    _REGISTRY[loss.name] = loss
    return loss


def get(loss: "str | GANLoss") -> GANLoss:
    """Look a loss up by name (a :class:`GANLoss` is returned unchanged)."""
    if isinstance(loss, GANLoss):
        return loss
    try:
        return _REGISTRY[loss]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown loss {loss!r}; available: {', '.join(available())}"
        ) from None


def available() -> list[str]:
    """Names of the registered losses."""
    return sorted(_REGISTRY)


register(GANLoss("minimax", d_loss_minimax, g_loss_saturating))
register(GANLoss("nonsaturating", d_loss_minimax, g_loss_nonsaturating))
