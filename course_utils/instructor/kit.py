"""The student kit: ``python -m course_utils release``.

One folder (and a zip of it) that an instructor hands out::

    README.md                           how to install, open and check
    01_minimax_game.ipynb ...           the student notebooks (solutions cut out)
    gan_course-<version>-py3-none-any.whl   the course package, data included

Each student notebook starts with a set-up cell that matters in Google Colab
only (see :func:`colab_cell`): there it installs the wheel without its
dependencies, so Colab's own torch, torchvision and widgets stay, plus any of the
few light dependencies that are missing. Anywhere else the cell does nothing.

What the kit holds of the answers: the package's ``course_utils.reference`` (and
the library functions a checker's ``gives_away`` names, in ``losses``,
``divergences``, ...) are the course's own versions of the exercise functions.
They ship by design: later cells fall back on them while an exercise is
unsolved. The solution code of the exercise cells does not ship.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

import nbformat

from course_utils.instructor import notebooks as nbtools
from course_utils.paths import NOTEBOOKS_DIR, PACKAGE_DIR

__all__ = [
    "COLAB_TAG",
    "COLAB_PROVIDES",
    "build_wheel",
    "colab_cell",
    "colab_source",
    "light_requirements",
    "student_readme",
    "write_kit",
]

# The tag of the set-up cell; the grader never runs it (it builds the graded
# notebook from the solution notebook and the exercise cells alone).
COLAB_TAG = "colab-setup"
# What Colab's runtime provides and the set-up cell must never replace:
# installing jupyterlab>=4 or ipywidgets 8 there breaks Colab's widgets.
COLAB_PROVIDES = ("torch", "torchvision", "ipywidgets", "ipykernel", "jupyterlab")
# Import names of the light dependencies the notebooks' kernels import, and the
# distributions that provide them.
_LIGHT = {"numpy": "numpy", "scipy": "scipy", "matplotlib": "matplotlib",
          "tqdm": "tqdm"}
# What the wheel is built from, relative to the clone.
_WHEEL_SOURCES = ("pyproject.toml", "README.md", "LICENSE")
_DATA_SUFFIXES = (".npz", ".json", ".pt")


def _clone() -> Path:
    return PACKAGE_DIR.parent


def light_requirements(pyproject: Path | None = None) -> dict[str, str]:
    """Import name -> requirement (``"tqdm": "tqdm>=4.66"``) of the light
    dependencies, with the version ranges of ``pyproject.toml``."""
    project = tomllib.loads(
        Path(pyproject or _clone() / "pyproject.toml").read_text())["project"]
    ranges = {}
    for req in project["dependencies"]:
        name = req.split(">")[0].split("=")[0].split("<")[0].strip().lower()
        ranges[name] = req.replace(" ", "")
    return {module: ranges[dist] for module, dist in _LIGHT.items()}


def build_wheel(out_dir: Path, *, log=print) -> Path:
    """Build the course's wheel into ``out_dir`` and return its path.

    The wheel is built from a copy of the package, its data and its metadata in
    a temporary folder, so that nothing is written into the clone. With
    setuptools >= 77 installed (the ``instructor`` extra) no network is needed.
    """
    clone = _clone()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gan-course-wheel-") as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        for name in _WHEEL_SOURCES:
            shutil.copy2(clone / name, src / name)
        shutil.copytree(clone / "course_utils", src / "course_utils",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        (src / "data").mkdir()
        for file in sorted((clone / "data").iterdir()):
            if file.is_file() and file.suffix in _DATA_SUFFIXES:
                shutil.copy2(file, src / "data" / file.name)
        built = Path(tmp) / "wheel"
        cmd = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
               "-w", str(built)]
        if _has_setuptools(77):
            cmd += ["--no-build-isolation", "--no-index"]
        cmd.append(str(src))
        result = subprocess.run(cmd, capture_output=True, text=True)
        wheels = sorted(built.glob("*.whl"))
        if result.returncode != 0 or len(wheels) != 1:
            raise RuntimeError(f"building the wheel failed:\n{result.stderr}")
        target = out_dir / wheels[0].name
        shutil.copy2(wheels[0], target)
    log(f"wrote {target}")
    return target


def _has_setuptools(major: int) -> bool:
    if importlib.util.find_spec("setuptools") is None:
        return False
    from importlib.metadata import version

    try:
        return int(version("setuptools").split(".")[0]) >= major
    except Exception:
        return False


def colab_source(wheel: str, light: dict[str, str]) -> str:
    """The set-up cell's code. ``wheel`` is a file name (uploaded next to the
    notebook) or a URL; ``light`` maps import names to requirements."""
    light_lines = ",\n".join(f"        {json.dumps(m)}: {json.dumps(r)}"
                            for m, r in light.items())
    return f'''\
# Set-up for Google Colab: installs the course's package (its data included) and
# whatever light dependency is missing, keeping Colab's own torch and widgets.
# Anywhere else this cell does nothing.
import sys

if "google.colab" in sys.modules:
    import importlib.util
    import os
    import subprocess

    WHEEL = {json.dumps(wheel)}
    if "://" not in WHEEL and not os.path.exists(WHEEL):
        raise FileNotFoundError(f"Upload {{WHEEL}} from the course kit (Files, on "
                                "the left), then run this cell again.")
    pip = [sys.executable, "-m", "pip", "install", "--quiet"]
    subprocess.run(pip + ["--no-deps", WHEEL], check=True)
    light = {{
{light_lines},
    }}
    missing = [r for m, r in light.items() if importlib.util.find_spec(m) is None]
    if missing:
        subprocess.run(pip + missing, check=True)
    importlib.invalidate_caches()'''


def colab_cell(wheel: str, light: dict[str, str] | None = None):
    """The set-up cell, tagged ``colab-setup``."""
    cell = nbformat.v4.new_code_cell(
        colab_source(wheel, light if light is not None else light_requirements()))
    cell.metadata["tags"] = [COLAB_TAG]
    cell["id"] = COLAB_TAG
    return cell


def student_readme(notebooks: list[str], wheel_name: str,
                   wheel_url: str | None = None) -> str:
    """The kit's README.md."""
    listing = "\n".join(f"- `{name}`" for name in notebooks)
    colab_wheel = (
        "The first cell installs the course's package from the course's web "
        f"address ({wheel_url})."
        if wheel_url else
        f"Before running the first cell, upload `{wheel_name}` into the Colab "
        "session (the Files pane on the left, then Upload); the first cell "
        "installs it."
    )
    return f"""\
# The GAN course: student kit

This folder holds the course's notebooks, with the exercises left for you, and
the course's Python package as a wheel,
`{wheel_name}`,
which carries the data the notebooks use (an MNIST subset, a digit classifier
and trained InfoGAN weights). Nothing is downloaded while you work.

{listing}

## Install (once)

You need Python 3.11 or newer. In this folder:

```bash
python3 -m venv .venv
.venv/bin/python -m pip install {wheel_name}
```

On Windows, the venv's programs are in `.venv\\Scripts\\` instead of `.venv/bin/`
(`.venv\\Scripts\\python -m pip install {wheel_name}`).

This installs PyTorch, JupyterLab and the rest from PyPI. On Linux, PyPI's PyTorch
brings several GB of NVIDIA libraries; on a machine without an NVIDIA GPU, install
PyTorch's CPU build first, then the wheel:

```bash
.venv/bin/python -m pip install torch torchvision --index-url https://download.pytorch.org/whl/cpu
.venv/bin/python -m pip install {wheel_name}
```

## Open the notebooks

```bash
.venv/bin/python -m course_utils lab
```

opens JupyterLab on this folder (the same as `.venv/bin/jupyter lab` here). Run
a notebook from the top; each runs in a few minutes on a laptop CPU.
`QUICK = True` in its parameters cell makes a run of a few seconds.

**Google Colab.** Open a notebook in Colab (File, Upload notebook). {colab_wheel}
Colab keeps its own PyTorch and widgets; elsewhere the first cell does nothing.

## The check cells

Each exercise is a function for you to write, in place of
`raise NotImplementedError`. The cell after it checks your function on cases it
draws itself and prints one line, `Exercise N.M passed: ...`, or stops with a
hint on what is wrong; when it refuses a second time it also shows a worked step.
Cells further down that build on an exercise use your function once it passes,
and the course's own version until then (a printed line says which), so one
unsolved exercise does not stop the rest of the notebook.

## The course's own answers

The package holds the course's own versions of the exercise functions
(`course_utils.reference`, and library functions such as those of
`course_utils.losses`): the later cells fall back on them, and you may read them
to check yourself once you have tried. Work you hand in for grading may not call
them: the grader refuses an exercise cell that names the course's own answer to
its exercise, or `course_utils` itself. The solution notebooks are not in this
kit.
"""


