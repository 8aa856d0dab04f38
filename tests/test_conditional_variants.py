"""scripts/conditional_variants.py and the MNIST table of notebook 05 it writes."""

from __future__ import annotations

import json

import pytest

from course_utils import paths
from solutions import load_script, notebook_sha256

TABLE = paths.DATA_DIR / "conditional_variants.json"

script = load_script("conditional_variants.py", "conditional_variants_script")


def test_stored_table_was_made_by_the_notebooks_code():
    # the notebook's cells that build, train and score the three variants are still
    # the ones that made the table (edit them, and the table must be remade)
    meta = json.loads(TABLE.read_text())
    assert meta["code_sha256"] == script.code_sha256(script.tagged_sources())
    names: dict = {}
    exec(script.tagged_sources()["parameters"], names)
    assert meta["steps"] == names["CGAN_STEPS"]
    assert meta["networks"] == {k: names[k] for k in ("LATENT_DIM", "G_WIDTH",
                                                      "D_WIDTH")}
    for key in ("command", "git_commit", "torch", "wall_seconds", "seeds"):
        assert meta[key]
    runs = meta["runs"]
    seeds = sorted({r["seed"] for r in runs})
    assert len(seeds) >= 2 and seeds == list(range(len(seeds)))
    for seed in seeds:  # every seed has every variant
        assert sorted(r["variant"] for r in runs if r["seed"] == seed) == sorted(
            meta["variants"])
    for r in runs:
        assert 0.5 < r["accuracy"] <= 1 and 0 <= r["confident"] <= 1
        assert r["fd"] > r["fd_real"] > 0 and 0 < r["spread_ratio"] < 2
        assert len(r["spread_ratio_per_digit"]) == 10


def test_script_trains_and_scores_a_variant(tmp_path, capsys):
    assert script.main(["--seeds", "3", "--steps", "2", "--variants", "AC-GAN",
                        "--out", str(tmp_path)]) == 0
    meta = json.loads((tmp_path / script.OUT_NAME).read_text())
    (row,) = meta["runs"]
    assert row["seed"] == 3 and row["variant"] == "AC-GAN" and meta["steps"] == 2
    assert set(script.MEASURES) <= set(row)
    assert "--variants AC-GAN" in meta["command"]
    assert "wrote" in capsys.readouterr().out


def test_unknown_variants_and_missing_cells_are_refused(tmp_path):
    with pytest.raises(SystemExit):
        script.main(["--variants", "BigGAN", "--steps", "1", "--out", str(tmp_path)])
    nb = json.loads(script.NOTEBOOK.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        tags = cell.get("metadata", {}).get("tags", [])
        if "conditional-variants" in tags:
            tags.remove("conditional-variants")
    bad = tmp_path / "nb.ipynb"
    bad.write_text(json.dumps(nb))
    with pytest.raises(RuntimeError, match="0 cells tagged 'conditional-variants'"):
        script.tagged_sources(bad)


WEIGHTS = paths.DATA_DIR / "cgan_mnist.pt"


def test_bundled_generator_is_the_tables_seed_0_run_and_loads():
    import torch

    from course_utils import data

    meta = json.loads(WEIGHTS.with_suffix(".json").read_text())
    table = json.loads(TABLE.read_text())
    assert data.sha256_file(WEIGHTS) == meta["sha256"] == notebook_sha256(
        script.NOTEBOOK, "CGAN_SHA256")
    assert meta["data_sha256"] == data.MNIST_SHA256
    # made by the code that made the table, with the notebook's sizes and steps
    assert meta["code_sha256"] == table["code_sha256"] == script.code_sha256(
        script.tagged_sources())
    assert meta["networks"] == table["networks"] and meta["steps"] == table["steps"]
    assert "--save-weights" in meta["command"] and "--out" not in meta["command"]
    (row,) = [r for r in table["runs"]
              if r["seed"] == meta["seed"] and r["variant"] == meta["variant"] == "cGAN"]
    assert {k: v for k, v in meta["row"].items() if k != "train_seconds"} == {
        k: v for k, v in row.items() if k != "train_seconds"}
    names = script.load_recipe(steps=1)
    net_G, _ = names["cgan_networks"]()
    state = torch.load(WEIGHTS, map_location="cpu", weights_only=True)
    assert all(v.dtype == torch.float32 for v in state.values() if v.is_floating_point())
    net_G.load_state_dict(state)  # strict: every key, every shape
    assert WEIGHTS.stat().st_size < 1_000_000


def test_script_saves_the_cgan_generator(tmp_path, capsys):
    import torch

    from course_utils import data

    assert script.main(["--seeds", "2", "--steps", "2", "--variants", "cGAN",
                        "--save-weights", f"--out={tmp_path}"]) == 0
    meta = json.loads((tmp_path / "cgan_mnist.json").read_text())
    assert "--out" not in meta["command"] and str(tmp_path) not in meta["command"]
    assert meta["sha256"] == data.sha256_file(tmp_path / "cgan_mnist.pt")
    assert meta["seed"] == 2 and meta["steps"] == 2 and meta["row"]["seed"] == 2
    assert meta["sha256"] in capsys.readouterr().out
    state = torch.load(tmp_path / "cgan_mnist.pt", weights_only=True)
    assert any(k.endswith("running_mean") for k in state)  # the recomputed statistics
    with pytest.raises(SystemExit):  # only the cGAN's generator is saved
        script.main(["--variants", "AC-GAN", "--save-weights", "--steps", "1",
                     "--out", str(tmp_path)])
