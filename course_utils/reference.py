"""The course's own versions of exercise functions that later cells build on
(introduced in 01_minimax_game).

A notebook's later cells call ``checks.student_or("N.M", your_function,
reference.something)``: they run on your answer when it passes its check, and
on the version here when it does not, so that one unsolved exercise does not
stop the rest of the notebook. Each function has the signature of its exercise.
The grader refuses exercise code that calls them (they are listed in each
checker's ``gives_away``).
"""

from __future__ import annotations

import torch
from torch import nn

from course_utils.losses import d_loss_minimax, g_loss_nonsaturating
from course_utils.models import dcgan_weights_init

__all__ = [
    "mc_value_estimate",
    "bilinear_simultaneous_step",
    "bilinear_alternating_step",
    "extragradient_contraction",
    "optimal_discriminator_with_prior",
    "discriminator_step",
    "generator_step",
    "upsampling_block",
    "dcgan_conv_init",
    "spherical_interpolation",
    "w1_of_translation",
    "line_squared_length",
]


def mc_value_estimate(D, X, fake_X):
    """Exercise 1.1: mean log D(X) + mean log(1 - D(fake_X)), D giving probabilities."""
    return torch.log(D(X)).mean() + torch.log1p(-D(fake_X)).mean()


def bilinear_simultaneous_step(x, y, h):
    """Exercise 1.3: both players of min_x max_y xy step from the same point."""
    return x - h * y, y + h * x


def bilinear_alternating_step(x, y, h):
    """Exercise 1.4: x steps first, then y answers the new x."""
    x_new = x - h * y
    return x_new, y + h * x_new


def extragradient_contraction(h):
    """Exercise 1.5: one extragradient step on min_x max_y xy multiplies the
    distance to (0, 0) by |(1 - h^2) + i h| = sqrt(1 - h^2 + h^4)."""
    return ((1 - h * h) ** 2 + h * h) ** 0.5


def optimal_discriminator_with_prior(p_data, p_g, x, pi):
    """Exercise 2.4: the best D when a share pi of the samples is real,
    pi p_data / (pi p_data + (1 - pi) p_g). Introduced in 02_optimal_discriminator."""
    a, b = pi * p_data(x), (1 - pi) * p_g(x)
    return a / (a + b)


def discriminator_step(net_G, net_D, opt_D, X, Z) -> float:
    """Exercise 3.1: one step of D on -mean log D(X) - mean log(1 - D(G(Z))),
    from logits, with G's output detached. Introduced in 03_point_cloud_gan."""
    loss_D = d_loss_minimax(net_D(X), net_D(net_G(Z).detach()))
    opt_D.zero_grad()
    loss_D.backward()
    opt_D.step()
    return loss_D.item()


def generator_step(net_G, net_D, opt_G, Z) -> float:
    """Exercise 3.2: one step of G on the non-saturating -mean log D(G(Z))."""
    loss_G = g_loss_nonsaturating(net_D(net_G(Z)))
    opt_G.zero_grad()
    loss_G.backward()
    opt_G.step()
    return loss_G.item()


def upsampling_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """Exercise 6.1: stride-2 transposed convolution (no bias), batch norm, ReLU.
    Introduced in 06_dcgan."""
    return nn.Sequential(
        nn.ConvTranspose2d(in_channels, out_channels, 4, stride=2, padding=1,
                           bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(),
    )


def dcgan_conv_init(module: nn.Module) -> None:
    """Exercise 6.2: N(0, 0.02^2) convolution weights, N(1, 0.02^2) batch-norm
    scales, zero biases; every other module left alone (unlike
    ``models.dcgan_weights_init``, which also draws linear layers)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.BatchNorm2d)):
        dcgan_weights_init(module)


def spherical_interpolation(z0, z1, t):
    """Exercise 6.4: slerp between two 1-D codes; the straight line when they are
    (almost) parallel, the limit of the formula."""
    cos = torch.dot(z0, z1) / (z0.norm() * z1.norm())
    omega = torch.arccos(cos.clamp(-1.0, 1.0))
    if omega < 1e-4:
        return (1 - t) * z0 + t * z1
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(
        omega
    )


def w1_of_translation(shift):
    """Exercise 3.3: W1(P, P + v) = |v|: moving every point by v costs |v|, and
    no coupling costs less, as E||X - Y|| >= ||E[X - Y]||."""
    return float(torch.as_tensor(shift, dtype=torch.float64).norm())


def line_squared_length(d, t):
    """Exercise 6.5: E|(1 - t) z0 + t z1|^2 = d ((1 - t)^2 + t^2) for independent
    standard Gaussian codes in d dimensions."""
    return d * ((1 - t) ** 2 + t * t)
