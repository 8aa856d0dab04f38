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

import math

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment
from torch import nn

from course_utils.divergences import wasserstein_1d
from course_utils.losses import d_loss_minimax, g_loss_nonsaturating, lsgan, wgan_clip
from course_utils.metrics import points
from course_utils.models import dcgan_weights_init
from course_utils.updates import InfoGAN

__all__ = [
    "mc_value_estimate",
    "bilinear_simultaneous_step",
    "alternating_conserved_quantity",
    "value_from_logits",
    "extragradient_contraction",
    "optimal_discriminator_with_prior",
    "optimal_discriminator_with_targets",
    "discriminator_step",
    "generator_step",
    "upsampling_block",
    "dcgan_conv_init",
    "spherical_interpolation",
    "w1_of_translation",
    "line_squared_length",
    "gaussian_2d_mass_within",
    "modes_and_hq",
    "append_batch_spread",
    "minibatch_discrimination_features",
    "concat_one_hot",
    "variational_info_bound",
    "infogan_info_losses",
    "matched_assignment_accuracy",
    "least_squares_losses",
    "least_squares_optimal_d",
    "pearson_chi2_divergence",
    "least_squares_chi2_link",
    "parallel_lines_distances",
    "wasserstein_losses",
    "interpolate_gradient_penalty",
    "penalised_critic_gap",
    "w1_by_sorting",
]


def mc_value_estimate(D, X, fake_X):
    """Exercise 1.1: mean log D(X) + mean log(1 - D(fake_X)), D giving probabilities."""
    return torch.log(D(X)).mean() + torch.log1p(-D(fake_X)).mean()


def bilinear_simultaneous_step(x, y, h):
    """Exercise 1.3: both players of min_x max_y xy step from the same point."""
    return x - h * y, y + h * x


def value_from_logits(p_data, p_g, logit, x):
    """Exercise 2.4: V(D, G) for D = sigmoid(logit) by the trapezoidal rule on the
    grid ``x``, with log D = -softplus(-t) and log(1 - D) = -softplus(t), which stay
    finite where D itself rounds to 0 or 1."""
    t = logit(x)
    integrand = p_data(x) * -F.softplus(-t) + p_g(x) * -F.softplus(t)
    return torch.trapezoid(integrand, x)


def alternating_conserved_quantity(x, y, h):
    """Exercise 1.4: Q = x^2 + y^2 - h x y, which one alternating step of the
    bilinear game (x' = x - h y, y' = y + h x') leaves unchanged: its matrix
    M = [[1, -h], [h, 1 - h^2]] satisfies M^T A M = A for A = [[1, -h/2], [-h/2, 1]].
    """
    return x * x + y * y - h * x * y


def extragradient_contraction(h):
    """Exercise 1.5: one extragradient step on min_x max_y xy multiplies the
    distance to (0, 0) by |(1 - h^2) + i h| = sqrt(1 - h^2 + h^4)."""
    return ((1 - h * h) ** 2 + h * h) ** 0.5


def optimal_discriminator_with_prior(p_data, p_g, x, pi):
    """Exercise 2.2: the best D when a share pi of the samples is real,
    pi p_data / (pi p_data + (1 - pi) p_g). Introduced in 02_optimal_discriminator."""
    a, b = pi * p_data(x), (1 - pi) * p_g(x)
    return a / (a + b)


def optimal_discriminator_with_targets(p_data, p_g, x, alpha, beta):
    """Exercise 2.5: the best D for the cross-entropy with targets alpha (real) and
    beta (fake), (alpha p_data + beta p_g) / (p_data + p_g)."""
    a, b = p_data(x), p_g(x)
    return (alpha * a + beta * b) / (a + b)


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


def ema_initial_weight(beta, n):
    """Exercise 6.3: the weight of the starting weights theta_0 in a moving average
    that starts as theta_0 and takes beta * average + (1 - beta) * theta_t after
    each of n steps: beta ** n (each step scales the whole average by beta and adds
    nothing of theta_0)."""
    return beta ** n


