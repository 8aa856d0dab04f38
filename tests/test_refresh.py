"""refresh keeps only what nbval compares: check-cell outputs."""

import copy

from course_utils.instructor import notebooks as nbtools
from course_utils.instructor.refresh import strip_to_check_outputs


def test_only_check_outputs_and_no_widget_state_are_kept():
    nb = copy.deepcopy(nbtools.read(nbtools.find_notebook("01")))
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"x": 1}}
    nb.metadata["papermill"] = {"parameters": {}}
    for cell in nb.cells:
        if cell.cell_type == "code" and not cell.outputs:
            cell.outputs = [{"output_type": "stream", "name": "stdout", "text": "x\n"}]
    kept = strip_to_check_outputs(nb)
    checks = {nbtools.check_cell_index(nb, ex) for ex in nbtools.exercise_cells(nb)}
    assert kept == len(checks) == 5
    assert "widgets" not in nb.metadata and "papermill" not in nb.metadata
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert bool(cell.outputs) == (i in checks), i


def _exercise_notebook(path, hang_cell):
    """An exercise, its check cell (printing its verdict) and a cell that hangs
    the first run: what refresh_notebook needs to store one check output."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    params = nbformat.v4.new_code_cell("SEED = 0\nQUICK = False")
    params.metadata["tags"] = ["parameters"]
    exercise = nbformat.v4.new_code_cell(
        "def f(x):\n    return x\n\n\nclass checks:  # stands in for the course's\n"
        "    def check(exercise_id, fn):\n        print(f'{exercise_id} passed')")
    exercise.metadata["exercise"] = "9.1"
    check = nbformat.v4.new_code_cell('# NBVAL_CHECK_OUTPUT\nchecks.check("9.1", f)')
    plot = nbformat.v4.new_code_cell("print('an output that is not kept')")
    nb.cells = [params, exercise, check, nbformat.v4.new_code_cell(hang_cell), plot]
    nbformat.write(nb, str(path))
    return path


def test_a_refresh_whose_kernel_hangs_is_run_once_more_and_stores_the_check(tmp_path):
    """The first run loses a cell's reply while the kernel reports idle: the
    refresh notices after the idle limit, runs the notebook again (which goes
    through), says so, and keeps only the check cell's output."""
    import nbformat
    from hang import hang_source

    from course_utils.instructor.refresh import refresh_notebook

    path = _exercise_notebook(tmp_path / "99_hang.ipynb",
                              "import torch\n" + hang_source("reply", str(tmp_path / "m")))
    said = []
    kept = refresh_notebook(path, timeout=120, idle_limit=1.5, log=said.append)
    assert kept == 1
    assert len(said) == 1 and "hung" in said[0] and "once more" in said[0]
    nb = nbformat.read(str(path), as_version=4)
    outputs = [c.outputs for c in nb.cells if c.cell_type == "code"]
    assert [bool(o) for o in outputs] == [False, False, True, False, False]
    assert outputs[2][0]["text"] == "9.1 passed\n"
    assert all("papermill" not in c.metadata for c in nb.cells)
    assert all(c.metadata.get("tags") != [] for c in nb.cells)  # papermill's empty lists
    assert "papermill" not in nb.metadata


def test_a_refresh_that_hangs_twice_raises_and_writes_nothing(tmp_path):
    import pytest
    from hang import hang_source

    from course_utils.instructor import runner
    from course_utils.instructor.refresh import refresh_notebook

    path = _exercise_notebook(tmp_path / "99_hang.ipynb",
                              "import torch\n" + hang_source("request"))
    before = path.read_bytes()
    with pytest.raises(runner.KernelWentIdle, match="stayed idle for 1.5 s"):
        refresh_notebook(path, timeout=120, idle_limit=1.5, log=lambda *a: None)
    assert path.read_bytes() == before
