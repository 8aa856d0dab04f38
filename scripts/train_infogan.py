"""Train notebook 05's InfoGAN on the bundled MNIST digits and write the weights
the notebook loads by default, data/infogan_mnist.{pt,json}.

    python scripts/train_infogan.py                             # seed 0
    python scripts/train_infogan.py --seeds 0 1 2 3 4 --jobs 2  # and four more seeds
    python scripts/train_infogan.py --steps 20 --out try_out   # a smoke test

The networks, the optimisers and the training loop are the notebook's own: the
script runs the notebook's parameters cell and its cells tagged "infogan-recipe",
then calls the `train_infogan` function they define, so the weights and the
notebook cannot drift apart. At the default 8,000 steps one seed took 60 to 66
minutes when two seeds shared a two-core CPU, one thread each. The generator of
the first seed is saved (float16, about 13.3 MB). Every seed is scored as the
notebook scores it: 5,000 samples, read by the course's digit classifier, after the
generator's weights went through float16.
After training, record the printed SHA-256 as INFOGAN_SHA256 in the notebook (the
notebook refuses weights whose checksum differs).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import math
import multiprocessing
import platform
import sys
import time
from pathlib import Path

import torch

REPO_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_DIR))

from course_utils import data, metrics  # noqa: E402

NOTEBOOK = REPO_DIR / "notebooks" / "05_conditional_and_infogan.ipynb"
RECIPE_TAG = "infogan-recipe"
WEIGHTS_FILE = "infogan_mnist.pt"
PREAMBLE = """
import math
import numpy as np
import torch
from torch import nn
from course_utils import data, metrics, models, train, updates, utils
"""


def recipe_sources(notebook: Path = NOTEBOOK) -> tuple[str, str]:
    """The sources of the notebook's parameters cell and of its recipe cells (in
    their order, joined)."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]

    def tagged(tag, one):
        found = [c for c in cells if tag in c.get("metadata", {}).get("tags", [])]
        if (len(found) != 1) if one else not found:
            raise RuntimeError(f"{notebook.name} must have {'one' if one else 'a'} "
                               f"cell tagged {tag!r}, found {len(found)}")
        return "\n\n".join("".join(c["source"]) for c in found)

    return tagged("parameters", True), tagged(RECIPE_TAG, False)


def load_recipe(threads: int = 2, notebook: Path = NOTEBOOK) -> dict:
    """Run the notebook's parameters and recipe cells on the CPU; return their names."""
    torch.set_num_threads(threads)
    parameters, recipe = recipe_sources(notebook)
    names: dict = {"__name__": "infogan_recipe"}
    exec(PREAMBLE, names)
    exec(parameters, names)
    names["device"] = torch.device("cpu")
    exec(recipe, names)
    return names


def half_state(net) -> dict:
    """The network's state with its floating-point tensors in float16."""
    return {k: v.detach().cpu().half() if v.is_floating_point() else v.detach().cpu()
            for k, v in net.state_dict().items()}


def train_seed(seed: int, steps: int, threads: int) -> dict:
    names = load_recipe(threads)
    X_train, _ = data.mnist("train")
    start = time.perf_counter()
    net_G, _, history = names["train_infogan"](seed, steps, X_train,
                                               progress=False)
    seconds = time.perf_counter() - start
    state = half_state(net_G)
    net_G.load_state_dict({k: v.float() if v.is_floating_point() else v
                           for k, v in state.items()})
    net_G.eval()
    z, codes, code, _ = names["infogan_codes"](5000, seed + 3)
    samples = names["generate"](net_G, z, codes)
    accuracy = metrics.matched_code_accuracy(code.numpy(), samples)
    losses = history.logs["loss_Q_categorical"][-100:]
    return {
        "seed": seed,
        "accuracy": round(float(accuracy), 4),
        "curve": [[int(s), round(float(a), 4)]
                  for s, a in history.metrics["matched accuracy"]],
        "information_bound": round(math.log(10) - sum(losses) / len(losses), 4),
        "train_seconds": round(seconds, 1),
        "state": state,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0],
                        help="seeds to train; the first one's weights are saved")
    parser.add_argument("--steps", type=int, default=None,
                        help="generator steps (default: the notebook's INFOGAN_STEPS)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="seeds trained at once, in separate processes")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads per job (default: 2 // jobs, at least 1)")
    parser.add_argument("--out", type=Path, default=REPO_DIR / "data",
                        help="folder for infogan_mnist.pt and .json")
    args = parser.parse_args(argv)
    if args.jobs < 1 or (args.steps is not None and args.steps < 1):
        parser.error("--jobs and --steps must be at least 1")
    if len(set(args.seeds)) != len(args.seeds) or min(args.seeds) < 0:
        parser.error("--seeds must be distinct and >= 0")
    defaults = load_recipe(1)
    steps = args.steps or defaults["INFOGAN_STEPS"]
    threads = args.threads or max(1, 2 // args.jobs)
    print(f"training {len(args.seeds)} seed(s), {steps} steps each, {args.jobs} at "
          f"a time on {threads} thread(s) each", flush=True)
    start = time.perf_counter()
    results = {}

    def report(row):
        results[row["seed"]] = row
        print(f"seed {row['seed']}: matched-code accuracy {row['accuracy']:.2%}; "
              f"during training {row['curve']}; {row['train_seconds']:.0f} s",
              flush=True)

    if args.jobs == 1:
        for seed in args.seeds:
            report(train_seed(seed, steps, threads))
    else:
        context = multiprocessing.get_context("spawn")
        pool = concurrent.futures.ProcessPoolExecutor(args.jobs, mp_context=context)
        with pool:
            futures = [pool.submit(train_seed, s, steps, threads) for s in args.seeds]
            for future in concurrent.futures.as_completed(futures):
                report(future.result())
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / WEIGHTS_FILE
    torch.save(results[args.seeds[0]]["state"], path)
    digest = data.sha256_file(path)
    rows = [{k: v for k, v in results[s].items() if k != "state"} for s in args.seeds]
    meta = {
        "file": WEIGHTS_FILE,
        "sha256": digest,
        "bytes": path.stat().st_size,
        "format": "torch.save(the generator's state_dict, floating tensors in "
                  "float16); load with weights_only=True",
        "made_by": "scripts/train_infogan.py, running the cell tagged "
                   f"'{RECIPE_TAG}' of notebooks/{NOTEBOOK.name}",
        "seed": args.seeds[0],
        "steps": steps,
        "networks": {name: defaults[name] for name in ("INFO_NOISE", "INFO_WIDTH")},
        "data": "bundled MNIST subset, train split (4,000 digits)",
        "data_sha256": data.MNIST_SHA256,
        "machine": f"{platform.machine()}, {threads} thread(s) per seed, "
                   f"torch {torch.__version__}",
        "seeds": rows,
        "wall_seconds": round(time.perf_counter() - start, 1),
    }
    (args.out / "infogan_mnist.json").write_text(json.dumps(meta, indent=2) + "\n")
    good = sum(r["accuracy"] >= 0.9 for r in rows)
    print(f"at least 90 %: {good} of {len(rows)} seeds")
    print(f"wrote {path} ({meta['bytes']:,} bytes) and infogan_mnist.json")
    print(f"SHA-256 {digest}: record it as INFOGAN_SHA256 in notebooks/{NOTEBOOK.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
