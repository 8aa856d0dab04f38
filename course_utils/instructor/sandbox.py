"""Run one grading job in an isolated process tree (Linux: util-linux tools).

Introduced in 01_minimax_game (the grader, ``python -m course_utils grade``).

What a sandboxed job gets, on Linux with ``unshare``, ``setpriv`` and ``prlimit``
(util-linux, present on Debian and Ubuntu):

- its own network namespace with only the loopback interface: no network;
- its own PID namespace: when the job ends or is killed, every process it
  started (kernels, threads, daemons) is killed with it;
- its own mount namespace, in which the course's package and data, the virtual
  environment and the Python installation are mounted read-only, the rest of
  the course's repository (solution notebooks, tests, history) is hidden, ``/tmp`` is the job's own
  scratch folder, ``/var/tmp`` and ``/dev/shm`` are empty private tmpfs, and
  the instructor's home folder is hidden behind an empty tmpfs;
- an empty environment (none of the instructor's variables) with a private
  ``HOME`` inside the scratch folder;
- when the grader runs as root: the unprivileged user ``nobody``, no
  capabilities and ``no_new_privs``; otherwise the instructor's own user
  inside a user namespace (files outside the read-only mounts stay writable
  for it, which the README says);
- limits on address space (:data:`ADDRESS_SPACE_MB`) and file size
  (``prlimit``), and the caller's wall-clock timeout.

Where these tools are missing or not permitted, :func:`isolation` says so and
the grader runs the job unsandboxed, saying that submissions are not isolated.
"""

from __future__ import annotations

import os
import shlex
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from course_utils.paths import DATA_DIR, NOTEBOOKS_DIR, PACKAGE_DIR, REPO_DIR

__all__ = ["Isolation", "isolation", "wrap", "NOBODY"]

NOBODY = 65534
# The job's address-space limit. It bounds virtual memory, not RAM: a kernel
# with torch and matplotlib loaded reserves about 4 GiB of address space while
# using under 1 GiB, and a limit below what it reserves makes allocations fail
# deep inside libraries, which hangs the kernel instead of raising.
ADDRESS_SPACE_MB = 16 * 1024
# The job's private view of these folders: empty tmpfs (``/tmp`` is the job's folder).
_PRIVATE_TMPFS = ("/var/tmp", "/dev/shm")


@dataclass(frozen=True)
class Isolation:
    """How submissions are isolated on this machine."""

    mode: str  # "root" (drops to nobody), "userns" (own user), or "none"
    detail: str

    @property
    def isolated(self) -> bool:
        return self.mode != "none"


def _required_paths() -> list[Path]:
    """Folders the job must read: the package, its data, the venv and Python."""
    paths = {Path(PACKAGE_DIR).resolve(), Path(sys.prefix).resolve()}
    if Path(DATA_DIR).is_dir():
        paths.add(Path(DATA_DIR).resolve())
    paths.add(Path(sys.base_prefix).resolve())
    paths.add(Path(os.path.realpath(sys.executable)).parent.parent)
    # Keep only the outermost of nested paths.
    out = []
    for p in sorted(paths, key=lambda q: len(q.parts)):
        if not any(p == q or q in p.parents for q in out):
            out.append(p)
    return out


def _hidden_paths(paths: list[Path], home: Path | None, extra=()) -> list[Path]:
    """Folders to hide behind an empty tmpfs: the course's repository (solution
    notebooks, tests, history, build outputs), the instructor's home, ``extra``
    folders, and any ancestor of a required path that others cannot enter."""
    hide = {Path(REPO_DIR).resolve(), Path(NOTEBOOKS_DIR).resolve()}
    hide.update(Path(p).resolve() for p in extra)
    if home is not None and home != Path("/") and home.is_dir():
        hide.add(home)
    for p in paths:
        for a in reversed(p.parents):
            if a == Path("/"):
                continue
            try:
                mode = a.stat().st_mode
            except OSError:
                continue
            if not mode & stat.S_IXOTH:
                hide.add(a)
                break
    # Drop ones inside another (the outer tmpfs hides them already).
    out = []
    for p in sorted(hide, key=lambda q: len(q.parts)):
        if not any(q in p.parents for q in out):
            out.append(p)
    return out


