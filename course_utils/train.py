"""The course's GAN training loop (introduced in 01_minimax_game).

:func:`train_gan` runs Goodfellow's Algorithm 1 with the pieces a notebook wants
to change passed in: the networks, the optimisers, the loss family (by name or
as a :class:`course_utils.losses.GANLoss`), ``k`` discriminator steps per
generator step, metric callbacks and snapshots of samples from fixed noise. It
returns a :class:`History` of everything it logged.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Optional, Union

import torch
from torch import nn

from course_utils import losses as _losses

__all__ = ["train_gan", "History", "NonFiniteLossError", "RealSampler"]

RealSampler = Callable[[int], torch.Tensor]

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
class History:
    """What :func:`train_gan` logged. Every list in ``losses`` is per generator step."""

    steps: list = field(default_factory=list)
    loss_D: list = field(default_factory=list)
    loss_G: list = field(default_factory=list)
    D_real: list = field(default_factory=list)  # mean D(x) = sigmoid(logit)
    D_fake: list = field(default_factory=list)  # mean D(G(z)) before the G step
    metrics: dict = field(default_factory=dict)  # name -> list of (step, value)
    snapshots: list = field(default_factory=list)  # list of (step, samples)
    seconds: float = 0.0
    stopped_early: bool = False
    ema_G: Optional[nn.Module] = None

    def metric(self, name: str) -> tuple[list, list]:
        """The steps and values of metric ``name``."""
        if name not in self.metrics:
            raise KeyError(f"no metric {name!r}; logged: {sorted(self.metrics)}")
        pairs = self.metrics[name]
        return [s for s, _ in pairs], [v for _, v in pairs]


def _as_sampler(data, batch_size: int, device) -> tuple[RealSampler, Optional[int]]:
    """Turn a tensor of real data, or a sampler, into ``sample(n) -> batch``.

    A tensor is served in shuffled epochs (the last batch of an epoch may be
    smaller); a callable is called with the batch size for fresh samples.
    Returns the sampler and the number of batches per epoch (None for callables).
    """
    if callable(data) and not isinstance(data, torch.Tensor):
        return (lambda n: data(n).to(device)), None
    if isinstance(data, (tuple, list)):
        data = data[0]
    if not isinstance(data, torch.Tensor):
        raise TypeError(
            "data must be a tensor of real samples or a function n -> samples, "
            f"got {type(data).__name__}"
        )
    if data.shape[0] < 1:
        raise ValueError("data is empty")
    X_all = data.to(device)
    n_total = X_all.shape[0]
    state = {"perm": None, "pos": n_total}

    def sample(n: int) -> torch.Tensor:
        if state["pos"] >= n_total:
            state["perm"] = torch.randperm(n_total, device=device)
            state["pos"] = 0
        idx = state["perm"][state["pos"] : state["pos"] + n]
        state["pos"] += n
        return X_all[idx]

    return sample, math.ceil(n_total / batch_size)


def _check_finite(loss: torch.Tensor, which: str, step: int) -> float:
    value = loss.item()
    if not math.isfinite(value):
        raise NonFiniteLossError(which, value, step)
    return value


@torch.no_grad()
def _sample_in_eval(net: nn.Module, Z: torch.Tensor) -> torch.Tensor:
    was_training = net.training
    net.eval()
    out = net(Z).detach().cpu()
    net.train(was_training)
    return out


def train_gan(
    net_G: nn.Module,
    net_D: nn.Module,
    data: Union[torch.Tensor, RealSampler],
    *,
    latent_dim: Optional[int] = None,
    sample_Z: Optional[Callable[[int], torch.Tensor]] = None,
    loss: Union[str, _losses.GANLoss] = "nonsaturating",
    opt_G: Optional[torch.optim.Optimizer] = None,
    opt_D: Optional[torch.optim.Optimizer] = None,
    num_steps: Optional[int] = None,
    num_epochs: Optional[float] = None,
    max_seconds: Optional[float] = None,
    batch_size: int = 64,
    k: int = 1,
    fixed_Z: Optional[torch.Tensor] = None,
    snapshot_every: Optional[int] = None,
    callbacks: Optional[dict] = None,
    callback_every: int = 100,
    ema_decay: Optional[float] = None,
    reuse_fake: bool = False,
    device: Union[str, torch.device, None] = None,
    progress: bool = True,
    desc: str = "training",
) -> History:
    """Train ``net_G`` against ``net_D`` with alternating updates (Algorithm 1).

    Each generator step is preceded by ``k`` discriminator steps, each on a fresh
    real batch and a fresh noise batch. The length of training is ``num_steps``
    generator steps, or ``num_epochs`` passes over a data tensor, optionally cut
    short by ``max_seconds`` of wall time (then ``History.stopped_early``).

    ``data`` is a tensor of real samples (shuffled epochs) or a function
    ``n -> samples``. Noise comes from ``sample_Z(n)`` or ``randn(n, latent_dim)``.
    ``loss`` is a registered name (see :func:`course_utils.losses.available`) or
    a :class:`~course_utils.losses.GANLoss`. Optimisers default to Adam with
    lr 2e-4 and betas (0.5, 0.999). ``callbacks`` maps a metric name to
    ``fn(net_G, net_D, step) -> float``, run every ``callback_every`` generator
    steps and after the last one. With ``fixed_Z`` and ``snapshot_every``,
    ``net_G(fixed_Z)`` (in eval mode) is stored every ``snapshot_every`` steps,
    at step 0 and at the end. ``ema_decay`` keeps an exponential moving average
    of the generator's weights in ``History.ema_G``.

    ``reuse_fake=True`` saves one forward pass of ``net_G`` per step: the fake
    batch of the last discriminator step is made with gradients kept, and the
    generator step reuses it (scored by the updated discriminator) instead of
    drawing a new one, as the PyTorch DCGAN example does. Introduced in
    06_dcgan, where it buys about a tenth of the training time.

    Raises :class:`NonFiniteLossError`, naming the step, if a loss is NaN or
    infinite. Introduced in 01_minimax_game.
    """
    gan_loss = _losses.get(loss)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(
            f"k (discriminator steps per generator step) must be an int >= 1, got {k!r}"
        )
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, int)
        or batch_size < 1
    ):
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    if sample_Z is None:
        if latent_dim is None:
            raise ValueError("give latent_dim (for Gaussian noise) or sample_Z")
        if (
            isinstance(latent_dim, bool)
            or not isinstance(latent_dim, int)
            or latent_dim < 1
        ):
            raise ValueError(f"latent_dim must be an int >= 1, got {latent_dim!r}")
    if ema_decay is not None and not 0.0 < ema_decay < 1.0:
        raise ValueError(f"ema_decay must be in (0, 1), got {ema_decay!r}")
    if not isinstance(reuse_fake, bool):
        raise ValueError(f"reuse_fake must be True or False, got {reuse_fake!r}")
    if callback_every < 1:
        raise ValueError(f"callback_every must be >= 1, got {callback_every!r}")
    if snapshot_every is not None and fixed_Z is None:
        raise ValueError("snapshot_every needs fixed_Z, the noise to draw samples from")

    device = torch.device(device) if device is not None else _module_device(net_G)
    net_G.to(device)
    net_D.to(device)
    sample_real, batches_per_epoch = _as_sampler(data, batch_size, device)
    if sample_Z is None:

        def sample_Z(n, _d=latent_dim):
            return torch.randn(n, _d, device=device)

    if num_steps is None:
        if num_epochs is None:
            raise ValueError("give num_steps or num_epochs")
        if batches_per_epoch is None:
            raise ValueError(
                "num_epochs needs data as a tensor; give num_steps instead"
            )
        num_steps = max(1, int(num_epochs * batches_per_epoch / k))
    if isinstance(num_steps, bool) or not isinstance(num_steps, int) or num_steps < 1:
        raise ValueError(f"num_steps must be an int >= 1, got {num_steps!r}")

    if opt_G is None:
        opt_G = torch.optim.Adam(net_G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    if opt_D is None:
        opt_D = torch.optim.Adam(net_D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    if fixed_Z is not None:
        fixed_Z = fixed_Z.to(device)

    history = History()
    callbacks = dict(callbacks or {})
    for name in callbacks:
        history.metrics[name] = []
    ema_G = None
    if ema_decay is not None:
        ema_G = copy.deepcopy(net_G).eval()
        for p in ema_G.parameters():
            p.requires_grad_(False)

    def run_callbacks(step):
        for name, fn in callbacks.items():
            value = fn(net_G, net_D, step)
            history.metrics[name].append((step, float(value)))

    if fixed_Z is not None and snapshot_every:
        history.snapshots.append((0, _sample_in_eval(net_G, fixed_Z)))

    bar = _progress_bar(num_steps, desc) if progress else None
    start = time.perf_counter()
    net_G.train()
    net_D.train()
    step = 0
    try:
        for step in range(1, num_steps + 1):
            for i in range(k):
                X = sample_real(batch_size)
                if reuse_fake and i == k - 1:
                    fake_for_G = net_G(sample_Z(batch_size))
                    fake_X = fake_for_G.detach()
                else:
                    with torch.no_grad():
                        fake_X = net_G(sample_Z(X.shape[0]))
                real_out = net_D(X)
                fake_out = net_D(fake_X)
                loss_D = gan_loss.d_loss(real_out, fake_out)
                if gan_loss.penalty is not None:
                    loss_D = loss_D + gan_loss.penalty(net_D, X, fake_X)
                opt_D.zero_grad(set_to_none=True)
                loss_D.backward()
                opt_D.step()
                if gan_loss.after_d_step is not None:
                    gan_loss.after_d_step(net_D)
            value_D = _check_finite(loss_D, "loss_D", step)

            if not reuse_fake:
                fake_for_G = net_G(sample_Z(batch_size))
            fake_out_G = net_D(fake_for_G)
            loss_G = gan_loss.g_loss(fake_out_G)
            opt_G.zero_grad(set_to_none=True)
            loss_G.backward()
            opt_G.step()
            value_G = _check_finite(loss_G, "loss_G", step)
            if ema_G is not None:
                _ema_update(ema_G, net_G, ema_decay)

            history.steps.append(step)
            history.loss_D.append(value_D)
            history.loss_G.append(value_G)
            if gan_loss.probability:
                history.D_real.append(torch.sigmoid(real_out.detach()).mean().item())
                history.D_fake.append(torch.sigmoid(fake_out.detach()).mean().item())

            if callbacks and step % callback_every == 0:
                run_callbacks(step)
            if fixed_Z is not None and snapshot_every and step % snapshot_every == 0:
                history.snapshots.append((step, _sample_in_eval(net_G, fixed_Z)))
            if bar is not None:
                bar.update(1)
                if step % 50 == 0:
                    bar.set_postfix(loss_D=f"{value_D:.3f}", loss_G=f"{value_G:.3f}")
            if max_seconds is not None and time.perf_counter() - start > max_seconds:
                history.stopped_early = step < num_steps
                break
    finally:
        if bar is not None:
            bar.close()
    history.seconds = time.perf_counter() - start
    if callbacks and (not history.steps or step % callback_every != 0):
        run_callbacks(step)
    if fixed_Z is not None and snapshot_every and step % snapshot_every != 0:
        history.snapshots.append((step, _sample_in_eval(net_G, fixed_Z)))
    history.ema_G = ema_G
    return history


def _module_device(net: nn.Module) -> torch.device:
    for p in net.parameters():
        return p.device
    return torch.device("cpu")


@torch.no_grad()
def _ema_update(ema: nn.Module, net: nn.Module, decay: float) -> None:
    for p_ema, p in zip(ema.parameters(), net.parameters()):
        p_ema.lerp_(p, 1.0 - decay)
    for b_ema, b in zip(ema.buffers(), net.buffers()):
        b_ema.copy_(b)


def _progress_bar(total: int, desc: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="step", mininterval=0.5, leave=True)
