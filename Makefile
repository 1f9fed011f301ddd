# Two commands for a newcomer: `make run` (install, then run the bot) and `make test` (install, then the tests).
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

# A .venv made by another Python (an older one, or one since removed) is rebuilt rather than reused.
PYVER := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
VENV_PYVER := $(shell [ -x $(BIN)/python ] && $(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
ifneq ($(wildcard $(VENV)),)
ifneq ($(VENV_PYVER),$(PYVER))
$(info $(VENV) was made by Python $(or $(VENV_PYVER),(missing)); rebuilding it with $(PYTHON) $(PYVER))
$(shell rm -rf $(VENV))
endif
endif

.PHONY: install install-runtime run test lint bench

$(VENV)/pyvenv.cfg:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed: make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The bot's own dependencies only (what `make run` needs).
$(VENV)/.installed-runtime: pyproject.toml $(VENV)/pyvenv.cfg
	$(BIN)/pip install --quiet -e .
	touch $@

# Plus the test and lint tools (pytest, hypothesis, ruff, mypy).
$(VENV)/.installed-test: pyproject.toml $(VENV)/pyvenv.cfg
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install-runtime: $(VENV)/.installed-runtime

install: $(VENV)/.installed-test

run: install-runtime
	$(BIN)/hotpapers run

test: install
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: install
	$(BIN)/python -m bench
