"""The gradebook and the feedback files, from grading results (no grading run)."""

import csv

import nbformat
import pytest

from course_utils.instructor import gradebook
from course_utils.instructor import notebooks as nbtools


@pytest.mark.parametrize("path, student", [
    ("class/submitted/alice/week1/01_minimax_game.ipynb", "alice"),
    ("/abs/submitted/bob.smith/a1/01_minimax_game.ipynb", "bob.smith"),
    ("flat/carol_01_minimax_game.ipynb", "carol"),
    ("flat/dave-x_02_optimal_discriminator.ipynb", "dave-x"),
    ("erin/01_minimax_game.ipynb", "erin"),
])
def test_students_are_told_apart_by_where_their_files_lie(path, student):
    assert gradebook.student_of(path) == student


@pytest.fixture
def solutions(tmp_path):
    """A copy of notebook 01 in which exercise 1.5 is worth 3 points."""
    folder = tmp_path / "solutions"
    folder.mkdir()
    source = nbtools.find_notebook("01")
    nb = nbtools.read(source)
    nb.cells[nbtools.exercise_cells(nb)["1.5"]].metadata["points"] = 3
    nbformat.write(nb, str(folder / source.name))
    return folder


def _result(submission, passed, error=None, message="the sign of the loss is wrong"):
    exercises = {ex: {"passed": ex in passed, "message": "passed" if ex in passed
                      else message} for ex in ("1.1", "1.2", "1.3", "1.4", "1.5")}
    return {"submission": submission, "notebook": "01_minimax_game",
            "score": len(passed), "max_score": 5, "exercises": exercises,
            "error": error}


def test_points_come_from_the_exercise_cells_metadata(solutions):
    assert gradebook.exercise_points("01", solutions) == {
        "1.1": 1, "1.2": 1, "1.3": 1, "1.4": 1, "1.5": 3}


def test_gradebook_has_a_row_per_student_and_a_column_per_exercise(solutions,
                                                                    tmp_path):
    results = [
        _result("s/submitted/alice/a1/01_minimax_game.ipynb",
                {"1.1", "1.2", "1.3", "1.4", "1.5"}),
        _result("s/submitted/bob/a1/01_minimax_game.ipynb", {"1.1", "1.5"},
                message="value_fn(x, y) returned 0.25, expected 0.5: mean for sum?"),
        {"submission": "s/submitted/carol/a1/notes.ipynb", "notebook": None,
         "score": 0, "max_score": 0, "exercises": {},
         "error": "cannot tell which notebook 'notes.ipynb' is a submission of"},
    ]
    path = gradebook.write_gradebook(results, tmp_path / "book",
                                     solutions_dir=solutions)
    rows = list(csv.reader(path.open()))
    assert rows[0] == ["student"] + [f"01_minimax_game 1.{i}" for i in range(1, 6)] \
        + ["total", "max", "notes"]
    assert rows[1:] == [["alice", "1", "1", "1", "1", "3", "7", "7", ""],
                        ["bob", "1", "0", "0", "0", "3", "4", "7", ""],
                        ["carol", "0", "0", "0", "0", "0", "0", "7",
                         "notes.ipynb: not graded"]]
    bob = (tmp_path / "book" / "feedback" / "bob.md").read_text()
    assert "Score: 4 of 7 points" in bob
    assert ("| 1.2 | 0 / 1 | value_fn(x, y) returned 0.25, expected 0.5: mean for "
            "sum? |") in bob
    assert "| 1.5 | 3 / 3 | passed |" in bob
    carol = (tmp_path / "book" / "feedback" / "carol.md").read_text()
    assert "Not graded: cannot tell which notebook" in carol
    assert "## Not handed in" in carol and "- 01_minimax_game" in carol


