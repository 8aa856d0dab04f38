"""scripts/moons_infogan_variants.py and the table of notebook 05 it writes."""

from __future__ import annotations

import json

import pytest

from course_utils import paths
from solutions import load_script

TABLE = paths.DATA_DIR / "infogan_moons_variants.json"

script = load_script("moons_infogan_variants.py", "moons_infogan_variants_script")


def test_stored_table_was_made_by_the_notebooks_code():
    # the notebook's cells that train the three variants are still the ones that made
    # the table (edit them, and the table must be remade)
    meta = json.loads(TABLE.read_text())
    assert meta["code_sha256"] == script.code_sha256(script.tagged_sources())
    names: dict = {}
    exec(script.tagged_sources()["parameters"], names)
    assert meta["steps"] == names["MOON_STEPS"] and meta["data_seed"] == names["SEED"]
    seeds = [row["seed"] for row in meta["seeds"]]
    assert len(seeds) >= 8 and seeds == list(range(len(seeds)))
    for row in meta["seeds"]:
        for variant in script.VARIANTS:
            purity, info = row[variant]
            assert 0.5 <= purity <= 1.0 and info <= 0.7  # log 2 = 0.693


def test_script_runs_the_three_variants(tmp_path, capsys):
    assert script.main(["--seeds", "2", "--steps", "3", "--out", str(tmp_path)]) == 0
    meta = json.loads((tmp_path / "infogan_moons_variants.json").read_text())
    (row,) = meta["seeds"]
    assert row["seed"] == 2 and set(row) == {"seed", *script.VARIANTS}
    assert meta["steps"] == 3
    assert "wrote" in capsys.readouterr().out


def test_tagged_cells_must_exist(tmp_path):
    nb = json.loads(script.NOTEBOOK.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        tags = cell.get("metadata", {}).get("tags", [])
        if "moons-infogan" in tags:
            tags.remove("moons-infogan")
    bad = tmp_path / "nb.ipynb"
    bad.write_text(json.dumps(nb))
    with pytest.raises(RuntimeError, match="0 cells tagged 'moons-infogan'"):
        script.tagged_sources(bad)
