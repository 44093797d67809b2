# authing-wechat: the README's commands. Everything installs from the repo's own lock files.
PYTHON ?= python3
# pyproject's requires-python; checked before anything is installed, of PYTHON and of a kept .venv.
PYTHON_OK := import sys; sys.exit(sys.version_info < (3, 11))
VENV := .venv
BIN := $(VENV)/bin
COMMA := ,
STAMP := $(VENV)/.installed-stamp
NODE_STAMP := node_modules/.installed-stamp
# The other Pythons that pyproject declares. `make test` runs the suite on each too, in
# .venv-X.Y made from the same lock files by pythonX.Y on PATH or pyenv's X.Y.*; a missing one
# fails the run when CI=true and is skipped with a message otherwise (`make test-3.12` alone).
OTHER_PYTHONS := 3.12 3.13
# pytest-xdist workers: the suite's servers take free loopback ports, its files are temporary.
PYTEST_WORKERS ?= 2
# `--dist load` (the default), not loadscope/loadfile/loadgroup: those key on node ids, which
# schemathesis's parametrized tests share, and silently drop tests (xdist 3.8).
PYTEST_XDIST = -n $(PYTEST_WORKERS) --dist load
# The suites start a few hundred Python processes (workers, the CLI, recipes, servers). Where
# PYTHONDONTWRITEBYTECODE=1 (some machines set it), each compiles every module it imports
# again, a fifth of its time; here their bytecode goes to one cache outside the source tree.
PYTEST_ENV = PYTHONDONTWRITEBYTECODE= PYTHONPYCACHEPREFIX=$(CURDIR)/.cache/pycache
# On the other Pythons: all but the slow suites, tests/contract (Prism and schemathesis against
# the mock), the fleet's processes on a real Redis and the README's and docs' examples (a
# subprocess each, running the code paths the package's own suites cover on every Python),
# and the tests marked one_python; so unit, integrations, hardening, generation, packaging,
# the demo and the Redis server itself (it installs on every Python). The whole suite on each
# would not fit make test's 5 minutes on 2 cores.
OTHER_PYTEST_ARGS ?= --ignore=tests/contract $(addprefix --ignore=tests/fleet/test_,$(addsuffix .py,\
	fleet fleet_fallback redis_store redis_bounds redis_cluster)) \
	--ignore=tests/test_docs_examples.py --ignore=tests/test_readme_recipes.py -m 'not one_python'

.PHONY: venv node test $(addprefix venv-,$(OTHER_PYTHONS)) $(addprefix test-,$(OTHER_PYTHONS)) \
	checks regenerate-check lint typecheck spec-check regenerate demo bench fuzz lock clean

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

regenerate-check: venv
	$(BIN)/python scripts/regenerate.py --check

lint: venv
	$(BIN)/ruff check overlays tests scripts
	$(BIN)/ruff format --check overlays tests scripts

typecheck: venv
	$(BIN)/mypy

# Everything but the tests: the spec, the generated tree and the cloud documents, ruff, mypy, the
# docs site.
checks: spec-check regenerate-check lint typecheck docs

# The installs go side by side (they wait on disk and on the package caches more than on a
# core), then the checks two at a time (each is one process), then the suites, one Python at a
# time on PYTEST_WORKERS workers. --output-sync keeps each step's output in one piece.
test:
	$(MAKE) --no-print-directory -j4 --output-sync=target venv node $(addprefix venv-,$(OTHER_PYTHONS))
	$(MAKE) --no-print-directory -j2 --output-sync=target checks
	$(PYTEST_ENV) $(BIN)/pytest $(PYTEST_XDIST)
	$(MAKE) --no-print-directory $(addprefix test-,$(OTHER_PYTHONS))

# Python X.Y for the other Pythons' targets: pythonX.Y on PATH or pyenv's X.Y.*, else nothing.
python_for = $(firstword $(foreach candidate,python$(1) $(wildcard $(or $(PYENV_ROOT),$(HOME)/.pyenv)/versions/$(1).*/bin/python$(1)),\
	$(shell "$(candidate)" -c 'import sys; sys.exit(sys.version_info[:2] != ($(subst .,$(COMMA),$(1))))' 2>/dev/null && echo "$(candidate)")))
# What a missing one does: fail under CI, else say so and go on.
define missing_python
echo "make: Python $(1) not found (python$(1) on PATH, or pyenv's $(1).*)" >&2; \
case "$${CI:-}" in true|1) echo "make: CI tests every Python that pyproject declares" >&2; exit 1;; esac; \
echo "make: the tests on Python $(1) are skipped here (CI fails on this)" >&2; exit 0
endef

$(addprefix venv-,$(OTHER_PYTHONS)): venv-%:
	@found='$(call python_for,$*)'; \
	if [ -z "$$found" ]; then $(call missing_python,$*); fi; \
	echo "Python $*: $$found"; \
	$(MAKE) --no-print-directory venv PYTHON="$$found" VENV=.venv-$* \
	  PYTHON_OK='import sys; sys.exit(sys.version_info[:2] != ($(subst .,$(COMMA),$*)))'

# (Without Python X.Y, venv-X.Y has said so, or failed the run under CI.)
$(addprefix test-,$(OTHER_PYTHONS)): test-%: venv-% node
	@if [ -z '$(call python_for,$*)' ]; then exit 0; fi; \
	echo ".venv-$*/bin/pytest $(PYTEST_XDIST) $(OTHER_PYTEST_ARGS)"; \
	$(PYTEST_ENV) .venv-$*/bin/pytest $(PYTEST_XDIST) $(OTHER_PYTEST_ARGS)

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
	rm -rf $(VENV) $(addprefix .venv-,$(OTHER_PYTHONS)) node_modules .cache .mypy_cache .ruff_cache .hypothesis .schemathesis

# Re-resolve the locks after changing dependencies in pyproject.toml or package.json. The runtime
# lock (a user's install, as the import benchmark measures it) takes dev.lock's versions.
lock: venv
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 --universal -o requirements/dev.lock
	$(BIN)/uv pip compile pyproject.toml --generate-hashes --python-version 3.11 --universal -c requirements/dev.lock -o requirements/runtime.lock
	npm install --package-lock-only --no-audit --no-fund
