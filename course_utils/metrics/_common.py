"""What the image and the point-cloud metrics share."""

from __future__ import annotations

import numpy as np


def kl_to_uniform(counts) -> float:
    """KL(p || uniform) in nats, for p the normalised histogram ``counts``.

    0 when every bin holds the same share; log(K) for K bins when one bin holds
    everything (total mode collapse). Empty bins contribute 0 (0 log 0 = 0).
    """
    c = np.asarray(counts, dtype=float)
    if c.ndim != 1 or len(c) < 1:
        raise ValueError(f"expected a 1-D histogram, got shape {c.shape}")
    if (c < 0).any() or not np.isfinite(c).all():
        raise ValueError("a histogram has finite counts >= 0")
    total = c.sum()
    if total <= 0:
        raise ValueError("the histogram is empty")
    p = c / total
    nonzero = p > 0
    return float(np.sum(p[nonzero] * np.log(p[nonzero] * len(p))))
