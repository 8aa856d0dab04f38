"""Machinery shared by every checker: registration, strict types, private RNG."""

from __future__ import annotations

import contextlib
import io
import math
import random
import warnings
import os
from pathlib import Path

import numpy as np
import torch

from course_utils.checks import _wire

__all__ = [
    "ExerciseFailed",
    "Checker",
    "exercise",
    "checker_for",
    "make_challenge",
    "judge",
    "evaluate",
    "to_plain",
    "as_float",
    "as_array",
    "check",
    "student_or",
    "registered",
    "plain_float",
    "plain_tensor",
    "call_student",
    "private_rng",
    "require_close",
    "input_gradients",
    "judge_derived",
    "mismatch",
    "STEP",
]


# Separates a hint's nudge (what is wrong) from its worked step (how to fix it).
STEP = "\x1f"  # an ASCII unit separator: never part of a hint's text


class ExerciseFailed(AssertionError):
    """The answer to an exercise is wrong; the message says how and hints why.

    A message may hold a worked step after :data:`STEP`: the message then says
    what is wrong, and :attr:`worked` how to fix it. :func:`check` shows the worked
    step only from the second refusal of the same exercise in the same kernel.

    In a notebook, IPython shows only the message (see ``_render_traceback_``):
    the checker's own frames say nothing to a student. When the student's code
    crashed, the crash's traceback comes first, so that its line can be found.
    """

    def __init__(self, message: str = "", worked: str | None = None):
        message = str(message)
        if STEP in message:
            message, _, rest = message.partition(STEP)
            worked = rest.strip() if worked is None else f"{rest.strip()} {worked}"
        super().__init__(message)
        self.worked = worked

    def _render_traceback_(self) -> list[str]:
        import traceback

        lines = []
        cause = self.__cause__
        if cause is not None:
            lines += "".join(
                traceback.format_exception(type(cause), cause, cause.__traceback__)
            ).rstrip("\n").splitlines()
            lines.append("")
        lines.append(f"\x1b[0;31m{type(self).__name__}\x1b[0m: {self}")
        return lines


class Checker:
    """One exercise's checker, in three parts that may run in different processes.

    - :meth:`cases` draws the test inputs from ``rng`` as plain values (numbers,
      lists, dicts, NumPy arrays): the grader draws them in its own process.
    - :meth:`run` calls the student's answer on one case, in the student's
      kernel, and returns what the answer did as plain values. It calls
      nothing but the answer and exact torch/NumPy code, and compares nothing.
    - :meth:`verify` decides, from the case and the plain result alone, and
      raises :class:`ExerciseFailed` with a hint when the answer is wrong. The
      grader calls it in its own process on results it reads back from a file,
      so nothing the student's code does to the kernel can change the verdict.

    ``gives_away`` names the package's functions that answer this exercise:
    the grader refuses exercise code that names them.
    """

    exercise_id: str = ""
    summary: str = ""
    gives_away: tuple[str, ...] = ()

    def cases(self, rng: np.random.Generator) -> list:
        raise NotImplementedError

    def run(self, answer, case):
        raise NotImplementedError

    def verify(self, case, result) -> None:
        raise NotImplementedError


_REGISTRY: dict[str, Checker] = {}

_NUMPY_SCALARS = (np.float64, np.float32, np.float16, np.int64, np.int32, np.int16)

GRADING_ENV = "COURSE_GRADING_EXCHANGE"


def exercise(exercise_id: str, summary: str, gives_away: tuple[str, ...] = ()):
    """Register the decorated :class:`Checker` subclass for ``exercise_id``.

    ``summary`` ends the success line: ``Exercise 1.1 passed: <summary>``.
    """

    def decorate(cls):
        if exercise_id in _REGISTRY:
            raise ValueError(f"exercise {exercise_id} already has a checker")
        checker = cls()
        checker.exercise_id = exercise_id
        checker.summary = summary
        checker.gives_away = tuple(gives_away)
        _REGISTRY[exercise_id] = checker
        return cls

    return decorate


def registered() -> list[str]:
    """The exercise ids that have a checker."""
    return sorted(_REGISTRY, key=lambda s: tuple(int(p) for p in s.split(".")))


def checker_for(exercise_id: str) -> Checker:
    try:
        return _REGISTRY[exercise_id]
    except KeyError:
        raise KeyError(f"no checker for exercise {exercise_id!r}") from None


