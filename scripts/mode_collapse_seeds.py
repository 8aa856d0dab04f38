"""Train notebook 04's methods on more seeds and write data/mode_collapse_seeds.json,
the multi-seed tables the notebook shows next to its own seed-0 runs.

    python scripts/mode_collapse_seeds.py --runs best:ring:vanilla:0-4
    python scripts/mode_collapse_seeds.py --runs remedy:ring:unrolled_sgd:1-2 \\
        best:grid:vanilla:0-2 --out some/folder
    python scripts/mode_collapse_seeds.py --runs rejection:grid:packed:0-4

A run is ``kind:dataset:method:seeds``. ``remedy`` trains in the collapsing setting
(the notebook's ``REMEDY_STEPS`` at ``COLLAPSE_LR_G`` / ``COLLAPSE_LR_D``);
``best`` trains the notebook's best recipe (both rates 1e-3, ``BEST_STEPS`` steps,
then ``BEST_DECAY_RING`` or ``BEST_DECAY_GRID`` steps at a tenth of the rates).
``rejection`` trains the best recipe, then the notebook's density-ratio
discriminator against the frozen generator (``DRS_STEPS_RING`` or
``DRS_STEPS_GRID`` steps) and rejection-samples the generator's draws with it; it
writes two rows, the trained generator's (kind ``best``) and the kept samples'
(kind ``rejection``). The rejection run of the grid at seed 0 also writes
``mode_collapse_grid.pt``, the state dicts of that generator and discriminator,
which the notebook loads instead of training them (its SHA-256 is recorded in the
JSON under ``bundled``). ``mnist:mnist:rates:SEEDS`` trains the notebook's two
small MNIST GANs (the generator ten times faster, and equal rates) and records the
KL of their classified digits to uniform; at seed 0 it writes
``mode_collapse_mnist.pt``, the two generators' state dicts.
Methods are the notebook's (``vanilla``, ``minibatch`` (the minibatch standard
deviation), ``minibatch_discrimination``, ``packed``, ``unrolled``),
plus ``unrolled_sgd``: the unrolled GAN whose look-ahead takes plain SGD steps at
``UNROLL_LR`` instead of D's own Adam steps.

The data, networks, update rules, training loop and scores are the notebook's
own: the script runs its parameters cell and the cells tagged "seed-recipe", then
calls the functions they define (``run_method``, ``fit_density_ratio``,
``rejection_figures``, ``mnist_gan``), so the tables are made by the notebook's own
code; after a change to those cells, rerun the runs they affect. Runs go one after
the other on one thread; the JSON is rewritten after each run, so a run that is
stopped keeps what it finished.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import platform
import sys
import time
from pathlib import Path

import torch

REPO_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_DIR))

from course_utils import metrics, reference  # noqa: E402

NOTEBOOK = REPO_DIR / "notebooks" / "04_mode_collapse.ipynb"
RECIPE_TAG = "seed-recipe"
OUT_FILE = "mode_collapse_seeds.json"
# the runs whose trained networks the notebook loads, and the files they go to
BUNDLES = {("rejection", "grid", "packed", 0): ("grid", "mode_collapse_grid.pt"),
           ("mnist", "mnist", "rates", 0): ("mnist", "mode_collapse_mnist.pt")}
PREAMBLE = """
import math
import time
import numpy as np
import torch
from torch import nn
from course_utils import metrics, models, toy, train, updates, utils
from course_utils import data as course_data
from course_utils.metrics import points
"""
# --quick: the step counts of the notebook's QUICK mode (for tests of this script)
QUICK_STEPS = {"REMEDY_STEPS": 20, "BEST_STEPS": 20, "BEST_DECAY_RING": 10,
               "BEST_DECAY_GRID": 10, "DRS_STEPS_RING": 30, "DRS_STEPS_GRID": 30}
METHODS = ("vanilla", "minibatch", "minibatch_discrimination", "packed", "unrolled",
           "unrolled_sgd")
QUICK_STEPS["MNIST_STEPS"] = 20


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


_SOURCES: dict = {}


def load_recipe(seed: int, notebook: Path = NOTEBOOK, quick: bool = False) -> dict:
    """Run the parameters and recipe cells for ``seed``, on the CPU, one thread.
    The cells are read once per notebook, so every run of one invocation uses the
    same code even if the notebook is edited meanwhile."""
    torch.set_num_threads(1)
    if notebook not in _SOURCES:
        _SOURCES[notebook] = recipe_sources(notebook)
    parameters, recipe = _SOURCES[notebook]
    names: dict = {"__name__": "mode_collapse_recipe"}
    exec(PREAMBLE, names)
    exec(parameters, names)
    if quick:
        names.update(QUICK=True, **QUICK_STEPS)
    names.update(SEED=seed, device=torch.device("cpu"),
                 batch_spread=reference.append_batch_spread,
                 discrimination_features=reference.minibatch_discrimination_features,
                 accept=reference.rejection_accept_probability)
    for source in recipe:
        exec(source, names)
    return names


KEYS = ("modes", "modes_strict", "hq", "kl", "seconds")


def _rounded(figures: dict, keys=KEYS) -> dict:
    return {key: round(float(figures[key]), 4) for key in keys}


def train_one(kind: str, dataset: str, method: str, seed: int,
              quick: bool = False) -> dict:
    """The figures of one run; for ``rejection``, ``{"best": ..., "rejection":
    ..., "networks": {"G": ..., "D": ...}}``."""
    names = load_recipe(seed, quick=quick)
    if method == "unrolled_sgd":
        names["UNROLL_OPTIMIZER"], method = "sgd", "unrolled"
    if kind == "remedy":
        return _rounded(names["run_method"](dataset, method, names["REMEDY_STEPS"]))
    if kind == "mnist":
        start, class_kl, networks = time.perf_counter(), {}, {}
        for name, (lr_G, lr_D) in names["MNIST_RATES"].items():
            networks[name] = names["mnist_gan"](lr_G, lr_D)
            digits = names["mnist_samples"](networks[name])
            class_kl[name] = round(float(metrics.class_kl_uniform(digits)), 4)
        return {"class_kl": class_kl, "seconds": round(time.perf_counter() - start, 4),
                "networks": {name: net.state_dict() for name, net in networks.items()}}
    decay = names["BEST_DECAY_RING" if dataset == "ring" else "BEST_DECAY_GRID"]
    figures = names["run_method"](dataset, method, names["BEST_STEPS"], lr_G=0.001,
                                  lr_D=0.001, decay_steps=decay)
    if kind == "best":
        return _rounded(figures)
    start = time.perf_counter()
    steps = names["DRS_STEPS_RING" if dataset == "ring" else "DRS_STEPS_GRID"]
    net_D = names["fit_density_ratio"](figures["net_G"], dataset, steps)
    kept = names["rejection_figures"](figures["net_G"], net_D, dataset)
    kept["seconds"] = time.perf_counter() - start
    return {"best": _rounded(figures),
            "rejection": _rounded(kept, KEYS + ("accepted", "n")),
            "networks": {"G": figures["net_G"].state_dict(),
                         "D": net_D.state_dict()}}


CONTENTS = {
    "grid": "the best recipe's generator (G) and the density-ratio discriminator "
            "trained against it (D)",
    "mnist": "the generators of the two MNIST runs, by the name of their rates",
}


def bundle_networks(networks: dict, path: Path, seed: int, dataset: str) -> dict:
    """Write the state dicts to ``path``; return the JSON's record of the file."""
    buffer = io.BytesIO()
    torch.save({name: {key: value.detach().cpu().clone() for key, value in
                       state.items()} for name, state in networks.items()}, buffer)
    data = buffer.getvalue()
    path.write_bytes(data)
    return {"file": path.name, "sha256": hashlib.sha256(data).hexdigest(),
            "bytes": len(data), "seed": seed, "dataset": dataset,
            "contents": CONTENTS[dataset] + ", float32 state dicts; load with "
                        "weights_only=True"}


