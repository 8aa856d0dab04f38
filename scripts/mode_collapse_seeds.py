"""Train notebook 04's methods on more seeds and write data/mode_collapse_seeds.json,
the multi-seed tables the notebook shows next to its own seed-0 runs.

    python scripts/mode_collapse_seeds.py --runs best:ring:vanilla:0-4
    python scripts/mode_collapse_seeds.py --runs remedy:ring:unrolled_sgd:1-2 \\
        best:grid:vanilla:0-2 --out /tmp/try

A run is ``kind:dataset:method:seeds``. ``remedy`` trains in the collapsing setting
(the notebook's ``REMEDY_STEPS`` at ``COLLAPSE_LR_G`` / ``COLLAPSE_LR_D``);
``best`` trains the notebook's best recipe (both rates 1e-3, ``BEST_STEPS`` steps,
then ``BEST_DECAY_RING`` or ``BEST_DECAY_GRID`` steps at a tenth of the rates).
Methods are the notebook's (``vanilla``, ``minibatch`` (the minibatch standard
deviation), ``minibatch_discrimination``, ``packed``, ``unrolled``),
plus ``unrolled_sgd``: the unrolled GAN whose look-ahead takes plain SGD steps at
``UNROLL_LR`` instead of D's own Adam steps.

The data, networks, update rules, training loop and scores are the notebook's
own: the script runs its parameters cell and the cells tagged "seed-recipe", then
calls the ``run_method`` function they define, so the tables and the notebook
cannot drift apart. Runs go one after the other on one thread; the JSON is
rewritten after each run, so a run that is stopped keeps what it finished.
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

from course_utils import reference  # noqa: E402

NOTEBOOK = REPO_DIR / "notebooks" / "04_mode_collapse.ipynb"
RECIPE_TAG = "seed-recipe"
OUT_FILE = "mode_collapse_seeds.json"
PREAMBLE = """
import math
import time
import numpy as np
import torch
from torch import nn
from course_utils import models, toy, train, updates, utils
from course_utils.metrics import points
"""
METHODS = ("vanilla", "minibatch", "minibatch_discrimination", "packed", "unrolled",
           "unrolled_sgd")


def recipe_sources(notebook: Path = NOTEBOOK) -> tuple[str, list[str]]:
    """The source of the notebook's parameters cell and of its recipe cells."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]

    def with_tag(tag):
        return ["".join(c["source"]) for c in cells
                if tag in c.get("metadata", {}).get("tags", [])]

    parameters, recipe = with_tag("parameters"), with_tag(RECIPE_TAG)
    if len(parameters) != 1 or not recipe:
        raise RuntimeError(f"{notebook.name} needs one parameters cell and cells "
                           f"tagged {RECIPE_TAG!r}")
    return parameters[0], recipe


def load_recipe(seed: int, notebook: Path = NOTEBOOK) -> dict:
    """Run the parameters and recipe cells for ``seed``, on the CPU, one thread."""
    torch.set_num_threads(1)
    parameters, recipe = recipe_sources(notebook)
    names: dict = {"__name__": "mode_collapse_recipe"}
    exec(PREAMBLE, names)
    exec(parameters, names)
    names.update(SEED=seed, device=torch.device("cpu"),
                 batch_spread=reference.append_batch_spread,
                 discrimination_features=reference.minibatch_discrimination_features)
    for source in recipe:
        exec(source, names)
    return names


def train_one(kind: str, dataset: str, method: str, seed: int) -> dict:
    names = load_recipe(seed)
    if method == "unrolled_sgd":
        names["UNROLL_OPTIMIZER"], method = "sgd", "unrolled"
    if kind == "remedy":
        figures = names["run_method"](dataset, method, names["REMEDY_STEPS"])
    else:
        decay = names["BEST_DECAY_RING" if dataset == "ring" else "BEST_DECAY_GRID"]
        figures = names["run_method"](dataset, method, names["BEST_STEPS"], lr_G=0.001,
                                      lr_D=0.001, decay_steps=decay)
    keys = ("modes", "modes_strict", "hq", "kl", "seconds")
    return {key: round(float(figures[key]), 4) for key in keys}


def parse_run(text: str) -> list[tuple]:
    kind, dataset, method, seeds = text.split(":")
    if kind not in ("remedy", "best") or dataset not in ("ring", "grid") \
            or method not in METHODS:
        raise ValueError(f"bad run {text!r}")
    first, _, last = seeds.partition("-")
    return [(kind, dataset, method, s) for s in range(int(first), int(last or first) + 1)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", nargs="+", required=True,
                        help="kind:dataset:method:seeds, e.g. best:ring:vanilla:0-4")
    parser.add_argument("--out", type=Path, default=REPO_DIR / "data",
                        help=f"folder for {OUT_FILE} (runs are added to it)")
    args = parser.parse_args(argv)
    try:
        plan = [run for text in args.runs for run in parse_run(text)]
    except ValueError as error:
        parser.error(str(error))
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / OUT_FILE
    table = json.loads(path.read_text()) if path.exists() else {
        "made_by": "scripts/mode_collapse_seeds.py, running the cells tagged "
                   f"'{RECIPE_TAG}' of notebooks/{NOTEBOOK.name}",
        "runs": []}
    table["machine"] = f"{platform.machine()}, 1 thread, torch {torch.__version__}"
    for kind, dataset, method, seed in plan:
        start = time.perf_counter()
        row = {"kind": kind, "dataset": dataset, "method": method, "seed": seed}
        row.update(train_one(kind, dataset, method, seed))
        row["wall_seconds"] = round(time.perf_counter() - start, 1)
        table["runs"] = [r for r in table["runs"] if
                         (r["kind"], r["dataset"], r["method"], r["seed"])
                         != (kind, dataset, method, seed)] + [row]
        path.write_text(json.dumps(table, indent=1) + "\n")
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
