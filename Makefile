# Two entry points: `make demo` and `make test`; both set up .venv from scratch on a fresh machine.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test test-fast bench web web-note clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $(STAMP)

install: $(STAMP) $(if $(shell command -v npm 2>/dev/null),web,web-note)

# The atlas front end (web/): npm ci + esbuild into src/econet/web/static/build/ (git-ignored).
WEB_BUILD := src/econet/web/static/build/atlas.js
web: $(WEB_BUILD)

$(WEB_BUILD): web/package.json web/package-lock.json web/build.mjs $(wildcard web/src/*.* web/src/i18n/*.json)
	cd web && npm ci --no-audit --no-fund && npm run build

web-note:
	@echo "note: npm not found: the atlas assets are not built (the API works; / shows how to build them). Install Node.js 20+ and run 'make web'."

demo: install
	$(BIN)/econet demo

test: install
	$(BIN)/python -m pytest -q -p no:cacheprovider

test-fast: install
	$(BIN)/python -m pytest -q -x -m "not slow"

bench: install
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build dist src/*.egg-info econet-demo
