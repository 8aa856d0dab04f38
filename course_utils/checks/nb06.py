"""Checkers for 06_dcgan."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from course_utils.checks._core import (
    ExerciseFailed,
    call_student,
    exercise,
    plain_float,
    plain_tensor,
    require_close,
)


def _module(exercise_id: str, value, what: str) -> nn.Module:
    if not isinstance(value, nn.Module):
        raise ExerciseFailed(
            f"Exercise {exercise_id}: {what} should be an nn.Module (for example an "
            f"nn.Sequential), got {type(value).__name__}."
        )
    return value


def _layers_of(module: nn.Module, kind: type) -> list:
    return [m for m in nn.Module.modules(module) if type(m) is kind]


# ------------------------------------------------------------------ 6.1
@exercise(
    "6.1", "the generator block doubles the size: transposed conv, batch norm, ReLU."
)
def check_generator_block(generator_block):
    for in_channels, out_channels, height, width in [(8, 5, 7, 7), (6, 3, 5, 3)]:
        block = _module(
            "6.1",
            call_student("6.1", generator_block, in_channels, out_channels),
            f"generator_block({in_channels}, {out_channels})",
        )
        convs = _layers_of(block, nn.ConvTranspose2d)
        norms = _layers_of(block, nn.BatchNorm2d)
        relus = _layers_of(block, nn.ReLU)
        if len(convs) != 1 or len(norms) != 1 or len(relus) != 1:
            raise ExerciseFailed(
                "Exercise 6.1: the block should hold exactly one nn.ConvTranspose2d, "
                f"one nn.BatchNorm2d and one nn.ReLU; found {len(convs)}, "
                f"{len(norms)} and {len(relus)}."
            )
        conv, norm = convs[0], norms[0]
        shape = (in_channels, out_channels)
        if (conv.in_channels, conv.out_channels) != shape:
            raise ExerciseFailed(
                f"Exercise 6.1: the transposed convolution maps {conv.in_channels} "
                f"to {conv.out_channels} channels; it should map {shape[0]} to "
                f"{shape[1]}."
            )
        setting = (tuple(conv.kernel_size), tuple(conv.stride), tuple(conv.padding))
        if setting != ((4, 4), (2, 2), (1, 1)):
            raise ExerciseFailed(
                "Exercise 6.1: use kernel_size=4, stride=2, padding=1 (got kernel "
                f"{conv.kernel_size}, stride {conv.stride}, padding {conv.padding}): "
                "(H - 1) * 2 - 2 + 4 = 2H doubles the size."
            )
        if conv.bias is not None:
            raise ExerciseFailed(
                "Exercise 6.1: give the transposed convolution bias=False. Batch "
                "norm subtracts each channel's mean right after it, which cancels "
                "any bias: the parameter would be wasted."
            )
        if norm.num_features != out_channels:
            raise ExerciseFailed(
                f"Exercise 6.1: the batch norm should have {out_channels} features "
                f"(one per output channel), got {norm.num_features}."
            )
        nn.Module.train(block)
        X = torch.randn(4, in_channels, height, width)
        out = plain_tensor(
            "6.1",
            call_student("6.1", block, X.clone()),
            "the block's output",
            shape=(4, out_channels, 2 * height, 2 * width),
        )
        with torch.no_grad():
            expected = F.relu(
                F.batch_norm(
                    F.conv_transpose2d(X, conv.weight, None, stride=2, padding=1),
                    None,
                    None,
                    norm.weight,
                    norm.bias,
                    training=True,
                    eps=norm.eps,
                )
            )
        require_close(
            "6.1",
            out,
            expected.double(),
            what="the block's output",
            atol=1e-4,
            rtol=1e-4,
            hint="The order is: transposed convolution, then batch norm, then ReLU.",
        )


# ------------------------------------------------------------------ 6.2
def _parameter_values(exercise_id: str, value, what: str) -> torch.Tensor:
    """A plain float64 copy of a layer's parameter (an exact nn.Parameter)."""
    if type(value) is not nn.Parameter:
        raise ExerciseFailed(
            f"Exercise {exercise_id}: {what} should stay an nn.Parameter (change its "
            f"values in place with nn.init), got {type(value).__name__}."
        )
    return plain_tensor(exercise_id, torch.Tensor.detach(value), what)


def _init_test_net() -> nn.Sequential:
    # Big enough for the sample statistics to be precise, small enough to be fast.
    return nn.Sequential(
        nn.ConvTranspose2d(64, 128, 4, 2, 1, bias=False),
        nn.BatchNorm2d(128),
        nn.ReLU(),
        nn.Conv2d(128, 96, 4, 2, 1),
        nn.BatchNorm2d(96),
        nn.LeakyReLU(0.2),
        nn.Conv2d(96, 1, 7),
        nn.Flatten(),
    )


