"""Train a GAN on the 8-Gaussian ring without label smoothing, with one-sided
smoothing (real target 0.9) and with two-sided smoothing (real 0.9, fake 0.1), at
the same budget over several seeds, and write data/label_smoothing_ring.json, the
table notebook 02 shows.

    python scripts/label_smoothing_ring.py --seeds 0-4
    python scripts/label_smoothing_ring.py --seeds 0 --steps 200 --decay 100 --out /tmp/x

The recipe is notebook 04's vanilla ring recipe (two ReLU layers of 128 for both
players, 2-D noise, batch 256, Adam with betas (0.5, 0.999) at 1e-3 for both, then
a tenth of that rate), scored like 04 on 2,500 samples: modes covered and the
high-quality share (within 3 sigma of a centre) from course_utils.metrics.points.
Only D's targets differ between the three settings. Runs go one after the other on
one thread; the JSON is rewritten after each run.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch

REPO_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_DIR))

from course_utils import losses, models, toy, train, updates, utils  # noqa: E402
from course_utils.metrics import points  # noqa: E402

OUT_FILE = "label_smoothing_ring.json"
SETTINGS = {"none": (1.0, 0.0), "one-sided": (0.9, 0.0), "two-sided": (0.9, 0.1)}
SIGMA, NUM_SAMPLES, BATCH, HIDDEN, LR = 0.02, 2500, 256, 128, 1e-3


def run(setting: str, seed: int, steps: int, decay: int) -> dict:
    """One run from ``seed``: its modes, strict modes, high-quality share, KL."""
    torch.set_num_threads(1)
    utils.set_seed(seed)
    data = toy.ring(50_000, sigma=SIGMA, generator=torch.Generator().manual_seed(seed))
    net_G = models.mlp_generator(2, (HIDDEN, HIDDEN), 2, "relu")
    net_D = models.mlp_discriminator(2, (HIDDEN, HIDDEN), "relu")
    opt_G = torch.optim.Adam(net_G.parameters(), LR, betas=(0.5, 0.999))
    opt_D = torch.optim.Adam(net_D.parameters(), LR, betas=(0.5, 0.999))
    rule = updates.Alternating(losses.label_smoothing(*SETTINGS[setting]))
    train.train_gan(net_G, net_D, data, rule=rule, latent_dim=2, batch_size=BATCH,
                    opt_G=opt_G, opt_D=opt_D, num_steps=steps + decay,
                    schedule=train.step_decay(steps, 0.1), device="cpu",
                    progress=False)
    samples = models.sample_generator(net_G, NUM_SAMPLES, 2, seed=2)
    figures = points.evaluate_points(samples, toy.ring_centres(8, 2.0), SIGMA)
    return {key: round(float(figures[key]), 4)
            for key in ("modes", "modes_strict", "hq", "kl")}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0-4", help="first-last, e.g. 0-4")
    parser.add_argument("--steps", type=int, default=3000, help="steps at 1e-3")
    parser.add_argument("--decay", type=int, default=2000, help="then at 1e-4")
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS))
    parser.add_argument("--out", type=Path, default=REPO_DIR / "data")
    args = parser.parse_args(argv)
    first, _, last = args.seeds.partition("-")
    seeds = list(range(int(first), int(last or first) + 1))
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / OUT_FILE
    table = json.loads(path.read_text()) if path.exists() else {"runs": []}
    if table.get("steps", args.steps) != args.steps or table.get(
            "decay_steps", args.decay) != args.decay:
        table["runs"] = []  # another budget: start afresh
    table.update(made_by="scripts/label_smoothing_ring.py", steps=args.steps,
                 decay_steps=args.decay, targets=SETTINGS,
                 machine=f"{platform.machine()}, 1 thread, torch {torch.__version__}")
    for seed in seeds:
        for setting in args.settings:
            start = time.perf_counter()
            row = {"setting": setting, "seed": seed, **run(setting, seed, args.steps,
                                                            args.decay)}
            row["wall_seconds"] = round(time.perf_counter() - start, 1)
            table["runs"] = [r for r in table["runs"] if (r["setting"], r["seed"])
                             != (setting, seed)] + [row]
            table["seeds"] = sorted({r["seed"] for r in table["runs"]})
            path.write_text(json.dumps(table, indent=1) + "\n")
            print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
