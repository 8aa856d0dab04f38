"""A pytest plugin for the grader's nbval runs (introduced in 01_minimax_game).

nbval waits at most 5 seconds for a cell's output messages once the cell has
finished, and reports a timeout otherwise. On a laptop grading a class in
parallel that wait can be longer; a cell that finished is not a cell that
timed out, so the grader gives nbval's output wait a generous limit.

It also watches for a kernel that sits idle while a cell waits for its reply.
nbval waits for a cell's ``execute_reply`` on the shell channel for as long as
the cell's time limit, and reads the cell's IOPub messages only afterwards.
ipykernel reports ``busy`` on IOPub when it takes up an execute request and
``idle`` when it is done with it, after sending the reply. So while the reply
is awaited, this plugin also looks at IOPub (keeping every message it reads
for nbval, in order): a kernel whose last word about the cell is ``idle``, or
that never reported ``busy`` for it, owes nothing but the reply. If that lasts
``--kernel-idle-limit`` seconds, the reply is lost: the cell fails with
:class:`KernelWentIdle` (its message starts with :data:`HANG_MARK`) and the
session stops there, so that the grader can run the notebook again. A kernel
that reported ``busy`` is working and is left alone, however long the cell; a
kernel that died is left to nbval, as before.
"""

import time
from collections import deque
from queue import Empty

import pytest

OUTPUT_WAIT_SECONDS = 60
IDLE_LIMIT_SECONDS = 60.0
POLL_SLICE = 0.5  # seconds between two looks at IOPub while a reply is awaited
HANG_MARK = "KernelWentIdle:"


class KernelWentIdle(Exception):
    """The kernel sat idle while the cell was still waiting for its reply."""

    def __str__(self):
        return f"{HANG_MARK} {self.args[0]}"


def pytest_addoption(parser):
    parser.addoption(
        "--kernel-idle-limit",
        type=float,
        default=IDLE_LIMIT_SECONDS,
        help="seconds a kernel may sit idle while a cell waits for its reply",
    )


def pytest_configure(config):
    _watch_replies(config.getoption("kernel_idle_limit"))


def pytest_collection_modifyitems(session, config, items):
    for item in items:
        if hasattr(item, "output_timeout"):
            item.output_timeout = OUTPUT_WAIT_SECONDS


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_makereport(item, call):
    if call.excinfo is not None and call.excinfo.errisinstance(KernelWentIdle):
        item.session.shouldstop = str(call.excinfo.value)


def _watch_replies(limit: float) -> None:
    """Give nbval's kernel a watchdog on each cell's reply (see the module)."""
    from nbval.kernel import RunningKernel

    RunningKernel.idle_limit = float(limit)
    if getattr(RunningKernel.await_reply, "watched", False):
        return
    get_message = RunningKernel.get_message
    await_reply = RunningKernel.await_reply
    execute_cell_input = RunningKernel.execute_cell_input

    def held(self) -> deque:
        return self.__dict__.setdefault("_held_iopub", deque())

    def watched_get_message(self, stream, timeout=None):
        if stream == "iopub" and held(self):
            return held(self).popleft()
        return get_message(self, stream, timeout=timeout)

    def watched_execute_cell_input(self, cell_input, allow_stdin=None):
        msg_id = execute_cell_input(self, cell_input, allow_stdin=allow_stdin)
        self._watched_msg_id = msg_id
        return msg_id

    def watched_await_reply(self, msg_id, timeout=None):
        if msg_id != getattr(self, "_watched_msg_id", None):
            return await_reply(self, msg_id, timeout=timeout)
        sent = time.monotonic()
        deadline = None if timeout is None else sent + timeout
        state, since = "unstarted", sent
        while True:
            left = POLL_SLICE if deadline is None else deadline - time.monotonic()
            try:
                msg = get_message(self, "shell", timeout=min(POLL_SLICE, max(0, left)))
            except Empty:
                pass
            else:
                if msg["parent_header"].get("msg_id") == msg_id:
                    if msg["content"]["status"] == "aborted":
                        raise RuntimeError("Kernel aborted execution request")
                    return
            while True:  # read what IOPub has, and keep it for nbval
                try:
                    news = self.kc.get_iopub_msg(timeout=0)
                except Empty:
                    break
                held(self).append(news)
                if (
                    news["msg_type"] == "status"
                    and news["parent_header"].get("msg_id") == msg_id
                    and news["content"].get("execution_state") in ("busy", "idle")
                ):
                    state, since = news["content"]["execution_state"], time.monotonic()
            if (
                state != "busy"
                and time.monotonic() - since > self.idle_limit
                and self.is_alive()  # a dead kernel is nbval's to report
            ):
                if state == "idle":
                    raise KernelWentIdle(
                        "the kernel finished the cell and reported idle, but no "
                        f"reply to its execute request came in {self.idle_limit:g} s"
                    )
                raise KernelWentIdle(
                    f"the kernel stayed idle for {self.idle_limit:g} s after the cell "
                    "was sent: it neither took it up nor replied"
                )
            if deadline is not None and time.monotonic() >= deadline:
                raise Empty

    watched_await_reply.watched = True
    RunningKernel.get_message = watched_get_message
    RunningKernel.execute_cell_input = watched_execute_cell_input
    RunningKernel.await_reply = watched_await_reply
