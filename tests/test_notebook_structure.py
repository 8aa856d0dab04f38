"""Every course notebook follows the conventions the tools rely on."""

import ast
import re

import pytest

from course_utils import checks
from course_utils.instructor import notebooks as nbtools
from course_utils.instructor.grader import scan_exercise_source

NOTEBOOKS = nbtools.list_notebooks()
IDS = [p.stem for p in NOTEBOOKS]


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found"
    for path in NOTEBOOKS:
        assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", path.name)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_parameters_cell(path):
    nb = nbtools.read(path)
    defaults = nbtools.parameter_defaults(nb)
    assert type(defaults.get("SEED")) is int
    assert defaults.get("QUICK") is False
    assert all(name.isupper() for name in defaults)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_exercises_have_check_cells_with_stored_output(path):
    nb = nbtools.read(path)
    exercises = nbtools.exercise_cells(nb)
    assert len(exercises) >= 2, "every notebook has exercises"
    number = path.name[:2].lstrip("0")
    for ex_id, idx in exercises.items():
        assert ex_id.split(".")[0] == number, f"exercise {ex_id} in {path.name}"
        assert ex_id in checks.registered(), f"no checker for exercise {ex_id}"
        check_idx = nbtools.check_cell_index(nb, ex_id)
        assert check_idx is not None and check_idx > idx
        # The check cell is the next code cell after the exercise.
        between = [c for c in nb.cells[idx + 1 : check_idx] if c.cell_type == "code"]
        assert between == []
        cell = nb.cells[check_idx]
        assert cell.source.splitlines()[0] == nbtools.CHECK_MARKER
        assert cell.execution_count is not None, "nbval skips cells never run"
        text = "".join(o.get("text", "") for o in cell.outputs)
        assert [o.output_type for o in cell.outputs] == ["stream"]
        assert text.startswith(f"Exercise {ex_id} passed: ") and text.count("\n") == 1


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_outputs_besides_check_cells(path):
    nb = nbtools.read(path)
    checks_idx = {nbtools.check_cell_index(nb, e) for e in nbtools.exercise_cells(nb)}
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and i not in checks_idx:
            assert cell.outputs == [], f"cell {i} keeps outputs"
    assert path.stat().st_size < 300_000


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_solutions_parse_and_pass_the_grader_scan(path):
    nb = nbtools.read(path)
    for ex_id, idx in nbtools.exercise_cells(nb).items():
        source = nb.cells[idx].source
        ast.parse(source)
        assert nbtools.BEGIN in source and nbtools.END in source
        assert scan_exercise_source(source) is None, ex_id


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_skeleton(path):
    nb = nbtools.read(path)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert nb.cells[0].source.startswith("# ")
    for heading in ("Learning objectives", "## Summary", "Further exercises"):
        assert heading in text, heading
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert "import *" not in cell.source
            assert max(map(len, cell.source.splitlines() or [""])) <= 88


def test_every_exercise_solution_loads_from_its_notebook():
    from solutions import solution

    for path in nbtools.list_notebooks():
        nb = nbtools.read(path)
        for exercise_id in nbtools.exercise_cells(nb):
            fn = solution(path.stem, exercise_id)
            assert callable(fn)
            assert fn.__code__.co_filename == f"<{path.stem} exercise {exercise_id}>"


def test_every_notebook_states_its_time_budget():
    for path in nbtools.list_notebooks():
        budget = nbtools.time_budget(nbtools.read(path))
        # 3 minutes, 4 for the image notebooks (the README)
        assert budget in (180, 240), path.stem
        assert "course" in nbtools.read(path).metadata, path.stem


