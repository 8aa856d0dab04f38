"""The package's layout: the student's library apart from the instructor's tools."""

import ast
import subprocess
import sys

from course_utils.paths import REPO_DIR

STUDENT_MODULES = [
    "checks", "classifier", "data", "divergences", "losses", "metrics", "models",
    "params", "plotting", "recording", "reference", "toy", "train", "updates",
    "utils",
]
TOOLS = ["papermill", "nbval", "nbclient", "pytest", "nbformat", "yaml"]


def test_the_student_library_does_not_import_the_instructors_tools():
    code = (
        "import sys\n"
        f"from course_utils import {', '.join(STUDENT_MODULES)}\n"
        f"print(sorted(m for m in {TOOLS!r} if m in sys.modules))\n"
        "print(sorted(m for m in sys.modules if m.startswith('course_utils.instructor')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=REPO_DIR).stdout.splitlines()
    assert out == ["[]", "[]"]


def test_the_command_line_still_answers_as_the_readme_says():
    out = subprocess.run([sys.executable, "-m", "course_utils", "--help"],
                         capture_output=True, text=True, check=True, cwd=REPO_DIR).stdout
    for command in ("run", "sweep", "release", "grade", "refresh", "site"):
        assert command in out


def test_every_module_says_which_notebook_introduces_it():
    notebooks = {p.stem for p in (REPO_DIR / "notebooks").glob("*.ipynb")}
    package = REPO_DIR / "course_utils"
    for name in STUDENT_MODULES:
        path = package / name / "__init__.py" if (package / name).is_dir() else package / f"{name}.py"
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        named = {nb for nb in _notebook_names(doc)}
        assert named, f"{name}: its docstring names no notebook"
        first = _notebook_names(doc.split("Introduced in", 1)[-1])[:1] if "Introduced in" in doc else []
        for nb in first:
            assert nb in notebooks, f"{name} says it is introduced in {nb}, which does not exist"


def _notebook_names(text):
    import re

    return re.findall(r"\b0\d_[a-z0-9_]+[a-z0-9]", text)
