"""Reading and rewriting the course's notebooks (used by the command line).

Conventions this module relies on, shared by every notebook:

* the ``parameters`` cell is the code cell tagged ``parameters``;
* an exercise cell has cell metadata ``"exercise": "N.M"`` and its solution sits
  between the lines ``# BEGIN SOLUTION`` and ``# END SOLUTION``;
* the check cell of an exercise is the next code cell; its first line is
  ``# NBVAL_CHECK_OUTPUT`` and it calls ``checks.check("N.M", ...)``.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import re
from pathlib import Path
from typing import Optional

import nbformat

from course_utils.paths import NOTEBOOKS_DIR

__all__ = [
    "BEGIN",
    "END",
    "CHECK_MARKER",
    "list_notebooks",
    "find_notebook",
    "read",
    "exercise_cells",
    "check_cell_index",
    "parameters_index",
    "parameter_defaults",
    "make_student_source",
    "make_student_notebook",
    "inject_parameters",
    "time_budget",
    "source_digest",
    "SolutionMarkerError",
]

BEGIN = "# BEGIN SOLUTION"
END = "# END SOLUTION"
CHECK_MARKER = "# NBVAL_CHECK_OUTPUT"
_CHECK_CALL = re.compile(r"""checks\.check\(\s*["']([0-9]+\.[0-9]+)["']""")


class SolutionMarkerError(ValueError):
    """Solution markers are missing, unbalanced or nested."""


def list_notebooks(directory: Path = NOTEBOOKS_DIR) -> list[Path]:
    """The course notebooks, in order (``NN_name.ipynb``)."""
    return sorted(p for p in Path(directory).glob("[0-9][0-9]_*.ipynb") if p.is_file())


def find_notebook(name: str, directory: Path = NOTEBOOKS_DIR) -> Path:
    """Find a notebook by path, file name, stem or number ("01", "01_minimax_game")."""
    as_path = Path(name)
    if as_path.suffix == ".ipynb" and as_path.is_file():
        return as_path
    candidates = list_notebooks(directory)
    stem = Path(name).name
    stem = stem[:-6] if stem.endswith(".ipynb") else stem
    for path in candidates:
        if path.stem == stem:
            return path
    prefix = [p for p in candidates if p.stem.split("_")[0] == stem]
    if len(prefix) == 1:
        return prefix[0]
    known = ", ".join(p.stem for p in candidates) or "(none)"
    raise FileNotFoundError(f"no course notebook called {name!r}; known: {known}")


def read(path) -> nbformat.NotebookNode:
    """Read a notebook (format 4), raising ValueError with a clear message."""
    try:
        return nbformat.read(str(path), as_version=4)
    except Exception as exc:  # json errors, missing keys, wrong format...
        raise ValueError(f"{path} is not a readable Jupyter notebook: {exc}") from exc


def exercise_cells(nb) -> dict[str, int]:
    """Map exercise id -> index of its exercise cell."""
    found = {}
    for i, cell in enumerate(nb.cells):
        ex = cell.get("metadata", {}).get("exercise")
        if ex is not None and cell.cell_type == "code":
            if ex in found:
                raise ValueError(f"exercise {ex} appears twice")
            found[str(ex)] = i
    return found


def check_cell_index(nb, exercise_id: str) -> Optional[int]:
    """Index of the check cell of ``exercise_id`` (the cell that checks it)."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        lines = cell.source.splitlines()
        if lines and lines[0].strip() == CHECK_MARKER:
            m = _CHECK_CALL.search(cell.source)
            if m and m.group(1) == exercise_id:
                return i
    return None


def parameters_index(nb) -> Optional[int]:
    """Index of the cell tagged ``parameters``."""
    for i, cell in enumerate(nb.cells):
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            return i
    return None


def parameter_defaults(nb) -> dict:
    """Names and default values of the ``parameters`` cell (literals only)."""
    idx = parameters_index(nb)
    if idx is None:
        return {}
    values = {}
    for node in ast.parse(nb.cells[idx].source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                try:
                    values[target.id] = ast.literal_eval(node.value)
                except ValueError:
                    values[target.id] = None
    return values


def _solution_spans(lines: list[str]) -> list[tuple[int, int]]:
    spans, start = [], None
    for i, line in enumerate(lines):
        text = line.strip()
        if text == BEGIN:
            if start is not None:
                raise SolutionMarkerError(f"nested {BEGIN} at line {i + 1}")
            start = i
        elif text == END:
            if start is None:
                raise SolutionMarkerError(f"{END} without {BEGIN} at line {i + 1}")
            spans.append((start, i))
            start = None
    if start is not None:
        raise SolutionMarkerError(f"{BEGIN} at line {start + 1} is never closed")
    return spans


def make_student_source(source: str, exercise_id: str) -> str:
    """Replace every solution block by a stub raising ``NotImplementedError``.

    The stub keeps the indentation of the ``# BEGIN SOLUTION`` line.
    """
    lines = source.split("\n")
    spans = _solution_spans(lines)
    if not spans:
        raise SolutionMarkerError(f"exercise {exercise_id} has no {BEGIN} block")
    out, pos = [], 0
    for start, end in spans:
        out.extend(lines[pos:start])
        indent = lines[start][: len(lines[start]) - len(lines[start].lstrip())]
        out.append(f"{indent}# YOUR CODE HERE")
        out.append(f'{indent}raise NotImplementedError("Exercise {exercise_id}")')
        pos = end + 1
    out.extend(lines[pos:])
    return "\n".join(out)


def make_student_notebook(nb) -> nbformat.NotebookNode:
    """The student version of a solution notebook (a new object)."""
    student = copy.deepcopy(nb)
    for ex_id, idx in exercise_cells(student).items():
        cell = student.cells[idx]
        cell.source = make_student_source(cell.source, ex_id)
        cell.outputs = []
        cell.execution_count = None
    return student


def inject_parameters(nb, parameters: dict) -> nbformat.NotebookNode:
    """Insert a cell assigning ``parameters`` right after the parameters cell.

    The same thing papermill does; used by the grader, which runs nbval rather
    than papermill. Returns a new notebook.
    """
    nb = copy.deepcopy(nb)
    if not parameters:
        return nb
    idx = parameters_index(nb)
    if idx is None:
        raise ValueError("the notebook has no cell tagged 'parameters'")
    known = parameter_defaults(nb)
    unknown = sorted(set(parameters) - set(known))
    if unknown:
        raise ValueError(
            f"unknown parameter(s) {', '.join(unknown)}; the notebook has "
            f"{', '.join(sorted(known))}"
        )
    source = "# Parameters set from outside\n" + "\n".join(
        f"{name} = {value!r}" for name, value in parameters.items()
    )
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(idx + 1, cell)
    return nb


# Seconds a notebook may take at its defaults on a 2-core laptop (the README):
# 3 minutes, 4 for the image notebooks. A notebook states its own budget in its
# metadata, {"course": {"budget_seconds": N}}.
DEFAULT_BUDGET_SECONDS = 180


def tagged_sources(path, tags) -> dict:
    """The sources of the notebook's cells tagged with each of ``tags``, by tag
    (the cells of one tag in their order, joined by a blank line), for the
    scripts that run a notebook's own recipe cells. Raises RuntimeError when a
    tag has no cell, or ``parameters`` more than one."""
    path = Path(path)
    cells = read(path).cells
    sources = {}
    for tag in tags:
        found = [c for c in cells if tag in c.get("metadata", {}).get("tags", [])]
        if not found or (tag == "parameters" and len(found) > 1):
            raise RuntimeError(f"{path.name} has {len(found)} cells tagged {tag!r}")
        sources[tag] = "\n\n".join(c.source for c in found)
    return sources


def time_budget(nb) -> int:
    """The wall-time budget of a notebook at its defaults, in seconds."""
    budget = nb.metadata.get("course", {}).get("budget_seconds", DEFAULT_BUDGET_SECONDS)
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise ValueError(f"budget_seconds must be an int >= 1, got {budget!r}")
    return budget


def source_digest(path) -> str:
    """SHA-256 of what a notebook's run depends on: the notebook and the package.

    The package's files are ``course_utils/**/*.py`` and its data files, except
    the instructor tools, which do not change what a notebook computes. The
    course report stores the digest; ``python -m course_utils site`` reruns a
    notebook whose digest has changed.
    """
    from course_utils.paths import PACKAGE_DIR

    digest = hashlib.sha256(Path(path).read_bytes())
    for file in sorted(PACKAGE_DIR.rglob("*")):
        rel = file.relative_to(PACKAGE_DIR)
        if (
            not file.is_file()
            or rel.parts[0] in ("instructor", "__pycache__")
            or "__pycache__" in rel.parts
            or file.suffix not in (".py", ".mplstyle", ".txt")
        ):
            continue
        digest.update(str(rel).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()
