"""Exercise checkers (introduced in 01_minimax_game).

A check cell after exercise N.M calls ``checks.check("N.M", answer)``. The checker
runs the student's answer on inputs it makes itself (with a private random
generator, so the notebook's own random stream is untouched), compares with a
reference it computes itself, and prints one deterministic line on success::

    Exercise 1.1 passed: ...

On failure it raises :class:`ExerciseFailed` with a hint. Answers must be plain
numbers or exact ``torch.Tensor`` objects: an object with a doctored ``repr`` or
``__eq__`` is refused before any comparison. Anything the student's code prints
or warns while being checked is swallowed, so the stored output stays stable.

A checker is a :class:`Checker` in three parts, so that the grader can take the
verdict in its own process: ``cases(rng)`` draws plain test inputs, ``run``
calls the student's answer on one case inside the kernel and returns plain
results, and ``verify(case, result)`` decides from plain values alone. Checkers
live in one module per notebook (``nb01.py``, ...), registered with the
:func:`exercise` decorator.
"""

from course_utils.checks._core import (
    Checker,
    ExerciseFailed,
    check,
    exercise,
    registered,
    student_or,
)

# Importing the per-notebook modules registers their checkers.
from course_utils.checks import nb01  # noqa: F401,E402
from course_utils.checks import (  # noqa: F401,E402
    nb02, nb03, nb04, nb05, nb06, nb07, nb08,
)

__all__ = ["check", "student_or", "exercise", "registered", "ExerciseFailed",
           "Checker"]
