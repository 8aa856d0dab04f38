"""Recording a notebook's key figures for the course report (introduced in 01_minimax_game).

``record(name, value)`` in a notebook stores a number under ``name``. When the
notebook is executed by ``python -m course_utils run`` (``make course``), the
runner sets the environment variable ``COURSE_METRICS_FILE`` and every recorded
value is written to that JSON file, from which the report is built. When the
notebook runs on its own (JupyterLab, nbval) nothing is written: the values are
kept in memory (see :func:`recorded`) and the call prints nothing.

``claim(name, holds, statement)`` states a property of a training run that the text
relies on. It prints its verdict and records it; it raises only where the notebook
runs the course's own recipe: under the test suite, and in ``python -m
course_utils run`` or ``sweep`` when no parameter other than ``SEED`` differs from
the defaults (the runner sets ``COURSE_STRICT_CLAIMS``). A student who changes the
recipe, as a further exercise invites, gets the verdict instead of an error that
stops Run All.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import re
from pathlib import Path

__all__ = ["record", "recorded", "claim", "ENV_VAR", "STRICT_VAR"]

ENV_VAR = "COURSE_METRICS_FILE"
STRICT_VAR = "COURSE_STRICT_CLAIMS"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_memory: dict[str, object] = {}


def _plain(value):
    """Turn ``value`` into a JSON-friendly plain Python value."""
    if isinstance(value, (bool, str)) or value is None:
        return value
    if hasattr(value, "item") and callable(value.item):  # numpy or torch scalar
        try:
            value = value.item()
        except (ValueError, RuntimeError) as exc:
            raise TypeError(f"record() takes a single number, got {value!r}") from exc
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        return value if math.isfinite(value) else None
    raise TypeError(
        f"record() takes a number, a bool or a string, got {type(value).__name__}"
    )


def record(name: str, value) -> None:
    """Record ``value`` under ``name`` for the course report.

    Non-finite floats are stored as ``null``. Introduced in 01_minimax_game.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"metric names are identifiers like 'w1_floor', got {name!r}")
    plain = _plain(value)
    _memory[name] = plain
    path = os.environ.get(ENV_VAR)
    if path:
        path = Path(path)
        data = {}
        if path.exists():
            try:
                data = json.loads(path.read_text())
            except json.JSONDecodeError:
                data = {}
        data[name] = plain
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        tmp.replace(path)


def recorded() -> dict[str, object]:
    """The values recorded so far in this Python process (a copy)."""
    return dict(_memory)


class ClaimFailed(AssertionError):
    """A claim of the text did not hold on a run of the course's own recipe."""


def claim(name: str, holds, statement: str) -> bool:
    """Print whether ``statement`` holds in this run, record it as ``claim_<name>``,
    and return the verdict.

    Raises :class:`ClaimFailed` when the claim fails and the environment variable
    ``COURSE_STRICT_CLAIMS`` is ``1`` (the test suite, and course runs at the
    defaults). Introduced in 01_minimax_game.
    """
    verdict = bool(holds)
    record(f"claim_{name}", verdict)
    if verdict:
        print(f"Holds: {statement}")
    elif os.environ.get(STRICT_VAR) == "1":
        raise ClaimFailed(f"Does not hold: {statement}")
    else:
        print(f"Does not hold in this run: {statement}")
    return verdict