def line_squared_length(d, t):
    """Exercise 6.5: E|(1 - t) z0 + t z1|^2 = d ((1 - t)^2 + t^2) for independent
    standard Gaussian codes in d dimensions."""
    return d * ((1 - t) ** 2 + t * t)


def gaussian_2d_mass_within(k):
    """Exercise 4.1: P(|X - c| < k sigma) for X ~ N(c, sigma^2 I) in 2-D: the
    distance over sigma is Rayleigh, so 1 - exp(-k^2 / 2). Introduced in
    04_mode_collapse."""
    return -math.expm1(-k * k / 2)


def modes_and_hq(samples, centres, sigma):
    """Exercise 4.2: (modes holding a sample within 3 sigma of their centre,
    share of samples within 3 sigma of their nearest centre)."""
    return (points.modes_captured(samples, centres, sigma),
            float(points.high_quality(samples, centres, sigma).mean()))


def append_batch_spread(h):
    """Exercise 4.4: h with one more column, the mean over features of the
    batch standard deviation (n - 1), the same in every row."""
    column = h.std(dim=0).mean().reshape(1, 1).expand(h.shape[0], 1)
    return torch.cat((h, column), dim=1)


def minibatch_discrimination_features(f, T):
    """Exercise 4.5: Salimans et al.'s minibatch discrimination. f is (n, A), T is
    (A, B, C); each sample's M_i = f_i T is (B, C); the B closeness sums
    o_ib = sum over the other samples j of exp(-||M_ib - M_jb||_1) (the sample
    itself left out) are appended to f: shape (n, A + B). Computed per row b with
    torch.cdist, which is several times faster here than broadcasting."""
    n = f.shape[0]
    a, b, c = T.shape
    rows = (f @ T.reshape(a, b * c)).reshape(n, b, c).transpose(0, 1)  # (B, n, C)
    closeness = torch.exp(-torch.cdist(rows, rows, p=1))  # (B, n, n)
    others = 1 - torch.eye(n, dtype=f.dtype, device=f.device)
    return torch.cat((f, (closeness * others).sum(dim=2).T), dim=1)


def rejection_accept_probability(logits, log_m):
    """Exercise 4.6: the probability with which rejection sampling keeps a
    sample, min(1, exp(logit - log M)), computed in log space."""
    return torch.exp(torch.clamp(logits - log_m, max=0.0))


def concat_one_hot(x, y, num_classes):
    """Exercise 5.1: the one-hot labels joined to x along dimension 1; for
    images (N, C, H, W), as num_classes constant planes. Introduced in
    05_conditional_and_infogan."""
    planes = F.one_hot(y, num_classes).to(x.dtype)
    if x.dim() == 4:
        planes = planes[..., None, None].expand(-1, -1, *x.shape[2:])
    return torch.cat((x, planes), dim=1)


def variational_info_bound(joint, q):
    """Exercise 5.2: E[log Q(c | x)] + H(c) for a joint table p(c, x) (rows c)
    and Q(c | x) of the same shape, cells of zero probability skipped."""
    used = joint > 0
    p_c = joint.sum(dim=1)
    p_c = p_c[p_c > 0]
    return float((joint[used] * q[used].log()).sum() - (p_c * p_c.log()).sum())


def infogan_info_losses(q, cat_codes, cont_codes):
    """Exercise 5.3: (cross-entropy of the categorical code, Gaussian negative
    log-likelihood of the continuous codes summed over codes, both batch means);
    q holds the k logits, then m means, then m log standard deviations."""
    m = cont_codes.shape[1]
    rule = InfoGAN(categorical=(q.shape[1] - 2 * m,), continuous=m)
    return rule.info_loss(q, [cat_codes], cont_codes)


def matched_assignment_accuracy(codes, labels, k):
    """Exercise 5.4: the share of agreements under the one-to-one matching of
    codes to labels that agrees most often (the Hungarian method)."""
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, (np.asarray(codes), np.asarray(labels)), 1)
    rows, cols = linear_sum_assignment(-counts)
    return float(counts[rows, cols].sum() / len(codes))


