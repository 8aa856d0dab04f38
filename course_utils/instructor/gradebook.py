"""The instructor's gradebook: ``python -m course_utils grade ... --gradebook DIR``.

The grader (:mod:`course_utils.instructor.grader`) returns one result per
submitted notebook. This module turns a class's results into

* ``DIR/gradebook.csv``: one row per student, one column per exercise (the points
  earned), then the total, the maximum and notes (duplicated or missing
  exercise cells, runs that stopped early, files not graded);
* ``DIR/feedback/STUDENT.md``: for each notebook the student handed in, every
  exercise's verdict with the checker's hint, why a refused submission was
  refused, and which exercise cells were duplicated, missing or unknown.

Students are told apart by where their files lie: nbgrader's layout
``submitted/STUDENT/ASSIGNMENT/NOTEBOOK.ipynb``, or one flat folder of
``STUDENT_NN_name.ipynb`` files. An exercise is worth the ``points`` of its
exercise cell's metadata (1 when absent).

The policy for exercise cells is the grader's
(:func:`course_utils.instructor.grader.submitted_exercises`): of several cells
marked with one exercise the first is graded, a missing exercise scores 0, and
both are named in the notes and the feedback.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from course_utils.instructor import notebooks as nbtools
from course_utils.paths import NOTEBOOKS_DIR

__all__ = ["student_of", "exercise_points", "write_gradebook"]

_NOTEBOOK_STEM = re.compile(r"\d\d_[a-z0-9_]+")


def student_of(path) -> str:
    """The student a submission belongs to, from its path.

    ``.../submitted/STUDENT/ASSIGNMENT/file.ipynb`` (nbgrader) gives STUDENT;
    ``STUDENT_01_minimax_game.ipynb`` gives STUDENT; otherwise the name of the
    folder the file is in.
    """
    path = Path(path)
    parts = path.parts
    if "submitted" in parts[:-1]:
        at = len(parts) - 1 - parts[::-1].index("submitted")
        if at + 1 < len(parts) - 1:
            return parts[at + 1]
    match = re.match(r"(.+)[_-](\d\d_[a-z][a-z0-9_]*)$", path.stem)
    if match:
        return match.group(1)
    return path.parent.name or path.stem


def exercise_points(notebook: str, solutions_dir: Path = NOTEBOOKS_DIR) -> dict:
    """Points per exercise of a solution notebook, in the order they appear."""
    nb = nbtools.read(nbtools.find_notebook(notebook, solutions_dir))
    points = {}
    for ex_id, idx in nbtools.exercise_cells(nb).items():
        value = nb.cells[idx].metadata.get("points", 1)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"{notebook}: exercise {ex_id} has points {value!r}; "
                             "give a number >= 0 in the cell's metadata")
        points[ex_id] = value
    return points


def _number(value) -> str:
    return f"{value:g}"


def _earned(result: dict, points: dict):
    return sum(points[result["notebook"]][ex]
               for ex, e in result["exercises"].items() if e["passed"])


def _counted(results: list[dict], points: dict) -> tuple[dict, list[str]]:
    """For one student: the result that counts for each notebook, and the notes
    for the gradebook's ``notes`` column.

    A student who handed in several files for one notebook is scored on the
    file that earned the most points (the first in path order on a tie), never
    on exercises picked from different files; the note names the files.
    """
    by_notebook: dict[str, list[dict]] = {}
    notes = []
    for r in sorted(results, key=lambda r: r["submission"]):
        if r.get("notebook"):
            by_notebook.setdefault(r["notebook"], []).append(r)
        else:
            notes.append(f"{Path(r['submission']).name}: not graded")
    counted = {}
    for name in sorted(by_notebook):
        rs = by_notebook[name]
        best = max(rs, key=lambda r: _earned(r, points))  # first of the best
        counted[name] = best
        if len(rs) > 1:
            notes.append(f"{name}: {len(rs)} files handed in, "
                         f"{Path(best['submission']).name} counts")
        notes += [f"{name}: {note}" for note in best.get("notes", [])]
        if best.get("error"):
            notes.append(f"{name}: the run stopped early")
    return counted, notes


def write_gradebook(results: list[dict], out_dir, *,
                    solutions_dir: Path = NOTEBOOKS_DIR) -> Path:
    """Write ``gradebook.csv`` and one feedback file per student into ``out_dir``;
    returns the CSV's path.

    The CSV's last column, ``notes``, names for each student what the points
    alone do not say: duplicated, missing or unknown exercise cells, runs that
    stopped early, files that could not be graded, and several files handed in
    for one notebook (the one with the most points counts).
    """
    out_dir = Path(out_dir)
    (out_dir / "feedback").mkdir(parents=True, exist_ok=True)
    notebooks = sorted({r["notebook"] for r in results if r.get("notebook")})
    points = {name: exercise_points(name, solutions_dir) for name in notebooks}
    columns = [(name, ex) for name in notebooks for ex in points[name]]
    maximum = sum(points[name][ex] for name, ex in columns)

    by_student: dict[str, list[dict]] = {}
    for r in results:
        by_student.setdefault(student_of(r["submission"]), []).append(r)

    csv_path = out_dir / "gradebook.csv"
    with csv_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student"] + [f"{name} {ex}" for name, ex in columns]
                        + ["total", "max", "notes"])
        for student in sorted(by_student):
            counted, notes = _counted(by_student[student], points)
            earned = {}
            for name, r in counted.items():
                for ex, e in r["exercises"].items():
                    if e["passed"]:
                        earned[(name, ex)] = points[name][ex]
            row = [earned.get(col, 0) for col in columns]
            writer.writerow([student] + [_number(v) for v in row]
                            + [_number(sum(row)), _number(maximum), "; ".join(notes)])
            _write_feedback(out_dir / "feedback" / f"{_safe(student)}.md", student,
                            by_student[student], counted, points, notebooks)
    return csv_path


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) or "student"


def _write_feedback(path: Path, student: str, results: list[dict], counted: dict,
                    points: dict, notebooks: list[str]) -> None:
    lines = [f"# Feedback for {student}", ""]
    handed_in = {r["notebook"] for r in results if r.get("notebook")}
    total = possible = 0
    for r in sorted(results, key=lambda r: (r.get("notebook") or "", r["submission"])):
        name = r.get("notebook")
        lines.append(f"## {name or Path(r['submission']).name}")
        lines.append("")
        lines.append(f"File: `{Path(r['submission']).name}`")
        lines.append("")
        if name is None:
            lines += [f"Not graded: {r['error']}", ""]
            continue
        earned = _earned(r, points)
        worth = sum(points[name].values())
        if counted[name] is r:
            total, possible = total + earned, possible + worth
        else:
            lines += [f"Another file for {name} scored more and counts: "
                      f"`{Path(counted[name]['submission']).name}`.", ""]
        lines += [f"Score: {_number(earned)} of {_number(worth)} points", ""]
        if r.get("error"):
            lines += [f"**The run stopped early:** {r['error']}", ""]
        lines += ["| exercise | points | verdict |", "| --- | ---: | --- |"]
        for ex, e in r["exercises"].items():
            got = points[name][ex] if e["passed"] else 0
            verdict = "passed" if e["passed"] else e["message"]
            if e.get("note"):
                verdict = f"{verdict} ({e['note']})"
            verdict = " ".join(str(verdict).split()).replace("|", "\\|")
            lines.append(f"| {ex} | {_number(got)} / {_number(points[name][ex])} | "
                         f"{verdict} |")
        lines.append("")
        if r.get("notes"):
            lines += ["About the exercise cells:", ""]
            lines += [f"- {note}" for note in r["notes"]] + [""]
    missing = [n for n in notebooks if n not in handed_in]
    if missing:
        lines += ["## Not handed in", ""] + [f"- {n}" for n in missing] + [""]
    lines += [f"**Total: {_number(total)} of {_number(possible)} points** over the "
              "notebooks handed in.", ""]
    path.write_text("\n".join(lines))
