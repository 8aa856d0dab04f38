"""scripts/lsgan_stability.py and data/lsgan_stability.json, which notebook 07 shows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from course_utils import data, paths
from solutions import load_script

NOTEBOOK = paths.REPO_DIR / "notebooks" / "07_lsgan.ipynb"
TABLE = Path(paths.DATA_DIR) / "lsgan_stability.json"
VERDICTS = {"learned", "collapsed", "no digits", "diverged"}

script = load_script("lsgan_stability.py", "lsgan_stability_script")


def test_recipe_cells_are_found_and_train():
    names = script.load_recipe()
    assert len(names["PAPER_TABLE"]) == 8
    run = names["stability_run"]("lsgan", "BN_G", "RMSProp", 0, 4, 2)
    assert [point[0] for point in run["curve"]] == [2, 4]
    assert run["samples"].shape == (1000, 1, 28, 28)
    assert set(run["final"]) == {"confident", "kl", "fd", "fd_real"}
    assert run["verdict"] in VERDICTS
    again = names["stability_run"]("lsgan", "BN_G", "RMSProp", 0, 4, 2)
    assert again["curve"] == run["curve"]  # seeded: the same run twice


@pytest.mark.parametrize("setting, bn_D", [("BN_G", True), ("BN_GD", False)])
def test_settings_take_batch_norm_away(setting, bn_D):
    # the paper's BN_G: no batch norm in G, D keeps it; BN_GD: none in either
    names = script.load_recipe()
    net_G, net_D = names["stability_nets"](bn_G=False, bn_D=setting == "BN_G")
    kinds = {type(m).__name__ for m in net_G.modules()}
    assert "BatchNorm1d" not in kinds
    assert ("BatchNorm1d" in {type(m).__name__ for m in net_D.modules()}) == bn_D


def test_verdicts_read_quality_before_diversity():
    names = script.load_recipe()
    verdict = names["verdict"]
    assert verdict({"confident": 0.2, "kl": 0.0}) == "no digits"
    assert verdict({"confident": 0.9, "kl": 1.5}) == "collapsed"
    assert verdict({"confident": 0.9, "kl": 0.1}) == "learned"


def test_recipe_cells_must_be_tagged(tmp_path):
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        tags = cell.get("metadata", {}).get("tags", [])
        if script.RECIPE_TAG in tags:
            tags.remove(script.RECIPE_TAG)
    bad = tmp_path / "nb.ipynb"
    bad.write_text(json.dumps(nb))
    with pytest.raises(RuntimeError, match="stability-recipe"):
        script.recipe_sources(bad)


def test_script_writes_whole_seeds(tmp_path, capsys):
    assert script.main(["--steps", "2", "--eval-every", "1", "--seeds", "3",
                        "--out", str(tmp_path)]) == 0
    meta = json.loads((tmp_path / script.OUT_FILE).read_text())
    assert meta["seeds"] == [3] and meta["complete"] and meta["steps"] == 2
    assert len(meta["runs"]) == 8
    for row in meta["runs"]:
        assert row["seed"] == 3 and row["verdict"] in VERDICTS
        if row["verdict"] != "diverged":
            assert [p[0] for p in row["curve"]] == [1, 2]
    assert "seeds [3]" in capsys.readouterr().out


def test_append_adds_seeds_and_refuses_other_settings(tmp_path, monkeypatch):
    calls = []

    def fake_run(names, cell, seed, steps, eval_every):  # no training: the bookkeeping
        calls.append((cell, seed))
        return {"loss": cell[0], "setting": cell[1], "optimizer": cell[2],
                "seed": seed, "verdict": "diverged", "diverged_at": 1, "curve": [],
                "train_seconds": 0.0}

    monkeypatch.setattr(script, "run_row", fake_run)
    out = ["--steps", "5", "--eval-every", "5", "--out", str(tmp_path)]
    assert script.main(["--seeds", "0"] + out) == 0
    assert script.main(["--seeds", "0", "1", "--append"] + out) == 0
    meta = json.loads((tmp_path / script.OUT_FILE).read_text())
    assert meta["seeds"] == [0, 1] and meta["seeds_asked"] == [0, 1]
    assert meta["complete"] and len(meta["runs"]) == 16 and len(calls) == 16
    with pytest.raises(SystemExit):
        script.main(["--seeds", "2", "--append", "--steps", "6", "--eval-every", "5",
                     "--out", str(tmp_path)])


@pytest.mark.parametrize("argv", [["--steps", "0"], ["--seeds", "1", "1"],
                                  ["--eval-every", "0"], ["--hours", "0"]])
def test_script_refuses_bad_arguments(argv, tmp_path):
    with pytest.raises(SystemExit):
        script.main(argv + ["--out", str(tmp_path)])


def test_bundled_table_matches_the_notebook():
    meta = json.loads(TABLE.read_text())
    names = script.load_recipe()
    assert meta["data_sha256"] == data.MNIST_SHA256
    assert meta["paper_table"] == [[*cell, collapses]
                                   for cell, collapses in names["PAPER_TABLE"].items()]
    assert meta["seeds"] and meta["seeds"] == meta["seeds_asked"][:len(meta["seeds"])]
    assert len(meta["runs"]) == 8 * len(meta["seeds"])
    # the notebook compares its live run with the script's at TABLE_STEPS
    assert meta["steps"] >= names["TABLE_STEPS"]
    assert names["TABLE_STEPS"] % meta["eval_every"] == 0
    for row in meta["runs"]:
        assert row["verdict"] in VERDICTS
        if row["verdict"] != "diverged":
            assert row["curve"][-1][0] == meta["steps"]
            assert row["verdict"] == names["verdict"](row["final"])
