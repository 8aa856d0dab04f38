"""Checkers for 06_dcgan.

Exercises 6.1, 6.2 and 6.4 build pieces the notebook then uses (a generator
block, the DCGAN initialisation, spherical interpolation); 6.3 and 6.5 are
derivations: the weight the untrained generator keeps in the moving average of
its weights, and the expected squared length of a code on the straight line
between two independent Gaussian codes.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course_utils.checks._core import (
    STEP,
    Checker,
    ExerciseFailed,
    as_array,
    as_float,
    to_plain,
    call_student,
    exercise,
    judge_derived,
    plain_float,
    plain_tensor,
    require_close,
)


def _module(exercise_id: str, value, what: str) -> nn.Module:
    if not isinstance(value, nn.Module):
        raise ExerciseFailed(
            f"Exercise {exercise_id}: {what} should be an nn.Module (for example an "
            f"nn.Sequential), got {type(value).__name__}."
        )
    return value


def _layers_of(module: nn.Module, kind: type) -> list:
    return [m for m in nn.Module.modules(module) if type(m) is kind]


def _values(exercise_id: str, value, what: str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise ExerciseFailed(
            f"Exercise {exercise_id}: {what} is missing (got "
            f"{type(value).__name__}); keep the layers' default affine=True."
        )
    return torch.Tensor.clone(torch.Tensor.detach(value)).float()


# ------------------------------------------------------------------ 6.1
def _judge_setting(setting, output_padding) -> None:
    """The design of 6.1: stride 2, a kernel that is a multiple of the stride
    and larger than it (the smallest: 4), and the padding that makes the output
    exactly 2H, (H - 1) s - 2p + k = 2H, so p = (k - s) / 2 = 1."""
    (k, k2), (s, s2), (p, p2) = setting
    what = f"kernel {k}, stride {s}, padding {p}"
    if k != k2 or s != s2 or p != p2:
        raise ExerciseFailed(
            "Exercise 6.1: use the same kernel size, stride and padding along the "
            f"height and the width (got kernel {[k, k2]}, stride {[s, s2]}, "
            f"padding {[p, p2]}).")
    if s != 2:
        raise ExerciseFailed(
            f"Exercise 6.1 ({what}): the block doubles the size, so each input "
            "pixel must move 2 pixels apart in the output: the stride is 2.")
    if list(output_padding) != [0, 0]:
        raise ExerciseFailed(
            f"Exercise 6.1 ({what}, output_padding {list(output_padding)}): "
            "output_padding patches a size the formula misses; choose k and p so "
            "that (H - 1) s - 2p + k is 2H by itself, with output_padding 0.")
    if k % s:
        raise ExerciseFailed(
            f"Exercise 6.1 ({what}): with a kernel that is not a multiple of the "
            "stride, neighbouring output pixels receive different numbers of "
            "kernel taps, which prints a checkerboard on every sample. Take k a "
            f"multiple of s.{STEP}With s = 2 the candidates are k = 2, 4, 6, ...; "
            "the smallest one larger than the stride is 4.")
    if k <= s:
        raise ExerciseFailed(
            f"Exercise 6.1 ({what}): with k = s every output pixel comes from one "
            "input pixel, and neighbouring outputs share nothing: the block can "
            "only paint blocks of 2 x 2. Take the smallest multiple of the stride "
            "that is larger than it.")
    if k != 4:
        raise ExerciseFailed(
            f"Exercise 6.1 ({what}): this doubles the size, but the smallest kernel "
            "that is a multiple of the stride and larger than it is 4, and a larger "
            "one costs more arithmetic for every sample.")
    if k - s - 2 * p != 0:  # (H - 1) s - 2p + k = 2H for every H
        size = f"(H - 1) * {s} - 2 * {p} + {k} = 2H {'+' if k - s - 2 * p > 0 else '-'}"
        raise ExerciseFailed(
            f"Exercise 6.1 ({what}): the output would have size {size} "
            f"{abs(k - s - 2 * p)}, not 2H: solve (H - 1) s - 2p + k = 2H for p."
            f"{STEP}(H - 1) * 2 - 2p + 4 = 2H + 2 - 2p, which is 2H when p = 1.")


@exercise(
    "6.1", "a block that doubles the size, designed from the transposed convolution's "
    "size formula: transposed conv, batch norm, ReLU.",
    gives_away=("upsampling_block",),
)
class GeneratorBlock(Checker):
    def cases(self, rng):
        out = []
        for _ in range(2):
            c_in, c_out = int(rng.integers(4, 10)), int(rng.integers(2, 7))
            h, w = int(rng.integers(3, 8)), int(rng.integers(3, 8))
            out.append({"in": c_in, "out": c_out,
                        "X": rng.standard_normal((4, c_in, h, w)).astype(np.float32)})
        return out

    def run(self, generator_block, case):
        c_in, c_out = int(case["in"]), int(case["out"])
        block = _module("6.1", call_student("6.1", generator_block, c_in, c_out),
                        f"generator_block({c_in}, {c_out})")
        convs = _layers_of(block, nn.ConvTranspose2d)
        norms = _layers_of(block, nn.BatchNorm2d)
        relus = _layers_of(block, nn.ReLU)
        result = {"counts": [len(convs), len(norms), len(relus)]}
        if result["counts"] != [1, 1, 1]:
            return result
        conv, norm = convs[0], norms[0]
        result.update({
            "channels": [conv.in_channels, conv.out_channels],
            "setting": [list(conv.kernel_size), list(conv.stride), list(conv.padding)],
            "output_padding": list(conv.output_padding),
            "bias": conv.bias is not None,
            "features": norm.num_features,
            "eps": float(norm.eps),
            "weight": _values("6.1", conv.weight, "the convolution's weight"),
            "scale": _values("6.1", norm.weight, "the batch norm's scale"),
            "shift": _values("6.1", norm.bias, "the batch norm's shift"),
        })
        nn.Module.train(block)
        X = torch.tensor(case["X"])
        result["output"] = plain_tensor("6.1", call_student("6.1", block, X),
                                        "the block's output")
        return to_plain(result)

    def verify(self, case, result):
        c_in, c_out = int(case["in"]), int(case["out"])
        n_conv, n_norm, n_relu = result["counts"]
        if [n_conv, n_norm, n_relu] != [1, 1, 1]:
            raise ExerciseFailed(
                "Exercise 6.1: the block should hold exactly one nn.ConvTranspose2d, "
                f"one nn.BatchNorm2d and one nn.ReLU; found {n_conv}, "
                f"{n_norm} and {n_relu}."
            )
        got_in, got_out = result["channels"]
        if [got_in, got_out] != [c_in, c_out]:
            raise ExerciseFailed(
                f"Exercise 6.1: the transposed convolution maps {got_in} "
                f"to {got_out} channels; it should map {c_in} to {c_out}."
            )
        _judge_setting(result["setting"], result.get("output_padding", [0, 0]))
        if result["bias"] is not False:
            raise ExerciseFailed(
                "Exercise 6.1: give the transposed convolution bias=False. Batch "
                "norm subtracts each channel's mean right after it, which cancels "
                "any bias: the parameter would be wasted."
            )
        if result["features"] != c_out:
            raise ExerciseFailed(
                f"Exercise 6.1: the batch norm should have {c_out} features "
                f"(one per output channel), got {result['features']}."
            )
        X = torch.tensor(case["X"], dtype=torch.float64)
        _, _, h, w = X.shape
        out = as_array("6.1", result["output"], "the block's output",
                       shape=(4, c_out, 2 * h, 2 * w))
        weight = torch.from_numpy(as_array("6.1", result["weight"], "the weight",
                                           shape=(c_in, c_out, 4, 4)))
        scale = torch.from_numpy(as_array("6.1", result["scale"], "the scale",
                                          shape=(c_out,)))
        shift = torch.from_numpy(as_array("6.1", result["shift"], "the shift",
                                          shape=(c_out,)))
        eps = as_float("6.1", result["eps"], "eps")
        expected = F.relu(F.batch_norm(
            F.conv_transpose2d(X, weight, None, stride=2, padding=1),
            None, None, scale, shift, training=True, eps=eps,
        ))
        require_close(
            "6.1", out, expected, what="the block's output", atol=1e-4, rtol=1e-4,
            hint="The order is: transposed convolution, then batch norm, then ReLU.",
        )


# ------------------------------------------------------------------ 6.2
def _init_test_net(c1: int = 128, c2: int = 96) -> nn.Sequential:
    # Big enough for the sample statistics to be precise, small enough to be fast.
    return nn.Sequential(
        nn.ConvTranspose2d(64, c1, 4, 2, 1, bias=False),
        nn.BatchNorm2d(c1),
        nn.ReLU(),
        nn.Conv2d(c1, c2, 4, 2, 1),
        nn.BatchNorm2d(c2),
        nn.LeakyReLU(0.2),
        nn.Conv2d(c2, 1, 7),
        nn.Flatten(),
        nn.Linear(1, 8),  # not a convolution: dcgan_init must leave it alone
    )


_UNTOUCHED = 2.5  # the Linear layer's value before dcgan_init; it must stay


def _parameter(exercise_id: str, value, what: str):
    """A layer's parameter, which must still be an exact nn.Parameter."""
    if type(value) is not nn.Parameter:
        raise ExerciseFailed(
            f"Exercise {exercise_id}: {what} should stay an nn.Parameter (change its "
            f"values in place with nn.init), got {type(value).__name__}."
        )
    return torch.Tensor.detach(value)