def write_kit(out: Path, *, wheel_url: str | None = None, make_zip: bool = True,
              solutions_dir: Path = NOTEBOOKS_DIR, log=print) -> Path:
    """Write the student kit into ``out`` (emptied first if it is a kit) and, with
    ``make_zip``, ``out`` zipped next to it. Returns ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for old in list(out.glob("*.whl")) + list(out.glob("[0-9][0-9]_*.ipynb")):
        old.unlink()
    wheel = build_wheel(out, log=log)
    cell = colab_cell(wheel_url or wheel.name)
    paths = nbtools.list_notebooks(solutions_dir)
    for path in paths:
        student = nbtools.make_student_notebook(nbtools.read(path))
        first = copy.deepcopy(cell)
        if (student.nbformat, student.nbformat_minor) < (4, 5):
            first.pop("id", None)
        student.cells.insert(0, first)
        nbformat.write(student, str(out / path.name))
        log(f"wrote {out / path.name}")
    readme = out / "README.md"
    readme.write_text(student_readme([p.name for p in paths], wheel.name, wheel_url))
    log(f"wrote {readme}")
    if make_zip:
        archive = out.parent / f"{out.name}.zip"
        files = [readme, wheel] + [out / p.name for p in paths]
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            for file in files:
                zf.write(file, f"{out.name}/{file.name}")
        log(f"wrote {archive}")
    return out