def least_squares_losses(real_out, fake_out, a, b, c):
    """Exercise 7.1: LSGAN's (loss of D, loss of G): D pulls real scores to b
    and fake ones to a, G pulls fake scores to c; halves of batch means.
    Introduced in 07_lsgan."""
    loss = lsgan(a, b, c)
    return loss.d_loss(real_out, fake_out), loss.g_loss(fake_out)


def least_squares_optimal_d(p_data, p_g, a, b):
    """Exercise 7.2: the D minimising LSGAN's loss at each x,
    (b p_data + a p_g) / (p_data + p_g)."""
    return (a * p_g + b * p_data) / (p_g + p_data)


def pearson_chi2_divergence(p, q, x):
    """Exercise 7.3: the integral of (p - q)^2 / q over the grid x (trapezoids)."""
    return float(torch.trapezoid((p - q).pow(2) / q, x))


def least_squares_chi2_link(a, b, c):
    """Exercise 7.4: (scale, constant) with 2C(G) = scale * chi^2(2 p_g || p_data +
    p_g) + constant for LSGAN's coding (a, b, c): ((b - a)^2 / 4, 2 ((a + b)/2 - c)^2)."""
    return (b - a) ** 2 / 4, 2 * ((a + b) / 2 - c) ** 2


def parallel_lines_distances(theta):
    """Exercise 8.1: (W1, JS, TV) between the vertical segments at 0 and at
    theta: (|theta|, log 2, 1), and zeros at theta = 0. Introduced in 08_wgan."""
    if theta == 0:
        return 0.0, 0.0, 0.0
    return abs(theta), math.log(2.0), 1.0


def wasserstein_losses(real_scores, fake_scores):
    """Exercise 8.2: (critic's loss, generator's loss) of WGAN:
    (mean f(fake) - mean f(real), -mean f(fake))."""
    loss = wgan_clip()
    return loss.d_loss(real_scores, fake_scores), loss.g_loss(fake_scores)


def interpolate_gradient_penalty(critic, real, fake, eps):
    """Exercise 8.3: mean (|grad f(x_hat)| - 1)^2 at x_hat = eps real +
    (1 - eps) fake, inputs detached, the graph kept for the critic's step."""
    x_hat = torch.lerp(fake.detach(), real.detach(), eps).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return (grad.flatten(start_dim=1).norm(dim=1) - 1).pow(2).mean()


def penalised_critic_gap(w, lam):
    """Exercise 8.4: the gap a penalised linear critic reports: it maximises
    s w - lam (s - 1)^2 over its slope s, at s = 1 + w / (2 lam), and reads the
    gap s w."""
    return w * (1 + w / (2 * lam))


def w1_by_sorting(x, y):
    """Exercise 8.5: W1 between two 1-D samples of any sizes: the integral of the
    gap between their quantile functions (for equal sizes, the mean gap between
    their sorted values)."""
    return wasserstein_1d(x, y)


def class_term_parts(gen_joint, data_joint):
    """Exercise 5.6: AC-GAN's class term E_q[-log p(y|x)] for tables (labels,
    images) as (KL(q(x, y) || p(x, y)), KL(q(x) || p(x)), H_q(y | x)); the term
    is the first minus the second plus the third. Cells where q is 0 count 0."""
    q, p = gen_joint.double(), data_joint.double()
    seen = q > 0
    log_ratio = torch.zeros_like(q)
    log_ratio[seen] = q[seen].log() - p[seen].log()
    q_x, p_x = q.sum(0), p.sum(0)
    ratio_x = torch.where(q_x > 0, q_x / p_x, torch.ones_like(q_x))
    log_post = torch.zeros_like(q)
    log_post[seen] = (q / q_x.clamp_min(1e-300))[seen].log()
    return (float((q * log_ratio).sum()), float((q_x * ratio_x.log()).sum()),
            float(-(q * log_post).sum()))


__all__ += ["class_term_parts"]