def to_plain(value):
    """``value`` with exact torch tensors turned into NumPy arrays, for the wire."""
    if type(value) is torch.Tensor:
        return torch.Tensor.numpy(torch.Tensor.cpu(torch.Tensor.detach(value))).copy()
    if type(value) in (list, tuple):
        return [to_plain(v) for v in value]
    if type(value) is dict:
        return {k: to_plain(v) for k, v in value.items()}
    return value


def evaluate(checker: Checker, answer, case):
    """Run the answer on one case and return the result as the grader reads it."""
    return _wire.loads(_wire.dumps(to_plain(checker.run(answer, case))))


def check(exercise_id: str, answer) -> None:
    """Check the answer to ``exercise_id``; print one line or raise.

    The cases come from a fixed seed per exercise. When the grader runs the
    notebook it also leaves a challenge (cases drawn from a seed the notebook
    never saw); the answer's results on those are written back for the grader
    to judge in its own process.
    """
    checker = checker_for(exercise_id)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _answer_challenge(checker, answer)
            _verify_own_cases(checker, answer)
    except ExerciseFailed as exc:
        refused = _REFUSALS[exercise_id] = _REFUSALS.get(exercise_id, 0) + 1
        if exc.worked is None:
            raise
        if refused == 1:
            failed = ExerciseFailed(f"{exc} (Try again: if this check refuses "
                                    "once more, it shows a worked step.)",
                                    worked=exc.worked)
        else:
            failed = ExerciseFailed(f"{exc} Worked step: {exc.worked}",
                                    worked=exc.worked)
        raise failed from exc.__cause__
    print(f"Exercise {exercise_id} passed: {checker.summary}")


# How often each exercise's check refused an answer in this kernel.
_REFUSALS: dict[str, int] = {}


def _verify_own_cases(checker: Checker, answer) -> None:
    """Run and verify the answer on the exercise's fixed-seed cases; raise
    :class:`ExerciseFailed` on the first wrong one."""
    seed = _seed_for(checker.exercise_id)
    with private_rng(seed):
        for case in checker.cases(np.random.default_rng(seed)):
            checker.verify(case, evaluate(checker, answer, case))


def student_or(exercise_id: str, answer, fallback, quiet: bool = False):
    """``answer`` when it passes the check of ``exercise_id``, else ``fallback``.

    Cells after an exercise build on the student's function through this, so
    that an unsolved or wrong exercise does not stop the rest of the notebook:
    they use the course's version instead, and one printed line says which of
    the two they use. The check runs on the same cases as ``check`` and
    touches neither the notebook's random streams nor the grader's files.
    """
    checker = checker_for(exercise_id)
    name = getattr(fallback, "__module__", "course_utils").split(".")[-1]
    name = f"{name}.{getattr(fallback, '__name__', 'function')}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _verify_own_cases(checker, answer)
    except ExerciseFailed:
        print(f"Exercise {exercise_id} does not pass its check yet, so the cells "
              f"below use the course's {name} instead of your function.")
        return fallback
    if not quiet:
        print(f"Using your answer to Exercise {exercise_id}.")
    return answer


def _answer_challenge(checker: Checker, answer) -> None:
    folder = os.environ.get(GRADING_ENV)
    if not folder:
        return
    path = Path(folder) / f"{checker.exercise_id}.challenge"
    if not path.is_file():
        return
    challenge = _wire.load(path)
    results = []
    with private_rng(int(challenge["seed"])):
        for case in challenge["cases"]:
            try:
                results.append({"result": to_plain(checker.run(answer, case))})
            except ExerciseFailed as exc:
                results.append({"error": str(exc)})
                break
    _wire.save(Path(folder) / f"{checker.exercise_id}.answer", {"results": results})


def make_challenge(exercise_id: str, seed: int) -> dict:
    """Fresh cases for ``exercise_id`` (the grader's side)."""
    checker = checker_for(exercise_id)
    with private_rng(seed % 2**31):
        cases = checker.cases(np.random.default_rng(seed))
    return _wire.loads(_wire.dumps({"seed": seed % 2**31, "cases": cases}))