def _script(workdir: Path, argv: list[str], env: dict, as_root: bool, mem: int,
            hide=()) -> str:
    """The shell script run as (namespace) root before dropping to the job."""
    q = shlex.quote
    paths = _required_paths()
    home = Path(os.path.expanduser("~")).resolve()
    all_hidden = _hidden_paths(paths, home, hide)
    hidden = [h for h in all_hidden
              if not any(h == p or p in h.parents for p in paths)]
    hidden_inside = [h for h in all_hidden if h not in hidden]
    tmp = Path("/tmp")
    stage = workdir / ".stage"
    lines = [
        "set -eu",
        "mount --make-rprivate /",
        f"mkdir -p {q(str(stage))}",
        f"mount -t tmpfs -o mode=700,size=1m tmpfs {q(str(stage))}",
    ]
    # 1. keep the required folders reachable, read-only
    for i, p in enumerate(paths):
        s = stage / str(i)
        lines += [f"mkdir {q(str(s))}", f"mount --rbind {q(str(p))} {q(str(s))}"]
    # 2. hide what must not be seen or written
    for h in hidden:
        lines.append(f"mount -t tmpfs -o mode=755,size=1m tmpfs {q(str(h))}")
    for d in _PRIVATE_TMPFS:
        if Path(d).is_dir():
            lines.append(f"mount -t tmpfs -o mode=1777,size=256m tmpfs {d}")
    lines.append(f"mount --rbind {q(str(workdir))} {q(str(tmp))}")
    staged = tmp / ".stage"
    # 3. put the required folders back, read-only
    for i, p in enumerate(paths):
        s = staged / str(i)
        lines += [
            f"mkdir -p {q(str(p))} 2>/dev/null || true",
            f"mount --rbind {q(str(s))} {q(str(p))}",
            f"mount -o remount,bind,ro {q(str(p))}",
        ]
    for h in hidden_inside:
        lines.append(f"mount -t tmpfs -o mode=755,size=1m tmpfs {q(str(h))}")
    lines += [
        f"umount -l {q(str(staged))}",
        f"rmdir {q(str(staged))} 2>/dev/null || true",
        "ip link set lo up 2>/dev/null || ifconfig lo up 2>/dev/null || true",
        f"cd {q(str(tmp))}",
    ]
    drop = ""
    if as_root:
        drop = (
            f"setpriv --reuid={NOBODY} --regid={NOBODY} --clear-groups "
            "--no-new-privs --inh-caps=-all --bounding-set=-all "
        )
    limits = f"prlimit --as={mem} --fsize={2**30} -- "
    env_args = " ".join(q(f"{k}={v}") for k, v in env.items())
    command = " ".join(q(a) for a in argv)
    lines.append(f"exec {drop}{limits}env -i {env_args} {command}")
    return "\n".join(lines)


def _unshare_argv(as_root: bool) -> list[str]:
    argv = ["unshare"]
    if not as_root:
        argv.append("--map-root-user")
    return argv + [
        "--mount",
        "--net",
        "--pid",
        "--ipc",
        "--uts",
        "--fork",
        "--kill-child",
        "--mount-proc",
    ]


def job_env(home: Path, extra: dict | None = None) -> dict:
    """The whole environment a job sees: nothing of the instructor's."""
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "TMPDIR": str(home.parent),
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(home / ".matplotlib"),
        "JUPYTER_RUNTIME_DIR": str(home / ".jupyter-runtime"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        # one thread per job, so parallel grading does not slow every job down
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
    }
    if "COURSE_DATA_DIR" in os.environ:
        env["COURSE_DATA_DIR"] = str(Path(DATA_DIR).resolve())
    env.update(extra or {})
    return env