@exercise(
    "6.2",
    "convolution weights ~ N(0, 0.02), batch-norm scales ~ N(1, 0.02), biases 0.",
    gives_away=("dcgan_weights_init", "dcgan_conv_init"),
)
class DCGANInit(Checker):
    def cases(self, rng):
        return [{"c1": int(rng.integers(112, 144)), "c2": int(rng.integers(80, 112))}]

    def run(self, dcgan_init, case):
        if not callable(dcgan_init):
            raise ExerciseFailed(
                f"Exercise 6.2: expected a function, got {type(dcgan_init).__name__}."
            )
        net = _init_test_net(int(case["c1"]), int(case["c2"]))
        for p in net.parameters():  # start far from the answer
            with torch.no_grad():
                p.uniform_(2.0, 3.0)
        with torch.no_grad():
            for p in net[-1].parameters():
                p.fill_(_UNTOUCHED)
        call_student("6.2", nn.Module.apply, net, dcgan_init)
        layers = []
        for index, layer in enumerate(net):
            name = f"layer {index} ({type(layer).__name__})"
            weight = getattr(layer, "weight", None)
            if weight is None:
                continue
            entry = {"name": name, "norm": type(layer) is nn.BatchNorm2d,
                     "other": type(layer) is nn.Linear,
                     "weight": _parameter("6.2", weight, f"the weight of {name}")}
            bias = getattr(layer, "bias", None)
            if bias is not None:
                entry["bias"] = _parameter("6.2", bias, f"the bias of {name}")
            layers.append(entry)
        return to_plain(layers)

    def verify(self, case, result):
        net = _init_test_net(int(case["c1"]), int(case["c2"]))
        expected = [(type(m) is nn.BatchNorm2d, tuple(m.weight.shape),
                     None if getattr(m, "bias", None) is None else tuple(m.bias.shape))
                    for m in net if getattr(m, "weight", None) is not None]
        if type(result) is not list or len(result) != len(expected):
            raise ExerciseFailed("Exercise 6.2: the network's layers changed.")
        for entry, (is_norm, w_shape, b_shape) in zip(result, expected):
            name = str(entry["name"])
            if entry["norm"] is not is_norm:
                raise ExerciseFailed("Exercise 6.2: the network's layers changed.")
            w = as_array("6.2", entry["weight"], f"the weight of {name}", w_shape)
            if entry["other"] is True:
                b = as_array("6.2", entry.get("bias"), f"the bias of {name}", b_shape)
                if not (np.all(w == _UNTOUCHED) and np.all(b == _UNTOUCHED)):
                    raise ExerciseFailed(
                        f"Exercise 6.2: dcgan_init changed {name}, which is neither a "
                        "convolution nor a batch norm. Test the type with "
                        "isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)) and "
                        "isinstance(module, nn.BatchNorm2d), not hasattr(module, "
                        "'weight'), and leave every other module alone."
                    )
                continue
            centre, what = (1.0, "batch-norm scale") if is_norm else (
                0.0, "convolution weight")
            mean, std = float(w.mean()), float(w.std(ddof=1))
            if abs(mean - centre) > 0.01 or not 0.015 < std < 0.025:
                raise ExerciseFailed(
                    f"Exercise 6.2: the {what}s of {name} have mean {mean:.4f} and "
                    f"standard deviation {std:.4f}; DCGAN draws them from "
                    f"N({centre:g}, 0.02^2). Use nn.init.normal_(weight, {centre:g}, "
                    "0.02) on the layers whose type is right (isinstance)."
                )
            if w.size >= 4000:
                # Right mean and spread are not enough: the shape must be normal.
                # Excess kurtosis is 0 for a normal, -1.2 for a uniform; its
                # standard error here is at most sqrt(24 / 4000) = 0.08.
                u = (w - mean) / std
                kurtosis = float(np.mean(u**4) - 3.0)
                if abs(kurtosis) > 0.5:
                    raise ExerciseFailed(
                        f"Exercise 6.2: the {what}s of {name} have the right mean "
                        f"and spread but not a normal shape (excess kurtosis "
                        f"{kurtosis:.2f}, 0 for a normal, -1.2 for a uniform). Draw "
                        "them with nn.init.normal_, not nn.init.uniform_."
                    )
            if b_shape is not None:
                b = as_array("6.2", entry.get("bias"), f"the bias of {name}", b_shape)
                if np.abs(b).max() != 0.0:
                    raise ExerciseFailed(
                        f"Exercise 6.2: the bias of {name} should be all zeros "
                        "(nn.init.zeros_)."
                    )


