# Two commands from a fresh clone:  make lab   and   make test
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Quiet TensorFlow's C++ logs; fast mode and strict self-checks for tests.
TEST_ENV := COURSE_FAST=1 COURSE_STRICT_CHECKS=1 TF_CPP_MIN_LOG_LEVEL=3 PYTHONHASHSEED=0
NB ?= chapters/*.ipynb

.PHONY: venv lab test unit notebooks lint fix-notebooks execute clean help student book slides bench sync

help:
	@echo "make lab    - create .venv if needed and open Jupyter Lab on chapters/"
	@echo "make test   - create .venv if needed, lint, run unit tests and execute every chapter (fast mode)"
	@echo "make lint   - notebook lint + ruff + generated course_lib modules up to date"
	@echo "make sync   - regenerate course_lib modules from the chapters' \`# export:\` cells (tools/libsync.py)"
	@echo "make execute NB=chapters/03_*.ipynb - re-run chapters in FULL mode and store their outputs"
	@echo "make student - student edition (solutions stubbed) in dist/student/"
	@echo "make book    - static HTML book of all chapters in dist/book/"
	@echo "make slides NB=chapters/03_*.ipynb - reveal.js slides in dist/slides/"
	@echo "make bench  - train chapters 06-08 and 15 main models in full mode; table vs bars and the Keras references"

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e . 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -c "import tensorflow, keras, course_lib, nbval, xdist" 2>/dev/null
	touch $(STAMP)

lab: venv
	$(VENV)/bin/jupyter lab chapters/

lint: venv
	$(PY) tools/nblint.py chapters/*.ipynb
	$(PY) tools/libsync.py --check
	$(VENV)/bin/ruff check course_lib tests tools benchmarks datasets/build.py

unit: venv
	$(TEST_ENV) $(VENV)/bin/pytest -q -n 2 tests

notebooks: venv
	$(TEST_ENV) $(VENV)/bin/pytest -q -n 2 --dist loadfile --nbval-lax --nbval-cell-timeout=300 \
		--sanitize-with tests/sanitize.cfg chapters

test: venv lint student book slides
	$(TEST_ENV) $(VENV)/bin/pytest -q -n 2 --dist loadfile --nbval-lax --nbval-cell-timeout=300 \
		--durations=25 --sanitize-with tests/sanitize.cfg tests chapters

sync: venv
	$(PY) tools/libsync.py

fix-notebooks: venv
	$(PY) tools/nblint.py --fix chapters/*.ipynb

# Re-execute chapters in full mode and store the outputs (what readers see on GitHub).
execute: venv
	for nb in $(NB); do \
		TF_CPP_MIN_LOG_LEVEL=3 PYTHONHASHSEED=0 COURSE_STRICT_CHECKS=1 $(VENV)/bin/jupyter nbconvert --to notebook \
			--execute --inplace --ExecutePreprocessor.timeout=1200 "$$nb" || exit 1; \
	done
	$(PY) tools/nblint.py --fix $(NB)

student: venv
	$(PY) tools/student.py

book: venv
	$(PY) tools/book.py

SLIDES ?= chapters/00_setup_and_hardware.ipynb
slides: venv
	$(PY) tools/book.py --slides $(if $(filter command line,$(origin NB)),$(NB),$(SLIDES))

clean:
	rm -rf $(VENV) dist build *.egg-info

# Train each chapter's main model in full mode and print a table (benchmarks/bench.py --help).
bench: venv
	$(PY) benchmarks/bench.py
