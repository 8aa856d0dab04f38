"""The course's GAN training engine (introduced in 01_minimax_game).

:func:`train_gan` is one driver loop for every GAN of the course. It owns what
every run shares: counting steps and epochs, the progress bar, timing,
snapshots of samples from fixed noise, metric callbacks, the moving average of
the generator's weights and the check that no loss became NaN or infinite.
What one iteration does is an *update rule* from :mod:`course_utils.updates`:
alternating updates with ``k`` discriminator steps (Goodfellow's Algorithm 1,
the default), conditional models, InfoGAN, unrolled GANs, packed
discriminators. The loss family (minimax, non-saturating, least squares,
hinge, WGAN with clipping or a gradient penalty) is a
:class:`course_utils.losses.GANLoss` that the rule uses. The loop returns a
:class:`History` of everything it logged.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Optional, Union

import numpy as np
import torch
from torch import nn

from course_utils import losses as _losses

__all__ = [
    "train_gan",
    "History",
    "Context",
    "NonFiniteLossError",
    "RealSampler",
    "make_sampler",
]

RealSampler = Callable[[int], torch.Tensor]

_CAUSES = (
    "Usual causes: a learning rate that is too high; a Sigmoid at the end of D "
    "followed by a hand-written log (use logits and softplus / "
    "binary_cross_entropy_with_logits); data not scaled to the range the "
    "generator's output can reach; an exploding critic without clipping or a "
    "gradient penalty."
)

# Seed of the random generator that metric callbacks see (offset by the step).
CALLBACK_SEED = 1_234_567


class NonFiniteLossError(FloatingPointError):
    """Raised when a loss becomes NaN or infinite during training."""

    def __init__(self, which: str, value: float, step: int):
        self.which, self.value, self.step = which, value, step
        super().__init__(f"{which} became {value} at generator step {step}. {_CAUSES}")


@dataclass
class History:
    """What :func:`train_gan` logged. Every per-step list has one entry per
    generator step.

    ``loss_D`` is the discriminator's (or critic's) own loss, without any
    penalty; ``D_real`` and ``D_fake`` are mean sigmoid outputs (only for loss
    families whose output is a probability). Everything else a rule logs per
    step (``penalty``, ``critic_estimate``, ``loss_Q``, ...) is in ``logs``.
    ``metrics`` maps a callback's name to (step, value) pairs, the value a
    float or a NumPy array.
    """

    steps: list = field(default_factory=list)
    loss_D: list = field(default_factory=list)
    loss_G: list = field(default_factory=list)
    D_real: list = field(default_factory=list)  # mean D(x) = sigmoid(logit)
    D_fake: list = field(default_factory=list)  # mean D(G(z)) before the G step
    logs: dict = field(default_factory=dict)  # name -> list per generator step
    metrics: dict = field(default_factory=dict)  # name -> list of (step, value)
    snapshots: list = field(default_factory=list)  # list of (step, samples)
    seconds: float = 0.0
    stopped_early: bool = False
    ema_G: Optional[nn.Module] = None
    rule: str = ""

    def metric(self, name: str) -> tuple[list, list]:
        """The steps and values of metric ``name``."""
        if name not in self.metrics:
            raise KeyError(f"no metric {name!r}; logged: {sorted(self.metrics)}")
        pairs = self.metrics[name]
        return [s for s, _ in pairs], [v for _, v in pairs]

    def metric_array(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Steps and values of metric ``name`` stacked into arrays: for a metric
        that returns an array of shape S, the values have shape (T, *S)."""
        steps, values = self.metric(name)
        return np.asarray(steps), np.stack([np.asarray(v) for v in values])

    def log(self, name: str) -> list:
        """The per-step values of ``name`` (``loss_D``, ``penalty``, ...)."""
        if name in ("loss_D", "loss_G", "D_real", "D_fake"):
            return getattr(self, name)
        if name not in self.logs:
            raise KeyError(f"nothing logged as {name!r}; logged: {sorted(self.logs)}")
        return self.logs[name]


# ------------------------------------------------------------------ the data
def _is_pair(value) -> bool:
    return isinstance(value, (tuple, list)) and len(value) == 2


