"""Multilayer-perceptron generators and discriminators for toy data.

Introduced in 02_optimal_discriminator (a discriminator on 1-D samples) and
03_point_cloud_gan (a GAN on 2-D points). Both builders return a plain
``nn.Sequential`` so that a notebook can print it, index its layers and train
it with any loop. The discriminator outputs a logit (a real number; D(x) is its
sigmoid) unless ``sigmoid=True`` asks for the probability itself.
"""

from __future__ import annotations

from typing import Callable, Sequence, Union

from torch import nn

__all__ = ["mlp_generator", "mlp_discriminator", "make_activation", "ACTIVATIONS"]

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "elu": nn.ELU,
    "tanh": nn.Tanh,
    "silu": nn.SiLU,
    "gelu": nn.GELU,
    "softplus": nn.Softplus,
}

ActivationLike = Union[str, Callable[[], nn.Module]]


def make_activation(activation: ActivationLike) -> nn.Module:
    """A fresh activation module from a name in :data:`ACTIVATIONS` or a factory.

    ``"leaky_relu"`` has slope 0.2 for negative inputs (the DCGAN choice). A
    factory is anything that returns an ``nn.Module`` when called with no
    arguments: ``nn.ReLU``, ``lambda: nn.LeakyReLU(0.1)``.
    """
    if isinstance(activation, str):
        try:
            factory = ACTIVATIONS[activation]
        except KeyError:
            raise ValueError(
                f"unknown activation {activation!r}; use one of "
                f"{', '.join(sorted(ACTIVATIONS))} or an nn.Module class"
            ) from None
    elif callable(activation):
        factory = activation
    else:
        raise TypeError(
            f"activation must be a name or an nn.Module factory, got {activation!r}"
        )
    module = factory()
    if not isinstance(module, nn.Module):
        raise TypeError(f"the activation factory returned {type(module).__name__}")
    return module


def _check_sizes(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")


def _mlp(
    in_dim: int, hidden: Sequence[int], out_dim: int, activation: ActivationLike
) -> list[nn.Module]:
    if isinstance(hidden, int):
        hidden = (hidden,)
    hidden = tuple(hidden)
    for i, width in enumerate(hidden):
        _check_sizes(f"hidden[{i}]", width)
    layers: list[nn.Module] = []
    width_in = in_dim
    for width in hidden:
        layers += [nn.Linear(width_in, width), make_activation(activation)]
        width_in = width
    layers.append(nn.Linear(width_in, out_dim))
    return layers


def mlp_generator(
    latent_dim: int,
    hidden: Sequence[int] = (128,),
    out_dim: int = 2,
    activation: ActivationLike = "relu",
) -> nn.Sequential:
    """An MLP generator: ``latent_dim`` -> hidden widths -> ``out_dim``.

    Each hidden layer is ``Linear`` followed by ``activation``; the output layer
    is linear (the toy data are not bounded, so no Tanh). The defaults are the
    lecture's generator of 03_point_cloud_gan: 32 -> 128 -> 2 with ReLU when
    called with ``latent_dim=32``.
    """
    _check_sizes("latent_dim", latent_dim)
    _check_sizes("out_dim", out_dim)
    return nn.Sequential(*_mlp(latent_dim, hidden, out_dim, activation))


def mlp_discriminator(
    in_dim: int = 2,
    hidden: Sequence[int] = (128,),
    activation: ActivationLike = "relu",
    sigmoid: bool = False,
) -> nn.Sequential:
    """An MLP discriminator: ``in_dim`` -> hidden widths -> one output per point.

    The output, of shape ``(N, 1)``, is a logit: pair it with
    ``binary_cross_entropy_with_logits`` or the losses of
    :mod:`course_utils.losses`. ``sigmoid=True`` appends ``nn.Sigmoid`` so the
    output is the probability D(x), as in the lecture's recipe.
    """
    _check_sizes("in_dim", in_dim)
    layers = _mlp(in_dim, hidden, 1, activation)
    if sigmoid:
        layers.append(nn.Sigmoid())
    return nn.Sequential(*layers)
