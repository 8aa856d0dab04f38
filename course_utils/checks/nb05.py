"""Checkers for 05_conditional_and_infogan.

Exercise 5.1: ``with_labels(x, y, num_classes)``, a batch with its labels'
one-hot codes attached: as extra columns of flat inputs (N, d), as constant
extra channels of images (N, C, H, W).
Exercise 5.2: ``info_bound(joint, q)``, InfoGAN's variational lower bound
E_{p(c, x)}[log Q(c | x)] + H(c) on a discrete joint table, in nats.
Exercise 5.3: ``info_loss(q, cat_codes, cont_codes)``, the categorical and
continuous parts of InfoGAN's information loss: ``(cat_loss, cont_loss)``.
Exercise 5.4: ``matched_accuracy(codes, labels, k)``, the accuracy of a code as a
label after the best one-to-one matching of codes to labels.
Exercise 5.5: ``mismatched_labels(y, num_classes)``, a wrong label for each sample,
uniform over the other classes (the matching-aware discriminator's negatives).
Exercise 5.6: ``class_term_parts(gen_joint, data_joint)``, AC-GAN's class term
E_q[-log p(y|x)] split into KL(q(x, y) || p(x, y)), KL(q(x) || p(x)) and H_q(y|x).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from course_utils.checks._core import (
    Checker,
    ExerciseFailed,
    as_array,
    as_float,
    call_student,
    exercise,
    input_gradients,
    known_mistake,
    mismatch,
    plain_float,
    plain_tensor,
    STEP,
)

# -- 5.1 ---------------------------------------------------------------------


@exercise("5.1", "one-hot labels attached as columns of flat inputs and as "
          "constant channels of images, x first, gradients flowing to x.",
          gives_away=("concat_one_hot",))
class WithLabels(Checker):
    def cases(self, rng):
        out = []
        for kind, k in (("flat", 2), ("flat", 10), ("image", 10), ("image", 3)):
            n = int(rng.integers(5, 12))
            shape = (n, int(rng.integers(2, 6))) if kind == "flat" else (
                n, int(rng.integers(1, 3)), int(rng.integers(3, 6)),
                int(rng.integers(3, 6)))
            if k == 2:
                labels = rng.integers(0, 2, n)
                labels[:2] = [0, 1]
            else:  # the highest class is left out: one_hot must be told num_classes
                labels = rng.integers(0, k - 1, n)
            out.append({"x": rng.normal(0, 1, shape).astype(np.float32),
                        "y": labels.astype(np.int64), "k": k})
        return out

    def run(self, with_labels, case):
        x = torch.tensor(case["x"], dtype=torch.float32, requires_grad=True)
        y = torch.tensor(case["y"], dtype=torch.int64)
        out = call_student("5.1", with_labels, x, y, int(case["k"]))
        if type(out) is not torch.Tensor:
            raise ExerciseFailed(
                f"Exercise 5.1: return a torch.Tensor, got {type(out).__name__}."
            )
        weights = torch.linspace(-1.0, 1.0, out.numel()).reshape(out.shape)
        grads = input_gradients((out.float() * weights).sum(), (x,))
        return {"out": plain_tensor("5.1", out), "dtype": str(out.dtype),
                "grad": None if grads is None else plain_tensor("5.1", grads[0])}

    def verify(self, case, result):
        x = np.asarray(case["x"], dtype=np.float64)
        y = np.asarray(case["y"])
        k = int(case["k"])
        n = x.shape[0]
        if type(result) is not dict:
            raise ExerciseFailed("Exercise 5.1: expected a tensor.")
        one_hot = np.eye(k)[y]
        if x.ndim == 2:
            expected = np.concatenate([x, one_hot], axis=1)
            what = f"flat inputs of shape {x.shape} with {k} classes"
        else:
            maps = np.broadcast_to(one_hot[:, :, None, None], (n, k) + x.shape[2:])
            expected = np.concatenate([x, maps], axis=1)
            what = f"images of shape {x.shape} with {k} classes"
        got = result.get("out")
        if type(got) is not np.ndarray:
            raise ExerciseFailed("Exercise 5.1: the result is not a tensor.")
        if got.shape != expected.shape:
            hint = "one extra column (or channel) per class, after x's own."
            if x.ndim == 2 and got.shape == (n, x.shape[1] + 1):
                hint = ("the label went in as one number; a network reads it better "
                        "as a one-hot code, one column per class.")
            elif got.shape[1:] == (x.shape[1] + int(y.max()) + 1,) + x.shape[2:]:
                hint = ("pass num_classes to F.one_hot: a batch need not hold the "
                        "highest class, and the networks expect the same width "
                        "whatever the batch.")
            elif x.ndim == 4 and got.shape == x.shape[:3] + (x.shape[3] + k,):
                hint = "attach the channels along dim 1 (N, C, H, W), not the last."
            elif x.ndim == 4 and got.shape[0] == n * (x.shape[2] * x.shape[3]):
                hint = "expand the one-hot code over H and W, do not reshape x."
            raise ExerciseFailed(
                f"Exercise 5.1: for {what} expected shape {expected.shape}, got "
                f"{tuple(got.shape)}: {hint}"
            )
        if not np.allclose(got, expected, atol=1e-6):
            d = x.shape[1]
            if np.allclose(got[:, :k], expected[:, d:d + k] if x.ndim == 2
                           else expected[:, d:d + k], atol=1e-6):
                raise ExerciseFailed(
                    f"Exercise 5.1: for {what}: put x first and the one-hot code "
                    "after it (torch.cat([x, code], dim=1)), the order the "
                    "networks of this notebook read."
                )
            raise ExerciseFailed(
                f"Exercise 5.1: for {what} the values are wrong: x unchanged, then "
                "1 in the column (channel) of the sample's class and 0 elsewhere."
            )
        if result.get("dtype") != "torch.float32":
            raise ExerciseFailed(
                f"Exercise 5.1: the result has dtype {result.get('dtype')}; keep x's "
                "dtype (float32): F.one_hot gives integers, convert with "
                ".to(x.dtype)."
            )
        grad = result.get("grad")
        if grad is None:
            raise ExerciseFailed(
                "Exercise 5.1: no gradient flows back to x: the discriminator's "
                "loss must reach the generator through this function (no .detach(), "
                "no NumPy)."
            )
        grad = as_array("5.1", grad, "the gradient", x.shape)
        weights = np.linspace(-1.0, 1.0, expected.size).reshape(expected.shape)
        if not np.allclose(grad, weights[:, : x.shape[1]], atol=1e-5):
            raise ExerciseFailed(
                "Exercise 5.1: the gradient reaching x is wrong: return x's values "
                "themselves, not a copy cut off from the graph."
            )


# -- 5.2 ---------------------------------------------------------------------


def _bound(joint, q, log=np.log):
    mask = joint > 0
    marg = joint.sum(axis=1)
    ent = -np.sum(marg[marg > 0] * log(marg[marg > 0]))
    return float(np.sum(joint[mask] * log(q[mask])) + ent), ent


@exercise("5.2", "E[log Q(c|x)] + H(c) in nats, with 0 log 0 = 0, on 5 joint "
          "tables and posteriors.", gives_away=("variational_info_bound",))
class InfoBound(Checker):
    def cases(self, rng):
        out = []
        for i, (nc, nx) in enumerate(((2, 3), (3, 5), (4, 2), (3, 4), (5, 6))):
            joint = rng.dirichlet(np.full(nc * nx, 0.7)).reshape(nc, nx)
            if i == 3:  # a zero cell, and a Q that is zero there too
                joint[0, 1] = 0.0
                joint /= joint.sum()
            if i in (1, 3):  # the true posterior: the bound is tight
                q = joint / joint.sum(axis=0, keepdims=True)
            else:
                q = rng.dirichlet(np.ones(nc), nx).T
            if i == 4:  # a non-uniform code prior far from the mean of rows
                joint = joint * np.linspace(0.2, 2.0, nc)[:, None]
                joint /= joint.sum()
            out.append({"joint": joint, "q": q})
        return out

    def run(self, info_bound, case):
        joint = torch.tensor(case["joint"], dtype=torch.float64)
        q = torch.tensor(case["q"], dtype=torch.float64)
        value = call_student("5.2", info_bound, joint, q)
        return {"value": plain_float("5.2", value, "the bound")}

    def verify(self, case, result):
        joint = np.asarray(case["joint"], dtype=np.float64)
        q = np.asarray(case["q"], dtype=np.float64)
        if type(result) is not dict:
            raise ExerciseFailed("Exercise 5.2: expected a number.")
        got = as_float("5.2", result.get("value"), "the bound")
        expected, ent = _bound(joint, q)
        if abs(got - expected) <= 1e-9:
            return
        pc, px = joint.sum(axis=1), joint.sum(axis=0)
        px_ent = -np.sum(px[px > 0] * np.log(px[px > 0]))
        cross = float(np.sum(joint[joint > 0] * np.log(q[joint > 0])))
        product = np.outer(pc, px)
        wrong = [
            (cross, "add H(c), the entropy of the code's prior: the bound is "
             "E[log Q(c|x)] + H(c)."),
            (cross - ent, "H(c) = -sum_c p(c) log p(c) is positive: add it."),
            (cross + px_ent, "H(c) is the entropy of the code c (sum the table over "
             "x, axis 1), not of x."),
            (_bound(joint, q, np.log2)[0], "work in nats: natural logarithms."),
            (float(np.mean(np.log(np.where(joint > 0, q, 1.0)))) + ent,
             "weight each log Q(c|x) by p(c, x), the probability of that cell: "
             "an expectation, not a plain mean over the table."),
            (float(np.sum(product * np.log(q))) + ent,
             "the expectation is under the joint p(c, x), not under p(c) p(x)."),
            (-cross + ent, "the bound holds log Q(c|x), not minus it."),
        ]
        hint = known_mistake(got, wrong, 1e-9)
        if hint:
            raise ExerciseFailed(f"Exercise 5.2: {hint}")
        raise ExerciseFailed(
            f"Exercise 5.2: got {got:.6g} for a {joint.shape[0]} x {joint.shape[1]} "
            f"table, expected {expected:.6g} = sum over cells with p(c, x) > 0 of "
            "p(c, x) log Q(c|x), plus H(c)."
        )


# -- 5.3 ---------------------------------------------------------------------

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _info_parts(q, idx, cont):
    k = q.shape[1] - 2 * cont.shape[1]
    m = cont.shape[1]
    logits = q[:, :k]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_soft = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = len(idx)
    cat = -float(np.mean(log_soft[np.arange(n), idx]))
    mean, log_std = q[:, k:k + m], q[:, k + m:]
    nll = 0.5 * ((cont - mean) / np.exp(log_std)) ** 2 + log_std + _HALF_LOG_2PI
    return cat, float(nll.sum(axis=1).mean()) if m else 0.0, log_soft, mean, log_std


@exercise("5.3", "cross-entropy of the categorical code from Q's logits and the "
          "Gaussian negative log-likelihood of the continuous codes, batch means, "
          "gradients included.", gives_away=("infogan_info_losses",))
class InfoLoss(Checker):
    def cases(self, rng):
        out = []
        for k, m, n in ((10, 2, 16), (2, 0, 12), (4, 1, 9), (10, 3, 20)):
            q = rng.normal(0, 1.5, (n, k + 2 * m))
            q[:, k + m:] = rng.uniform(-1.5, 1.0, (n, m))
            if k == 10 and m == 2:
                q[0, :k] += 60.0  # large logits: a softmax-then-log overflows
            out.append({"q": q, "idx": rng.integers(0, k, n).astype(np.int64),
                        "cont": rng.uniform(-1, 1, (n, m))})
        return out

    def run(self, info_loss, case):
        q = torch.tensor(case["q"], dtype=torch.float64, requires_grad=True)
        idx = torch.tensor(case["idx"], dtype=torch.int64)
        cont = torch.tensor(case["cont"], dtype=torch.float64)
        out = call_student("5.3", info_loss, q, idx, cont)
        if type(out) is not tuple or len(out) != 2:
            raise ExerciseFailed(
                "Exercise 5.3: return a tuple (cat_loss, cont_loss), got "
                f"{type(out).__name__}."
            )
        result = {}
        for name, loss in zip(("cat", "cont"), out):
            result[name] = plain_float("5.3", loss, f"{name}_loss")
            grads = input_gradients(loss, (q,))
            result[f"{name}_grad"] = None if grads is None else plain_tensor(
                "5.3", grads[0])
        return result

    def verify(self, case, result):
        q = np.asarray(case["q"], dtype=np.float64)
        idx = np.asarray(case["idx"])
        cont = np.asarray(case["cont"], dtype=np.float64).reshape(len(idx), -1)
        m = cont.shape[1]
        k = q.shape[1] - 2 * m
        n = len(idx)
        if type(result) is not dict:
            raise ExerciseFailed("Exercise 5.3: expected two losses.")
        cat, cont_nll, log_soft, mean, log_std = _info_parts(q, idx, cont)
        shape = f"(k = {k} categories, {m} continuous codes)"
        got_cat = as_float("5.3", result.get("cat"), "cat_loss")
        got_cont = as_float("5.3", result.get("cont"), "cont_loss")
        if abs(got_cat - cat) > 1e-8 * max(1.0, cat):
            soft = np.exp(log_soft)
            s2 = soft - soft.max(axis=1, keepdims=True)
            twice = s2 - np.log(np.exp(s2).sum(axis=1, keepdims=True))
            wrong = [
                (-float(np.mean(twice[np.arange(n), idx])),
                 "the logits went through a softmax before the cross-entropy: "
                 "F.cross_entropy applies log-softmax itself; give it the raw "
                 "logits."),
                (cat * n, "average over the batch (mean), do not sum."),
                (-float(np.mean(soft[np.arange(n), idx])),
                 "take the log of the probability: cross-entropy is -log Q(c|x)."),
            ]
            hint = known_mistake(got_cat, wrong, 1e-8)
            if hint:
                raise ExerciseFailed(f"Exercise 5.3: cat_loss {shape}: {hint}")
            raise ExerciseFailed(
                f"Exercise 5.3: cat_loss {shape}: {mismatch(got_cat, cat)}. "
                "F.cross_entropy(q[:, :k], cat_codes) with "
                "k = q.shape[1] - 2 * cont_codes.shape[1] computes it stably."
            )
        if abs(got_cont - cont_nll) > 1e-8 * max(1.0, abs(cont_nll)):
            sq = 0.5 * (cont - mean) ** 2
            wrong = [
                (cont_nll - m * _HALF_LOG_2PI, "keep the constant 1/2 log(2 pi) per "
                 "code: the loss is then a real negative log-likelihood in nats."),
                (float(sq.sum(axis=1).mean()) + m * _HALF_LOG_2PI if m else None,
                 "Q predicts a standard deviation too (the last columns hold its "
                 "log): divide by exp(log_std) and add log_std."),
                (float(sq.sum(axis=1).mean()) if m else None,
                 "Q predicts a standard deviation too (the last columns hold its "
                 "log): divide by exp(log_std) and add log_std, plus the constant "
                 "1/2 log(2 pi)."),
                (float((0.5 * ((cont - mean) / log_std) ** 2 + np.log(np.abs(log_std))
                        + _HALF_LOG_2PI).sum(axis=1).mean()) if m else None,
                 "the last columns hold log(std): the standard deviation is their "
                 "exp."),
                (cont_nll * n, "average over the batch (mean), do not sum."),
                (cont_nll / m if m else None, "sum over the continuous codes, then "
                 "average over the batch."),
                (float((0.5 * ((cont - log_std) / np.exp(mean)) ** 2 + mean
                        + _HALF_LOG_2PI).sum(axis=1).mean()) if m else None,
                 "the means come first (columns k to k + m), then the log standard "
                 "deviations."),
            ]
            hint = known_mistake(got_cont, wrong, 1e-8)
            if hint:
                raise ExerciseFailed(f"Exercise 5.3: cont_loss {shape}: {hint}")
            raise ExerciseFailed(
                f"Exercise 5.3: cont_loss {shape}: {mismatch(got_cont, cont_nll)}. "
                "It is the mean over the batch of the sum over codes of "
                "1/2 ((c - mean) / std)^2 + log std + 1/2 log(2 pi)"
                + (" (0 when there are no continuous codes)." if not m else ".")
            )
        grad_cat = result.get("cat_grad")
        if grad_cat is None:
            raise ExerciseFailed(
                "Exercise 5.3: cat_loss carries no gradient back to q: Q and G "
                "learn from it, so build it from q with torch operations (no "
                ".item(), .detach() or NumPy)."
            )
        expected = np.exp(log_soft)
        expected[np.arange(n), idx] -= 1.0
        grad_cat = as_array("5.3", grad_cat, "a gradient", q.shape)
        if not np.allclose(grad_cat[:, :k], expected / n, atol=1e-8):
            raise ExerciseFailed(
                "Exercise 5.3: cat_loss has the right value but the wrong gradient."
            )
        if m:
            grad_cont = result.get("cont_grad")
            if grad_cont is None:
                raise ExerciseFailed(
                    "Exercise 5.3: cont_loss carries no gradient back to q: build it "
                    "from q with torch operations."
                )
            grad_cont = as_array("5.3", grad_cont, "a gradient", q.shape)
            var = np.exp(2 * log_std)
            g_mean = -(cont - mean) / var / n
            g_log = (1 - (cont - mean) ** 2 / var) / n
            if not (np.allclose(grad_cont[:, k:k + m], g_mean, atol=1e-8)
                    and np.allclose(grad_cont[:, k + m:], g_log, atol=1e-8)):
                raise ExerciseFailed(
                    "Exercise 5.3: cont_loss has the right value but the wrong "
                    "gradient."
                )


# -- 5.4 ---------------------------------------------------------------------


def _table(codes, labels, k):
    table = np.zeros((k, k), dtype=np.int64)
    np.add.at(table, (codes, labels), 1)
    return table


@exercise("5.4", "the best one-to-one matching of codes to labels, on 5 tables "
          "where a greedy matching is wrong.", gives_away=("matched_code_accuracy",
                                                       "matched_assignment_accuracy"))
class MatchedAccuracy(Checker):
    def cases(self, rng):
        out = []
        for k, n in ((5, 150), (10, 500), (10, 800), (4, 120), (10, 300)):
            labels = rng.integers(0, k, n)
            perm = rng.permutation(k)
            codes = perm[labels].copy()
            noisy = rng.random(n) < 0.25
            codes[noisy] = rng.integers(0, k, int(noisy.sum()))
            # two codes that prefer label 0, so that a greedy matching is wrong
            codes[(labels == 0) & (rng.random(n) < 0.55)] = perm[1]
            codes[(labels == 1) & (rng.random(n) < 0.6)] = perm[2]
            unused = -1
            if not out:  # two digits merged into one code: another code unused
                unused = int(perm[k - 1])
                codes[codes == unused] = perm[k - 2]
            out.append({"codes": codes.astype(np.int64),
                        "labels": labels.astype(np.int64), "k": k,
                        "unused": unused})
        return out

    def run(self, matched_accuracy, case):
        unused = int(case.get("unused", -1))
        note = (f" In this case no sample has code {unused} (two digits share one "
                "code, as when InfoGAN merges 4 and 9): its row of the table is "
                "empty, and it must simply match no digit."
                if unused >= 0 else "")
        try:
            value = call_student("5.4", matched_accuracy, np.array(case["codes"]),
                                 np.array(case["labels"]), int(case["k"]))
            return {"value": plain_float("5.4", value, "the accuracy")}
        except ExerciseFailed as exc:
            if not note:
                raise
            text = str(exc).rstrip()
            raise ExerciseFailed(text + ("" if text.endswith(".") else ".") + note) \
                from None

    def verify(self, case, result):
        from scipy.optimize import linear_sum_assignment

        codes, labels = np.asarray(case["codes"]), np.asarray(case["labels"])
        k, n = int(case["k"]), len(case["codes"])
        if type(result) is not dict:
            raise ExerciseFailed("Exercise 5.4: expected a number.")
        got = as_float("5.4", result.get("value"), "the accuracy")
        table = _table(codes, labels, k)
        rows, cols = linear_sum_assignment(table, maximize=True)
        expected = table[rows, cols].sum() / n
        if abs(got - expected) <= 1e-12:
            return
        r_min, c_min = linear_sum_assignment(table)
        wrong = [
            (table.max(axis=1).sum() / n,
             "each code took its most frequent label, so two codes can claim the "
             "same digit: the matching must be one-to-one "
             "(scipy.optimize.linear_sum_assignment on the code x label table)."),
            (table[r_min, c_min].sum() / n,
             "linear_sum_assignment minimises by default: pass maximize=True."),
            (float(np.mean(codes == labels)),
             "code 3 need not mean digit 3: match codes to labels first."),
            (float(table[rows, cols].sum()), "return a share of the samples in "
             "[0, 1], not a count."),
            (table.max(axis=0).sum() / n,
             "each label took its most frequent code, so one code can serve two "
             "labels: the matching must be one-to-one."),
        ]
        hint = known_mistake(got, wrong, 1e-12)
        if hint:
            raise ExerciseFailed(f"Exercise 5.4: {hint}")
        raise ExerciseFailed(
            f"Exercise 5.4: with {k} codes you {mismatch(got, expected)}: "
            "count each (code, label) pair in a k x k table, find the one-to-one "
            "matching with the largest total, divide by the number of samples."
        )


# -- 5.5 ---------------------------------------------------------------------

_MISMATCH_N = 20000
_MISMATCH_WORKED = (
    "Draw a shift s from 1 to K - 1 for each sample, torch.randint(1, num_classes, "
    "y.shape), and return (y + s) % num_classes: the shift is never 0, so the label "
    "is never y, and each of the K - 1 other labels comes from exactly one shift.")


@exercise("5.5", "wrong labels never equal to the true one, uniform over the "
          "others whatever the batch, on 4 batches of 20,000 labels.",
          gives_away=("mismatched_labels",))
class MismatchedLabels(Checker):
    def cases(self, rng):
        out = []
        for k, kind in ((10, "balanced"), (2, "balanced"), (3, "balanced"),
                        (10, "skewed")):
            if kind == "balanced":
                y = rng.integers(0, k, _MISMATCH_N)
            else:  # most of the batch is one class: a shuffle of it is not uniform
                y = np.where(rng.random(_MISMATCH_N) < 0.8, 0,
                             rng.integers(1, k, _MISMATCH_N))
            out.append({"y": y.astype(np.int64), "k": k, "kind": kind})
        return out

    def run(self, mismatched_labels, case):
        y = torch.tensor(case["y"], dtype=torch.int64)
        out = call_student("5.5", mismatched_labels, y.clone(), int(case["k"]))
        if type(out) is not torch.Tensor:
            raise ExerciseFailed(
                f"Exercise 5.5: return a torch.Tensor of labels, got "
                f"{type(out).__name__}.")
        if out.is_floating_point() or out.is_complex() or out.dtype == torch.bool:
            raise ExerciseFailed(
                f"Exercise 5.5: the labels have dtype {out.dtype}; return integers "
                "(int64, like y): they index the one-hot code and the embedding.")
        return {"out": torch.Tensor.numpy(torch.Tensor.cpu(out)).astype(np.int64)}

    def verify(self, case, result):
        y, k = np.asarray(case["y"]), int(case["k"])
        n = len(y)
        if type(result) is not dict:
            raise ExerciseFailed("Exercise 5.5: expected a tensor of labels.")
        got = result.get("out")
        if type(got) is not np.ndarray or got.dtype.kind not in "iu":
            raise ExerciseFailed("Exercise 5.5: the result is not a tensor of labels.")
        where = f"with K = {k} classes"
        if got.shape != y.shape:
            raise ExerciseFailed(
                f"Exercise 5.5: {where} expected one label per sample, shape "
                f"{y.shape}, got {got.shape}.")
        if got.min() < 0 or got.max() >= k:
            raise ExerciseFailed(
                f"Exercise 5.5: {where} your labels run from {got.min()} to "
                f"{got.max()}; they must lie in 0 .. {k - 1}: wrap around with "
                f"% num_classes.{STEP}{_MISMATCH_WORKED}")
        hits = int(np.sum(got == y))
        if hits:
            batch_order = bool(np.all(np.sort(got) == np.sort(y)))
            why = ("your wrong labels are the batch's own labels in another order: "
                   "a shuffle gives some samples back their own label (and follows "
                   "the batch's mix of classes)" if batch_order else
                   "a label drawn from all K classes (or redrawn only once) can come "
                   "out equal to the true one, and the pair is then a right pair "
                   "that D is told to call fake")
            raise ExerciseFailed(
                f"Exercise 5.5: {where}, {hits} of {n} wrong labels equal the true "
                f"label: {why}.{STEP}{_MISMATCH_WORKED}")
        from scipy.stats import chi2

        for true in range(k):
            counts = np.bincount(got[y == true], minlength=k).astype(np.float64)
            others = np.delete(counts, true)
            if len(others) < 2:
                continue  # K = 2: the one other label, nothing to spread
            expected = others.sum() / len(others)
            stat = float(np.sum((others - expected) ** 2 / expected))
            if chi2.sf(stat, len(others) - 1) > 1e-7:
                continue
            shares = ", ".join(f"{j}: {c / others.sum():.0%}" for j, c in
                               enumerate(counts) if j != true)
            if np.count_nonzero(others) == 1:
                why = ("always the same wrong label (y + 1, say): D then learns "
                       "only that an image of class k does not go with the one "
                       "label after it, and says nothing about the others")
            elif np.count_nonzero(others) == len(others) - 1:
                missing = [j for j in range(k) if j != true and counts[j] == 0]
                why = (f"label {missing[0]} never appears: look at the bounds of "
                       "your draw (torch.randint's upper bound is exclusive)")
            elif case.get("kind") == "skewed":
                why = ("the wrong labels follow the batch's mix of classes: in this "
                       "batch 80 % of the images are 0s, and wrong labels taken "
                       "from the batch are then mostly 0; draw them from the "
                       "classes, not from the batch")
            else:
                why = "every other label must be equally likely"
            raise ExerciseFailed(
                f"Exercise 5.5: {where}, the wrong labels of the images of class "
                f"{true} are not uniform over the other {k - 1} classes ({shares}): "
                f"{why}.{STEP}{_MISMATCH_WORKED}")


# -- 5.6 ---------------------------------------------------------------------

_PARTS = ("kl_joint", "kl_images", "cond_entropy")


def _class_parts(q, p, log=np.log):
    """(KL(q(x,y) || p(x,y)), KL(q(x) || p(x)), H_q(y | x)) and the class term
    E_q[-log p(y|x)], for tables (K labels, X images); 0 log 0 = 0."""
    used = q > 0
    qx, px = q.sum(axis=0), p.sum(axis=0)
    kl_joint = float(np.sum(q[used] * log(q[used] / p[used])))
    ux = qx > 0
    kl_images = float(np.sum(qx[ux] * log(qx[ux] / px[ux])))
    q_post = np.divide(q, qx, out=np.zeros_like(q), where=qx > 0)
    cond = float(-np.sum(q[used] * log(q_post[used])))
    term = float(-np.sum(q[used] * log((p / px)[used])))
    return (kl_joint, kl_images, cond), term


@exercise("5.6", "AC-GAN's class term split into KL of the joints, minus KL of the "
          "image marginals, plus the generator's conditional entropy, on 5 tables.",
          gives_away=("class_term_parts",))
class ClassTermParts(Checker):
    def cases(self, rng):
        out = []
        for i, (k, nx) in enumerate(((2, 6), (3, 8), (2, 40), (4, 5), (3, 7))):
            p = rng.dirichlet(np.full(k * nx, 1.5)).reshape(k, nx)
            q = rng.dirichlet(np.full(k * nx, 0.8)).reshape(k, nx)
            if i in (1, 2):  # the labels asked for with the data's own frequencies
                q = q / q.sum(axis=1, keepdims=True) * p.sum(axis=1, keepdims=True)
            if i == 3:  # the generator never draws some images
                q[:, 1] = 0.0
                q[0, 3] = 0.0
                q /= q.sum()
            out.append({"q": q, "p": p})
        return out

    def run(self, class_term_parts, case):
        q = torch.tensor(case["q"], dtype=torch.float64)
        p = torch.tensor(case["p"], dtype=torch.float64)
        out = call_student("5.6", class_term_parts, q.clone(), p.clone())
        if type(out) not in (tuple, list) or len(out) != 3:
            raise ExerciseFailed(
                "Exercise 5.6: return a tuple of three numbers (kl_joint, kl_images, "
                f"cond_entropy), got {type(out).__name__}"
                + (f" of length {len(out)}" if type(out) in (tuple, list) else "")
                + ".")
        for name, v in zip(_PARTS, out):
            if type(v) in (float, torch.Tensor) and not bool(
                    torch.isfinite(torch.as_tensor(v)).all()):
                raise ExerciseFailed(
                    f"Exercise 5.6: {name} is {float(v)} on a table where the "
                    "generator puts no mass on some cells: count 0 log 0 as 0 (sum "
                    "only over cells with q > 0, or use torch.xlogy).")
        return {name: plain_float("5.6", v, name) for name, v in zip(_PARTS, out)}

    def verify(self, case, result):
        q = np.asarray(case["q"], dtype=np.float64)
        p = np.asarray(case["p"], dtype=np.float64)
        if type(result) is not dict:
            raise ExerciseFailed("Exercise 5.6: expected three numbers.")
        got = [as_float("5.6", result.get(name), name) for name in _PARTS]
        parts, term = _class_parts(q, p)
        where = f"for a {q.shape[0]} x {q.shape[1]} table"
        if all(abs(g - e) <= 1e-9 * max(1.0, abs(e)) for g, e in zip(got, parts)):
            return
        kl_joint, kl_images, cond = parts
        used = q > 0
        qx, px = q.sum(axis=0), p.sum(axis=0)
        qy, py = q.sum(axis=1), p.sum(axis=1)
        reverse_joint = float(np.sum(p * np.log(p / np.where(used, q, 1.0))))\
            if used.all() else None
        reverse_images = float(np.sum(px * np.log(px / qx))) if (qx > 0).all() \
            else None
        q_joint_entropy = float(-np.sum(q[used] * np.log(q[used])))
        p_post = p / px
        wrong = {
            "kl_joint": [
                (reverse_joint, "the divergence of the joints is taken under the "
                 "generator's q, the distribution the class term averages over: "
                 "KL(q || p), not KL(p || q)."),
                (-kl_joint, "KL(q || p) = sum q log(q / p): you have its negative."),
                (float(np.sum(q[used] * np.log2(q[used] / p[used]))),
                 "work in nats: natural logarithms."),
                (kl_images, "the first part compares the joint tables q(x, y) and "
                 "p(x, y) cell by cell; the image marginals are the second part."),
            ],
            "kl_images": [
                (reverse_images, "the divergence of the image marginals is taken "
                 "under q: KL(q(x) || p(x)), not KL(p(x) || q(x))."),
                (-kl_images, "return KL(q(x) || p(x)) itself, a number >= 0: the "
                 "decomposition subtracts it."),
                (float(np.sum(qy * np.log(qy / py))), "the second part is about the "
                 "images: sum the tables over the labels (axis 0) to get q(x) and "
                 "p(x), not over the images. (The label marginals are often equal, "
                 "since G is asked for labels with the data's frequencies.)"),
            ],
            "cond_entropy": [
                (term, "that is the whole class term, E_q[-log p(y | x)]. The third "
                 "part is the entropy of the generator's OWN labels given the image, "
                 "from q(y | x) = q(x, y) / q(x)."),
                (float(-np.sum(p * np.log(p_post))), "that is the data's conditional "
                 "entropy H_p(y | x); the third part is the generator's: weights "
                 "q(x, y) and log q(y | x)."),
                (q_joint_entropy, "that is the joint entropy H_q(x, y); the "
                 "conditional one divides by q(x) inside the log: "
                 "H_q(y | x) = -sum q(x, y) log q(y | x)."),
                (-cond, "an entropy is >= 0: -sum q log q(y | x)."),
            ],
        }
        for name, g, e in zip(_PARTS, got, parts):
            if abs(g - e) <= 1e-9 * max(1.0, abs(e)):
                continue
            hint = known_mistake(g, wrong[name], 1e-9)
            if hint:
                raise ExerciseFailed(
                    f"Exercise 5.6: {where}, {name}: {hint}{STEP}Write -log p(y|x) "
                    "= -log p(x, y) + log p(x), then add and subtract log q(x, y) "
                    "and log q(x): -log p(y|x) = log(q(x,y) / p(x,y)) - "
                    "log(q(x) / p(x)) - log q(y|x). Average over q(x, y).")
            raise ExerciseFailed(
                f"Exercise 5.6: {where}, {name}: {mismatch(g, e)}. The three parts "
                f"must add up to the class term E_q[-log p(y|x)] = {term:.6g} as "
                f"kl_joint - kl_images + cond_entropy; yours give "
                f"{got[0] - got[1] + got[2]:.6g}.{STEP}Start from -log p(y|x) = "
                "-log p(x, y) + log p(x) and add and subtract log q(x, y) and "
                "log q(x).")
