"""Autograding of student submissions: ``python -m course_utils grade``.

A submission is never run as the student sent it. The graded notebook is built
from the official solution notebook: only the code of the student's exercise
cells is taken over (matched by the ``exercise`` metadata id, never by position),
the official check cells and their expected outputs stay, and the parameters are
set to quick mode. That notebook runs under nbval (``--nbval-lax``) with a time
limit per cell and one for the whole run. An exercise scores when its check cell
runs and prints exactly the expected line.

So editing a check cell's stored output, deleting or altering a check cell,
adding nbval markers or clearing outputs changes nothing. Exercise cells that
reach into the checking machinery (``checks``, ``sys``, ``builtins``, frames,
``setattr`` on library modules, ...) are rejected and score nothing.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat

from course_utils.instructor import notebooks as nbtools
from course_utils.paths import NOTEBOOKS_DIR

__all__ = ["grade_paths", "grade_submission", "scan_exercise_source", "format_table"]

# Colour codes, raw or as escaped by the JUnit XML writer.
_ANSI = re.compile(r"(?:\x1b|#x1B)\[[0-9;]*[A-Za-z]")
_NBVAL_MARKER = re.compile(r"^\s*#\s*NBVAL_\w+.*$", re.MULTILINE)

_DENIED_NAMES = {
    "checks",
    "course_utils",
    "sys",
    "builtins",
    "__builtins__",
    "inspect",
    "gc",
    "importlib",
    "ctypes",
    "globals",
    "locals",
    "vars",
    "setattr",
    "delattr",
    "eval",
    "exec",
    "compile",
    "__import__",
    "get_ipython",
    "IPython",
}
_DENIED_ATTRS = {
    "f_back",
    "f_globals",
    "f_locals",
    "f_builtins",
    "__globals__",
    "__builtins__",
    "__subclasses__",
    "__code__",
    "_getframe",
    "modules",
}
_DENIED_MODULES = {
    "sys",
    "builtins",
    "inspect",
    "gc",
    "importlib",
    "ctypes",
    "course_utils",
    "IPython",
    "os",
    "subprocess",
    "threading",
    "signal",
}
_LIBRARY_NAMES = {
    "torch",
    "np",
    "numpy",
    "nn",
    "F",
    "math",
    "random",
    "scipy",
    "checks",
    "plotting",
    "train",
    "losses",
    "toy",
    "divergences",
    "models",
    "metrics",
    "record",
}


def scan_exercise_source(source: str) -> str | None:
    """Return why an exercise cell's code is rejected, or None if it is fine."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None  # it will fail on its own when run
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in _DENIED_NAMES:
            return f"uses {node.id!r}"
        if isinstance(node, ast.Attribute) and node.attr in _DENIED_ATTRS:
            return f"uses the attribute {node.attr!r}"
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names]
            if isinstance(node, ast.ImportFrom) and node.module:
                names.append(node.module)
            for name in names:
                if name.split(".")[0] in _DENIED_MODULES:
                    return f"imports {name!r}"
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
            if isinstance(node.value, ast.Name) and node.value.id in _LIBRARY_NAMES:
                return f"makes an alias of the library module {node.value.id!r}"
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, ast.Delete):
            targets = node.targets
        for target in targets:
            root = target
            while isinstance(root, (ast.Attribute, ast.Subscript)):
                root = root.value
            if (
                root is not target
                and isinstance(root, ast.Name)
                and root.id in _LIBRARY_NAMES
            ):
                return f"modifies the library module {root.id!r}"
    return None


def _solution_for(path: Path, solutions_dir: Path) -> Path:
    """The solution notebook matching a submission's file name."""
    names = {p.stem: p for p in nbtools.list_notebooks(solutions_dir)}
    stem = path.stem
    if stem in names:
        return names[stem]
    matches = [name for name in names if name in stem]
    if len(matches) == 1:
        return names[matches[0]]
    raise ValueError(
        f"cannot tell which notebook {path.name!r} is a submission of: its file "
        f"name should contain one of {', '.join(sorted(names))}"
    )


