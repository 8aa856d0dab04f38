import json

import numpy as np
import pytest
import torch

from course_utils import recording


def test_record_without_runner_keeps_values_in_memory(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv(recording.ENV_VAR, raising=False)
    monkeypatch.chdir(tmp_path)
    assert recording.record("alone", 1.5) is None  # no stray output in notebooks
    assert recording.recorded()["alone"] == 1.5
    assert list(tmp_path.iterdir()) == []
    assert capsys.readouterr().out == ""


def test_record_writes_plain_json_for_the_runner(monkeypatch, tmp_path):
    target = tmp_path / "metrics.json"
    monkeypatch.setenv(recording.ENV_VAR, str(target))
    recording.record("a_float", np.float32(0.25))
    recording.record("a_tensor", torch.tensor(3.0))
    recording.record("an_int", np.int64(7))
    recording.record("not_finite", float("nan"))
    recording.record("a_float", 0.5)  # overwritten
    data = json.loads(target.read_text())
    assert data == {"a_float": 0.5, "a_tensor": 3.0, "an_int": 7, "not_finite": None}


@pytest.mark.parametrize("name", ["has space", "1st", "", None])
def test_record_rejects_bad_names(name):
    with pytest.raises(ValueError):
        recording.record(name, 1.0)


def test_record_rejects_non_scalars():
    with pytest.raises(TypeError):
        recording.record("vector", torch.ones(3))
    with pytest.raises(TypeError):
        recording.record("obj", object())


def test_claim_prints_its_verdict_and_records_it(monkeypatch, capsys):
    monkeypatch.delenv(recording.STRICT_VAR, raising=False)
    assert recording.claim("small", 0.1 < 0.2, "W1 is below twice the floor") is True
    assert capsys.readouterr().out == "Holds: W1 is below twice the floor\n"
    assert recording.claim("big", np.float64(3.0) < 2.0, "W1 is small") is False
    assert capsys.readouterr().out == "Does not hold in this run: W1 is small\n"
    assert recording.recorded()["claim_small"] is True
    assert recording.recorded()["claim_big"] is False


def test_claim_raises_only_when_strict(monkeypatch, capsys):
    monkeypatch.setenv(recording.STRICT_VAR, "1")
    assert recording.claim("fine", True, "it holds")
    with pytest.raises(AssertionError, match="Does not hold: it fails"):
        recording.claim("broken", False, "it fails")
    assert recording.recorded()["claim_broken"] is False
    monkeypatch.setenv(recording.STRICT_VAR, "0")
    assert recording.claim("lenient", False, "it fails") is False