# ------------------------------------------------------------------ 6.3
_EMA_START = (
    "Unroll the update avg_t = beta * avg_(t-1) + (1 - beta) * theta_t from "
    "avg_0 = theta_0 for two or three steps and follow theta_0's coefficient."
)


@exercise("6.3", "theta_0's weight in the moving average matches for 6 pairs "
          "(beta, n).", gives_away=("ema_initial_weight",))
class EmaInitialWeight(Checker):
    """``initial_weight(beta, n)``: the weight that the starting weights theta_0
    keep in a moving average that starts as theta_0 and is updated n times,
    beta ** n. A derivation: unroll the recursion."""

    def cases(self, rng):
        pairs = [(0.998, 1200), (0.5, 3), (0.9, 1), (0.9, 0),
                 (float(rng.uniform(0.95, 0.999)), int(rng.integers(50, 5000))),
                 (float(rng.uniform(0.1, 0.9)), int(rng.integers(2, 7)))]
        return [{"beta": b, "n": n} for b, n in pairs]

    def run(self, initial_weight, case):
        return plain_float(
            "6.3", call_student("6.3", initial_weight, case["beta"], case["n"]),
            f"initial_weight({case['beta']}, {case['n']})",
        )

    def verify(self, case, result):
        beta, n = float(case["beta"]), int(case["n"])
        what = f"initial_weight({beta:g}, {n})"
        got = as_float("6.3", result, what)
        expected = beta ** n
        step = (f"{STEP}Each update multiplies the whole average, theta_0's part "
                "included, by beta, and the part it adds, (1 - beta) * theta_t, holds "
                "no theta_0: after n updates theta_0 has weight beta ** n.")
        if n > 0 and math.isclose(got, (1 - beta) * beta ** n, rel_tol=1e-9):
            raise ExerciseFailed(
                f"Exercise 6.3: {what} = {got:.6g} is (1 - beta) * beta ** n, the "
                "weight a step's weights would have if theta_0 entered like the "
                "weights of a step. The average does not add theta_0 with "
                "(1 - beta): it starts as theta_0, with weight 1. " + _EMA_START + step
            )
        if n > 0 and math.isclose(got, 1 - expected, rel_tol=1e-9):
            raise ExerciseFailed(
                f"Exercise 6.3: {what} = {got:.6g} is the weight of all the trained "
                "weights together, theta_1 to theta_n; the question asks for "
                "theta_0's." + step
            )
        for k in (n - 1, n + 1):
            if n > 0 and abs(got - expected) > 1e-12 and math.isclose(
                    got, beta ** k, rel_tol=1e-9):
                raise ExerciseFailed(
                    f"Exercise 6.3: {what} = {got:.6g} is beta ** {k}: one factor "
                    "of beta too many or too few. Count the updates: avg_1 has "
                    "one, avg_n has n." + step
                )
        for approx, name in ((math.exp(-n * (1 - beta)), "exp(-n (1 - beta))"),
                             (1 - n * (1 - beta), "1 - n (1 - beta)")):
            if n > 1 and abs(got - expected) > 1e-9 and math.isclose(
                    got, approx, rel_tol=1e-9):
                raise ExerciseFailed(
                    f"Exercise 6.3: {what} = {got:.6g} is {name}, an approximation "
                    f"that holds only while n (1 - beta) is small; the exact weight "
                    f"here is different. " + _EMA_START + step
                )
        require_close("6.3", got, expected, what=what, atol=1e-12, rtol=1e-9,
                      hint=_EMA_START + step)


