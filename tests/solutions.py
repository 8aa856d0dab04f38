"""The reference solutions, read from the notebooks' own exercise cells.

Checker tests take the solution code from here, so that a notebook and its
tests cannot drift apart: a change to a notebook's solution is tested as it is.
"""

from __future__ import annotations

import ast
import functools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment
from torch import nn

from course_utils.instructor import notebooks as nbtools

# What the notebooks' set-up cells import, for the solutions to run against.
_NAMESPACE = {"math": math, "np": np, "torch": torch, "F": F, "nn": nn,
              "linear_sum_assignment": linear_sum_assignment}


@functools.lru_cache(maxsize=None)
def _cells(stem: str) -> dict:
    nb = nbtools.read(nbtools.find_notebook(stem))
    return {ex: nb.cells[i].source for ex, i in nbtools.exercise_cells(nb).items()}


def solution(stem: str, exercise_id: str):
    """The function that exercise ``exercise_id`` of notebook ``stem`` defines,
    with the notebook's solution code in it."""
    source = _cells(stem)[exercise_id]
    defined = [n.name for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)]
    if len(defined) != 1:
        raise ValueError(f"exercise {exercise_id} defines {defined}, expected one function")
    namespace = dict(_NAMESPACE)
    exec(compile(source, f"<{stem} exercise {exercise_id}>", "exec"), namespace)
    return namespace[defined[0]]


def exercise_tests(solutions: dict, wrong: dict):
    """The two tests of a checker module: every solution passes with its line,
    and every wrong answer fails naming its exercise, with its hint when one is
    given. ``wrong`` maps an exercise id to ``(answer, hint or None)`` pairs."""
    from course_utils import checks

    @pytest.mark.parametrize("exercise_id", sorted(solutions))
    def test_solution_passes(exercise_id, capsys):
        checks.check(exercise_id, solutions[exercise_id])
        assert capsys.readouterr().out.startswith(f"Exercise {exercise_id} passed")

    @pytest.mark.parametrize(
        "exercise_id, index",
        [(ex, i) for ex, wrongs in wrong.items() for i in range(len(wrongs))],
    )
    def test_wrong_answers_fail_with_a_hint(exercise_id, index):
        answer, hint = wrong[exercise_id][index]
        with pytest.raises(checks.ExerciseFailed, match=f"Exercise {exercise_id}") as err:
            checks.check(exercise_id, answer)
        if hint is not None:
            assert hint in str(err.value), str(err.value)

    return test_solution_passes, test_wrong_answers_fail_with_a_hint


def load_script(filename: str, module_name: str):
    """A file of the repository's scripts/ folder, imported as a module (the
    scripts that made the files in data/ are tested like the notebooks' code)."""
    import importlib.util

    from course_utils import paths

    spec = importlib.util.spec_from_file_location(
        module_name, paths.REPO_DIR / "scripts" / filename)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def notebook_sha256(notebook, name: str) -> str:
    """The SHA-256 a notebook's code pins a bundled file to: the one line
    ``NAME = "<64 hex digits>"`` in its cells (asserted to be exactly one)."""
    import json
    import re
    from pathlib import Path

    cells = json.loads(Path(notebook).read_text(encoding="utf-8"))["cells"]
    found = re.findall(rf'^{name} = "([0-9a-f]{{64}})"',
                       "\n".join("".join(c["source"]) for c in cells), re.M)
    assert len(found) == 1, found
    return found[0]
