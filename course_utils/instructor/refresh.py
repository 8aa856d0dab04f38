"""Re-executing a solution notebook and storing only its check cells' outputs.

For course authors: after editing a notebook, ``python -m course_utils refresh
NOTEBOOK`` runs it top to bottom at its defaults and keeps the outputs of the
check cells (nbval compares those) and nothing else, so no plots or images are
committed.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from course_utils.instructor import notebooks as nbtools

__all__ = ["refresh_notebook", "strip_to_check_outputs"]


def strip_to_check_outputs(nb) -> int:
    """Clear every output except the check cells'; return how many were kept."""
    check_idx = {
        nbtools.check_cell_index(nb, ex) for ex in nbtools.exercise_cells(nb)
    } - {None}
    for i, cell in enumerate(nb.cells):
        cell.metadata.pop("execution", None)  # timestamps would churn every diff
        if cell.cell_type != "code":
            continue
        if i in check_idx:
            continue
        cell.outputs = []
        cell.execution_count = None
    # Renumber the kept cells 1..n so diffs do not churn.
    for n, i in enumerate(sorted(check_idx), 1):
        nb.cells[i].execution_count = n
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)  # saved widget views: large, and not compared
    return len(check_idx)


def refresh_notebook(path: Path, timeout: int = 1800) -> int:
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbtools.read(path)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    for ex in nbtools.exercise_cells(nb):
        idx = nbtools.check_cell_index(nb, ex)
        if idx is None:
            raise ValueError(f"exercise {ex} has no check cell")
        outputs = nb.cells[idx].outputs
        if any(o.get("output_type") == "error" for o in outputs) or not outputs:
            raise ValueError(f"the check cell of exercise {ex} did not pass")
    kept = strip_to_check_outputs(nb)
    nbformat.write(nb, str(path))
    return kept
