"""Each update rule trains a few steps on a toy problem and does what it promises."""

import math
import numpy as np
import pytest
import torch
from torch import nn

from course_utils import losses, models, train, updates, utils


def mlp(n_in, n_out, width=32, act=nn.LeakyReLU):
    return nn.Sequential(nn.Linear(n_in, width), act(), nn.Linear(width, n_out))


def params_of(net):
    return [p.detach().clone() for p in net.parameters()]


def same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b))


def gaussian_1d(n):
    return 2.0 + 0.5 * torch.randn(n, 1)


# ----------------------------------------------------------------- the loop
def test_a_rule_and_the_default_rule_options_do_not_mix():
    G, D = mlp(4, 1), mlp(1, 1)
    with pytest.raises(TypeError, match="belong to the update rule"):
        train.train_gan(G, D, gaussian_1d, latent_dim=4, num_steps=1, k=2,
                        rule=updates.Alternating(), progress=False)
    with pytest.raises(TypeError, match="UpdateRule"):
        train.train_gan(G, D, gaussian_1d, latent_dim=4, num_steps=1,
                        rule="alternating", progress=False)


def test_labels_are_never_dropped_silently():
    G, D = mlp(4, 1), mlp(1, 1)
    X, y = torch.randn(100, 1), torch.randint(2, (100,))
    with pytest.raises(TypeError, match="carries labels"):
        train.train_gan(G, D, (X, y), latent_dim=4, num_steps=1, progress=False)
    with pytest.raises(TypeError, match="carries labels"):
        train.train_gan(G, D, lambda n: (torch.randn(n, 1), torch.zeros(n)),
                        latent_dim=4, num_steps=1, progress=False)
    with pytest.raises(TypeError, match="needs labelled data"):
        train.train_gan(G, D, X, latent_dim=4, num_steps=1, progress=False,
                        rule=updates.Conditional(num_classes=2))


def test_the_non_finite_check_covers_every_discriminator_step():
    # k = 3: the second discriminator step of generator step 1 gives NaN, the
    # third is finite again. The check must still stop at step 1.
    state = {"calls": 0}

    def d_loss(real, fake):
        state["calls"] += 1
        loss = losses.d_loss_minimax(real, fake)
        return loss * math.nan if state["calls"] == 2 else loss

    nan_once = losses.GANLoss("nan-once", d_loss, losses.g_loss_nonsaturating)
    G, D = mlp(4, 1), mlp(1, 1)
    with pytest.raises(train.NonFiniteLossError, match="loss_D became nan at generator step 1"):
        train.train_gan(G, D, gaussian_1d, latent_dim=4, num_steps=5,
                        rule=updates.Alternating(nan_once, k=3), progress=False)


def _bn_generator():
    return nn.Sequential(nn.Linear(4, 16), nn.BatchNorm1d(16), nn.ReLU(),
                         nn.Dropout(0.2), nn.Linear(16, 1))


def test_callbacks_never_change_the_training_trajectory():
    seen = {}

    def noisy_metric(net_G, net_D, step):
        seen["grad"] = torch.is_grad_enabled()
        seen["training"] = (net_G.training, net_D.training)
        z = torch.randn(64, 4)  # draws random numbers, runs batch norm and dropout
        return net_G(z).mean()

    def run(callbacks):
        utils.set_seed(5)
        G, D = _bn_generator(), mlp(1, 1)
        h = train.train_gan(G, D, gaussian_1d, latent_dim=4, num_steps=30, batch_size=32,
                            callbacks=callbacks, callback_every=7, progress=False)
        return params_of(G) + params_of(D) + [b.clone() for b in G.buffers()], h

    without, _ = run(None)
    with_cb, h = run({"m": noisy_metric})
    assert same(without, with_cb)
    assert seen == {"grad": False, "training": (False, False)}
    steps, values = h.metric("m")
    assert steps == [7, 14, 21, 28, 30]
    # the callback's own random numbers are seeded from the step: reproducible
    _, h2 = run({"m": noisy_metric})
    assert h2.metric("m")[1] == values


