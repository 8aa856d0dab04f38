"""Run notebook 07's stability study at full size and write data/lsgan_stability.json,
the table the notebook shows next to its own small live run.

    python scripts/lsgan_stability.py --hours 0.62       # the bundled file (seed 0)
    python scripts/lsgan_stability.py --seeds 1 2 --append          # add two seeds
    python scripts/lsgan_stability.py --steps 20 --seeds 0 --out try  # smoke test

The networks, the optimisers, the losses, the training loop and the scores are the
notebook's own: the script runs the notebook's parameters cell and its cells tagged
"stability-recipe", then calls the `stability_run` function they define for
every loss, setting, optimiser and seed, so the table and the notebook cannot drift
apart. The LSGAN runs use the course's least-squares losses
(`reference.least_squares_losses`), the reference solution of Exercise 7.1. Every
run is scored every `--eval-every` generator steps (confident share and class KL of
1,000 samples) and at the end (the same two, and the Frechet distance of those
samples, two draws of 500 against 500 held-out digits). Runs go one after the
other, on one thread, seed after seed; the JSON is rewritten after each seed, so
it always holds whole seeds, and `--hours` stops before a seed that would end late
(which seeds are in the file may depend on the machine's speed; their numbers do
not), and `--append` adds seeds to the file already there.
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

from course_utils import data, reference  # noqa: E402

NOTEBOOK = REPO_DIR / "notebooks" / "07_lsgan.ipynb"
RECIPE_TAG = "stability-recipe"
OUT_FILE = "lsgan_stability.json"
PREAMBLE = """
import math
import numpy as np
import torch
from torch import nn
from course_utils import data as course_data
from course_utils import losses, metrics, models, train, updates, utils
"""


def recipe_sources(notebook: Path = NOTEBOOK) -> tuple[str, str]:
    """The sources of the notebook's parameters cell and of its recipe cells, in
    the notebook's order."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]

    def tagged(tag):
        return ["".join(c["source"]) for c in cells
                if tag in c.get("metadata", {}).get("tags", [])]

    parameters, recipe = tagged("parameters"), tagged(RECIPE_TAG)
    if len(parameters) != 1 or not recipe:
        raise RuntimeError(f"{notebook.name} must have one cell tagged 'parameters' "
                           f"and at least one tagged {RECIPE_TAG!r}, found "
                           f"{len(parameters)} and {len(recipe)}")
    return parameters[0], "\n\n".join(recipe)


def load_recipe(notebook: Path = NOTEBOOK) -> dict:
    """Run the notebook's parameters and recipe cells on the CPU, one thread."""
    torch.set_num_threads(1)
    parameters, recipe = recipe_sources(notebook)
    names: dict = {"__name__": "lsgan_stability_recipe"}
    exec(PREAMBLE, names)
    exec(parameters, names)
    names["device"] = torch.device("cpu")
    names["ls_pair"] = reference.least_squares_losses
    exec(recipe, names)
    return names


def run_row(names: dict, cell: tuple, seed: int, steps: int, eval_every: int) -> dict:
    start = time.perf_counter()
    result = names["stability_run"](*cell, seed, steps, eval_every)
    loss, setting, opt = cell
    row = {"loss": loss, "setting": setting, "optimizer": opt, "seed": seed}
    row.update({k: v for k, v in result.items() if k != "samples"})
    row["train_seconds"] = round(time.perf_counter() - start, 1)
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                        help="seeds of every cell of the table")
    parser.add_argument("--steps", type=int, default=3000,
                        help="generator steps of every run")
    parser.add_argument("--eval-every", type=int, default=500,
                        help="generator steps between two scorings")
    parser.add_argument("--hours", type=float, default=None,
                        help="start no further seed that would end after this "
                             "many hours (judged by the last seed's time)")
    parser.add_argument("--append", action="store_true",
                        help="add the seeds to the table already in --out (made with "
                             "the same steps and scoring); seeds it holds are skipped")
    parser.add_argument("--out", type=Path, default=REPO_DIR / "data",
                        help="folder for lsgan_stability.json")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.eval_every < 1:
        parser.error("--steps and --eval-every must be at least 1")
    if args.hours is not None and args.hours <= 0:
        parser.error("--hours must be positive")
    if len(set(args.seeds)) != len(args.seeds) or min(args.seeds) < 0:
        parser.error("--seeds must be distinct and >= 0")
    names = load_recipe()
    cells = list(names["PAPER_TABLE"])
    print(f"{len(cells)} cells x {len(args.seeds)} seed(s), {args.steps} steps each, "
          "one thread", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    meta = {
        "made_by": "scripts/lsgan_stability.py, running the cells tagged "
                   f"'{RECIPE_TAG}' of notebooks/{NOTEBOOK.name}",
        "steps": args.steps,
        "eval_every": args.eval_every,
        "seeds": [],
        "seeds_asked": args.seeds,
        "paper_table": [[*cell, collapsed]
                        for cell, collapsed in names["PAPER_TABLE"].items()],
        "data": "bundled MNIST subset, train split (4,000 digits)",
        "data_sha256": data.MNIST_SHA256,
        "machine": f"{platform.machine()}, 1 thread, torch {torch.__version__}",
        "runs": [],
        "complete": False,
    }
    path = args.out / OUT_FILE
    if args.append and path.exists():
        old = json.loads(path.read_text())
        if any(old[k] != meta[k] for k in ("steps", "eval_every", "paper_table",
                                           "data_sha256")):
            parser.error(f"--append: {path} was made with other settings")
        meta = old
        meta["seeds_asked"] += [s for s in args.seeds if s not in meta["seeds_asked"]]
    done_before = meta.get("wall_seconds", 0.0)
    start = time.perf_counter()
    last = 0.0  # seconds of the last seed
    for seed in [s for s in args.seeds if s not in meta["seeds"]]:
        # seed by seed: the file holds whole seeds only
        elapsed = time.perf_counter() - start
        if args.hours is not None and elapsed + last > args.hours * 3600:
            print(f"stopping before seed {seed}: {args.hours} h would be exceeded")
            break
        rows = []
        for cell in cells:
            rows.append(run_row(names, cell, seed, args.steps, args.eval_every))
            print(f"{', '.join(cell)}, seed {seed}: " + names["describe_run"](rows[-1])
                  + f" ({rows[-1]['train_seconds']:.0f} s)", flush=True)
        last = time.perf_counter() - start - elapsed
        meta["runs"] += rows
        meta["seeds"].append(seed)
        meta["wall_seconds"] = round(done_before + time.perf_counter() - start, 1)
        meta["complete"] = set(meta["seeds_asked"]) <= set(meta["seeds"])
        path.write_text(json.dumps(meta, indent=1) + "\n")
    print(f"wrote {path}: seeds {meta['seeds']} "
          f"({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
