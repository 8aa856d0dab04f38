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
        + ["total", "max"]
    assert rows[1:] == [["alice", "1", "1", "1", "1", "3", "7", "7"],
                        ["bob", "1", "0", "0", "0", "3", "4", "7"],
                        ["carol", "0", "0", "0", "0", "0", "0", "7"]]
    bob = (tmp_path / "book" / "feedback" / "bob.md").read_text()
    assert "Score: 4 of 7 points" in bob
    assert "| 1.2 | 0 / 1 | value_fn(x, y) returned 0.25, expected 0.5: mean for sum? |" \
        in bob
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