def test_callbacks_may_return_arrays():
    def histogram(net_G, net_D, step):
        samples = net_G(torch.randn(200, 4)).squeeze(1)
        return torch.histc(samples, bins=8, min=-2, max=6) / 200

    utils.set_seed(0)
    h = train.train_gan(mlp(4, 1), mlp(1, 1), gaussian_1d, latent_dim=4, num_steps=20,
                        callbacks={"hist": histogram}, callback_every=5, progress=False)
    steps, values = h.metric_array("hist")
    assert steps.tolist() == [5, 10, 15, 20]
    assert values.shape == (4, 8)
    assert values.min() >= 0 and (values.sum(1) <= 1 + 1e-6).all()
    assert not np.allclose(values[0], values[-1])  # it changes as G trains


def test_penalty_is_logged_apart_from_the_discriminator_loss():
    calls = {"n": 0}

    def penalty(net, real, fake):
        calls["n"] += 1
        assert real.shape == fake.shape
        return torch.tensor(0.25) + 0 * net(real).sum()

    fam = losses.GANLoss("with-penalty", losses.d_loss_minimax,
                         losses.g_loss_nonsaturating, penalty=penalty)
    utils.set_seed(0)
    X = torch.randn(100, 1)  # batch 64: the second batch of each epoch has 36
    h = train.train_gan(mlp(4, 1), mlp(1, 1), X, latent_dim=4, num_steps=6,
                        rule=updates.Alternating(fam, k=2), batch_size=64,
                        progress=False)
    assert calls["n"] == 12
    assert h.log("penalty") == [0.25] * 6
    # loss_D is the cross-entropy alone: at most a bit above log 4 at the start
    assert all(0 < v < 2.5 for v in h.loss_D)


# ----------------------------------------------------------- loss families
def test_wgan_clipping_keeps_every_weight_within_c():
    utils.set_seed(0)
    G, D = mlp(4, 2), mlp(2, 1, width=64)
    opt_D = torch.optim.RMSprop(D.parameters(), lr=5e-3)
    opt_G = torch.optim.RMSprop(G.parameters(), lr=5e-3)
    h = train.train_gan(G, D, lambda n: torch.randn(n, 2) + 3, latent_dim=4,
                        rule=updates.Alternating(losses.wgan_clip(0.05), k=5),
                        num_steps=30,
                        opt_G=opt_G, opt_D=opt_D, progress=False)
    c = torch.tensor(0.05).item()  # 0.05 in float32
    largest = max(p.abs().max().item() for p in D.parameters())
    assert largest == c  # clipped, and some weight sits on the bound
    assert len(h.log("critic_estimate")) == 30
    assert h.D_real == []  # a critic's output is no probability
    # the critic's loss is minus its estimate of the distance
    assert np.allclose(h.loss_D, [-e for e in h.log("critic_estimate")], atol=1e-6)


def test_gradient_penalty_is_zero_for_a_unit_norm_linear_critic():
    torch.manual_seed(0)
    critic = nn.Linear(5, 1)
    with torch.no_grad():
        critic.weight /= critic.weight.norm()
    real, fake = torch.randn(64, 5), torch.randn(64, 5)
    assert losses.gradient_penalty(critic, real, fake, lam=10).item() < 1e-10
    with torch.no_grad():
        critic.weight *= 3.0  # gradient norm 3 everywhere: (3 - 1)^2 = 4
    assert losses.gradient_penalty(critic, real, fake, lam=10).item() == pytest.approx(40)


def test_gradient_penalty_is_per_sample():
    # f(x) = |x|^2 / 2 has gradient x: its norm differs from sample to sample.
    def critic(x):
        return 0.5 * (x**2).sum(1, keepdim=True)

    real = torch.tensor([[3.0, 0.0], [0.0, 0.5]])
    gen = torch.Generator().manual_seed(1)
    got = losses.gradient_penalty(critic, real, torch.zeros_like(real), lam=1.0,
                                  generator=gen)
    eps = torch.rand(2, 1, generator=torch.Generator().manual_seed(1))
    norms = (eps * real).norm(dim=1)
    assert got.item() == pytest.approx(((norms - 1) ** 2).mean().item())
    # a batch-wide norm would give another number
    assert got.item() != pytest.approx(((norms.norm() - 1) ** 2).item())
    with pytest.raises(ValueError, match="same shape"):
        losses.gradient_penalty(critic, real, torch.zeros(3, 2))


