"""What each speed lever is worth on this machine, measured before it is kept.

Two workloads, each run as the course runs it:

* ``mlp``: the training step of notebook 04's best recipe (ReLU networks of two
  hidden layers of 128, packs of 2, batch 256, Adam at 1e-3);
* ``dcgan``: the training step of notebook 06 (widths 48/32, batch 64, Adam
  2e-3 / 5e-4 with betas (0, 0.99), the fake batch reused, a moving average
  of G's weights);

and one evaluation: the course's digit classifier reading 5,000 images, as the
notebooks' Frechet distance and confident share do.

Levers, each timed against the setting the course uses now (``base``):

* ``adam=foreach`` / ``adam=fused``: torch's other Adam implementations;
* ``contiguous``: the DCGAN in the default memory format instead of channels-last;
* ``no-logging``: the per-step ``.item()`` calls that feed the history and the
  non-finite check, timed on their own (on a CPU they wait for nothing; on a GPU
  each one waits for the queue to drain);
* ``inference_mode``: evaluation under ``torch.inference_mode`` instead of
  ``torch.no_grad``;
* ``compile``: ``torch.compile`` on both networks, its compile time counted
  apart and as the number of steps it needs to pay for itself.

Each timing is the median of ``--repeats`` runs after a warm-up, the settings
interleaved so that a change in the machine's load falls on all of them. It
also says whether the lever leaves the trained weights bit for bit the same
after ``--check-steps`` steps: a lever that does not changes every figure the
notebooks record (training amplifies rounding), so the multi-seed tables have
to be measured again before it can be kept.

    python scripts/bench_levers.py --threads 1 --repeats 5
    python scripts/bench_levers.py --only mlp dcgan --threads 2
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from course_utils import data, models, train, updates, utils

MLP_STEPS = 200
DCGAN_STEPS = 40


def _adam(params, lr, betas, impl):
    extra = {"foreach": {"foreach": True}, "fused": {"fused": True}}.get(impl, {})
    return torch.optim.Adam(params, lr=lr, betas=betas, **extra)


def mlp_run(steps, impl="single", compiled=False):
    """04's best-recipe step; returns (seconds, G's weights, compile seconds)."""
    utils.set_seed(0)
    X = torch.randn(20000, 2)
    net_G = models.mlp_generator(2, (128, 128), 2, "relu")
    net_D = models.mlp_discriminator(4, (128, 128), "relu")
    opt_G = _adam(net_G.parameters(), 1e-3, (0.5, 0.999), impl)
    opt_D = _adam(net_D.parameters(), 1e-3, (0.5, 0.999), impl)
    G, D, compile_s = _maybe_compile(
        net_G, net_D, compiled,
        lambda G, D: D(G(torch.randn(512, 2)).reshape(256, 4)).mean()
        + D(torch.randn(256, 4)).mean())
    start = time.perf_counter()
    train.train_gan(G, D, X, rule=updates.Packed(pack=2), latent_dim=2,
                    batch_size=256, opt_G=opt_G, opt_D=opt_D, num_steps=steps,
                    progress=False)
    return time.perf_counter() - start, _weights(net_G), compile_s


def dcgan_run(steps, impl="single", channels_last=True, compiled=False):
    """06's step; returns (seconds, G's weights, compile seconds)."""
    utils.set_seed(0)
    X, _ = data.mnist("train")
    net_G = models.dcgan_generator(32, 48)
    net_D = models.dcgan_discriminator(32)
    net_G.apply(models.dcgan_weights_init)
    net_D.apply(models.dcgan_weights_init)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    net_G, net_D = net_G.to(memory_format=fmt), net_D.to(memory_format=fmt)
    opt_G = _adam(net_G.parameters(), 2e-3, (0.0, 0.99), impl)
    opt_D = _adam(net_D.parameters(), 5e-4, (0.0, 0.99), impl)
    G, D, compile_s = _maybe_compile(
        net_G, net_D, compiled,
        lambda G, D: D(G(torch.randn(64, 32))).mean()
        + D(torch.randn(64, 1, 28, 28).to(memory_format=fmt)).mean())
    start = time.perf_counter()
    train.train_gan(G, D, X, rule=updates.Alternating(reuse_fake=True), latent_dim=32,
                    batch_size=64, opt_G=opt_G, opt_D=opt_D, ema_decay=0.998,
                    num_steps=steps, progress=False)
    return time.perf_counter() - start, _weights(net_G), compile_s


def _maybe_compile(net_G, net_D, compiled, warm_up):
    if not compiled:
        return net_G, net_D, 0.0
    G, D = torch.compile(net_G), torch.compile(net_D)
    start = time.perf_counter()
    for _ in range(2):  # forward and backward graphs of both networks
        warm_up(G, D).backward()
    for p in list(net_G.parameters()) + list(net_D.parameters()):
        p.grad = None
    return G, D, time.perf_counter() - start


def _weights(net):
    return torch.cat([p.detach().flatten() for p in net.parameters()])


def item_cost(calls_per_step, steps=2000):
    """Seconds per step spent on ``calls_per_step`` ``.item()`` calls on a
    fresh scalar (what the rules log each step)."""
    x = torch.randn(256)
    start = time.perf_counter()
    for _ in range(steps):
        for _ in range(calls_per_step):
            x.mean().item()
    return (time.perf_counter() - start) / steps


def eval_run(model, mode, n=5000):
    """Seconds for the classifier to read ``n`` images in 500s."""
    images = torch.rand(n, 1, 28, 28) * 2 - 1
    context = torch.inference_mode if mode == "inference_mode" else torch.no_grad
    start = time.perf_counter()
    with context():
        for i in range(0, n, 500):
            model(images[i:i + 500])
    return time.perf_counter() - start


def bench_workload(name, run, steps, levers, repeats, check_steps):
    print(f"\n{name}: {steps} steps per timing, median of {repeats}")
    run(5, **levers["base"])  # warm-up
    times = {k: [] for k in levers}
    compile_s = {}
    for _ in range(repeats):
        for key, kw in levers.items():
            seconds, _, c = run(steps, **kw)
            compile_s.setdefault(key, c)  # the first compile is the cold one
            times[key].append(seconds / steps)
    base_w = run(check_steps, **levers["base"])[1]
    base = statistics.median(times["base"])
    print(f"{'lever':20s} {'ms/step':>9s} {'vs base':>8s}  weights after "
          f"{check_steps} steps")
    for key, kw in levers.items():
        med = statistics.median(times[key])
        same = torch.equal(run(check_steps, **kw)[1], base_w) if key != "base" else True
        extra = ""
        if kw.get("compiled"):
            c = compile_s[key]
            saved = base - med
            pays = f"pays for itself after {c / saved:,.0f} steps" if saved > 0 else \
                "never pays for itself"
            extra = f"  (compile {c:.1f} s; {pays})"
        print(f"{key:20s} {med * 1e3:9.2f} {med / base:8.2f}  "
              f"{'identical' if same else 'differ'}{extra}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--check-steps", type=int, default=50)
    parser.add_argument("--only", nargs="+", default=["mlp", "dcgan", "eval", "item"],
                        choices=["mlp", "dcgan", "eval", "item"])
    parser.add_argument("--compile", action="store_true",
                        help="also time torch.compile (slow to compile)")
    args = parser.parse_args(argv)
    if args.threads < 1 or args.repeats < 1:
        parser.error("--threads and --repeats must be >= 1")
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s)")

    if "mlp" in args.only:
        levers = {"base": {}, "adam=foreach": {"impl": "foreach"},
                  "adam=fused": {"impl": "fused"}}
        if args.compile:
            levers["compile"] = {"compiled": True}
        bench_workload("04 best recipe (MLP, packed)", mlp_run, MLP_STEPS, levers,
                       args.repeats, args.check_steps)
    if "dcgan" in args.only:
        levers = {"base": {}, "contiguous": {"channels_last": False},
                  "adam=foreach": {"impl": "foreach"}, "adam=fused": {"impl": "fused"}}
        if args.compile:
            levers["compile"] = {"compiled": True}
        bench_workload("06 DCGAN 48/32, batch 64", dcgan_run, DCGAN_STEPS, levers,
                       args.repeats, min(args.check_steps, 20))
    if "item" in args.only:
        per_step = item_cost(4)
        print(f"\nhost reads: four .item() calls per step cost {per_step * 1e6:.0f} us "
              "per step")
    if "eval" in args.only:
        from course_utils import classifier

        model = classifier.load_classifier()
        print("\nclassifier on 5,000 images:")
        eval_run(model, "no_grad")
        runs = {m: [] for m in ("no_grad", "inference_mode")}
        for _ in range(args.repeats):
            for m in runs:
                runs[m].append(eval_run(model, m))
        base = statistics.median(runs["no_grad"])
        for m, ts in runs.items():
            med = statistics.median(ts)
            print(f"{m:20s} {med:7.3f} s {med / base:8.2f}")


if __name__ == "__main__":
    main()