def test_a_run_that_stopped_and_the_graders_notes_reach_the_student(solutions,
                                                                     tmp_path):
    r = _result("flat/dan_01_minimax_game.ipynb", {"1.1"},
                error="code cell 12 (not an exercise) ran longer than 60 s")
    r["notes"] = ["exercise 1.3 appears in two cells; the first was graded"]
    gradebook.write_gradebook([r], tmp_path, solutions_dir=solutions)
    text = (tmp_path / "feedback" / "dan.md").read_text()
    assert "**The run stopped early:** code cell 12" in text
    assert "- exercise 1.3 appears in two cells; the first was graded" in text


def test_bad_points_are_refused(tmp_path):
    folder = tmp_path / "solutions"
    folder.mkdir()
    source = nbtools.find_notebook("01")
    nb = nbtools.read(source)
    nb.cells[nbtools.exercise_cells(nb)["1.2"]].metadata["points"] = "two"
    nbformat.write(nb, str(folder / source.name))
    with pytest.raises(ValueError, match="exercise 1.2 has points 'two'"):
        gradebook.exercise_points("01", folder)


# -- duplicated, missing and unknown exercise cells ------------------------------

def _submission(*edits):
    """The released notebook 01 with the course's answers in it, then edited."""
    solution = nbtools.read(nbtools.find_notebook("01"))
    nb = nbtools.make_student_notebook(solution)
    answers = nbtools.exercise_cells(solution)
    for ex, idx in nbtools.exercise_cells(nb).items():
        nb.cells[idx].source = solution.cells[answers[ex]].source
    for edit in edits:
        edit(nb)
    return solution, nb


def _duplicate(ex, stub_first):
    def edit(nb):
        idx = nbtools.exercise_cells(nb)[ex]
        copy = nbformat.from_dict(nb.cells[idx])
        copy.source = nbtools.make_student_source(copy.source, ex)
        nb.cells.insert(idx if stub_first else idx + 1, copy)
    return edit


def _lose_metadata(ex):
    def edit(nb):
        del nb.cells[nbtools.exercise_cells(nb)[ex]].metadata["exercise"]
    return edit


def _colab_cell(nb):
    """The release's own set-up cell, put first as the release puts it."""
    from course_utils.instructor.kit import colab_cell

    nb.cells.insert(0, colab_cell("gan_course-0.1.0-py3-none-any.whl"))


def _graded_sources(solution, nb):
    from course_utils.instructor.grader import build_graded_notebook

    graded, rejected = build_graded_notebook(solution, nb)
    assert rejected == {}
    return {ex: graded.cells[i].source
            for ex, i in nbtools.exercise_cells(graded).items()}


def test_of_two_cells_for_one_exercise_the_first_is_graded_and_both_are_named():
    from course_utils.instructor.grader import cell_notes, submitted_exercises

    solution, _ = _submission()
    answers = {ex: solution.cells[i].source
               for ex, i in nbtools.exercise_cells(solution).items()}
    expected = list(answers)
    for stub_first in (True, False):
        _, nb = _submission(_duplicate("1.3", stub_first))
        sources, cells = submitted_exercises(nb, expected)
        assert cells == {"duplicated": {"1.3": 2}, "missing": [], "unknown": []}
        graded = _graded_sources(solution, nb)
        if stub_first:
            assert "NotImplementedError" in graded["1.3"]
        else:
            assert graded["1.3"] == answers["1.3"]
        assert cell_notes(cells, "01_minimax_game") == [
            "exercise 1.3 appears in 2 cells: the first was graded and the second "
            "ignored"]


def test_a_missing_exercise_cell_is_named_and_an_unknown_one_ignored():
    from course_utils.instructor.grader import cell_notes, submitted_exercises

    def unknown(nb):
        nb.cells.append(nbformat.v4.new_code_cell("x = 1",
                                                  metadata={"exercise": "1.9"}))

    solution, nb = _submission(_lose_metadata("1.2"), unknown)
    sources, cells = submitted_exercises(nb, list(nbtools.exercise_cells(solution)))
    assert cells == {"duplicated": {}, "missing": ["1.2"], "unknown": ["1.9"]}
    assert "1.2" not in sources
    assert "NotImplementedError" in _graded_sources(solution, nb)["1.2"]
    assert cell_notes(cells, "01_minimax_game") == [
        "exercise 1.2: exercise cell missing, scored 0",
        "a cell marked as exercise 1.9 was ignored: 01_minimax_game has no such "
        "exercise"]


