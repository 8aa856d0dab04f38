"""scripts/grid_scaling.py: notebook 04's grid recipe with one knob changed, and the
table it writes (data/grid_scaling.json). The runs here take the notebook's QUICK
step counts (``--quick``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from course_utils import paths
from solutions import load_script

TABLE = Path(paths.DATA_DIR) / "grid_scaling.json"
SEEDS = Path(paths.DATA_DIR) / "mode_collapse_seeds.json"

script = load_script("grid_scaling.py", "grid_scaling_script")


def test_each_variant_changes_its_knob_only(tmp_path):
    assert script.main(["--quick", "--seeds", "3", "--out", str(tmp_path)]) == 0
    rows = {r["variant"]: r for r in
            json.loads((tmp_path / script.OUT_FILE).read_text())["runs"]}
    assert set(rows) == set(script.VARIANTS)
    recipe = rows["recipe"]
    assert (recipe["hidden"], recipe["batch_size"]) == (128, 256)
    assert rows["wider"]["hidden"] == 256 and rows["wider"]["steps"] == recipe["steps"]
    assert rows["batch"]["batch_size"] == 1024
    assert rows["batch"]["steps"] == recipe["steps"]
    assert rows["longer_batch"]["batch_size"] == 1024
    for row in rows.values():
        assert 0 <= row["hq"] <= 1 and 0 <= row["modes"] <= 25 and row["seed"] == 3
    # a second invocation replaces the runs it repeats and keeps the others
    script.main(["--quick", "--seeds", "3", "--variants", "wider", "--out",
                 str(tmp_path)])
    again = json.loads((tmp_path / script.OUT_FILE).read_text())["runs"]
    assert len(again) == len(rows)


def test_bad_arguments_are_refused():
    with pytest.raises(SystemExit):
        script.main(["--variants", "deeper"])
    with pytest.raises(SystemExit):
        script.main(["--seeds", "-1"])


@pytest.mark.skipif(not TABLE.exists(), reason="no bundled table")
def test_the_recipe_rows_repeat_the_seed_table():
    """The script's unchanged recipe is the notebook's: the same figures as the
    seed table's best grid runs, made by the other script."""
    rows = json.loads(TABLE.read_text())["runs"]
    best = {r["seed"]: r for r in json.loads(SEEDS.read_text())["runs"]
            if (r["kind"], r["dataset"], r["method"]) == ("best", "grid", "packed")}
    recipe = [r for r in rows if r["variant"] == "recipe"]
    assert recipe
    for row in recipe:
        assert row["modes"] == best[row["seed"]]["modes"]
        assert abs(row["hq"] - best[row["seed"]]["hq"]) < 0.004
