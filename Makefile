# Two commands matter: `make run` and `make test`. Both go through `make install`,
# which is idempotent: it re-installs only when a lock file changes. It installs only the
# exact, hash-checked versions in requirements/*.lock and package-lock.json.
VENV   := .venv
PY     := $(VENV)/bin/python
PWB    := $(VENV)/bin/pwb
STAMP  := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: install run test fuzz audit bench load lock clean

# The package's own bytecode is compiled here (in a second when it is up to date): with
# PYTHONDONTWRITEBYTECODE set, as on these machines, every `pwb` run would otherwise compile
# the whole package from source again, a tenth of a small command's start-up.
install: $(STAMP) $(NODE_STAMP)
	$(PY) -m compileall -q src

$(STAMP): pyproject.toml requirements/dev.lock scripts/install-system-packages.sh
	bash scripts/install-system-packages.sh
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes --no-deps -r requirements/dev.lock
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# An independent ZPL renderer (tests), a barcode decoder and charts (vendored into web/).
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

run: install
	$(PWB) init
	$(PWB) demo
	$(PWB) serve --host $(HOST) --port $(PORT)

# The whole suite on each backend: SQLite (embedded default), then PostgreSQL, where every
# database fixture and every `pwb` command the tests run uses a PostgreSQL schema.
test: install
	PWB_TEST_DATABASE=sqlite $(PY) -m pytest
	PWB_TEST_DATABASE=postgresql $(PY) -m pytest

# The fuzz suites with many more examples than `make test` runs (still seeded: reproducible).
fuzz: install
	PWB_FUZZ_EXAMPLES=60 PWB_PARSER_EXAMPLES=3000 $(PY) -m pytest -q -p no:cacheprovider tests/test_fuzz_api.py tests/test_fuzz_parsers.py

# Known vulnerabilities in the locked dependencies (needs the vulnerability database: online).
audit: install
	bash scripts/audit-dependencies.sh $(VENV)/bin/pip-audit requirements/dev.lock

bench: install
	bash scripts/install-system-packages.sh --bench
	$(PY) -m pip install --quiet --require-hashes --no-deps -r requirements/bench.lock
	$(PY) benchmarks/run.py

# The load test at the highest load this machine sustains: a ramp of users (one minute a step)
# finds it, then ten minutes at that step; reports in benchmarks/results/load-ramp.* and
# load-10min.* (needs PostgreSQL at 127.0.0.1:5432 and Redis at 6379).
load: install
	$(PY) -m pip install --quiet --require-hashes --no-deps -r requirements/bench.lock
	$(PY) benchmarks/load/run_load.py --ramp 20,40,80,120,160,240,320,400 --minutes 10

# Refresh the locks after editing pyproject.toml or package.json (needs the package registries).
lock:
	$(PY) -m pip install --quiet uv
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 --quiet -o requirements/dev.lock
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --extra bench --generate-hashes --python-version 3.11 --quiet -o requirements/bench.lock
	npm install --package-lock-only --no-audit --no-fund

clean:
	rm -rf $(VENV) var node_modules .pytest_cache .hypothesis
	find src -name __pycache__ -type d -prune -exec rm -rf {} +
