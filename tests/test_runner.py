"""``python -m course_utils run``: the course's headless execution and report."""

import json
import subprocess
import sys

import nbformat
import pytest


def run_cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "course_utils", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=600,
    )


@pytest.fixture(scope="module")
def broken_notebook(tmp_path_factory):
    path = tmp_path_factory.mktemp("nbs") / "99_broken.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    params_cell = nbformat.v4.new_code_cell("SEED = 0\nQUICK = False")
    params_cell.metadata["tags"] = ["parameters"]
    nb.cells = [
        params_cell,
        nbformat.v4.new_code_cell(
            "from course_utils import record\nrecord('before_failure', 1.0)"
        ),
        nbformat.v4.new_code_cell("raise ValueError('this cell is broken')"),
    ]
    nbformat.write(nb, str(path))
    return path


def test_run_writes_report_and_continues_after_a_failure(tmp_path, broken_notebook):
    out = tmp_path / "build"
    proc = run_cli(
        "run", str(broken_notebook), "01", "-p", "QUICK", "true", "--out", str(out)
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = json.loads((out / "report.json").read_text())
    broken, first = report["notebooks"]
    assert broken["name"] == "99_broken" and broken["status"] == "failed"
    assert (
        "cell 3" in broken["error"]
        and "ValueError: this cell is broken" in broken["error"]
    )
    assert broken["metrics"] == {"before_failure": 1.0}
    assert first["name"] == "01_minimax_game" and first["status"] == "ok"
    assert first["error"] is None and first["parameters"] == {"QUICK": True}
    assert first["restarted"] is None
    assert first["seconds"] > 0
    assert first["budget_seconds"] == 180 and broken["budget_seconds"] == 180
    assert abs(first["metrics"]["value_at_equilibrium"] + 1.3862944) < 1e-5
    assert (out / "01_minimax_game.ipynb").exists()
    md = (out / "report.md").read_text()
    assert "| 01_minimax_game | ok |" in md and "## Failures" in md
    assert "## Restarts" not in md


def test_bad_parameters_are_refused_before_running(tmp_path):
    proc = run_cli("run", "01", "-p", "NOT_A_PARAM", "1", "--out", str(tmp_path))
    assert proc.returncode == 2
    assert "has no parameter NOT_A_PARAM" in proc.stderr
    assert not (tmp_path / "report.json").exists()
    proc = run_cli("run", "no_such_notebook", "--out", str(tmp_path))
    assert proc.returncode == 2 and "no course notebook" in proc.stderr


def test_parameter_validation_inside_the_notebook_is_reported(tmp_path):
    proc = run_cli("run", "01", "-p", "K", "0", "--out", str(tmp_path))
    assert proc.returncode == 1
    entry = json.loads((tmp_path / "report.json").read_text())["notebooks"][0]
    assert "ParameterError: K must be an int in [1, 20], got 0" in entry["error"]


def test_values_are_read_as_yaml():
    from course_utils.instructor.cli import _parse_value

    assert _parse_value("false") is False
    assert _parse_value("007") == 7
    assert _parse_value("1e-3") == 1e-3
    assert _parse_value("[32, 64]") == [32, 64]
    assert _parse_value("cpu") == "cpu"


@pytest.fixture(scope="module")
def sweep_notebook(tmp_path_factory):
    """A notebook that records a known function of its parameters: the radius
    after NUM_STEPS simultaneous steps on the bilinear game (as 01 does, without
    01's minute of work per run)."""
    return small_notebook(
        tmp_path_factory.mktemp("sweep") / "96_radius.ipynb",
        "SEED = 0\nQUICK = False\nSTEP_SIZE = 0.2\nNUM_STEPS = 100",
        "from course_utils import record\n"
        "steps = 60 if QUICK else NUM_STEPS\n"
        "x, y = 1.0, 0.0\n"
        "for _ in range(steps):\n"
        "    x, y = x - STEP_SIZE * y, y + STEP_SIZE * x\n"
        "record('bilinear_radius_simultaneous', (x * x + y * y) ** 0.5)",
    )


def test_sweep_runs_the_grid_and_tabulates_metrics(tmp_path, sweep_notebook):
    proc = run_cli(
        "sweep",
        str(sweep_notebook),
        "-g",
        "STEP_SIZE",
        "0.1",
        "0.5",
        "-p",
        "QUICK",
        "true",
        "-p",
        "NUM_STEPS",
        "20",
        "--out",
        str(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr
    runs = json.loads((tmp_path / "report.json").read_text())["notebooks"]
    assert [r["parameters"]["STEP_SIZE"] for r in runs] == [0.1, 0.5]
    radii = [r["metrics"]["bilinear_radius_simultaneous"] for r in runs]
    # 60 steps at h: the radius is (1 + h^2)^30
    assert abs(radii[0] - 1.01**30) < 1e-9 and abs(radii[1] - 1.25**30) < 1e-6
    table = (tmp_path / "sweep.md").read_text()
    assert table.splitlines()[0].startswith("| STEP_SIZE | status | seconds |")
    assert len(table.splitlines()) == 4


def test_sweep_one_at_a_time_varies_each_parameter_alone(tmp_path, sweep_notebook):
    proc = run_cli(
        "sweep", str(sweep_notebook), "-g", "STEP_SIZE", "0.5", "-g", "SEED", "1",
        "-p", "QUICK", "true", "-p", "STEP_SIZE", "0.1", "--one-at-a-time",
        "--out", str(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr
    runs = json.loads((tmp_path / "report.json").read_text())["notebooks"]
    assert [r["change"] for r in runs] == [
        "none", "STEP_SIZE = 0.5", "SEED = 1"]
    assert [r["parameters"] for r in runs] == [
        {"QUICK": True, "STEP_SIZE": 0.1},
        {"QUICK": True, "STEP_SIZE": 0.5},
        {"QUICK": True, "STEP_SIZE": 0.1, "SEED": 1},
    ]
    # 60 steps at h: the radius is (1 + h^2)^30, h fixed at 0.1 unless varied
    radii = [r["metrics"]["bilinear_radius_simultaneous"] for r in runs]
    assert [round(r, 6) for r in radii] == [round(1.01**30, 6), round(1.25**30, 6),
                                            round(1.01**30, 6)]
    lines = (tmp_path / "sweep.md").read_text().splitlines()
    assert lines[0].startswith("| change | status | seconds |") and len(lines) == 5
    assert lines[3].startswith("| STEP_SIZE = 0.5 | ok |")


def test_the_runner_waits_for_kernel_messages_in_short_slices():
    """A reply the first poll missed is still picked up within a slice, not at
    the end of the cell's time limit; and no message still means Empty."""
    import asyncio
    import time
    from queue import Empty

    from jupyter_client.channels import AsyncZMQSocketChannel

    from course_utils.instructor import runner

    runner._poll_in_slices()
    runner._poll_in_slices()  # a second call changes nothing
    assert AsyncZMQSocketChannel.get_msg.polls_in_slices

    class Socket:  # ready from the (ready_at)-th poll on
        def __init__(self, ready_at):
            self.waits, self.ready_at = [], ready_at

        async def poll(self, ms):
            self.waits.append(ms)
            await asyncio.sleep(min(ms, 20) / 1000)
            return int(len(self.waits) >= self.ready_at)

    async def recv():
        return {"msg_type": "execute_reply"}

    channel = AsyncZMQSocketChannel.__new__(AsyncZMQSocketChannel)
    channel._recv = recv
    for timeout in (1800, None):
        channel.socket = Socket(ready_at=4)
        assert asyncio.run(channel.get_msg(timeout=timeout)) == {
            "msg_type": "execute_reply"}
        assert len(channel.socket.waits) == 4
        assert max(channel.socket.waits) <= 1000 * runner.POLL_SLICE
    channel.socket = Socket(ready_at=10**9)
    start = time.monotonic()
    with pytest.raises(Empty):
        asyncio.run(channel.get_msg(timeout=0.1))
    assert 0.09 <= time.monotonic() - start < 5


def test_claims_raise_on_the_own_recipe_and_print_when_it_is_changed(tmp_path):
    """A claim holds for the notebook's recipe on any seed; a changed recipe (a
    further exercise) gets the verdict printed and the run goes on."""
    path = tmp_path / "98_claims.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    params_cell = nbformat.v4.new_code_cell("SEED = 0\nQUICK = False\nLR = 0.1")
    params_cell.metadata["tags"] = ["parameters"]
    nb.cells = [
        params_cell,
        nbformat.v4.new_code_cell(
            "from course_utils import claim\nclaim('small_lr', LR < 0.5, 'LR is small')\n"
            "claim('after', True, 'the run went on')"
        ),
    ]
    nbformat.write(nb, str(path))
    out = tmp_path / "build"
    changed = run_cli("run", str(path), "-p", "LR", "0.9", "--out", str(out / "a"))
    assert changed.returncode == 0, changed.stdout + changed.stderr
    entry = json.loads((out / "a" / "report.json").read_text())["notebooks"][0]
    assert entry["metrics"] == {"claim_small_lr": False, "claim_after": True}
    own = run_cli("run", str(path), "-p", "LR", "0.9", "-p", "SEED", "3",
                  "--out", str(out / "b"))
    assert own.returncode == 0  # LR changed: still lenient, whatever the seed
    seeds = run_cli("run", str(path), "-p", "SEED", "3", "--out", str(out / "c"))
    assert seeds.returncode == 0
    entry = json.loads((out / "c" / "report.json").read_text())["notebooks"][0]
    assert entry["status"] == "ok" and entry["metrics"]["claim_small_lr"] is True
    nb.cells[0].source = "SEED = 0\nQUICK = False\nLR = 0.9"  # the recipe claims wrong
    nbformat.write(nb, str(path))
    strict = run_cli("run", str(path), "-p", "SEED", "3", "--out", str(out / "d"))
    assert strict.returncode == 1
    entry = json.loads((out / "d" / "report.json").read_text())["notebooks"][0]
    assert "ClaimFailed" in entry["error"] and "LR is small" in entry["error"]


def small_notebook(path, parameters, *cells):
    """A notebook of a parameters cell and code cells, written to ``path``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    params_cell = nbformat.v4.new_code_cell(parameters)
    params_cell.metadata["tags"] = ["parameters"]
    nb.cells = [params_cell] + [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, str(path))
    return path


def hang_notebook(path, *cells):
    return small_notebook(path, "SEED = 0\nQUICK = False", *cells)


def test_a_kernel_idle_with_a_cell_pending_is_restarted_once_and_reported(tmp_path):
    """The first run's reply to cell 2 is lost while the kernel reports idle: the
    notebook is stopped after the idle limit and rerun from the start, which goes
    through; a busy cell longer than the limit is left alone."""
    from hang import hang_source

    from course_utils.instructor import runner

    marker = tmp_path / "hung_once"
    path = hang_notebook(
        tmp_path / "97_hang.ipynb",
        "import time\ntime.sleep(2.5)  # busy for longer than the idle limit",
        hang_source("reply", str(marker)),
        "from course_utils import record\nrecord('after', 1.0)",
    )
    out = tmp_path / "build"
    report = runner.run_notebooks([str(path)], {}, out, idle_limit=1.5,
                                  log=lambda *a, **k: None)
    entry = report["notebooks"][0]
    assert entry["status"] == "ok" and entry["error"] is None, entry
    assert entry["metrics"] == {"after": 1.0}
    restarted = entry["restarted"]
    assert restarted["cell"] == 2 and restarted["seconds"] >= 1.5
    assert restarted["reason"] == (
        "the kernel finished cell 2 and reported idle, but no reply to its execute "
        "request came in 1.5 s")
    saved = json.loads((out / "report.json").read_text())["notebooks"][0]
    assert saved["restarted"] == restarted
    md = (out / "report.md").read_text()
    assert "| 97_hang | ok (restarted once) |" in md
    assert "## Restarts" in md and restarted["reason"] in md


def test_a_second_hang_fails_the_notebook_with_a_clear_error(tmp_path):
    """Here the kernel never takes up cell 2's request (nothing about it comes
    back), in both runs: the notebook fails, saying it hung again after a restart."""
    from hang import hang_source

    from course_utils.instructor import runner

    path = hang_notebook(
        tmp_path / "97_hang.ipynb",
        hang_source("request"),
        "from course_utils import record\nrecord('after', 1.0)",
    )
    out = tmp_path / "build"
    entry = runner.run_notebooks([str(path)], {}, out, idle_limit=1.5,
                                 log=lambda *a, **k: None)["notebooks"][0]
    why = ("the kernel stayed idle for 1.5 s after cell 2 was sent: it neither took "
           "it up nor replied")
    assert entry["status"] == "failed"
    assert entry["restarted"]["reason"] == why
    assert entry["error"] == (
        f"the kernel hung again after a restart: {why} (the first run hung the same "
        "way)")
    md = (out / "report.md").read_text()
    assert "| 97_hang | failed (restarted once) |" in md
    assert f"- **97_hang**: {entry['error']}" in md


def test_a_lost_answer_after_the_last_cell_is_a_hang_too(tmp_path):
    """papermill asks the kernel for its info once every cell has run; an answer
    that never comes is a hang like a lost cell reply."""
    from hang import hang_source

    from course_utils.instructor import runner

    path = hang_notebook(tmp_path / "97_hang.ipynb", hang_source("kernel_info"))
    entry = runner.run_notebooks([str(path)], {}, tmp_path / "build", idle_limit=1.5,
                                 log=lambda *a, **k: None)["notebooks"][0]
    why = ("the kernel ran every cell but did not answer the closing kernel_info "
           "request in 1.5 s")
    assert entry["status"] == "failed" and entry["restarted"]["reason"] == why
    assert entry["restarted"]["cell"] is None
    assert entry["error"] == (
        f"the kernel hung again after a restart: {why} (the first run hung the same "
        "way)")
