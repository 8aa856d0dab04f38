"""The student-version generator and the student kit (``release``)."""

import ast
import copy
import importlib.util
import json
import re
import subprocess
import sys
import types
import zipfile
from pathlib import Path

import nbformat
import pytest

from course_utils.checks import _core
from course_utils.instructor import kit
from course_utils.instructor import notebooks as nbtools
from course_utils.instructor.cli import build_parser, lab_folder
from course_utils.instructor.grader import build_graded_notebook
from course_utils.paths import PACKAGE_DIR

NOTEBOOKS = nbtools.list_notebooks()
IDS = [p.stem for p in NOTEBOOKS]


def strip_solutions(source):
    """The source with solution blocks (markers included) removed."""
    out, inside = [], False
    for line in source.split("\n"):
        if line.strip() == nbtools.BEGIN:
            inside = True
        elif line.strip() == nbtools.END:
            inside = False
        elif not inside:
            out.append(line)
    return out


def strip_stubs(source):
    return [
        line
        for line in source.split("\n")
        if line.strip() not in ("# YOUR CODE HERE",)
        and not line.strip().startswith('raise NotImplementedError("Exercise')
    ]


def test_stub_keeps_indentation_and_parses():
    source = (
        "def f(x):\n    y = 1\n    # BEGIN SOLUTION\n    return x + y\n"
        "    # END SOLUTION\n"
    )
    stub = nbtools.make_student_source(source, "1.1")
    assert '    raise NotImplementedError("Exercise 1.1")' in stub
    assert "return x + y" not in stub
    namespace = {}
    exec(compile(stub, "<stub>", "exec"), namespace)
    with pytest.raises(NotImplementedError, match="Exercise 1.1"):
        namespace["f"](1)


@pytest.mark.parametrize(
    "bad",
    [
        "x = 1\n",
        "# BEGIN SOLUTION\nx = 1\n",
        "# END SOLUTION\n",
        "# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION\n",
    ],
)
def test_bad_markers_are_refused(bad):
    with pytest.raises(nbtools.SolutionMarkerError):
        nbtools.make_student_source(bad, "1.1")


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    out = tmp_path_factory.mktemp("release") / "gan-course-kit"
    subprocess.run(
        [sys.executable, "-m", "course_utils", "release", "--out", str(out)],
        check=True,
        capture_output=True,
    )
    return out


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_student_notebook_matches_solution_outside_solution_blocks(released, path):
    solution = nbtools.read(path)
    student = nbformat.read(str(released / path.name), as_version=4)
    # the Colab set-up cell first, then the solution notebook's cells
    assert student.cells[0].metadata["tags"] == [kit.COLAB_TAG]
    student.cells = student.cells[1:]
    assert len(student.cells) == len(solution.cells)
    exercises = nbtools.exercise_cells(solution)
    assert nbtools.exercise_cells(student) == exercises
    for i, (s_cell, t_cell) in enumerate(zip(solution.cells, student.cells)):
        assert s_cell.cell_type == t_cell.cell_type
        if i in exercises.values():
            ex_id = s_cell.metadata["exercise"]
            assert nbtools.BEGIN not in t_cell.source
            assert f'raise NotImplementedError("Exercise {ex_id}")' in t_cell.source
            assert strip_stubs(t_cell.source) == strip_solutions(s_cell.source)
            ast.parse(t_cell.source)
        else:
            assert t_cell.source == s_cell.source
    for ex_id in exercises:
        assert nbtools.check_cell_index(student, ex_id) is not None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_student_code_cell_parses(released, path):
    student = nbformat.read(str(released / path.name), as_version=4)
    for cell in student.cells:
        if cell.cell_type == "code":
            ast.parse(cell.source)


# -- the student kit -----------------------------------------------------------

def kit_files(folder):
    return sorted(p.name for p in Path(folder).iterdir())