def test_wgan_gp_trains_with_equal_batches_at_the_end_of_an_epoch():
    utils.set_seed(0)
    X = torch.randn(100, 2) + 2  # batch 64: the last batch of each epoch has 36
    G, D = mlp(4, 2), mlp(2, 1)
    h = train.train_gan(G, D, X, latent_dim=4, rule=updates.Alternating("wgan-gp", k=5),
                        num_steps=20,
                        batch_size=64, progress=False,
                        opt_G=torch.optim.Adam(G.parameters(), 1e-3, betas=(0.0, 0.9)),
                        opt_D=torch.optim.Adam(D.parameters(), 1e-3, betas=(0.0, 0.9)))
    assert len(h.log("penalty")) == len(h.log("critic_estimate")) == 20
    assert all(p >= 0 for p in h.log("penalty"))
    # the critic learns to tell the two apart: its estimate grows from about 0
    assert np.mean(h.log("critic_estimate")[-5:]) > np.mean(h.log("critic_estimate")[:2])


# ------------------------------------------------------------- conditional
def _two_class_data(n=400):
    y = torch.arange(n) % 2
    X = torch.where(y[:, None] == 0, -2.0, 2.0) + 0.2 * torch.randn(n, 1)
    return X, y


def test_conditional_gan_makes_the_requested_class():
    utils.set_seed(0)
    X, y = _two_class_data()
    G = models.OneHotConditioned(mlp(4 + 2, 1), 2)
    D = models.OneHotConditioned(mlp(1 + 2, 1), 2)
    fixed = (torch.randn(20, 4), torch.tensor([0] * 10 + [1] * 10))
    h = train.train_gan(G, D, (X, y), rule=updates.Conditional(num_classes=2),
                        latent_dim=4, num_steps=600, batch_size=64, fixed_Z=fixed,
                        snapshot_every=300, progress=False,
                        opt_G=torch.optim.Adam(G.parameters(), 2e-3, betas=(0.5, 0.999)),
                        opt_D=torch.optim.Adam(D.parameters(), 2e-3, betas=(0.5, 0.999)))
    assert [s for s, _ in h.snapshots] == [0, 300, 600]
    last = h.snapshots[-1][1].squeeze(1)
    assert (last[:10] < 0).all() and (last[10:] > 0).all()
    with torch.no_grad():
        z = torch.randn(500, 4)
        for label, centre in ((0, -2.0), (1, 2.0)):
            out = G(z, torch.full((500,), label))
            assert abs(out.mean().item() - centre) < 0.4


def test_conditional_rejects_labels_out_of_range():
    X, y = _two_class_data()
    G = models.OneHotConditioned(mlp(6, 1), 3)
    D = models.OneHotConditioned(mlp(4, 1), 3)
    with pytest.raises(ValueError, match="labels must lie in 0..1"):
        train.train_gan(G, D, (X, y + 1), rule=updates.Conditional(num_classes=2),
                        latent_dim=4, num_steps=2, progress=False)


# -------------------------------------------------------------------- InfoGAN
def _infogan_nets(rule, latent_dim=2, width=64):
    G = mlp(latent_dim + rule.code_dim, 1, width)
    body = nn.Sequential(nn.Linear(1, width), nn.LeakyReLU(0.2))
    D = models.SharedBodyDQ(body, nn.Linear(width, 1), nn.Linear(width, rule.q_dim))
    return G, D


