"""Autograding of student submissions: ``python -m course_utils grade``.

A submission is never run as the student sent it. The graded notebook is built
from the official solution notebook: only the code of the student's exercise
cells is taken over (matched by the ``exercise`` metadata id, never by position),
the official check cells and their expected outputs stay, and the parameters are
set to quick mode. So editing a check cell's stored output, deleting or altering
a check cell, adding nbval markers or clearing outputs changes nothing.

The verdict does not come from the student's process. Before the run, the
grader draws fresh test cases for every exercise (from a seed the notebook never
saw) and leaves them as challenge files; each check cell runs the student's
answer on them and writes back plain results (numbers and arrays in a safe
format, never pickle). After the run, the grader judges those results in its
own process with the checker's ``verify``. An exercise scores only when both
agree: nbval saw its check cell print the expected line, and the results sent
back for the fresh cases are right. Rebinding names, patching torch or the
checkers, or printing the success line inside the kernel therefore earns
nothing.

Each submission runs sandboxed (see :mod:`course_utils.instructor.sandbox`):
own process tree, no network, empty environment, private ``/tmp`` and home,
the package read-only and the solutions hidden, memory and time limits, and
nothing left running afterwards. ``--total-timeout`` bounds a submission's
whole run; a cell that times out is blamed on the exercise whose code or check
cell it is, and on no other.

A kernel that sits idle while a cell still waits for its reply (a lost
message, see :mod:`course_utils.instructor.nbval_patience`) is noticed after
``idle_limit`` seconds: the submission is run once more from the start, and
its result says so under ``restarted``. If it hangs again, the exercises from
that cell on are not graded and ``error`` says why.

Exercise code is also scanned before it runs. Code that reaches into the
checking machinery (``checks``, ``sys``, frames, ...) or that names the
package's own answer to the same exercise (a checker's ``gives_away``, for
example ``losses.g_loss_nonsaturating`` for exercise 1.2) is refused and scores
nothing. The scan is a courtesy that explains the refusal; the security is the
verdict taken outside the kernel.
"""

from __future__ import annotations

import ast
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat

from course_utils.checks import _wire
from course_utils.checks._core import (
    GRADING_ENV,
    checker_for,
    judge,
    make_challenge,
    registered,
)
from course_utils.instructor import notebooks as nbtools
from course_utils.instructor import sandbox
from course_utils.instructor.nbval_patience import HANG_MARK, IDLE_LIMIT_SECONDS
from course_utils.paths import NOTEBOOKS_DIR

__all__ = [
    "grade_paths",
    "grade_submission",
    "scan_exercise_source",
    "submitted_exercises",
    "format_table",
]

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


def scan_gives_away(exercise_id: str, source: str) -> str | None:
    """Why the code is refused for naming the package's answer, or None."""
    try:
        names = checker_for(exercise_id).gives_away
        tree = ast.parse(source)
    except (KeyError, SyntaxError):
        return None
    for node in ast.walk(tree):
        text = None
        if isinstance(node, ast.Name):
            text = node.id
        elif isinstance(node, ast.Attribute):
            text = node.attr
        elif isinstance(node, ast.alias):
            text = node.name.rsplit(".", 1)[-1]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        if text is None:
            continue
        for name in names:
            if name == text:
                return (
                    f"calls the course's own answer {name!r}: write it yourself"
                )
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


def submitted_exercises(submission, expected) -> tuple[dict, dict]:
    """The code a submission gives for each exercise, and what is odd about its
    exercise cells.

    ``expected`` lists the solution notebook's exercise ids. Returns
    ``(sources, cells)``: ``sources`` maps an exercise id to the code of the
    first code cell marked with it; ``cells`` has ``duplicated`` (id -> number
    of code cells marked with it, when more than one), ``missing`` (expected ids
    no code cell is marked with, in the solution's order) and ``unknown`` (ids
    the solution does not have). The grading policy: the first cell of a
    duplicated exercise is graded and the others are ignored; a missing exercise
    scores 0; cells with unknown ids are ignored; every one of them is named in
    the result. Cells without an exercise id (the notes a student adds, a set-up
    cell put first at release time) never reach the graded notebook.
    """
    sources, counts, unknown = {}, {}, []
    for cell in submission.cells:
        ex = cell.get("metadata", {}).get("exercise")
        if ex is None or cell.get("cell_type") != "code":
            continue
        ex = str(ex)
        if ex not in expected:
            if ex not in unknown:
                unknown.append(ex)
            continue
        counts[ex] = counts.get(ex, 0) + 1
        sources.setdefault(ex, cell.get("source", ""))
    cells = {
        "duplicated": {ex: n for ex, n in counts.items() if n > 1},
        "missing": [ex for ex in expected if ex not in sources],
        "unknown": unknown,
    }
    return sources, cells