@exercise(
    "6.2",
    "convolution weights ~ N(0, 0.02), batch-norm scales ~ N(1, 0.02), biases 0.",
)
def check_init(dcgan_init):
    if not callable(dcgan_init):
        raise ExerciseFailed(
            f"Exercise 6.2: expected a function, got {type(dcgan_init).__name__}."
        )
    net = _init_test_net()
    for p in net.parameters():  # start far from the answer
        with torch.no_grad():
            p.uniform_(2.0, 3.0)
    call_student("6.2", nn.Module.apply, net, dcgan_init)
    for index, layer in enumerate(net):
        name = f"layer {index} ({type(layer).__name__})"
        weight = getattr(layer, "weight", None)
        if weight is None:
            continue
        w = _parameter_values("6.2", weight, f"the weight of {name}")
        if type(layer) is nn.BatchNorm2d:
            centre, what = 1.0, "batch-norm scale"
        else:
            centre, what = 0.0, "convolution weight"
        mean, std = w.mean().item(), w.std().item()
        if abs(mean - centre) > 0.01 or not 0.015 < std < 0.025:
            raise ExerciseFailed(
                f"Exercise 6.2: the {what}s of {name} have mean {mean:.4f} and "
                f"standard deviation {std:.4f}; DCGAN draws them from "
                f"N({centre:g}, 0.02^2). Use nn.init.normal_(weight, {centre:g}, "
                "0.02) on the layers whose type is right (isinstance)."
            )
        bias = getattr(layer, "bias", None)
        if bias is not None:
            b = _parameter_values("6.2", bias, f"the bias of {name}")
            if b.abs().max().item() != 0.0:
                raise ExerciseFailed(
                    f"Exercise 6.2: the bias of {name} should be all zeros "
                    "(nn.init.zeros_)."
                )


# ------------------------------------------------------------------ 6.3
@exercise("6.3", "the discriminator's loss matches, also for extreme logits.")
def check_discriminator_loss(discriminator_loss):
    cases = [
        (torch.randn(64, 1), torch.randn(64, 1)),
        (torch.randn(10, 1) * 4 + 1, torch.randn(25, 1) * 4 - 1),  # sizes differ
        (torch.tensor([[200.0], [-200.0], [0.0]]), torch.tensor([[-200.0], [150.0]])),
    ]
    for real_logits, fake_logits in cases:
        got = plain_float(
            "6.3",
            call_student(
                "6.3", discriminator_loss, real_logits.clone(), fake_logits.clone()
            ),
            "discriminator_loss(real_logits, fake_logits)",
        )
        r, f = real_logits.double(), fake_logits.double()
        expected = (F.softplus(-r).mean() + F.softplus(f).mean()).item()
        hint = (
            "loss_D is the binary cross-entropy with label 1 on the real logits "
            "plus the one with label 0 on the fake logits, each a mean over its "
            "own batch."
        )
        if r.abs().max() > 100:
            hint += (
                " For logits like -200, sigmoid rounds to 0 and log to -inf: use "
                "F.binary_cross_entropy_with_logits (or softplus), which stays "
                "finite."
            )
        require_close(
            "6.3", got, expected, what="loss_D", atol=1e-4, rtol=1e-4, hint=hint
        )


# ------------------------------------------------------------------ 6.4
def _reference_slerp(z0, z1, t):
    cos = torch.dot(z0, z1) / (z0.norm() * z1.norm())
    omega = torch.arccos(cos.clamp(-1.0, 1.0))
    weight0, weight1 = torch.sin((1 - t) * omega), torch.sin(t * omega)
    return (weight0 * z0 + weight1 * z1) / torch.sin(omega)


@exercise("6.4", "spherical interpolation matches at 15 points on 3 pairs of vectors.")
def check_slerp(slerp):
    for dim in (2, 16, 100):
        z0, z1 = torch.randn(dim), torch.randn(dim)
        if dim == 2:  # a known case: a quarter turn on the unit circle
            z0, z1 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
        for t in (0.0, 0.2, 0.5, 0.75, 1.0):
            got = plain_tensor(
                "6.4",
                call_student("6.4", slerp, z0.clone(), z1.clone(), t),
                f"slerp(z0, z1, {t})",
                shape=(dim,),
            )
            expected = _reference_slerp(z0.double(), z1.double(), t)
            hint = (
                "With omega the angle between z0 and z1 (arccos of their cosine "
                "similarity), slerp = (sin((1 - t) omega) z0 + sin(t omega) z1) / "
                "sin(omega)."
            )
            if dim == 2 and t == 0.5:
                hint += (
                    f" Halfway between (1, 0) and (0, 1) it should be "
                    f"({math.sqrt(0.5):.4f}, {math.sqrt(0.5):.4f})."
                )
            require_close(
                "6.4",
                got,
                expected,
                what=f"slerp at t = {t}",
                atol=1e-4,
                rtol=1e-4,
                hint=hint,
            )
