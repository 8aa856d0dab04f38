"""How the grader reports and enforces isolation (no submission is graded here)."""

import subprocess
import sys

import pytest

from course_utils.instructor import sandbox


def _proc_sys(tmp_path, **values):
    for name, value in values.items():
        path = tmp_path / name.replace(".", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{value}\n")
    return tmp_path


@pytest.mark.parametrize("setting, value, named", [
    ("kernel.apparmor_restrict_unprivileged_userns", 1,
     "kernel.apparmor_restrict_unprivileged_userns=0"),
    ("kernel.unprivileged_userns_clone", 0, "kernel.unprivileged_userns_clone=1"),
    ("user.max_user_namespaces", 0, "user.max_user_namespaces=10000"),
])
def test_a_blocking_setting_is_named_with_the_one_that_allows(tmp_path, setting,
                                                                value, named):
    why = sandbox.userns_blocked(_proc_sys(tmp_path, **{setting: value}))
    assert named in why and "container" in why


def test_settings_that_allow_user_namespaces_name_no_cause(tmp_path):
    allowed = _proc_sys(tmp_path, **{
        "kernel.apparmor_restrict_unprivileged_userns": 0,
        "kernel.unprivileged_userns_clone": 1,
        "user.max_user_namespaces": 63000,
    })
    assert sandbox.userns_blocked(allowed) == ""
    assert sandbox.userns_blocked(tmp_path / "missing") == ""


def _grade_without_sandbox(*extra):
    code = (
        "import sys\n"
        "from course_utils.instructor import sandbox, cli\n"
        "sandbox.isolation = lambda: sandbox.Isolation('none', 'NOT ISOLATED')\n"
        f"sys.exit(cli.main(['grade', 'missing.ipynb', *{list(extra)!r}]))"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, timeout=120)


def test_require_sandbox_refuses_to_grade_unisolated():
    proc = _grade_without_sandbox("--require-sandbox")
    assert proc.returncode == 2
    assert "--require-sandbox" in proc.stderr and "NOT ISOLATED" in proc.stderr
    assert "Nothing was graded" in proc.stderr and proc.stdout == ""


def test_without_require_sandbox_the_warning_goes_to_stderr():
    proc = _grade_without_sandbox()
    assert "warning: isolation: NOT ISOLATED" in proc.stderr
    assert "NOT ISOLATED" not in proc.stdout
