"""The course installed from its wheel, outside the repository.

The kit is released into a temporary folder, its wheel installed (without its
dependencies) into a fresh virtual environment there. The project's own
environment lends that one its installed dependencies through a ``.pth`` file
(installing torch afresh would take GBs), but not the course: the package, its
data and its modules come from the wheel alone. Everything then runs from a
folder outside the repository, with no PYTHONPATH: every module is imported,
the bundled data are loaded, and a released student notebook runs at QUICK
settings in that environment's kernel, with the course's own answers in its
exercise cells and its check cells judging them, while the instructor's and the
tests' extras (pytest, nbval, playwright, ...) cannot be imported at all.

The fresh venv and the Colab cell: a second fresh venv, with nothing but the
standard library and pip, runs the student notebooks' Colab set-up cell with a
simulated ``google.colab`` module against the kit's wheel, offline.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import nbformat
import pytest

from course_utils.checks import _core
from course_utils.instructor import kit
from course_utils.instructor import notebooks as nbtools
from course_utils.paths import PACKAGE_DIR

pytestmark = pytest.mark.slow

REPO = PACKAGE_DIR.parent
NOTEBOOK = "01_minimax_game.ipynb"
# What a student's install must do without (the instructor's and test extras).
EXTRAS = ("pytest", "_pytest", "nbval", "playwright", "hypothesis", "xdist",
          "latex2mathml")
# Where the course's own answer to an exercise may live (a checker's gives_away
# names it).
ANSWER_MODULES = ("reference", "losses", "divergences", "models", "toy", "updates")

BLOCKER = f'''\
"""While COURSE_BLOCK_EXTRAS is set, the course's extras look uninstalled: the
path finder does not find them (an import fails, a probe finds nothing)."""
import os
import sys
from importlib.machinery import PathFinder

NAMES = {EXTRAS!r}


class PathFinderWithoutExtras(PathFinder):
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name.split(".")[0] in NAMES:
            return None
        return super().find_spec(name, path, target)


if os.environ.get("COURSE_BLOCK_EXTRAS"):
    sys.meta_path[:] = [PathFinderWithoutExtras if f is PathFinder else f
                        for f in sys.meta_path]
'''

IMPORT_ALL = '''\
import importlib, json, os, pkgutil, sys
import torch
import course_utils
from course_utils import paths
names, failed = [], {}
for info in pkgutil.walk_packages(course_utils.__path__, "course_utils."):
    names.append(info.name)
    try:
        importlib.import_module(info.name)
    except ImportError as exc:
        failed[info.name] = str(exc)
from course_utils import classifier, data
images, labels = data.mnist(split="heldout")
net = classifier.load_classifier()
with torch.no_grad():
    accuracy = (net(images).argmax(1) == labels).float().mean().item()
meta = json.loads((paths.DATA_DIR / "infogan_mnist.json").read_text())
data.verify_sha256(paths.DATA_DIR / meta["file"], meta["sha256"])
state = torch.load(paths.DATA_DIR / meta["file"], weights_only=True)
print(json.dumps({
    "package": course_utils.__file__, "python": sys.executable,
    "path": sys.path, "cwd": os.getcwd(), "data": str(paths.DATA_DIR),
    "bundled": str(paths.BUNDLED_DATA_DIR), "modules": names, "failed": failed,
    "images": list(images.shape), "accuracy": accuracy,
    "infogan_tensors": len(state), "extras_loaded": sorted(
        m for m in sys.modules if m.split(".")[0] in %r),
}))
''' % (EXTRAS,)

RUN_NOTEBOOK = '''\
import sys
import papermill
papermill.execute_notebook(sys.argv[1], sys.argv[2], parameters={"QUICK": True},
                           kernel_name="python3", cwd=sys.argv[3],
                           progress_bar=False, execution_timeout=600)
'''

REPORT_CELL = '''\
import json, sys
import course_utils
from course_utils import paths
print(json.dumps({"package": course_utils.__file__, "python": sys.executable,
                  "data": str(paths.DATA_DIR), "extras_loaded": sorted(
                      m for m in sys.modules if m.split(".")[0] in %r)}))
''' % (EXTRAS,)


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "COURSE_DATA_DIR", "VIRTUAL_ENV",
                        "COURSE_METRICS_FILE", "COURSE_GRADING_EXCHANGE",
                        "PYTHONSTARTUP", "PYTHONHOME")}
    env.update(OMP_NUM_THREADS="1", MPLBACKEND="Agg", PYTHONNOUSERSITE="1", **extra)
    return env


def _venv(folder: Path, *, lend: bool) -> Path:
    """A fresh venv; with ``lend``, the project's installed packages visible in it
    (but not the course: its editable install's finder is not run there)."""
    args = [sys.executable, "-m", "venv", str(folder)]
    if lend:
        args.insert(3, "--without-pip")
    subprocess.run(args, check=True, capture_output=True, env=_env())
    python = folder / "bin" / "python"
    site = Path(subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True).stdout.strip())
    if lend:
        ours = sysconfig.get_paths()
        lent = dict.fromkeys([ours["purelib"], ours["platlib"]])
        (site / "project_venv.pth").write_text("\n".join(lent) + "\n")
        (site / "_course_block_extras.py").write_text(BLOCKER)
        (site / "_course_block_extras.pth").write_text("import _course_block_extras\n")
    return python


