"""Throughput of the course's DCGAN on this machine (for choosing 06_dcgan's defaults).

Times ``train.train_gan`` on the bundled MNIST training split, run as 06_dcgan
runs it (DCGAN initialisation, Adam 2e-3 / 5e-4 with betas (0, 0.99), the
generator step reusing the discriminator step's fake batch, a moving average
of G's weights with decay 0.998), for a few widths, batch sizes and thread
counts, and prints images per second (real images seen by the discriminator
per second of training). ``--fresh-noise`` draws new noise for the generator
step (06's ``REUSE_FAKE = False``). ``--plain`` times the loop without 06's options
(fresh noise for the generator step, no average) for comparison. Each setting is timed ``--repeats``
times after a short warm-up and the median is reported: on a shared machine
single timings vary a lot.

    python scripts/bench_dcgan.py --widths 48/32 32 64 --batches 64 128 --threads 1 2

A width is one number (the same for both networks) or ``G/D``, the generator's and
the discriminator's (06_dcgan's defaults are 48/32).

``--roofline`` puts one setting next to this machine's limit: it counts the
floating-point operations of one training step (convolutions and matrix
products, forward and backward, with ``torch.utils.flop_counter``), times the
step, and times a large float32 matrix product on the same number of threads;
the ratio of the two rates says how far the DCGAN step is from what the
processor does on its most favourable kernel.

    python scripts/bench_dcgan.py --roofline --widths 48/32 --batches 64 --threads 2
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from course_utils import data, models, train, updates, utils


def time_setting(
    width, batch_size, threads, latent_dim, steps, repeats, channels_last=False,
    plain=False, fresh_noise=False,
):
    torch.set_num_threads(threads)
    X, _ = data.mnist("train")
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    rates = []
    for _ in range(repeats):
        utils.set_seed(0)
        g_width, d_width = width
        net_G = models.dcgan_generator(latent_dim, g_width)
        net_D = models.dcgan_discriminator(d_width)
        net_G.apply(models.dcgan_weights_init)
        net_D.apply(models.dcgan_weights_init)
        net_G, net_D = net_G.to(memory_format=fmt), net_D.to(memory_format=fmt)
        kw = dict(
            latent_dim=latent_dim,
            batch_size=batch_size,
            progress=False,
            opt_G=torch.optim.Adam(net_G.parameters(), lr=2e-3, betas=(0.0, 0.99)),
            opt_D=torch.optim.Adam(net_D.parameters(), lr=5e-4, betas=(0.0, 0.99)),
        )
        if not plain:
            kw.update(rule=updates.Alternating(reuse_fake=not fresh_noise),
                      ema_decay=0.998)
        train.train_gan(net_G, net_D, X, num_steps=5, **kw)  # warm-up
        start = time.perf_counter()
        train.train_gan(net_G, net_D, X, num_steps=steps, **kw)
        rates.append(steps * batch_size / (time.perf_counter() - start))
    return statistics.median(rates), rates


def step_flops(width, batch_size, latent_dim, channels_last=True):
    """Floating-point operations of one 06_dcgan training step (one D step,
    one G step reusing the fake batch), counted by torch's flop counter."""
    from torch.utils.flop_counter import FlopCounterMode

    utils.set_seed(0)
    net_G = models.dcgan_generator(latent_dim, width[0])
    net_D = models.dcgan_discriminator(width[1])
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    net_G, net_D = net_G.to(memory_format=fmt), net_D.to(memory_format=fmt)
    X = torch.randn(4 * batch_size, 1, 28, 28)
    counter = FlopCounterMode(display=False)
    with counter:
        train.train_gan(net_G, net_D, X, latent_dim=latent_dim, batch_size=batch_size,
                        num_steps=1, progress=False,
                        rule=updates.Alternating(reuse_fake=True))
    return counter.get_total_flops()


def matmul_rate(threads, size=1024, repeats=20):
    """GFLOP/s of a float32 (size x size) @ (size x size) product, median of
    ``repeats`` timings after a warm-up."""
    torch.set_num_threads(threads)
    a, b = torch.randn(size, size), torch.randn(size, size)
    for _ in range(3):
        a @ b
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return 2 * size**3 / statistics.median(times) / 1e9


def roofline(args):
    width, batch_size, threads = args.widths[0], args.batches[0], args.threads[0]
    flops = step_flops(width, batch_size, args.latent_dim)
    before = matmul_rate(threads)
    median, rates = time_setting(width, batch_size, threads, args.latent_dim,
                                 args.steps, args.repeats, channels_last=True)
    after = matmul_rate(threads)
    achieved = flops * median / batch_size / 1e9
    peak = max(before, after)
    print(f"DCGAN {width[0]}/{width[1]}, batch {batch_size}, {threads} thread(s), "
          "channels-last")
    print(f"  one training step: {flops / 1e9:.3f} GFLOP (convolutions and matrix "
          "products, forward and backward)")
    print(f"  throughput: {median:,.0f} real images/s (runs: "
          + ", ".join(f"{r:.0f}" for r in rates) + ")")
    print(f"  achieved: {achieved:.1f} GFLOP/s")
    print(f"  float32 1024 x 1024 matrix product: {before:.1f} GFLOP/s before, "
          f"{after:.1f} after")
    print(f"  the DCGAN step runs at {achieved / peak:.0%} of the matrix product's rate")


def width_pair(text):
    """'48/32' -> (48, 32); '32' -> (32, 32)."""
    try:
        parts = [int(p) for p in text.split("/")]
    except ValueError:
        parts = []
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or min(parts) < 2:
        raise argparse.ArgumentTypeError(
            f"a width is N or G/D with integers >= 2, got {text!r}"
        )
    return tuple(parts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--widths", type=width_pair, nargs="+", default=[(48, 32), (32, 32), (64, 64)]
    )
    parser.add_argument("--batches", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--threads", type=int, nargs="+", default=[2])
    parser.add_argument("--latent-dim", type=int, default=32)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--formats",
        nargs="+",
        default=["contiguous", "channels_last"],
        choices=["contiguous", "channels_last"],
    )
    parser.add_argument(
        "--plain", action="store_true",
        help="time the loop without 06's options (reuse_fake, moving average)",
    )
    parser.add_argument(
        "--fresh-noise", action="store_true",
        help="06's options, but the generator step draws fresh noise (REUSE_FAKE = "
        "False, Algorithm 1)",
    )
    parser.add_argument(
        "--roofline", action="store_true",
        help="count one step's FLOPs and compare its rate with a matrix product's "
        "(first width, batch and thread count only)",
    )
    args = parser.parse_args(argv)
    if args.roofline:
        roofline(args)
        return
    print(
        f"{'format':>13} {'width':>5} {'batch':>5} {'threads':>7} {'images/s':>9}"
        "  (all runs)"
    )
    for fmt in args.formats:
        for threads in args.threads:
            for width in args.widths:
                for batch_size in args.batches:
                    median, rates = time_setting(
                        width,
                        batch_size,
                        threads,
                        args.latent_dim,
                        args.steps,
                        args.repeats,
                        channels_last=fmt == "channels_last",
                        plain=args.plain,
                        fresh_noise=args.fresh_noise,
                    )
                    runs = ", ".join(f"{r:.0f}" for r in rates)
                    label = f"{width[0]}/{width[1]}"
                    print(
                        f"{fmt:>13} {label:>5} {batch_size:>5} {threads:>7} "
                        f"{median:>9.0f}  ({runs})",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