# ------------------------------------------------------------------ 6.4
def _reference_slerp(z0, z1, t):
    cos = torch.dot(z0, z1) / (z0.norm() * z1.norm())
    omega = torch.arccos(cos.clamp(-1.0, 1.0))
    if omega < 1e-4:  # (nearly) the same direction: the limit is the straight line
        return (1 - t) * z0 + t * z1
    weight0, weight1 = torch.sin((1 - t) * omega), torch.sin(t * omega)
    return (weight0 * z0 + weight1 * z1) / torch.sin(omega)


_TS = (0.0, 0.2, 0.5, 0.75, 1.0)


def _parallel(z0, z1) -> bool:
    """Whether two codes point the same way (the angle Omega is 0)."""
    z0, z1 = z0.double(), z1.double()
    return bool(torch.dot(z0, z1) >= (1 - 1e-12) * z0.norm() * z1.norm())


@exercise("6.4", "spherical interpolation matches at 20 points on 4 pairs of vectors.",
          gives_away=("spherical_interpolation",))
class Slerp(Checker):
    def cases(self, rng):
        same = rng.standard_normal(16).astype(np.float32)
        longer = rng.standard_normal(8).astype(np.float32)
        return [
            {"z0": np.array([1.0, 0.0], np.float32),  # a quarter turn
             "z1": np.array([0.0, 1.0], np.float32)},
            {"z0": same, "z1": same.copy()},  # the same code twice: Omega = 0
            # the same direction, another length: Omega = 0 but z1 != z0
            {"z0": longer, "z1": (2.5 * longer).astype(np.float32)},
            {"z0": rng.standard_normal(100).astype(np.float32),
             "z1": rng.standard_normal(100).astype(np.float32)},
        ]

    def run(self, slerp, case):
        z0, z1 = torch.tensor(case["z0"]), torch.tensor(case["z1"])
        out = []
        for t in _TS:
            value = call_student("6.4", slerp, z0.clone(), z1.clone(), t)
            if (type(value) is torch.Tensor and _parallel(z0, z1)
                    and not bool(torch.isfinite(value).all())):
                raise ExerciseFailed(
                    "Exercise 6.4: slerp(z0, z1, t) gave NaN for two codes that point "
                    "the same way. Then the angle Omega is 0 and sin(Omega) = 0, so "
                    "the formula divides 0 by 0; its limit is the straight line "
                    "(1 - t) z0 + t z1. Return that when Omega is tiny (say below "
                    "1e-4)."
                )
            out.append(plain_tensor("6.4", value, f"slerp(z0, z1, {t})",
                                    shape=tuple(z0.shape)))
        return out

    def verify(self, case, result):
        z0 = torch.tensor(case["z0"], dtype=torch.float64)
        z1 = torch.tensor(case["z1"], dtype=torch.float64)
        dim = z0.numel()
        if type(result) is not list or len(result) != len(_TS):
            raise ExerciseFailed("Exercise 6.4: malformed result.")
        for t, value in zip(_TS, result):
            got = as_array("6.4", value, f"slerp(z0, z1, {t})", shape=(dim,))
            hint = (
                "With omega the angle between z0 and z1 (arccos of their cosine "
                "similarity), slerp = (sin((1 - t) omega) z0 + sin(t omega) z1) / "
                "sin(omega)."
            )
            if dim == 2 and t == 0.5:
                hint += (
                    f" Halfway between (1, 0) and (0, 1) it should be "
                    f"({math.sqrt(0.5):.4f}, {math.sqrt(0.5):.4f})."
                )
            if _parallel(z0, z1) and not torch.equal(z0, z1):
                hint = (
                    "Here z1 = 2.5 z0: the two codes point the same way, so Omega is "
                    "0, but they differ in length. The limit of the formula as Omega "
                    "goes to 0 is the straight line (1 - t) z0 + t z1, which is z0 "
                    "only when z1 = z0."
                )
            require_close("6.4", got, _reference_slerp(z0, z1, t),
                          what=f"slerp at t = {t}", atol=1e-4, rtol=1e-4, hint=hint)


