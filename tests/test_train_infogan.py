"""scripts/train_infogan.py and the InfoGAN weights notebook 05 loads by default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from course_utils import data, paths
from solutions import load_script, notebook_sha256

NOTEBOOK = paths.REPO_DIR / "notebooks" / "05_conditional_and_infogan.ipynb"
WEIGHTS = Path(paths.DATA_DIR) / "infogan_mnist.pt"


script = load_script("train_infogan.py", "train_infogan_script")


def test_bundled_weights_match_the_notebook_the_metadata_and_the_recipe():
    meta = json.loads(WEIGHTS.with_suffix(".json").read_text())
    digest = data.sha256_file(WEIGHTS)
    assert digest == meta["sha256"] == notebook_sha256(NOTEBOOK, "INFOGAN_SHA256")
    assert meta["data_sha256"] == data.MNIST_SHA256
    assert meta["seeds"][0]["seed"] == meta["seed"]
    assert WEIGHTS.stat().st_size < 14_000_000  # float16: 13.3 MB at INFO_WIDTH = 128
    names = script.load_recipe(threads=1)
    assert meta["networks"] == {"INFO_NOISE": names["INFO_NOISE"],
                                "INFO_WIDTH": names["INFO_WIDTH"]}
    assert meta["steps"] == names["INFOGAN_STEPS"]
    net_G, _ = names["infogan_networks"]()
    state = torch.load(WEIGHTS, map_location="cpu", weights_only=True)
    floats = [v for v in state.values() if v.is_floating_point()]
    assert floats and all(v.dtype == torch.float16 for v in floats)
    net_G.load_state_dict({k: v.float() if v.is_floating_point() else v
                           for k, v in state.items()})  # strict: every key, every shape


def test_recipe_cell_is_found_and_trains():
    names = script.load_recipe(threads=1)
    X, _ = data.mnist("train")
    net_G, net_D, history = names["train_infogan"](0, 3, X[:256], progress=False)
    assert history.steps == [1, 2, 3]
    (step, accuracy), = history.metrics["matched accuracy"]
    assert step == 3 and 0.0 < accuracy < 1.0
    z, codes, code, cont = names["infogan_codes"](5, 7)
    again = names["infogan_codes"](5, 7)
    assert torch.equal(z, again[0]) and torch.equal(code, again[2])
    assert names["generate"](net_G, z, codes, batch=2).shape == (5, 1, 28, 28)


def test_recipe_cell_must_be_unique(tmp_path):
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        cell.get("metadata", {}).pop("tags", None)
    bad = tmp_path / "nb.ipynb"
    bad.write_text(json.dumps(nb))
    with pytest.raises(RuntimeError, match="one cell tagged 'parameters'"):
        script.recipe_sources(bad)


def test_script_writes_weights_and_metadata(tmp_path, capsys):
    assert script.main(["--steps", "2", "--seeds", "3", "--out", str(tmp_path)]) == 0
    meta = json.loads((tmp_path / "infogan_mnist.json").read_text())
    assert meta["sha256"] == data.sha256_file(tmp_path / "infogan_mnist.pt")
    assert meta["steps"] == 2 and meta["seed"] == 3
    (row,) = meta["seeds"]
    assert row["seed"] == 3 and row["curve"][-1][0] == 2 and 0 <= row["accuracy"] <= 1
    assert meta["sha256"] in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["--steps", "0"], ["--seeds", "1", "1"],
                                  ["--jobs", "0"]])
def test_script_refuses_bad_arguments(argv, tmp_path):
    with pytest.raises(SystemExit):
        script.main(argv + ["--out", str(tmp_path)])
