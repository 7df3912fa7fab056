# Two commands on a fresh machine: `make run` and `make test`. Both create the venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: venv run test bench clean

venv: $(VENV)/.installed

# Re-install only when pyproject.toml changed (the stamp is older than it).
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

run: venv
	$(BIN)/cabin

test: venv
	$(BIN)/python -m pytest -q -n auto --maxprocesses 4

bench: venv
	$(BIN)/python -m tests.bench

clean:
	rm -rf $(VENV) build *.egg-info