# -- 6.5 ---------------------------------------------------------------------


@exercise("6.5", "E|z_t|^2 matches for 7 pairs (d, t), t = 0 and t = 1 among "
          "them.",
          gives_away=("line_squared_length",))
class LineSquaredLength(Checker):
    """``line_squared_length(d, t)``: the expected squared length of
    z_t = (1 - t) z0 + t z1 for independent z0, z1 ~ N(0, I_d).

    A derivation: each coordinate of z_t is a sum of two independent Gaussians
    with variances (1 - t)^2 and t^2, so E|z_t|^2 = d ((1 - t)^2 + t^2).
    """

    def cases(self, rng):
        pairs = [(32, 0.5), (100, 0.0), (64, 1.0), (2, 0.25)]
        pairs += [(int(rng.integers(3, 500)), float(rng.uniform(0.05, 0.95)))
                  for _ in range(3)]
        return [{"d": d, "t": t} for d, t in pairs]

    def run(self, fn, case):
        return plain_float("6.5", call_student("6.5", fn, int(case["d"]),
                                               float(case["t"])), "E|z_t|^2")

    def verify(self, case, result):
        d, t = int(case["d"]), float(case["t"])
        got = as_float("6.5", result, "E|z_t|^2")
        expected = d * ((1 - t) ** 2 + t * t)
        where = f"for d = {d}, t = {t:.3g}"
        inside = 0 < t < 1
        wrong = [
            (d if inside else None, "that is the squared length at the end points "
             "only. In between, z_t is a weighted sum of two independent codes."
             f"{STEP}Add the variances of the two terms, (1 - t)^2 and t^2."),
            (math.sqrt(expected), "that is about the length itself; the exercise "
             "asks for the expected squared length E|z_t|^2."),
            ((1 - t) ** 2 + t * t, "that is one coordinate's variance: a code has d "
             "coordinates, each contributing that much."),
            (d * (1 - 2 * t), "check the signs: (1 - t)^2 + t^2 = 1 - 2t + 2t^2 "
             "(both squares are positive)."),
            (d * (1 - 2 * t + t * t), "the t^2 term appears twice: once from "
             "(1 - t)^2 and once from the second code."),
            (d / 2 if abs(t - 0.5) > 1e-9 else None, "d / 2 is the value at the "
             "midpoint t = 1/2 only; write it for every t."),
            (2 * d * t * (1 - t), "that is the cross term "
             "2 t (1 - t) z0.z1 with z0.z1 replaced by d; for independent codes "
             "E[z0.z1] = 0, and the squared terms remain."),
        ]
        judge_derived(
            "6.5", got, expected, wrong, where,
            "Expand |(1 - t) z0 + t z1|^2 into three terms and take the expectation "
            f"of each.{STEP}E|z|^2 = d for a standard Gaussian code, and "
            "E[z0.z1] = 0 for independent ones.")
