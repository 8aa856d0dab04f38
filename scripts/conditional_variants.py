"""Train notebook 05's conditional GAN on MNIST three ways, for several seeds, and
write data/conditional_variants.json, the table of the notebook's Section 8.

    python scripts/conditional_variants.py                        # seeds 0 to 4
    python scripts/conditional_variants.py --seeds 0 --steps 20 --out try_out

The three variants (the notebook's `MNIST_VARIANTS`):
"cGAN"                  Section 3's conditional GAN (updates.Conditional);
"cGAN, matching-aware"  the same networks, with real images under a wrong label as
                        a second kind of negative for D (updates.MatchingAware);
"AC-GAN"                the same generator; D reads the image alone and returns a
                        source logit and 10 class logits (updates.ACGAN).
The networks, optimisers, steps and measures are the notebook's own: the script
runs the notebook's parameters cell and its cells tagged "moons-data",
"conditioned", "cgan-recipe" and "conditional-variants", on one CPU thread, one
run at a time, and calls `train_mnist` and `conditional_scores` as the notebook
does. The JSON stores the SHA-256 of those cells' sources, so that the notebook
and its tests can tell whether the code is still the code that made the table.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch

REPO_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_DIR))

NOTEBOOK = REPO_DIR / "notebooks" / "05_conditional_and_infogan.ipynb"
TAGS = ("parameters", "moons-data", "conditioned", "cgan-recipe",
        "conditional-variants")
OUT_NAME = "conditional_variants.json"
PREAMBLE = """
import math
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from course_utils import checks, data, metrics, models, reference, toy, train
from course_utils import updates, utils
with_labels = reference.concat_one_hot
DATA, DOWNLOAD = "bundled", False
"""
MEASURES = ("accuracy", "fd", "fd_real", "confident", "confident_real", "entropy",
            "entropy_real", "spread_ratio")


def tagged_sources(notebook: Path = NOTEBOOK) -> dict:
    """The sources of the notebook's cells tagged with TAGS, by tag (the cells of
    one tag in their order, joined)."""
    from course_utils.instructor import notebooks as nbtools

    return nbtools.tagged_sources(notebook, TAGS)


def code_sha256(sources: dict) -> str:
    """SHA-256 of the recipe cells' code (the parameters cell may change): of their
    syntax trees, so that comments, line breaks and the split of the code into
    cells do not count, and any change to what the code does does."""
    text = "\n".join(ast.dump(ast.parse(sources[tag])) for tag in TAGS[1:])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_recipe(steps: int | None = None, notebook: Path = NOTEBOOK) -> dict:
    """Run the notebook's cells on one CPU thread; return their names."""
    torch.set_num_threads(1)
    sources = tagged_sources(notebook)
    names: dict = {"__name__": "conditional_variants"}
    exec(PREAMBLE, names)
    exec(sources["parameters"], names)
    if steps is not None:
        names["CGAN_STEPS"] = steps
    names["device"] = torch.device("cpu")
    for tag in TAGS[1:]:
        exec(sources[tag], names)
    return names


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_DIR, check=True,
                              capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def run_one(names: dict, variant: str, seed: int) -> dict:
    """Train one variant at one seed as the notebook would, and score it."""
    networks, rule = names["MNIST_VARIANTS"][variant]
    names["utils"].set_seed(seed)
    net_G, net_D = networks()
    start = time.perf_counter()
    _, averaged = names["train_mnist"](net_G, net_D, rule, f"{variant}, seed {seed}")
    seconds = time.perf_counter() - start
    scores = names["conditional_scores"](averaged, seed)
    row = {"variant": variant, "seed": seed, "train_seconds": round(seconds, 1)}
    for key, value in scores.items():
        row[key] = ([round(float(v), 4) for v in value] if isinstance(value, list)
                    else round(float(value), 4))
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(5)))
    parser.add_argument("--variants", nargs="+", default=None,
                        help="names of MNIST_VARIANTS (default: all three)")
    parser.add_argument("--steps", type=int, default=None,
                        help="generator steps (default: the notebook's CGAN_STEPS)")
    parser.add_argument("--out", type=Path, default=REPO_DIR / "data")
    args = parser.parse_args(argv)
    names = load_recipe(args.steps)
    digest = code_sha256(tagged_sources())  # of the code just loaded
    variants = args.variants or list(names["MNIST_VARIANTS"])
    unknown = set(variants) - set(names["MNIST_VARIANTS"])
    if unknown:
        parser.error(f"unknown variants {sorted(unknown)}; the notebook has "
                     f"{list(names['MNIST_VARIANTS'])}")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / OUT_NAME
    command = "python scripts/conditional_variants.py " + " ".join(
        argv if argv is not None else sys.argv[1:])
    start = time.perf_counter()
    rows = []
    for seed in args.seeds:  # the file is rewritten after each run
        for variant in variants:
            row = run_one(names, variant, seed)
            rows.append(row)
            print(f"seed {seed} {variant:22s} " + "  ".join(
                f"{m} {row[m]:.4f}" for m in MEASURES), flush=True)
            meta = {
                "made_by": "scripts/conditional_variants.py, running the cells tagged "
                           f"{', '.join(TAGS)} of notebooks/{NOTEBOOK.name}",
                "command": command.strip(),
                "git_commit": git_commit(),
                "code_sha256": digest,
                "steps": names["CGAN_STEPS"],
                "seeds": args.seeds,
                "variants": variants,
                "networks": {k: names[k] for k in ("LATENT_DIM", "G_WIDTH", "D_WIDTH")},
                "data": "bundled MNIST subset: 4,000 training digits; measures "
                        "against the 1,000 held-out digits",
                "measures": {
                    "accuracy": "share of 5,000 samples (500 per asked digit) that "
                                "the course's classifier reads as the asked digit",
                    "fd, fd_real": "Frechet distance of classifier features, ten "
                                   "draws of 500 against 500 held-out digits; "
                                   "fd_real: 500 other held-out digits instead",
                    "confident, confident_real": "share with top class probability "
                                                 "> 0.9; real: the held-out digits",
                    "entropy, entropy_real": "the classifier's mean entropy in nats "
                                             "on the samples and on held-out digits",
                    "spread_ratio": "per digit, the sum of the variances of the "
                                    "classifier's features over the samples asked "
                                    "for it, divided by the same over the held-out "
                                    "digits of that class; mean over the 10 digits",
                },
                "machine": f"{platform.machine()}, 1 thread",
                "torch": torch.__version__,
                "runs": rows,
                "wall_seconds": round(time.perf_counter() - start, 1),
            }
            path.write_text(json.dumps(meta, indent=1) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
