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
import math
import hashlib
import io
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch
from torch.nn import functional as F

REPO_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_DIR))

from course_utils import classifier, data  # noqa: E402


def augment(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Randomly rotate (+-10 deg), scale (0.9..1.1) and shift (+-2 px) images.

    Works on a batch (N, 1, 28, 28) in [-1, 1]; the uncovered border is filled
    with background (-1). Draws from `generator` (CPU) for reproducibility.
   
    """
    n = x.shape[0]

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(n, generator=generator)

    angle = uniform(-10.0, 10.0) * (math.pi / 180.0)
    scale = uniform(0.9, 1.1)
    shift = torch.stack([uniform(-2.0, 2.0), uniform(-2.0, 2.0)], dim=1) / 14.0
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    row0 = torch.stack([cos, -sin, shift[:, 0]], dim=1)
    row1 = torch.stack([sin, cos, shift[:, 1]], dim=1)
    theta = torch.stack([row0, row1], dim=1).to(x)  # (N, 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    # grid_sample pads with 0; shift the background to 0 first, then back to -1.
    out = F.grid_sample(x + 1.0, grid, padding_mode="zeros", align_corners=False)
    return out - 1.0


def junk_images(
    n: int, generator: torch.Generator | None = None, digits: torch.Tensor | None = None
) -> torch.Tensor:
    """Images that are not digits, (n, 1, 28, 28) in [-1, 1], for outlier exposure.

    A mix of uniform noise, smooth random blobs, sparse speckle and, when real
    `digits` are given, digits with their pixels shuffled (the same amount of
    ink, no shape). The classifier learns to spread its probability over the
    classes for these, so that noise and smudges from an untrained generator
    do not count as confident digits.
    """

    def rand(*shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=generator)

    kinds = torch.randint(0, 4 if digits is not None else 3, (n,), generator=generator)
    out = torch.empty(n, 1, 28, 28)
    # 0: uniform noise at a random contrast around a random grey level
    noise = rand(n, 1, 28, 28) * 2 - 1
    level, amp = rand(n, 1, 1, 1) * 1.6 - 0.8, rand(n, 1, 1, 1) * 0.8 + 0.2
    out[:] = (level + amp * noise).clamp(-1, 1)
    # 1: smooth blobs: coarse noise (4x4 to 14x14) upsampled and thresholded
    size = int(4 + rand(1).item() * 10)
    coarse = F.interpolate(rand(n, 1, size, size), size=(28, 28), mode="bilinear")
    cut = rand(n, 1, 1, 1) * 0.5 + 0.4
    blobs = ((coarse - cut) * 6).clamp(0, 1) * 2 - 1
    out[kinds == 1] = blobs[kinds == 1]
    # 2: sparse speckle on a dark background
    density = rand(n, 1, 1, 1) * 0.3 + 0.02
    speckle = torch.where(rand(n, 1, 28, 28) < density, rand(n, 1, 28, 28) * 2 - 1, -1)
    out[kinds == 2] = speckle[kinds == 2]
    # 3: real digits with their pixels permuted
    if digits is not None:
        chosen = (kinds == 3).nonzero().flatten()
        if len(chosen):
            pick = torch.randint(0, len(digits), (len(chosen),), generator=generator)
            source = digits[pick]
            perm = torch.argsort(rand(len(chosen), 784), dim=1)
            flat = source.reshape(len(chosen), 784).gather(1, perm)
            out[chosen] = flat.reshape(-1, 1, 28, 28)
    return out


def train_classifier(
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    epochs: int = 20,
    batch_size: int = 64,
    lr: float = 2e-3,
    weight_decay: float = 1e-4,
    use_augment: bool = True,
    junk_per_batch: int = 16,
    junk_weight: float = 0.5,
    seed: int = 0,
    eval_images: torch.Tensor | None = None,
    eval_labels: torch.Tensor | None = None,
    log=print,
) -> classifier.DigitClassifier:
    """Train a fresh `DigitClassifier` on CPU tensors; return it in eval mode.

    Adam with a cosine learning-rate decay, cross-entropy, light augmentation,
    and outlier exposure: each batch also holds `junk_per_batch` non-digits
    (`junk_images`) whose target is the uniform distribution over the classes,
    weighted by `junk_weight`.
    Reproducible for a fixed seed, torch version and thread count (the script
    also turns on deterministic algorithms and uses one thread); torch's global
    random state is left as it was.
    """
    # Work on a private copy of torch's global RNG: seeded here, restored after.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # initialisation and dropout
        generator = torch.Generator().manual_seed(seed)  # batch order, augmentation
        model = classifier.DigitClassifier()
        optimiser = torch.optim.Adam(
            model.parameters(), lr=lr, weight_decay=weight_decay
        )
        n_steps = epochs * math.ceil(len(images) / batch_size)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, n_steps)
        start = time.perf_counter()
        for epoch in range(1, epochs + 1):
            model.train()
            order = torch.randperm(len(images), generator=generator)
            total = 0.0
            for i in range(0, len(images), batch_size):
                index = order[i : i + batch_size]
                x, y = images[index], labels[index]
                if use_augment:
                    x = augment(x, generator)
                if junk_per_batch:
                    junk = junk_images(junk_per_batch, generator, images[index])
                    logits = model(torch.cat([x, junk]))
                    digit_loss = F.cross_entropy(logits[: len(x)], y)
                    # cross-entropy to the uniform distribution over the classes
                    junk_loss = -F.log_softmax(logits[len(x) :], dim=1).mean()
                    loss = digit_loss + junk_weight * junk_loss
                else:
                    loss = F.cross_entropy(model(x), y)
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                schedule.step()
                total += float(loss.detach()) * len(index)
            line = f"epoch {epoch:2d}  loss {total / len(images):.4f}"
            if eval_images is not None and eval_labels is not None:
                held_out = classifier.accuracy(model, eval_images, eval_labels)
                line += f"  held-out accuracy {held_out:.4f}"
            if log is not None:
                log(f"{line}  ({time.perf_counter() - start:.1f} s)")
    return model.eval()


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
    model = train_classifier(
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
