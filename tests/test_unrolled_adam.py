"""The unrolled GAN's look-ahead with D's own optimiser (Adam)."""
import pytest
import torch
from torch import nn

from course_utils import losses, train, updates, utils


def mlp(n_in, n_out, width=8):
    return nn.Sequential(nn.Linear(n_in, width), nn.Tanh(), nn.Linear(width, n_out))


def _context(G, D, opt_D, batches, noises):
    reals, zs = iter(batches), iter(noises)
    return train.Context(G, D, torch.optim.SGD(G.parameters(), lr=0.0), opt_D, 16,
                         torch.device("cpu"), lambda n: next(reals), lambda n: next(zs))


@pytest.mark.parametrize("unroll_steps", [1, 3])
def test_adam_lookahead_reaches_the_discriminator_real_adam_steps_reach(unroll_steps):
    utils.set_seed(5)
    G, D = mlp(4, 2), mlp(2, 1)
    opt_D = torch.optim.Adam(D.parameters(), 0.01, betas=(0.5, 0.999))
    # a few real steps first, so that Adam's moments and step count are not zero
    for _ in range(3):
        opt_D.zero_grad()
        losses.d_loss_minimax(D(torch.randn(16, 2)), D(G(torch.randn(16, 4)))).backward()
        opt_D.step()
    X = [torch.randn(16, 2) + 1 for _ in range(1 + unroll_steps)]
    Z = [torch.randn(16, 4) for _ in range(2 + unroll_steps)]

    ctx = _context(G, D, opt_D, X, Z)
    rule = updates.Unrolled(unroll_steps=unroll_steps, unroll_optimizer="adam")
    got = rule.step(ctx, rule.setup(ctx))["loss_G"]

    # the same history and batches, with every step a real Adam step: the
    # rule's own D step, then the look-ahead steps
    utils.set_seed(5)
    G2, D2 = mlp(4, 2), mlp(2, 1)
    opt2 = torch.optim.Adam(D2.parameters(), 0.01, betas=(0.5, 0.999))
    for _ in range(3):
        opt2.zero_grad()
        losses.d_loss_minimax(D2(torch.randn(16, 2)), D2(G2(torch.randn(16, 4)))).backward()
        opt2.step()
    with torch.no_grad():
        fakes = [G(z) for z in Z]
    for k in range(1 + unroll_steps):
        opt2.zero_grad()
        losses.d_loss_minimax(D2(X[k]), D2(fakes[k])).backward()
        opt2.step()
        if k == 0:  # the rule's real D step matches the real optimiser's
            assert all(torch.allclose(a, b, atol=1e-6)
                       for a, b in zip(D.parameters(), D2.parameters()))
    expected = losses.g_loss_nonsaturating(D2(fakes[-1])).item()
    assert abs(got - expected) < 1e-5


def test_adam_lookahead_differs_from_the_sgd_surrogate_and_passes_gradients():
    grads = {}
    for optimiser in ("sgd", "adam"):
        utils.set_seed(2)
        G, D = mlp(4, 2), mlp(2, 1)
        opt_D = torch.optim.Adam(D.parameters(), 0.01, betas=(0.5, 0.999))
        X = [torch.randn(16, 2) + 1 for _ in range(3)]
        Z = [torch.randn(16, 4) for _ in range(4)]
        rule = updates.Unrolled(unroll_steps=2, unroll_lr=0.01,
                                unroll_optimizer=optimiser)
        ctx = _context(G, D, opt_D, X, Z)
        rule.step(ctx, rule.setup(ctx))
        grads[optimiser] = torch.cat([p.grad.flatten() for p in G.parameters()])
    assert torch.isfinite(grads["adam"]).all() and grads["adam"].abs().sum() > 0
    assert not torch.allclose(grads["sgd"], grads["adam"], atol=1e-6)


def test_adam_lookahead_refuses_another_optimiser():
    G, D = mlp(4, 2), mlp(2, 1)
    ctx = _context(G, D, torch.optim.SGD(D.parameters(), lr=0.1), [], [])
    with pytest.raises(ValueError, match="Adam"):
        updates.Unrolled(unroll_optimizer="adam").setup(ctx)
    with pytest.raises(ValueError, match="unroll_optimizer"):
        updates.Unrolled(unroll_optimizer="rmsprop")


def test_adam_lookahead_stays_finite_where_a_gradient_is_exactly_zero():
    # a ReLU unit that is dead on every input has zero gradients, so Adam's second
    # moment is 0 there, where the square root's slope is infinite
    utils.set_seed(0)
    G = mlp(4, 2)
    D = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))
    with torch.no_grad():
        D[0].bias[0] = -1e3  # unit 0 never fires
    opt_D = torch.optim.Adam(D.parameters(), 0.01, betas=(0.5, 0.999))
    X = [torch.randn(16, 2) for _ in range(3)]
    Z = [torch.randn(16, 4) for _ in range(4)]
    ctx = _context(G, D, opt_D, X, Z)
    rule = updates.Unrolled(unroll_steps=2, unroll_optimizer="adam")
    rule.step(ctx, rule.setup(ctx))
    assert all(torch.isfinite(p.grad).all() for p in G.parameters())
