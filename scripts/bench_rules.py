"""Cost of one training iteration for each update rule, on the ring of 8 Gaussians.

Times ``train.train_gan`` with every rule of ``course_utils.updates`` (and the
WGAN losses with 5 critic steps) on the 2-D MLPs of the mode-collapse
experiments (ReLU, 2 x 128, batch 256, one thread: small networks run fastest
on one core) and prints milliseconds per generator step, the median of
``--repeats`` timings, and the ratio to the plain alternating step.

    python scripts/bench_rules.py --steps 200 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from course_utils import models, toy, train, updates, utils


def rules():
    return {
        "alternating (k=1)": dict(rule=updates.Alternating()),
        "packed (m=2)": dict(rule=updates.Packed(pack=2), d_in=4),
        "packed (m=3)": dict(rule=updates.Packed(pack=3), d_in=6),
        "unrolled (5 steps)": dict(rule=updates.Unrolled(unroll_steps=5)),
        "unrolled (10 steps)": dict(rule=updates.Unrolled(unroll_steps=10)),
        "wgan clip (5 critic steps)": dict(rule=updates.Alternating("wgan", k=5)),
        "wgan-gp (5 critic steps)": dict(rule=updates.Alternating("wgan-gp", k=5)),
    }


def time_rule(setting, steps, repeats, width, batch_size):
    d_in = setting.get("d_in", 2)
    rates = []
    for _ in range(repeats):
        utils.set_seed(0)
        net_G = models.mlp_generator(16, (width, width), 2, activation="relu")
        net_D = models.mlp_discriminator(d_in, (width, width), activation="relu")
        kw = dict(rule=setting["rule"], latent_dim=16, batch_size=batch_size,
                  progress=False)
        train.train_gan(net_G, net_D, lambda n: toy.ring(n), num_steps=5, **kw)
        start = time.perf_counter()
        train.train_gan(net_G, net_D, lambda n: toy.ring(n), num_steps=steps, **kw)
        rates.append(1000 * (time.perf_counter() - start) / steps)
    return statistics.median(rates), rates


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"{'rule':<28} {'ms/step':>8} {'x plain':>8}  (all runs)")
    base = None
    for name, setting in rules().items():
        median, runs = time_rule(setting, args.steps, args.repeats, args.width, args.batch)
        base = base or median
        shown = ", ".join(f"{r:.2f}" for r in runs)
        print(f"{name:<28} {median:>8.2f} {median / base:>8.1f}  ({shown})", flush=True)


if __name__ == "__main__":
    main()