def build_graded_notebook(solution, submission, quick: bool = True):
    """The notebook to run: the solution with the student's exercise code.

    Returns ``(notebook, rejected)`` where ``rejected`` maps exercise ids whose
    code was refused to the reason.
    """
    graded = nbtools.make_student_notebook(solution)  # stubs where nothing arrives
    student_cells = {}
    for cell in submission.cells:
        ex = cell.get("metadata", {}).get("exercise")
        if ex is not None and cell.get("cell_type") == "code":
            student_cells.setdefault(str(ex), cell.get("source", ""))
    rejected = {}
    for ex_id, idx in nbtools.exercise_cells(graded).items():
        if ex_id not in student_cells:
            continue
        source = _NBVAL_MARKER.sub("", student_cells[ex_id])
        reason = scan_exercise_source(source)
        if reason:
            rejected[ex_id] = f"exercise cell rejected by the grader: it {reason}"
            source = (
                f'raise RuntimeError("Exercise {ex_id} was rejected by the grader")'
            )
        graded.cells[idx].source = source
    # Only the check cells keep outputs; nothing else is compared anyway.
    check_ids = {
        nbtools.check_cell_index(graded, e) for e in nbtools.exercise_cells(graded)
    }
    for i, cell in enumerate(graded.cells):
        if cell.cell_type == "code" and i not in check_ids:
            cell.outputs = []
            cell.execution_count = None
    if quick:
        graded = nbtools.inject_parameters(graded, {"QUICK": True})
    return graded, rejected


def _code_cell_numbers(nb) -> dict[int, int]:
    """Map cell index -> nbval's code-cell number ("Cell N")."""
    numbers, n = {}, 0
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            numbers[i] = n
            n += 1
    return numbers


