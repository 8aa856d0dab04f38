"""Tests of course_utils.models: the MLP generator and discriminator builders."""

import pytest
import torch
from torch import nn

from course_utils import models


def test_generator_default_is_the_lecture_architecture():
    net_G = models.mlp_generator(32)
    assert isinstance(net_G, nn.Sequential)
    kinds = [type(m) for m in net_G]
    assert kinds == [nn.Linear, nn.ReLU, nn.Linear]
    assert (net_G[0].in_features, net_G[0].out_features) == (32, 128)
    assert net_G(torch.zeros(5, 32)).shape == (5, 2)


def test_generator_sizes_and_activation():
    net_G = models.mlp_generator(8, hidden=(64, 32), out_dim=3, activation="leaky_relu")
    linears = [m for m in net_G if isinstance(m, nn.Linear)]
    sizes = [(m.in_features, m.out_features) for m in linears]
    assert sizes == [(8, 64), (64, 32), (32, 3)]
    acts = [m for m in net_G if isinstance(m, nn.LeakyReLU)]
    assert len(acts) == 2 and acts[0].negative_slope == 0.2
    assert acts[0] is not acts[1]  # a fresh module per layer
    assert net_G(torch.randn(4, 8)).shape == (4, 3)
    assert models.mlp_generator(2, hidden=16)(torch.zeros(1, 2)).shape == (1, 2)


def test_discriminator_outputs_logits_unless_asked():
    net_D = models.mlp_discriminator()
    assert not isinstance(net_D[-1], nn.Sigmoid)
    out = net_D(torch.randn(7, 2) * 100)
    assert out.shape == (7, 1)
    net_D_prob = models.mlp_discriminator(in_dim=1, hidden=(16,), sigmoid=True)
    assert isinstance(net_D_prob[-1], nn.Sigmoid)
    p = net_D_prob(torch.randn(7, 1))
    assert p.shape == (7, 1) and bool(((p > 0) & (p < 1)).all())


def test_activation_by_factory_and_errors():
    net_D = models.mlp_discriminator(2, (4,), activation=nn.Tanh)
    assert isinstance(net_D[1], nn.Tanh)
    net_D = models.mlp_discriminator(2, (4,), activation=lambda: nn.LeakyReLU(0.1))
    assert net_D[1].negative_slope == 0.1
    with pytest.raises(ValueError, match="unknown activation"):
        models.mlp_generator(2, activation="swish-ish")
    with pytest.raises(TypeError):
        models.mlp_generator(2, activation=3)
    with pytest.raises(ValueError):
        models.mlp_generator(0)
    with pytest.raises(ValueError):
        models.mlp_discriminator(2, hidden=(8, 0))


def test_models_train_on_a_tiny_problem():
    # a discriminator separates two clouds: logits and BCE-with-logits work together
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny network: one thread is much faster
    net_D = models.mlp_discriminator(2, (16,), activation="leaky_relu")
    opt = torch.optim.Adam(net_D.parameters(), lr=1e-2)
    X = torch.randn(128, 2) + 2
    fake_X = torch.randn(128, 2) - 2
    for _ in range(100):
        labels = torch.cat([torch.ones(128, 1), torch.zeros(128, 1)])
        loss = nn.functional.binary_cross_entropy_with_logits(
            net_D(torch.cat([X, fake_X])), labels
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
    torch.set_num_threads(threads)
    assert loss.item() < 0.05
