"""Run the WGAN-GP paper's recipe, the course's tuned recipe, each departure
between them, and WGAN with clipping at the paper's settings and tuned as much as
the gradient penalty was, on notebook 08's ring; write the figures to
data/wgan_ring_recipes.json, which the notebook displays.

    python scripts/wgan_ring_recipes.py                   # every recipe, seeds 0 1 2
    python scripts/wgan_ring_recipes.py --only paper tuned --seeds 0 1 2
    python scripts/wgan_ring_recipes.py --list            # the recipes' names
    python scripts/wgan_ring_recipes.py --steps 20 --out build/try   # a smoke test

The networks, the losses, the data and the training loop are the notebook's own:
the script runs the notebook's parameters cell and its cells tagged "wgan-nets",
"ring-recipe" and "ring-train" (with the course's reference losses and penalty in
place of the exercises), so the figures and the notebook cannot drift apart. Every
recipe gets the same number of generator steps (the notebook's RING_STEPS +
RING_DECAY_STEPS); runs are one at a time on one thread. The JSON is rewritten
after every run and read back at the start: a (recipe, seed) already in it is kept
and not run again (unless --rerun), so runs can be added a few at a time and an
interrupted run keeps what it finished. A row whose recipe has changed is run anew.
"""

from __future__ import annotations

import argparse
import fnmatch
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


def clip(lr=5e-5, c=0.01, opt="rmsprop", betas=None, decay=False):
    """WGAN with clipping: 5 critic steps, batch 64, as in Arjovsky et al.;
    `decay` divides the rate by 10 for the second half, as the tuned WGAN-GP does."""
    recipe = {"kind": "clip", "lr": lr, "c": c, "k": 5, "batch": 64, "opt": opt,
              "decay": decay}
    if betas is not None:
        recipe["betas"] = list(betas)
    return recipe


PAPER = gp(lam=10.0, k=5, lr=1e-4, betas=(0.0, 0.9), decay=False)
TUNED = gp()
# the WGAN-GP authors' own 2-D toy code (gan_toy.py): lambda 0.1, Adam 1e-4 with
# betas (0.5, 0.9), 5 critic steps, batch 256 (with wider networks, 100k steps)
TOY_CODE = gp(lam=0.1, k=5, lr=1e-4, betas=(0.5, 0.9), decay=False)
# the tuned recipe with one of its departures from the paper undone
DEPARTURES = [
    ("tuned, lambda 10", gp(lam=10.0)),
    ("tuned, betas (0, 0.9)", gp(betas=(0.0, 0.9))),
    ("tuned, no decay (1e-3 throughout)", gp(decay=False)),
    ("tuned, 5 critic steps", gp(k=5)),
    ("tuned, lr 1e-4 throughout", gp(lr=1e-4, decay=False)),
]
# clipping at the paper's settings, then as many other settings on the first seed
# as the gradient penalty's recipe was tuned with
CLIPPING = [
    ("clipping, RMSProp 2e-4, c 0.01", clip(2e-4)),
    ("clipping, RMSProp 1e-3, c 0.01", clip(1e-3)),
    ("clipping, RMSProp 2e-4, c 0.1", clip(2e-4, 0.1)),
    ("clipping, Adam 1e-4 (0.5, 0.9), c 0.01",
     clip(1e-4, opt="adam", betas=(0.5, 0.9))),
    ("clipping, RMSProp 1e-3 then 1e-4, c 0.01", clip(1e-3, decay=True)),
]
BEST_CLIPPING = "best clipping"
# (name, recipe, seeds: "all", "first" or "rest"), in order of priority; the
# entry BEST_CLIPPING runs, on the other seeds, the clipping row that scored best
# on the first seed (its runs go into that row, which is marked "best")
RECIPES = [
    ("paper", PAPER, "all"),
    ("tuned", TUNED, "all"),
    ("clipping, paper (RMSProp 5e-5, c 0.01)", clip(), "all"),
] + [(name, recipe, "first") for name, recipe in CLIPPING] + [
    (BEST_CLIPPING, None, "rest"),
] + [(name, recipe, "first") for name, recipe in DEPARTURES] + [
    (name, recipe, "rest") for name, recipe in DEPARTURES] + [
    ("plain GAN (Adam 1e-3, betas (0.5, 0.999))", {"kind": "plain", "lr": 1e-3}, "all"),
    ("toy code (lambda 0.1, betas (0.5, 0.9))", TOY_CODE, "all"),
]


