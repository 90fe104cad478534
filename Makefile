# Two commands that work on a fresh machine: `make demo` and `make test`.
# torch==2.13.0 is installed first: an unpinned torch pulled in by a dependency would fetch
# several GB of CUDA packages instead of the local CPU wheel.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.zspace-installed
DEMO_OUT ?= runs/demo

.PHONY: demo test lint venv bench clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[dev,music,rl,serve,browser]"
	touch $(STAMP)

venv: $(STAMP)

# Train a 2-D-latent VAE on the bundled digits, evaluate it, and write figures + report.html.
demo: $(STAMP)
	rm -rf $(DEMO_OUT)
	$(BIN)/zspace train vae --preset digits-2d --epochs 150 --seed 0 --out $(DEMO_OUT)
	$(BIN)/zspace eval $(DEMO_OUT) --iw 1000
	$(BIN)/zspace sample $(DEMO_OUT) -n 64
	$(BIN)/zspace explore $(DEMO_OUT)
	@echo "report: $(DEMO_OUT)/report/report.html"
	@echo "explore it in the browser: $(BIN)/zspace serve $(DEMO_OUT)"

test: $(STAMP)
	$(BIN)/python -m pytest tests

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

# The VAE throughput benchmark, with Pythae 0.1.2 installed beside our torch for comparison.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	$(BIN)/python bench/vae.py --json-out docs/benchmarks/vae.json --json-key throughput

clean:
	rm -rf $(VENV) runs .pytest_cache
