import pytest
import torch
from torch import nn

from course_utils import losses, train, updates, utils


def tiny_nets(latent_dim=4, width=32):
    net_G = nn.Sequential(nn.Linear(latent_dim, width), nn.ReLU(), nn.Linear(width, 1))
    net_D = nn.Sequential(nn.Linear(1, width), nn.LeakyReLU(0.2), nn.Linear(width, 1))
    return net_G, net_D


def sample_data(n):
    return 2.0 + 0.5 * torch.randn(n, 1)


def fit(seed=0, **kw):
    utils.set_seed(seed)
    net_G, net_D = tiny_nets()
    opts = dict(
        opt_G=torch.optim.Adam(net_G.parameters(), lr=2e-3, betas=(0.5, 0.999)),
        opt_D=torch.optim.Adam(net_D.parameters(), lr=2e-3, betas=(0.5, 0.999)),
    )
    opts.update(kw)
    history = train.train_gan(
        net_G, net_D, sample_data, latent_dim=4, batch_size=128, progress=False, **opts
    )
    return net_G, history


def test_gan_learns_a_1d_gaussian():
    net_G, history = fit(num_steps=1500)
    with torch.no_grad():
        samples = net_G(torch.randn(5000, 4))
    assert abs(samples.mean().item() - 2.0) < 0.2
    assert 0.25 < samples.std().item() < 0.75
    assert len(history.loss_D) == len(history.loss_G) == len(history.steps) == 1500
    assert all(0 < p < 1 for p in history.D_real)


def test_same_seed_same_history():
    _, h1 = fit(seed=3, num_steps=50)
    _, h2 = fit(seed=3, num_steps=50)
    _, h3 = fit(seed=4, num_steps=50)
    assert h1.loss_D == h2.loss_D and h1.loss_G == h2.loss_G
    assert h1.loss_D != h3.loss_D


class CountingOptimizer(torch.optim.SGD):
    def __init__(self, params):
        super().__init__(params, lr=1e-3)
        self.calls = 0

    def step(self, closure=None):
        self.calls += 1
        return super().step(closure)


def test_k_discriminator_steps_per_generator_step():
    net_G, net_D = tiny_nets()
    opt_G, opt_D = (
        CountingOptimizer(net_G.parameters()),
        CountingOptimizer(net_D.parameters()),
    )
    train.train_gan(
        net_G,
        net_D,
        sample_data,
        latent_dim=4,
        rule=updates.Alternating(k=3),
        num_steps=7,
        opt_G=opt_G,
        opt_D=opt_D,
        progress=False,
    )
    assert (opt_G.calls, opt_D.calls) == (7, 21)


def test_num_epochs_over_a_tensor():
    net_G, net_D = tiny_nets()
    X = sample_data(1000)
    h = train.train_gan(
        net_G, net_D, X, latent_dim=4, batch_size=100, num_epochs=2, progress=False
    )
    assert len(h.steps) == 20


def test_callbacks_snapshots_and_ema():
    fixed_Z = torch.randn(16, 4)
    calls = []

    def mean_of_G(net_G, net_D, step):
        calls.append(step)
        return net_G(fixed_Z).mean().item()

    _, h = fit(
        num_steps=25,
        fixed_Z=fixed_Z,
        snapshot_every=10,
        callbacks={"mean": mean_of_G},
        callback_every=10,
        ema_decay=0.9,
    )
    assert [s for s, _ in h.snapshots] == [0, 10, 20, 25]
    assert all(x.shape == (16, 1) for _, x in h.snapshots)
    assert h.metric("mean")[0] == [10, 20, 25] == calls
    assert h.ema_G is not None
    with pytest.raises(KeyError, match="no metric"):
        h.metric("other")


def test_ema_callbacks_score_the_moving_average_and_leave_training_alone():
    fixed_Z = torch.randn(16, 4)
    seen = []

    def mean_of_G(net_G, net_D, step):
        seen.append(net_G)
        return net_G(fixed_Z).mean().item()

    kwargs = dict(num_steps=25, callbacks={"mean": mean_of_G}, callback_every=10,
                  ema_decay=0.9)
    _, h_plain = fit(**kwargs)
    net_G, h = fit(ema_callbacks=True, **kwargs)
    assert h.loss_G == h_plain.loss_G  # scoring the average changes no step
    assert sorted(h.metrics) == ["mean", "mean (EMA)"]
    assert h.metric("mean (EMA)")[0] == [10, 20, 25]
    assert seen[-1] is h.ema_G and seen[-2] is net_G
    with torch.no_grad():
        assert h.metric("mean (EMA)")[1][-1] == h.ema_G(fixed_Z).mean().item()
        assert h.metric("mean")[1][-1] == net_G(fixed_Z).mean().item()
    assert h.metric("mean (EMA)")[1][-1] != h.metric("mean")[1][-1]
    with pytest.raises(ValueError, match="ema_callbacks needs"):
        fit(num_steps=5, ema_decay=0.9, ema_callbacks=True)  # no callbacks


