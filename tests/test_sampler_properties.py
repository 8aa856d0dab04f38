"""The sampler of ``train.make_sampler`` serves every sample once per epoch.

Whatever the number of samples and the sizes of the batches asked for, the
samples it returns, taken ``n`` at a time from the start, are each a permutation
of the data (a batch never runs over the end of an epoch), and labels stay with
their samples.
"""

import math

import torch
from hypothesis import given
from hypothesis import strategies as st

from course_utils import train


@given(st.integers(1, 200), st.integers(1, 64), st.integers(1, 3), st.integers(0, 2**32))
def test_one_batch_size_visits_every_sample_once_per_epoch(n, batch, epochs, seed):
    torch.manual_seed(seed)
    X = torch.arange(n, dtype=torch.float32).unsqueeze(1)
    sample, per_epoch = train.make_sampler(X, batch, "cpu")
    assert per_epoch == math.ceil(n / batch)
    for _ in range(epochs):
        got = torch.cat([sample(batch) for _ in range(per_epoch)])
        assert got.shape == (n, 1)
        assert sorted(got[:, 0].long().tolist()) == list(range(n))


@given(st.integers(1, 100), st.lists(st.integers(1, 40), min_size=1, max_size=30),
       st.integers(0, 2**32))
def test_any_batch_sizes_visit_every_sample_once_per_epoch(n, sizes, seed):
    torch.manual_seed(seed)
    X = torch.arange(n, dtype=torch.float64).unsqueeze(1).repeat(1, 3)
    y = torch.arange(n) * 7
    sample, _ = train.make_sampler((X, y), 8, "cpu", labels=True)
    batches = [sample(k) for k in sizes]
    for (xb, yb), k in zip(batches, sizes):
        assert 1 <= len(xb) == len(yb) <= k
        assert torch.equal(yb, xb[:, 0].long() * 7) and torch.equal(xb[:, 0], xb[:, 2])
    stream = torch.cat([xb[:, 0] for xb, _ in batches]).long().tolist()
    for start in range(0, len(stream), n):
        epoch = stream[start : start + n]
        assert len(set(epoch)) == len(epoch)  # no sample twice in an epoch
        if len(epoch) == n:
            assert sorted(epoch) == list(range(n))
