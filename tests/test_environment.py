"""environment.yml and pyproject.toml describe one environment, and the student's
install is kept apart from the instructor's and the tests' extras."""

import re
import tomllib

import yaml

from course_utils.paths import REPO_DIR

PROJECT = tomllib.loads((REPO_DIR / "pyproject.toml").read_text())["project"]


def normalise(requirement):
    name, rest = re.match(r"([A-Za-z0-9_.\-]+)(.*)", requirement.strip()).groups()
    return name.lower().replace("_", "-"), rest.replace(" ", "")


def extra(name):
    """An extra's own requirements (references to the project's other extras
    left out)."""
    return {normalise(r) for r in PROJECT["optional-dependencies"][name]
            if normalise(r)[0] != PROJECT["name"]}


def test_environment_yml_agrees_with_pyproject():
    env = yaml.safe_load((REPO_DIR / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    assert "python=3.11" in conda
    # the package (and its tests: tomllib) need 3.11; both files say so
    assert PROJECT["requires-python"] == ">=3.11"
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    pip_reqs = {normalise(r) for r in pip if not r.startswith("-e")}
    assert "-e .[all]" in pip
    everything = ({normalise(r) for r in PROJECT["dependencies"]}
                  | extra("instructor") | extra("test"))
    assert pip_reqs == everything


def test_extras_build_on_each_other():
    extras = PROJECT["optional-dependencies"]
    assert extras["all"] == ["gan-course[instructor,test]"]
    assert "gan-course[instructor]" in extras["test"]


def test_the_student_install_has_no_instructor_or_test_tools():
    student = {normalise(r)[0] for r in PROJECT["dependencies"]}
    for tool in ("pytest", "pytest-xdist", "hypothesis", "nbval", "playwright",
                 "latex2mathml"):
        assert tool not in student
    for needed in ("torch", "torchvision", "numpy", "scipy", "matplotlib", "tqdm",
                   "ipywidgets", "jupyterlab", "papermill"):
        assert needed in student


def test_makefile_installs_everything():
    makefile = (REPO_DIR / "Makefile").read_text()
    assert '-m pip install --quiet --no-compile -e ".[all]"' in makefile
    # installed without bytecode, so it must be compiled afterwards
    assert "-m compileall" in makefile


def test_torch_is_a_range_not_a_pin():
    for req in PROJECT["dependencies"]:
        name, spec = normalise(req)
        if name in ("torch", "torchvision"):
            assert spec.startswith(">=") and "==" not in spec
