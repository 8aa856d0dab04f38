"""The course as students use it: JupyterLab in a real (headless) browser.

nbval runs every cell but cannot see the front end: whether a slider renders,
whether a progress bar is a widget or text on stderr, whether moving a slider
reaches the kernel. These tests start JupyterLab from the course's environment,
open each notebook in headless Chromium, run all its cells at ``QUICK = True``
through the Run menu and look at the page. Screenshots go to ``build/browser/``.

They need a Chromium executable (Debian and Ubuntu: ``apt-get install
chromium``; or set ``COURSE_CHROMIUM`` to one); without it they are skipped,
unless ``COURSE_REQUIRE_BROWSER=1`` (set by ``.ci/run``) makes that a failure.
Playwright drives the installed browser: nothing is downloaded.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

from course_utils.instructor import notebooks as nbtools
from course_utils.paths import BUILD_DIR

pytestmark = pytest.mark.browser

HOW_TO_GET = (
    "no Chromium found: install it with `apt-get install chromium` (Debian, "
    "Ubuntu) or set COURSE_CHROMIUM to a Chromium or Chrome executable"
)
SHOTS = BUILD_DIR / "browser"
NOTEBOOKS = [p.stem for p in nbtools.list_notebooks()]
RUN_TIMEOUT = 420  # seconds for one notebook's Run All at QUICK = True


def _chromium() -> str | None:
    for name in (os.environ.get("COURSE_CHROMIUM"), "chromium", "chromium-browser",
                 "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


@pytest.fixture(scope="module")
def chromium():
    path = _chromium()
    if path is None:
        if os.environ.get("COURSE_REQUIRE_BROWSER") == "1":
            pytest.fail(HOW_TO_GET)
        pytest.skip(HOW_TO_GET)
    return path


@pytest.fixture(scope="module")
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield b
        b.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _quick_copy(path: Path, dest: Path) -> None:
    """The notebook at QUICK = True and on a seed other than its default (nothing in
    a notebook may hold on its default seed only), with no stored outputs (this run
    makes them)."""
    nb = nbtools.read(path)
    cell = nb.cells[nbtools.parameters_index(nb)]
    assert re.search(r"^QUICK = False\b", cell.source, re.M), path.name
    cell.source = re.sub(r"^QUICK = False\b", "QUICK = True", cell.source, flags=re.M)
    seed = nbtools.parameter_defaults(nb)["SEED"]
    cell.source, count = re.subn(r"^SEED = \d+\b", f"SEED = {seed + 1}", cell.source,
                                 flags=re.M)
    assert count == 1, path.name
    # one thread, whatever the notebook's default: make test runs two workers of
    # one thread each, and 06 on two threads beside a busy worker ran three times
    # slower than on one
    cell.source = re.sub(r"^NUM_THREADS = \d+\b", "NUM_THREADS = 1", cell.source,
                         flags=re.M)
    # what the defaults load from data/ (05's two MNIST generators) is trained here,
    # for QUICK's few steps: nbval runs the loading path, this run the training path
    cell.source = re.sub(r'^(\w+_WEIGHTS) = "bundled"', r'\1 = "train"', cell.source,
                         flags=re.M)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nbformat.write(nb, str(dest / path.name))


@pytest.fixture(scope="module")
def lab(chromium, tmp_path_factory):
    """JupyterLab from this environment on a free local port, on copies of the
    notebooks (so nothing it saves reaches notebooks/) and a released set."""
    root = tmp_path_factory.mktemp("lab")
    (root / "notebooks").mkdir()
    for path in nbtools.list_notebooks():
        _quick_copy(path, root / "notebooks")
    subprocess.run(
        [sys.executable, "-m", "course_utils", "release", "--out", str(root / "student")],
        check=True, capture_output=True,
    )
    settings = root / "settings"
    for plugin, values in {
        "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification": {"fetchNews": "false"},
    }.items():
        file = settings / f"{plugin}.jupyterlab-settings"
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(json.dumps(values))
    port = _free_port()
    env = dict(os.environ)
    env.pop("COURSE_METRICS_FILE", None)
    env.update(JUPYTER_CONFIG_DIR=str(root / "config"),
               JUPYTER_RUNTIME_DIR=str(root / "runtime"))
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0", f"--ServerApp.root_dir={root}",
        "--IdentityProvider.token=", "--ServerApp.password=",
        "--LabApp.expose_app_in_browser=True",
        f"--LabApp.user_settings_dir={settings}",
        f"--LabApp.workspaces_dir={root / 'workspaces'}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(root / "lab.log", "w")
    server = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{url}/api/status", timeout=2):
                break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                log.close()
                pytest.fail("JupyterLab did not start:\n"
                            + (root / "lab.log").read_text()[-3000:])
            time.sleep(0.5)
    yield SimpleNamespace(url=url, root=root)
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


# What the notebook's model says, read through JupyterLab's own objects: the
# counts both scripts below return (null while the notebook is not open yet).
_COUNTS_JS = """
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  if (!w || !w.content || !w.sessionContext || !w.content.widgets) return null;
  const session = w.sessionContext.session;
  const cells = w.content.widgets.filter(c => c.model.type === 'code');
  const counts = {
    kernel: session && session.kernel ? session.kernel.status : 'none',
    code: cells.length,
    executed: cells.filter(c => c.model.executionCount !== null).length,
    running: cells.filter(c => {
      const p = c.node.querySelector('.jp-InputPrompt');
      return p && p.textContent.includes('*');
    }).length,
  };"""

# Everything the tests look at, read once a run has finished.
STATE_JS = "() => {" + _COUNTS_JS + """
  const outs = cells.map(c => c.model.outputs.toJSON()).flat();
  const text = o => Array.isArray(o.text) ? o.text.join('') : (o.text || '');
  return Object.assign(counts, {
    errors: outs.filter(o => o.output_type === 'error')
                .map(o => o.ename + ': ' + o.evalue),
    stderr: outs.filter(o => o.output_type === 'stream' && o.name === 'stderr')
                .map(text),
    sliders: w.node.querySelectorAll('.widget-slider').length,
    interacts: w.node.querySelectorAll('.widget-interact').length,
    bars: w.node.querySelectorAll('.widget-hprogress').length,
    players: w.node.querySelectorAll('.animation button').length,
    text: w.node.innerText,
  });
}"""

# Polled every second while a notebook runs: the counts and the number of error
# outputs, without serialising every output (images included) at each poll.
POLL_JS = "() => {" + _COUNTS_JS + """
  let errors = 0;
  for (const c of cells) {
    const outs = c.model.outputs;
    for (let i = 0; i < outs.length; i++) {
      if (outs.get(i).type === 'error') errors++;
    }
  }
  return Object.assign(counts, {errors: errors});
}"""

WIDGET_FAILURES = ("Error displaying widget", "Error rendering", "Failed to load model",
                   "Loading widget")
TEXT_PROGRESS = re.compile(r"\d+%\|")  # tqdm's text bar


def _open(browser, lab, relpath: str, workspace: str):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{lab.url}/lab/workspaces/{workspace}/tree/{relpath}?reset")
    deadline = time.monotonic() + 120
    while True:
        state = page.evaluate(POLL_JS)
        if state is not None and state["kernel"] == "idle" and state["code"] > 0:
            return page
        if time.monotonic() > deadline:
            raise AssertionError(f"{relpath}: the kernel never became idle: {state}")
        time.sleep(0.5)


def _menu(page, menu: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{menu}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{item}$")).first.click()


def _wait_for_run(page, timeout: float) -> dict:
    """Poll until the kernel is idle with no cell running, all cells done or
    stopped at an error."""
    deadline = time.monotonic() + timeout
    time.sleep(1.0)
    quiet = 0
    while True:
        state = page.evaluate(POLL_JS)
        done = state["kernel"] == "idle" and state["running"] == 0
        quiet = quiet + 1 if done else 0
        if quiet >= 3 and (state["executed"] == state["code"] or state["errors"]):
            return page.evaluate(STATE_JS)
        if time.monotonic() > deadline:
            raise AssertionError(f"run did not finish in {timeout} s: {state['kernel']},"
                                 f" {state['executed']}/{state['code']} cells")
        time.sleep(1.0)


def _source(name: str) -> str:
    nb = nbtools.read(nbtools.find_notebook(name))
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_in_jupyterlab(browser, lab, name):
    page = _open(browser, lab, f"notebooks/{name}.ipynb", f"run{name[:2]}")
    try:
        start = time.monotonic()
        _menu(page, "Run", "Run All Cells")
        state = _wait_for_run(page, RUN_TIMEOUT)
        seconds = time.monotonic() - start
        source = _source(name)
        assert state["errors"] == [], f"{name}: error output {state['errors']}"
        assert state["executed"] == state["code"], (
            f"{name}: {state['executed']} of {state['code']} code cells executed"
        )
        for failure in WIDGET_FAILURES:
            assert failure not in state["text"], f"{name}: the page shows {failure!r}"
        text_bars = [s for s in state["stderr"] if TEXT_PROGRESS.search(s)]
        assert not text_bars, f"{name}: progress printed as text: {text_bars[:1]}"
        if "train_gan(" in source:
            assert state["bars"] >= 1, f"{name}: no progress bar widget"
        redrawn = None
        if "widgets.interact(" in source:
            assert state["interacts"] >= 1 and state["sliders"] >= 1, (
                f"{name}: the interactive demo did not render its sliders"
            )
            _slider_reaches_kernel(page, name)
            redrawn = True
        if "animate_training(" in source:
            assert state["players"] >= 5, f"{name}: the animation's player is missing"
            page.locator(".animation").first.scroll_into_view_if_needed()
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"))
        seen = {"code_cells": state["code"], "executed": state["executed"],
                "errors": len(state["errors"]), "sliders": state["sliders"],
                "progress_widgets": state["bars"], "slider_redrew_plot": redrawn,
                "animation_buttons": state["players"],
                "run_all_seconds": round(seconds, 1)}
        (SHOTS / f"{name}.json").write_text(json.dumps(seen, indent=1) + "\n")
    finally:
        page.close()


def _slider_reaches_kernel(page, name: str) -> None:
    """Move the first slider of the first demo with the keyboard; its plot must
    be redrawn by the kernel."""
    box = page.locator(".widget-interact").first
    box.scroll_into_view_if_needed()
    image = box.locator("img").first
    image.wait_for(timeout=60_000)
    before = image.get_attribute("src")
    readout = box.locator(".widget-slider .widget-readout").first
    value = readout.inner_text()
    handle = box.locator(".widget-slider .noUi-handle").first
    handle.focus()
    handle.press("ArrowRight")
    time.sleep(0.5)
    if readout.inner_text() == value:  # the slider starts at its maximum
        handle.press("ArrowLeft")
        handle.press("ArrowLeft")
    deadline = time.monotonic() + 60
    while image.get_attribute("src") == before:
        if time.monotonic() > deadline:
            raise AssertionError(f"{name}: moving the slider did not redraw its plot "
                                 f"(readout {value!r} -> {readout.inner_text()!r})")
        time.sleep(0.5)
    assert readout.inner_text() != value, f"{name}: the slider's readout did not move"


CELL_JS = """i => { const w = window.jupyterapp.shell.currentWidget;
  const c = w.content.widgets[i];
  return {count: c.model.executionCount, outs: c.model.outputs.toJSON(),
          text: c.node.innerText}; }"""

# Run code in the notebook's kernel, as a cell would, and return the reply.
EXECUTE_JS = """async code => { const w = window.jupyterapp.shell.currentWidget;
  const future = w.sessionContext.session.kernel.requestExecute({code: code});
  const reply = await future.done;
  return reply.content; }"""


def test_released_notebook_shows_hints_not_crashes(browser, lab):
    """A student's first Run All: the first exercise is unsolved."""
    name = NOTEBOOKS[0]
    student = nbtools.read(lab.root / "student" / f"{name}.ipynb")
    first = min(nbtools.exercise_cells(student),
                key=lambda e: tuple(int(x) for x in e.split(".")))
    check = nbtools.check_cell_index(student, first)
    function = re.search(r"^def (\w+)\(", student.cells[
        nbtools.exercise_cells(student)[first]].source, re.M).group(1)
    page = _open(browser, lab, f"student/{name}.ipynb", "student")
    try:
        _menu(page, "Run", "Run All Cells")
        state = _wait_for_run(page, RUN_TIMEOUT)
        # Run All stops at the check cell of the first exercise, with one error
        assert len(state["errors"]) == 1, state["errors"]
        out = page.evaluate(CELL_JS, check)
        errors = [o for o in out["outs"] if o["output_type"] == "error"]
        assert [e["ename"] for e in errors] == ["ExerciseFailed"], out["outs"]
        # the check cell shows the hint, not the checker's traceback
        assert f"Exercise {first} is not solved yet" in out["text"]
        assert "raise NotImplementedError" in out["text"]  # what to replace
        assert "File " not in out["text"] and "Traceback" not in out["text"]
        after = next(i for i in range(check + 1, len(student.cells))
                     if student.cells[i].cell_type == "code")
        assert page.evaluate(CELL_JS, after)["count"] is None  # Run All stopped
        # the exercise's function raises NotImplementedError naming the exercise
        reply = page.evaluate(
            EXECUTE_JS,
            f"import inspect\n{function}(*[None] * len(inspect.signature("
            f"{function}).parameters))",
        )
        assert reply["status"] == "error"
        assert (reply["ename"], reply["evalue"]) == (
            "NotImplementedError", f"Exercise {first}")
        # and the kernel is alive, and is the course's environment's Python
        same_env = page.evaluate(
            EXECUTE_JS, f"import sys\nassert sys.prefix == {sys.prefix!r}, sys.prefix")
        assert same_env["status"] == "ok", same_env
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.locator(".jp-Cell").nth(check).scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / f"student_{name}.png"))
    finally:
        page.close()