def cell_notes(cells: dict, notebook: str) -> list[str]:
    """What :func:`submitted_exercises` found, in words for the student."""
    notes = []
    for ex, n in cells["duplicated"].items():
        rest = "the second" if n == 2 else f"the other {n - 1}"
        notes.append(f"exercise {ex} appears in {n} cells: the first was graded "
                     f"and {rest} ignored")
    for ex in cells["missing"]:
        notes.append(f"exercise {ex}: exercise cell missing, scored 0")
    for ex in cells["unknown"]:
        notes.append(f"a cell marked as exercise {ex} was ignored: {notebook} has "
                     "no such exercise")
    return notes


MISSING_CELL = ("exercise cell missing: no code cell of the submission is marked "
                "with this exercise's id (the cell's metadata \"exercise\"), so "
                "it scores 0")


UNSTORED_CHECK = ("not graded: the course's check cell for this exercise stores no "
                  "expected output, so no answer can pass it (the instructor "
                  "refreshes the notebook: python -m course_utils refresh)")


def unstored_checks(solution) -> list[str]:
    """The exercises whose check cell in the solution notebook stores no output
    (a notebook edited but not refreshed): nbval then fails every answer."""
    missing = []
    for ex in nbtools.exercise_cells(solution):
        idx = nbtools.check_cell_index(solution, ex)
        if idx is not None and not solution.cells[idx].get("outputs"):
            missing.append(ex)
    return missing


def build_graded_notebook(solution, submission, quick: bool = True):
    """The notebook to run: the solution with the student's exercise code.

    Returns ``(notebook, rejected)`` where ``rejected`` maps exercise ids whose
    code was refused to the reason. Duplicated and missing exercise cells are
    resolved as :func:`submitted_exercises` says.
    """
    graded = nbtools.make_student_notebook(solution)  # stubs where nothing arrives
    student_cells, _ = submitted_exercises(submission,
                                           list(nbtools.exercise_cells(graded)))
    rejected = {}
    for ex_id, idx in nbtools.exercise_cells(graded).items():
        if ex_id not in student_cells:
            continue
        source = _NBVAL_MARKER.sub("", student_cells[ex_id])
        reason = scan_exercise_source(source) or scan_gives_away(ex_id, source)
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


# How a cell stopped by nbval_patience's watchdog begins its failure message.
_HANG_PREFIX = "pytest plugin exception: " + HANG_MARK
IDLE_LIMIT_VAR = "COURSE_KERNEL_IDLE_LIMIT"


def _idle_limit_default() -> float:
    """``COURSE_KERNEL_IDLE_LIMIT`` seconds, else the plugin's 60."""
    text = os.environ.get(IDLE_LIMIT_VAR, "").strip()
    return float(text) if text else IDLE_LIMIT_SECONDS


