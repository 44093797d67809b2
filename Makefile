# authing-wechat: the README's commands. Everything installs from the repo's own lock files.
PYTHON ?= python3
# pyproject's requires-python; checked before anything is installed, of PYTHON and of a kept .venv.
PYTHON_OK := import sys; sys.exit(sys.version_info < (3, 11))
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
NODE_STAMP := node_modules/.installed-stamp

.PHONY: venv node test lint typecheck spec-check regenerate demo bench fuzz lock clean

venv: $(STAMP)

$(STAMP): requirements/dev.lock requirements/bootstrap.lock pyproject.toml
	@if ! $(BIN)/python -c '$(PYTHON_OK)' 2>/dev/null; then \
	  if ! $(PYTHON) -c '$(PYTHON_OK)' 2>/dev/null; then \
	    echo "make: authing-wechat needs Python 3.11 or newer, but PYTHON=$(PYTHON) is $$($(PYTHON) --version 2>/dev/null || echo 'not found'); run: make PYTHON=python3.11 $(or $(MAKECMDGOALS),venv)" >&2; \
	    exit 1; \
	  fi; \
	  if [ -e $(VENV) ]; then echo "make: $(VENV) was not made by Python 3.11+; making it again"; rm -rf $(VENV); fi; \
	  echo "$(PYTHON) -m venv $(VENV)"; $(PYTHON) -m venv $(VENV); \
	fi
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements/bootstrap.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --require-hashes -r requirements/dev.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

node: $(NODE_STAMP)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

spec-check: venv node
	$(BIN)/openapi-spec-validator openapi/authing-wechat.yaml openapi/clouds/*.yaml
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true npx --no-install redocly lint --format=stylish --config openapi/redocly.yaml openapi/authing-wechat.yaml openapi/clouds/*.yaml

lint: venv
	$(BIN)/ruff check overlays tests scripts
	$(BIN)/ruff format --check overlays tests scripts

typecheck: venv
	$(BIN)/mypy

test: venv node spec-check docs
	$(BIN)/python scripts/regenerate.py --check
	$(MAKE) --no-print-directory lint typecheck
	$(BIN)/pytest

# The docs site (mkdocs.yml, docs/) into site/; --strict fails on any warning (a dead link, a
# page left out of the nav, a docstring griffe cannot read).
.PHONY: docs
docs: venv
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

regenerate: venv node
	$(BIN)/python scripts/regenerate.py

demo: venv
	$(BIN)/authing-wechat demo

bench: venv
	$(BIN)/python scripts/bench.py

# Long, randomized runs: the contract properties, the bad-input fuzzer and thousands of soak
# calls per client flavour (seed random unless AUTHING_WECHAT_SOAK_SEED is set; a failure names
# it). Not part of `make test`, which runs a short fixed-seed slice of each.
fuzz: venv node
	AUTHING_WECHAT_FUZZ_EXAMPLES=1000 $(BIN)/pytest tests/contract -q --timeout=0
	AUTHING_WECHAT_FUZZ_EXAMPLES=300 AUTHING_WECHAT_SOAK_CALLS=3000 $(BIN)/pytest tests/hardening -q --timeout=0

clean:
	rm -rf $(VENV) node_modules .mypy_cache .ruff_cache .hypothesis .schemathesis

# Re-resolve the locks after changing dependencies in pyproject.toml or package.json.
lock: venv
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 --universal -o requirements/dev.lock
	npm install --package-lock-only --no-audit --no-fund
