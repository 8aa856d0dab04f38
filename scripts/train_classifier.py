"""Train the course's digit classifier on the bundled MNIST training split.

    python scripts/train_classifier.py          # writes data/digit_classifier.{pt,json}
    python scripts/train_classifier.py --dry-run

Deterministic: fixed seeds, one thread, `torch.use_deterministic_algorithms`.
The run takes about a minute on a laptop CPU. After retraining, record the
printed SHA-256 as CLASSIFIER_SHA256 in course_utils/classifier.py (the loader
refuses weights whose checksum differs).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

REPO_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_DIR))

from course_utils import classifier, data  # noqa: E402


def state_bytes(model: torch.nn.Module) -> bytes:
    """Serialise a state_dict (float32, contiguous, CPU) to bytes."""
    state = {
        name: value.detach().cpu().contiguous().clone()
        for name, value in model.state_dict().items()
    }
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-dir", type=Path, default=REPO_DIR / "data")
    parser.add_argument("--dry-run", action="store_true", help="do not write files")
    args = parser.parse_args(argv)

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    train_x, train_y = data.mnist("train")
    held_x, held_y = data.mnist("heldout")
    print(f"train {tuple(train_x.shape)}, held-out {tuple(held_x.shape)}, 1 thread")

    start = time.perf_counter()
    model = classifier.train_classifier(
        train_x,
        train_y,
        epochs=args.epochs,
        seed=args.seed,
        eval_images=held_x,
        eval_labels=held_y,
    )
    seconds = time.perf_counter() - start
    acc = classifier.accuracy(model, held_x, held_y)
    with torch.no_grad():
        pred = model(held_x).argmax(1)
        top = torch.softmax(model(held_x), 1).max(1).values
    per_class = [float((pred[held_y == c] == c).float().mean()) for c in range(10)]
    confident = float((top > 0.9).float().mean())
    n_right = int(round(acc * len(held_y)))
    print(f"held-out accuracy {acc:.4f} ({n_right}/{len(held_y)})")
    print(f"training took {seconds:.1f} s")
    if acc < 0.97:
        print("held-out accuracy below 0.97: not writing the weights")
        return 1

    blob = state_bytes(model)
    sha = hashlib.sha256(blob).hexdigest()
    meta = {
        "file": classifier.WEIGHTS_FILE,
        "sha256": sha,
        "bytes": len(blob),
        "format": "torch.save(state_dict); load with weights_only=True",
        "architecture": "course_utils.classifier.DigitClassifier "
        "(conv 32, conv 32, hidden 64, 10 classes)",
        "training": "Adam, cosine decay, augmentation (rotate, scale, shift), "
        "outlier exposure (junk images with a uniform target)",
        "parameters": sum(p.numel() for p in model.parameters()),
        "trained_on": "bundled MNIST subset, train split (4,000 digits)",
        "data_sha256": data.MNIST_SHA256,
        "heldout_accuracy": round(acc, 4),
        "heldout_accuracy_per_class": [round(a, 3) for a in per_class],
        "heldout_confident_share_0.9": round(confident, 4),
        "epochs": args.epochs,
        "seed": args.seed,
        "training_seconds": round(seconds, 1),
        "threads": 1,
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "made_by": "scripts/train_classifier.py",
    }
    print(f"weights {len(blob):,} bytes, sha256 {sha}")
    if args.dry_run:
        return 0
    args.out_dir.mkdir(parents=True, exist_ok=True)
    weights = args.out_dir / classifier.WEIGHTS_FILE
    tmp = weights.with_suffix(".tmp")
    tmp.write_bytes(blob)
    os.replace(tmp, weights)
    meta_path = args.out_dir / "digit_classifier.json"
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    print(f"wrote {weights} and digit_classifier.json")
    if sha != classifier.CLASSIFIER_SHA256:
        print(
            f'NOTE: set CLASSIFIER_SHA256 in course_utils/classifier.py to\n    "{sha}"'
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