def make_sampler(data, batch_size: int, device, labels: bool = False):
    """Turn real data into ``sample(n) -> batch``.

    ``data`` is a tensor of samples, a pair ``(X, y)`` of samples and integer
    labels, or a function ``n -> X`` (or ``n -> (X, y)``) for fresh samples. A
    tensor or a pair is served in shuffled epochs (the last batch of an epoch
    may be smaller). With ``labels=True`` every batch is a pair ``(X, y)``;
    with ``labels=False`` data that carries labels is an error, never cut down
    silently. Returns the sampler and the number of batches per epoch (None
    for functions).
    """

    def wrong(got_labels: bool) -> TypeError:
        if got_labels:
            return TypeError(
                "the data carries labels (X, y), but this update rule does not use "
                "them: pass X alone, or train a conditional model with "
                "updates.Conditional"
            )
        return TypeError(
            "this update rule needs labelled data: pass (X, y), a tensor of samples "
            "and a tensor of integer labels, or a function n -> (X, y)"
        )

    if callable(data) and not isinstance(data, torch.Tensor):

        def sample_fn(n: int):
            out = data(n)
            if _is_pair(out) != labels:
                raise wrong(_is_pair(out))
            if labels:
                return out[0].to(device), out[1].to(device)
            return out.to(device)

        return sample_fn, None

    if _is_pair(data):
        if not labels:
            raise wrong(True)
        X_all, y_all = data
        if not isinstance(X_all, torch.Tensor) or not isinstance(y_all, torch.Tensor):
            raise TypeError("labelled data must be a pair of tensors (X, y)")
        if len(X_all) != len(y_all):
            raise ValueError(f"X has {len(X_all)} samples but y has {len(y_all)}")
        y_all = y_all.to(device)
    elif isinstance(data, torch.Tensor):
        if labels:
            raise wrong(False)
        X_all, y_all = data, None
    else:
        raise TypeError(
            "data must be a tensor of real samples, a pair (X, y) or a function "
            f"n -> samples, got {type(data).__name__}"
        )
    if X_all.shape[0] < 1:
        raise ValueError("data is empty")
    X_all = X_all.to(device)
    n_total = X_all.shape[0]
    state = {"perm": None, "pos": n_total}

    def sample(n: int):
        if state["pos"] >= n_total:
            state["perm"] = torch.randperm(n_total, device=device)
            state["pos"] = 0
        idx = state["perm"][state["pos"] : state["pos"] + n]
        state["pos"] += n
        if y_all is None:
            return X_all[idx]
        return X_all[idx], y_all[idx]

    return sample, math.ceil(n_total / batch_size)


# ------------------------------------------------------------ what rules see
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