def test_a_set_up_cell_put_first_at_release_does_not_disturb_grading():
    """A released notebook's first cell (the Colab set-up, no exercise id) never
    reaches the graded notebook: the graded notebook is the same with or without
    it, and no exercise is found missing, duplicated or unknown."""
    from course_utils.instructor.grader import (
        build_graded_notebook,
        submitted_exercises,
    )

    solution, plain = _submission()
    _, with_cell = _submission(_colab_cell)
    assert "google.colab" in with_cell.cells[0].source
    assert "exercise" not in with_cell.cells[0].metadata
    def without_ids(nb):  # the injected parameters cell gets a fresh id
        return [{k: v for k, v in cell.items() if k != "id"} for cell in nb.cells]

    graded, rejected = build_graded_notebook(solution, with_cell)
    assert rejected == {}
    assert without_ids(graded) == without_ids(build_graded_notebook(solution, plain)[0])
    _, cells = submitted_exercises(with_cell, list(nbtools.exercise_cells(solution)))
    assert cells == {"duplicated": {}, "missing": [], "unknown": []}


def test_cell_notes_reach_the_gradebook_and_the_feedback(solutions, tmp_path):
    from course_utils.instructor.grader import MISSING_CELL

    r = _result("flat/eve_01_minimax_game.ipynb", {"1.1", "1.2", "1.4", "1.5"})
    r["exercises"]["1.3"]["message"] = MISSING_CELL
    r["exercises"]["1.2"]["note"] = "2 cells are marked as exercise 1.2: the first " \
        "was graded"
    r["notes"] = ["exercise 1.2 appears in 2 cells: the first was graded and the "
                  "second ignored", "exercise 1.3: exercise cell missing, scored 0"]
    path = gradebook.write_gradebook([r], tmp_path, solutions_dir=solutions)
    rows = list(csv.DictReader(path.open()))
    assert rows[0]["01_minimax_game 1.3"] == "0" and rows[0]["total"] == "6"
    assert rows[0]["notes"] == (
        "01_minimax_game: exercise 1.2 appears in 2 cells: the first was graded and "
        "the second ignored; 01_minimax_game: exercise 1.3: exercise cell missing, "
        "scored 0")
    text = (tmp_path / "feedback" / "eve.md").read_text()
    assert "| 1.3 | 0 / 1 | exercise cell missing: no code cell" in text
    assert "| 1.2 | 1 / 1 | passed (2 cells are marked as exercise 1.2: the first " \
        "was graded) |" in text
    assert "About the exercise cells:\n\n- exercise 1.2 appears in 2 cells" in text


def test_of_several_files_for_one_notebook_the_best_counts_whole(solutions, tmp_path):
    """Never exercises picked from different files: 1.1 and 1.5 from one, 1.2-1.4
    from the other would be full marks."""
    results = [_result("flat/fay_01_minimax_game.ipynb", {"1.1", "1.5"}),
               _result("flat/fay_01_minimax_game_v2.ipynb", {"1.2", "1.3", "1.4"})]
    path = gradebook.write_gradebook(results, tmp_path, solutions_dir=solutions)
    row = next(csv.DictReader(path.open()))
    assert row["student"] == "fay" and row["total"] == "4"  # 1 + 3 beats 3
    assert row["notes"] == ("01_minimax_game: 2 files handed in, "
                            "fay_01_minimax_game.ipynb counts")
    text = (tmp_path / "feedback" / "fay.md").read_text()
    assert "Another file for 01_minimax_game scored more and counts: " \
        "`fay_01_minimax_game.ipynb`." in text
    assert "**Total: 4 of 7 points**" in text


