# The two commands: `make run` (the main job on the embedded defaults) and `make test` (the suite).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export PREFECT_SERVER_ANALYTICS_ENABLED := false

.PHONY: install chromium run test test-fast contract clean serve stop

install: $(STAMP)

# torch==2.13.0 first: its CPU wheel lies on this machine's disk, and the project's torch range
# is then already satisfied, so nothing pulls a multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: install
	$(BIN)/indexgate sync --source data/corpus --golden data/golden.jsonl --alias docs --config indexgate.yaml; \
	  rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 3 ] || exit $$rc
	@echo
	$(BIN)/indexgate status --alias docs
	@echo
	$(BIN)/indexgate search --alias docs "How many days do I have to submit an expense report?" -k 3

# A Prefect server and a process worker on 127.0.0.1:$(PORT) (no Docker), the work pool "indexgate"
# and every deployment of deployments/prefect.yaml; pids and logs in $(SERVE_DIR). `make stop` ends them.
PORT ?= 4200
SERVE_DIR ?= .serve
serve: install
	$(PY) deployments/serve.py start --port $(PORT) --state-dir $(SERVE_DIR)

stop:
	$(PY) deployments/serve.py stop --state-dir $(SERVE_DIR)

# The report test drives Debian's Chromium (never a browser download); install it when missing.
# If that fails (no root, no apt), the test skips and says why; the rest of the suite still runs.
CHROMIUM := /usr/bin/chromium
chromium:
	@test -x $(CHROMIUM) || { echo "installing chromium (apt-get) for the report test"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	  || echo "could not install chromium: the browser test of the report will be skipped"; }

# dclint (npm) validates docker/compose.yaml in the tests where `docker compose` is missing
# (hadolint, for the Dockerfile, comes with the test extras). Without npm those checks skip.
DCLINT := .tools/node_modules/.bin/dclint
$(DCLINT):
	@command -v npm >/dev/null && npm install --silent --no-audit --no-fund --prefix .tools dclint@3.1.0 \
	  || echo "could not install dclint: the compose file is validated only where docker compose exists"

test: install chromium $(DCLINT)
	$(BIN)/pytest

test-fast: install
	$(BIN)/pytest -m "not slow"

# The shared user-facing contract checks (needs ../shared).
contract: install
	../shared/checks/cli-contract

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .tools