def _presets(nb):
    """The ``PRESETS = {...}`` assignment of a notebook, evaluated, or None."""
    for cell in nb.cells:
        if cell.cell_type != "code" or "PRESETS = " not in cell.source:
            continue
        for node in ast.parse(cell.source).body:
            target = ast.unparse(node.targets[0]) if isinstance(node, ast.Assign) else ""
            if target == "PRESETS":
                return eval(compile(ast.Expression(node.value), "PRESETS", "eval"),
                            {"__builtins__": {}, "dict": dict})
    return None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_presets_start_from_the_parameters_cell(path):
    nb = nbtools.read(path)
    presets = _presets(nb)
    if presets is None:
        pytest.skip("no presets")
    defaults = nbtools.parameter_defaults(nb)
    assert defaults["PRESET"] == "laptop"
    for name, value in presets["laptop"].items():
        assert type(defaults[name]) is type(value) and defaults[name] == value, name
    for preset, values in presets.items():
        assert set(values) == set(presets["laptop"]), preset


def test_dcgan_has_the_gpu_preset_of_the_paper():
    nb = nbtools.read(next(p for p in NOTEBOOKS if p.name.startswith("06_")))
    gpu = _presets(nb)["gpu"]
    assert gpu["DATA"] == "full" and gpu["LR_G"] == gpu["LR_D"] == 2e-4
    assert (gpu["BETA1"], gpu["BATCH_SIZE"], gpu["LATENT_DIM"]) == (0.5, 128, 100)


def _student_or_args(node):
    """(exercise id, answer name) of a ``checks.student_or("N.M", name, ...)`` call."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "student_or" and len(node.args) >= 3
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[1], ast.Name)):
        return node.args[0].value, node.args[1].id
    return None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_later_cells_reach_exercise_functions_through_student_or(path):
    """An unsolved exercise must not stop the cells after it: they call the
    student's function only through checks.student_or, which falls back on the
    course's version."""
    nb = nbtools.read(path)
    exercises = nbtools.exercise_cells(nb)
    check_cells = {nbtools.check_cell_index(nb, ex) for ex in exercises}
    defined = {}
    for ex_id, idx in exercises.items():
        for node in ast.parse(nb.cells[idx].source).body:
            if isinstance(node, ast.FunctionDef):
                defined[node.name] = (ex_id, idx)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or i in check_cells or i in exercises.values():
            continue
        tree = ast.parse(cell.source)
        wrapped = set()
        for node in ast.walk(tree):
            args = _student_or_args(node)
            if args is not None:
                ex_id, name = args
                assert defined.get(name, (None,))[0] == ex_id, (i, args)
                wrapped.add(id(node.args[1]))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Name) and node.id in defined
                    and defined[node.id][1] < i and id(node) not in wrapped):
                raise AssertionError(
                    f"cell {i} calls {node.id} (Exercise {defined[node.id][0]}) "
                    "directly; go through checks.student_or")


KINDS = ("derive", "predict", "design", "transcribe")


def test_exercise_kinds_two_thirds_ask_for_more_than_a_transcription():
    """An exercise cell's metadata says what it asks of the student: to derive a
    result, predict a number before the run that shows it, design a piece the
    notebook then uses, or transcribe a formula printed above it. At least two
    thirds of the course's exercises ask for more than a transcription."""
    kinds = {}
    for path in NOTEBOOKS:
        nb = nbtools.read(path)
        for ex_id, idx in nbtools.exercise_cells(nb).items():
            kinds[ex_id] = nb.cells[idx].metadata.get("kind")
            assert kinds[ex_id] in KINDS, f"exercise {ex_id}: kind {kinds[ex_id]!r}"
    thinking = sum(kind != "transcribe" for kind in kinds.values())
    assert 3 * thinking >= 2 * len(kinds), (thinking, len(kinds))


def test_tagged_sources_joins_a_tags_cells_and_refuses_a_missing_tag():
    path = nbtools.find_notebook("05")
    sources = nbtools.tagged_sources(path, ("parameters", "moons-infogan"))
    nb = nbtools.read(path)
    tagged = [c.source for c in nb.cells if "moons-infogan" in c.metadata.get("tags", [])]
    assert len(tagged) >= 2 and sources["moons-infogan"] == "\n\n".join(tagged)
    assert sources["parameters"] == nb.cells[nbtools.parameters_index(nb)].source
    with pytest.raises(RuntimeError, match="0 cells tagged 'no-such-tag'"):
        nbtools.tagged_sources(path, ("no-such-tag",))