def judge(exercise_id: str, challenge: dict, answer) -> str | None:
    """The grader's verdict on results read back: None if right, else why not.

    ``answer`` is whatever was read from the file; nothing about it is trusted.
    """
    checker = checker_for(exercise_id)
    cases = challenge["cases"]
    try:
        results = answer["results"]
        if type(results) is not list:
            raise TypeError("results is not a list")
        for case, item in zip(cases, results):
            if type(item) is not dict:
                raise TypeError("a result is not a dict")
            if "error" in item:
                return str(item["error"])[:500]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                checker.verify(case, item["result"])
        if len(results) < len(cases):
            return "the check cell did not return results for every test case"
    except ExerciseFailed as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - untrusted data
        return f"the results sent back are malformed ({type(exc).__name__})"
    return None


def _seed_for(exercise_id: str) -> int:
    # A fixed seed per exercise, not the notebook's SEED: the checker's inputs
    # do not depend on anything the student controls.
    return 7919 * sum((i + 1) * ord(c) for i, c in enumerate(exercise_id))


@contextlib.contextmanager
def private_rng(seed: int):
    """Seed Python, NumPy and torch inside the block and restore their states after."""
    py_state = random.getstate()
    np_state = np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        random.seed(seed)
        np.random.seed(seed % 2**32)
        torch.manual_seed(seed)
        try:
            yield
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)


def call_student(exercise_id: str, fn, *args, **kwargs):
    """Call the student's function with output swallowed and errors explained."""
    if not callable(fn):
        raise ExerciseFailed(
            f"Exercise {exercise_id}: expected a function, got {type(fn).__name__}."
        )
    sink = io.StringIO()
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            return fn(*args, **kwargs)
    except NotImplementedError:
        raise ExerciseFailed(
            f"Exercise {exercise_id} is not solved yet: replace the "
            "`raise NotImplementedError` line with your code."
        ) from None
    except ExerciseFailed:
        raise
    except Exception as exc:  # the student's code crashed: say where
        raise ExerciseFailed(
            f"Exercise {exercise_id}: your code raised {type(exc).__name__}: {exc}"
        ) from exc


def plain_float(exercise_id: str, value, what: str = "the result") -> float:
    """``value`` as a float, accepting only exact numeric types.

    Accepted: ``int``, ``float``, NumPy scalars, and a one-element exact
    ``torch.Tensor``. Subclasses are refused, so their methods are never called.
    """
    kind = type(value)
    if kind is float or kind is int or kind in _NUMPY_SCALARS:
        result = float(value)
    elif kind is torch.Tensor:
        if torch.Tensor.numel(value) != 1:
            raise ExerciseFailed(
                f"Exercise {exercise_id}: {what} should be a single number, got a "
                f"tensor of shape {tuple(torch.Tensor.size(value))}."
            )
        result = float(torch.Tensor.item(torch.Tensor.detach(value)))
    else:
        raise ExerciseFailed(
            f"Exercise {exercise_id}: {what} should be a number (float or a "
            f"one-element torch.Tensor), got {kind.__name__}."
        )
    if not math.isfinite(result):
        raise ExerciseFailed(
            f"Exercise {exercise_id}: {what} is {result}. NaN or inf usually comes "
            "from log(0) or 0/0: work with logits (softplus) or clamp."
        )
    return result


def plain_tensor(exercise_id: str, value, what: str = "the result", shape=None):
    """A detached float64 copy of ``value``, which must be an exact torch.Tensor."""
    if type(value) is not torch.Tensor:
        raise ExerciseFailed(
            f"Exercise {exercise_id}: {what} should be a torch.Tensor, got "
            f"{type(value).__name__}."
        )
    out = torch.Tensor.clone(torch.Tensor.detach(value)).to(torch.float64).cpu()
    if shape is not None and tuple(out.shape) != tuple(shape):
        raise ExerciseFailed(
            f"Exercise {exercise_id}: {what} should have shape {tuple(shape)}, got "
            f"{tuple(out.shape)}."
        )
    if not bool(torch.isfinite(out).all()):
        raise ExerciseFailed(f"Exercise {exercise_id}: {what} contains NaN or inf.")
    return out


