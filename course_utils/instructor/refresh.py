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
        cell.metadata.pop("papermill", None)  # papermill's timings, and the empty
        if cell.metadata.get("tags") == []:  # tag list it gives every cell
            del cell.metadata["tags"]
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


def refresh_notebook(path: Path, timeout: int = 1800, idle_limit: float | None = None,
                     log=print) -> int:
    """Run the notebook at ``path`` at its defaults and store only its check
    cells' outputs; return how many were kept.

    The run goes through the course runner's watched engine: a kernel that sits
    idle for ``idle_limit`` seconds while a cell waits for its reply is taken
    for hung, and the notebook is run once more from the start (``log`` says
    so); a second hang raises :class:`~course_utils.instructor.runner.KernelWentIdle`.
    Nothing is written unless every check cell passed.
    """
    import tempfile

    import papermill as pm

    from course_utils.instructor import runner

    path = Path(path)
    engine = runner._watched_engine()
    idle_limit = runner.idle_limit_default() if idle_limit is None else float(idle_limit)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / path.name
        for attempt in (1, 2):
            try:
                pm.execute_notebook(
                    str(path), str(out), kernel_name="python3", cwd=str(path.parent),
                    progress_bar=False, execution_timeout=timeout, log_output=False,
                    engine_name=engine, idle_limit=idle_limit,
                )
                break
            except runner.KernelWentIdle as exc:
                if attempt == 2:
                    raise
                log(f"{path.name}: hung ({exc}); running it once more from the start")
        nb = nbformat.read(str(out), as_version=4)
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