def _answer_source(student, idx: int, exercise_id: str) -> str:
    """The exercise cell with the course's own answer bound to the function's
    name."""
    from course_utils import divergences, losses, models, reference, toy, updates

    modules = {"reference": reference, "losses": losses, "divergences": divergences,
               "models": models, "toy": toy, "updates": updates}
    name = re.search(r"^def (\w+)\(", student.cells[idx].source, re.M).group(1)
    for given in _core.checker_for(exercise_id).gives_away:
        for module in ANSWER_MODULES:
            if hasattr(modules[module], given):
                return (f"from course_utils import {module}\n\n"
                        f"{name} = {module}.{given}\n")
    raise LookupError(f"no course answer for exercise {exercise_id}")


@pytest.fixture(scope="module")
def outside(tmp_path_factory):
    root = tmp_path_factory.mktemp("outside")
    assert REPO not in root.parents
    kit_dir = kit.write_kit(root / "kit", make_zip=False, log=lambda *a: None)
    wheel = next(kit_dir.glob("*.whl"))
    python = _venv(root / "venv", lend=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
         "--ignore-installed", str(wheel)],
        check=True, capture_output=True, env=_env(), cwd=root)
    work = root / "work"
    work.mkdir()
    return {"root": root, "kit": kit_dir, "wheel": wheel, "python": python,
            "venv": root / "venv", "work": work}


def test_the_installed_package_imports_everything_and_loads_its_data(outside):
    venv, work = outside["venv"], outside["work"]
    result = subprocess.run([str(outside["python"]), "-c", IMPORT_ALL],
                            capture_output=True, text=True, cwd=work, env=_env())
    assert result.returncode == 0, result.stderr[-3000:]
    got = json.loads(result.stdout.strip().splitlines()[-1])
    package = Path(got["package"])
    assert venv in package.parents and REPO not in package.parents
    assert Path(got["data"]) == Path(got["bundled"]) == package.parent / "bundled"
    assert not any(p == str(REPO) or p.startswith(str(REPO) + "/course_utils")
                   for p in got["path"])
    assert got["cwd"] == str(work)
    expected = {f"course_utils.{p.relative_to(PACKAGE_DIR).with_suffix('')}"
                .replace("/", ".").removesuffix(".__init__")
                for p in PACKAGE_DIR.rglob("*.py") if "__pycache__" not in p.parts}
    assert expected - {"course_utils"} <= set(got["modules"])
    assert got["failed"] == {}
    assert got["images"] == [1000, 1, 28, 28]
    assert got["accuracy"] > 0.9
    assert got["infogan_tensors"] > 0


def test_a_student_import_needs_none_of_the_extras(outside):
    """With the extras made unimportable, every module a student's kernel or
    the student's commands load still imports; only the grader's need them."""
    result = subprocess.run([str(outside["python"]), "-c", IMPORT_ALL],
                            capture_output=True, text=True, cwd=outside["work"],
                            env=_env(COURSE_BLOCK_EXTRAS="1"))
    assert result.returncode == 0, result.stderr[-3000:]
    got = json.loads(result.stdout.strip().splitlines()[-1])
    assert got["extras_loaded"] == []
    assert set(got["failed"]) <= {"course_utils.instructor.grader",
                                  "course_utils.instructor.gradebook",
                                  "course_utils.instructor.nbval_patience"}
    assert "course_utils.instructor.nbval_patience" in got["failed"]  # blocked
    # the student's commands answer, from the kit's folder
    help_text = subprocess.run(
        [str(outside["python"]), "-m", "course_utils", "lab", "--help"],
        capture_output=True, text=True, cwd=outside["kit"],
        env=_env(COURSE_BLOCK_EXTRAS="1"))
    assert help_text.returncode == 0, help_text.stderr[-3000:]
    assert "JupyterLab" in help_text.stdout or "folder" in help_text.stdout


