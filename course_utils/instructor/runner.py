"""Headless execution of the course: ``python -m course_utils run``.

Each notebook is executed with papermill into the output folder; its recorded
metrics (see :mod:`course_utils.recording`) are collected into ``report.json``
and ``report.md``. A failing notebook is reported with the failing cell and its
error, the others still run.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from pathlib import Path
from queue import Empty

from course_utils.instructor import notebooks as nbtools
from course_utils.paths import NOTEBOOKS_DIR, REPO_DIR
from course_utils.recording import ENV_VAR, STRICT_VAR

__all__ = ["run_notebooks", "write_report"]


def _failure_text(exc: BaseException) -> str:
    """A short description of why a notebook failed, naming the cell."""
    name = type(exc).__name__
    if name == "PapermillExecutionError":
        cell = getattr(exc, "exec_count", None)
        index = getattr(exc, "cell_index", None)
        where = f"cell {index}" if index is not None else "a cell"
        if cell is not None:
            where += f" (execution count {cell})"
        return f"{where} raised {exc.ename}: {exc.evalue}"
    if "Timeout" in name or "timeout" in str(exc).lower():
        return f"timed out: {exc}"
    return f"{name}: {exc}"


POLL_SLICE = 1.0  # seconds: the longest single wait for a kernel's message


def _poll_in_slices() -> None:
    """Make the kernel client's channels wait for a message in slices of at most
    ``POLL_SLICE`` seconds, however long the caller is willing to wait.

    papermill runs notebooks through nbclient, which waits for a cell's reply
    with one poll as long as the cell's time limit. A poll on an asyncio ZeroMQ
    socket wakes on an edge of the socket's file descriptor; when a message
    arrives while the same socket is also sending (as when a cell's widgets
    exchange messages), that edge can be missed, and the run then sits idle,
    the reply waiting, until the time limit (nbclient issue #312). Course runs
    met this at a cell that displays an interactive demo. Each fresh poll first
    looks at the socket's own state, so a waiting message is picked up at the
    next slice; the slices change nothing else.
    """
    from jupyter_client.channels import AsyncZMQSocketChannel

    if getattr(AsyncZMQSocketChannel.get_msg, "polls_in_slices", False):
        return

    async def get_msg(self, timeout: float | None = None) -> dict:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = POLL_SLICE if deadline is None else deadline - time.monotonic()
            wait = min(POLL_SLICE, max(0.0, left))
            if await self.socket.poll(int(wait * 1000)):
                return await self._recv()
            if deadline is not None and time.monotonic() >= deadline:
                raise Empty

    get_msg.polls_in_slices = True
    AsyncZMQSocketChannel.get_msg = get_msg


def run_notebooks(
    names: list[str] | None,
    parameters: dict,
    out_dir: Path,
    *,
    cell_timeout: int | None = 1800,
    log=print,
    suffix: str = "",
    report: dict | None = None,
) -> dict:
    """Execute the named notebooks (all by default) and return the report dict.

    ``suffix`` is added to each executed notebook's file name (sweeps use it);
    ``report`` is an existing report to append to.
    """
    import papermill as pm

    _poll_in_slices()
    paths = (
        [nbtools.find_notebook(n) for n in names] if names else nbtools.list_notebooks()
    )
    if not paths:
        raise FileNotFoundError(f"no notebooks found in {NOTEBOOKS_DIR}")
    # Reject unknown or misspelled parameter names before running anything.
    for path in paths:
        known = nbtools.parameter_defaults(nbtools.read(path))
        unknown = sorted(set(parameters) - set(known))
        if unknown:
            raise ValueError(
                f"{path.stem} has no parameter {', '.join(unknown)}; "
                f"it has {', '.join(sorted(known))}"
            )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    metrics_dir = out_dir / "metrics"
    metrics_dir.mkdir(exist_ok=True)
    report = report if report is not None else {"notebooks": []}
    for number, path in enumerate(paths, 1):
        shown = ", ".join(f"{k}={v!r}" for k, v in parameters.items())
        log(
            f"[{number}/{len(paths)}] {path.stem}"
            + (f" ({shown})" if shown else "")
            + " ...",
            flush=True,
        )
        out_name = f"{path.stem}{suffix}.ipynb"
        metrics_file = metrics_dir / f"{path.stem}{suffix}.json"
        metrics_file.unlink(missing_ok=True)
        entry = {
            "name": path.stem,
            "status": "ok",
            "seconds": None,
            "budget_seconds": nbtools.time_budget(nbtools.read(path)),
            "parameters": dict(parameters),
            "metrics": {},
            "error": None,
            "output": str(out_dir / out_name),
            "source_sha256": nbtools.source_digest(path),
        }
        old = os.environ.get(ENV_VAR)
        old_strict = os.environ.get(STRICT_VAR)
        os.environ[ENV_VAR] = str(metrics_file.resolve())
        # The text's claims about training runs hold for the course's own recipe on
        # every seed: they raise unless a parameter other than SEED was changed.
        os.environ[STRICT_VAR] = "1" if _own_recipe(path, parameters) else "0"
        start = time.perf_counter()
        try:
            pm.execute_notebook(
                str(path),
                str(out_dir / out_name),
                parameters=parameters,
                kernel_name="python3",
                cwd=str(path.parent),
                progress_bar=sys.stderr.isatty(),
                execution_timeout=cell_timeout,
                log_output=False,
            )
        except Exception as exc:  # papermill errors, timeouts, kernel deaths
            entry["status"] = "failed"
            entry["error"] = _failure_text(exc)
            if type(exc).__name__ != "PapermillExecutionError":
                entry["error"] += (
                    "\n"
                    + "".join(traceback.format_exception_only(type(exc), exc)).strip()
                )
        finally:
            entry["seconds"] = round(time.perf_counter() - start, 2)
            for name, value in ((ENV_VAR, old), (STRICT_VAR, old_strict)):
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        if metrics_file.exists():
            try:
                entry["metrics"] = json.loads(metrics_file.read_text())
            except json.JSONDecodeError:
                entry["metrics"] = {}
        status = "ok" if entry["status"] == "ok" else "FAILED"
        log(
            f"    {status} in {entry['seconds']:.1f} s"
            + (f": {entry['error'].splitlines()[0]}" if entry["error"] else ""),
            flush=True,
        )
        report["notebooks"].append(entry)
        write_report(report, out_dir)  # keep what we have if a later one hangs
    return report


def _own_recipe(path: Path, parameters: dict) -> bool:
    """Whether ``parameters`` leave the notebook's recipe as it is: only the seed
    and the device may differ from the defaults."""
    defaults = nbtools.parameter_defaults(nbtools.read(path))
    return all(name in ("SEED", "DEVICE") or defaults.get(name) == value
               for name, value in parameters.items())


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def write_report(report: dict, out_dir: Path) -> None:
    """Write ``report.json`` and ``report.md`` into ``out_dir``."""
    out_dir = Path(out_dir)
    (out_dir / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        "# Course run report",
        "",
        "| notebook | status | seconds | budget | parameters | metrics |",
        "| --- | --- | ---: | ---: | --- | --- |",
    ]
    for e in report["notebooks"]:
        params = (
            ", ".join(f"{k}={v!r}" for k, v in e["parameters"].items()) or "defaults"
        )
        metrics = (
            "<br>".join(f"{k} = {_fmt(v)}" for k, v in e["metrics"].items()) or "-"
        )
        budget = e.get("budget_seconds")
        over = (
            " (over)"
            if budget is not None and e["seconds"] is not None and e["seconds"] > budget
            else ""
        )
        cells = [
            e["name"],
            e["status"],
            _fmt(e["seconds"]),
            ("-" if budget is None else _fmt(budget)) + over,
            params,
            metrics,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    failed = [e for e in report["notebooks"] if e["status"] != "ok"]
    if failed:
        lines += ["", "## Failures", ""]
        for e in failed:
            lines.append(f"- **{e['name']}**: {e['error']}")
    total = sum(e["seconds"] or 0 for e in report["notebooks"])
    lines += ["", f"Total: {total:.1f} s for {len(report['notebooks'])} notebook(s)."]
    (out_dir / "report.md").write_text("\n".join(lines) + "\n")


def default_out_dir() -> Path:
    return REPO_DIR / "build"


def run_sweep(
    name: str,
    grid: dict,
    fixed: dict,
    out_dir: Path,
    *,
    log=print,
    cell_timeout: int | None = 1800,
    one_at_a_time: bool = False,
) -> dict:
    """Run one notebook over the product of ``grid`` (name -> list of values).

    With ``one_at_a_time`` the runs are the notebook's defaults (with ``fixed``),
    labelled "none", and then each value of each grid parameter alone, the
    others at their defaults: an ablation around the defaults instead of the
    full product.
    Every run is a row of ``report.json``; ``sweep.md`` tabulates the grid's
    parameters against every recorded metric.
    """
    import itertools

    names = list(grid)
    if one_at_a_time:
        runs = [{}] + [{n: v} for n in names for v in grid[n]]
    else:
        runs = [dict(zip(names, values))
                for values in itertools.product(*(grid[n] for n in names))]
    report = {"notebooks": []}
    for i, changes in enumerate(runs, 1):
        parameters = dict(fixed)
        parameters.update(changes)
        log(f"run {i}/{len(runs)}", flush=True)
        run_notebooks(
            [name],
            parameters,
            out_dir,
            log=log,
            cell_timeout=cell_timeout,
            suffix=f"__run{i:03d}",
            report=report,
        )
        report["notebooks"][-1]["change"] = (
            ", ".join(f"{n} = {v!r}" for n, v in changes.items()) or "none"
        )
    write_report(report, Path(out_dir))  # again, with each run's change
    write_sweep_table(report, names, Path(out_dir), one_at_a_time=one_at_a_time)
    return report


def write_sweep_table(
    report: dict, names: list, out_dir: Path, *, one_at_a_time: bool = False
) -> None:
    metric_names = sorted({m for e in report["notebooks"] for m in e["metrics"]})
    keys = ["change"] if one_at_a_time else names
    header = keys + ["status", "seconds"] + metric_names
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for e in report["notebooks"]:
        if one_at_a_time:
            row = [e.get("change", "")]
        else:
            row = [_fmt(e["parameters"].get(n)) for n in names]
        row += [e["status"], _fmt(e["seconds"])]
        row += [_fmt(e["metrics"].get(m, "-")) for m in metric_names]
        lines.append("| " + " | ".join(row) + " |")
    (Path(out_dir) / "sweep.md").write_text("\n".join(lines) + "\n")
