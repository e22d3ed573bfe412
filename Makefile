# rcsgate — `make run` and `make test` are the whole set-up (see README.md).
SHELL := /bin/bash
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install run test test-sqlite test-postgres lint format bench clean

$(UV):
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

# Idempotent: uv only changes what differs from uv.lock.
install: $(UV)
	$(UV) sync --frozen --quiet

run: install
	$(BIN)/rcsgate serve

# The whole suite on SQLite; then again on PostgreSQL + Redis when
# RCSGATE_TEST_DATABASE_URL and RCSGATE_TEST_REDIS_URL are set.
test: install
	$(BIN)/pytest -q
	@if [ -n "$$RCSGATE_TEST_DATABASE_URL" ]; then \
		echo "== again on PostgreSQL + Redis =="; \
		RCSGATE_TEST_BACKEND=postgres $(BIN)/pytest -q; \
	fi

lint: install
	$(BIN)/ruff check src tests bench migrations
	$(BIN)/ruff format --check src tests bench migrations
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format src tests bench migrations
	$(BIN)/ruff check --fix src tests bench migrations

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(TOOLS) var .pytest_cache .mypy_cache .ruff_cache