def test_a_released_notebook_runs_in_the_installed_kernel_and_its_checks_pass(
        outside):
    student = nbformat.read(str(outside["kit"] / NOTEBOOK), as_version=4)
    exercises = nbtools.exercise_cells(student)
    assert exercises
    for ex_id, idx in exercises.items():
        student.cells[idx].source = _answer_source(student, idx, ex_id)
    student.cells.append(nbformat.v4.new_code_cell(REPORT_CELL))
    work = outside["work"]
    given, done = work / f"in_{NOTEBOOK}", work / f"out_{NOTEBOOK}"
    nbformat.write(student, str(given))
    result = subprocess.run(
        [str(outside["python"]), "-c", RUN_NOTEBOOK, str(given), str(done), str(work)],
        capture_output=True, text=True, cwd=work,
        env=_env(COURSE_BLOCK_EXTRAS="1"), timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    ran = nbformat.read(str(done), as_version=4)

    def stdout(cell):
        return "".join(o.get("text", "") for o in cell.get("outputs", [])
                       if o.get("name") == "stdout")

    # the Colab cell did nothing here; every check cell passed the course's answer
    assert ran.cells[0].metadata["tags"] == [kit.COLAB_TAG]
    assert ran.cells[0].outputs == []
    for ex_id in exercises:
        check = ran.cells[nbtools.check_cell_index(ran, ex_id)]
        assert stdout(check).startswith(f"Exercise {ex_id} passed"), stdout(check)
    report = json.loads(stdout(ran.cells[-1]).strip().splitlines()[-1])
    assert outside["venv"] in Path(report["package"]).parents
    assert Path(report["python"]).parent.parent == outside["venv"]
    assert Path(report["data"]) == Path(report["package"]).parent / "bundled"
    assert report["extras_loaded"] == []


def test_the_colab_cell_in_a_fresh_venv_installs_the_wheel_alone(outside):
    """A venv with only the standard library and pip plays Colab's runtime with a
    fake ``google.colab``: the cell's pip calls are recorded; the one for the
    course's wheel is run, offline (a dry run with a report, then for real),
    the one for the missing light dependencies only recorded."""
    root = outside["root"]
    python = _venv(root / "colab-venv", lend=False)
    content = root / "content"  # Colab's working folder, the wheel uploaded there
    content.mkdir()
    (content / outside["wheel"].name).write_bytes(outside["wheel"].read_bytes())
    cell = nbformat.read(str(outside["kit"] / NOTEBOOK), as_version=4).cells[0]
    driver = textwrap.dedent('''\
        import json, subprocess, sys, types
        sys.modules["google"] = types.ModuleType("google")
        sys.modules["google.colab"] = types.ModuleType("google.colab")
        calls, real_run = [], subprocess.run

        def run(cmd, *args, **kwargs):
            calls.append(list(cmd))
            if "--no-deps" in cmd:
                real_run(cmd + ["--no-index", "--dry-run", "--report", "report.json"],
                         check=True, capture_output=True)
                return real_run(cmd + ["--no-index"], check=True)
            return subprocess.CompletedProcess(cmd, 0)

        subprocess.run = run
        exec(compile(open("cell.py").read(), "<colab set-up>", "exec"), {})
        json.dump(calls, open("calls.json", "w"))
        ''')
    (content / "cell.py").write_text(cell.source)
    (content / "driver.py").write_text(driver)
    result = subprocess.run([str(python), "driver.py"], capture_output=True,
                            text=True, cwd=content, env=_env(), timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    calls = json.loads((content / "calls.json").read_text())
    pip = [str(python), "-m", "pip", "install", "--quiet"]
    light = kit.light_requirements()
    assert calls == [pip + ["--no-deps", outside["wheel"].name],
                     pip + list(light.values())]
    for call in calls:
        assert not any(kit.COLAB_PROVIDES.count(re.split("[<>=]", arg)[0])
                       for arg in call)
    report = json.loads((content / "report.json").read_text())
    assert [(i["metadata"]["name"], i["metadata"]["version"])
            for i in report["install"]] == [("gan-course", "0.1.0")]
    # installed: the package and its data, with nothing else in that venv
    check = ("from course_utils import paths; "
             "print(paths.DATA_DIR, paths.BUNDLED_DATA_DIR is not None)")
    found = subprocess.run([str(python), "-c", check], capture_output=True,
                           text=True, cwd=content, env=_env(), check=True).stdout
    data_dir, bundled = found.split()
    assert bundled == "True" and (Path(data_dir) / "mnist_5k.npz").is_file()
    assert root / "colab-venv" in Path(data_dir).parents
