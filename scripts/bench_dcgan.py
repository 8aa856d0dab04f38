"""Throughput of the course's DCGAN on this machine (for choosing 06_dcgan's defaults).

Times ``train.train_gan`` on the bundled MNIST training split for a few widths,
batch sizes and thread counts and prints images per second (real images seen by
the discriminator per second of training). Each setting is timed ``--repeats``
times after a short warm-up and the median is reported: on a shared machine
single timings vary a lot.

    python scripts/bench_dcgan.py --widths 32 48 64 --batches 64 128 --threads 1 2
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from course_utils import data, models, train, utils


def time_setting(width, batch_size, threads, latent_dim, steps, repeats):
    torch.set_num_threads(threads)
    X, _ = data.mnist("train")
    rates = []
    for _ in range(repeats):
        utils.set_seed(0)
        net_G = models.dcgan_generator(latent_dim, width)
        net_D = models.dcgan_discriminator(width)
        kw = dict(latent_dim=latent_dim, batch_size=batch_size, progress=False)
        train.train_gan(net_G, net_D, X, num_steps=5, **kw)  # warm-up
        start = time.perf_counter()
        train.train_gan(net_G, net_D, X, num_steps=steps, **kw)
        rates.append(steps * batch_size / (time.perf_counter() - start))
    return statistics.median(rates), rates


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[32, 48, 64])
    parser.add_argument("--batches", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--threads", type=int, nargs="+", default=[2])
    parser.add_argument("--latent-dim", type=int, default=64)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"{'width':>5} {'batch':>5} {'threads':>7} {'images/s':>9}  (all runs)")
    for threads in args.threads:
        for width in args.widths:
            for batch_size in args.batches:
                median, rates = time_setting(
                    width, batch_size, threads, args.latent_dim, args.steps,
                    args.repeats,
                )
                runs = ", ".join(f"{r:.0f}" for r in rates)
                print(f"{width:>5} {batch_size:>5} {threads:>7} {median:>9.0f}  ({runs})",
                      flush=True)


if __name__ == "__main__":
    main()
