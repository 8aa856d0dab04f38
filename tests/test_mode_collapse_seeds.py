"""scripts/mode_collapse_seeds.py and the tables and networks notebook 04 reads,
data/mode_collapse_seeds.json, data/mode_collapse_grid.pt, data/mode_collapse_mnist.pt.
The runs here take the notebook's QUICK step counts (``--quick``)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch

from course_utils import paths
from solutions import load_script

TABLE = Path(paths.DATA_DIR) / "mode_collapse_seeds.json"

script = load_script("mode_collapse_seeds.py", "mode_collapse_seeds_script")


def test_runs_are_parsed_and_bad_ones_refused():
    assert script.parse_run("best:ring:vanilla:0-2") == [
        ("best", "ring", "vanilla", s) for s in range(3)]
    assert script.parse_run("mnist:mnist:rates:4") == [("mnist", "mnist", "rates", 4)]
    for bad in ("best:moons:vanilla:0", "rejection:ring:vanilla:0",
                "remedy:ring:adagrad:0", "mnist:ring:rates:0", "sample:ring:packed:0"):
        with pytest.raises(ValueError, match="bad run"):
            script.parse_run(bad)


def test_quick_runs_write_rows_and_bundles(tmp_path, capsys):
    assert script.main(["--quick", "--out", str(tmp_path), "--runs",
                        "rejection:grid:packed:0", "remedy:ring:unrolled_sgd:1",
                        "mnist:mnist:rates:0"]) == 0
    table = json.loads((tmp_path / script.OUT_FILE).read_text())
    kinds = {(r["kind"], r["dataset"], r["method"], r["seed"]) for r in table["runs"]}
    assert kinds == {("best", "grid", "packed", 0), ("rejection", "grid", "packed", 0),
                     ("remedy", "ring", "unrolled_sgd", 1),
                     ("mnist", "mnist", "rates", 0)}
    rejection = [r for r in table["runs"] if r["kind"] == "rejection"][0]
    assert rejection["n"] > 0 and 0 < rejection["accepted"] <= 1
    mnist = [r for r in table["runs"] if r["kind"] == "mnist"][0]
    assert set(mnist["class_kl"]) == {"G 10x faster", "equal rates"}
    for name, file in (("grid", "mode_collapse_grid.pt"),
                       ("mnist", "mode_collapse_mnist.pt")):
        record, data = table["bundled"][name], (tmp_path / file).read_bytes()
        assert record["file"] == file and record["bytes"] == len(data)
        assert record["sha256"] == hashlib.sha256(data).hexdigest()
    grid = torch.load(tmp_path / "mode_collapse_grid.pt", weights_only=True)
    assert set(grid) == {"G", "D"}
    # a second invocation replaces the run it repeats and keeps the others
    script.main(["--quick", "--out", str(tmp_path), "--runs", "best:grid:packed:0"])
    again = json.loads((tmp_path / script.OUT_FILE).read_text())
    assert len(again["runs"]) == len(table["runs"])
    assert "bundled" in again


def test_the_bundled_networks_are_those_the_json_records():
    table = json.loads(TABLE.read_text())
    for record in table["bundled"].values():
        data = (Path(paths.DATA_DIR) / record["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == record["sha256"]
    seeds = {(r["kind"], r["dataset"], r["method"]): set() for r in table["runs"]}
    for r in table["runs"]:
        seeds[r["kind"], r["dataset"], r["method"]].add(r["seed"])
    for key in (("best", "ring", "packed"), ("best", "ring", "vanilla"),
                ("best", "grid", "packed"), ("rejection", "ring", "packed"),
                ("rejection", "grid", "packed"), ("mnist", "mnist", "rates")):
        assert seeds[key] == set(range(5)), key
    for dataset in ("ring", "grid"):
        for method in ("vanilla", "unrolled", "packed", "minibatch"):
            assert seeds["remedy", dataset, method] >= {0, 1, 2}, (dataset, method)
