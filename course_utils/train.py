"""The course's GAN training engine (introduced in 01_minimax_game).

:func:`train_gan` is one short loop for every GAN of the course. It owns what
every run shares: counting steps and epochs, the progress bar, timing, a
learning-rate schedule, snapshots of samples from fixed noise, metric
callbacks, the moving average of the generator's weights and the check that
no loss became NaN or infinite. What one iteration does is an *update rule*
from :mod:`course_utils.updates`: alternating updates with ``k``
discriminator steps (Goodfellow's Algorithm 1, the default), conditional
models, InfoGAN, unrolled GANs, packed discriminators. The loss family
(minimax, non-saturating, least squares, hinge, WGAN with clipping or a
gradient penalty) is a :class:`course_utils.losses.GANLoss` that the rule
uses. The loop returns a :class:`History` of everything it logged.
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

from course_utils import updates as _updates
from course_utils.updates import Context, NonFiniteLossError  # the rules' contract
from course_utils.utils import eval_mode

__all__ = [
    "train_gan",
    "step_decay",
    "History",
    "Context",
    "NonFiniteLossError",
    "RealSampler",
    "make_sampler",
]

RealSampler = Callable[[int], torch.Tensor]

# Seed of the random generator that metric callbacks see (offset by the step).
CALLBACK_SEED = 1_234_567


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

    def record(self, step: int, logged: dict) -> None:
        """Append one generator step's logged values."""
        self.steps.append(step)
        for name, value in logged.items():
            if name in ("loss_D", "loss_G", "D_real", "D_fake"):
                getattr(self, name).append(value)
            else:
                self.logs.setdefault(name, []).append(value)

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


