"""Headless execution of the course: ``python -m course_utils run``.

Each notebook is executed with papermill into the output folder; its recorded
metrics (see :mod:`course_utils.recording`) are collected into ``report.json``
and ``report.md``. A failing notebook is reported with the failing cell and its
error, the others still run.

A watchdog notices a kernel that sits idle while a cell is still waiting for
its reply (see :func:`_watched_engine`). Such a notebook is stopped and run
once more from the start, and the report says so; a second hang fails it.
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

__all__ = ["run_notebooks", "write_report", "KernelWentIdle"]

IDLE_LIMIT_VAR = "COURSE_KERNEL_IDLE_LIMIT"
IDLE_LIMIT = 60.0  # seconds a kernel may sit idle while a cell awaits its reply


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


class KernelWentIdle(RuntimeError):
    """The kernel sat idle while a cell was still waiting for its reply."""

    def __init__(self, message: str, cell_index: int | None = None):
        super().__init__(message)
        self.cell_index = cell_index


def idle_limit_default() -> float:
    """The watchdog's limit: ``COURSE_KERNEL_IDLE_LIMIT`` seconds, else 60."""
    text = os.environ.get(IDLE_LIMIT_VAR, "").strip()
    return float(text) if text else IDLE_LIMIT


WATCH_SLICE = 0.5  # seconds between two looks of the watchdog


def _watched_engine() -> str:
    """Register (once) and name a papermill engine whose client runs a watchdog.

    It is papermill's own nbclient engine with :class:`_WatchedClient` in place
    of papermill's client; everything else is unchanged.
    """
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from jupyter_core.utils import ensure_async, run_sync
    from papermill.utils import merge_kwargs, remove_args
    from traitlets import Float

    name = "course-watched"
    if name in papermill_engines._engines:
        return name

    class _WatchedClient(PapermillNotebookClient):
        """papermill's client with a watchdog on each cell's reply.

        ipykernel reports ``busy`` on IOPub when it takes up an execute request
        and ``idle`` when it is done with it, after sending the reply on the
        shell channel. So a kernel whose last word about the pending request is
        ``idle`` (or that never reported ``busy`` for it: the request was not
        taken up) owes nothing but the reply. If that state lasts
        ``idle_limit`` seconds, the run is hung: the reply is lost and only the
        cell's time limit would end the wait. The watchdog then raises
        :class:`KernelWentIdle`. A kernel that reported ``busy`` is working
        and is never interrupted, however long the cell runs. The request
        papermill sends once every cell has run (``kernel_info``) has the same
        limit for its answer.
        """

        idle_limit = Float(IDLE_LIMIT).tag(config=True)

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._status_of = {}  # msg id -> (last state reported, when)

        def process_message(self, msg, cell, cell_index):
            # nbclient hands over the IOPub messages of the pending request only.
            if msg.get("msg_type") == "status":
                state = msg.get("content", {}).get("execution_state")
                parent = msg.get("parent_header", {}).get("msg_id")
                if state in ("busy", "idle") and parent:
                    self._status_of[parent] = (state, time.monotonic())
            return super().process_message(msg, cell, cell_index)

        async def _async_poll_for_reply(
            self, msg_id, cell, timeout, task_poll_output_msg, task_poll_kernel_alive
        ):
            import asyncio

            sent = time.monotonic()
            reply = asyncio.ensure_future(
                super()._async_poll_for_reply(
                    msg_id, cell, timeout, task_poll_output_msg, task_poll_kernel_alive
                )
            )
            try:
                while True:
                    await asyncio.wait({reply}, timeout=WATCH_SLICE)
                    if reply.done():
                        return reply.result()
                    state, since = self._status_of.get(msg_id, ("unstarted", sent))
                    if state == "busy" or time.monotonic() - since <= self.idle_limit:
                        continue
                    if not await ensure_async(self.kc.is_alive()):
                        continue  # nbclient reports a dead kernel itself
                    task_poll_kernel_alive.cancel()
                    index = next(
                        (i for i, c in enumerate(self.nb.cells) if c is cell), None
                    )
                    where = "a cell" if index is None else f"cell {index}"
                    if state == "idle":
                        why = (
                            f"the kernel finished {where} and reported idle, but "
                            "no reply to its execute request came in "
                            f"{self.idle_limit:g} s"
                        )
                    else:
                        why = (
                            f"the kernel stayed idle for {self.idle_limit:g} s after "
                            f"{where} was sent: it neither took it up nor replied"
                        )
                    raise KernelWentIdle(why, index)
            finally:
                if not reply.done():
                    reply.cancel()
                self._status_of.pop(msg_id, None)

        def wait_for_reply(self, msg_id, cell=None):
            if cell is not None:
                return super().wait_for_reply(msg_id, cell)
            return run_sync(self._async_wait_outside_cells)(msg_id)

        async def _async_wait_outside_cells(self, msg_id):
            # papermill's kernel_info request once every cell has run: an idle
            # kernel answers it at once, so no answer within the limit is a hang.
            deadline = time.monotonic() + self.idle_limit
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise KernelWentIdle(
                        "the kernel ran every cell but did not answer the closing "
                        f"kernel_info request in {self.idle_limit:g} s"
                    )
                try:
                    shell = self.kc.shell_channel
                    msg = await ensure_async(shell.get_msg(timeout=left))
                except Empty:
                    await self._async_check_alive()
                    continue
                if msg["parent_header"].get("msg_id") == msg_id:
                    return msg

    class _WatchedEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(
            cls,
            nb_man,
            kernel_name,
            log_output=False,
            stdout_file=None,
            stderr_file=None,
            start_timeout=60,
            execution_timeout=None,
            **kwargs,
        ):
            # As NBClientEngine.execute_managed_notebook, with the watched client.
            kwargs = remove_args(["input_path"], **kwargs)
            safe_kwargs = remove_args(["timeout", "startup_timeout"], **kwargs)
            final_kwargs = merge_kwargs(
                safe_kwargs,
                timeout=execution_timeout or kwargs.get("timeout"),
                startup_timeout=start_timeout,
                kernel_name=kernel_name,
                log=logger,
                log_output=log_output,
                stdout_file=stdout_file,
                stderr_file=stderr_file,
            )
            return _WatchedClient(nb_man, **final_kwargs).execute()

    from papermill.log import logger

    papermill_engines.register(name, _WatchedEngine)
    return name


