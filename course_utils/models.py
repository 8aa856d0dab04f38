"""Multilayer-perceptron generators and discriminators for toy data.

Introduced in 02_optimal_discriminator (a discriminator on 1-D samples) and
03_point_cloud_gan (a GAN on 2-D points). Both builders return a plain
``nn.Sequential`` so that a notebook can print it, index its layers and train
it with any loop. The discriminator outputs a logit (a real number; D(x) is its
sigmoid) unless ``sigmoid=True`` asks for the probability itself.
"""

from __future__ import annotations

from typing import Callable, Sequence, Union

import torch
from torch import nn

from course_utils.utils import eval_mode

__all__ = [
    "mlp_generator",
    "mlp_discriminator",
    "make_activation",
    "ACTIVATIONS",
    "dcgan_generator",
    "dcgan_discriminator",
    "dcgan_weights_init",
    "OneHotConditioned",
    "SharedBodyDQ",
    "probe_shapes",
    "recompute_batchnorm_stats",
    "sample_generator",
]

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


# --------------------------------------------------------------------- DCGAN
# Introduced in 06_dcgan, reused by the image notebooks after it (LSGAN, WGAN).
# Both builders follow the DCGAN rules (Radford et al., 2015) for 28 x 28 images:
# strided convolutions instead of pooling, transposed convolutions in the
# generator, batch norm, ReLU in G with a Tanh output, LeakyReLU(0.2) in D.

__all__ += ["dcgan_generator", "dcgan_discriminator", "dcgan_weights_init"]


