"""Checkers for 04_mode_collapse.

Exercise 4.1: ``hq_ceiling(k)``, the probability that a sample of a 2-D isotropic
Gaussian lies within ``k`` standard deviations of its centre (derived, not
printed: the notebook asks for it before stating it).
Exercise 4.2: ``mode_stats(samples, centres, sigma)``, the published mode metrics:
``(modes_captured, high_quality_share)``.
Exercise 4.3: ``pack(x, m)``, PacGAN's packing of ``m`` consecutive samples into
one input of the discriminator.
Exercise 4.4: ``minibatch_std(h)``, the minibatch standard-deviation feature
appended to a batch of features.
Exercise 4.5: ``minibatch_discrimination(f, T)``, Salimans et al.'s minibatch
discrimination: the B closeness sums of each sample to the other samples of its
batch, appended to its features.
Exercise 4.6: ``accept_probability(logits, log_m)``, the acceptance probability
of rejection sampling with a discriminator, ``min(1, exp(logit - log M))``.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from course_utils.checks._core import (
    STEP,
    Checker,
    ExerciseFailed,
    as_array,
    as_float,
    call_student,
    exercise,
    plain_float,
    plain_tensor,
    require_close,
)


# -- 4.1 ---------------------------------------------------------------------


@exercise("4.1", "the share of a 2-D Gaussian within k sigma of its centre "
          "matches for every k tried, k = 3 among them.",
          gives_away=("gaussian_2d_mass_within",))
class HighQualityCeiling(Checker):
    def cases(self, rng):
        ks = [3.0, 1.0, 2.0] + [round(float(v), 3) for v in rng.uniform(0.2, 4.0, 4)]
        return [{"k": k} for k in ks]

    def run(self, hq_ceiling, case):
        return plain_float("4.1", call_student("4.1", hq_ceiling, float(case["k"])),
                           f"hq_ceiling({case['k']})")

    def verify(self, case, result):
        k = float(case["k"])
        got = as_float("4.1", result, f"hq_ceiling({k})")
        expected = -math.expm1(-k * k / 2)
        one_d = math.erf(k / math.sqrt(2))
        if abs(got - one_d) < 1e-6 and abs(expected - one_d) > 1e-4:
            raise ExerciseFailed(
                f"Exercise 4.1: hq_ceiling({k}) = {got:.6f} is the 1-D rule (for "
                "k = 3 the familiar 99.73 %). In 2-D the distance to the centre is "
                "the length of a vector of two independent N(0, sigma^2) "
                f"coordinates.{STEP}Its square over sigma^2 is chi-square with 2 "
                "degrees of freedom. Integrate the 2-D density over the disc in "
                "polar coordinates."
            )
        require_close(
            "4.1", got, expected, what=f"hq_ceiling({k})", atol=1e-6, rtol=1e-6,
            hint="Integrate the 2-D Gaussian density over the disc of radius k "
            f"sigma, in polar coordinates around the centre.{STEP}With r the "
            "distance to the centre in units of sigma, the density of r is "
            "r exp(-r^2 / 2); integrate it from 0 to k.",
        )


# -- 4.2 ---------------------------------------------------------------------


def _reference_mode_stats(samples: np.ndarray, centres: np.ndarray, sigma: float):
    d2 = ((samples[:, None, :] - centres[None, :, :]) ** 2).sum(-1)
    nearest = d2.argmin(1)
    good = np.sqrt(d2.min(1)) < 3 * sigma
    return len(np.unique(nearest[good])), float(good.mean())


@exercise("4.2", "modes captured (a high-quality sample nearest to the mode) and "
          "the high-quality share match on 4 sample sets.",
          gives_away=("evaluate_points", "modes_captured", "modes_and_hq"))
class ModeStats(Checker):
    def cases(self, rng):
        out = []
        for case in range(4):
            if case % 2 == 0:
                k = 8
                angles = np.linspace(0, 2 * np.pi, k, endpoint=False)
                centres = 2.0 * np.stack([np.cos(angles), np.sin(angles)], 1)
                sigma = 0.02
            else:
                axis = np.arange(-4.0, 5.0, 2.0)
                centres = np.stack(np.meshgrid(axis, axis), -1).reshape(-1, 2)
                sigma = 0.05
            k = len(centres)
            n = int(rng.integers(400, 900))
            # some modes empty, some samples loose: the two rules must differ
            used = rng.choice(k, size=max(2, k // 2), replace=False)
            which = rng.choice(used, size=n)
            spread = np.where(rng.random(n) < 0.7, 1.5, 6.0) * sigma
            samples = centres[which] + rng.standard_normal((n, 2)) * spread[:, None]
            # a lone sample nearest to an unused mode, but far from it
            unused = [m for m in range(k) if m not in used]
            samples[0] = centres[unused[0]] + 5 * sigma
            # a mode held by two high-quality samples only, fewer than the stricter
            # count's 1 % of the samples: the published rule counts it
            samples[1:3] = centres[unused[1]] + rng.standard_normal((2, 2)) * 0.5 * sigma
            out.append({"samples": samples.astype(np.float32),
                        "centres": centres.astype(np.float32), "sigma": sigma})
        return out

    def run(self, mode_stats, case):
        result = call_student("4.2", mode_stats, torch.tensor(case["samples"]),
                              torch.tensor(case["centres"]), float(case["sigma"]))
        if type(result) is not tuple or len(result) != 2:
            raise ExerciseFailed(
                "Exercise 4.2: return a tuple (modes_captured, high_quality_share), "
                f"got {type(result).__name__}."
            )
        return [plain_float("4.2", result[0], "modes_captured"),
                plain_float("4.2", result[1], "high_quality_share")]

    def verify(self, case, result):
        if type(result) is not list or len(result) != 2:
            raise ExerciseFailed("Exercise 4.2: expected two numbers.")
        modes = as_float("4.2", result[0], "modes_captured")
        share = as_float("4.2", result[1], "high_quality_share")
        samples = np.asarray(case["samples"], dtype=np.float64)
        centres = np.asarray(case["centres"], dtype=np.float64)
        sigma = float(case["sigma"])
        exp_modes, exp_share = _reference_mode_stats(samples, centres, sigma)
        d2 = ((samples[:, None, :] - centres[None, :, :]) ** 2).sum(-1)
        if abs(share - exp_share) > 1e-6:
            hints = {
                float((np.sqrt(d2.min(1)) < sigma).mean()):
                    "a sample is high quality within 3 sigma of its centre, not 1.",
                float((d2.min(1) < 3 * sigma).mean()):
                    "compare the distance, not its square, with 3 sigma.",
                float((d2.min(1) < (3 * sigma) ** 2).sum()):
                    "return the share of high-quality samples (a mean), not their "
                    "number.",
            }
            for value, hint in hints.items():
                if abs(share - value) < 1e-6:
                    raise ExerciseFailed(f"Exercise 4.2: {hint}")
            raise ExerciseFailed(
                f"Exercise 4.2: the high-quality share is {share:.4f}, expected "
                f"{exp_share:.4f}. A sample is high quality when its distance to "
                "the nearest centre is below 3 sigma."
            )
        if modes != exp_modes:
            any_sample = len(np.unique(d2.argmin(1)))
            good = np.sqrt(d2.min(1)) < 3 * sigma
            held = np.bincount(d2.argmin(1)[good], minlength=len(centres))
            sparse = int(((held > 0) & (held < 0.01 * len(samples))).sum())
            if exp_modes - sparse <= modes < exp_modes:
                raise ExerciseFailed(
                    f"Exercise 4.2: you counted {int(modes)} modes, but {exp_modes} "
                    f"have a high-quality sample nearest to them; {sparse} of them "
                    "hold only one or two. The published rule counts a mode as soon "
                    "as one high-quality sample is nearest to it (a minimum number "
                    "per mode makes the stricter count)."
                )
            if modes == any_sample:
                raise ExerciseFailed(
                    f"Exercise 4.2: you counted {int(modes)} modes, every mode that "
                    "is nearest to some sample. The published rule counts a mode "
                    f"only when a high-quality sample is nearest to it: "
                    f"{exp_modes} here."
                )
            raise ExerciseFailed(
                f"Exercise 4.2: modes captured is {modes:g}, expected {exp_modes}. "
                "Count the distinct nearest modes of the high-quality samples."
            )


# -- 4.3 ---------------------------------------------------------------------


@exercise("4.3", "packing puts m consecutive samples side by side in one row.",
          gives_away=("pack",))
class Pack(Checker):
    def cases(self, rng):
        out = []
        for m, n, d in ((2, 6, 2), (3, 9, 2), (2, 8, 5), (4, 8, 3)):
            out.append({"m": m,
                        "x": rng.standard_normal((n, d)).astype(np.float32)})
        return out

    def run(self, pack, case):
        x = torch.tensor(case["x"])
        m = int(case["m"])
        return plain_tensor("4.3", call_student("4.3", pack, x.clone(), m),
                            f"pack(x, {m})")

    def verify(self, case, result):
        x = np.asarray(case["x"], dtype=np.float64)
        m = int(case["m"])
        n, d = x.shape
        got = as_array("4.3", result, f"pack(x, {m})")
        if got.shape != (n // m, m * d):
            raise ExerciseFailed(
                f"Exercise 4.3: pack(x, {m}) for x of shape {(n, d)} should have "
                f"shape {(n // m, m * d)}: one row per pack of {m} samples, their "
                f"{d} coordinates side by side. Got {got.shape}."
            )
        expected = x.reshape(n // m, m * d)
        strided = x.reshape(m, n // m, d).transpose(1, 0, 2).reshape(n // m, m * d)
        if np.allclose(got, strided) and not np.allclose(got, expected):
            raise ExerciseFailed(
                "Exercise 4.3: your packs take samples i, i + n/m, i + 2n/m, ...; "
                "pack consecutive samples (rows 0 to m-1 form the first pack)."
                f"{STEP}x.reshape(n // m, m * d) does it: a reshape keeps the "
                "order of the rows."
            )
        require_close("4.3", got, expected, what=f"pack(x, {m})", atol=1e-6,
                      hint="Row j holds samples j*m, ..., j*m + m - 1, each sample's "
                      "coordinates kept together.")


# -- 4.4 ---------------------------------------------------------------------


@exercise("4.4", "the minibatch feature: each row gets the batch's mean standard "
          "deviation as one extra column.", gives_away=("append_batch_spread",))
class MinibatchStd(Checker):
    def cases(self, rng):
        out = []
        for n, d in ((16, 4), (5, 7), (64, 32)):
            scale = rng.uniform(0.2, 3.0, size=d)
            out.append({"h": (rng.standard_normal((n, d)) * scale).astype(np.float32)})
        # a collapsed batch: every row the same, so the feature is 0
        row = rng.standard_normal((1, 6)).astype(np.float32)
        out.append({"h": np.repeat(row, 10, axis=0)})
        return out

    def run(self, minibatch_std, case):
        h = torch.tensor(case["h"], requires_grad=True)
        out = call_student("4.4", minibatch_std, h)
        values = plain_tensor("4.4", out, "minibatch_std(h)")
        # the feature must carry gradients back to h, or D cannot use it to
        # push G towards diverse batches
        flows = False
        collapsed = bool(np.all(case["h"] == case["h"][0]))
        n, d = case["h"].shape
        if (type(out) is torch.Tensor and out.requires_grad and not collapsed
                and tuple(out.shape) == (n, d + 1)):
            (grad,) = torch.autograd.grad(out[:, -1].sum(), h, allow_unused=True)
            flows = grad is not None and bool(torch.any(grad != 0))
        return {"values": values, "flows": flows}

    def verify(self, case, result):
        h = np.asarray(case["h"], dtype=np.float64)
        n, d = h.shape
        got = as_array("4.4", result["values"], "minibatch_std(h)")
        if got.shape != (n, d + 1):
            raise ExerciseFailed(
                f"Exercise 4.4: for h of shape {(n, d)} return shape {(n, d + 1)}: "
                f"h with one column appended, got {got.shape}."
            )
        feature = h.std(axis=0, ddof=1).mean()
        expected = np.concatenate([h, np.full((n, 1), feature)], axis=1)
        over_features = h.std(axis=1, ddof=1)
        if np.allclose(got[:, -1], over_features, atol=1e-5) and not np.allclose(
                got[:, -1], feature, atol=1e-5):
            raise ExerciseFailed(
                "Exercise 4.4: you took each sample's spread over its features "
                "(dim=1). The feature measures how different the samples of the "
                "batch are: the standard deviation over the batch (dim=0), averaged "
                "over features."
            )
        if np.allclose(got[:, -1], h.std(axis=0, ddof=0).mean(), atol=1e-6) and not (
                np.allclose(got[:, -1], feature, atol=1e-6)):
            raise ExerciseFailed(
                "Exercise 4.4: you divided by n (the biased estimate, as in Karras "
                "et al.'s sqrt(mean((h - mean)^2) + 1e-8)). That works as a feature "
                "too, but this exercise asks for torch.std's default, dividing by "
                f"n - 1: at n = {n} the two differ by "
                f"{math.sqrt(n / (n - 1)) - 1:.1%}."
            )
        require_close("4.4", got, expected, what="minibatch_std(h)", atol=1e-5,
                      rtol=1e-5, hint="Append h.std(dim=0).mean(), the same value "
                      "in every row, as a last column (torch.cat along dim=1).")
        if n > 1 and not np.all(h == h[0]) and result["flows"] is not True:
            raise ExerciseFailed(
                "Exercise 4.4: the values are right but no gradient flows from the "
                "new column back to h (was it computed under no_grad, detached, or "
                "turned into a Python float?). The discriminator needs that "
                "gradient: it is how G learns that its batches are too alike."
            )


# -- 4.5 ---------------------------------------------------------------------


def _closeness_terms(f, T):
    """(n, n, B) L1 distances ||M_ib - M_jb||_1 between the rows of M_i = f_i T."""
    m = np.einsum("na,abc->nbc", f, T)
    return np.abs(m[:, None] - m[None, :]).sum(-1), m


def _reference_mbd(f, T):
    l1, _ = _closeness_terms(f, T)
    close = np.exp(-l1)
    n = len(f)
    return (close.sum(1) - close[np.arange(n), np.arange(n)]).reshape(n, -1)


def _mbd_variants(f, T):
    """What the plausible wrong answers compute (the appended columns only)."""
    n = len(f)
    l1, m = _closeness_terms(f, T)
    diff = m[:, None] - m[None, :]
    off = 1 - np.eye(n)[:, :, None]
    close = np.exp(-l1)
    return {
        "L2": (np.exp(-np.sqrt((diff ** 2).sum(-1))) * off).sum(1),
        "squared L2": (np.exp(-(diff ** 2).sum(-1)) * off).sum(1),
        "over B": (np.exp(-np.abs(diff).sum(2)) * off).sum(1),  # (n, C)
        "raw": (l1 * off).sum(1),
        "raw exp(+)": (np.exp(np.minimum(l1, 50.0)) * off).sum(1),
        "self": close.sum(1),
        "mean others": (close * off).sum(1) / (n - 1),
        "mean all": close.mean(1),
    }


@exercise("4.5", "minibatch discrimination: the B sums over the other samples of "
          "exp(-L1 distance) between rows of M, appended to f, one batch at a time.",
          gives_away=("minibatch_discrimination_features",))
class MinibatchDiscrimination(Checker):
    def cases(self, rng):
        out = []
        # (n, A, B, C): B != C in most cases, so an L1 over the wrong axis changes
        # the shape; the last has B == C, where only the values tell
        for n, a, b, c in ((6, 4, 3, 5), (10, 7, 5, 2), (9, 3, 2, 6), (8, 5, 4, 4)):
            f = rng.standard_normal((n, a))
            f[1] = f[0]  # two identical samples: their closeness is exp(0) = 1
            T = rng.standard_normal((a, b, c)) * 0.6 / (c * math.sqrt(a))
            f2 = rng.standard_normal((n + 3, a))
            out.append({"f": f.astype(np.float32), "T": T.astype(np.float32),
                        "f2": f2.astype(np.float32)})
        return out

    def run(self, minibatch_discrimination, case):
        T = torch.tensor(case["T"], requires_grad=True)
        f = torch.tensor(case["f"], requires_grad=True)
        first = call_student("4.5", minibatch_discrimination, f, T)
        values = plain_tensor("4.5", first, "minibatch_discrimination(f, T)")
        # a second batch, passed alone, then the first batch again: a layer must
        # compare each sample with its own batch only
        second = plain_tensor("4.5", call_student(
            "4.5", minibatch_discrimination, torch.tensor(case["f2"]),
            torch.tensor(case["T"])), "minibatch_discrimination(f2, T)")
        again = plain_tensor("4.5", call_student(
            "4.5", minibatch_discrimination, torch.tensor(case["f"]),
            torch.tensor(case["T"])), "minibatch_discrimination(f, T)")
        flows = False
        n, a = case["f"].shape
        if (type(first) is torch.Tensor and first.requires_grad
                and first.ndim == 2 and first.shape[1] > a):
            (grad,) = torch.autograd.grad(first[:, a:].sum(), T, allow_unused=True)
            flows = grad is not None and bool(torch.any(grad != 0))
        return {"values": values, "second": second, "again": again, "flows": flows}

    def verify(self, case, result):
        f = np.asarray(case["f"], dtype=np.float64)
        T = np.asarray(case["T"], dtype=np.float64)
        f2 = np.asarray(case["f2"], dtype=np.float64)
        (n, a), (b, c) = f.shape, T.shape[1:]
        what = "minibatch_discrimination(f, T)"
        got = as_array("4.5", result["values"], what)
        shape = f"f of shape {(n, a)} and T of shape {(a, b, c)}"
        if got.ndim != 2 or got.shape[0] != n:
            raise ExerciseFailed(
                f"Exercise 4.5: for {shape} return shape {(n, a + b)}, one row per "
                f"sample; got {got.shape}.")
        if got.shape == (n, a + c) and b != c:
            raise ExerciseFailed(
                f"Exercise 4.5: for {shape} you appended {c} columns: the L1 "
                f"distance was summed over the B rows of M_i instead of the C "
                f"entries of each row.{STEP}With M of shape (n, B, C), the "
                "difference M[:, None] - M[None, :] is (n, n, B, C); take "
                ".abs().sum(dim=3) to get one distance per pair and per row b.")
        if got.shape == (n, b):
            raise ExerciseFailed(
                f"Exercise 4.5: you returned the {b} closeness sums alone; the layer "
                f"appends them to the features: shape {(n, a + b)}."
                f"{STEP}torch.cat([f, o], dim=1).")
        if got.shape != (n, a + b):
            raise ExerciseFailed(
                f"Exercise 4.5: for {shape} return shape {(n, a + b)}: f with B = "
                f"{b} columns appended, one per row of M_i. Got {got.shape}.")
        if not np.allclose(got[:, :a], f, atol=1e-5):
            raise ExerciseFailed(
                "Exercise 4.5: the first A columns should be f itself, unchanged; "
                "the B closeness sums come after them.")
        expected = _reference_mbd(f, T)
        again = as_array("4.5", result["again"], what)
        second = as_array("4.5", result["second"], "minibatch_discrimination(f2, T)")
        own_second = np.allclose(second[:, a:], _reference_mbd(f2, T), atol=1e-4)
        if (again.shape != got.shape or not np.allclose(again, got, atol=1e-5)
                or (np.allclose(got[:, a:], expected, atol=1e-4) and not own_second)):
            raise ExerciseFailed(
                "Exercise 4.5: the same batch gave different features after another "
                "batch was passed in between: your layer mixes samples of batches "
                "passed separately (a stored earlier batch, or a running state). "
                "Real and generated batches go through D in separate calls, and "
                "each sample is compared with the samples of its own call only."
                f"{STEP}Compute everything from the f of this call: no attribute, "
                "global or default argument that keeps an earlier batch.")
        o = got[:, a:]
        if not np.allclose(o, expected, atol=1e-4, rtol=1e-4):
            variants = _mbd_variants(f, T)
            hints = {
                "L2": "you used the Euclidean (L2) distance between rows; the "
                      "closeness uses the L1 distance, the sum of absolute "
                      f"differences over the C entries.{STEP}(M[:, None] - "
                      "M[None, :]).abs().sum(dim=3), then exp of minus that.",
                "squared L2": "you used the squared Euclidean distance; the "
                      "closeness uses the L1 distance, the sum of absolute "
                      f"differences over the C entries.{STEP}(M[:, None] - "
                      "M[None, :]).abs().sum(dim=3), then exp of minus that.",
                "over B": "the L1 distance was summed over the B rows of M_i, not "
                      f"over the C entries of each row.{STEP}With the difference "
                      "of shape (n, n, B, C), sum over dim=3.",
                "raw": "you summed the L1 distances themselves. The feature sums a "
                      "closeness, exp(-distance): 1 for an identical sample, near 0 "
                      f"for a distant one.{STEP}o = torch.exp(-l1) summed over the "
                      "other samples j.",
                "raw exp(+)": "you took exp(+distance); the closeness is "
                      "exp(-distance), at most 1, largest for identical samples.",
                "self": "your sums include each sample's closeness to itself, "
                      "exp(0) = 1 in every column. This course sums over the other "
                      f"samples j != i, as Salimans et al.'s text and code do.{STEP}"
                      "Multiply the (n, n, B) closeness by 1 - torch.eye(n)[:, :, "
                      "None] before summing over j, or subtract 1.",
                "mean others": "you averaged over the other samples; the layer "
                      "sums them, so that o counts how many samples of the batch "
                      f"are close (n - 1 for a batch of copies).{STEP}Use .sum(dim=1) "
                      "over j instead of .mean.",
                "mean all": "you averaged over j (and kept the sample itself); the "
                      "layer sums over the other samples j != i.",
            }
            for name, hint in hints.items():
                value = variants[name]
                if value.shape == o.shape and np.allclose(o, value, atol=1e-4,
                                                          rtol=1e-4):
                    raise ExerciseFailed(f"Exercise 4.5: {hint}")
            require_close(
                "4.5", o, expected, what=f"the {b} appended columns", atol=1e-4,
                rtol=1e-4, hint="For each row b of M_i = f_i T (shape (B, C)), sum "
                "over the other samples j of exp(-||M_ib - M_jb||_1)."
                f"{STEP}M = (f @ T.reshape(A, B * C)).reshape(n, B, C); l1 = "
                "(M[:, None] - M[None, :]).abs().sum(dim=3); o = (torch.exp(-l1) * "
                "(1 - torch.eye(n))[:, :, None]).sum(dim=1).")
        if not own_second:
            require_close(
                "4.5", second[:, a:], _reference_mbd(f2, T),
                what="the appended columns of a second batch", atol=1e-4, rtol=1e-4,
                hint="Each batch is compared with itself only.")
        if result["flows"] is not True:
            raise ExerciseFailed(
                "Exercise 4.5: the values are right but no gradient flows from the "
                "appended columns back to T (computed under no_grad, detached, or "
                "through NumPy?). D learns T through that gradient, and G learns "
                "from it that its samples sit too close together.")


# -- 4.6 ---------------------------------------------------------------------


@exercise("4.6", "the acceptance probability min(1, exp(logit - log M)) matches, "
          "at ordinary and at extreme logits.",
          gives_away=("rejection_accept_probability",))
class AcceptProbability(Checker):
    def cases(self, rng):
        out = [{"logits": rng.uniform(-8.0, 4.0, 12).astype(np.float32),
                "log_m": 1.5},
               {"logits": rng.normal(0.0, 3.0, 20).astype(np.float32),
                "log_m": round(float(rng.uniform(2.0, 5.0)), 3)}]
        # a confident discriminator: logits far from 0, where D = sigmoid(logit)
        # rounds to 1 and exp(logit) overflows in float32 (above about 88.7)
        out.append({"logits": np.array([-300.0, -40.0, 19.0, 21.0, 22.0, 95.0, 99.0,
                                        100.5, 130.0, 400.0], dtype=np.float32),
                    "log_m": 100.0})
        out.append({"logits": np.array([18.0, 20.0, 22.0, 25.0], dtype=np.float32),
                    "log_m": 24.0})
        return out

    def run(self, accept_probability, case):
        logits = torch.tensor(case["logits"])
        log_m = float(case["log_m"])
        out = call_student("4.6", accept_probability, logits.clone(), log_m)
        if type(out) is torch.Tensor and tuple(out.shape) == tuple(logits.shape):
            raw = torch.Tensor.detach(out).to(torch.float64).cpu()
            if not bool(torch.isfinite(raw).all()):  # named by verify, with a hint
                return {"values": None, "nonfinite": (~torch.isfinite(raw)).numpy()}
        return {"values": plain_tensor("4.6", out,
                                       f"accept_probability(logits, {log_m:g})"),
                "nonfinite": None}

    def verify(self, case, result):
        logits = np.asarray(case["logits"], dtype=np.float64)
        log_m = float(case["log_m"])
        what = f"accept_probability(logits, {log_m:g})"
        if result["nonfinite"] is not None:
            bad = as_array("4.6", result["nonfinite"], what).astype(bool)
            raise ExerciseFailed(
                f"Exercise 4.6: {what} gave nan or inf at the logits "
                f"{logits[bad].tolist()}. exp(logit) overflows in float32 above "
                "about 88.7, and D / (1 - D) divides by 0 once sigmoid(logit) "
                f"rounds to 1.{STEP}Stay in log space: take exp(logits - log_m), "
                "and clip before or after the exponential."
            )
        got = as_array("4.6", result["values"], what)
        if got.shape != logits.shape:
            raise ExerciseFailed(
                f"Exercise 4.6: {what} should have the shape of logits, "
                f"{logits.shape}: one probability per sample. Got {got.shape}."
            )
        shift = logits - log_m
        expected = np.exp(np.minimum(shift, 0.0))
        with np.errstate(over="ignore"):
            flipped = np.exp(np.minimum(-shift, 0.0))
        if np.allclose(got, flipped, atol=1e-6) and not np.allclose(expected, flipped):
            raise ExerciseFailed(
                "Exercise 4.6: the sign is flipped: you keep the samples the "
                f"discriminator finds least real.{STEP}Accept with "
                "exp(logit - log M), which grows with the logit."
            )
        near_one = (shift < 0) & (shift > -5)
        if np.any(near_one) and np.allclose(got[near_one], 1.0) and not (
                np.allclose(expected[near_one], 1.0)):
            raise ExerciseFailed(
                f"Exercise 4.6: {what} keeps every sample with a logit a little "
                "below log M (with probability 1); those should be kept with "
                "probability exp(logit - log M) < 1. Where does precision go?"
                f"{STEP}sigmoid(logit) rounds to 1 in float32 from a logit of about "
                "17, and exp(logit) overflows above about 88.7: compute "
                "exp(logits - log_m) directly."
            )
        with np.errstate(over="ignore"):
            sigmoids = (1 / (1 + np.exp(-logits)), 1 / (1 + np.exp(-shift)))
        if any(np.allclose(got, v, atol=1e-5) for v in sigmoids):
            raise ExerciseFailed(
                "Exercise 4.6: that is a sigmoid of the logit: D(x), the "
                "discriminator's probability, not the density ratio p_data / p_g."
                f"{STEP}At the optimal D, D / (1 - D) = p_data / p_g = exp(logit), "
                "so the acceptance probability is that ratio over M: "
                "exp(logit - log M), at most 1."
            )
        if np.any(got > 1 + 1e-6):
            raise ExerciseFailed(
                f"Exercise 4.6: {what} has values above 1 (largest "
                f"{got.max():.4g}). A probability is at most 1: samples whose ratio "
                "exceeds the bound M are always kept, so clip at 1."
            )
        if np.any(got < -1e-12):
            raise ExerciseFailed(
                f"Exercise 4.6: {what} has negative values; exp(logit - log M) "
                "is never negative. Did you subtract instead of taking the "
                "exponential?"
            )
        require_close("4.6", got, expected, what=what, atol=1e-7, rtol=1e-4,
                      hint="The acceptance probability is the density ratio over "
                      f"its bound M, at most 1.{STEP}Accept with probability "
                      "exp(logits - log_m), clipped at 1 (torch.clamp(..., max=1) "
                      "or exp of min(logits - log_m, 0)).")
