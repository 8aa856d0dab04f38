"""scripts/profile_course.py: seconds per notebook and per kind of cell."""

import json

from solutions import load_script

script = load_script("profile_course.py", "profile_course_script")


def _cell(source, seconds=None, execution=None):
    meta = {}
    if seconds is not None:
        meta["papermill"] = {"duration": seconds}
    if execution is not None:
        meta["execution"] = execution
    return {"cell_type": "code", "source": source, "metadata": meta, "outputs": []}


def test_cells_are_timed_and_sorted_into_kinds(tmp_path, capsys):
    cells = [
        {"cell_type": "markdown", "source": "# title", "metadata": {}},
        _cell("history = train.train_gan(G, D, X, num_steps=5)", 30.0),
        _cell("fd = metrics.frechet_distance(a, b)", 6.0),
        _cell("fig, ax = plt.subplots()", 3.0),
        _cell("X, y = data.mnist('train')", 1.0),
        _cell("x = 1", execution={"iopub.execute_input": "2026-01-01T00:00:00Z",
                                  "shell.execute_reply": "2026-01-01T00:00:02.5Z"}),
    ]
    (tmp_path / "09_demo.ipynb").write_text(json.dumps({"cells": cells}))
    prof = script.profile(tmp_path / "09_demo.ipynb")
    assert prof["kinds"] == {"training": 30.0, "evaluation": 6.0, "plotting": 3.0,
                             "data": 1.0, "other": 2.5}
    assert prof["total"] == 42.5
    assert [row["cell"] for row in prof["cells"][:2]] == [1, 2]  # slowest first
    assert script.main([str(tmp_path), "--top", "1"]) == 0
    out = capsys.readouterr().out
    assert "| 09_demo | 42 | 30 (71%)" in out and "cell   1    30.0 s  training" in out


def test_an_empty_folder_is_an_error(tmp_path, capsys):
    assert script.main([str(tmp_path)]) == 1
    assert "no executed notebooks" in capsys.readouterr().err
