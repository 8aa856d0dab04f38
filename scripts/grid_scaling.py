"""What would bring notebook 04's grid generator towards PacGAN's level? Train the
notebook's best recipe on the 25-mode grid with one knob changed at a time and
write data/grid_scaling.json, which the notebook's instructor notes quote.

    python scripts/grid_scaling.py                        # every variant, seeds 0-2
    python scripts/grid_scaling.py --variants longer --seeds 0 --out try

The variants change one thing of the recipe (packing of 2, both rates 1e-3 for
``BEST_STEPS`` steps, then ``BEST_DECAY_GRID`` steps at a tenth of them, two ReLU
layers of 128, batch 256):

* ``recipe``: nothing (the notebook's own run; the same figures as
  ``best:grid:packed`` in data/mode_collapse_seeds.json);
* ``longer``: two and a half times the decay steps (20,000 instead of 8,000);
* ``wider``: layers of 256 units in both networks;
* ``batch``: batches of 1,024 instead of 256;
* ``longer_batch``: the longer decay and the larger batches together.

The networks, update rule, training loop and scores are the notebook's own
(``run_method`` from its cells tagged "seed-recipe", loaded as
scripts/mode_collapse_seeds.py loads them), on one thread. The JSON is rewritten
after each run, so a run that is stopped keeps what it finished.
"""

from __future__ import annotations

import argparse
import inspect
import json
import platform
import sys
import time
from pathlib import Path

import torch

REPO_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_DIR / "scripts"))

from mode_collapse_seeds import KEYS, _rounded, load_recipe  # noqa: E402

OUT_FILE = "grid_scaling.json"
VARIANTS = {
    "recipe": {},
    "longer": {"decay_steps": 20_000},
    "wider": {"hidden": 256},
    "batch": {"batch_size": 1024},
    "longer_batch": {"decay_steps": 20_000, "batch_size": 1024},
}


def train_variant(variant: str, seed: int, quick: bool = False) -> dict:
    """The figures of the grid's best recipe with one knob changed."""
    names = load_recipe(seed, quick=quick)
    settings = {"decay_steps": names["BEST_DECAY_GRID"], **VARIANTS[variant]}
    if quick:
        settings["decay_steps"] = min(settings["decay_steps"], 10)
    run_method = names["run_method"]
    defaults = inspect.signature(run_method).parameters  # the notebook's own sizes
    figures = run_method("grid", "packed", names["BEST_STEPS"], lr_G=0.001,
                         lr_D=0.001, **settings)
    return {"variant": variant, "seed": seed,
            "steps": names["BEST_STEPS"] + settings["decay_steps"],
            **{knob: settings.get(knob, defaults[knob].default)
               for knob in ("hidden", "batch_size")},
            **_rounded(figures, KEYS)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS),
                        default=list(VARIANTS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=REPO_DIR / "data")
    parser.add_argument("--quick", action="store_true",
                        help="a few steps per run: a smoke test of the script")
    args = parser.parse_args(argv)
    if min(args.seeds) < 0:
        parser.error("--seeds must be >= 0")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / OUT_FILE
    table = {"made_by": "scripts/grid_scaling.py, running the cells tagged "
                        "'seed-recipe' of notebooks/04_mode_collapse.ipynb",
             "machine": f"{platform.machine()}, 1 thread, torch {torch.__version__}",
             "runs": []}
    if path.exists():
        table = json.loads(path.read_text())
    start = time.perf_counter()
    for variant in args.variants:
        for seed in args.seeds:
            row = train_variant(variant, seed, quick=args.quick)
            table["runs"] = [r for r in table["runs"]
                             if (r["variant"], r["seed"]) != (variant, seed)] + [row]
            path.write_text(json.dumps(table, indent=1) + "\n")
            print(f"{variant}, seed {seed}: {row['modes']:.0f} modes, "
                  f"{row['hq']:.1%} high quality, KL {row['kl']:.3f} "
                  f"({row['seconds']:.0f} s)", flush=True)
    print(f"wrote {path} ({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
