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


def test_label_smoothing_value_at_extreme_logits_by_hand():
    fam = losses.label_smoothing(real=0.9, fake=0.1)
    t = torch.tensor([[100.0], [-100.0]])
    # BCE(t, c) = c softplus(-t) + (1 - c) softplus(t); softplus(100) = 100 and
    # softplus(-100) = 0 to float32: a real at t = +-100 costs 0.1 * 100 or 0.9 * 100
    # (mean 50), a fake at t = +-100 costs 0.9 * 100 or 0.1 * 100 (mean 50)
    assert fam.d_loss(t, t).item() == pytest.approx(100.0, rel=1e-6)
    real, fake = torch.tensor([[100.0]]), torch.tensor([[-100.0]])
    assert fam.d_loss(real, fake).item() == pytest.approx(10.0 + 10.0, rel=1e-6)
    assert torch.isfinite(fam.d_loss(torch.tensor([[1e4]]), torch.tensor([[-1e4]])))
    # at moderate logits it is the textbook cross-entropy with soft targets
    torch.manual_seed(0)
    r, f = torch.randn(50, 1) * 2, torch.randn(50, 1) * 2
    dr, df = torch.sigmoid(r), torch.sigmoid(f)
    by_hand = (-(0.9 * dr.log() + 0.1 * (1 - dr).log()).mean()
               - (0.1 * df.log() + 0.9 * (1 - df).log()).mean())
    assert fam.d_loss(r, f).item() == pytest.approx(by_hand.item(), rel=1e-5)
    # the generator's loss is the non-saturating one; (1, 0) is the plain loss
    assert fam.g_loss(f).item() == pytest.approx(
        losses.g_loss_nonsaturating(f).item())
    assert losses.label_smoothing(1.0, 0.0).d_loss(r, f).item() == pytest.approx(
        losses.d_loss_minimax(r, f).item(), rel=1e-6)


def test_label_smoothing_targets_are_validated():
    with pytest.raises(ValueError, match="real target must exceed"):
        losses.label_smoothing(real=0.1, fake=0.9)
    with pytest.raises(ValueError, match="real target must exceed"):
        losses.label_smoothing(real=0.5, fake=0.5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        losses.label_smoothing(real=1.1)
    with pytest.raises(ValueError, match=r"fake must lie in \[0, 1\]"):
        losses.label_smoothing(real=0.9, fake=-0.1)
    with pytest.raises(TypeError, match="number"):
        losses.label_smoothing(real="0.9")
    with pytest.raises(TypeError, match="number"):
        losses.label_smoothing(real=True)
    fam = losses.get("label-smoothing")
    assert fam.probability and not fam.critic
    assert fam.d_loss(torch.zeros(1, 1), torch.zeros(1, 1)).item() == pytest.approx(
        losses.label_smoothing(0.9, 0.0).d_loss(torch.zeros(1, 1),
                                                torch.zeros(1, 1)).item())


def test_label_smoothing_gradient_pulls_logits_to_the_targets():
    """dBCE(t, c)/dt = sigmoid(t) - c: D lowers a real logit once sigmoid(t)
    exceeds the real target, and raises a fake logit below the fake target."""
    fam = losses.label_smoothing(real=0.9, fake=0.1)
    real = torch.tensor([[5.0], [0.0]], requires_grad=True)  # D 0.993 and 0.5
    fake = torch.tensor([[-5.0], [0.0]], requires_grad=True)  # D 0.007 and 0.5
    g_real, g_fake = torch.autograd.grad(fam.d_loss(real, fake), (real, fake))
    d_real, d_fake = torch.sigmoid(real.detach()), torch.sigmoid(fake.detach())
    assert torch.allclose(g_real, (d_real - 0.9) / 2)
    assert torch.allclose(g_fake, (d_fake - 0.1) / 2)
    assert g_real[0].item() > 0 > g_real[1].item()  # too confident: pushed down
    assert g_fake[0].item() < 0 < g_fake[1].item()  # below 0.1: pushed up
    # the plain loss always pushes a real logit up and a fake one down
    p_real, p_fake = torch.autograd.grad(losses.d_loss_minimax(real, fake),
                                         (real, fake))
    assert (p_real < 0).all() and (p_fake > 0).all()
    # at its optimum the smoothed loss has zero gradient: sigmoid(t) = target
    t_real = torch.full((3, 1), math.log(0.9 / 0.1), requires_grad=True)
    t_fake = torch.full((3, 1), math.log(0.1 / 0.9), requires_grad=True)
    g = torch.autograd.grad(fam.d_loss(t_real, t_fake), (t_real, t_fake))
    assert all(v.abs().max().item() < 1e-6 for v in g)
