"""Run notebook 05's InfoGAN on the moons for many seeds, with each of the three
ways of training Q and the body it shares with D, and write
data/infogan_moons_variants.json, the table the notebook shows.

    python scripts/moons_infogan_variants.py                    # seeds 0 to 29
    python scripts/moons_infogan_variants.py --seeds 0 1 --steps 20 --out try_out

The three variants (the notebook's `infogan_moons(seed, variant)`):
"head"  Q's optimiser steps Q's head only; the body learns from D's loss alone;
"two"   Q's optimiser steps Q's head and the body, and so does D's: two
        optimiser steps on the body per iteration;
"one"   Chen et al.'s form: one optimiser, D's, steps the body, D's head and Q's
        head on D's loss plus the information loss.
The networks, data and training are the notebook's own: the script runs the
notebook's parameters cell and its cells tagged "moons-data" and
"moons-infogan", on one CPU thread, one run at a time. The JSON stores the
SHA-256 of those cells' sources, so the notebook can tell whether its code is
still the code that made the table. At the default 2,000 steps a run took 85 s on
average on one thread of a two-core CPU shared with other work.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
import time
from pathlib import Path

import torch

REPO_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_DIR))

NOTEBOOK = REPO_DIR / "notebooks" / "05_conditional_and_infogan.ipynb"
TAGS = ("parameters", "moons-data", "moons-infogan")
VARIANTS = ("head", "two", "one")
PREAMBLE = """
import math
import numpy as np
import torch
from torch import nn
from course_utils import models, reference, toy, train, updates, utils
info_losses = reference.infogan_info_losses
matched_share = reference.matched_assignment_accuracy
"""


def tagged_sources(notebook: Path = NOTEBOOK) -> dict:
    """The sources of the notebook's cells tagged with TAGS, by tag (the cells of
    one tag in their order, joined)."""
    from course_utils.instructor import notebooks as nbtools

    return nbtools.tagged_sources(notebook, TAGS)


def code_sha256(sources: dict) -> str:
    """SHA-256 of the data and recipe cells (the parameters cell may change)."""
    text = "\n".join(sources[tag] for tag in TAGS[1:])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_moons_recipe(steps: int | None = None, notebook: Path = NOTEBOOK) -> dict:
    """Run the notebook's cells on one CPU thread; return their names."""
    torch.set_num_threads(1)
    sources = tagged_sources(notebook)
    names: dict = {"__name__": "moons_infogan"}
    exec(PREAMBLE, names)
    exec(sources["parameters"], names)
    if steps is not None:
        names["MOON_STEPS"] = steps
    names["device"] = torch.device("cpu")
    exec(sources["moons-data"], names)
    exec(sources["moons-infogan"], names)
    return names


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(30)))
    parser.add_argument("--steps", type=int, default=None,
                        help="generator steps (default: the notebook's MOON_STEPS)")
    parser.add_argument("--out", type=Path, default=REPO_DIR / "data")
    args = parser.parse_args(argv)
    names = load_moons_recipe(args.steps)
    digest = code_sha256(tagged_sources())  # of the code just loaded
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "infogan_moons_variants.json"
    start = time.perf_counter()
    rows = []
    for seed in args.seeds:  # the file is rewritten after each seed
        row = {"seed": seed}
        for variant in VARIANTS:
            run = names["infogan_moons"](seed, variant)
            row[variant] = [round(float(run["purity"]), 4), round(float(run["info"]), 4)]
        rows.append(row)
        print(f"seed {seed:3d}: " + "  ".join(
            f"{v} {row[v][0]:.4f} {row[v][1]:.3f}" for v in VARIANTS), flush=True)
        meta = {
            "made_by": "scripts/moons_infogan_variants.py, running the cells tagged "
                       f"{', '.join(TAGS)} of notebooks/{NOTEBOOK.name}",
            "code_sha256": digest,
            "data_seed": names["SEED"],
            "steps": names["MOON_STEPS"],
            "variants": {"head": "Q's optimiser steps Q's head only",
                         "two": "Q's optimiser steps Q's head and the shared body, "
                                "D's steps the body too",
                         "one": "D's optimiser steps body, D's head and Q's head on "
                                "D's loss plus the information loss (Chen et al.)"},
            "columns": "per variant: [purity, information bound in nats]",
            "machine": f"{platform.machine()}, 1 thread, torch {torch.__version__}",
            "seeds": rows,
            "wall_seconds": round(time.perf_counter() - start, 1),
        }
        path.write_text(json.dumps(meta, indent=1) + "\n")
    for variant in VARIANTS:
        purities = [row[variant][0] for row in rows]
        print(f"{variant}: purity >= 0.95 on {sum(p >= 0.95 for p in purities)}, "
              f"< 0.8 on {sum(p < 0.8 for p in purities)} of {len(rows)} seeds")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
