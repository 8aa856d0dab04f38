"""Run the WGAN-GP paper's recipe, the course's tuned recipe, each departure
between them, and a small tuning of WGAN with clipping, on notebook 08's ring;
write the figures to data/wgan_ring_recipes.json, which the notebook displays.

    python scripts/wgan_ring_recipes.py                   # the default seeds 0 1 2
    python scripts/wgan_ring_recipes.py --steps 20 --out /tmp/try   # a smoke test

The networks, the losses, the data and the training loop are the notebook's own:
the script runs the notebook's parameters cell and its cells tagged "wgan-nets",
"ring-recipe" and "ring-train" (with the course's reference losses and penalty in
place of the exercises), so the figures and the notebook cannot drift apart. Every
recipe gets the same number of generator steps (the notebook's RING_STEPS +
RING_DECAY_STEPS); runs are one at a time on one thread, and the JSON is rewritten
after every run, so an interrupted run keeps what it finished.
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

NOTEBOOK = REPO_DIR / "notebooks" / "08_wgan.ipynb"
TAGS = ("wgan-nets", "ring-recipe", "ring-train")
PREAMBLE = """
import math
import numpy as np
import torch
from torch import nn
from course_utils import divergences, losses, models, reference, toy, train, updates
from course_utils import utils
from course_utils.metrics import points
wgan_losses = reference.wasserstein_losses
penalty_of = reference.interpolate_gradient_penalty
"""


def load_recipe(notebook: Path = NOTEBOOK) -> dict:
    """Run the notebook's parameters cell and its tagged cells; return their names."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    names: dict = {"__name__": "wgan_ring_recipe"}
    exec(PREAMBLE, names)
    for tag in ("parameters",) + TAGS:
        found = [c for c in cells if tag in c.get("metadata", {}).get("tags", [])]
        if len(found) != 1:
            raise RuntimeError(f"{notebook.name} must have one cell tagged {tag!r}, "
                               f"found {len(found)}")
        exec("".join(found[0]["source"]), names)
        if tag == "parameters":
            names["device"] = torch.device("cpu")
    return names


def gp(lam=0.1, k=2, lr=1e-3, betas=(0.5, 0.9), decay=True):
    return {"kind": "gp", "lam": lam, "k": k, "lr": lr, "betas": list(betas),
            "decay": decay}


def clip(lr=5e-5, c=0.01):
    return {"kind": "clip", "lr": lr, "c": c, "k": 5, "batch": 64}


PAPER = gp(lam=10.0, k=5, lr=1e-4, betas=(0.0, 0.9), decay=False)
TUNED = gp()
# the tuned recipe with one of its departures from the paper undone
DEPARTURES = [
    ("tuned, lambda 10", gp(lam=10.0)),
    ("tuned, betas (0, 0.9)", gp(betas=(0.0, 0.9))),
    ("tuned, no decay (1e-3 throughout)", gp(decay=False)),
    ("tuned, lr 1e-4 throughout", gp(lr=1e-4, decay=False)),
    ("tuned, 5 critic steps", gp(k=5)),
]
# (name, recipe, seeds: "all" or "first"), in order of priority; "best clipping"
# reruns, on the other seeds, the clipping recipe that scored best on the first seed
RECIPES = [
    ("paper", PAPER, "all"),
    ("tuned", TUNED, "all"),
    ("clipping, paper (RMSProp 5e-5, c 0.01)", clip(), "all"),
    ("clipping, RMSProp 2e-4, c 0.01", clip(2e-4), "first"),
    ("clipping, RMSProp 1e-3, c 0.01", clip(1e-3), "first"),
    ("clipping, RMSProp 2e-4, c 0.1", clip(2e-4, 0.1), "first"),
    ("best clipping", None, "rest"),
] + [(name, recipe, "first") for name, recipe in DEPARTURES] + [
    ("plain GAN (Adam 1e-3, betas (0.5, 0.999))", {"kind": "plain", "lr": 1e-3}, "all"),
] + [(name, recipe, "rest") for name, recipe in DEPARTURES]


