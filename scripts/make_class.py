"""A class of generated submissions with a known answer key, and the check of a
gradebook against that key.

    python scripts/make_class.py make OUT [--students 10] [--per-student 3]
                                          [--notebooks 01 02 ...] [--seed 0]
    python -m course_utils grade OUT/class --jobs 2 --gradebook OUT/book
    python scripts/make_class.py check OUT/book/gradebook.csv OUT/key.json

``make`` writes ``OUT/class/`` and ``OUT/key.json``. Each student hands in
``--per-student`` notebooks (taken in turn from the list, so that every
notebook is handed in about equally often); half the students use nbgrader's
layout (``class/submitted/STUDENT/NN/NN_name.ipynb``), the others one flat
folder (``class/flat/STUDENT_NN_name.ipynb``). Every submission is one of these
kinds, drawn from ``--seed``:

* ``solution``: the course's answers; every exercise scores.
* ``stub``: the released student notebook, nothing solved; nothing scores.
* ``partial``: the student notebook with the answers to some exercises.
* ``edited_outputs``, ``deleted_checks``, ``skip_markers``: a partial one whose
  check cells' stored outputs claim success, whose check cells are gone, or
  whose code cells carry nbval's skip markers; only the solved ones score.
* ``duplicated``: the answers, with one exercise's cell present twice, the stub
  first or the answer first; the first is graded and the note names it.
* ``missing``: the answers, with one exercise cell's metadata lost; that
  exercise scores 0 with "exercise cell missing".
* ``colab``: the student notebook, solved, with a set-up cell put first (as a
  release for Colab does); every exercise scores.

The key holds, per student, the points expected for every exercise of the
notebooks handed in (from the exercise cells' ``points`` metadata), the kind of
each submission and the notes the gradebook must show. ``check`` compares a
gradebook with it cell by cell and exits 1 on any difference, listing them.
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import random
import sys
from pathlib import Path

import nbformat

from course_utils.instructor import gradebook
from course_utils.instructor import notebooks as nbtools
from course_utils.instructor.kit import colab_cell
from course_utils.paths import NOTEBOOKS_DIR

KINDS = ("solution", "stub", "partial", "edited_outputs", "deleted_checks",
         "skip_markers", "duplicated", "missing", "colab")
NAMES = ("ada", "ben", "chen", "dora", "emil", "farah", "gus", "hana", "ivo",
         "jun", "kofi", "lena", "mira", "nils", "omar", "pia", "quinn", "rosa",
         "sami", "tess", "uma", "vik", "wen", "xena", "yusuf", "zoe")
def _student_version(solution):
    nb = nbtools.make_student_notebook(solution)
    nb.nbformat_minor = 4  # as submissions come from older front ends: no cell ids
    for cell in nb.cells:
        cell.pop("id", None)
    return nb


def _solve(nb, solution, exercises):
    """Put the course's answer into the exercise cells ``exercises`` of ``nb``."""
    answers = nbtools.exercise_cells(solution)
    for ex, idx in nbtools.exercise_cells(nb).items():
        if ex in exercises:
            nb.cells[idx].source = solution.cells[answers[ex]].source
    return nb


def make_submission(solution, kind: str, rng: random.Random):
    """A submission of ``kind`` for ``solution``: ``(notebook, solved, notes)``,
    with ``solved`` the exercises that must score and ``notes`` fragments the
    gradebook's notes column must contain."""
    ids = list(nbtools.exercise_cells(solution))
    nb = _student_version(solution)
    if kind == "stub":
        return nb, set(), []
    if kind in ("solution", "colab"):
        _solve(nb, solution, set(ids))
        if kind == "colab":
            cell = colab_cell("gan_course-0.1.0-py3-none-any.whl")  # the release's
            cell.pop("id", None)
            nb.cells.insert(0, cell)
        return nb, set(ids), []
    if kind in ("duplicated", "missing"):
        _solve(nb, solution, set(ids))
        ex = rng.choice(ids)
        idx = nbtools.exercise_cells(nb)[ex]
        if kind == "missing":
            del nb.cells[idx].metadata["exercise"]
            return nb, set(ids) - {ex}, [f"exercise {ex}: exercise cell missing"]
        stub = copy.deepcopy(nb.cells[idx])
        stub.source = nbtools.make_student_source(stub.source, ex)
        stub_first = rng.random() < 0.5
        nb.cells.insert(idx if stub_first else idx + 1, stub)
        solved = set(ids) - {ex} if stub_first else set(ids)
        return nb, solved, [f"exercise {ex} appears in 2 cells"]
    # partial, possibly tampered with: a non-empty proper subset solved
    solved = set(rng.sample(ids, rng.randint(1, len(ids) - 1)))
    _solve(nb, solution, solved)
    checks = {nbtools.check_cell_index(nb, ex): ex for ex in ids}
    if kind == "edited_outputs":
        for idx, ex in checks.items():
            nb.cells[idx].outputs = [nbformat.v4.new_output(
                "stream", name="stdout", text=f"Exercise {ex} passed: edited\n")]
    elif kind == "deleted_checks":
        nb.cells = [c for i, c in enumerate(nb.cells) if i not in checks]
    elif kind == "skip_markers":
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.source = "# NBVAL_SKIP\n" + cell.source
                cell.metadata.setdefault("tags", []).append("nbval-skip")
    elif kind != "partial":
        raise ValueError(f"unknown kind {kind!r}")
    return nb, solved, []


