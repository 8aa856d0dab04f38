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
