"""Update rules: what one iteration of GAN training does.

Introduced in 01_minimax_game, whose GAN trains with the default rule,
:class:`Alternating`; the other rules are written for notebooks 04, 05, 07 and 08.
:func:`course_utils.train.train_gan` runs the loop; a rule from this module
runs one iteration inside it and returns what it wants logged. Each rule is a
short class that a notebook can read, and write out itself when it teaches it:

* :class:`Alternating`: Goodfellow's Algorithm 1, ``k`` discriminator steps
  then one generator step, with any loss family of :mod:`course_utils.losses`
  (also LSGAN, and WGAN with clipping or a gradient penalty);
* :class:`DiscriminatorOnly`: D against a frozen generator;
* :class:`Conditional`: labels into G and D;
* :class:`InfoGAN`: latent codes, a Q head on D's body and the
  mutual-information term;
* :class:`Unrolled`: the generator's loss against a copy of D advanced
  ``unroll_steps`` differentiable steps;
* :class:`Packed`: D scores ``pack`` samples at once (PacGAN).

The contract (this module's own, so that rules need nothing from the loop):
a rule holds only its settings. ``setup(ctx)`` runs once per training run and
returns that run's state (an optimiser for Q, say; ``None`` for most rules);
``step(ctx, state)`` runs one iteration and returns a dict of floats:
``loss_D``, ``loss_G`` and ``D_real`` / ``D_fake`` go to the history's own
lists, anything else (``penalty``, ``critic_estimate``, ``loss_Q``) to
``History.logs``. One rule object can therefore train any number of network
pairs, one after another, each with fresh state. Every loss passes through
``ctx.finite``, which stops training with a clear error when one becomes NaN
or infinite.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from course_utils import losses as _losses
from course_utils.utils import eval_mode

__all__ = [
    "UpdateRule",
    "Context",
    "NonFiniteLossError",
    "generate",
    "Alternating",
    "DiscriminatorOnly",
    "Conditional",
    "InfoGAN",
    "Unrolled",
    "Packed",
    "pack",
]

_CAUSES = (
    "Usual causes: a learning rate that is too high; a Sigmoid at the end of D "
    "followed by a hand-written log (use logits and softplus / "
    "binary_cross_entropy_with_logits); data not scaled to the range the "
    "generator's output can reach; an exploding critic without clipping or a "
    "gradient penalty."
)


class NonFiniteLossError(FloatingPointError):
    """Raised when a loss becomes NaN or infinite during training."""

    def __init__(self, which: str, value: float, step: int):
        self.which, self.value, self.step = which, value, step
        super().__init__(f"{which} became {value} at generator step {step}. {_CAUSES}")


@dataclass
class Context:
    """What an update rule sees during one iteration.

    ``real(n)`` draws a real batch (a pair (X, y) for rules with labels),
    ``noise(n)`` a batch of noise, and ``finite(loss, name)`` returns the
    loss as a float after checking that it is finite.
    """

    net_G: nn.Module
    net_D: nn.Module
    opt_G: torch.optim.Optimizer
    opt_D: torch.optim.Optimizer
    batch_size: int
    device: torch.device
    real: Callable
    noise: Callable[[int], torch.Tensor]
    step: int = 0

    def finite(self, loss: torch.Tensor, which: str) -> float:
        value = loss.item()
        if not math.isfinite(value):
            raise NonFiniteLossError(which, value, self.step)
        return value


def generate(net_G: nn.Module, fixed) -> torch.Tensor:
    """The generator's samples from fixed inputs (a tensor, or a tuple of its
    arguments such as noise and labels), in eval mode and without gradients,
    on the CPU; the generator's mode is restored afterwards."""
    with torch.no_grad(), eval_mode(net_G):
        if isinstance(fixed, (tuple, list)):
            return net_G(*fixed).detach().cpu()
        return net_G(fixed).detach().cpu()


class UpdateRule:
    """The interface every rule follows.

    ``uses_labels``: whether real batches are pairs (X, y). ``real_batches``:
    how many real batches one iteration consumes (to convert epochs to
    steps). ``setup(ctx)`` runs once before each training run and returns the
    run's state; ``step(ctx, state)`` runs one iteration and returns the
    values to log; ``generate(net_G, fixed)`` draws the snapshot samples from
    the fixed inputs. A rule never stores anything about a run on itself.
    """

    uses_labels = False
    real_batches = 1

    def setup(self, ctx) -> object:
        return None

    def step(self, ctx, state) -> dict:
        raise NotImplementedError

    def generate(self, net_G: nn.Module, fixed) -> torch.Tensor:
        return generate(net_G, fixed)

    def describe(self) -> str:
        return type(self).__name__


