"""Validation of a notebook's ``parameters`` cell (introduced in 01_minimax_game).

Every notebook has a cell tagged ``parameters`` with UPPER_CASE names, at least
``SEED`` (an int) and ``QUICK`` (a bool: a few-second run for grading and smoke
tests). Papermill and ``python -m course_utils run -p NAME VALUE`` override them,
and papermill does not check what it receives. The cell after it calls
:func:`validate`, which raises a :class:`ParameterError` naming the bad
parameter and what it accepts::

    validate(globals(), SEED=Int(min=0), QUICK=Bool(), LR=Float(min=0, strict=True),
             DEVICE=Choice("auto", "cpu", "cuda", "mps"))
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Optional

__all__ = [
    "ParameterError", "Int", "Float", "Bool", "Choice", "validate", "apply_preset"
]


class ParameterError(ValueError):
    """A notebook parameter has a wrong type or value."""


@dataclass(frozen=True)
class Int:
    """An integer in [min, max] (either bound may be None)."""

    min: Optional[int] = None
    max: Optional[int] = None

    def check(self, name: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ParameterError(f"{name} must be an int{self._range()}, {_got(value)}")
        if (self.min is not None and value < self.min) or (
            self.max is not None and value > self.max
        ):
            raise ParameterError(f"{name} must be an int{self._range()}, got {value}")

    def _range(self) -> str:
        if self.min is not None and self.max is not None:
            return f" in [{self.min}, {self.max}]"
        if self.min is not None:
            return f" >= {self.min}"
        if self.max is not None:
            return f" <= {self.max}"
        return ""


@dataclass(frozen=True)
class Float:
    """A real number in [min, max]; ``strict`` excludes ``min`` itself."""

    min: Optional[float] = None
    max: Optional[float] = None
    strict: bool = False

    def check(self, name: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ParameterError(
                f"{name} must be a number{self._range()}, {_got(value)}"
            )
        bad_low = self.min is not None and (
            value <= self.min if self.strict else value < self.min
        )
        bad_high = self.max is not None and value > self.max
        if bad_low or bad_high or value != value:
            raise ParameterError(f"{name} must be a number{self._range()}, got {value}")

    def _range(self) -> str:
        low = None
        if self.min is not None:
            low = f"> {self.min}" if self.strict else f">= {self.min}"
        if low and self.max is not None:
            return f" {low} and <= {self.max}"
        if low:
            return f" {low}"
        if self.max is not None:
            return f" <= {self.max}"
        return ""


@dataclass(frozen=True)
class Bool:
    """True or False (the string "false" is rejected: it would count as true)."""

    def check(self, name: str, value: Any) -> None:
        if not isinstance(value, bool):
            hint = ""
            if isinstance(value, str):
                hint = (
                    "; with papermill, -p turns false into the string 'false': "
                    "use -y 'NAME: false' or python -m course_utils run -p NAME false"
                )
            raise ParameterError(f"{name} must be True or False, {_got(value)}{hint}")


class Choice:
    """One of a fixed set of values."""

    def __init__(self, *choices: Any):
        if not choices:
            raise ValueError("Choice needs at least one allowed value")
        self.choices = choices

    def check(self, name: str, value: Any) -> None:
        if value not in self.choices or isinstance(value, bool) != isinstance(
            self.choices[0], bool
        ):
            allowed = ", ".join(repr(c) for c in self.choices)
            raise ParameterError(f"{name} must be one of {allowed}, {_got(value)}")


def _got(value: Any) -> str:
    return f"got {type(value).__name__} {value!r}"


def validate(namespace: dict, **spec) -> dict:
    """Check the parameters named in ``spec`` against their rules.

    ``namespace`` is usually ``globals()`` of the notebook. Every notebook must
    declare ``SEED`` and ``QUICK``. Returns ``{name: value}`` of the checked
    parameters (handy for printing or recording). Introduced in 01_minimax_game.
    """
    for required in ("SEED", "QUICK"):
        if required not in spec:
            raise ValueError(f"every notebook's parameters include {required}")
    values = {}
    for name, rule in spec.items():
        if not name.isupper():
            raise ValueError(f"parameter names are UPPER_CASE, got {name!r}")
        if name not in namespace:
            raise ParameterError(f"parameter {name} is not defined in the notebook")
        rule.check(name, namespace[name])
        values[name] = namespace[name]
    return values


def _same_setting(a: Any, b: Any) -> bool:
    """Equal as parameter values: 0 and 0.0 are, True and 1 are not."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, numbers.Real) and isinstance(b, numbers.Real):
        return a == b
    return type(a) is type(b) and a == b


def apply_preset(
    namespace: dict, preset: str, presets: dict, base: str = "laptop"
) -> dict:
    """Switch a group of parameters at once (introduced in 06_dcgan).

    ``presets`` maps each preset's name to ``{NAME: value}``; ``presets[base]``
    holds the defaults of the notebook's parameters cell. For another preset,
    every parameter still at its ``base`` value takes the preset's value; one
    set to another value (in the cell, or with ``-p``) keeps it, so
    ``PRESET = "gpu"`` with ``NUM_STEPS = 500`` trains 500 steps. A parameter set
    to its ``base`` value cannot be told from one left alone, so the preset
    replaces it too. Prints what it set and what it kept, and returns
    ``{NAME: value}`` of what it set.
    """
    if not isinstance(preset, str) or preset not in presets:
        allowed = ", ".join(repr(name) for name in presets)
        raise ParameterError(f"PRESET must be one of {allowed}, {_got(preset)}")
    if base not in presets:
        raise ValueError(f"presets has no {base!r} entry, the notebook's defaults")
    if preset == base:
        return {}
    defaults = presets[base]
    missing = sorted(set(presets[preset]) - set(defaults))
    if missing:
        raise ValueError(f"preset {preset!r} sets {missing}, which {base!r} lacks")
    changed, kept = {}, {}
    for name, value in presets[preset].items():
        if name not in namespace:
            raise ParameterError(f"parameter {name} is not defined in the notebook")
        if _same_setting(namespace[name], defaults[name]):
            namespace[name] = changed[name] = value
        else:
            kept[name] = namespace[name]
    listed = ", ".join(f"{name} = {value!r}" for name, value in changed.items())
    print(f"PRESET = {preset!r} set {listed or 'nothing'}")
    if kept:
        print("kept, as you changed them from the defaults: " + ", ".join(
            f"{name} = {value!r}" for name, value in kept.items()))
    return changed