def test_kit_holds_notebooks_wheel_and_readme_and_its_zip_the_same(released):
    wheels = sorted(released.glob("*.whl"))
    assert [w.name for w in wheels] == ["gan_course-0.1.0-py3-none-any.whl"]
    assert kit_files(released) == sorted(
        [p.name for p in NOTEBOOKS] + ["README.md", wheels[0].name])
    archive = released.parent / f"{released.name}.zip"
    with zipfile.ZipFile(archive) as zf:
        assert sorted(zf.namelist()) == sorted(
            f"{released.name}/{name}" for name in kit_files(released))
        for name in kit_files(released):
            assert zf.read(f"{released.name}/{name}") == (released / name).read_bytes()


def test_the_wheel_holds_every_subpackage_and_the_data(released):
    wheel = next(released.glob("*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    modules = {str(p.relative_to(PACKAGE_DIR.parent)) for p in PACKAGE_DIR.rglob("*.py")
               if "__pycache__" not in p.parts}
    assert modules <= names, sorted(modules - names)
    data = PACKAGE_DIR.parent / "data"
    shipped = {f"course_utils/bundled/{p.name}" for p in data.iterdir()
               if p.suffix in (".npz", ".json", ".pt")}
    for needed in ("mnist_5k.npz", "mnist_5k.json", "digit_classifier.pt",
                   "digit_classifier.json", "infogan_mnist.pt", "infogan_mnist.json",
                   "cgan_mnist.pt", "cgan_mnist.json"):
        assert f"course_utils/bundled/{needed}" in shipped
    assert shipped <= names, sorted(shipped - names)
    assert not [n for n in names if n.endswith(".ipynb") or "tests/" in n]


def _solution_blocks():
    """(exercise id, solution code lines) of every exercise, comments and blank
    lines left out, each line stripped."""
    blocks = []
    for path in NOTEBOOKS:
        nb = nbtools.read(path)
        for ex_id, idx in nbtools.exercise_cells(nb).items():
            lines, inside = [], False
            for line in nb.cells[idx].source.split("\n"):
                text = line.strip()
                if text in (nbtools.BEGIN, nbtools.END):
                    inside = text == nbtools.BEGIN
                elif inside and text and not text.startswith("#"):
                    lines.append(text)
            blocks.append((ex_id, lines))
    return blocks


def _code_lines(text):
    return "\n".join(line.strip() for line in text.split("\n")
                     if line.strip() and not line.strip().startswith("#"))


def _kit_texts(folder):
    """Name -> text of everything in the kit: notebooks' cells, the README, and
    every text file inside the wheel."""
    texts = {}
    for file in Path(folder).iterdir():
        if file.suffix == ".whl":
            with zipfile.ZipFile(file) as zf:
                for name in zf.namelist():
                    if not name.endswith((".pt", ".npz")):
                        texts[f"wheel:{name}"] = zf.read(name).decode()
        elif file.suffix == ".ipynb":
            texts[file.name] = "\n".join(c.source for c in nbtools.read(file).cells)
        else:
            texts[file.name] = file.read_text()
    return texts


def _answers_modules():
    """The package's files that hold the course's own answers by design: the
    reference versions, the library functions a checker names as giving an
    exercise away, and the checkers (which compute what they expect)."""
    allowed = {"course_utils/reference.py"}
    named = {name for ex in _core.registered()
             for name in _core.checker_for(ex).gives_away}
    for file in PACKAGE_DIR.rglob("*.py"):
        rel = str(file.relative_to(PACKAGE_DIR.parent))
        defined = {n.name for n in ast.parse(file.read_text()).body
                   if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        if defined & named or rel.startswith("course_utils/checks/"):
            allowed.add(rel)
    return allowed


def test_no_solution_code_in_the_kit_outside_the_packages_answers(released):
    texts = {name: _code_lines(text) for name, text in _kit_texts(released).items()}
    allowed = {f"wheel:{name}" for name in _answers_modules()}
    blocks = _solution_blocks()
    assert len(blocks) == sum(len(nbtools.exercise_cells(nbtools.read(p)))
                              for p in NOTEBOOKS)
    found = {}
    for ex_id, lines in blocks:
        assert lines, ex_id
        for name, text in texts.items():
            if "\n".join(lines) in text:
                found.setdefault(name, []).append(ex_id)
            if not name.startswith("wheel:"):
                # no solution line of any length that could give something away
                long = [line for line in lines if len(line) >= 30 and line in text]
                assert not long, (name, ex_id, long)
    assert set(found) <= allowed, {k: v for k, v in found.items() if k not in allowed}
    # the course's own versions do ship, in the package's reference module
    assert found.get("wheel:course_utils/reference.py")
    assert not any("BEGIN SOLUTION" in texts[n] for n in texts
                   if not n.startswith("wheel:"))


def test_kit_readme_says_install_open_check_and_the_rule_on_answers(released):
    readme = (released / "README.md").read_text()
    wheel = next(released.glob("*.whl")).name
    assert f"pip install {wheel}" in readme
    assert "python -m course_utils lab" in readme
    assert "--index-url https://download.pytorch.org/whl/cpu" in readme
    assert "course_utils.reference" in readme and "may not call" in readme
    assert "Colab" in readme


# -- the Colab set-up cell -----------------------------------------------------

COLAB_PROVIDED = re.compile(r"\b(torch|torchvision|ipywidgets|ipykernel|jupyterlab|"
                            r"notebook|jupyter)\b")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_student_notebook_starts_with_the_colab_cell(released, path):
    student = nbformat.read(str(released / path.name), as_version=4)
    first = student.cells[0]
    assert first.cell_type == "code" and first.metadata["tags"] == [kit.COLAB_TAG]
    assert first.source == kit.colab_source(
        next(released.glob("*.whl")).name, kit.light_requirements())
    assert not first.get("outputs")
    assert sum(kit.COLAB_TAG in c.metadata.get("tags", []) for c in student.cells) == 1
    # the solution notebooks themselves have no such cell
    assert not any(kit.COLAB_TAG in c.metadata.get("tags", [])
                   for c in nbtools.read(path).cells)


def test_colab_cell_is_short_and_never_names_what_colab_provides():
    source = kit.colab_source("gan_course-0.1.0-py3-none-any.whl",
                              kit.light_requirements())
    assert len(source.splitlines()) <= 30
    assert max(len(line) for line in source.splitlines()) <= 88
    assert not COLAB_PROVIDED.findall(source.replace("torch and widgets", ""))
    light = kit.light_requirements()
    assert set(light) == {"numpy", "scipy", "matplotlib", "tqdm"}
    assert not any(COLAB_PROVIDED.search(r) for r in light.values())


_FIND_SPEC = importlib.util.find_spec


def _run_cell(source, monkeypatch, *, colab, missing=()):
    """Run the set-up cell here; return the commands it ran (none actually run)."""
    calls = []

    def record(cmd, *args, **kwargs):
        calls.append(list(cmd))
        return subprocess.CompletedProcess(cmd, 0)

    def refuse(*args, **kwargs):
        raise AssertionError("the set-up cell started a process")

    monkeypatch.setattr(subprocess, "run", record if colab else refuse)
    monkeypatch.setattr(subprocess, "Popen", refuse)
    monkeypatch.setattr(subprocess, "call", refuse)
    if colab:
        google = types.ModuleType("google")
        google.colab = types.ModuleType("google.colab")
        monkeypatch.setitem(sys.modules, "google", google)
        monkeypatch.setitem(sys.modules, "google.colab", google.colab)
        monkeypatch.setattr(
            importlib.util, "find_spec",
            lambda name, *a: None if name in missing else _FIND_SPEC(name, *a))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    before = set(sys.modules)
    exec(compile(source, "<colab set-up>", "exec"), {"__name__": "__main__"})
    return calls, set(sys.modules) - before


def test_colab_cell_does_nothing_outside_colab(released, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    student = nbformat.read(str(released / NOTEBOOKS[0].name), as_version=4)
    source = student.cells[0].source
    calls, imported = _run_cell(source, monkeypatch, colab=False)
    assert calls == [] and imported == set()
    assert list(tmp_path.iterdir()) == []


def test_colab_cell_in_colab_installs_the_wheel_alone_and_what_is_missing(
        monkeypatch, tmp_path):
    wheel = "gan_course-0.1.0-py3-none-any.whl"
    monkeypatch.chdir(tmp_path)
    source = kit.colab_source(wheel, kit.light_requirements())
    # the wheel not uploaded yet: a message saying what to do, nothing installed
    with pytest.raises(FileNotFoundError, match=f"Upload {wheel}"):
        _run_cell(source, monkeypatch, colab=True)
    (tmp_path / wheel).write_bytes(b"")
    pip = [sys.executable, "-m", "pip", "install", "--quiet"]
    calls, _ = _run_cell(source, monkeypatch, colab=True)
    assert calls == [pip + ["--no-deps", wheel]]
    calls, _ = _run_cell(source, monkeypatch, colab=True, missing={"tqdm", "scipy"})
    assert calls == [pip + ["--no-deps", wheel], pip + ["scipy>=1.10", "tqdm>=4.66"]]
    # from the instructor's address instead of an uploaded file
    url = "https://example.org/course/" + wheel
    calls, _ = _run_cell(kit.colab_source(url, kit.light_requirements()),
                         monkeypatch, colab=True)
    assert calls == [pip + ["--no-deps", url]]


def test_release_option_sets_the_wheel_url(tmp_path):
    out = tmp_path / "kit"
    url = "https://example.org/course/gan_course-0.1.0-py3-none-any.whl"
    args = build_parser().parse_args(
        ["release", "--out", str(out), "--wheel-url", url, "--no-zip"])
    assert args.wheel_url == url and args.no_zip
    assert kit.colab_cell(url).source.count(json.dumps(url)) == 1


def test_grader_takes_only_exercise_cells_so_the_colab_cell_changes_nothing(released):
    """A submission made from the kit (Colab cell first, an answer in place of
    each stub) is graded as the same submission without that cell; the graded
    notebook never contains the set-up cell."""
    solution = nbtools.read(NOTEBOOKS[0])
    submission = nbformat.read(str(released / NOTEBOOKS[0].name), as_version=4)
    for ex_id, idx in nbtools.exercise_cells(submission).items():
        name = re.search(r"^def (\w+)\(", submission.cells[idx].source, re.M).group(1)
        submission.cells[idx].source = f"def {name}(*args):\n    return 0.0\n"
    without = copy.deepcopy(submission)
    without.cells = without.cells[1:]
    graded, rejected = build_graded_notebook(solution, submission)
    graded_without, rejected_without = build_graded_notebook(solution, without)
    assert rejected == rejected_without == {}
    assert [c.source for c in graded.cells] == [c.source for c in graded_without.cells]
    assert not any(kit.COLAB_TAG in c.metadata.get("tags", []) for c in graded.cells)
    assert not any("google.colab" in c.source for c in graded.cells)
    for ex_id, idx in nbtools.exercise_cells(graded).items():
        assert graded.cells[idx].source.startswith("def ")


# -- opening the kit -------------------------------------------------------------

def test_lab_opens_the_clones_notebooks_or_the_kit_folder(tmp_path, monkeypatch):
    from course_utils.instructor import cli

    assert lab_folder() == cli.NOTEBOOKS_DIR  # in the clone: notebooks/, as make lab
    assert lab_folder(str(tmp_path)) == tmp_path
    monkeypatch.setattr(cli, "NOTEBOOKS_DIR", tmp_path / "absent")
    monkeypatch.chdir(tmp_path)
    assert lab_folder() == tmp_path  # a kit: the folder it is started in
    started = []
    monkeypatch.setattr(subprocess, "call", lambda cmd: started.append(cmd) or 0)
    assert cli.main(["lab"]) == 0
    assert started == [[sys.executable, "-m", "jupyterlab", str(tmp_path)]]
