# Two commands from a fresh clone:  make lab   and   make test
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Quiet TensorFlow's C++ logs; fast mode and strict self-checks for tests.
TEST_ENV := COURSE_FAST=1 COURSE_STRICT_CHECKS=1 TF_CPP_MIN_LOG_LEVEL=3 PYTHONHASHSEED=0
NB ?= chapters/*.ipynb

.PHONY: venv lab test unit notebooks exercises lint fix-notebooks execute clean help student book slides bench sync bench-serve test-colab scaling

help:
	@echo "make lab    - create .venv if needed and open Jupyter Lab on chapters/ (PORT=, IP=, NB=chapters/06_cnn.ipynb)"
	@echo "make test   - create .venv if needed, lint, run unit tests and execute every chapter (fast mode)"
	@echo "make lint   - notebook lint + ruff + generated course_lib modules up to date"
	@echo "make exercises - every exercise: the student stub says NOT YET and the solution PASS (fast mode)"
	@echo "make sync   - regenerate course_lib modules from the chapters' \`# export:\` cells (tools/libsync.py)"
	@echo "make execute NB=chapters/03_*.ipynb - re-run chapters in FULL mode and store their outputs"
	@echo "make student - student edition (solutions stubbed) in dist/student/"
	@echo "make book    - the book (Sphinx + MyST-NB, stored outputs, offline math and search) in dist/book/"
	@echo "make slides NB=chapters/03_*.ipynb - reveal.js slides in dist/slides/ (open offline)"
	@echo "make test-colab - every chapter from its first cell in a venv with Colab's package versions"
	@echo "make bench  - train chapters 06-08 and 15 main models in full mode; table vs bars and the Keras references"
	@echo "make scaling - chapter 16's scaling sweep on this machine -> benchmarks/results/scaling.json (SMOKE=1: tiny grid, scratch file)"
	@echo "make bench-serve - model server under load (200 connections): p50/p99 latency, requests/s, batching on/off"

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e . 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -m pip install -q --disable-pip-version-check --no-deps dp-accounting==0.6.0 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -c "import tensorflow, keras, course_lib, nbval, xdist, dp_accounting, hypothesis" 2>/dev/null
	touch $(STAMP)

# make lab [PORT=8888] [IP=0.0.0.0] [NB=chapters/06_cnn.ipynb]: Jupyter Lab on chapters/ (or opened on one chapter).
# It prints the URL with its token; --allow-root only for root (Docker, cloud VMs); --no-browser on Linux without
# a display. IP=0.0.0.0 serves other machines (e.g. a container's published port). tests/test_lab.py runs this recipe.
IP ?= localhost
LAB_ROOT_FLAG = $(if $(filter 0,$(shell id -u)),--allow-root)
LAB_BROWSER_FLAG = $(if $(filter Linux,$(shell uname -s)),$(if $(DISPLAY)$(WAYLAND_DISPLAY),,--no-browser))
LAB_NB = $(if $(filter-out file,$(origin NB)),$(or $(firstword $(wildcard $(NB))),$(error NB=$(NB): no such chapter)))
LAB_FLAGS = --ip=$(IP) $(if $(PORT),--port=$(PORT)) $(LAB_ROOT_FLAG) $(LAB_BROWSER_FLAG) \
	$(if $(LAB_NB),--LabApp.default_url=/lab/tree/$(notdir $(LAB_NB)))
lab: venv
	$(VENV)/bin/jupyter lab $(strip $(LAB_FLAGS)) chapters/

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

# Every exercise of every chapter: the student edition's stub must say NOT YET, the solution PASS
# (tests/test_exercises.py and _2.py, one fast-mode run per chapter; also part of make test and make unit).
exercises: venv
	$(TEST_ENV) $(VENV)/bin/pytest -q -n 2 --dist loadfile tests/test_exercises.py tests/test_exercises_2.py

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
	rm -rf $(VENV) $(COLAB_VENV) dist build *.egg-info

# Train each chapter's main model in full mode and print a table (benchmarks/bench.py --help).
bench: venv
	$(PY) benchmarks/bench.py --out benchmarks/results/bench.json

# Load-test the TF-Serving-compatible model server on 127.0.0.1 (benchmarks/serve_load.py --help).
bench-serve: venv
	TF_CPP_MIN_LOG_LEVEL=3 $(PY) benchmarks/serve_load.py

# Colab parity (tools/colab/testcolab.py): a second venv with Colab's versions (tools/colab/pip-freeze.txt) of
# every package the course imports, then each chapter from its first cell in a fresh overlay of it, with a stub
# google.colab and the course "checked out" at $$COURSE_COLAB_DIR. Colab runs Python 3.13 (COLAB_PYTHON=python3.13).
COLAB_VENV ?= .venv-colab
COLAB_PYTHON ?= $(PYTHON)
test-colab: venv
	$(PY) tools/colab/testcolab.py build --venv $(COLAB_VENV) --python $(COLAB_PYTHON)
	COLAB_VENV=$(COLAB_VENV) $(VENV)/bin/pytest -q -n 2 --durations=10 tools/colab/test_colab_e2e.py

# Chapter 16's scaling sweep (benchmarks/scaling.py --help): resumable, stores every run as it ends.
# SMOKE=1: a tiny grid into $$TMPDIR/scaling_smoke.json (SCALING_OUT=path overrides the output file).
scaling: venv
	SMOKE=$(SMOKE) TF_CPP_MIN_LOG_LEVEL=3 PYTHONHASHSEED=0 $(PY) benchmarks/scaling.py $(if $(SCALING_OUT),--out $(SCALING_OUT))
