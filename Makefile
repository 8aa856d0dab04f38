# The GAN course. `make course` sets up and runs the course; `make test` sets up
# and runs every test (what CI runs), `make test-fast` the quick tier for everyday
# work; `make lab` sets up and opens JupyterLab; `make site` writes the executed
# course as an offline website in build/site/.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: setup course test test-fast lab release site clean

setup: $(STAMP)

# pip compiles every installed module to bytecode one file at a time (about a
# minute for PyTorch alone); compileall does the same on every core afterwards,
# in a third of the time. Files that do not compile are skipped, as pip skips them.
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --no-compile -e ".[all]"
	@$(PY) -m compileall -qq -j 0 \
	    "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" || true
	@touch $(STAMP)

course: setup
	$(PY) -m course_utils run

# Everything, two test files at a time (pytest-xdist), each on one thread
# (OMP_NUM_THREADS=1; notebooks 05 and 06 take PyTorch's default thread count,
# which follows it): two processes of one thread each use a 2-core machine better
# than one of two threads. The longest files go first (tests/conftest.py).
test: setup
	OMP_NUM_THREADS=1 $(PY) -m pytest -n 2 --dist loadfile --no-loadscope-reorder \
	    --durations=25 $(PYTEST_ARGS)

# The everyday tier: tests/ without the tests marked slow (notebook execution,
# the grader's kernels, the browser; see tests/conftest.py), two workers of one
# thread each: within 3 minutes on a quiet 2-core machine.
test-fast: setup
	OMP_NUM_THREADS=1 $(PY) -m pytest -n 2 --dist loadfile -m "not slow" tests/ $(PYTEST_ARGS)

lab: setup
	$(VENV)/bin/jupyter lab notebooks/

site: setup
	$(PY) -m course_utils site

release: setup
	$(PY) -m course_utils release

clean:
	rm -rf build