def best_clipping(rows: list) -> dict:
    """The clipping row whose first-seed run has the most modes, then the highest
    high-quality share."""
    tried = [r for r in rows if r["recipe"] and r["recipe"]["kind"] == "clip"]
    return max(tried, key=lambda r: (r["runs"][0]["modes"], r["runs"][0]["hq"]))


def run_one(names: dict, recipe: dict, seed: int, steps: int) -> dict:
    torch.manual_seed(seed)
    data = names["toy"].ring(50_000, sigma=names["SIGMA"],
                             generator=torch.Generator().manual_seed(seed))
    reference_points = data[:500]
    train_ring, kind = names["train_ring"], recipe["kind"]
    start = time.perf_counter()
    if kind == "gp":
        lr, half = recipe["lr"], steps // 2
        phases = [(half, lr), (steps - half, lr / 10)] if recipe["decay"] else [
            (steps, lr)]
        betas = tuple(recipe["betas"])
        net_G, _, _ = train_ring(
            seed, data, names["penalised"](recipe["lam"]), phases,
            lambda p: torch.optim.Adam(p, lr, betas=betas), critic_steps=recipe["k"],
            progress=False)
    elif kind == "clip":
        lr = recipe["lr"]
        net_G, _, _ = train_ring(
            seed, data, names["losses"].wgan_clip(recipe["c"]), [(steps, lr)],
            lambda p: torch.optim.RMSprop(p, lr), critic_steps=recipe["k"],
            batch_size=recipe["batch"], progress=False)
    else:
        lr = recipe["lr"]
        net_G, _, _ = train_ring(
            seed, data, "nonsaturating", [(steps, lr)],
            lambda p: torch.optim.Adam(p, lr, betas=(0.5, 0.999)), progress=False)
    seconds = time.perf_counter() - start
    _, figures = names["evaluate"](net_G)
    samples = names["models"].sample_generator(net_G, 500, 2, seed=10_000 + steps)
    w1 = names["divergences"].wasserstein_2d(samples, reference_points)
    return {"seed": seed, "modes": int(figures["modes"]),
            "hq": round(float(figures["hq"]), 4), "kl": round(float(figures["kl"]), 4),
            "w1": round(float(w1), 4), "train_seconds": round(seconds, 1)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=None,
                        help="generator steps (default: RING_STEPS + RING_DECAY_STEPS)")
    parser.add_argument("--only", nargs="*", default=None,
                        help="run only the recipes whose names start with these")
    parser.add_argument("--out", type=Path, default=REPO_DIR / "data")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    names = load_recipe()
    steps = args.steps or names["RING_STEPS"] + names["RING_DECAY_STEPS"]
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "wgan_ring_recipes.json"
    meta = {
        "made_by": "scripts/wgan_ring_recipes.py, running the cells tagged "
                   f"{', '.join(TAGS)} of notebooks/{NOTEBOOK.name}",
        "generator_steps": steps,
        "samples_scored": names["NUM_SAMPLES"],
        "w1": "exact W1 of 500 samples against 500 ring points of the same seed",
        "machine": f"{platform.machine()}, 1 thread, torch {torch.__version__}; "
                   "train_seconds measured on a shared, loaded CPU",
        "recipes": [],
    }
    start = time.perf_counter()
    for name, recipe, which in RECIPES:
        if args.only is not None and not any(name.startswith(o) for o in args.only):
            continue
        seeds = {"all": args.seeds, "first": args.seeds[:1],
                 "rest": args.seeds[1:]}[which]
        row = {"name": name, "recipe": recipe, "runs": []}
        earlier = [r for r in meta["recipes"] if r["name"] == name]
        if earlier:
            row = earlier[0]
        elif recipe is None:
            best = best_clipping(meta["recipes"])
            row.update(recipe=best["recipe"], same_as=best["name"],
                       runs=list(best["runs"][:1]))
        if not earlier:
            meta["recipes"].append(row)
        for seed in seeds:
            result = run_one(names, row["recipe"], seed, steps)
            row["runs"].append(result)
            print(f"{name}, seed {seed}: {result}", flush=True)
            meta["wall_seconds"] = round(time.perf_counter() - start, 1)
            path.write_text(json.dumps(meta, indent=1) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
