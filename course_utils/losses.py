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
D(x) = sigmoid(logit). Introduced in 01_minimax_game; the least-squares family
(:func:`lsgan`) is written for the LSGAN notebook (07), the critic losses
(:func:`wgan_clip`, :func:`wgan_gp`, :func:`gradient_penalty`) and the hinge loss
for the WGAN notebook (08), the smoothed targets (:func:`label_smoothing`) for
02_optimal_discriminator.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
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
    "lsgan",
    "label_smoothing",
    "hinge",
    "wgan_clip",
    "wgan_gp",
    "gradient_penalty",
    "clip_weights",
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
    loop logs mean D(x) and D(G(z)) only when it is. ``critic`` says that the
    output is a critic's score whose mean gap E[D(x)] - E[D(G(z))] estimates a
    distance; the loop then logs that gap as ``critic_estimate``.
    """

    name: str
    d_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    g_loss: Callable[[torch.Tensor], torch.Tensor]
    penalty: Optional[Callable[..., torch.Tensor]] = None
    after_d_step: Optional[Callable[[torch.nn.Module], None]] = None
    probability: bool = True
    critic: bool = False


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


# ------------------------------------------------------------ least squares
def lsgan(a: float = 0.0, b: float = 1.0, c: float = 1.0) -> GANLoss:
    """The least-squares losses of Mao et al. with the a-b-c coding.

    D minimises 1/2 E[(D(x) - b)^2] + 1/2 E[(D(G(z)) - a)^2] (a: the target of
    fakes, b: of real samples) and G minimises 1/2 E[(D(G(z)) - c)^2] (c: the
    value G wants D to believe). (0, 1, 1) is the 0-1 coding; (-1, 1, 0) the
    coding with b - c = 1 and b - a = 2 that links the game to the Pearson
    chi-square divergence. D's output is used as it is, with no sigmoid.
    """
    for name, value in (("a", a), ("b", b), ("c", c)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{name} must be a number, got {value!r}")
    if a == b:
        raise ValueError(f"a and b must differ (got a = b = {a}): D could not tell")

    def d_loss(real_out, fake_out):
        return 0.5 * ((real_out - b) ** 2).mean() + 0.5 * ((fake_out - a) ** 2).mean()

    def g_loss(fake_out):
        return 0.5 * ((fake_out - c) ** 2).mean()

    return GANLoss(f"lsgan({a:g},{b:g},{c:g})", d_loss, g_loss, probability=False)


# ---------------------------------------------------------- label smoothing
def _target(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number in [0, 1], got {value!r}")
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1] (a probability of 'real'), "
                         f"got {value!r}")
    return float(value)


def label_smoothing(real: float = 0.9, fake: float = 0.0) -> GANLoss:
    """D's cross-entropy against the targets ``real`` for data and ``fake`` for
    samples instead of 1 and 0 (Salimans et al. 2016, section 3.4).

    D minimises E[BCE(t(x), real)] + E[BCE(t(G(z)), fake)] with
    BCE(t, c) = -c log sigmoid(t) - (1 - c) log(1 - sigmoid(t))
    = c softplus(-t) + (1 - c) softplus(t), computed from the logits t; its
    optimum is D* = (real p_data + fake p_g) / (p_data + p_g). G minimises the
    non-saturating -E log D(G(z)). ``real = 0.9, fake = 0`` is one-sided
    smoothing; ``fake > 0`` smooths the fake label too, which leaves D* = fake
    where only the generator has mass (02_optimal_discriminator, Section 7).
    """
    real, fake = _target("real", real), _target("fake", fake)
    if not real > fake:
        raise ValueError(f"the real target must exceed the fake one (got real = "
                         f"{real:g}, fake = {fake:g}): D would not call data real")

    def d_loss(real_logits, fake_logits):
        return F.binary_cross_entropy_with_logits(
            real_logits, torch.full_like(real_logits, real)
        ) + F.binary_cross_entropy_with_logits(
            fake_logits, torch.full_like(fake_logits, fake))

    return GANLoss(f"label-smoothing(real={real:g},fake={fake:g})", d_loss,
                   g_loss_nonsaturating)


# -------------------------------------------------------------------- hinge
def _hinge_d(real_out, fake_out):
    return F.relu(1.0 - real_out).mean() + F.relu(1.0 + fake_out).mean()


def _critic_g(fake_out):
    return -fake_out.mean()


def hinge() -> GANLoss:
    """The hinge loss: D minimises E[relu(1 - D(x))] + E[relu(1 + D(G(z)))],
    G minimises -E[D(G(z))] (the SAGAN / spectral-norm GAN choice)."""
    return GANLoss("hinge", _hinge_d, _critic_g, probability=False, critic=True)


# ------------------------------------------------------------- WGAN critics
def _critic_d(real_out, fake_out):
    return fake_out.mean() - real_out.mean()


def clip_weights(net: torch.nn.Module, c: float) -> None:
    """Clamp every parameter of ``net`` to [-c, c], in place (WGAN's clipping)."""
    with torch.no_grad():
        for p in net.parameters():
            p.clamp_(-c, c)


def wgan_clip(clip: float = 0.01) -> GANLoss:
    """WGAN with weight clipping (Arjovsky et al.): the critic minimises
    E[D(G(z))] - E[D(x)], G minimises -E[D(G(z))], and every weight is clipped
    to [-clip, clip] after every critic step. Train it with RMSProp (lr 5e-5 in
    the paper) and several critic steps per generator step."""
    if isinstance(clip, bool) or not isinstance(clip, (int, float)) or clip <= 0:
        raise ValueError(f"clip must be a number > 0, got {clip!r}")
    return GANLoss(
        f"wgan(clip={clip:g})",
        _critic_d,
        _critic_g,
        after_d_step=lambda net: clip_weights(net, clip),
        probability=False,
        critic=True,
    )


def gradient_penalty(
    net_D: torch.nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    lam: float = 10.0,
    generator: Optional[torch.Generator] = None,
) -> torch.Tensor:
    """WGAN-GP's penalty lam * E[(||grad_x D(x_hat)||_2 - 1)^2].

    x_hat = eps x + (1 - eps) x_fake with one eps ~ U(0, 1) per sample, and the
    norm is taken per sample over all of its coordinates. ``real`` and ``fake``
    must have the same shape (pair them before calling). The graph is kept so
    that the penalty can be minimised by the critic's optimiser.
    """
    if real.shape != fake.shape:
        raise ValueError(
            f"real and fake batches must have the same shape for the interpolates, "
            f"got {tuple(real.shape)} and {tuple(fake.shape)}"
        )
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    eps = torch.rand(shape, device=real.device, dtype=real.dtype, generator=generator)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    out = net_D(x_hat)
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    norms = grad.flatten(1).norm(dim=1)
    return lam * ((norms - 1.0) ** 2).mean()


def wgan_gp(lam: float = 10.0) -> GANLoss:
    """WGAN-GP (Gulrajani et al.): the critic losses of :func:`wgan_clip`
    without clipping, plus :func:`gradient_penalty` with weight ``lam`` on
    random interpolates. Use no batch norm in the critic (the penalty is per
    sample); the paper trains with Adam 1e-4, betas (0, 0.9), 5 critic steps."""
    if isinstance(lam, bool) or not isinstance(lam, (int, float)) or lam < 0:
        raise ValueError(f"lam must be a number >= 0, got {lam!r}")
    return GANLoss(
        f"wgan-gp(lam={lam:g})",
        _critic_d,
        _critic_g,
        penalty=lambda net, real, fake: gradient_penalty(net, real, fake, lam),
        probability=False,
        critic=True,
    )


register(GANLoss("minimax", d_loss_minimax, g_loss_saturating))
register(GANLoss("nonsaturating", d_loss_minimax, g_loss_nonsaturating))
register(replace(lsgan(0.0, 1.0, 1.0), name="lsgan"))
register(replace(label_smoothing(0.9, 0.0), name="label-smoothing"))
register(hinge())
register(replace(wgan_clip(0.01), name="wgan"))
register(replace(wgan_gp(10.0), name="wgan-gp"))