def _run_nbval(nb_path: Path, cell_timeout: float, total_timeout: float) -> dict:
    """Run nbval on one notebook; return {cell number: (status, message)}."""
    junit = nb_path.with_suffix(".xml")
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        str(nb_path),
        "--nbval-lax",
        "--nbval-current-env",
        f"--nbval-cell-timeout={cell_timeout}",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        "-q",
        f"--junitxml={junit}",
        "-o",
        "junit_family=xunit2",
        "--rootdir",
        str(nb_path.parent),
    ]
    env = dict(os.environ)
    env.pop("COURSE_METRICS_FILE", None)
    env["MPLBACKEND"] = "Agg"
    try:
        proc = subprocess.run(
            cmd,
            cwd=nb_path.parent,
            capture_output=True,
            text=True,
            timeout=total_timeout,
            env=env,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return {"__timeout__": True}
    results = {}
    if not junit.exists():
        return {"__error__": (proc.stdout + proc.stderr)[-2000:]}
    for case in ET.parse(junit).getroot().iter("testcase"):
        m = re.match(r"Cell (\d+)", case.get("name", ""))
        if not m:
            continue
        status, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error"):
                status = "failed"
                message = _ANSI.sub(
                    "", (child.get("message") or "") + "\n" + (child.text or "")
                )
            elif child.tag == "skipped":
                status = "skipped"
                message = child.get("message") or "skipped"
        results[int(m.group(1))] = (status, message)
    return results


def _explain(status: str, message: str) -> str:
    if status == "passed":
        return "passed"
    if status == "skipped":
        return "not run: an earlier cell timed out"
    found = re.findall(r"ExerciseFailed: (.*)", message)
    if found:
        return found[-1].strip()
    if "Timeout" in message or "timed out" in message:
        return "timed out"
    m = re.search(r"^(\w*(?:Error|Exception)): (.*)$", message, re.MULTILINE)
    if m:
        return f"{m.group(1)}: {m.group(2).strip()}"[:300]
    if "does not match" in message or "mismatch" in message.lower():
        return "the check cell's output differs from the expected output"
    return "failed"


def grade_submission(
    path: Path,
    *,
    solutions_dir: Path = NOTEBOOKS_DIR,
    cell_timeout: float = 60,
    total_timeout: float = 900,
) -> dict:
    """Grade one submission; never raises for a bad submission."""
    path = Path(path)
    result = {
        "submission": str(path),
        "notebook": None,
        "score": 0,
        "max_score": 0,
        "exercises": {},
        "error": None,
    }
    try:
        solution_path = _solution_for(path, solutions_dir)
        result["notebook"] = solution_path.stem
        solution = nbtools.read(solution_path)
        ex_ids = list(nbtools.exercise_cells(solution))
        result["max_score"] = len(ex_ids)
        try:
            text = path.read_text(encoding="utf-8")
            raw = json.loads(text)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(
                f"not a notebook: the file is not valid JSON ({exc})"
            ) from None
        if not isinstance(raw, dict) or "cells" not in raw:
            raise ValueError("not a notebook: the JSON has no 'cells'")
        submission = nbformat.reads(text, as_version=4)
    except (ValueError, OSError) as exc:
        result["error"] = str(exc)
        return result

    graded, rejected = build_graded_notebook(solution, submission)
    failed_for_good = dict(rejected)
    start_total = total_timeout
    with tempfile.TemporaryDirectory(prefix="grade-") as tmp:
        for _attempt in range(len(ex_ids) + 1):
            nb_path = Path(tmp) / f"{solution_path.stem}.ipynb"
            nbformat.write(graded, str(nb_path))
            outcome = _run_nbval(nb_path, cell_timeout, start_total)
            if "__timeout__" in outcome:
                for ex in ex_ids:
                    result["exercises"].setdefault(
                        ex, {"passed": False, "message": "the whole run timed out"}
                    )
                result["error"] = f"the run took longer than {total_timeout} s"
                break
            if "__error__" in outcome:
                result["error"] = "nbval did not run: " + outcome["__error__"]
                break
            numbers = _code_cell_numbers(graded)
            cells = {idx: outcome.get(num) for idx, num in numbers.items()}
            timed_out = [
                idx
                for idx, r in cells.items()
                if r and r[0] == "failed" and "Timeout" in r[1]
            ]
            exercise_idx = nbtools.exercise_cells(graded)
            if timed_out:
                culprit = _culprit(graded, exercise_idx, timed_out[0], failed_for_good)
                if culprit is not None:
                    failed_for_good[culprit] = (
                        f"timed out (a cell ran longer than {cell_timeout} s)"
                    )
                    graded.cells[
                        exercise_idx[culprit]
                    ].source = f'raise RuntimeError("Exercise {culprit} timed out")'
                    continue  # run again with that exercise switched off
            for ex in ex_ids:
                if ex in failed_for_good:
                    result["exercises"][ex] = {
                        "passed": False,
                        "message": failed_for_good[ex],
                    }
                    continue
                check_idx = nbtools.check_cell_index(graded, ex)
                r = cells.get(check_idx) if check_idx is not None else None
                if r is None:
                    result["exercises"][ex] = {"passed": False, "message": "not run"}
                else:
                    result["exercises"][ex] = {
                        "passed": r[0] == "passed",
                        "message": _explain(*r),
                    }
            break
    result["exercises"] = {
        ex: result["exercises"].get(ex, {"passed": False, "message": "not graded"})
        for ex in ex_ids
    }
    result["score"] = sum(1 for e in result["exercises"].values() if e["passed"])
    return result


def _culprit(nb, exercise_idx: dict, cell_idx: int, already: dict):
    """The exercise to blame for a timeout in cell ``cell_idx``.

    The latest exercise at or before that cell whose code is still the student's.
    """
    best = None
    for ex, idx in sorted(exercise_idx.items(), key=lambda kv: kv[1]):
        if idx <= cell_idx and ex not in already:
            best = ex
    return best


def _collect(paths) -> list[Path]:
    files = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(
                sorted(
                    q for q in p.rglob("*.ipynb") if ".ipynb_checkpoints" not in q.parts
                )
            )
        else:
            files.append(p)
    return files


def grade_paths(paths, *, jobs: int | None = None, **kwargs) -> list[dict]:
    """Grade every submission (files, or every ``.ipynb`` under folders) in parallel."""
    files = _collect(paths)
    if not files:
        return []
    jobs = jobs or min(len(files), max(1, os.cpu_count() or 1))

    def one(path):
        if not path.exists():
            return {
                "submission": str(path),
                "notebook": None,
                "score": 0,
                "max_score": 0,
                "exercises": {},
                "error": "no such file",
            }
        return grade_submission(path, **kwargs)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(one, files))


def format_table(results: list[dict]) -> str:
    """A plain-text table of grading results."""
    rows = [("submission", "notebook", "score", "exercises / error")]
    for r in results:
        if r["error"] and not r["exercises"]:
            detail = f"ERROR: {r['error']}"
        else:
            detail = " ".join(
                f"{ex}:{'ok' if e['passed'] else 'FAIL'}"
                for ex, e in r["exercises"].items()
            )
            if r["error"]:
                detail += f" (error: {r['error']})"
        rows.append(
            (
                r["submission"],
                r["notebook"] or "?",
                f"{r['score']}/{r['max_score']}",
                detail,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = []
    for n, row in enumerate(rows):
        lines.append(
            "  ".join(row[i].ljust(widths[i]) for i in range(3)) + "  " + row[3]
        )
        if n == 0:
            lines.append("-" * (sum(widths) + 6 + len(row[3])))
    return "\n".join(lines)