def best_clipping(rows: list, seed: int) -> dict:
    """The clipping row whose run on `seed` has the most modes, then the highest
    high-quality share."""
    def score(row):
        run = next(r for r in row["runs"] if r["seed"] == seed)
        return run["modes"], run["hq"]

    tried = [r for r in rows if r["recipe"]["kind"] == "clip"
             and any(run["seed"] == seed for run in r["runs"])]
    if not tried:
        raise RuntimeError(f"no clipping recipe has been run on seed {seed}")
    return max(tried, key=score)


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
        lr, half = recipe["lr"], steps // 2
        phases = [(half, lr), (steps - half, lr / 10)] if recipe.get("decay") else [
            (steps, lr)]
        if recipe.get("opt", "rmsprop") == "adam":
            betas = tuple(recipe["betas"])

            def make_opt(p):
                return torch.optim.Adam(p, lr, betas=betas)
        else:
            def make_opt(p):
                return torch.optim.RMSprop(p, lr)
        net_G, _, _ = train_ring(
            seed, data, names["losses"].wgan_clip(recipe["c"]), phases, make_opt,
            critic_steps=recipe["k"], batch_size=recipe["batch"], progress=False)
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


def read_table(path: Path, steps: int) -> list:
    """The rows already in `path`, if it was made at `steps` generator steps."""
    if not path.exists():
        return []
    meta = json.loads(path.read_text())
    if meta.get("generator_steps") != steps:
        print(f"{path} was made at {meta.get('generator_steps')} generator steps, "
              f"not {steps}: starting a new table", flush=True)
        return []
    return meta["recipes"]


def selected(name: str, only) -> bool:
    return only is None or any(fnmatch.fnmatchcase(name, o) for o in only)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                        help="the first one is the seed the tuning is done on")
    parser.add_argument("--steps", type=int, default=None,
                        help="generator steps (default: RING_STEPS + RING_DECAY_STEPS)")
    parser.add_argument("--only", nargs="*", default=None,
                        help="run only the recipes with these names (shell patterns: "
                             "'clipping*', 'tuned, *')")
    parser.add_argument("--rerun", action="store_true",
                        help="run again the (recipe, seed) pairs already in the table")
    parser.add_argument("--list", action="store_true",
                        help="list the recipes and run none")
    parser.add_argument("--out", type=Path, default=REPO_DIR / "data")
    args = parser.parse_args(argv)
    if args.list:
        for name, recipe, which in RECIPES:
            print(f"{name:44s} seeds: {which:5s} {recipe}")
        return 0
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
        "tuning_seed": args.seeds[0],
        "recipes": read_table(path, steps),
    }
    rows = {row["name"]: row for row in meta["recipes"]}
    order = [name for name, _, _ in RECIPES]

    def save():
        meta["recipes"] = sorted(rows.values(), key=lambda r: order.index(
            r["name"]) if r["name"] in order else len(order))
        path.write_text(json.dumps(meta, indent=1) + "\n")

    for name, recipe, which in RECIPES:
        if not selected(name, args.only):
            continue
        seeds = {"all": args.seeds, "first": args.seeds[:1],
                 "rest": args.seeds[1:]}[which]
        if recipe is None:  # the best clipping row, on the other seeds
            best = best_clipping(list(rows.values()), args.seeds[0])
            for row in rows.values():
                row.pop("best", None)
            best["best"] = f"the best clipping recipe on seed {args.seeds[0]}"
            print(f"{name}: {best['name']}", flush=True)
            row = best
        else:
            row = rows.get(name)
            if row is None or row["recipe"] != recipe:
                row = rows[name] = {"name": name, "recipe": recipe, "runs": []}
        for seed in seeds:
            done = [r for r in row["runs"] if r["seed"] == seed]
            if done and not args.rerun:
                continue
            result = run_one(names, row["recipe"], seed, steps)
            row["runs"] = sorted([r for r in row["runs"] if r["seed"] != seed]
                                 + [result], key=lambda r: r["seed"])
            print(f"{row['name']}, seed {seed}: {result}", flush=True)
            save()
    save()
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