def test_infogan_codes_and_q_layout():
    rule = updates.InfoGAN(categorical=(3, 2), continuous=2)
    assert (rule.code_dim, rule.q_dim) == (7, 9)
    codes, indices, cont = rule.sample_codes(50, generator=torch.Generator().manual_seed(0))
    assert codes.shape == (50, 7)
    assert torch.equal(codes[:, :3].argmax(1), indices[0])
    assert torch.equal(codes[:, 3:5].argmax(1), indices[1])
    assert (cont.abs() <= 1).all() and torch.equal(codes[:, 5:], cont)
    # a perfect Q: logits that pick the codes, means equal to the codes
    q = torch.cat([10 * codes[:, :5], cont, torch.full((50, 2), -3.0)], dim=1)
    cat_loss, cont_loss = rule.info_loss(q, indices, cont)
    assert cat_loss.item() < 2e-3
    # the Gaussian NLL at zero error with log std -3, per code: -3 + log(2 pi) / 2
    assert cont_loss.item() == pytest.approx(2 * (-3 + 0.5 * math.log(2 * math.pi)), abs=1e-5)
    with pytest.raises(ValueError, match=r"\(N, 9\)"):
        rule.info_loss(q[:, :8], indices, cont)


def test_infogan_q_loss_falls_when_the_code_is_recoverable():
    utils.set_seed(0)
    rule = updates.InfoGAN(categorical=(2,), continuous=1)
    G, D = _infogan_nets(rule)
    X, _ = _two_class_data()
    h = train.train_gan(G, D, X, rule=rule, latent_dim=2, num_steps=400, batch_size=64,
                        progress=False,
                        opt_G=torch.optim.Adam(G.parameters(), 1e-3, betas=(0.5, 0.999)),
                        opt_D=torch.optim.Adam(D.parameters(), 1e-3, betas=(0.5, 0.999)))
    q_loss = h.log("loss_Q")
    assert len(q_loss) == len(h.loss_G) == 400
    assert np.mean(q_loss[-50:]) < 0.5 * np.mean(q_loss[:10])
    assert np.mean(h.log("loss_Q_categorical")[-50:]) < 0.1  # log 2 = 0.69 at chance


def test_infogan_q_learns_from_the_information_loss_alone():
    # With both weights 0, the information loss is 0: Q's optimiser must leave
    # the shared body exactly as the discriminator step left it.
    rule = updates.InfoGAN(categorical=(2,), weight_cat=0.0, weight_cont=0.0)
    utils.set_seed(0)
    G, D = _infogan_nets(rule)
    opt_D = torch.optim.SGD(D.parameters(), lr=0.0)  # D's own step changes nothing
    before = params_of(D.body)
    train.train_gan(G, D, gaussian_1d, rule=rule, latent_dim=2, num_steps=5,
                    opt_D=opt_D, progress=False)
    assert same(before, params_of(D.body))


def _one_infogan_iteration(weight, q_update, lr=0.1):
    # one iteration from seed 0 with plain SGD for D: returns D's parameters after it
    q_optimizer = None
    if q_update == "head":
        def q_optimizer(params):
            return torch.optim.SGD(params, lr=lr)
    rule = updates.InfoGAN(categorical=(2,), continuous=1, weight_cat=weight,
                           weight_cont=weight, q_update=q_update,
                           q_optimizer=q_optimizer)
    utils.set_seed(0)
    G, D = _infogan_nets(rule)
    train.train_gan(G, D, gaussian_1d, rule=rule, latent_dim=2, num_steps=1,
                    opt_D=torch.optim.SGD(D.parameters(), lr=lr), progress=False)
    return params_of(D.body), params_of(D.q_head)


def test_infogan_q_update_with_D_is_one_step_on_D_loss_plus_information_loss():
    # Chen et al.'s form: D's one optimiser steps on loss_D + weight * L_I. With
    # SGD the body's change is then affine in the weight, and the weight moves it
    body0, head0 = _one_infogan_iteration(0.0, "with_D")
    body1, head1 = _one_infogan_iteration(1.0, "with_D")
    body2, _ = _one_infogan_iteration(2.0, "with_D")
    assert not same(body0, body1)
    for a, b, c in zip(body0, body1, body2):
        torch.testing.assert_close(c - b, b - a, atol=1e-6, rtol=1e-4)
    assert same(head0, _one_infogan_iteration(0.0, "with_D")[1])  # no loss, no step
    assert not same(head0, head1)  # the Q head learns in D's step
    # with Q's own optimiser over its head, the information loss never reaches the
    # body: the body's step is D's alone, whatever the weight
    assert same(_one_infogan_iteration(0.0, "head")[0],
                _one_infogan_iteration(1.0, "head")[0])