def dcgan_generator(
    latent_dim: int = 100, width: int = 64, channels: int = 1
) -> nn.Sequential:
    """The course's DCGAN generator: noise (N, latent_dim) -> images (N, C, 28, 28).

    A transposed convolution with a 7 x 7 kernel turns z, seen as a 1 x 1 image
    with ``latent_dim`` channels, into ``2 * width`` feature maps of 7 x 7 (the
    DCGAN "projection" of z); a stride-1 3 x 3 convolution works on those 7 x 7
    maps; two stride-2 transposed convolutions double the size to 14 x 14
    (``width`` maps) and 28 x 28 (``width // 2`` maps); a last 3 x 3
    convolution mixes those into the image, squashed into [-1, 1] by Tanh (the
    range of ``data.mnist``). Batch norm and ReLU follow every hidden layer.
    This is the network 06_dcgan builds layer by layer.
    """
    _check_sizes("latent_dim", latent_dim)
    _check_sizes("channels", channels)
    if isinstance(width, bool) or not isinstance(width, int) or width < 2:
        raise ValueError(f"width must be an int >= 2, got {width!r}")
    w = width
    return nn.Sequential(
        nn.Unflatten(1, (latent_dim, 1, 1)),  # (N, latent_dim, 1, 1)
        nn.ConvTranspose2d(latent_dim, 2 * w, 7, 1, 0, bias=False),  # (N, 2w, 7, 7)
        nn.BatchNorm2d(2 * w),
        nn.ReLU(),
        nn.Conv2d(2 * w, 2 * w, 3, 1, 1, bias=False),  # (N, 2w, 7, 7)
        nn.BatchNorm2d(2 * w),
        nn.ReLU(),
        nn.ConvTranspose2d(2 * w, w, 4, 2, 1, bias=False),  # (N, w, 14, 14)
        nn.BatchNorm2d(w),
        nn.ReLU(),
        nn.ConvTranspose2d(w, w // 2, 4, 2, 1, bias=False),  # (N, w/2, 28, 28)
        nn.BatchNorm2d(w // 2),
        nn.ReLU(),
        nn.Conv2d(w // 2, channels, 3, 1, 1),  # (N, C, 28, 28)
        nn.Tanh(),
    )


def dcgan_discriminator(width: int = 64, channels: int = 1) -> nn.Sequential:
    """The course's DCGAN discriminator: images (N, C, 28, 28) -> logits (N, 1).

    Two stride-2 convolutions halve the size twice (``width`` then ``2 * width``
    feature maps), each followed by LeakyReLU(0.2), with batch norm on the second
    (DCGAN leaves the input layer without it); two stride-1 3 x 3 convolutions
    with batch norm and LeakyReLU take a closer look at the 7 x 7 maps; a last
    7 x 7 convolution reads the whole map and returns one logit per image. Pair it with
    the logit losses of :mod:`course_utils.losses`. This is the network 06_dcgan
    builds layer by layer.
    """
    _check_sizes("width", width)
    _check_sizes("channels", channels)
    w = width
    return nn.Sequential(
        nn.Conv2d(channels, w, 4, 2, 1),  # (N, w, 14, 14)
        nn.LeakyReLU(0.2),
        nn.Conv2d(w, 2 * w, 4, 2, 1, bias=False),  # (N, 2w, 7, 7)
        nn.BatchNorm2d(2 * w),
        nn.LeakyReLU(0.2),
        nn.Conv2d(2 * w, 2 * w, 3, 1, 1, bias=False),  # (N, 2w, 7, 7)
        nn.BatchNorm2d(2 * w),
        nn.LeakyReLU(0.2),
        nn.Conv2d(2 * w, 2 * w, 3, 1, 1, bias=False),  # (N, 2w, 7, 7)
        nn.BatchNorm2d(2 * w),
        nn.LeakyReLU(0.2),
        nn.Conv2d(2 * w, 1, 7, 1, 0),  # (N, 1, 1, 1)
        nn.Flatten(),  # (N, 1)
    )


def dcgan_weights_init(module: nn.Module) -> None:
    """DCGAN's initialisation, for ``net.apply(dcgan_weights_init)``.

    Convolution and transposed-convolution weights are drawn from N(0, 0.02^2),
    batch-norm scales from N(1, 0.02^2); their biases are set to 0. Other
    modules are left alone. Introduced in 06_dcgan.
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


# Written for notebook 05 (conditional GAN and InfoGAN): wrappers that feed labels to a
# network, and a discriminator whose body is shared with InfoGAN's Q head.
class OneHotConditioned(nn.Module):
    """``net(cat([x, one_hot(y)]))``: a network on flat inputs conditioned on an
    integer label by concatenating its one-hot code to the input.

    Wrap a generator built for ``latent_dim + num_classes`` inputs, or a
    discriminator built for ``data_dim + num_classes``; call it as
    ``module(x, y)``.
    """

    def __init__(self, net: nn.Module, num_classes: int):
        super().__init__()
        _check_sizes("num_classes", num_classes)
        self.net, self.num_classes = net, num_classes

    def forward(self, x, y):
        from torch.nn import functional as F

        if x.dim() != 2:
            raise ValueError(f"expected flat inputs (N, features), got {tuple(x.shape)}")
        if y.shape != (x.shape[0],):
            raise ValueError(
                f"expected one label per sample, shape ({x.shape[0]},), got "
                f"{tuple(y.shape)}"
            )
        one_hot = F.one_hot(y.long(), self.num_classes).to(x.dtype)
        return self.net(torch.cat([x, one_hot], dim=1))


class SharedBodyDQ(nn.Module):
    """A discriminator and an InfoGAN Q head on one shared body.

    ``forward(x)`` returns ``(d_head(body(x)), q_head(body(x)))``: D's logit
    and Q's outputs (see :class:`course_utils.updates.InfoGAN` for their
    layout). The body is computed once.
    """

    def __init__(self, body: nn.Module, d_head: nn.Module, q_head: nn.Module):
        super().__init__()
        self.body, self.d_head, self.q_head = body, d_head, q_head

    def forward(self, x):
        h = self.body(x)
        return self.d_head(h), self.q_head(h)


# Introduced in 06_dcgan: tools around a trained generator, for every notebook
# that evaluates one.
def probe_shapes(net: nn.Sequential, X: torch.Tensor, show: bool = True) -> list:
    """Walk a batch through ``net`` layer by layer (no gradients) and return
    ``[(layer description, output shape), ...]``, the input first; with
    ``show`` also print them as a table. A layer that is itself a block shows
    as one line."""
    if not isinstance(net, nn.Sequential):
        raise TypeError(f"probe_shapes walks an nn.Sequential, got {type(net).__name__}")
    rows = [("input", tuple(X.shape))]
    with torch.no_grad():
        for layer in net:
            X = layer(X)
            rows.append((" ".join(str(layer).split()), tuple(X.shape)))
    if show:
        for text, shape in rows:
            print(f"{text[:56]:<58} {shape}")
    return rows


def recompute_batchnorm_stats(
    generator: nn.Module, sample_input, num_batches: int = 8, batch_size: int = 500
) -> nn.Module:
    """Re-estimate every batch-norm layer's running statistics of ``generator``
    from ``num_batches`` batches of ``sample_input(batch_size)`` (fresh noise),
    as a plain average, and return it in eval mode.

    Needed for a moving average of a generator's weights: the statistics it
    carries belong to the live weights, not to the averaged ones. A
    ``sample_input`` that returns a tuple (noise and labels, for a conditional
    generator) is unpacked into the generator's arguments.
    """
    norms = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
    for layer in generator.modules():
        if isinstance(layer, norms):
            layer.reset_running_stats()
            layer.momentum = None  # running stats = cumulative average
    generator.train()
    with torch.no_grad():
        for _ in range(num_batches):
            inputs = sample_input(batch_size)
            if isinstance(inputs, (tuple, list)):
                generator(*inputs)
            else:
                generator(inputs)
    return generator.eval()


def sample_generator(
    generator: nn.Module, n: int, latent_dim: int, seed: int, device=None
) -> torch.Tensor:
    """``n`` samples of ``generator`` from Gaussian noise drawn with its own
    seeded random generator (the global stream is untouched), in eval mode and
    without gradients, returned on the CPU; the generator is put back in the
    mode it was in. The same seed gives the same samples."""
    _check_sizes("n", n)
    _check_sizes("latent_dim", latent_dim)
    if device is None:
        device = next(generator.parameters()).device
    Z = torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad(), eval_mode(generator):
        return generator(Z.to(device)).cpu()
