"""Where the package finds the clone, the notebooks and the data (the installed
case, with the data inside the package, is tested in test_wheel.py)."""

import os
import subprocess
import sys

from course_utils import paths

SHOW = "from course_utils import paths; print(paths.DATA_DIR)"


def _data_dir(env_value=None, cwd=None):
    env = {k: v for k, v in os.environ.items() if k != "COURSE_DATA_DIR"}
    if env_value is not None:
        env["COURSE_DATA_DIR"] = env_value
    return subprocess.run([sys.executable, "-c", SHOW], capture_output=True,
                          text=True, check=True, env=env, cwd=cwd).stdout.strip()


def test_in_the_clone_the_data_are_the_clones_data_folder():
    assert paths.IN_CLONE
    assert paths.BUNDLED_DATA_DIR is None  # an editable install maps no data
    assert paths.NOTEBOOKS_DIR == paths.REPO_DIR / "notebooks"
    assert _data_dir() == str(paths.PACKAGE_DIR.parent / "data")


def test_course_data_dir_overrides(tmp_path):
    assert _data_dir(str(tmp_path), cwd=tmp_path) == str(tmp_path)
    assert _data_dir("", cwd=tmp_path) == str(paths.PACKAGE_DIR.parent / "data")