def require_close(
    exercise_id: str,
    got,
    expected,
    *,
    what: str,
    hint: str,
    atol: float = 1e-6,
    rtol: float = 1e-5,
) -> None:
    """Raise :class:`ExerciseFailed` unless ``got`` and ``expected`` agree."""
    got_t = torch.as_tensor(got, dtype=torch.float64)
    exp_t = torch.as_tensor(expected, dtype=torch.float64)
    if got_t.shape != exp_t.shape or not torch.allclose(
        got_t, exp_t, atol=atol, rtol=rtol
    ):
        if got_t.numel() == 1 and exp_t.numel() == 1:
            detail = mismatch(got_t.item(), exp_t.item())
        else:
            err = (
                (got_t - exp_t).abs().max().item()
                if got_t.shape == exp_t.shape
                else None
            )
            detail = (
                f"largest difference {err:.3g}"
                if err is not None
                else f"shape {tuple(got_t.shape)} instead of {tuple(exp_t.shape)}"
            )
        raise ExerciseFailed(
            f"Exercise {exercise_id}: {what} is wrong ({detail}). {hint}"
        )


def mismatch(got: float, expected: float) -> str:
    """``got X, expected Y`` with enough digits to show where they differ, and the
    relative difference; a difference at float32's precision is named as such."""
    rel = abs(got - expected) / max(abs(expected), 1e-300)
    digits = 6
    while digits < 17 and f"{got:.{digits}g}" == f"{expected:.{digits}g}":
        digits += 1
    text = (f"got {got:.{digits}g}, expected {expected:.{digits}g} "
            f"(relative difference {rel:.1e})")
    if 0 < rel < 1e-5:
        text += (". A difference this small is rounding: the inputs are float64, "
                 "and somewhere the computation went through float32 (a .float(), "
                 "a float32 NumPy array) or a formula that loses digits, such as "
                 "the log of a softmax instead of log_softmax")
    return text


def as_float(exercise_id: str, value, what: str = "the result") -> float:
    """A number read back from the student's kernel (verify side)."""
    if type(value) not in (int, float) or not math.isfinite(value):
        raise ExerciseFailed(f"Exercise {exercise_id}: {what} is not a finite number.")
    return float(value)


def as_array(exercise_id: str, value, what: str = "the result", shape=None):
    """A float64 array read back from the student's kernel (verify side)."""
    if type(value) is not np.ndarray or value.dtype.kind not in "biuf":
        raise ExerciseFailed(f"Exercise {exercise_id}: {what} is not an array.")
    out = value.astype(np.float64)
    if shape is not None and tuple(out.shape) != tuple(shape):
        raise ExerciseFailed(
            f"Exercise {exercise_id}: {what} should have shape {tuple(shape)}, got "
            f"{tuple(out.shape)}."
        )
    if not np.isfinite(out).all():
        raise ExerciseFailed(f"Exercise {exercise_id}: {what} contains NaN or inf.")
    return out


def known_mistake(got: float, wrong, rtol: float) -> str | None:
    """The hint of the first ``(value, hint)`` in ``wrong`` that ``got`` matches
    within ``rtol`` times max(1, |value|), or None. A value of None marks a
    mistake that cannot happen in this case and is skipped (verify side)."""
    for value, hint in wrong:
        if value is not None and abs(got - value) <= rtol * max(1.0, abs(value)):
            return hint
    return None


def judge_derived(exercise_id: str, got: float, expected: float, wrong, where: str,
                  generic: str, rtol: float = 1e-6) -> None:
    """Judge a derived number (verify side): pass within ``rtol`` (float32 answers
    are fine), else fail with the hint of the first known mistake in ``wrong``
    (see :func:`known_mistake`), else with ``generic`` after the returned value.
    ``where`` names the case, for example "for h = 0.5"."""
    if abs(got - expected) <= rtol * max(1.0, abs(expected)):
        return
    hint = known_mistake(got, wrong, rtol)
    if hint:
        raise ExerciseFailed(f"Exercise {exercise_id}: {where}, {hint}")
    raise ExerciseFailed(
        f"Exercise {exercise_id}: {where} you returned {got:.6g}. {generic}")


def input_gradients(loss, inputs):
    """Gradients of the student's ``loss`` with respect to ``inputs`` (zeros for
    inputs it does not use), or None when ``loss`` is not an exact tensor that
    carries a graph (built with ``.item()``, ``.detach()`` or NumPy)."""
    if type(loss) is not torch.Tensor or loss.grad_fn is None:
        return None
    grads = torch.autograd.grad(loss, inputs, allow_unused=True, retain_graph=True)
    return [torch.zeros_like(i) if g is None else g for g, i in zip(grads, inputs)]
