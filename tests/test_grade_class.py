"""A small generated class graded end to end, as the class of 30 is: four
students on notebook 01, two in nbgrader's layout and two in a flat folder, with
a duplicated exercise cell, a missing one, a set-up cell put first (as a release
for Colab does) and edited outputs. ``grade --jobs 2 --gradebook`` must agree
with the key that ``scripts/make_class.py`` wrote."""

import csv
import subprocess
import sys

import pytest

from solutions import load_script

pytestmark = pytest.mark.slow

KINDS = ["duplicated", "missing", "colab", "edited_outputs"]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    mc = load_script("make_class.py", "make_class")
    out = tmp_path_factory.mktemp("class")
    key = mc.make_class(out, students=4, per_student=1, notebooks=["01"], seed=0,
                        kinds=KINDS)
    proc = subprocess.run(
        [sys.executable, "-m", "course_utils", "grade", str(out / "class"),
         "--jobs", "2", "--gradebook", str(out / "book")],
        capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return mc, key, out, proc


def test_the_gradebook_agrees_with_the_key(graded):
    mc, key, out, _ = graded
    assert mc.check_gradebook(out / "book" / "gradebook.csv", key) == []
    assert mc.main(["check", str(out / "book" / "gradebook.csv"),
                    str(out / "key.json")]) == 0


def test_both_layouts_are_read_and_every_student_has_feedback(graded):
    _, key, out, proc = graded
    layouts = {name: e["layout"] for name, e in key["students"].items()}
    assert sorted(layouts.values()) == ["flat", "flat", "nbgrader", "nbgrader"]
    rows = list(csv.DictReader((out / "book" / "gradebook.csv").open()))
    assert [r["student"] for r in rows] == sorted(layouts)
    for name in layouts:
        assert (out / "book" / "feedback" / f"{name}.md").is_file()
    assert "4 submission(s) graded" in proc.stdout


def test_duplicated_and_missing_cells_are_named_in_the_feedback(graded):
    _, key, out, _ = graded
    by_kind = {e["kinds"]["01_minimax_game"]: name
               for name, e in key["students"].items()}
    missing = (out / "book" / "feedback" / f"{by_kind['missing']}.md").read_text()
    assert "exercise cell missing: no code cell of the submission" in missing
    assert "About the exercise cells:" in missing
    duplicated = (out / "book" / "feedback" / f"{by_kind['duplicated']}.md").read_text()
    assert "appears in 2 cells: the first was graded and the second ignored" \
        in duplicated
    colab = (out / "book" / "feedback" / f"{by_kind['colab']}.md").read_text()
    assert "Score: 5 of 5 points" in colab and "About the exercise cells" not in colab