def test_infogan_q_update_with_D_steps_the_body_once_per_iteration():
    utils.set_seed(0)
    X, _ = _two_class_data()
    steps = {}
    for q_update in ("head_and_body", "with_D"):
        made = []  # the Q optimiser the rule makes for this run, if any

        def q_optimizer(params):
            made.append(torch.optim.Adam(params, 1e-3, betas=(0.5, 0.999)))
            return made[-1]

        rule = updates.InfoGAN(categorical=(2,), continuous=1, q_update=q_update,
                               q_optimizer=None if q_update == "with_D" else q_optimizer)
        G, D = _infogan_nets(rule)
        opt_D = torch.optim.Adam(D.parameters(), 1e-3, betas=(0.5, 0.999))
        h = train.train_gan(G, D, X, rule=rule, latent_dim=2, num_steps=400,
                            batch_size=64, progress=False, opt_D=opt_D,
                            opt_G=torch.optim.Adam(G.parameters(), 1e-3,
                                                   betas=(0.5, 0.999)))
        optimisers = [opt_D] + made
        weight = D.body[0].weight
        steps[q_update] = sum(int(o.state[weight]["step"]) for o in optimisers
                              if weight in o.state)
        if q_update == "with_D":  # Q learns the code through D's optimiser alone
            assert made == []
            assert np.mean(h.log("loss_Q_categorical")[-50:]) < 0.1
    # head_and_body: Q's optimiser holds the body too, two Adam steps per iteration
    assert steps == {"head_and_body": 800, "with_D": 400}


def test_infogan_q_update_with_D_checks_its_optimisers():
    with pytest.raises(ValueError, match="q_update"):
        updates.InfoGAN(categorical=(2,), q_update="joint")
    with pytest.raises(ValueError, match="q_optimizer"):
        updates.InfoGAN(categorical=(2,), q_update="with_D",
                        q_optimizer=lambda p: torch.optim.SGD(p, lr=0.1))
    for d_params, match in [("body", "Q head")]:
        rule = updates.InfoGAN(categorical=(2,), q_update="with_D")
        G, D = _infogan_nets(rule)
        held = D.parameters() if d_params == "all" else D.body.parameters()
        with pytest.raises(ValueError, match=match):
            train.train_gan(G, D, gaussian_1d, rule=rule, latent_dim=2, num_steps=1,
                            opt_D=torch.optim.SGD(held, lr=0.1), progress=False)


def test_infogan_needs_a_q_output():
    rule = updates.InfoGAN(categorical=(2,))
    G = mlp(2 + 2, 1)
    with pytest.raises(ValueError, match="SharedBodyDQ"):
        train.train_gan(G, mlp(1, 1), gaussian_1d, rule=rule, latent_dim=2,
                        num_steps=1, progress=False)


# ------------------------------------------------------------------ unrolled
def _one_iteration(rule, seed=0):
    utils.set_seed(seed)
    G, D = mlp(4, 2), mlp(2, 1)
    state = (G.state_dict(), D.state_dict())
    train.train_gan(G, D, lambda n: torch.randn(n, 2) + 1, rule=rule, latent_dim=4,
                    num_steps=1, batch_size=32, progress=False,
                    opt_G=torch.optim.Adam(G.parameters(), 1e-3),
                    opt_D=torch.optim.Adam(D.parameters(), 1e-3))
    return params_of(G), params_of(D), state


def test_unrolling_leaves_the_real_discriminator_as_one_plain_step_would():
    G_plain, D_plain, _ = _one_iteration(updates.Alternating())
    G_unr, D_unr, _ = _one_iteration(updates.Unrolled(unroll_steps=5, unroll_lr=0.5))
    assert same(D_plain, D_unr)
    assert not same(G_plain, G_unr)  # G saw the unrolled D
    # with no unrolled step, the generator's update is the plain one
    G_zero, D_zero, _ = _one_iteration(updates.Unrolled(unroll_steps=0))
    assert same(G_zero, G_plain) and same(D_zero, D_plain)


