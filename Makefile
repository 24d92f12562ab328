# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8501
ACCOUNTS ?= 2000

.PHONY: run test lint demo-db refresh migrate format clean bench bench-import bench-load

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.stamp-runtime: requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.stamp-dev: requirements-dev.txt $(VENV)/.stamp-runtime
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# The local OpenID Connect provider of the single sign-on browser test (Node.js).
OIDC := tests/e2e/oidc
$(OIDC)/node_modules/.installed: $(OIDC)/package.json
	@if command -v npm >/dev/null; then \
	  npm install --prefix $(OIDC) --no-package-lock --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: the single sign-on browser test will be skipped"; fi

## run: install, create and fill the demo database on first run, serve on 127.0.0.1:8501
run: $(VENV)/.stamp-runtime
	$(PY) -m data_access ensure-demo --accounts $(ACCOUNTS)
	$(VENV)/bin/streamlit run app.py --server.address $(HOST) --server.port $(PORT)

## test: everything CI runs (lint, import contract, all tests)
# Tests without a browser run on two workers; browser tests (one of which stops and starts
# PostgreSQL) run afterwards, alone.
test: $(VENV)/.stamp-dev $(OIDC)/node_modules/.installed lint
	$(PY) -m pytest -n 2 -m "not browser"
	$(PY) -m pytest -m browser

lint: $(VENV)/.stamp-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: $(VENV)/.stamp-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## demo-db: migrate and (re)fill the configured database (STRATA_DATABASE_URL) with demo data
demo-db: $(VENV)/.stamp-runtime
	$(PY) -m data_access demo-db --replace --accounts $(ACCOUNTS)

migrate: $(VENV)/.stamp-runtime
	$(PY) -m data_access migrate

refresh: $(VENV)/.stamp-runtime
	$(PY) -m data_access refresh

## bench: every page and role at 1,000 / 20,000 / 104,000 accounts on SQLite and PostgreSQL;
## writes docs/PERFORMANCE.md (SIZES=S,M,L DATABASES=sqlite,postgresql; portfolios are
## built once into STRATA_BENCH_DIR, default ~/.cache/strata-bench; the first build of all
## three sizes takes about a quarter of an hour)
bench: $(VENV)/.stamp-dev
	$(PY) bench/perf.py $(if $(SIZES),--sizes $(SIZES)) $(if $(DATABASES),--databases $(DATABASES))

## bench-import: time a 100,000-row import on SQLite and PostgreSQL (prints a table)
bench-import: $(VENV)/.stamp-runtime
	$(PY) bench/imports.py

## bench-load: 20 concurrent browser sessions click through every page (SESSIONS=, ROUNDS=)
bench-load: $(VENV)/.stamp-dev
	$(PY) bench/load.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
