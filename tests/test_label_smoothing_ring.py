"""scripts/label_smoothing_ring.py and data/label_smoothing_ring.json, which
notebook 02 shows."""

from __future__ import annotations

import json
from pathlib import Path

from course_utils import paths
from solutions import load_script

TABLE = Path(paths.DATA_DIR) / "label_smoothing_ring.json"

script = load_script("label_smoothing_ring.py", "label_smoothing_ring_script")


def test_a_tiny_run_writes_its_provenance_and_rows(tmp_path):
    args = ["--seeds", "0", "--steps", "3", "--decay", "2", "--out", str(tmp_path)]
    assert script.main(args + ["--settings", "two-sided"]) == 0
    assert script.main(args + ["--settings", "none"]) == 0  # added to the file
    table = json.loads((tmp_path / script.OUT_FILE).read_text())
    assert table["made_by"] == "scripts/label_smoothing_ring.py"
    assert (table["steps"], table["decay_steps"], table["seeds"]) == (3, 2, [0])
    assert table["targets"]["two-sided"] == [0.9, 0.1]
    assert sorted(r["setting"] for r in table["runs"]) == ["none", "two-sided"]
    row = table["runs"][0]
    assert set(row) == {"setting", "seed", "modes", "modes_strict", "hq", "kl",
                        "wall_seconds"}
    assert 0 <= row["modes"] <= 8 and 0 <= row["hq"] <= 1
    # another budget starts the table afresh instead of mixing budgets
    script.main(["--seeds", "1", "--steps", "4", "--decay", "0", "--out",
                 str(tmp_path), "--settings", "none"])
    table = json.loads((tmp_path / script.OUT_FILE).read_text())
    assert [(r["setting"], r["seed"]) for r in table["runs"]] == [("none", 1)]


def test_the_runs_are_seeded():
    assert script.run("one-sided", 3, 4, 2) == script.run("one-sided", 3, 4, 2)


def test_the_shipped_table_has_every_setting_on_every_seed():
    table = json.loads(TABLE.read_text())
    assert table["made_by"] == "scripts/label_smoothing_ring.py"
    assert set(table["targets"]) == {"none", "one-sided", "two-sided"}
    assert table["steps"] > 0 and table["decay_steps"] >= 0
    cells = {(r["setting"], r["seed"]) for r in table["runs"]}
    assert cells == {(s, seed) for s in table["targets"] for seed in table["seeds"]}
    assert len(table["seeds"]) >= 5
