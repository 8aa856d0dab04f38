import math

import pytest
import torch

from course_utils import losses


def naive_value(real_logits, fake_logits):
    d_real, d_fake = torch.sigmoid(real_logits), torch.sigmoid(fake_logits)
    return torch.log(d_real).mean() + torch.log(1 - d_fake).mean()


def test_losses_match_textbook_formulas_for_moderate_logits():
    torch.manual_seed(0)
    real, fake = torch.randn(100, 1) * 2, torch.randn(100, 1) * 2
    v = naive_value(real, fake)
    assert torch.allclose(losses.value_function(real, fake), v, atol=1e-5)
    assert torch.allclose(losses.d_loss_minimax(real, fake), -v, atol=1e-5)
    d_fake = torch.sigmoid(fake)
    assert torch.allclose(
        losses.g_loss_saturating(fake), torch.log(1 - d_fake).mean(), atol=1e-5
    )
    assert torch.allclose(
        losses.g_loss_nonsaturating(fake), -torch.log(d_fake).mean(), atol=1e-5
    )


def test_losses_stay_finite_for_extreme_logits():
    extreme = torch.tensor([-500.0, -100.0, 100.0, 500.0])
    for value in (
        losses.d_loss_minimax(extreme, extreme),
        losses.g_loss_saturating(extreme),
        losses.g_loss_nonsaturating(extreme),
    ):
        assert torch.isfinite(value)
    # -log sigmoid(-500) is 500 exactly, where the naive formula gives inf
    assert losses.g_loss_nonsaturating(torch.tensor([-500.0])).item() == pytest.approx(
        500
    )


def test_gradients_saturate_as_stated():
    t = torch.tensor([-6.0], requires_grad=True)  # D(G(z)) about 0.0025
    (g_sat,) = torch.autograd.grad(losses.g_loss_saturating(t), t)
    (g_ns,) = torch.autograd.grad(losses.g_loss_nonsaturating(t), t)
    d = torch.sigmoid(t).item()
    assert g_sat.item() == pytest.approx(-d, rel=1e-5)
    assert g_ns.item() == pytest.approx(-(1 - d), rel=1e-5)


def test_equilibrium_value_is_minus_log_4():
    zeros = torch.zeros(10)
    assert losses.value_function(zeros, zeros).item() == pytest.approx(-math.log(4))


def test_registry_lookup_and_extension():
    assert {"minimax", "nonsaturating"} <= set(losses.available())
    assert losses.get("minimax").g_loss is losses.g_loss_saturating
    with pytest.raises(ValueError, match="unknown loss 'nope'.*minimax"):
        losses.get("nope")
    custom = losses.GANLoss(
        "test-hinge",
        lambda r, f: (1 - r).relu().mean() + (1 + f).relu().mean(),
        lambda f: -f.mean(),
        probability=False,
    )
    losses.register(custom)
    try:
        assert losses.get("test-hinge") is custom
        with pytest.raises(ValueError, match="already registered"):
            losses.register(custom)
    finally:
        losses._REGISTRY.pop("test-hinge")
    with pytest.raises(TypeError):
        losses.register("minimax")


def test_lsgan_losses_follow_the_abc_coding():
    real, fake = torch.tensor([[0.5], [1.5]]), torch.tensor([[-1.0], [0.0]])
    for a, b, c in [(-1.0, 1.0, 0.0), (0.0, 1.0, 1.0)]:
        fam = losses.lsgan(a, b, c)
        d = 0.5 * ((real - b) ** 2).mean() + 0.5 * ((fake - a) ** 2).mean()
        g = 0.5 * ((fake - c) ** 2).mean()
        assert fam.d_loss(real, fake).item() == pytest.approx(d.item())
        assert fam.g_loss(fake).item() == pytest.approx(g.item())
        assert not fam.probability and not fam.critic
    # the registered "lsgan" is the 0-1 coding
    assert losses.get("lsgan").d_loss(real, fake).item() == pytest.approx(
        losses.lsgan(0, 1, 1).d_loss(real, fake).item())
    # D at its targets has zero loss; a swapped a and b does not
    fam = losses.lsgan(-1, 1, 0)
    assert fam.d_loss(torch.ones(3, 1), -torch.ones(3, 1)).item() == 0.0
    assert fam.d_loss(-torch.ones(3, 1), torch.ones(3, 1)).item() == pytest.approx(4.0)
    with pytest.raises(ValueError, match="differ"):
        losses.lsgan(1, 1, 0)


def test_hinge_and_critic_losses():
    real, fake = torch.tensor([[2.0], [0.5]]), torch.tensor([[-2.0], [0.0]])
    hinge = losses.get("hinge")
    # relu(1 - 2) = 0, relu(1 - 0.5) = 0.5 -> 0.25; relu(1 - 2) = 0, relu(1 + 0) = 1 -> 0.5
    assert hinge.d_loss(real, fake).item() == pytest.approx(0.75)
    assert hinge.g_loss(fake).item() == pytest.approx(1.0)
    wgan = losses.get("wgan")
    assert wgan.d_loss(real, fake).item() == pytest.approx(-1.0 - 1.25)
    assert wgan.g_loss(fake).item() == pytest.approx(1.0)
    assert wgan.critic and not wgan.probability and wgan.after_d_step is not None
    gp = losses.get("wgan-gp")
    assert gp.penalty is not None and gp.after_d_step is None
    for name in ("lsgan", "hinge", "wgan", "wgan-gp", "minimax", "nonsaturating"):
        assert name in losses.available()
    with pytest.raises(ValueError):
        losses.wgan_clip(0)
    with pytest.raises(ValueError):
        losses.wgan_gp(-1)