def test_unrolled_gradient_matches_an_explicit_unrolled_copy():
    # G's gradient through one unrolled SGD step, computed by hand with a copy of D.
    utils.set_seed(3)
    G, D = mlp(4, 2, width=8), mlp(2, 1, width=8)
    lr = 0.3
    X1, Z1, X2, Z2 = torch.randn(16, 2), torch.randn(16, 4), torch.randn(16, 2), torch.randn(16, 4)
    params = [p for p in D.parameters()]
    loss_u = losses.d_loss_minimax(D(X1), D(G(Z1)))
    grads = torch.autograd.grad(loss_u, params, create_graph=True)
    new = [p - lr * g for p, g in zip(params, grads)]

    def d_new(x):
        h = torch.nn.functional.leaky_relu(x @ new[0].T + new[1], 0.01)
        return h @ new[2].T + new[3]

    loss_G = losses.g_loss_nonsaturating(d_new(G(Z2)))
    expected = torch.autograd.grad(loss_G, list(G.parameters()))

    # the rule, fed the same batches; its own D step is made a no-op (lr 0)
    X0, Z0 = torch.randn(16, 2), torch.randn(16, 4)
    reals, noises = iter([X0, X1]), iter([Z0, Z1, Z2])
    opt_G = torch.optim.SGD(G.parameters(), lr=0.0)
    ctx = train.Context(G, D, opt_G, torch.optim.SGD(D.parameters(), lr=0.0), 16,
                        torch.device("cpu"), lambda n: next(reals), lambda n: next(noises))
    rule = updates.Unrolled(unroll_steps=1, unroll_lr=lr)
    rule.step(ctx, rule.setup(ctx))
    got = [p.grad for p in G.parameters()]
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(got, expected))
    # and differs from the plain gradient against D itself
    plain = torch.autograd.grad(losses.g_loss_nonsaturating(D(G(Z2))), list(G.parameters()))
    assert not all(torch.allclose(a, b, atol=1e-6) for a, b in zip(got, plain))


def test_unrolled_costs_about_unroll_steps_plus_one_plain_steps():
    # Not a timing assertion: how many real batches one iteration consumes.
    drawn = {"n": 0}

    def data(n):
        drawn["n"] += 1
        return torch.randn(n, 2)

    utils.set_seed(0)
    train.train_gan(mlp(4, 2), mlp(2, 1), data, rule=updates.Unrolled(unroll_steps=4),
                    latent_dim=4, num_steps=3, progress=False)
    assert drawn["n"] == 3 * 5


# ------------------------------------------------------------------- packing
def test_pack_concatenates_consecutive_samples_along_features():
    x = torch.arange(12.0).reshape(6, 2)
    packed = updates.pack(x, 3)
    assert packed.tolist() == [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]]
    images = torch.randn(4, 1, 5, 5)
    assert torch.equal(updates.pack(images, 2)[1, 1], images[3, 0])
    with pytest.raises(ValueError, match="multiple of m = 4"):
        updates.pack(x, 4)