def _replace(table: dict, row: dict) -> None:
    key = (row["kind"], row["dataset"], row["method"], row["seed"])
    table["runs"] = [r for r in table["runs"] if
                     (r["kind"], r["dataset"], r["method"], r["seed"]) != key] + [row]


def parse_run(text: str) -> list[tuple]:
    kind, dataset, method, seeds = text.split(":")
    if kind == "mnist":
        if (dataset, method) != ("mnist", "rates"):
            raise ValueError(f"bad run {text!r}: MNIST runs are "
                             "mnist:mnist:rates:SEEDS")
    elif (kind not in ("remedy", "best", "rejection")
          or dataset not in ("ring", "grid") or method not in METHODS
          or (kind == "rejection" and method != "packed")):
        raise ValueError(f"bad run {text!r}")
    first, _, last = seeds.partition("-")
    return [(kind, dataset, method, s)
            for s in range(int(first), int(last or first) + 1)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", nargs="+", required=True,
                        help="kind:dataset:method:seeds, e.g. best:ring:vanilla:0-4 "
                             "(kinds: remedy, best, rejection)")
    parser.add_argument("--out", type=Path, default=REPO_DIR / "data",
                        help=f"folder for {OUT_FILE} (runs are added to it)")
    parser.add_argument("--quick", action="store_true",
                        help="the notebook's QUICK step counts (a smoke test)")
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
        figures = train_one(kind, dataset, method, seed, args.quick)
        wall = round(time.perf_counter() - start, 1)
        base = {"dataset": dataset, "method": method, "seed": seed}
        networks = figures.pop("networks", None)
        if (kind, dataset, method, seed) in BUNDLES:
            name, file = BUNDLES[kind, dataset, method, seed]
            table.setdefault("bundled", {})[name] = bundle_networks(
                networks, args.out / file, seed, dataset)
        if kind == "rejection":
            rows = [{"kind": "best", **base, **figures["best"]},
                    {"kind": "rejection", **base, **figures["rejection"]}]
        else:
            rows = [{"kind": kind, **base, **figures}]
        for row in rows:
            row["wall_seconds"] = wall
            _replace(table, row)
            print(json.dumps(row), flush=True)
        path.write_text(json.dumps(table, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
