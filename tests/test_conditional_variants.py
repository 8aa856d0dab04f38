"""scripts/conditional_variants.py and the MNIST table of notebook 05 it writes."""

from __future__ import annotations

import json

import pytest

from course_utils import paths
from solutions import load_script

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