# ------------------------------------------------------------------ helpers
def _check_int(name: str, value, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")


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


def _module_device(net: nn.Module) -> torch.device:
    for p in net.parameters():
        return p.device
    return torch.device("cpu")


def step_decay(at: int, factor: float = 0.1) -> Callable[[int], float]:
    """A learning-rate schedule for :func:`train_gan`: the optimisers' own rates
    up to generator step ``at`` (0: from the start), then ``factor`` times them."""
    _check_int("at", at, 0)
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or factor <= 0:
        raise ValueError(f"factor must be a number > 0, got {factor!r}")
    return lambda step: 1.0 if step <= at else float(factor)


class _Schedule:
    """Sets every parameter group's rate to its rate at the start of the run
    times ``schedule(step)``, and puts the start rates back at the end."""

    def __init__(self, schedule, *optimizers):
        if schedule is not None and not callable(schedule):
            raise TypeError("schedule must be a function step -> factor of the "
                            "learning rates (see train.step_decay)")
        self.schedule = schedule
        self.groups = [g for opt in optimizers for g in opt.param_groups]
        self.base = [g["lr"] for g in self.groups]

    def apply(self, step: int) -> None:
        if self.schedule is not None:
            factor = self.schedule(step)
            for group, lr in zip(self.groups, self.base):
                group["lr"] = lr * factor

    def restore(self) -> None:
        for group, lr in zip(self.groups, self.base):
            group["lr"] = lr


class _Observers:
    """What the loop records besides the losses: metric callbacks (run in eval
    mode, without gradients and with a random generator of their own),
    snapshots from fixed inputs, and the moving average of G's weights."""

    def __init__(self, history, rule, net_G, net_D, device, callbacks, every,
                 fixed_Z, snapshot_every, ema_decay, ema_callbacks):
        self.history, self.rule, self.net_G, self.net_D = history, rule, net_G, net_D
        self.device, self.callbacks, self.every = device, dict(callbacks or {}), every
        self.fixed_Z, self.snapshot_every, self.ema_decay = fixed_Z, snapshot_every, ema_decay
        self.ema_G = None
        if ema_decay is not None:
            self.ema_G = copy.deepcopy(net_G).eval().requires_grad_(False)
        # (suffix of the metric's name, generator the callback sees)
        self.targets = [("", net_G)] + ([(" (EMA)", self.ema_G)] if ema_callbacks else [])
        for name in self.callbacks:
            for suffix, _ in self.targets:
                history.metrics[name + suffix] = []
        self.snapshots_on = fixed_Z is not None and bool(snapshot_every)
        if self.snapshots_on:
            self.snapshot(0)

    def snapshot(self, step):
        self.history.snapshots.append((step, self.rule.generate(self.net_G, self.fixed_Z)))

    def run_callbacks(self, step):
        fork_devices = [self.device] if self.device.type == "cuda" else []
        for name, fn in self.callbacks.items():
            for suffix, generator in self.targets:
                with torch.random.fork_rng(devices=fork_devices):
                    torch.manual_seed(CALLBACK_SEED + step)
                    with torch.no_grad(), eval_mode(generator, self.net_D):
                        value = fn(generator, self.net_D, step)
                self.history.metrics[name + suffix].append((step, _plain_value(value)))

    def after_step(self, step: int, logged: dict) -> None:
        if self.ema_G is not None:
            _ema_update(self.ema_G, self.net_G, self.ema_decay)
        self.history.record(step, logged)
        if self.callbacks and step % self.every == 0:
            self.run_callbacks(step)
        if self.snapshots_on and step % self.snapshot_every == 0:
            self.snapshot(step)

    def finish(self, step: int) -> None:
        """The last step's callbacks and snapshot, if the schedule missed it."""
        if self.callbacks and (not self.history.steps or step % self.every != 0):
            self.run_callbacks(step)
        if self.snapshots_on and step % self.snapshot_every != 0:
            self.snapshot(step)
        self.history.ema_G = self.ema_G


# ------------------------------------------------------------------ the loop
_RULE_SETTINGS = ("loss", "k", "reuse_fake")


def _check_arguments(rule, batch_size, latent_dim, sample_Z, ema_decay, ema_callbacks,
                     callbacks, callback_every, snapshot_every, fixed_Z, max_seconds,
                     unknown):
    moved = sorted(set(unknown) & set(_RULE_SETTINGS))
    if moved:
        raise TypeError(
            f"{', '.join(moved)} belong to the update rule, not to train_gan: pass "
            "rule=updates.Alternating(loss, k=..., reuse_fake=...)"
        )
    if unknown:
        raise TypeError(f"train_gan got unexpected arguments: {sorted(unknown)}")
    if not isinstance(rule, _updates.UpdateRule):
        raise TypeError(f"rule must be an updates.UpdateRule, got {type(rule).__name__}")
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


def _count_steps(num_steps, num_epochs, batches_per_epoch, rule) -> int:
    if num_steps is None:
        if num_epochs is None:
            raise ValueError("give num_steps or num_epochs")
        if batches_per_epoch is None:
            raise ValueError("num_epochs needs data as a tensor; give num_steps instead")
        num_steps = max(1, int(num_epochs * batches_per_epoch / rule.real_batches))
    _check_int("num_steps", num_steps)
    return num_steps


def train_gan(
    net_G: nn.Module,
    net_D: nn.Module,
    data,
    *,
    rule: Optional[_updates.UpdateRule] = None,
    latent_dim: Optional[int] = None,
    sample_Z: Optional[Callable[[int], torch.Tensor]] = None,
    opt_G: Optional[torch.optim.Optimizer] = None,
    opt_D: Optional[torch.optim.Optimizer] = None,
    num_steps: Optional[int] = None,
    num_epochs: Optional[float] = None,
    batch_size: int = 64,
    schedule: Optional[Callable[[int], float]] = None,
    fixed_Z=None,
    snapshot_every: Optional[int] = None,
    callbacks: Optional[dict] = None,
    callback_every: int = 100,
    ema_decay: Optional[float] = None,
    ema_callbacks: bool = False,
    max_seconds: Optional[float] = None,
    device: Union[str, torch.device, None] = None,
    progress: bool = True,
    desc: str = "training",
    **unknown,
) -> History:
    """Train ``net_G`` against ``net_D`` for a fixed number of generator steps.

    ``rule`` is the update rule of one iteration (see
    :mod:`course_utils.updates`); the default is ``updates.Alternating()``:
    one discriminator step on a fresh real and noise batch, then one generator
    step, with the non-saturating loss. The loss family, ``k`` and the reuse
    of fakes are the rule's settings: ``rule=updates.Alternating("lsgan",
    k=2)``. One rule object can train any number of network pairs: its
    per-run state is made afresh by ``rule.setup`` for each run.

    The length of training is ``num_steps`` generator steps, or ``num_epochs``
    passes over a data tensor. ``schedule(step)`` (see :func:`step_decay`)
    multiplies every optimiser's learning rates, as they were at the start,
    before each generator step; the start rates are put back at the end.
    ``max_seconds`` (off by default) cuts training short and sets
    ``History.stopped_early``; a run cut short depends on the machine's speed,
    so the course's notebooks leave it off.

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
    rule = _updates.Alternating() if rule is None else rule
    _check_arguments(rule, batch_size, latent_dim, sample_Z, ema_decay, ema_callbacks,
                     callbacks, callback_every, snapshot_every, fixed_Z, max_seconds,
                     unknown)
    device = torch.device(device) if device is not None else _module_device(net_G)
    net_G.to(device)
    net_D.to(device)
    real, per_epoch = make_sampler(data, batch_size, device, labels=rule.uses_labels)
    num_steps = _count_steps(num_steps, num_epochs, per_epoch, rule)
    if sample_Z is None:
        def sample_Z(n, _d=latent_dim):
            return torch.randn(n, _d, device=device)
    adam = dict(lr=2e-4, betas=(0.5, 0.999))
    opt_G = torch.optim.Adam(net_G.parameters(), **adam) if opt_G is None else opt_G
    opt_D = torch.optim.Adam(net_D.parameters(), **adam) if opt_D is None else opt_D
    fixed_Z = None if fixed_Z is None else _to_device(fixed_Z, device)

    ctx = Context(net_G, net_D, opt_G, opt_D, batch_size, device, real, sample_Z)
    state = rule.setup(ctx)
    history = History(rule=rule.describe())
    observers = _Observers(history, rule, net_G, net_D, device, callbacks,
                           callback_every, fixed_Z, snapshot_every, ema_decay,
                           ema_callbacks)
    rates = _Schedule(schedule, opt_G, opt_D)
    bar = _progress_bar(num_steps, desc) if progress else None
    start, step = time.perf_counter(), 0
    net_G.train()
    net_D.train()
    try:
        for step in range(1, num_steps + 1):
            ctx.step = step
            rates.apply(step)
            logged = rule.step(ctx, state)
            observers.after_step(step, logged)
            if bar is not None:
                _show(bar, step, logged)
            if max_seconds is not None and time.perf_counter() - start > max_seconds:
                history.stopped_early = step < num_steps
                break
    finally:
        rates.restore()
        if bar is not None:
            bar.close()
    history.seconds = time.perf_counter() - start
    observers.finish(step)
    return history


@torch.no_grad()
def _ema_update(ema: nn.Module, net: nn.Module, decay: float) -> None:
    for p_ema, p in zip(ema.parameters(), net.parameters()):
        p_ema.lerp_(p, 1.0 - decay)
    for b_ema, b in zip(ema.buffers(), net.buffers()):
        b_ema.copy_(b)


def _progress_bar(total: int, desc: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="step", mininterval=0.5, leave=True)


def _show(bar, step: int, logged: dict) -> None:
    bar.update(1)
    if step % 50 == 0:
        bar.set_postfix({n: f"{v:.3f}" for n, v in logged.items() if n.startswith("loss")})