# ------------------------------------------------------------------ helpers
def _check_int(name: str, value, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")


class _EvalMode:
    """Puts modules in eval mode, and puts each back as it was on exit."""

    def __init__(self, *modules: nn.Module):
        self.modules = modules

    def __enter__(self):
        self.was = [m.training for m in self.modules]
        for m in self.modules:
            m.eval()

    def __exit__(self, *exc):
        for m, was in zip(self.modules, self.was):
            m.train(was)


def _generate(net_G: nn.Module, fixed) -> torch.Tensor:
    with torch.no_grad(), _EvalMode(net_G):
        if isinstance(fixed, (tuple, list)):
            return net_G(*fixed).detach().cpu()
        return net_G(fixed).detach().cpu()


def _to_device(fixed, device):
    if isinstance(fixed, (tuple, list)):
        return tuple(t.to(device) for t in fixed)
    return fixed.to(device)


def _plain_value(value):
    """A callback's value as a float, or as a NumPy array for arrays."""
    if torch.is_tensor(value):
        value = value.detach().cpu().numpy()
    array = np.asarray(value, dtype=float)
    return float(array) if array.ndim == 0 else array


# ------------------------------------------------------------------ the loop
def train_gan(
    net_G: nn.Module,
    net_D: nn.Module,
    data,
    *,
    rule=None,
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
    fixed_Z=None,
    snapshot_every: Optional[int] = None,
    callbacks: Optional[dict] = None,
    callback_every: int = 100,
    ema_decay: Optional[float] = None,
    ema_callbacks: bool = False,
    reuse_fake: bool = False,
    device: Union[str, torch.device, None] = None,
    progress: bool = True,
    desc: str = "training",
) -> History:
    """Train ``net_G`` against ``net_D`` for a fixed number of generator steps.

    ``rule`` is the update rule of one iteration (see
    :mod:`course_utils.updates`). Without it, the loop runs alternating
    updates, ``updates.Alternating(loss, k=k, reuse_fake=reuse_fake)``: ``k``
    discriminator steps, each on a fresh real and noise batch, then one
    generator step. ``loss``, ``k`` and ``reuse_fake`` belong to that default
    and must be left alone when a rule is given.

    The length of training is ``num_steps`` generator steps, or ``num_epochs``
    passes over a data tensor. ``max_seconds`` (off by default) cuts it short
    and sets ``History.stopped_early``; a run cut short depends on the
    machine's speed, so the course's notebooks leave it off.

    ``data`` is a tensor of real samples (shuffled epochs), a pair ``(X, y)``
    of samples and labels for rules that use labels, or a function
    ``n -> samples``. Noise comes from ``sample_Z(n)`` or
    ``randn(n, latent_dim)``. Optimisers default to Adam with lr 2e-4 and
    betas (0.5, 0.999).

    ``callbacks`` maps a metric name to ``fn(net_G, net_D, step)``, returning a
    float or an array (a mode histogram, say), run every ``callback_every``
    generator steps and after the last one. Callbacks run without gradients,
    with both networks in eval mode, and with a random generator of their own
    (seeded from the step), so adding one never changes the training. With
    ``fixed_Z`` (a tensor, or a tuple of the generator's inputs such as noise
    and labels) and ``snapshot_every``, the generator's samples from it (in
    eval mode) are stored every ``snapshot_every`` steps, at step 0 and at the
    end. ``ema_decay`` keeps an exponential moving average of the generator's
    weights in ``History.ema_G``; with ``ema_callbacks`` every callback also
    runs on that average (passed as ``net_G``, its batch-norm statistics those
    of the live generator) and is logged as ``"<name> (EMA)"``.

    Raises :class:`NonFiniteLossError`, naming the loss and the step, if any
    loss of any discriminator or generator step is NaN or infinite.
    """
    from course_utils import updates as _updates

    if rule is None:
        rule = _updates.Alternating(loss, k=k, reuse_fake=reuse_fake)
    else:
        if not isinstance(rule, _updates.UpdateRule):
            raise TypeError(
                f"rule must be an updates.UpdateRule, got {type(rule).__name__}"
            )
        if loss != "nonsaturating" or k != 1 or reuse_fake:
            raise ValueError(
                "loss, k and reuse_fake configure the default rule; with rule=... "
                "give them to the rule instead"
            )
    _check_int("batch_size", batch_size)
    if sample_Z is None:
        if latent_dim is None:
            raise ValueError("give latent_dim (for Gaussian noise) or sample_Z")
        _check_int("latent_dim", latent_dim)
    if ema_decay is not None and not 0.0 < ema_decay < 1.0:
        raise ValueError(f"ema_decay must be in (0, 1), got {ema_decay!r}")
    if ema_callbacks and (ema_decay is None or not callbacks):
        raise ValueError("ema_callbacks needs ema_decay and callbacks to run on "
                         "the moving average")
    _check_int("callback_every", callback_every)
    if snapshot_every is not None and fixed_Z is None:
        raise ValueError("snapshot_every needs fixed_Z, the noise to draw samples from")
    if max_seconds is not None and not max_seconds > 0:
        raise ValueError(f"max_seconds must be > 0 or None, got {max_seconds!r}")

    device = torch.device(device) if device is not None else _module_device(net_G)
    net_G.to(device)
    net_D.to(device)
    sample_real, batches_per_epoch = make_sampler(
        data, batch_size, device, labels=rule.uses_labels
    )
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
        num_steps = max(1, int(num_epochs * batches_per_epoch / rule.real_batches))
    _check_int("num_steps", num_steps)

    if opt_G is None:
        opt_G = torch.optim.Adam(net_G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    if opt_D is None:
        opt_D = torch.optim.Adam(net_D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    if fixed_Z is not None:
        fixed_Z = _to_device(fixed_Z, device)

    ctx = Context(net_G, net_D, opt_G, opt_D, batch_size, device, sample_real, sample_Z)
    rule.setup(ctx)
    history = History(rule=rule.describe())
    callbacks = dict(callbacks or {})
    ema_G = None
    if ema_decay is not None:
        ema_G = copy.deepcopy(net_G).eval()
        for p in ema_G.parameters():
            p.requires_grad_(False)
    # (suffix of the metric's name, generator the callback sees)
    callback_targets = [("", net_G)] + ([(" (EMA)", ema_G)] if ema_callbacks else [])
    for name in callbacks:
        for suffix, _ in callback_targets:
            history.metrics[name + suffix] = []

    def run_callbacks(step):
        fork_devices = [device] if device.type == "cuda" else []
        for name, fn in callbacks.items():
            for suffix, generator in callback_targets:
                with torch.random.fork_rng(devices=fork_devices):
                    torch.manual_seed(CALLBACK_SEED + step)
                    with torch.no_grad(), _EvalMode(generator, net_D):
                        value = fn(generator, net_D, step)
                history.metrics[name + suffix].append((step, _plain_value(value)))

    def snapshot(step):
        history.snapshots.append((step, rule.generate(net_G, fixed_Z)))

    snapshots_on = fixed_Z is not None and bool(snapshot_every)
    if snapshots_on:
        snapshot(0)

    bar = _progress_bar(num_steps, desc) if progress else None
    start = time.perf_counter()
    net_G.train()
    net_D.train()
    step = 0
    try:
        for step in range(1, num_steps + 1):
            ctx.step = step
            logged = rule.step(ctx)
            if ema_G is not None:
                _ema_update(ema_G, net_G, ema_decay)

            history.steps.append(step)
            for name, value in logged.items():
                target = getattr(history, name, None)
                if name in ("loss_D", "loss_G", "D_real", "D_fake"):
                    target.append(value)
                else:
                    history.logs.setdefault(name, []).append(value)

            if callbacks and step % callback_every == 0:
                run_callbacks(step)
            if snapshots_on and step % snapshot_every == 0:
                snapshot(step)
            if bar is not None:
                bar.update(1)
                if step % 50 == 0:
                    bar.set_postfix(
                        {n: f"{v:.3f}" for n, v in logged.items() if n.startswith("loss")}
                    )
            if max_seconds is not None and time.perf_counter() - start > max_seconds:
                history.stopped_early = step < num_steps
                break
    finally:
        if bar is not None:
            bar.close()
    history.seconds = time.perf_counter() - start
    if callbacks and (not history.steps or step % callback_every != 0):
        run_callbacks(step)
    if snapshots_on and step % snapshot_every != 0:
        snapshot(step)
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
