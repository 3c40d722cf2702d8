# Every target creates the virtual environment first if it is missing or out of date.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint format bench bench-accuracy bench-peers clean

$(BIN)/rnnforecast: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

setup: $(BIN)/rnnforecast  ## create .venv and install rnnforecast with its test tools

demo: setup  ## train on the default config (synthetic data) and print where the results are
	$(BIN)/rnnforecast train configs/sine.yaml
	@echo "Next: source $(VENV)/bin/activate, then rnnforecast predict <run directory> (or call $(BIN)/rnnforecast)"

test: setup  ## lint, then the whole test suite
	$(BIN)/ruff check rnnforecast tests benchmarks data
	$(BIN)/ruff format --check rnnforecast tests benchmarks data
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check rnnforecast tests benchmarks data

format: setup
	$(BIN)/ruff format rnnforecast tests benchmarks data

bench: setup  ## speed and memory next to plain Keras
	$(BIN)/python benchmarks/speed.py

# statsforecast 2.1 needs pandas < 3, so the accuracy benchmark gets an environment of its own.
BENCH_VENV := .venv-bench
$(BENCH_VENV)/bin/rnnforecast: pyproject.toml
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/pip install --quiet -e ".[bench]"
	touch $@

bench-accuracy: $(BENCH_VENV)/bin/rnnforecast  ## accuracy next to AutoETS, AutoARIMA, AutoTheta
	$(BENCH_VENV)/bin/python benchmarks/accuracy.py

# Darts, NeuralForecast (PyTorch) and JAX are large and only the peer benchmark needs them, so
# they get an environment of their own. PEERS_ARGS passes options, e.g. PEERS_ARGS="--repeats 1".
PEERS_VENV := .venv-peers
PEERS_ARGS ?=
$(PEERS_VENV)/bin/rnnforecast: pyproject.toml
	$(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/pip install --quiet --upgrade pip
	$(PEERS_VENV)/bin/pip install --quiet -e ".[peers]"
	touch $@

bench-peers: setup $(PEERS_VENV)/bin/rnnforecast  ## training speed next to Darts, NeuralForecast, plain Keras
	$(PEERS_VENV)/bin/python benchmarks/peers.py $(PEERS_ARGS)

clean:
	rm -rf $(VENV) $(BENCH_VENV) $(PEERS_VENV) runs .pytest_cache .ruff_cache *.egg-info