SITE_JS = """() => ({
  images: [...document.images].map(i => i.complete ? i.naturalWidth : 0),
  maths: [...document.querySelectorAll('math')].map(m => ({
    display: getComputedStyle(m).display,
    width: m.getBoundingClientRect().width})),
  fractions: [...document.querySelectorAll('mfrac')].map(
    f => f.getBoundingClientRect().height),
  buttons: [...document.querySelectorAll('.animation button')].map(
    b => b.innerText.trim()),
  links: [...document.querySelectorAll('a')].map(a => a.getAttribute('href')),
})"""


def test_site_renders_offline(browser, tmp_path):
    """The website of a (quick) course run, loaded with the network cut: its
    images, equations and animation player must render from the files alone."""
    from course_utils.instructor.runner import run_notebooks
    from course_utils.instructor.site import build_site

    build = tmp_path / "build"
    names = ["02_optimal_discriminator", "03_point_cloud_gan"]
    report = run_notebooks(names, {"QUICK": True}, build, log=lambda *a, **k: None)
    assert [e["status"] for e in report["notebooks"]] == ["ok", "ok"]
    index = build_site(build, log=lambda *a, **k: None)
    context = browser.new_context(offline=True, viewport={"width": 1200,
                                                          "height": 1400})
    fetched = []

    def refuse(route):
        fetched.append(route.request.url)
        route.abort()

    context.route(re.compile(r"^(?!file:|data:|blob:).*"), refuse)
    try:
        page = context.new_page()
        page.goto(index.as_uri())
        state = page.evaluate(SITE_JS)
        assert [f"{n}.html" for n in names] == [
            link for link in state["links"] if link.endswith(".html")]
        assert state["maths"] and all(
            m["display"].endswith("math") and m["width"] > 0 for m in state["maths"])
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "site_index.png"))
        for name in names:
            page.goto((index.parent / f"{name}.html").as_uri())
            page.wait_for_load_state("load")
            state = page.evaluate(SITE_JS)
            assert len(state["images"]) >= 3 and all(w > 0 for w in state["images"]), (
                f"{name}: images {state['images']}"
            )
            # MathML laid out by the browser: display "block math"/"inline math"
            bad = [m for m in state["maths"]
                   if not m["display"].endswith("math") or m["width"] <= 0]
            assert len(state["maths"]) > 20 and not bad, f"{name}: equations {bad[:3]}"
            assert state["fractions"] and min(state["fractions"]) > 0
            if name.startswith("03"):
                assert len(state["buttons"]) >= 5 and all(state["buttons"]), (
                    f"the animation's buttons are blank: {state['buttons']}"
                )
            page.screenshot(path=str(SHOTS / f"site_{name}.png"))
        assert fetched == [], f"the site tried the network: {fetched}"
    finally:
        context.close()
