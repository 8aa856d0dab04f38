"""The engine's structure: stateless rules, the schedule hook, eval mode.

A rule holds only its settings, so one rule object trains any number of
network pairs; the loop's schedule reproduces two runs with the rates cut
between them; every helper that switches a network to eval mode puts it back.
"""

import ast
import inspect

import pytest
import torch
from torch import nn

from course_utils import models, train, updates, utils


def mlp(n_in, n_out, width=16):
    return nn.Sequential(nn.Linear(n_in, width), nn.LeakyReLU(0.2), nn.Linear(width, n_out))


def data_2d(n):
    return torch.randn(n, 2) * 0.5 + 1.0


def copy_of(module):
    return [p.detach().clone() for p in module.parameters()]


def changed(before, module):
    return any(not torch.equal(a, b) for a, b in zip(before, module.parameters()))


def infogan_pair(rule, width=16):
    G = mlp(2 + rule.code_dim, 2, width)
    body = nn.Sequential(nn.Linear(2, width), nn.LeakyReLU(0.2))
    return G, models.SharedBodyDQ(body, nn.Linear(width, 1), nn.Linear(width, rule.q_dim))


@pytest.mark.parametrize("q_update", ["head", "head_and_body"])
def test_one_infogan_rule_trains_the_q_head_of_every_pair_it_is_given(q_update):
    # The rule makes Q's optimiser in setup, for the networks of that run: a
    # second pair's Q head learns too (a rule that kept the first run's
    # optimiser would step the first pair's head and leave this one frozen).
    rule = updates.InfoGAN(categorical=(2,), continuous=1, q_update=q_update)
    utils.set_seed(0)
    for _ in range(2):
        G, D = infogan_pair(rule)
        head = copy_of(D.q_head)
        train.train_gan(G, D, data_2d, rule=rule, latent_dim=2, num_steps=3,
                        opt_D=torch.optim.SGD(D.d_head.parameters(), lr=0.0),
                        progress=False)
        assert changed(head, D.q_head)
    assert not hasattr(rule, "opt_Q")


def test_a_reused_rule_gives_the_same_run_as_a_fresh_one():
    def run(rule):
        utils.set_seed(1)
        G, D = infogan_pair(rule)
        h = train.train_gan(G, D, data_2d, rule=rule, latent_dim=2, num_steps=5,
                            progress=False)
        return h.loss_D + h.loss_G + h.log("loss_Q")

    reused = updates.InfoGAN(categorical=(2,), continuous=1)
    first = run(reused)
    assert run(reused) == first == run(updates.InfoGAN(categorical=(2,), continuous=1))


def test_a_reused_unrolled_rule_looks_ahead_at_the_new_rate():
    # With unroll_lr left to D's rate, the look-ahead uses the rate of the run
    # at hand: after a run at lr 1e-3, a run at lr 0.1 is the run a fresh rule
    # makes, not the run of a look-ahead kept at 1e-3.
    rule = updates.Unrolled(unroll_steps=2)

    def one_step(lr, rule):
        utils.set_seed(2)
        G, D = mlp(4, 2), mlp(2, 1)
        train.train_gan(G, D, data_2d, rule=rule, latent_dim=4, num_steps=1,
                        opt_G=torch.optim.SGD(G.parameters(), lr=0.1),
                        opt_D=torch.optim.SGD(D.parameters(), lr=lr), progress=False)
        return copy_of(G)

    one_step(1e-3, rule)
    after_reuse = one_step(0.1, rule)
    fresh = one_step(0.1, updates.Unrolled(unroll_steps=2))
    stale = one_step(0.1, updates.Unrolled(unroll_steps=2, unroll_lr=1e-3))
    assert all(torch.equal(a, b) for a, b in zip(after_reuse, fresh))
    assert not all(torch.equal(a, b) for a, b in zip(after_reuse, stale))


@pytest.mark.parametrize("rule", [
    updates.Alternating(k=2),
    updates.Unrolled(unroll_steps=2, unroll_optimizer="adam"),
])
def test_step_decay_is_two_runs_with_the_rates_cut_between_them(rule):
    def nets():
        utils.set_seed(3)
        G, D = mlp(4, 2), mlp(2, 1)
        return G, D, torch.optim.Adam(G.parameters(), 1e-3), torch.optim.Adam(
            D.parameters(), 1e-3)

    G1, D1, opt_G, opt_D = nets()
    h = train.train_gan(G1, D1, data_2d, rule=rule, latent_dim=4, num_steps=12,
                        opt_G=opt_G, opt_D=opt_D, schedule=train.step_decay(8, 0.1),
                        progress=False)
    assert opt_G.param_groups[0]["lr"] == opt_D.param_groups[0]["lr"] == 1e-3

    G2, D2, opt_G, opt_D = nets()
    losses = []
    for steps, factor in ((8, 1.0), (4, 0.1)):
        for opt in (opt_G, opt_D):
            opt.param_groups[0]["lr"] = 1e-3 * factor
        part = train.train_gan(G2, D2, data_2d, rule=rule, latent_dim=4,
                               num_steps=steps, opt_G=opt_G, opt_D=opt_D, progress=False)
        losses += part.loss_G
    assert h.loss_G == losses
    assert all(torch.equal(a, b) for a, b in zip(G1.parameters(), G2.parameters()))


def test_the_schedule_is_restored_when_training_fails():
    G, D = mlp(4, 2), mlp(2, 1)
    opt_D = torch.optim.Adam(D.parameters(), 1e-3)

    def boom(step):
        if step == 3:
            raise RuntimeError("stop")
        return 0.5

    with pytest.raises(RuntimeError, match="stop"):
        train.train_gan(G, D, data_2d, latent_dim=4, num_steps=5, opt_D=opt_D,
                        schedule=boom, progress=False)
    assert opt_D.param_groups[0]["lr"] == 1e-3
    with pytest.raises(ValueError, match="factor"):
        train.step_decay(5, 0)
    with pytest.raises(TypeError, match="schedule must be a function"):
        train.train_gan(G, D, data_2d, latent_dim=4, num_steps=5, schedule=0.1,
                        progress=False)


def test_eval_mode_restores_each_module_also_on_errors():
    a, b = nn.Dropout(), nn.Dropout()
    b.eval()
    with pytest.raises(KeyError):
        with utils.eval_mode(a, b):
            assert not a.training and not b.training
            raise KeyError("inside")
    assert a.training and not b.training


def test_sampling_and_snapshots_leave_the_callers_mode_alone():
    G = nn.Sequential(nn.Linear(3, 8), nn.BatchNorm1d(8), nn.Linear(8, 2))
    G.train()
    models.sample_generator(G, 10, 3, seed=0)
    assert G.training
    updates.generate(G, torch.randn(5, 3))
    assert G.training
    G.eval()
    models.sample_generator(G, 10, 3, seed=0)
    assert not G.training


def test_the_rules_do_not_import_the_loop():
    # The rules' contract (Context, NonFiniteLossError, generate) lives with the
    # rules; train imports updates, never the other way round.
    tree = ast.parse(inspect.getsource(updates))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
            imported.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            imported.update(a.name for a in node.names)
    assert not any(name.startswith("course_utils.train") for name in imported)
    assert train.Context is updates.Context
    assert train.NonFiniteLossError is updates.NonFiniteLossError
