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


def test_best_clipping_reads_the_tuning_seed():
    def row(name, recipe, hq, other_hq=0.0):
        return {"name": name, "recipe": recipe,
                "runs": [{"seed": 3, "modes": 8, "hq": other_hq},
                         {"seed": 0, "modes": 8, "hq": hq}]}

    rows = [row("a", script.clip(), 0.1, 0.9), row("b", script.clip(2e-4), 0.3),
            row("c", script.PAPER, 0.9),
            {"name": "d", "recipe": script.clip(1e-3), "runs": []}]
    assert script.best_clipping(rows, 0)["name"] == "b"
    assert script.best_clipping(rows, 3)["name"] == "a"
    with pytest.raises(RuntimeError, match="seed 7"):
        script.best_clipping(rows, 7)


def test_every_clipping_setting_runs():
    names = script.load_recipe()
    for _, recipe in script.CLIPPING:
        run = script.run_one(names, recipe, 0, 2)
        assert 0 <= run["modes"] <= 8 and 0 <= run["hq"] <= 1


def test_script_writes_every_recipe_and_keeps_what_it_has(tmp_path, monkeypatch):
    assert script.main(["--steps", "2", "--seeds", "4", "5", "--only", "paper",
                        "clipping, paper*", "clipping, RMSProp 2e-4, c 0.01",
                        "best*", "--out", str(tmp_path)]) == 0
    table = tmp_path / "wgan_ring_recipes.json"
    meta = json.loads(table.read_text())
    assert meta["generator_steps"] == 2 and meta["tuning_seed"] == 4
    rows = {row["name"]: row for row in meta["recipes"]}
    assert list(rows)[0] == "paper" and len(rows) == 3
    assert [run["seed"] for run in rows["paper"]["runs"]] == [4, 5]
    best = [row for row in rows.values() if "best" in row]
    assert len(best) == 1 and [run["seed"] for run in best[0]["runs"]] == [4, 5]

    # a second call adds the rows it is asked for and runs nothing twice
    calls = []
    real_run = script.run_one
    monkeypatch.setattr(script, "run_one",
                        lambda *a: calls.append(a[1:]) or real_run(*a))
    assert script.main(["--steps", "2", "--seeds", "4", "5", "--only", "paper",
                        "tuned", "--out", str(tmp_path)]) == 0
    again = json.loads(table.read_text())
    names = [row["name"] for row in again["recipes"]]
    assert names[:2] == ["paper", "tuned"] and len(names) == 4
    assert again["recipes"][0] == meta["recipes"][0]
    assert [(seed, steps) for _, seed, steps in calls] == [(4, 2), (5, 2)]

    # a table made at another number of steps is not merged
    assert script.main(["--steps", "3", "--seeds", "4", "--only", "tuned",
                        "--out", str(tmp_path)]) == 0
    third = json.loads(table.read_text())
    assert [row["name"] for row in third["recipes"]] == ["tuned"]


def test_bundled_table_matches_the_notebook():
    meta = json.loads(TABLE.read_text())
    names = script.load_recipe()
    assert meta["generator_steps"] == names["RING_STEPS"] + names["RING_DECAY_STEPS"]
    recipes = {name: recipe for name, recipe, _ in script.RECIPES}
    for row in meta["recipes"]:
        assert row["recipe"] == recipes[row["name"]], row["name"]
        assert row["runs"] and len({run["seed"] for run in row["runs"]}) == len(
            row["runs"])
        for run in row["runs"]:
            assert 0 <= run["modes"] <= 8 and 0 <= run["hq"] <= 1
