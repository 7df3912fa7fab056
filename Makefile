# Two commands on a fresh machine: `make run` and `make test`. Both create the venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: venv run test bench clean

venv: $(VENV)/.installed

# Re-install only when pyproject.toml changed (the stamp is older than it).
$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || \
	  { echo "Cabin needs Python 3.11 or newer; $(PYTHON) is: $$($(PYTHON) --version 2>&1)"; exit 1; }
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	  echo "$(PYTHON) cannot make a virtual environment: on Debian or Ubuntu, apt-get install python3-venv"; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

run: venv
	$(BIN)/cabin

# Six workers whatever the cores: the suite waits (ptys, child processes, fsyncs, timeouts) more
# than it computes, about 2.5 minutes of processor time in 4 minutes on two workers of a 2-core
# machine; six overlap the waits (2 minutes there).
test: venv
	$(BIN)/python -m pytest -q -n 6

bench: venv
	$(BIN)/python -m tests.bench

clean:
	rm -rf $(VENV) build *.egg-info
