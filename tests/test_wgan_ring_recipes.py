"""scripts/wgan_ring_recipes.py and the table notebook 08 shows,
data/wgan_ring_recipes.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from course_utils import paths
from solutions import load_script

NOTEBOOK = paths.REPO_DIR / "notebooks" / "08_wgan.ipynb"
TABLE = Path(paths.DATA_DIR) / "wgan_ring_recipes.json"

script = load_script("wgan_ring_recipes.py", "wgan_ring_recipes_script")


def test_recipe_cells_are_found_and_runs_are_seeded():
    names = script.load_recipe()
    assert names["RING_LAM"] == script.TUNED["lam"]
    assert names["RING_CRITIC_STEPS"] == script.TUNED["k"]
    first = script.run_one(names, script.TUNED, 1, 2)
    again = script.run_one(names, script.TUNED, 1, 2)
    first.pop("train_seconds"), again.pop("train_seconds")
    assert first == again
    assert set(first) == {"seed", "modes", "hq", "kl", "w1"}


def test_recipe_cells_must_be_tagged(tmp_path):
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        tags = cell.get("metadata", {}).get("tags", [])
        if "ring-train" in tags:
            tags.remove("ring-train")
    bad = tmp_path / "nb.ipynb"
    bad.write_text(json.dumps(nb))
    with pytest.raises(RuntimeError, match="ring-train"):
        script.load_recipe(bad)


def test_best_clipping_reads_the_first_seed():
    def row(name, recipe, hq):
        return {"name": name, "recipe": recipe, "runs": [{"modes": 8, "hq": hq}]}

    rows = [row("a", script.clip(), 0.1), row("b", script.clip(2e-4), 0.3),
            row("c", script.PAPER, 0.9)]
    assert script.best_clipping(rows)["name"] == "b"


def test_script_writes_every_recipe(tmp_path):
    assert script.main(["--steps", "2", "--seeds", "4", "5", "--only", "paper",
                        "clipping", "best", "--out", str(tmp_path)]) == 0
    meta = json.loads((tmp_path / "wgan_ring_recipes.json").read_text())
    assert meta["generator_steps"] == 2
    names = [row["name"] for row in meta["recipes"]]
    assert names[0] == "paper" and "best clipping" in names
    paper = meta["recipes"][0]
    assert [run["seed"] for run in paper["runs"]] == [4, 5]
    best = meta["recipes"][names.index("best clipping")]
    assert [run["seed"] for run in best["runs"]] == [4, 5] and best["same_as"]


def test_bundled_table_matches_the_notebook():
    meta = json.loads(TABLE.read_text())
    names = script.load_recipe()
    assert meta["generator_steps"] == names["RING_STEPS"] + names["RING_DECAY_STEPS"]
    for row in meta["recipes"]:
        for run in row["runs"]:
            assert 0 <= run["modes"] <= 8 and 0 <= run["hq"] <= 1
