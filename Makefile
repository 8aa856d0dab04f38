# The GAN course. `make course` sets up and runs the course; `make test` sets up
# and runs the tests; `make lab` sets up and opens JupyterLab; `make site` writes
# the executed course as an offline website in build/site/.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: setup course test lab release site clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	@touch $(STAMP)

course: setup
	$(PY) -m course_utils run

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

lab: setup
	$(VENV)/bin/jupyter lab notebooks/

site: setup
	$(PY) -m course_utils site

release: setup
	$(PY) -m course_utils release

clean:
	rm -rf build