# -- the generated class and its key (scripts/make_class.py) ---------------------

def _make_class_module():
    from solutions import load_script

    return load_script("make_class.py", "make_class")


def _results_from_key(key, root):
    """Grading results as the grader would give them if it agreed with the key."""
    results = []
    for name, entry in key["students"].items():
        for stem in entry["kinds"]:
            exercises = {}
            for col, pts in entry["points"].items():
                nb, ex = col.split(" ")
                if nb == stem:
                    exercises[ex] = {"passed": pts > 0, "message": "x"}
            notes = [n.split(": ", 1)[1] for n in entry["notes"]
                     if n.startswith(stem + ": ")]
            path = (root / "submitted" / name / stem[:2] / f"{stem}.ipynb"
                    if entry["layout"] == "nbgrader" else root / f"{name}_{stem}.ipynb")
            results.append({"submission": str(path), "notebook": stem, "score": 0,
                            "max_score": 0, "exercises": exercises, "error": None,
                            "notes": notes})
    return results


def test_the_class_is_generated_from_its_seed_and_the_check_can_fail(tmp_path):
    mc = _make_class_module()
    key = mc.make_class(tmp_path / "a", students=4, per_student=2,
                        notebooks=["01", "02"], seed=3)
    again = mc.make_class(tmp_path / "b", students=4, per_student=2,
                          notebooks=["01", "02"], seed=3)
    assert key == again
    files = sorted(p.relative_to(tmp_path / "a") for p in
                   (tmp_path / "a" / "class").rglob("*.ipynb"))
    assert [str(f) for f in files] == [
        "class/flat/ben_01_minimax_game.ipynb",
        "class/flat/ben_02_optimal_discriminator.ipynb",
        "class/flat/dora_01_minimax_game.ipynb",
        "class/flat/dora_02_optimal_discriminator.ipynb",
        "class/submitted/ada/01/01_minimax_game.ipynb",
        "class/submitted/ada/02/02_optimal_discriminator.ipynb",
        "class/submitted/chen/01/01_minimax_game.ipynb",
        "class/submitted/chen/02/02_optimal_discriminator.ipynb"]
    assert all(gradebook.student_of(f) == f.parts[2] if "submitted" in f.parts
               else gradebook.student_of(f) == f.name.split("_")[0] for f in files)
    kinds = {k for e in key["students"].values() for k in e["kinds"].values()}
    assert len(kinds) == 8  # of the nine kinds, every one at most once

    book = tmp_path / "book"
    csv_path = gradebook.write_gradebook(_results_from_key(key, tmp_path / "a"), book)
    assert mc.check_gradebook(csv_path, key) == []

    rows = list(csv.DictReader(csv_path.open()))
    first = next(r for r in rows if r["total"] != "0")
    scored = next(c for c in first if c[:2] in ("01", "02") and first[c] == "1")
    first[scored] = "0"
    first["total"] = f"{float(first['total']) - 1:g}"
    rows[1]["notes"] = (rows[1]["notes"] + "; " if rows[1]["notes"] else "") + "extra"
    with csv_path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows[:-1])
    problems = mc.check_gradebook(csv_path, key)
    assert f"{first['student']}: {scored} is 0, expected 1" in problems
    assert f"{first['student']}: total" in "\n".join(problems)
    assert f"{rows[1]['student']}: unexpected note 'extra'" in problems
    assert f"{rows[-1]['student']}: missing from the gradebook" in problems
    assert mc.main(["check", str(csv_path), str(tmp_path / "a" / "key.json")]) == 1


def test_a_check_cell_without_its_stored_output_is_named():
    """A solution notebook edited but not refreshed: nbval would fail every
    answer, and the grader says why instead of a bare 'failed'."""
    from course_utils.instructor.grader import unstored_checks

    solution, _ = _submission()
    assert unstored_checks(solution) == []
    solution.cells[nbtools.check_cell_index(solution, "1.4")].outputs = []
    assert unstored_checks(solution) == ["1.4"]