def _run_nbval(
    workdir: Path, nb_name: str, cell_timeout: float, total_timeout: float,
    isolation: sandbox.Isolation, hide=(), idle_limit: float = IDLE_LIMIT_SECONDS,
) -> dict:
    """Run nbval on ``workdir/nb_name``; return {cell number: (status, message)}.

    The job sees ``workdir`` as its ``/tmp`` when sandboxed.
    """
    inside = Path("/tmp") if isolation.isolated else workdir
    home = inside / "home"
    (workdir / "home").mkdir(exist_ok=True)
    _seed_matplotlib_cache(workdir / "home" / ".matplotlib")
    junit = workdir / "nbval.xml"
    junit.unlink(missing_ok=True)
    argv = [
        sys.executable,
        "-m",
        "pytest",
        str(inside / nb_name),
        "--nbval-lax",
        "--nbval-current-env",
        f"--nbval-cell-timeout={cell_timeout}",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        "-p",
        "course_utils.instructor.nbval_patience",
        f"--kernel-idle-limit={idle_limit:g}",
        "-q",
        f"--junitxml={inside / 'nbval.xml'}",
        "-o",
        "junit_family=xunit2",
        "-o",
        "addopts=",
        "--rootdir",
        str(inside),
    ]
    env = sandbox.job_env(home, {GRADING_ENV: str(inside / "exchange")})
    if isolation.isolated:
        sandbox.prepare_workdir(workdir, isolation.mode)
        cmd = sandbox.wrap(workdir, argv, env, mode=isolation.mode, hide=hide)
    else:
        cmd = argv
    try:
        proc = subprocess.run(
            cmd,
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=max(1.0, total_timeout),
            env=env,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    except subprocess.TimeoutExpired:
        return {"__timeout__": True}
    results = {}
    if junit.is_symlink() or not junit.is_file():
        return {"__error__": (proc.stdout + proc.stderr)[-2000:]}
    try:
        root = ET.fromstring(junit.read_bytes()[: 16 * 2**20])
    except ET.ParseError:
        return {"__error__": "nbval's report is unreadable"}
    for case in root.iter("testcase"):
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


def _seed_matplotlib_cache(folder: Path) -> None:
    """Give the job a copy of matplotlib's font list: building it takes seconds."""
    try:
        import matplotlib
        from matplotlib import font_manager  # noqa: F401 - builds the list once

        folder.mkdir(parents=True, exist_ok=True)
        for f in Path(matplotlib.get_cachedir()).glob("fontlist-*.json"):
            shutil.copy(f, folder / f.name)
    except Exception:  # noqa: BLE001 - only a speed-up
        pass


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
    idle_limit: float | None = None,
) -> dict:
    """Grade one submission; never raises for a bad submission.

    ``idle_limit`` (default :func:`_idle_limit_default`) is how long the kernel
    may sit idle while a cell waits for its reply before the run counts as hung.
    """
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
    _, found = submitted_exercises(submission, ex_ids)
    result["cells"] = found
    result["notes"] = cell_notes(found, solution_path.stem)
    idle_limit = _idle_limit_default() if idle_limit is None else float(idle_limit)
    failed_for_good = dict(rejected)
    failed_for_good.update({ex: MISSING_CELL for ex in found["missing"]})
    isolation = sandbox.isolation()
    deadline = time.monotonic() + total_timeout
    # Fresh cases for every exercise, kept here: the kernel gets a copy only.
    challenges = {
        ex: make_challenge(ex, secrets.randbits(62))
        for ex in ex_ids
        if ex in registered()
    }
    base = Path(tempfile.mkdtemp(prefix="grade-"))
    try:
        nb_name = f"{solution_path.stem}.ipynb"
        for _attempt in range(len(ex_ids) + 2):
            workdir = base / f"run{_attempt}"
            exchange = workdir / "exchange"
            exchange.mkdir(parents=True)
            for ex, challenge in challenges.items():
                _wire.save(exchange / f"{ex}.challenge", challenge)
            nbformat.write(graded, str(workdir / nb_name))
            remaining = deadline - time.monotonic()
            outcome = (
                {"__timeout__": True}
                if remaining <= 0
                else _run_nbval(
                    workdir,
                    nb_name,
                    cell_timeout,
                    remaining,
                    isolation,
                    hide=(Path(solutions_dir),),
                    idle_limit=idle_limit,
                )
            )
            if "__timeout__" in outcome:
                for ex in ex_ids:
                    result["exercises"].setdefault(
                        ex, {"passed": False, "message": "the whole run timed out"}
                    )
                result["error"] = f"the run took longer than {total_timeout:g} s"
                break
            if "__error__" in outcome:
                result["error"] = "nbval did not run: " + outcome["__error__"]
                break
            numbers = _code_cell_numbers(graded)
            cells = {idx: outcome.get(num) for idx, num in numbers.items()}
            hang_again = None  # (cell index, why) when a rerun hung too
            hung = [
                idx
                for idx, r in cells.items()
                if r and r[0] == "failed" and r[1].startswith(_HANG_PREFIX)
            ]
            if hung:
                why = cells[hung[0]][1][len(_HANG_PREFIX):].split("\n")[0].strip()
                why = f"code cell {numbers[hung[0]]}: {why}"
                if "restarted" not in result:
                    result["restarted"] = why
                    continue  # run it once more from the start
                hang_again = (hung[0], why)
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
                        f"timed out (a cell ran longer than {cell_timeout:g} s)"
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
                if hang_again and (check_idx is None or check_idx >= hang_again[0]):
                    entry = {
                        "passed": False,
                        "message": "not graded: the kernel hung at code cell "
                        f"{numbers[hang_again[0]]} in both runs",
                    }
                elif r is None:
                    entry = {"passed": False, "message": "not run"}
                elif r[0] != "passed":
                    own = cells.get(exercise_idx[ex])
                    if own is not None and own[0] == "failed":
                        # the exercise cell itself failed: that is the news
                        entry = {
                            "passed": False,
                            "message": "your exercise cell raised "
                            + _explain(*own),
                        }
                    else:
                        entry = {"passed": False, "message": _explain(*r)}
                else:
                    entry = _judge_outside(ex, challenges.get(ex), exchange)
                result["exercises"][ex] = entry
            if timed_out:
                result["error"] = (
                    f"code cell {numbers[timed_out[0]]} (not an exercise) ran longer "
                    f"than {cell_timeout:g} s; the cells after it did not run"
                )
            if hang_again:
                result["error"] = (
                    f"the kernel hung again after a restart, at {hang_again[1]} "
                    + ("(the first run hung the same way)"
                       if hang_again[1] == result["restarted"]
                       else f"(the first run at {result['restarted']})")
                    + "; the cells from there on were not graded"
                )
            break
    finally:
        shutil.rmtree(base, ignore_errors=True)
    result["exercises"] = {
        ex: result["exercises"].get(ex, {"passed": False, "message": "not graded"})
        for ex in ex_ids
    }
    for ex, n in found["duplicated"].items():
        result["exercises"][ex]["note"] = (
            f"{n} cells are marked as exercise {ex}: the first was graded")
    for ex in unstored_checks(solution):
        entry = result["exercises"].get(ex)
        if entry and not entry["passed"] and ex not in failed_for_good:
            entry["message"] = UNSTORED_CHECK
    result["score"] = sum(1 for e in result["exercises"].values() if e["passed"])
    return result


