import os

import matplotlib
import pytest
from hypothesis import HealthCheck, settings

matplotlib.use("Agg")
os.environ.pop("COURSE_METRICS_FILE", None)
# nbval runs every notebook at its defaults: the text's claims must hold there.
os.environ["COURSE_STRICT_CLAIMS"] = "1"

# -- the two tiers -----------------------------------------------------------
# `make test-fast` runs `pytest -m "not slow" tests/`: unit tests, checkers with
# their wrong answers and the property tests, without executing any notebook,
# starting a kernel or a browser. Tests that do are marked slow here, by file
# (or with @pytest.mark.slow in the test file itself); nbval's notebook items
# are always slow.
SLOW_FILES = {
    "test_browser.py",   # JupyterLab and headless Chromium
    "test_grader.py",    # grades submissions: a kernel per notebook run
    "test_runner.py",    # runs notebooks through papermill
}


# -- the order ------------------------------------------------------------------
# `make test` hands whole files to two workers (pytest-xdist, --dist loadfile
# --no-loadscope-reorder), in the order collected. The longest files go first, so
# that the two workers finish together instead of one running a long file alone
# at the end. Seconds per file at one thread on a 2-core machine, both busy;
# every other file takes a few seconds and keeps its place after these.
LONG_FILES = {
    "06_dcgan.ipynb": 300,
    "test_browser.py": 300,
    "test_grader.py": 250,
    "03_point_cloud_gan.ipynb": 150,
    "04_mode_collapse.ipynb": 150,
    "05_conditional_and_infogan.ipynb": 120,
    "08_wgan.ipynb": 120,
    "07_lsgan.ipynb": 100,
    "test_grade_class.py": 60,
    "test_runner.py": 50,
    "02_optimal_discriminator.ipynb": 35,
    "01_minimax_game.ipynb": 25,
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        path = item.path
        if (path.suffix == ".ipynb" or path.name in SLOW_FILES
                or item.get_closest_marker("browser")):
            item.add_marker(pytest.mark.slow)
    items.sort(key=lambda item: -LONG_FILES.get(item.path.name, 0))  # stable


@pytest.fixture(autouse=True)
def _torch_threads_as_found():
    """A test that sets torch's thread count (a script's main, say) sets it for
    itself only: with two threads on a busy machine, every later test in the
    same process ran several times slower."""
    import torch

    threads = torch.get_num_threads()
    yield
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


# -- Hypothesis ----------------------------------------------------------------
# The same examples on every run (CI must not fail by chance), no time limit per
# example (the machine may be loaded), no example database written to the tree.
# HYPOTHESIS_PROFILE=explore searches afresh, with many more examples.
settings.register_profile(
    "course", derandomize=True, deadline=None, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "explore", derandomize=False, deadline=None, database=None, print_blob=True,
    max_examples=2000, suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "course"))