def wrap(workdir: Path, argv: list[str], env: dict, *, memory_mb: int = ADDRESS_SPACE_MB,
         mode: str | None = None, hide=()) -> list[str]:
    """The command that runs ``argv`` sandboxed with ``workdir`` as its ``/tmp``.

    ``argv`` and ``env`` must name paths as the job sees them (``/tmp/...``);
    ``hide`` names more folders the job must not see (the solutions).
    """
    mode = mode or isolation().mode
    if mode == "none":
        raise RuntimeError("no sandbox on this machine")
    as_root = mode == "root"
    script = _script(Path(workdir), argv, env, as_root, memory_mb * 2**20, hide)
    return _unshare_argv(as_root) + ["sh", "-c", script]


def prepare_workdir(workdir: Path, mode: str | None = None) -> None:
    """Make the job's folder its own: owned by nobody when the grader is root."""
    mode = mode or isolation().mode
    if mode == "root":
        for dirpath, dirnames, filenames in os.walk(workdir):
            os.chown(dirpath, NOBODY, NOBODY)
            for name in filenames:
                os.chown(os.path.join(dirpath, name), NOBODY, NOBODY)


# Kernel settings that block unprivileged user namespaces, what each means, and how
# an administrator allows them again.
_USERNS_SWITCHES = (
    ("kernel/apparmor_restrict_unprivileged_userns", "1",
     "AppArmor blocks unprivileged user namespaces (Ubuntu 23.10 and later); allow "
     "them with 'sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0', "
     "or grade as root in a container"),
    ("kernel/unprivileged_userns_clone", "0",
     "unprivileged user namespaces are switched off; allow them with "
     "'sudo sysctl -w kernel.unprivileged_userns_clone=1', or grade as root in a "
     "container"),
    ("user/max_user_namespaces", "0",
     "user namespaces are switched off (user.max_user_namespaces = 0); allow them "
     "with 'sudo sysctl -w user.max_user_namespaces=10000', or grade as root in a "
     "container"),
)


def userns_blocked(proc_sys: Path = Path("/proc/sys")) -> str:
    """Why unprivileged user namespaces are blocked here, with the setting that
    allows them, or "" when no known setting blocks them."""
    for name, blocking, why in _USERNS_SWITCHES:
        try:
            value = (proc_sys / name).read_text().strip()
        except OSError:
            continue
        if value == blocking:
            return why
    return ""


@lru_cache(maxsize=None)
def isolation() -> Isolation:
    """Which isolation works here, found by running a tiny job in it."""
    if sys.platform != "linux":
        return Isolation("none", f"no sandbox on {sys.platform}: submissions "
                         "run as the instructor's user, with the network")
    missing = [t for t in ("unshare", "setpriv", "prlimit") if not shutil.which(t)]
    if missing:
        return Isolation("none", f"{', '.join(missing)} not found (util-linux): "
                         "submissions are not isolated")
    as_root = os.geteuid() == 0
    mode = "root" if as_root else "userns"
    import tempfile

    probe = (
        "import os, socket, course_utils, nbval\n"
        "try:\n"
        "    socket.create_connection(('192.0.2.1', 9), timeout=0.5)\n"
        "    raise SystemExit('network reachable')\n"
        "except OSError:\n"
        "    pass\n"
        "print('ok', os.getuid())\n"
    )
    with tempfile.TemporaryDirectory(prefix="course-sandbox-") as tmp:
        work = Path(tmp) / "job"
        (work / "home").mkdir(parents=True)
        prepare_workdir(work, mode)
        cmd = wrap(work, [sys.executable, "-c", probe],
                   job_env(Path("/tmp/home")), mode=mode)
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                                  stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return Isolation("none", f"the sandbox did not start ({exc}): "
                             "submissions are not isolated")
    if proc.returncode != 0 or not proc.stdout.startswith("ok"):
        why = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["?"]
        cause = "" if as_root else userns_blocked()
        return Isolation("none", f"the sandbox did not start ({why[0]}): "
                         + (f"{cause}; " if cause else "")
                         + "submissions are not isolated")
    if as_root:
        detail = ("sandboxed: own network, PID and mount namespaces, user nobody "
                  "without capabilities, course files read-only, empty environment")
    else:
        detail = ("sandboxed: own user, network, PID and mount namespaces, course "
                  "files read-only, empty environment (runs as your own user)")
    return Isolation(mode, detail)
