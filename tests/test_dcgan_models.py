"""The DCGAN builders of course_utils.models (introduced in 06_dcgan)."""

import pytest
import torch
from torch import nn

from course_utils import models, train, utils


@pytest.mark.parametrize("latent_dim, width", [(64, 32), (100, 64), (8, 2)])
def test_generator_shapes_and_range(latent_dim, width):
    net_G = models.dcgan_generator(latent_dim, width)
    fake_X = net_G(torch.randn(5, latent_dim))
    assert fake_X.shape == (5, 1, 28, 28)
    assert fake_X.abs().max() <= 1.0  # Tanh output
    net_G.eval()
    assert net_G(torch.randn(1, latent_dim)).shape == (1, 1, 28, 28)


@pytest.mark.parametrize("width", [2, 32, 64])
def test_discriminator_gives_one_logit_per_image(width):
    net_D = models.dcgan_discriminator(width)
    logits = net_D(torch.rand(6, 1, 28, 28) * 2 - 1)
    assert logits.shape == (6, 1)


def test_channels_argument():
    net_G = models.dcgan_generator(16, 8, channels=3)
    net_D = models.dcgan_discriminator(8, channels=3)
    fake_X = net_G(torch.randn(4, 16))
    assert fake_X.shape == (4, 3, 28, 28)
    assert net_D(fake_X).shape == (4, 1)


def test_the_dcgan_rules_hold():
    net_G = models.dcgan_generator(64, 32)
    net_D = models.dcgan_discriminator(32)
    g_types = [type(m) for m in net_G]
    d_types = [type(m) for m in net_D]
    # no pooling and no fully connected layers anywhere
    for types in (g_types, d_types):
        assert nn.Linear not in types
        assert not any("Pool" in t.__name__ for t in types)
    # G: ReLU inside, Tanh at the end, no batch norm on the output layer
    assert g_types[-1] is nn.Tanh and nn.LeakyReLU not in g_types
    assert g_types[-3] is not nn.BatchNorm2d
    assert g_types.count(nn.ConvTranspose2d) == 3
    # D: LeakyReLU(0.2) only, no batch norm right after the input layer
    assert nn.ReLU not in d_types
    assert all(m.negative_slope == 0.2 for m in net_D if isinstance(m, nn.LeakyReLU))
    assert d_types[1] is nn.LeakyReLU
    # stride-2 layers double (G) or halve (D) the size
    strides = [m.stride for m in net_D if isinstance(m, nn.Conv2d)]
    assert strides.count((2, 2)) == 2


def test_no_bias_before_batch_norm():
    for net in (models.dcgan_generator(64, 32), models.dcgan_discriminator(32)):
        layers = list(net)
        for layer, following in zip(layers, layers[1:]):
            if isinstance(following, nn.BatchNorm2d):
                assert layer.bias is None


def test_weights_init_statistics():
    torch.manual_seed(0)
    net_D = models.dcgan_discriminator(64)
    net_G = models.dcgan_generator(100, 64)
    for net in (net_G, net_D):
        net.apply(models.dcgan_weights_init)
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                if m.weight.numel() > 5000:
                    assert abs(m.weight.mean().item()) < 0.002
                    assert 0.018 < m.weight.std().item() < 0.022
                if m.bias is not None:
                    assert torch.count_nonzero(m.bias) == 0
            if isinstance(m, nn.BatchNorm2d):
                assert abs(m.weight.mean().item() - 1) < 0.01
                assert torch.count_nonzero(m.bias) == 0


def test_weights_init_leaves_other_modules_alone():
    layer = nn.Embedding(4, 3)
    before = layer.weight.detach().clone()
    layer.apply(models.dcgan_weights_init)
    assert torch.equal(layer.weight, before)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "32"])
def test_bad_widths_are_refused(bad):
    with pytest.raises(ValueError):
        models.dcgan_generator(64, bad)
    with pytest.raises(ValueError):
        models.dcgan_discriminator(bad)


def test_width_one_is_refused_by_the_generator():
    with pytest.raises(ValueError, match="width"):
        models.dcgan_generator(64, 1)


