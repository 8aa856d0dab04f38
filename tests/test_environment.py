"""environment.yml and pyproject.toml describe one environment."""

import re
import tomllib

import yaml

from course_utils.paths import REPO_DIR


def normalise(requirement):
    name, rest = re.match(r"([A-Za-z0-9_.\-]+)(.*)", requirement.strip()).groups()
    return name.lower().replace("_", "-"), rest.replace(" ", "")


def test_environment_yml_agrees_with_pyproject():
    project = tomllib.loads((REPO_DIR / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((REPO_DIR / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    assert "python=3.11" in conda
    # the package (and its tests: tomllib) need 3.11; both files say so
    assert project["requires-python"] == ">=3.11"
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    pip_reqs = {normalise(r) for r in pip if not r.startswith("-e")}
    assert "-e ." in pip
    assert pip_reqs == {normalise(r) for r in project["dependencies"]}


def test_torch_is_a_range_not_a_pin():
    project = tomllib.loads((REPO_DIR / "pyproject.toml").read_text())["project"]
    for req in project["dependencies"]:
        name, spec = normalise(req)
        if name in ("torch", "torchvision"):
            assert spec.startswith(">=") and "==" not in spec
