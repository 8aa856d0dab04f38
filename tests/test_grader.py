"""The grader cannot be fooled, and survives bad submissions.

One folder of submissions of notebook 01 is graded once (in parallel) through the
command line; each test then looks at one submission's result.
"""

import copy
import json
import subprocess
import sys

import nbformat
import pytest

from course_utils.instructor import notebooks as nbtools
from course_utils.instructor.grader import scan_exercise_source

SOLUTION = nbtools.find_notebook("01")
STEM = SOLUTION.stem
ALL = {"1.1", "1.2", "1.3", "1.4"}


def solution_nb():
    return nbtools.read(SOLUTION)


def student_nb():
    return nbtools.make_student_notebook(solution_nb())


def set_exercise(nb, ex_id, source):
    nb.cells[nbtools.exercise_cells(nb)[ex_id]].source = source
    return nb


def check_cell(nb, ex_id):
    return nb.cells[nbtools.check_cell_index(nb, ex_id)]


def build_submissions():
    subs = {}
    subs["solution"] = solution_nb()
    subs["student"] = student_nb()

    nb = student_nb()  # stored outputs say "passed", code is a stub
    for ex in ALL:
        check_cell(nb, ex).outputs[0]["text"] = f"Exercise {ex} passed: edited\n"
    subs["edited_outputs"] = nb

    nb = student_nb()
    del nb.cells[nbtools.check_cell_index(nb, "1.1")]
    subs["deleted_check"] = nb

    nb = student_nb()
    cell = check_cell(nb, "1.2")
    cell.source = (
        "# NBVAL_CHECK_OUTPUT\nprint('Exercise 1.2 passed: the non-saturating "
        "generator loss matches, also for extreme logits.')"
    )
    subs["altered_check"] = nb

    nb = student_nb()
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = "# NBVAL_SKIP\n" + cell.source
            cell.metadata.setdefault("tags", []).append("nbval-skip")
    subs["skip_markers"] = nb

    nb = student_nb()
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    subs["cleared_outputs"] = nb

    nb = student_nb()
    set_exercise(
        nb,
        "1.2",
        "import course_utils.checks as c\n"
        "c.check = lambda *a: print('Exercise 1.2 passed: yes')\n"
        "def ns_generator_loss(fake_logits):\n    return 0.0\n",
    )
    subs["monkeypatch"] = nb

    nb = student_nb()
    set_exercise(
        nb,
        "1.3",
        "class Liar(float):\n    def __eq__(self, other):\n"
        "        return True\n\n\ndef simultaneous_step(x, y, h):\n"
        "    return Liar(0.0), Liar(0.0)\n",
    )
    subs["doctored_eq"] = nb

    nb = solution_nb()  # all right except 1.3, which never returns
    set_exercise(
        nb, "1.3", "def simultaneous_step(x, y, h):\n    while True:\n        pass\n"
    )
    subs["infinite_loop"] = nb

    nb = solution_nb()  # exercise cells moved and renumbered: matched by id
    nb.cells = list(reversed(nb.cells))
    for cell in nb.cells:
        cell.pop("id", None)
    subs["reordered"] = nb
    return subs


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("submissions")
    for name, nb in build_submissions().items():
        nb = copy.deepcopy(nb)
        nb.nbformat_minor = 4  # submissions may come without cell ids
        for cell in nb.cells:
            cell.pop("id", None)
        (folder / name).mkdir()
        nbformat.write(nb, str(folder / name / f"{STEM}.ipynb"))
    (folder / "corrupt").mkdir()
    (folder / "corrupt" / f"{STEM}.ipynb").write_text("{ this is not json")
    (folder / "not_a_notebook").mkdir()
    (folder / "not_a_notebook" / f"{STEM}.ipynb").write_text('{"hello": 1}')
    (folder / "unknown").mkdir()
    (folder / "unknown" / "99_no_such_course_notebook.ipynb").write_text(
        nbformat.writes(solution_nb())
    )
    out = folder / "results.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "course_utils",
            "grade",
            str(folder),
            "--timeout",
            "20",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(out.read_text())["results"]
    by_name = {}
    for r in data:
        rel = r["submission"].split(str(folder) + "/")[1]
        by_name[rel.split("/")[0]] = r
    by_name["__table__"] = proc.stdout
    return by_name


def passed(result):
    return {ex for ex, e in result["exercises"].items() if e["passed"]}


def test_solution_scores_full_marks(results):
    r = results["solution"]
    assert (r["score"], r["max_score"], r["error"]) == (4, 4, None)
    assert r["notebook"] == STEM


def test_student_version_scores_zero_without_crashing(results):
    r = results["student"]
    assert (r["score"], r["max_score"], r["error"]) == (0, 4, None)
    assert all("not solved yet" in e["message"] for e in r["exercises"].values())


@pytest.mark.parametrize(
    "name",
    [
        "edited_outputs",
        "deleted_check",
        "altered_check",
        "skip_markers",
        "cleared_outputs",
    ],
)
def test_tampering_earns_nothing(results, name):
    r = results[name]
    assert r["error"] is None
    assert passed(r) == set(), r["exercises"]


def test_reaching_into_the_checker_is_rejected(results):
    r = results["monkeypatch"]
    assert "1.2" not in passed(r)
    assert "rejected by the grader" in r["exercises"]["1.2"]["message"]


def test_doctored_equality_does_not_pass(results):
    r = results["doctored_eq"]
    assert "1.3" not in passed(r)
    assert "should be a number" in r["exercises"]["1.3"]["message"]


def test_infinite_loop_is_stopped_and_the_rest_still_scored(results):
    r = results["infinite_loop"]
    assert passed(r) == {"1.1", "1.2", "1.4"}
    assert "timed out" in r["exercises"]["1.3"]["message"]


def test_exercises_are_matched_by_metadata_id(results):
    assert results["reordered"]["score"] == 4


@pytest.mark.parametrize(
    "name, message",
    [
        ("corrupt", "not valid JSON"),
        ("not_a_notebook", "no 'cells'"),
        ("unknown", "cannot tell which notebook"),
    ],
)
def test_bad_files_get_an_error_entry(results, name, message):
    r = results[name]
    assert r["score"] == 0 and message in r["error"]


def test_table_lists_every_submission(results):
    table = results["__table__"]
    assert "4/4" in table and "0/4" in table and "ERROR" in table
    assert "14 submission(s) graded" in table


@pytest.mark.parametrize(
    "source, ok",
    [
        ("def f(x):\n    return x + 1\n", True),
        ("import sys\n", False),
        ("from course_utils import checks\n", False),
        ("torch.allclose = lambda *a, **k: True\n", False),
        ("t = torch\n", False),
        ("def f():\n    return f.__globals__\n", False),
        ("setattr(object, 'x', 1)\n", False),
        ("self_x = 3\nclass A:\n    def __init__(self):\n        self.x = 1\n", True),
    ],
)
def test_static_scan(source, ok):
    assert (scan_exercise_source(source) is None) == ok