def test_a_few_training_steps_run_and_stay_finite():
    utils.set_seed(0)
    net_G = models.dcgan_generator(16, 4).apply(models.dcgan_weights_init)
    net_D = models.dcgan_discriminator(4).apply(models.dcgan_weights_init)
    X = torch.rand(40, 1, 28, 28) * 2 - 1
    history = train.train_gan(
        net_G,
        net_D,
        X,
        latent_dim=16,
        num_steps=5,
        batch_size=8,
        ema_decay=0.9,
        progress=False,
    )
    assert len(history.loss_D) == 5
    assert all(torch.isfinite(torch.tensor(history.loss_D + history.loss_G)))
    assert history.ema_G is not None
    assert history.ema_G(torch.randn(3, 16)).shape == (3, 1, 28, 28)


def _shapes(net, X):
    shapes = []
    with torch.no_grad():
        for layer in net:
            X = layer(X)
            shapes.append(tuple(X.shape[1:]))
    return shapes


def test_layer_shapes_match_the_comments():
    # The shape comments of models.py and of 06_dcgan, layer by layer.
    w, d = 6, 5
    g = _shapes(models.dcgan_generator(d, w), torch.randn(3, d))
    assert g == (
        [(d, 1, 1)]
        + [(2 * w, 7, 7)] * 6
        + [(w, 14, 14)] * 3
        + [(w // 2, 28, 28)] * 3
        + [(1, 28, 28)] * 2
    )
    dd = _shapes(models.dcgan_discriminator(w), torch.randn(3, 1, 28, 28))
    assert dd == [(w, 14, 14)] * 2 + [(2 * w, 7, 7)] * 9 + [(1, 1, 1), (1,)]


def test_probe_shapes_walks_every_layer(capsys):
    from course_utils import models

    net = models.dcgan_generator(8, 16)
    rows = models.probe_shapes(net, torch.randn(3, 8))
    assert rows[0] == ("input", (3, 8))
    assert rows[-1][1] == (3, 1, 28, 28)
    assert len(rows) == len(net) + 1
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == len(rows) and printed[-1].endswith("(3, 1, 28, 28)")
    with pytest.raises(TypeError, match="Sequential"):
        models.probe_shapes(torch.nn.Linear(2, 2), torch.zeros(1, 2))


def test_recompute_batchnorm_stats_matches_the_average_of_the_batches():
    from course_utils import models

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.BatchNorm1d(6))
    batches = [torch.randn(50, 4) * 3 + 1 for _ in range(4)]
    feed = iter(batches)
    out = models.recompute_batchnorm_stats(net, lambda n: next(feed), num_batches=4,
                                           batch_size=50)
    assert out is net and not net.training
    with torch.no_grad():
        hidden = [net[0](b) for b in batches]
    expected_mean = torch.stack([h.mean(0) for h in hidden]).mean(0)
    expected_var = torch.stack([h.var(0) for h in hidden]).mean(0)  # unbiased per batch
    assert torch.allclose(net[1].running_mean, expected_mean, atol=1e-5)
    assert torch.allclose(net[1].running_var, expected_var, atol=1e-4)


def test_recompute_batchnorm_stats_unpacks_the_inputs_of_a_conditional_generator():
    from course_utils import models

    torch.manual_seed(0)
    body = torch.nn.Sequential(torch.nn.Linear(5, 6), torch.nn.BatchNorm1d(6))
    net = models.OneHotConditioned(body, num_classes=3)
    z, y = torch.randn(40, 2), torch.arange(40) % 3
    models.recompute_batchnorm_stats(net, lambda n: (z, y), num_batches=2,
                                     batch_size=40)
    with torch.no_grad():
        hidden = body[0](torch.cat([z, torch.nn.functional.one_hot(y, 3).float()], 1))
    assert torch.allclose(body[1].running_mean, hidden.mean(0), atol=1e-5)


def test_sample_generator_is_seeded_in_eval_mode_and_leaves_the_global_stream_and_mode():
    from course_utils import models

    torch.manual_seed(0)
    net = models.dcgan_generator(8, 16)
    state = torch.get_rng_state()
    a = models.sample_generator(net, 10, 8, seed=3)
    b = models.sample_generator(net, 10, 8, seed=3)
    c = models.sample_generator(net, 10, 8, seed=4)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert net.training and a.shape == (10, 1, 28, 28)  # the caller's mode is back
    Z = torch.randn(10, 8, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        assert torch.equal(a, net.eval()(Z))  # drawn in eval mode