def _judge_outside(exercise_id: str, challenge, exchange: Path) -> dict:
    """The grader's own verdict on the results the check cell sent back."""
    if challenge is None:
        return {"passed": False, "message": "no checker for this exercise"}
    path = exchange / f"{exercise_id}.answer"
    if not path.exists() and not path.is_symlink():
        return {
            "passed": False,
            "message": "the check cell printed its line but sent no results to the "
            "grader: was checks.check replaced?",
        }
    try:
        answer = _wire.load(path)
    except (OSError, _wire.WireError) as exc:
        return {
            "passed": False,
            "message": f"the check cell sent no readable results to the grader ({exc})",
        }
    why = judge(exercise_id, challenge, answer)
    if why is None:
        return {"passed": True, "message": "passed"}
    return {"passed": False, "message": why}


def _culprit(nb, exercise_idx: dict, cell_idx: int, already: dict):
    """The exercise to blame for a timeout in cell ``cell_idx``: the exercise
    whose code cell or check cell it is, or None for any other cell."""
    for ex, idx in exercise_idx.items():
        if ex in already:
            continue
        if cell_idx == idx or cell_idx == nbtools.check_cell_index(nb, ex):
            return ex
    return None


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
            if r.get("restarted"):
                detail += f" (run twice: the first run hung at {r['restarted']})"
            if r.get("notes"):
                detail += f" (notes: {'; '.join(r['notes'])})"
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