def make_class(out, *, students: int = 10, per_student: int = 3, notebooks=None,
               seed: int = 0, kinds=None, solutions_dir=None) -> dict:
    """Write ``out/class/`` and ``out/key.json``; return the key.

    ``kinds``, when given, are the submissions' kinds in turn (instead of every
    kind once in an order drawn from the seed, then again). ``solutions_dir``
    is the folder of solution notebooks (default: the course's ``notebooks/``);
    grade with the same folder (``grade --solutions DIR``)."""
    solutions_dir = Path(solutions_dir) if solutions_dir else NOTEBOOKS_DIR
    out = Path(out)
    rng = random.Random(seed)
    names = notebooks or [p.stem[:2] for p in nbtools.list_notebooks(solutions_dir)]
    paths = [nbtools.find_notebook(n, solutions_dir) for n in names]
    if not 1 <= per_student <= len(paths):
        raise ValueError(f"--per-student must be between 1 and {len(paths)}")
    if students > len(NAMES):
        raise ValueError(f"at most {len(NAMES)} students")
    solutions = {p.stem: nbtools.read(p) for p in paths}
    # every kind once before any twice, in an order drawn from the seed
    order = []
    while len(order) < students * per_student:
        batch = list(kinds or KINDS)
        if kinds is None:
            rng.shuffle(batch)
        order += batch
    key = {"seed": seed, "students": {}}
    turn = 0
    for s in range(students):
        name = NAMES[s]
        nbgrader = s % 2 == 0
        entry = {"layout": "nbgrader" if nbgrader else "flat", "points": {},
                 "kinds": {}, "notes": []}
        for j in range(per_student):
            stem = paths[(s * per_student + j) % len(paths)].stem
            kind = order[turn]
            turn += 1
            nb, solved, notes = make_submission(solutions[stem], kind, rng)
            if nbgrader:
                folder = out / "class" / "submitted" / name / stem[:2]
                target = folder / f"{stem}.ipynb"
            else:
                folder = out / "class" / "flat"
                target = folder / f"{name}_{stem}.ipynb"
            folder.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, str(target))
            points = gradebook.exercise_points(stem, solutions_dir)
            for ex, worth in points.items():
                entry["points"][f"{stem} {ex}"] = worth if ex in solved else 0
            entry["kinds"][stem] = kind
            entry["notes"] += [f"{stem}: {note}" for note in notes]
        key["students"][name] = entry
    (out / "key.json").write_text(json.dumps(key, indent=1) + "\n")
    return key


def check_gradebook(csv_path, key) -> list[str]:
    """Every difference between a gradebook and the key (empty when they agree).

    Per student: every exercise of the notebooks handed in has the expected
    points, every other column is 0, the total is their sum, and the notes
    column holds exactly the expected notes (each expected fragment in one note,
    no other note)."""
    if not isinstance(key, dict):
        key = json.loads(Path(key).read_text())
    rows = list(csv.DictReader(Path(csv_path).open(newline="")))
    found = {row["student"]: row for row in rows}
    problems = []
    for name in sorted(set(found) - set(key["students"])):
        problems.append(f"{name}: in the gradebook, not in the key")
    for name, entry in sorted(key["students"].items()):
        row = found.get(name)
        if row is None:
            problems.append(f"{name}: missing from the gradebook")
            continue
        columns = [c for c in row if c not in ("student", "total", "max", "notes")]
        for col in columns:
            want = entry["points"].get(col, 0)
            if float(row[col]) != want:
                problems.append(f"{name}: {col} is {row[col]}, expected {want:g}")
        for col in set(entry["points"]) - set(columns):
            problems.append(f"{name}: no column {col!r}")
        if float(row["total"]) != sum(entry["points"].values()):
            problems.append(f"{name}: total {row['total']}, expected "
                            f"{sum(entry['points'].values()):g}")
        notes = [n for n in row.get("notes", "").split("; ") if n]
        unmatched = list(notes)
        for fragment in entry["notes"]:
            hit = next((n for n in unmatched if fragment in n), None)
            if hit is None:
                problems.append(f"{name}: no note says {fragment!r} (notes: {notes})")
            else:
                unmatched.remove(hit)
        for note in unmatched:
            problems.append(f"{name}: unexpected note {note!r}")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("make", help="write OUT/class/ and OUT/key.json")
    make.add_argument("out")
    make.add_argument("--students", type=int, default=10)
    make.add_argument("--per-student", type=int, default=3)
    make.add_argument("--notebooks", nargs="+", default=None)
    make.add_argument("--seed", type=int, default=0)
    make.add_argument("--solutions", default=None,
                      help="folder of solution notebooks (default: notebooks/)")
    check = sub.add_parser("check", help="compare a gradebook with the key")
    check.add_argument("gradebook")
    check.add_argument("key")
    args = parser.parse_args(argv)
    if args.command == "make":
        key = make_class(args.out, students=args.students,
                         per_student=args.per_student, notebooks=args.notebooks,
                         seed=args.seed, solutions_dir=args.solutions)
        n = sum(len(e["kinds"]) for e in key["students"].values())
        print(f"{n} submissions of {len(key['students'])} students in "
              f"{Path(args.out) / 'class'}; key in {Path(args.out) / 'key.json'}")
        return 0
    problems = check_gradebook(args.gradebook, args.key)
    for p in problems:
        print(p)
    key = json.loads(Path(args.key).read_text())
    cells = sum(len(e["points"]) for e in key["students"].values())
    print(f"{len(problems)} difference(s) from the key "
          f"({len(key['students'])} students, {cells} exercise cells expected)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
