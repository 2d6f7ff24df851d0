# ShopLens: `make run` serves the dashboard, `make test` runs every test.
# Both create .venv with the system Python (>= 3.11) and build the sample
# warehouse when it is missing.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501
# Serve on this machine only; `make run ADDRESS=0.0.0.0` shares it on the network, which needs
# sign-in configured (docs/security.md) or OPEN_ACCESS=1 to run open on purpose.
ADDRESS ?= 127.0.0.1
OPEN_ACCESS ?=
export OPEN_ACCESS
export SHOPLENS_WAREHOUSE ?= .shoplens/warehouse.duckdb

.PHONY: run test bench screenshots install warehouse sample clean

run: warehouse
	@$(BIN)/python -m analytics.access.guard --address "$(ADDRESS)"
	@# Train in the background whatever models this data version lacks (nothing when all are trained);
	@# a warehouse that cannot be trained on still gets served, and its pages say why.
	-@$(BIN)/shoplens models train --format json > /dev/null
	@echo "ShopLens is at http://localhost:$(PORT)"
	$(BIN)/streamlit run dashboard/server.py --server.port $(PORT) --server.address $(ADDRESS)

# No background training while tests or benchmarks run: it would compete with them for the cores
# (tests that need the worker start it themselves). Prerequisites inherit the setting.
test: export SHOPLENS_MODEL_WORKER = off
test: warehouse
	$(BIN)/pytest

bench: export SHOPLENS_MODEL_WORKER = off
bench: warehouse
	$(BIN)/python -m benchmarks

# Every page and tab, on the sample, the Taobao excerpt (when ../shared/data has it) and thin data:
# test-output/gallery/index.html.
screenshots: warehouse
	$(BIN)/shoplens models train --wait --format json > /dev/null
	$(BIN)/python -m tools.screenshots

install: $(VENV)/.installed

# Reinstall whenever the project's dependencies change.
$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "ShopLens needs Python >= 3.11; set PYTHON=python3.11 or newer")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# Builds the sample warehouse when it is missing, or when it holds an older
# sample; a warehouse of imported data is never replaced here.
warehouse: install
	$(BIN)/shoplens build sample_data --if-needed

# Regenerates the committed sample (deterministic for the default seed).
sample: install
	$(BIN)/shoplens sample --out sample_data --no-build

clean:
	rm -rf $(VENV) .shoplens test-output .pytest_cache
