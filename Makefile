# The two commands: `make run` and `make test`. Both set up .venv when it is missing or stale.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench checkpoints requirements clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/python app.py $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# Speed, side by side (README "Performance"): prints a table, writes benchmarks/results/latest.json.
bench: $(STAMP)
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

# Reproduce the bundled checkpoints and their cards (checkpoints/<name>.md: how each was made).
checkpoints: $(STAMP)
	bash scripts/make_checkpoints.sh $(NAMES)

requirements: $(STAMP)
	$(BIN)/python scripts/make_requirements.py > requirements.txt

clean:
	rm -rf $(VENV) build *.egg-info