def test_packed_discriminator_sees_packs():
    shapes = []

    class Recording(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = mlp(2 * 3, 1)

        def forward(self, x):
            shapes.append(tuple(x.shape))
            return self.net(x)

    utils.set_seed(0)
    X = torch.randn(100, 2)  # epoch ends mid-batch: packs stay whole
    h = train.train_gan(mlp(4, 2), Recording(), X, rule=updates.Packed(pack=3),
                        latent_dim=4, num_steps=6, batch_size=16, progress=False)
    assert all(s[1] == 6 for s in shapes)
    assert (16, 6) in shapes
    assert len(h.loss_D) == 6


def test_packed_gan_learns_a_gaussian():
    utils.set_seed(0)
    G, D = mlp(4, 1), mlp(2, 1)
    train.train_gan(G, D, gaussian_1d, rule=updates.Packed(pack=2), latent_dim=4,
                    num_steps=800, batch_size=64, progress=False,
                    opt_G=torch.optim.Adam(G.parameters(), 2e-3, betas=(0.5, 0.999)),
                    opt_D=torch.optim.Adam(D.parameters(), 2e-3, betas=(0.5, 0.999)))
    with torch.no_grad():
        out = G(torch.randn(4000, 4))
    assert abs(out.mean().item() - 2.0) < 0.25
    assert 0.25 < out.std().item() < 0.8


def test_discriminator_only_leaves_g_alone_and_learns_the_log_density_ratio():
    # p_data = N(0, 1) and a frozen G that shifts its noise by 1, so p_g = N(1, 1):
    # log p_data(x) - log p_g(x) = 1/2 - x, a line a linear D can hold exactly
    utils.set_seed(0)
    net_G = nn.Linear(1, 1)
    with torch.no_grad():
        net_G.weight.fill_(1.0)
        net_G.bias.fill_(1.0)
    net_D = nn.Linear(1, 1)
    data = torch.randn(20_000, 1, generator=torch.Generator().manual_seed(1))
    train.train_gan(net_G, net_D, data, rule=updates.DiscriminatorOnly(),
                    latent_dim=1, batch_size=512, num_steps=1500,
                    opt_D=torch.optim.Adam(net_D.parameters(), 0.02),
                    progress=False)
    assert net_G.weight.item() == 1.0 and net_G.bias.item() == 1.0
    assert abs(net_D.weight.item() + 1.0) < 0.1, net_D.weight.item()
    assert abs(net_D.bias.item() - 0.5) < 0.1, net_D.bias.item()


# -------------------------------------------- matching-aware and AC-GAN
def test_mismatched_labels_are_never_right_and_uniform_over_the_others():
    torch.manual_seed(0)
    y = torch.randint(5, (50_000,))
    wrong = updates.mismatched_labels(y, 5)
    assert wrong.dtype == y.dtype and wrong.shape == y.shape
    assert not (wrong == y).any()
    for k in range(5):
        counts = torch.bincount(wrong[y == k], minlength=5).double()
        assert counts[k] == 0
        others = counts[torch.arange(5) != k]
        assert (others / others.sum() - 0.25).abs().max() < 0.02
    assert torch.equal(updates.mismatched_labels(torch.tensor([0, 1, 1]), 2),
                       torch.tensor([1, 0, 0]))
    with pytest.raises(ValueError, match="num_classes"):
        updates.mismatched_labels(y, 1)


class _Recording(nn.Module):
    """A network that records the inputs and outputs of each call."""

    def __init__(self, net):
        super().__init__()
        self.net, self.calls = net, []

    def forward(self, *args):
        out = self.net(*args)
        self.calls.append(([a.detach().clone() for a in args], out.detach().clone()))
        return out


def test_matching_aware_loss_is_algorithm_1_of_gan_cls():
    utils.set_seed(0)
    X, y = _two_class_data(256)
    G = models.OneHotConditioned(mlp(4 + 3, 1), 3)
    D = _Recording(models.OneHotConditioned(mlp(1 + 3, 1), 3))
    h = train.train_gan(G, D, (X, y + (X[:, 0] > 3).long()), rule=updates.MatchingAware(3),
                        latent_dim=4, num_steps=1, batch_size=64, progress=False,
                        opt_G=torch.optim.SGD(G.parameters(), lr=0.0),
                        opt_D=torch.optim.SGD(D.parameters(), lr=0.0))
    (real_in, real_out), (fake_in, fake_out), (wrong_in, wrong_out) = D.calls[:3]
    assert torch.equal(wrong_in[0], real_in[0])  # the real images ...
    assert not (wrong_in[1] == real_in[1]).any()  # ... with wrong labels
    F_ = torch.nn.functional
    expected = (F_.softplus(-real_out).mean() + 0.5 * F_.softplus(fake_out).mean()
                + 0.5 * F_.softplus(wrong_out).mean())
    assert h.loss_D[0] == pytest.approx(expected.item(), rel=1e-6)
    assert len(D.calls) == 4  # and one call for G's step


def test_matching_aware_gan_makes_the_requested_class():
    utils.set_seed(0)
    X, y = _two_class_data()
    G = models.OneHotConditioned(mlp(4 + 2, 1), 2)
    D = models.OneHotConditioned(mlp(1 + 2, 1), 2)
    train.train_gan(G, D, (X, y), rule=updates.MatchingAware(num_classes=2),
                    latent_dim=4, num_steps=600, batch_size=64, progress=False,
                    opt_G=torch.optim.Adam(G.parameters(), 2e-3, betas=(0.5, 0.999)),
                    opt_D=torch.optim.Adam(D.parameters(), 2e-3, betas=(0.5, 0.999)))
    with torch.no_grad():
        z = torch.randn(500, 4)
        for label, centre in ((0, -2.0), (1, 2.0)):
            assert abs(G(z, torch.full((500,), label)).mean().item() - centre) < 0.4


def _one_acgan_iteration(weight, classify_fakes=True, seed=0):
    utils.set_seed(seed)
    X, y = _two_class_data(128)
    G = models.OneHotConditioned(mlp(4 + 2, 1), 2)
    D = _Recording(mlp(1, 1 + 2))
    h = train.train_gan(G, D, (X, y), rule=updates.ACGAN(2, class_weight=weight,
                                                         classify_fakes=classify_fakes),
                        latent_dim=4, num_steps=1, batch_size=64, progress=False,
                        opt_G=torch.optim.SGD(G.parameters(), lr=0.1),
                        opt_D=torch.optim.SGD(D.parameters(), lr=0.1))
    return params_of(G), params_of(D), h, D.calls


def test_acgan_losses_and_their_weight():
    G1, D1, h, calls = _one_acgan_iteration(1.0)
    (real_in, real_out), (fake_in, fake_out) = calls[:2]
    F_ = torch.nn.functional
    assert h.loss_D[0] == pytest.approx(
        (F_.softplus(-real_out[:, 0]).mean() + F_.softplus(fake_out[:, 0]).mean()).item(),
        rel=1e-6)
    y_real = (real_in[0][:, 0] > 0).long()  # the two classes sit at -2 and +2
    class_real = F_.cross_entropy(real_out[:, 1:], y_real)
    assert h.logs["class_D"][0] > class_real.item()  # the fakes' term is added
    _, _, h_real, calls_r = _one_acgan_iteration(1.0, classify_fakes=False)
    assert h_real.logs["class_D"][0] == pytest.approx(
        F_.cross_entropy(calls_r[0][1][:, 1:], y_real).item(), rel=1e-6)
    # with plain SGD, D's step is affine in the class weight, and the weight moves
    # it; G's step (taken against the updated D) moves with the weight too
    G0, D0, _, _ = _one_acgan_iteration(0.0)
    G2, D2, _, _ = _one_acgan_iteration(2.0)
    assert not same(D0, D1) and not same(G0, G1)
    for a, b, c in zip(D0, D1, D2):
        torch.testing.assert_close(c - b, b - a, atol=1e-6, rtol=1e-4)


def test_acgan_makes_the_requested_class_and_checks_d_output():
    utils.set_seed(0)
    X, y = _two_class_data()
    G = models.OneHotConditioned(mlp(4 + 2, 1), 2)
    D = mlp(1, 1 + 2)
    train.train_gan(G, D, (X, y), rule=updates.ACGAN(num_classes=2),
                    latent_dim=4, num_steps=600, batch_size=64, progress=False,
                    opt_G=torch.optim.Adam(G.parameters(), 2e-3, betas=(0.5, 0.999)),
                    opt_D=torch.optim.Adam(D.parameters(), 2e-3, betas=(0.5, 0.999)))
    with torch.no_grad():
        z = torch.randn(500, 4)
        for label, centre in ((0, -2.0), (1, 2.0)):
            assert abs(G(z, torch.full((500,), label)).mean().item() - centre) < 0.5
    with pytest.raises(ValueError, match=r"\(N, 3\) values"):
        train.train_gan(G, mlp(1, 1), (X, y), rule=updates.ACGAN(2), latent_dim=4,
                        num_steps=1, progress=False)
    for bad in (dict(class_weight=-1.0), dict(class_weight=True),
                dict(classify_fakes=1)):
        with pytest.raises(ValueError):
            updates.ACGAN(2, **bad)
