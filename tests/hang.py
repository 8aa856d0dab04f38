"""Code that makes a running kernel hang the way a lost message does, for the
tests of the runner's and the grader's watchdogs.

Run in a cell, :func:`hang_source` wraps the kernel's message sending so that
the kernel does its work but one reply never reaches the client:

- ``"reply"``: the cell's own ``execute_reply`` is dropped; the kernel still
  reports ``idle`` for the cell, so the client waits for a reply that was lost;
- ``"request"``: everything the kernel sends about the next cell (its
  ``busy``, outputs, reply and ``idle``) is dropped, as if that request had
  never reached it; the kernel stays idle from the client's point of view;
- ``"kernel_info"``: the next ``kernel_info_reply`` is dropped (papermill asks
  for one once every cell has run).

With ``marker`` set, the hang happens only while that file does not exist,
and the cell creates it: the first run hangs, a rerun goes through. The code
gets past the grader's source scan, so it can stand in a student's cell.
"""

KERNEL = "getattr(torch.sys, 'mod' + 'ules')['IPython'].get_ipython().kernel"


def hang_source(mode: str, marker: str | None = None) -> str:
    if mode in ("reply", "kernel_info"):
        lost = {"reply": "execute_reply", "kernel_info": "kernel_info_reply"}[mode]
        drop = (
            f"    if msg_or_type == {lost!r}:\n"
            "        hang_kernel.session.send = hang_send\n"
            "        return {'content': {'status': 'ok'}}\n"
        )
    elif mode == "request":
        drop = (
            "    parent = kwargs.get('parent', args[1] if len(args) > 1 else None)\n"
            "    parent_id = (parent or {}).get('header', {}).get('msg_id')\n"
            "    if parent_id and parent_id != hang_own:\n"
            "        if msg_or_type == 'status' and args[0] == {'execution_state': "
            "'idle'}:\n"
            "            hang_kernel.session.send = hang_send\n"
            "        return {'content': {'status': 'ok'}}\n"
        )
    else:
        raise ValueError(mode)
    condition = "True" if marker is None else f"not pl.Path({marker!r}).exists()"
    touch = "" if marker is None else f"pl.Path({marker!r}).touch()\n"
    return (
        "import pathlib as pl\n"
        "import torch\n"
        f"hang_kernel = {KERNEL}\n"
        "hang_send = hang_kernel.session.send\n"
        "hang_own = hang_kernel.get_parent('shell')['header']['msg_id']\n\n\n"
        "def hang_drop(stream, msg_or_type, *args, **kwargs):\n"
        + drop
        + "    return hang_send(stream, msg_or_type, *args, **kwargs)\n\n\n"
        f"if {condition}:\n"
        "    hang_kernel.session.send = hang_drop\n"
        + touch
    )
