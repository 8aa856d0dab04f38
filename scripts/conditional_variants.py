"""Train notebook 05's conditional GAN on MNIST three ways, for several seeds, and
write data/conditional_variants.json, the table of the notebook's Section 8.

    python scripts/conditional_variants.py                        # seeds 0 to 4
    python scripts/conditional_variants.py --seeds 0 --steps 20 --out try_out
    python scripts/conditional_variants.py --seeds 0 --variants cGAN --save-weights \
        --out build/cgan                     # the weights notebook 05 loads

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

With ``--save-weights`` the moving-average generator of the first seed's "cGAN"
run, the one the notebook's Section 3 shows, is also saved: ``cgan_mnist.pt``
(its state_dict, float32) and ``cgan_mnist.json`` (the file's SHA-256, the run's
row of the table, and how it was made). Copied into ``data/``, they are what the
notebook loads when ``CGAN_WEIGHTS = "bundled"``.
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
WEIGHTS_NAME = "cgan_mnist.pt"
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


def run_one(names: dict, variant: str, seed: int) -> tuple[dict, torch.nn.Module]:
    """Train one variant at one seed as the notebook would, and score it: the
    table's row, and the moving-average generator that was scored."""
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
    return row, averaged


def save_weights(net_G: torch.nn.Module, row: dict, meta: dict, out: Path) -> str:
    """Write the generator's state_dict (float32, on the CPU) and its metadata;
    return the file's SHA-256."""
    from course_utils import data

    path = out / WEIGHTS_NAME
    state = {k: v.detach().cpu().contiguous() for k, v in net_G.state_dict().items()}
    torch.save(state, path)
    digest = data.sha256_file(path)
    info = {
        "file": WEIGHTS_NAME,
        "sha256": digest,
        "format": "torch.save(state_dict of notebook 05's Section 3 generator after "
                  "training: the moving average of its weights, batch-norm "
                  "statistics recomputed), float32 on the CPU",
        "variant": row["variant"],
        "seed": row["seed"],
        "steps": meta["steps"],
        "networks": meta["networks"],
        "row": row,
        "code_sha256": meta["code_sha256"],
        "git_commit": meta["git_commit"],
        "command": meta["command"],
        "machine": meta["machine"],
        "torch": meta["torch"],
        "data_sha256": data.MNIST_SHA256,
    }
    (out / WEIGHTS_NAME).with_suffix(".json").write_text(json.dumps(info, indent=1)
                                                         + "\n")
    return digest


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(5)))
    parser.add_argument("--variants", nargs="+", default=None,
                        help="names of MNIST_VARIANTS (default: all three)")
    parser.add_argument("--steps", type=int, default=None,
                        help="generator steps (default: the notebook's CGAN_STEPS)")
    parser.add_argument("--out", type=Path, default=REPO_DIR / "data")
    parser.add_argument("--save-weights", action="store_true",
                        help="also save the first seed's cGAN generator "
                             f"({WEIGHTS_NAME} and its .json)")
    args = parser.parse_args(argv)
    names = load_recipe(args.steps)
    digest = code_sha256(tagged_sources())  # of the code just loaded
    variants = args.variants or list(names["MNIST_VARIANTS"])
    unknown = set(variants) - set(names["MNIST_VARIANTS"])
    if unknown:
        parser.error(f"unknown variants {sorted(unknown)}; the notebook has "
                     f"{list(names['MNIST_VARIANTS'])}")
    if args.save_weights and "cGAN" not in variants:
        parser.error("--save-weights saves the cGAN variant's generator: include "
                     "cGAN in --variants")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / OUT_NAME
    given = list(argv if argv is not None else sys.argv[1:])
    if "--out" in given:  # where the files go is not part of how they were made
        at = given.index("--out")
        del given[at:at + 2]
    given = [a for a in given if not a.startswith("--out=")]
    command = "python scripts/conditional_variants.py " + " ".join(given)
    start = time.perf_counter()
    rows = []
    for seed in args.seeds:  # the file is rewritten after each run
        for variant in variants:
            row, net_G = run_one(names, variant, seed)
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
            if args.save_weights and variant == "cGAN" and seed == args.seeds[0]:
                digest = save_weights(net_G, row, meta, args.out)
                print(f"wrote {args.out / WEIGHTS_NAME}, SHA-256 {digest}", flush=True)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