def test_non_finite_loss_names_the_step():
    class Exploding(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(1, 1)
            self.calls = 0

        def forward(self, x):
            self.calls += 1
            out = self.lin(x)
            return out * float("nan") if self.calls > 6 else out  # 2 calls per D step

    net_G, _ = tiny_nets()
    with pytest.raises(
        train.NonFiniteLossError,
        match="loss_D became nan at generator step 3.*learning rate",
    ) as info:
        train.train_gan(
            net_G, Exploding(), sample_data, latent_dim=4, num_steps=10, progress=False
        )
    assert info.value.step == 3


def test_max_seconds_stops_early():
    _, h = fit(num_steps=10**7, max_seconds=0.3)
    assert h.stopped_early and 0 < len(h.steps) < 10**7


def test_custom_loss_family_plugs_in_without_changing_the_loop():
    clipped = []
    wgan_like = losses.GANLoss(
        "test-critic",
        d_loss=lambda r, f: f.mean() - r.mean(),
        g_loss=lambda f: -f.mean(),
        after_d_step=lambda net: clipped.append(True),
        probability=False,
    )
    _, h = fit(num_steps=5, rule=updates.Alternating(wgan_like, k=2))
    assert len(clipped) == 10 and h.D_real == []


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"batch_size": 0}, "batch_size"),
        ({}, "give num_steps or num_epochs"),
        ({"num_steps": 5, "snapshot_every": 2}, "needs fixed_Z"),
        ({"num_steps": 5, "ema_decay": 1.5}, "ema_decay"),
        ({"num_steps": 5, "ema_callbacks": True}, "ema_callbacks needs ema_decay"),
    ],
)
def test_bad_arguments_are_explained(kwargs, message):
    net_G, net_D = tiny_nets()
    with pytest.raises(ValueError, match=message):
        train.train_gan(
            net_G, net_D, sample_data, latent_dim=4, progress=False, **kwargs
        )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"k": 0}, "k .* must be an int >= 1"),
        ({"loss": "nope"}, "unknown loss"),
        ({"reuse_fake": 1}, "reuse_fake"),
    ],
)
def test_bad_rule_settings_are_explained(kwargs, message):
    with pytest.raises(ValueError, match=message):
        updates.Alternating(**kwargs)


@pytest.mark.parametrize("setting", ["loss", "k", "reuse_fake"])
def test_rule_settings_given_to_the_loop_say_where_they_belong(setting):
    net_G, net_D = tiny_nets()
    value = {"loss": "lsgan", "k": 2, "reuse_fake": True}[setting]
    with pytest.raises(TypeError, match=f"{setting} belong to the update rule.*"
                                        "updates.Alternating"):
        train.train_gan(net_G, net_D, sample_data, latent_dim=4, num_steps=1,
                        progress=False, **{setting: value})
    with pytest.raises(TypeError, match="unexpected arguments: \\['num_step'\\]"):
        train.train_gan(net_G, net_D, sample_data, latent_dim=4, num_step=1,
                        progress=False)


@pytest.mark.parametrize("k", [1, 3])
def test_reuse_fake_saves_one_generator_pass_per_step(k):
    counts = {}
    for reuse in (False, True):
        net_G, net_D = tiny_nets()
        calls = []
        net_G.register_forward_hook(lambda m, i, o: calls.append(o.requires_grad))
        opt_G, opt_D = (
            CountingOptimizer(net_G.parameters()),
            CountingOptimizer(net_D.parameters()),
        )
        train.train_gan(net_G, net_D, sample_data, latent_dim=4, num_steps=6,
                        rule=updates.Alternating(k=k, reuse_fake=reuse),
                        opt_G=opt_G, opt_D=opt_D, progress=False)
        assert (opt_G.calls, opt_D.calls) == (6, 6 * k)
        # Passes with gradients: one per generator step either way.
        assert sum(calls) == 6
        counts[reuse] = len(calls)
    assert counts == {False: 6 * (k + 1), True: 6 * k}


def test_reuse_fake_still_learns():
    net_G, history = fit(num_steps=1500, rule=updates.Alternating(reuse_fake=True))
    with torch.no_grad():
        samples = net_G(torch.randn(5000, 4))
    assert abs(samples.mean().item() - 2.0) < 0.2
    assert 0.25 < samples.std().item() < 0.75
