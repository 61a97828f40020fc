# facesort: every target installs what it needs, from nothing.
#
#   make run    install, then sort the bundled sample photos with the facesort_ingest
#               DAG (SQLite state and Airflow metadata, local face matching), and show
#               where each file went
#   make test   install, lint, and run the whole test suite
#   make bench  install, run every benchmark in bench/ and print the results table
#   make ui     install, then start the Airflow UI (airflow standalone) on the sample
#               workspace, or on FACESORT_CONFIG=FILE, at UI_PORT (8080)
#
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed
PHOTOS := tests/fixtures/faces

DEMO := $(CURDIR)/.demo
AIRFLOW_LOCAL := $(CURDIR)/.airflow
AIRFLOW_ENV := AIRFLOW_HOME=$(AIRFLOW_LOCAL) \
	AIRFLOW__CORE__DAGS_FOLDER=$(CURDIR)/dags \
	AIRFLOW__CORE__PLUGINS_FOLDER=$(CURDIR)/plugins \
	AIRFLOW__CORE__LOAD_EXAMPLES=False \
	FACESORT_CONFIG=$(DEMO)/facesort.yaml

# `make ui`: the config the DAGs and the review page use (default: the sample workspace,
# built when missing), and the api-server's port. Either may come from the environment.
FACESORT_CONFIG ?=
UI_CONFIG := $(abspath $(or $(FACESORT_CONFIG),$(DEMO)/facesort.yaml))
UI_PORT ?= 8080
# Task processes the local executor keeps (Airflow's default, 32, is for a server).
UI_PARALLELISM ?= 4
# airflow standalone starts its components as `airflow ...`, found on PATH.
UI_ENV := PATH=$(BIN):$$PATH AIRFLOW_HOME=$(AIRFLOW_LOCAL) \
	AIRFLOW__CORE__DAGS_FOLDER=$(CURDIR)/dags \
	AIRFLOW__CORE__PLUGINS_FOLDER=$(CURDIR)/plugins \
	AIRFLOW__CORE__LOAD_EXAMPLES=False \
	AIRFLOW__API__PORT=$(UI_PORT) AIRFLOW__API__BASE_URL=http://localhost:$(UI_PORT) \
	AIRFLOW__CORE__PARALLELISM=$(UI_PARALLELISM) \
	FACESORT_CONFIG=$(UI_CONFIG)

# Debian packages: ffmpeg/ffprobe for videos; chromium for the review page's browser tests.
APT_PACKAGES := ffmpeg chromium

.PHONY: help install system-deps run show-pass ui test crash-test lint format clean bench

help:
	@echo "make run    sort the bundled sample photos through the facesort_ingest DAG"
	@echo "make test   lint and run all tests"
	@echo "make ui     the Airflow UI on the sample workspace (or FACESORT_CONFIG=FILE), port UI_PORT=8080"
	@echo "make lint   ruff check + format check"
	@echo "make bench  run the benchmarks (bench/README.md; PostgreSQL at 127.0.0.1:5432 for one)"
	@echo "make crash-test  kill facesort run at 60 random points, every other moving command at each of its points, and check nothing is lost"
	@echo "make clean  remove .venv, .airflow and .demo"

system-deps:
	@missing=""; \
	for cmd in ffmpeg ffprobe chromium; do command -v $$cmd >/dev/null || missing=yes; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo -n"; \
	  else echo "ffmpeg or chromium is missing and this user cannot install them: run 'apt-get install $(APT_PACKAGES)' as root" >&2; exit 1; fi; \
	  echo "installing Debian packages: $(APT_PACKAGES)"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $(APT_PACKAGES) >/dev/null; \
	fi

$(STAMP): requirements.txt requirements-nodeps.txt requirements-dev.txt constraints.txt pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip "setuptools<81" wheel
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.txt -r requirements-dev.txt -c constraints.txt
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -r requirements-nodeps.txt
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: system-deps $(STAMP)
	@# Byte-code for the package, as pip writes it for what it installs (not for an editable
	@# install): every facesort process, and each sorting worker's server, would compile
	@# it again where PYTHONDONTWRITEBYTECODE is set (~0.2 s a process). Only changed files.
	@$(BIN)/python -m compileall -q include dags plugins >/dev/null