def run_notebooks(
    names: list[str] | None,
    parameters: dict,
    out_dir: Path,
    *,
    cell_timeout: int | None = 1800,
    log=print,
    suffix: str = "",
    report: dict | None = None,
    idle_limit: float | None = None,
) -> dict:
    """Execute the named notebooks (all by default) and return the report dict.

    A notebook whose kernel sits idle for ``idle_limit`` seconds (default
    :func:`idle_limit_default`) while a cell still waits for its reply is run
    once more from the start; its entry's ``restarted`` says where and why
    (None when it ran through at once). A second hang fails it.

    ``suffix`` is added to each executed notebook's file name (sweeps use it);
    ``report`` is an existing report to append to.
    """
    import papermill as pm

    _poll_in_slices()
    engine = _watched_engine()
    idle_limit = idle_limit_default() if idle_limit is None else float(idle_limit)
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
            "restarted": None,
        }
        old = os.environ.get(ENV_VAR)
        old_strict = os.environ.get(STRICT_VAR)
        os.environ[ENV_VAR] = str(metrics_file.resolve())
        # The text's claims about training runs hold for the course's own recipe on
        # every seed: they raise unless a parameter other than SEED was changed.
        os.environ[STRICT_VAR] = "1" if _own_recipe(path, parameters) else "0"
        try:
            for attempt in (1, 2):
                metrics_file.unlink(missing_ok=True)
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
                        engine_name=engine,
                        idle_limit=idle_limit,
                    )
                except KernelWentIdle as exc:
                    seconds = round(time.perf_counter() - start, 2)
                    if attempt == 1:
                        entry["restarted"] = {
                            "cell": exc.cell_index,
                            "reason": str(exc),
                            "seconds": seconds,
                        }
                        log(f"    hung after {seconds:.1f} s ({exc}); "
                            "restarting it once from the start", flush=True)
                        continue
                    entry["status"] = "failed"
                    first = entry["restarted"]["reason"]
                    entry["error"] = (
                        f"the kernel hung again after a restart: {exc}"
                        + (" (the first run hung the same way)" if first == str(exc)
                           else f" (the first run: {first})")
                    )
                except Exception as exc:  # papermill errors, timeouts, kernel deaths
                    entry["status"] = "failed"
                    entry["error"] = _failure_text(exc)
                    if type(exc).__name__ != "PapermillExecutionError":
                        entry["error"] += (
                            "\n"
                            + "".join(
                                traceback.format_exception_only(type(exc), exc)
                            ).strip()
                        )
                entry["seconds"] = round(time.perf_counter() - start, 2)
                break
        finally:
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


def _status_text(entry: dict) -> str:
    """The status as the tables show it: a restart is said next to it."""
    if entry.get("restarted"):
        return f"{entry['status']} (restarted once)"
    return entry["status"]


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
            _status_text(e),
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
    restarted = [e for e in report["notebooks"] if e.get("restarted")]
    if restarted:
        lines += ["", "## Restarts", ""]
        for e in restarted:
            r = e["restarted"]
            lines.append(
                f"- **{e['name']}** was stopped after {_fmt(r['seconds'])} s and run "
                f"again from the start: {r['reason']}. Its seconds are the second "
                "run's."
            )
    total = sum(e["seconds"] or 0 for e in report["notebooks"])
    lost = sum(e["restarted"]["seconds"] or 0 for e in restarted)
    lines += [
        "",
        f"Total: {total:.1f} s for {len(report['notebooks'])} notebook(s)"
        + (f", and {lost:.1f} s in hung runs." if restarted else "."),
    ]
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
        row += [_status_text(e), _fmt(e["seconds"])]
        row += [_fmt(e["metrics"].get(m, "-")) for m in metric_names]
        lines.append("| " + " | ".join(row) + " |")
    (Path(out_dir) / "sweep.md").write_text("\n".join(lines) + "\n")
