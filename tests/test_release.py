"""The student-version generator."""

import ast
import subprocess
import sys

import nbformat
import pytest

from course_utils.instructor import notebooks as nbtools

NOTEBOOKS = nbtools.list_notebooks()
IDS = [p.stem for p in NOTEBOOKS]


def strip_solutions(source):
    """The source with solution blocks (markers included) removed."""
    out, inside = [], False
    for line in source.split("\n"):
        if line.strip() == nbtools.BEGIN:
            inside = True
        elif line.strip() == nbtools.END:
            inside = False
        elif not inside:
            out.append(line)
    return out


def strip_stubs(source):
    return [
        line
        for line in source.split("\n")
        if line.strip() not in ("# YOUR CODE HERE",)
        and not line.strip().startswith('raise NotImplementedError("Exercise')
    ]


def test_stub_keeps_indentation_and_parses():
    source = (
        "def f(x):\n    y = 1\n    # BEGIN SOLUTION\n    return x + y\n"
        "    # END SOLUTION\n"
    )
    stub = nbtools.make_student_source(source, "1.1")
    assert '    raise NotImplementedError("Exercise 1.1")' in stub
    assert "return x + y" not in stub
    namespace = {}
    exec(compile(stub, "<stub>", "exec"), namespace)
    with pytest.raises(NotImplementedError, match="Exercise 1.1"):
        namespace["f"](1)


@pytest.mark.parametrize(
    "bad",
    [
        "x = 1\n",
        "# BEGIN SOLUTION\nx = 1\n",
        "# END SOLUTION\n",
        "# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION\n",
    ],
)
def test_bad_markers_are_refused(bad):
    with pytest.raises(nbtools.SolutionMarkerError):
        nbtools.make_student_source(bad, "1.1")


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    out = tmp_path_factory.mktemp("student")
    subprocess.run(
        [sys.executable, "-m", "course_utils", "release", "--out", str(out)],
        check=True,
        capture_output=True,
    )
    return out


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_student_notebook_matches_solution_outside_solution_blocks(released, path):
    solution = nbtools.read(path)
    student = nbformat.read(str(released / path.name), as_version=4)
    assert len(student.cells) == len(solution.cells)
    exercises = nbtools.exercise_cells(solution)
    assert nbtools.exercise_cells(student) == exercises
    for i, (s_cell, t_cell) in enumerate(zip(solution.cells, student.cells)):
        assert s_cell.cell_type == t_cell.cell_type
        if i in exercises.values():
            ex_id = s_cell.metadata["exercise"]
            assert nbtools.BEGIN not in t_cell.source
            assert f'raise NotImplementedError("Exercise {ex_id}")' in t_cell.source
            assert strip_stubs(t_cell.source) == strip_solutions(s_cell.source)
            ast.parse(t_cell.source)
        else:
            assert t_cell.source == s_cell.source
    for ex_id in exercises:
        assert nbtools.check_cell_index(student, ex_id) is not None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_student_code_cell_parses(released, path):
    student = nbformat.read(str(released / path.name), as_version=4)
    for cell in student.cells:
        if cell.cell_type == "code":
            ast.parse(cell.source)