def _check_int(name: str, value, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")


def _d_update(ctx, gan_loss, real_out, fake_out, real_X, fake_X, logged, net_D=None,
              extra=None):
    """One discriminator update from its outputs on a real and a fake batch.

    Adds the loss family's penalty (logged on its own) and ``extra`` (a term
    of another objective stepped by the same optimiser, not logged as loss_D),
    steps ``ctx.opt_D``, runs the family's hook (weight clipping) and logs the
    loss, the critic's estimate and D's mean outputs.
    """
    net_D = ctx.net_D if net_D is None else net_D
    loss_D = gan_loss.d_loss(real_out, fake_out)
    total = loss_D
    if gan_loss.penalty is not None:
        penalty = gan_loss.penalty(net_D, real_X, fake_X)
        logged["penalty"] = ctx.finite(penalty, "penalty")
        total = loss_D + penalty
    if extra is not None:
        total = total + extra
    ctx.opt_D.zero_grad(set_to_none=True)
    total.backward()
    ctx.opt_D.step()
    if gan_loss.after_d_step is not None:
        gan_loss.after_d_step(ctx.net_D)
    logged["loss_D"] = ctx.finite(loss_D, "loss_D")
    if gan_loss.critic:
        logged["critic_estimate"] = (
            real_out.detach().mean() - fake_out.detach().mean()
        ).item()
    return loss_D


def _g_update(ctx, loss_G):
    ctx.opt_G.zero_grad(set_to_none=True)
    loss_G.backward()
    ctx.opt_G.step()
    return ctx.finite(loss_G, "loss_G")


def _log_probabilities(gan_loss, real_out, fake_out, logged):
    if gan_loss.probability:
        logged["D_real"] = torch.sigmoid(real_out.detach()).mean().item()
        logged["D_fake"] = torch.sigmoid(fake_out.detach()).mean().item()


# ---------------------------------------------------------------- alternating
class Alternating(UpdateRule):
    """Algorithm 1: ``k`` discriminator steps, then one generator step.

    Each discriminator step draws a fresh real batch and a fake batch of the
    same size (also at the end of an epoch); the generator step draws fresh
    noise and is scored by the updated D. With ``reuse_fake=True`` the last
    discriminator step's fake batch is made with gradients kept and reused by
    the generator step (one forward pass of G saved, as in the PyTorch DCGAN
    example; a departure from Algorithm 1's fresh noise).
    """

    def __init__(self, loss="nonsaturating", k: int = 1, reuse_fake: bool = False):
        self.loss = _losses.get(loss)
        _check_int("k (discriminator steps per generator step)", k)
        if not isinstance(reuse_fake, bool):
            raise ValueError(f"reuse_fake must be True or False, got {reuse_fake!r}")
        self.k, self.reuse_fake = k, reuse_fake
        self.real_batches = k

    def describe(self) -> str:
        return f"Alternating(loss={self.loss.name}, k={self.k}, reuse={self.reuse_fake})"

    def step(self, ctx, state=None) -> dict:
        gan_loss, logged = self.loss, {}
        net_G, net_D, n = ctx.net_G, ctx.net_D, ctx.batch_size
        paired = gan_loss.penalty is not None  # interpolates need equal sizes
        for i in range(self.k):
            X = ctx.real(n)
            if self.reuse_fake and i == self.k - 1:
                fake_for_G = net_G(ctx.noise(X.shape[0] if paired else n))
                fake_X = fake_for_G.detach()
            else:
                with torch.no_grad():
                    fake_X = net_G(ctx.noise(X.shape[0]))
            real_out = net_D(X)
            fake_out = net_D(fake_X)
            _d_update(ctx, gan_loss, real_out, fake_out, X, fake_X, logged)

        if not self.reuse_fake:
            fake_for_G = net_G(ctx.noise(n))
        logged["loss_G"] = _g_update(ctx, gan_loss.g_loss(net_D(fake_for_G)))
        _log_probabilities(gan_loss, real_out, fake_out, logged)
        return logged


# ------------------------------------------------------ discriminator only
class DiscriminatorOnly(UpdateRule):
    """Train D alone against a frozen generator: each iteration is one
    discriminator update on a fresh real batch and a fresh batch of G's
    samples, and G is never updated (``opt_G`` is left untouched).

    For a fixed generator this is notebook 02's problem: D approaches
    D* = p_data / (p_data + p_g), whose logit estimates log p_data - log p_g,
    the density ratio that rejection sampling needs (04_mode_collapse).
    """

    def __init__(self, loss="nonsaturating"):
        self.loss = _losses.get(loss)

    def describe(self) -> str:
        return f"DiscriminatorOnly(loss={self.loss.name})"

    def step(self, ctx, state=None) -> dict:
        logged = {}
        X = ctx.real(ctx.batch_size)
        with torch.no_grad():
            fake_X = ctx.net_G(ctx.noise(X.shape[0]))
        real_out, fake_out = ctx.net_D(X), ctx.net_D(fake_X)
        _d_update(ctx, self.loss, real_out, fake_out, X, fake_X, logged)
        _log_probabilities(self.loss, real_out, fake_out, logged)
        return logged


# ---------------------------------------------------------------- conditional
class Conditional(UpdateRule):
    """A conditional GAN (Mirza and Osindero): G(z, y) and D(x, y).

    Real batches are pairs (X, y). Fakes are made for labels drawn uniformly
    from ``num_classes`` (the label prior of a balanced dataset), and D scores
    each fake with the label it was made for. Snapshots take
    ``fixed_Z = (Z, labels)``.
    """

    uses_labels = True

    def __init__(self, num_classes: int, loss="nonsaturating", k: int = 1):
        _check_int("num_classes", num_classes, 2)
        _check_int("k (discriminator steps per generator step)", k)
        self.num_classes, self.loss, self.k = num_classes, _losses.get(loss), k
        self.real_batches = k

    def describe(self) -> str:
        return f"Conditional(classes={self.num_classes}, loss={self.loss.name}, k={self.k})"

    def labels(self, n: int, device) -> torch.Tensor:
        return torch.randint(self.num_classes, (n,), device=device)

    def step(self, ctx, state=None) -> dict:
        gan_loss, logged = self.loss, {}
        net_G, net_D = ctx.net_G, ctx.net_D
        for _ in range(self.k):
            X, y = ctx.real(ctx.batch_size)
            if y.min() < 0 or y.max() >= self.num_classes:
                raise ValueError(
                    f"labels must lie in 0..{self.num_classes - 1}, found "
                    f"{int(y.min())}..{int(y.max())}"
                )
            y_fake = self.labels(X.shape[0], ctx.device)
            with torch.no_grad():
                fake_X = net_G(ctx.noise(X.shape[0]), y_fake)
            real_out, fake_out = net_D(X, y), net_D(fake_X, y_fake)
            _d_update(
                ctx, gan_loss, real_out, fake_out, X, fake_X, logged,
                net_D=_WithLabels(net_D, y),
            )
        y_fake = self.labels(ctx.batch_size, ctx.device)
        fake = net_G(ctx.noise(ctx.batch_size), y_fake)
        logged["loss_G"] = _g_update(ctx, gan_loss.g_loss(net_D(fake, y_fake)))
        _log_probabilities(gan_loss, real_out, fake_out, logged)
        return logged


class _WithLabels(nn.Module):
    """D with the labels of the current batch bound, for a gradient penalty:
    interpolates between a real and a fake sample get the real sample's label
    (a penalty on conditional critics is an approximation either way)."""

    def __init__(self, net_D, y_real):
        super().__init__()
        self.net_D, self.y = net_D, y_real

    def forward(self, x):
        return self.net_D(x, self.y)


# -------------------------------------------------------------------- InfoGAN
class InfoGAN(UpdateRule):
    """InfoGAN (Chen et al.): latent codes c next to the noise z, and a term
    that makes c recoverable from G(z, c).

    The generator's input is ``cat([z, one-hot codes..., continuous codes])``:
    one one-hot block per entry of ``categorical`` (its number of values) and
    ``continuous`` codes drawn uniformly from [-1, 1]. ``net_D(x)`` must
    return a pair ``(logits, q)`` where ``q`` has :attr:`q_dim` columns: the
    logits of each categorical code, then a mean and a log standard deviation
    for each continuous code (see :class:`course_utils.models.SharedBodyDQ`).

    The information loss L_I is the cross-entropy of the categorical codes
    (weight ``weight_cat``) plus the Gaussian negative log-likelihood of the
    continuous ones (weight ``weight_cont``); minimising it maximises the
    variational lower bound of I(c; G(z, c)). The generator minimises its own
    loss plus L_I. Who else learns from L_I is ``q_update``:

    * ``"head"``: an optimiser of Q's own steps the Q head (``net_D.q_head``)
      on L_I; the shared body learns from D's loss alone;
    * ``"head_and_body"`` (the default): Q's optimiser steps the head and the
      shared body (``net_D.body``), so the body takes two optimiser steps per
      iteration, D's and Q's;
    * ``"with_D"`` (the form of Chen et al.'s code): no optimiser for Q; L_I
      on D's generated batch is added to D's loss, and D's one optimiser, which
      must hold the Q head too, steps body, D head and Q head together.

    Q's optimiser is made afresh for every run by ``q_optimizer(params)``
    (default: Adam at the generator's learning rate, betas (0.5, 0.999)).
    ``loss_Q`` is logged on its own, ``loss_G`` without it.
    """

    Q_UPDATES = ("head", "head_and_body", "with_D")

    def __init__(
        self,
        categorical: Sequence[int] = (10,),
        continuous: int = 0,
        loss="nonsaturating",
        weight_cat: float = 1.0,
        weight_cont: float = 0.1,
        q_update: str = "head_and_body",
        q_optimizer: Optional[Callable] = None,
    ):
        if q_update not in self.Q_UPDATES:
            raise ValueError(f"q_update must be one of {self.Q_UPDATES}, got {q_update!r}")
        if q_optimizer is not None and (q_update == "with_D" or not callable(q_optimizer)):
            raise ValueError("q_optimizer is a function params -> optimizer, for "
                             "q_update 'head' or 'head_and_body' (with_D uses D's)")
        self.q_update, self.q_optimizer = q_update, q_optimizer
        self.categorical = tuple(categorical)
        for size in self.categorical:
            _check_int("each categorical code's size", size, 2)
        _check_int("continuous", continuous, 0)
        if not self.categorical and continuous == 0:
            raise ValueError("give at least one categorical or continuous code")
        for name, w in (("weight_cat", weight_cat), ("weight_cont", weight_cont)):
            if isinstance(w, bool) or not isinstance(w, (int, float)) or w < 0:
                raise ValueError(f"{name} must be a number >= 0, got {w!r}")
        self.continuous, self.loss = continuous, _losses.get(loss)
        self.weight_cat, self.weight_cont = weight_cat, weight_cont

    @property
    def code_dim(self) -> int:
        """How many columns the codes add to the generator's input."""
        return sum(self.categorical) + self.continuous

    @property
    def q_dim(self) -> int:
        """How many columns Q must output."""
        return sum(self.categorical) + 2 * self.continuous

    def describe(self) -> str:
        return (f"InfoGAN(categorical={list(self.categorical)}, "
                f"continuous={self.continuous}, loss={self.loss.name})")

    def sample_codes(self, n: int, device=None, generator=None):
        """Draw codes: returns (the code block for G's input, a list of index
        tensors, one per categorical code, and the continuous codes (n, c))."""
        indices = [
            torch.randint(size, (n,), device=device, generator=generator)
            for size in self.categorical
        ]
        cont = 2 * torch.rand(n, self.continuous, device=device, generator=generator) - 1
        blocks = [F.one_hot(i, size).float() for i, size in zip(indices, self.categorical)]
        return torch.cat(blocks + [cont], dim=1), indices, cont

    def info_loss(self, q: torch.Tensor, indices, cont: torch.Tensor):
        """(categorical cross-entropy, continuous Gaussian NLL), each a mean over
        the batch and summed over the codes of its kind."""
        if q.dim() != 2 or q.shape[1] != self.q_dim:
            raise ValueError(
                f"Q must output (N, {self.q_dim}) values (the logits of each "
                f"categorical code, then a mean and a log std per continuous code), "
                f"got {tuple(q.shape)}"
            )
        zero = q.new_zeros(())
        cat_loss, start = zero, 0
        for idx, size in zip(indices, self.categorical):
            cat_loss = cat_loss + F.cross_entropy(q[:, start : start + size], idx)
            start += size
        cont_loss = zero
        if self.continuous:
            mean = q[:, start : start + self.continuous]
            log_std = q[:, start + self.continuous :].clamp(-5.0, 5.0)
            nll = 0.5 * ((cont - mean) / log_std.exp()) ** 2 + log_std
            cont_loss = (nll + 0.5 * torch.log(torch.tensor(2 * torch.pi))).sum(1).mean()
        return cat_loss, cont_loss

    def setup(self, ctx) -> dict:
        """This run's state: Q's optimiser and parameters (none with with_D)
        and the generator's parameters."""
        state = {"g_params": [p for p in ctx.net_G.parameters() if p.requires_grad],
                 "q_params": [], "opt_Q": None}
        body, head = (getattr(ctx.net_D, name, None) for name in ("body", "q_head"))
        if self.q_update == "with_D":
            in_D = {id(p) for g in ctx.opt_D.param_groups for p in g["params"]}
            if head is not None and any(id(p) not in in_D for p in head.parameters()):
                raise ValueError("q_update='with_D': opt_D must hold the Q head's "
                                 "parameters")
            return state
        if head is None or (body is None and self.q_update == "head_and_body"):
            raise ValueError(f"q_update={self.q_update!r} needs a net_D with .q_head "
                             "and .body (models.SharedBodyDQ)")
        params = list(head.parameters())
        if self.q_update == "head_and_body":
            params += list(body.parameters())
        if self.q_optimizer is None:
            lr = ctx.opt_G.param_groups[0]["lr"]
            state["opt_Q"] = torch.optim.Adam(params, lr=lr, betas=(0.5, 0.999))
        else:
            state["opt_Q"] = self.q_optimizer(params)
        state["q_params"] = [p for g in state["opt_Q"].param_groups for p in g["params"]]
        return state

    def generator_input(self, z: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        return torch.cat([z, codes], dim=1)

    def _scores(self, net_D, x):
        out = net_D(x)
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise TypeError(
                "for InfoGAN, net_D(x) must return (logits, q): D's score and Q's "
                "output from the shared body (see models.SharedBodyDQ)"
            )
        return out

    def step(self, ctx, state) -> dict:
        gan_loss, logged = self.loss, {}
        net_G, net_D, n = ctx.net_G, ctx.net_D, ctx.batch_size
        X = ctx.real(n)
        codes, d_indices, d_cont = self.sample_codes(X.shape[0], ctx.device)
        with torch.no_grad():
            fake_X = net_G(self.generator_input(ctx.noise(X.shape[0]), codes))
        real_out, _ = self._scores(net_D, X)
        fake_out, q_fake = self._scores(net_D, fake_X)
        info_D = None
        if self.q_update == "with_D":  # one optimiser on D's loss minus λ·L_I
            cat_d, cont_d = self.info_loss(q_fake, d_indices, d_cont)
            info_D = self.weight_cat * cat_d + self.weight_cont * cont_d
        _d_update(ctx, gan_loss, real_out, fake_out, X, fake_X, logged,
                  net_D=_FirstOutput(net_D), extra=info_D)

        codes, indices, cont = self.sample_codes(n, ctx.device)
        fake = net_G(self.generator_input(ctx.noise(n), codes))
        logits, q = self._scores(net_D, fake)
        loss_G = gan_loss.g_loss(logits)
        cat_loss, cont_loss = self.info_loss(q, indices, cont)
        loss_Q = self.weight_cat * cat_loss + self.weight_cont * cont_loss
        # Q's optimiser (if any) learns from the information loss alone (with
        # q_update="with_D" Q learnt in D's step); G from its own loss plus it.
        q_params, opt_Q = state["q_params"], state["opt_Q"]
        if q_params:
            q_grads = torch.autograd.grad(loss_Q, q_params, retain_graph=True,
                                          allow_unused=True)
        ctx.opt_G.zero_grad(set_to_none=True)
        (loss_G + loss_Q).backward(inputs=state["g_params"])
        ctx.opt_G.step()
        if q_params:
            opt_Q.zero_grad(set_to_none=True)
            for p, g in zip(q_params, q_grads):
                p.grad = g
            opt_Q.step()
        logged["loss_G"] = ctx.finite(loss_G, "loss_G")
        logged["loss_Q"] = ctx.finite(loss_Q, "loss_Q")
        if self.categorical:
            logged["loss_Q_categorical"] = cat_loss.item()
        if self.continuous:
            logged["loss_Q_continuous"] = cont_loss.item()
        _log_probabilities(gan_loss, real_out, fake_out, logged)
        return logged


class _FirstOutput(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x)[0]


# ------------------------------------------------------------------- unrolled
class Unrolled(UpdateRule):
    """The unrolled GAN (Metz et al.): G's loss is taken against D advanced
    ``unroll_steps`` further differentiable steps, so G is scored by how D
    would react to it, not only by D as it is.

    One iteration: a plain discriminator step (the only update of the real
    D); then a copy of D's weights takes ``unroll_steps`` gradient-descent
    steps of size ``unroll_lr`` (default: D's current learning rate, so a
    learning-rate schedule applies to the look-ahead too) on fresh real and
    fake batches, keeping the graph (``torch.func.functional_call``), and G
    minimises its loss against that copy, backpropagating through the
    unrolled steps. Costs about ``unroll_steps + 1`` times a plain step.

    ``unroll_optimizer="sgd"`` (the default) takes plain gradient steps in the
    look-ahead, a surrogate of D's real training. ``"adam"`` unrolls the
    optimiser D actually uses: ``ctx.opt_D`` must be ``torch.optim.Adam``;
    the copy starts from its moment estimates and step count and uses its
    betas, eps and (unless ``unroll_lr`` is given) its current learning rate.
    """

    def __init__(self, loss="nonsaturating", unroll_steps: int = 5,
                 unroll_lr: Optional[float] = None, unroll_optimizer: str = "sgd"):
        _check_int("unroll_steps", unroll_steps, 0)
        if unroll_lr is not None and not (isinstance(unroll_lr, (int, float))
                                          and unroll_lr > 0):
            raise ValueError(f"unroll_lr must be a number > 0, got {unroll_lr!r}")
        if unroll_optimizer not in ("sgd", "adam"):
            raise ValueError("unroll_optimizer must be 'sgd' or 'adam', "
                             f"got {unroll_optimizer!r}")
        self.loss, self.unroll_steps, self.unroll_lr = _losses.get(loss), unroll_steps, unroll_lr
        self.unroll_optimizer = unroll_optimizer
        self.real_batches = 1 + unroll_steps

    def describe(self) -> str:
        return (f"Unrolled(loss={self.loss.name}, unroll_steps={self.unroll_steps}, "
                f"unroll_optimizer={self.unroll_optimizer})")

    def setup(self, ctx) -> None:
        """Checks that the loss family and D's optimiser suit the look-ahead
        (no per-run state: the step size is ``unroll_lr`` or D's current rate)."""
        if self.loss.penalty is not None or self.loss.after_d_step is not None:
            raise ValueError("Unrolled supports loss families without a penalty or clipping")
        if self.unroll_optimizer == "adam":
            group = ctx.opt_D.param_groups[0]
            plain = (isinstance(ctx.opt_D, torch.optim.Adam)
                     and len(ctx.opt_D.param_groups) == 1
                     and not (group.get("weight_decay") or group.get("amsgrad")
                              or group.get("maximize")))
            if not plain:
                raise ValueError("unroll_optimizer='adam' needs opt_D to be plain "
                                 "torch.optim.Adam with one parameter group")

    def _adam_lookahead(self, ctx, lr):
        """The moments of opt_D, per parameter of D, and a function that
        advances (params, moments) by one Adam step of size ``lr`` given the
        gradients."""
        group = ctx.opt_D.param_groups[0]
        (beta1, beta2), eps = group["betas"], group["eps"]
        moments = {}
        for name, p in ctx.net_D.named_parameters():
            kept = ctx.opt_D.state.get(p, {})
            moments[name] = (kept["exp_avg"].detach(), kept["exp_avg_sq"].detach(),
                             float(kept["step"])) if kept else (
                torch.zeros_like(p), torch.zeros_like(p), 0.0)

        def advance(params, moments, grads):
            new_params, new_moments = {}, {}
            for (name, p), g in zip(params.items(), grads):
                m, v, t = moments[name]
                m = beta1 * m + (1 - beta1) * g
                v, t = beta2 * v + (1 - beta2) * g * g, t + 1
                # sqrt has an infinite slope at 0 (a unit whose gradients are all 0):
                # take its value there as 0 and its slope as 0, not nan
                v_hat = v / (1 - beta2 ** t)
                positive = v_hat > 0
                root = torch.where(positive, v_hat, 1.0).sqrt()
                root = torch.where(positive, root, 0.0)
                denom = root + eps
                new_params[name] = p - lr * (m / (1 - beta1 ** t)) / denom
                new_moments[name] = (m, v, t)
            return new_params, new_moments

        return moments, advance

    def step(self, ctx, state=None) -> dict:
        gan_loss, logged = self.loss, {}
        net_G, net_D, n = ctx.net_G, ctx.net_D, ctx.batch_size
        X = ctx.real(n)
        with torch.no_grad():
            fake_X = net_G(ctx.noise(X.shape[0]))
        real_out, fake_out = net_D(X), net_D(fake_X)
        _d_update(ctx, gan_loss, real_out, fake_out, X, fake_X, logged)

        # A differentiable copy of D's weights, advanced unroll_steps steps.
        lr = self.unroll_lr if self.unroll_lr is not None else ctx.opt_D.param_groups[0]["lr"]
        params = {name: p.detach().requires_grad_(True)
                  for name, p in net_D.named_parameters()}
        if self.unroll_optimizer == "adam":
            moments, advance = self._adam_lookahead(ctx, lr)
        for _ in range(self.unroll_steps):
            X_u = ctx.real(n)
            fake_u = net_G(ctx.noise(X_u.shape[0]))  # keeps G's graph
            loss_u = gan_loss.d_loss(functional_call(net_D, params, (X_u,)),
                                     functional_call(net_D, params, (fake_u,)))
            grads = torch.autograd.grad(loss_u, list(params.values()), create_graph=True)
            if self.unroll_optimizer == "adam":
                params, moments = advance(params, moments, grads)
            else:
                params = {name: p - lr * g
                          for (name, p), g in zip(params.items(), grads)}
        fake = net_G(ctx.noise(n))
        loss_G = gan_loss.g_loss(functional_call(net_D, params, (fake,)))
        ctx.opt_G.zero_grad(set_to_none=True)
        loss_G.backward(inputs=[p for p in net_G.parameters() if p.requires_grad])
        ctx.opt_G.step()
        logged["loss_G"] = ctx.finite(loss_G, "loss_G")
        _log_probabilities(gan_loss, real_out, fake_out, logged)
        return logged


# --------------------------------------------------------------------- packing
def pack(x: torch.Tensor, m: int) -> torch.Tensor:
    """Pack groups of ``m`` consecutive samples into one input of D.

    (N, F) becomes (N / m, m F): samples 0..m-1 side by side, then m..2m-1,
    and so on; images (N, C, H, W) become (N / m, m C, H, W). N must be a
    multiple of m.
    """
    _check_int("m", m)
    if x.dim() < 2:
        raise ValueError(f"expected a batch of shape (N, features...), got {tuple(x.shape)}")
    if x.shape[0] % m:
        raise ValueError(f"the batch size {x.shape[0]} is not a multiple of m = {m}")
    return x.reshape(x.shape[0] // m, m * x.shape[1], *x.shape[2:])


class Packed(UpdateRule):
    """PacGAN (Lin et al.): D scores ``pack`` samples at once, concatenated
    along the feature axis (:func:`pack`), all real or all fake. A generator
    that puts all its mass on few modes makes packs whose members look alike,
    which D can spot. D's input size must be ``pack`` times the data's.

    Each step draws ``batch_size * pack`` real samples and as many fakes, so D
    sees ``batch_size`` packs of each kind.
    """

    def __init__(self, loss="nonsaturating", pack: int = 2, k: int = 1):
        _check_int("pack", pack)
        _check_int("k (discriminator steps per generator step)", k)
        self.loss, self.m, self.k = _losses.get(loss), pack, k
        self.real_batches = k * pack

    def describe(self) -> str:
        return f"Packed(loss={self.loss.name}, pack={self.m}, k={self.k})"

    def step(self, ctx, state=None) -> dict:
        gan_loss, logged, m = self.loss, {}, self.m
        net_G, net_D, n = ctx.net_G, ctx.net_D, ctx.batch_size * self.m
        for _ in range(self.k):
            X = ctx.real(n)
            X = X[: X.shape[0] - X.shape[0] % m]
            if X.shape[0] == 0:
                X = ctx.real(n)
            with torch.no_grad():
                fake_X = net_G(ctx.noise(X.shape[0]))
            real_P, fake_P = pack(X, m), pack(fake_X, m)
            real_out, fake_out = net_D(real_P), net_D(fake_P)
            _d_update(ctx, gan_loss, real_out, fake_out, real_P, fake_P, logged)
        fake = net_G(ctx.noise(n))
        logged["loss_G"] = _g_update(ctx, gan_loss.g_loss(net_D(pack(fake, m))))
        _log_probabilities(gan_loss, real_out, fake_out, logged)
        return logged


# ------------------------------------------------ matching-aware and AC-GAN
# Written for 05_conditional_and_infogan, Section 8: two other ways for a
# discriminator to use labels.
def mismatched_labels(y: torch.Tensor, num_classes: int, generator=None) -> torch.Tensor:
    """A wrong label for each entry of ``y``: uniform over the ``num_classes - 1``
    labels other than ``y`` itself, never equal to it. A random shift of 1 to
    ``num_classes - 1`` places, modulo ``num_classes``, does exactly that."""
    _check_int("num_classes", num_classes, 2)
    shift = torch.randint(1, num_classes, y.shape, device=y.device, generator=generator)
    return (y + shift) % num_classes


def _check_labels(y: torch.Tensor, num_classes: int) -> None:
    if y.min() < 0 or y.max() >= num_classes:
        raise ValueError(f"labels must lie in 0..{num_classes - 1}, found "
                         f"{int(y.min())}..{int(y.max())}")


class MatchingAware(Conditional):
    """The matching-aware discriminator of GAN-CLS (Reed et al. 2016, Algorithm 1).

    A conditional GAN whose D sees a third kind of pair: a real image with a
    wrong label (:func:`mismatched_labels`), to be called fake like a generated
    image with its own label. D's loss is the real term plus the fake term taken
    over both kinds of negative pooled, so each kind weighs 1/2 (Algorithm 1:
    log s_r + (log(1 - s_w) + log(1 - s_f)) / 2). The generator's step is the
    conditional GAN's. A gradient penalty, if the loss family has one, is taken
    between the real and the generated images, as in :class:`Conditional`.
    """

    def describe(self) -> str:
        return (f"MatchingAware(classes={self.num_classes}, loss={self.loss.name}, "
                f"k={self.k})")

    def step(self, ctx, state=None) -> dict:
        gan_loss, logged = self.loss, {}
        net_G, net_D = ctx.net_G, ctx.net_D
        for _ in range(self.k):
            X, y = ctx.real(ctx.batch_size)
            _check_labels(y, self.num_classes)
            y_fake = self.labels(X.shape[0], ctx.device)
            with torch.no_grad():
                fake_X = net_G(ctx.noise(X.shape[0]), y_fake)
            real_out, fake_out = net_D(X, y), net_D(fake_X, y_fake)
            wrong_out = net_D(X, mismatched_labels(y, self.num_classes))
            negatives = torch.cat([fake_out, wrong_out])  # equal halves: 1/2 each
            _d_update(ctx, gan_loss, real_out, negatives, X, fake_X, logged,
                      net_D=_WithLabels(net_D, y))
            logged["D_wrong"] = torch.sigmoid(wrong_out.detach()).mean().item() \
                if gan_loss.probability else wrong_out.detach().mean().item()
        y_fake = self.labels(ctx.batch_size, ctx.device)
        fake = net_G(ctx.noise(ctx.batch_size), y_fake)
        logged["loss_G"] = _g_update(ctx, gan_loss.g_loss(net_D(fake, y_fake)))
        _log_probabilities(gan_loss, real_out, fake_out, logged)
        return logged


class ACGAN(UpdateRule):
    """The auxiliary-classifier GAN (Odena et al. 2017): G(z, y), and a D that
    reads the image alone and returns ``1 + num_classes`` columns: a source
    logit (real or fake) and the logits of a classifier of the label.

    D minimises its loss family's loss on the source logit plus ``class_weight``
    times the classifier's cross-entropy on real images with their labels and
    (with ``classify_fakes``, the paper's form) on generated images with the
    labels they were made for. G minimises its loss on the source logit plus
    ``class_weight`` times the cross-entropy of its samples' asked labels. The
    classifier is InfoGAN's Q head trained on real labels too. ``loss_D`` and
    ``loss_G`` are logged without the class terms, which go to ``class_D`` and
    ``class_G``.
    """

    uses_labels = True

    def __init__(self, num_classes: int, loss="nonsaturating", class_weight: float = 1.0,
                 classify_fakes: bool = True):
        _check_int("num_classes", num_classes, 2)
        if isinstance(class_weight, bool) or not isinstance(class_weight, (int, float)) \
                or class_weight < 0:
            raise ValueError(f"class_weight must be a number >= 0, got {class_weight!r}")
        if not isinstance(classify_fakes, bool):
            raise ValueError(f"classify_fakes must be True or False, got "
                             f"{classify_fakes!r}")
        self.num_classes, self.loss = num_classes, _losses.get(loss)
        self.class_weight, self.classify_fakes = float(class_weight), classify_fakes

    def describe(self) -> str:
        return (f"ACGAN(classes={self.num_classes}, loss={self.loss.name}, "
                f"class_weight={self.class_weight:g}, fakes={self.classify_fakes})")

    def split(self, out: torch.Tensor):
        """(source logits (N, 1), class logits (N, num_classes)) from D's output."""
        if out.dim() != 2 or out.shape[1] != 1 + self.num_classes:
            raise ValueError(f"for AC-GAN, D must return (N, {1 + self.num_classes}) "
                             f"values (a source logit, then {self.num_classes} class "
                             f"logits), got {tuple(out.shape)}")
        return out[:, :1], out[:, 1:]

    def step(self, ctx, state=None) -> dict:
        gan_loss, logged, w = self.loss, {}, self.class_weight
        net_G, net_D, n = ctx.net_G, ctx.net_D, ctx.batch_size
        X, y = ctx.real(n)
        _check_labels(y, self.num_classes)
        y_fake = torch.randint(self.num_classes, (X.shape[0],), device=ctx.device)
        with torch.no_grad():
            fake_X = net_G(ctx.noise(X.shape[0]), y_fake)
        real_out, real_cls = self.split(net_D(X))
        fake_out, fake_cls = self.split(net_D(fake_X))
        class_D = F.cross_entropy(real_cls, y)
        if self.classify_fakes:
            class_D = class_D + F.cross_entropy(fake_cls, y_fake)
        _d_update(ctx, gan_loss, real_out, fake_out, X, fake_X, logged,
                  net_D=_SourceOnly(net_D), extra=w * class_D)
        logged["class_D"] = ctx.finite(class_D, "class_D")
        y_G = torch.randint(self.num_classes, (n,), device=ctx.device)
        source, classes = self.split(net_D(net_G(ctx.noise(n), y_G)))
        loss_G, class_G = gan_loss.g_loss(source), F.cross_entropy(classes, y_G)
        _g_update(ctx, loss_G + w * class_G)
        logged["loss_G"] = ctx.finite(loss_G, "loss_G")
        logged["class_G"] = ctx.finite(class_G, "class_G")
        _log_probabilities(gan_loss, real_out, fake_out, logged)
        return logged


class _SourceOnly(nn.Module):
    """AC-GAN's D reduced to its source logit, for a gradient penalty."""

    def __init__(self, net_D):
        super().__init__()
        self.net_D = net_D

    def forward(self, x):
        return self.net_D(x)[:, :1]


__all__ += ["mismatched_labels", "MatchingAware", "ACGAN"]
