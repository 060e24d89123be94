# airbnb_assets — the commands a newcomer needs. `make demo` and `make test` work on a fresh machine
# with Python 3.11+ and Java 17 (`make test` also needs Go 1.22+ to build actionlint): they install
# uv (pip) and the locked environment (uv.lock) first.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.8
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
RUN := $(UV) run --frozen
# The Dagster instance (runs, materializations, sensor cursors) of `make demo` and `make dev`.
DAGSTER_HOME := $(CURDIR)/.dagster_home
# The GitHub Actions linter the deployment tests run, built from source into .tools/bin (git-ignored).
ACTIONLINT_VERSION := 1.7.12
ACTIONLINT := $(CURDIR)/.tools/bin/actionlint

.PHONY: setup browser tools demo dev test lint typecheck docs pytest jars clean bench bench-commands cluster-requirements

## The locked environment (the browser the dashboard test renders in is `make test`'s, not the demo's),
## and the local Spark driver's class archive: one JVM dumps the Spark, Delta and Hadoop classes it
## loads (about a minute and 210 MB in ~/.cache/airbnb_assets/spark, once per machine and
## environment; on a new machine that first start also downloads Delta's jars), and every later
## local session maps them instead of loading them (airbnb_assets/platform/class_archive.py).
setup: .venv/.synced
	@$(RUN) python -m airbnb_assets.spark_archive

## Installed with their bytecode compiled (as pip and the Docker image do): without it every Python
## process -- each run, test worker, CLI call, Spark's Python workers -- compiled the ~16 s of
## imports of the stack again wherever PYTHONDONTWRITEBYTECODE is set (as on CI), 8 s with it.
## Synced again when the Makefile changes too (its recipe holds the sync's options).
.venv/.synced: pyproject.toml uv.lock Makefile
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)"
	$(UV) sync --frozen --compile-bytecode
	@touch $@

## Headless Chromium + chromedriver for the dashboard's browser test: Debian's `chromium` and
## `chromium-driver` (apt-get, with sudo when not root), installed only when missing. Without them
## the test is skipped; with AIRBNB_REQUIRE_BROWSER=1 (CI, .ci/run) this target and the test fail.
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif command -v apt-get >/dev/null && bash .ci/install-browser.sh; then :; \
	else \
	  echo "browser: chromium and chromedriver are missing and could not be installed with apt-get" \
	       "(Debian packages chromium, chromium-driver); install them to run the dashboard's browser test," \
	       "which is skipped until then." >&2; \
	  test "$${AIRBNB_REQUIRE_BROWSER:-0}" != 1; \
	fi

## Tools of the CI/CD checks that are not on PyPI: actionlint, built with Go (the PyPI wrapper
## downloads a binary from GitHub at install time). Rebuilt only when the pinned version changes.
tools: $(ACTIONLINT)

$(ACTIONLINT): Makefile
	@command -v go >/dev/null || { echo "tools: Go 1.22+ is needed to build actionlint (go install)" >&2; exit 1; }
	GOBIN=$(dir $@) go install github.com/rhysd/actionlint/cmd/actionlint@v$(ACTIONLINT_VERSION)
	@touch $@

## Replay the six real snapshots through the daily job on local Spark + Delta, one line per day;
## the drift sensor ticks after each day and writes its alerts. Starts from scratch: the local
## lakehouse (.lakehouse/dev) and the demo's Dagster instance (.dagster_home) are reset.
## `make demo ARGS=-v` shows Dagster's logs.
demo: setup
	@rm -rf $(DAGSTER_HOME) && mkdir -p $(DAGSTER_HOME) && cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	@DAGSTER_HOME=$(DAGSTER_HOME) $(RUN) airbnb replay --fresh $(ARGS)

## Dagster UI on http://127.0.0.1:3000 with the runs of `make demo`.
dev: setup
	@mkdir -p $(DAGSTER_HOME) && cp -n dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	DAGSTER_HOME=$(DAGSTER_HOME) $(RUN) dagster dev -w workspace.yaml

## The Databricks cluster's pins (airbnb_assets/platform/cluster-requirements.txt): the wheel's
## dependencies resolved for Databricks Runtime 17.3 LTS (Python 3.12) against its preinstalled libraries.
cluster-requirements: setup
	$(RUN) python -m airbnb_assets_tests.databricks_emulator.requirements

## Quality gates, docs and the test suite (what CI runs). The three static gates run side by side,
## each on one core and each one's output kept together (23 s instead of 40 s one after the other,
## from a clean checkout on 2 cores); the suite starts once all three have passed.
test: setup
	@$(MAKE) --no-print-directory -j3 --output-sync=target lint typecheck docs
	@$(MAKE) --no-print-directory pytest

lint: setup
	$(RUN) ruff check airbnb_assets airbnb_assets_tests benchmarks
	$(RUN) ruff format --check airbnb_assets airbnb_assets_tests benchmarks

typecheck: setup
	$(RUN) mypy airbnb_assets

docs: setup
	$(RUN) sphinx-build -W --keep-going -q -b html docs docs/_build/html

pytest: setup browser tools
	$(RUN) pytest

## The benchmark suite (benchmarks/run.py): one real day through daily_job vs a bare PySpark script,
## a 1M-row day, the incremental cost of history; it reports the times `make bench-commands`
## recorded. Prepared states are cached in .bench/ (ARGS=--prepare only builds them); results in
## benchmarks/results/ and benchmarks/RESULTS.md. `make bench ARGS="--only 1"` runs one scenario.
bench: setup
	$(RUN) python -m benchmarks.run $(ARGS)

## Time `make demo` and `make test` and record them in benchmarks/results/commands.json (figure 4).
bench-commands: setup
	$(RUN) python -m benchmarks.run --time-commands $(ARGS)

## Offline fallback: copy the Delta jars with Maven into .jars/ (used instead of Spark's resolver).
jars:
	mvn -q -f .ci/delta-jars.pom.xml dependency:copy-dependencies \
	  -DincludeScope=runtime -DoutputDirectory=$(CURDIR)/.jars

clean:
	rm -rf .lakehouse .dagster_home .bench .tools docs/_build docs/_generated docs/api/_generated