run: install
	@rm -rf $(DEMO) && mkdir -p $(AIRFLOW_LOCAL)
	@$(BIN)/python -m facesort.sample $(DEMO) --photos $(PHOTOS) >/dev/null
	@echo "Sample workspace: $(DEMO) (config: $(DEMO)/facesort.yaml)"
	@$(AIRFLOW_ENV) $(BIN)/airflow db migrate >$(AIRFLOW_LOCAL)/migrate.log 2>&1 \
	  || { tail -30 $(AIRFLOW_LOCAL)/migrate.log; exit 1; }
	@$(AIRFLOW_ENV) $(BIN)/airflow pools set facesort_cpu 2 "facesort face detection" >/dev/null 2>&1
	@echo "== Pass 1: airflow dags test facesort_ingest (photos; references: $(PHOTOS)/known)"
	@$(AIRFLOW_ENV) $(BIN)/airflow dags test facesort_ingest >$(DEMO)/pass1.log 2>&1 \
	  || { tail -60 $(DEMO)/pass1.log; exit 1; }
	@$(MAKE) --no-print-directory show-pass LOG=$(DEMO)/pass1.log
	@echo "== Adding a reference photo of lin-manuel-miranda, and a video to staging"
	@$(BIN)/facesort --config $(DEMO)/facesort.yaml references add lin-manuel-miranda \
	  $(PHOTOS)/incoming/lin-manuel-miranda.png | sed 's/^/   /'
	@$(BIN)/python -m facesort.sample $(DEMO) --photos $(PHOTOS) --stage video --only-stage | sed 's/^/   /'
	@echo "== Pass 2: airflow dags test facesort_ingest (the video)"
	@$(AIRFLOW_ENV) $(BIN)/airflow dags test facesort_ingest >$(DEMO)/pass2.log 2>&1 \
	  || { tail -60 $(DEMO)/pass2.log; exit 1; }
	@$(MAKE) --no-print-directory show-pass LOG=$(DEMO)/pass2.log
	@echo "== Where each file went"
	@$(BIN)/facesort --config $(DEMO)/facesort.yaml status --files | sed "s|$(DEMO)/||"
	@echo "== Counts"
	@$(BIN)/facesort --config $(DEMO)/facesort.yaml status
	@echo "Task logs: $(DEMO)/pass1.log, $(DEMO)/pass2.log. Why a file went somewhere:"
	@echo "  $(BIN)/facesort --config $(DEMO)/facesort.yaml history $(DEMO)/review/multiple_faces/two_people.jpg"

# The lines the DAG's tasks print about what they did (the rest of the log is Airflow's).
show-pass:
	@grep -E "[0-9]+ new files,|(library|review|staging)/[^ ]*: [0-9]+$$" $(LOG) \
	  | sed -E 's/^.*\] //; s/^[^a-z0-9]*((library|review|staging)\/)/\1/' | sort -u | sed 's/^/   /' || true

# The Airflow UI: api-server, scheduler, DAG processor and triggerer in one command.
# Ctrl-C is passed to standalone alone, which stops each component with one SIGTERM: a
# component that also gets the terminal's SIGINT can hang in its signal handlers. (set -m
# gives standalone its own process group, without SIGINT ignored as in a background job.)
ui: install
	@mkdir -p $(AIRFLOW_LOCAL)
	@if [ "$(UI_CONFIG)" = "$(DEMO)/facesort.yaml" ] && [ ! -f "$(UI_CONFIG)" ]; then \
	  $(BIN)/python -m facesort.sample $(DEMO) --photos $(PHOTOS) >/dev/null; \
	  echo "Sample workspace: $(DEMO)"; fi
	@test -f "$(UI_CONFIG)" || { echo "facesort config $(UI_CONFIG) does not exist: give one with FACESORT_CONFIG=FILE" >&2; exit 2; }
	@$(UI_ENV) $(BIN)/airflow db migrate >$(AIRFLOW_LOCAL)/migrate.log 2>&1 \
	  || { tail -30 $(AIRFLOW_LOCAL)/migrate.log; exit 1; }
	@$(UI_ENV) $(BIN)/airflow pools set facesort_cpu 2 "facesort face detection" >/dev/null 2>&1
	@echo "facesort config: $(UI_CONFIG)"
	@echo "Airflow UI: http://localhost:$(UI_PORT)  (review page: http://localhost:$(UI_PORT)/facesort/review/)"
	@echo "Login: admin, password in $(AIRFLOW_LOCAL)/simple_auth_manager_passwords.json.generated"
	@echo "(printed below the first time). Ctrl-C stops everything."
	@set -m; export $(UI_ENV); \
	  $(BIN)/airflow standalone & pid=$$!; \
	  trap 'kill -INT $$pid 2>/dev/null || true' INT TERM; \
	  while kill -0 $$pid 2>/dev/null; do wait $$pid || true; done

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: install lint
	$(BIN)/pytest

# Each benchmark writes bench/results/<name>.json; report.py turns them into one table.
# About 15 minutes on 2 cores; the numbers vary with other work on the machine.
bench: install
	$(BIN)/python bench/hashing.py
	$(BIN)/python bench/rescan.py
	$(BIN)/python bench/dag_parse.py
	$(BIN)/python bench/immich_lookup.py
	$(BIN)/python bench/batch_memory.py
	$(BIN)/python bench/sorting_speed.py
	$(BIN)/python bench/report.py | tee bench/results/table.md
# The full crash harness: `facesort run` killed (SIGKILL) at 60 random points across
# scan, hashing, matching and moving, each followed by a normal run and a check that
# every file exists exactly once and the database agrees with the disk. `make test`
# runs 8 of them. FACESORT_CRASH_SEED=N picks another reproducible set.
# Then every other command and Airflow task that moves files (review actions, undo,
# resort --apply, references add, sort_batch, the re-sort's apply, the re-check) killed
# at each of its crash points and retried; `make test` kills each at one point.
# Each kill has a workspace of its own: `--dist load` spreads one file's tests over both
# of pytest's processes (its default, loadfile, would keep the file in one).
crash-test: install
	FACESORT_CRASH_POINTS=60 $(BIN)/pytest tests/scenarios/test_crash_recovery.py -k random -q --dist load
	FACESORT_LIFECYCLE_CRASH_POINTS=all $(BIN)/pytest tests/scenarios/test_lifecycle_crash.py -q --dist load

clean:
	rm -rf $(VENV) $(AIRFLOW_LOCAL) $(DEMO)
