# spftrace: `make demo` and `make test` are all a fresh machine needs.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed-stamp
DEMO    ?= spftrace-demo
# the compiled core (spftrace/_native): pip builds it; a change reinstalls
NATIVE  := setup.py $(wildcard spftrace/_native/src/*.[ch])
# every dependency's exact version, resolved from PyPI by `make lock`
LOCK    := constraints.txt

.PHONY: demo test lint typecheck unit test-pure native bench golden samples fuzz load clean \
	sysdeps lock

$(STAMP): pyproject.toml $(LOCK) $(NATIVE)
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c $(LOCK) -e '.[dev]'
	@# byte-compiled now, so that the first run is as fast as later ones
	$(BIN)/python -m compileall -q spftrace
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/spftrace demo --out $(DEMO)
	@echo "spftrace is installed in $(VENV)/bin; to put it on PATH:"
	@echo "  . $(VENV)/bin/activate        (or: export PATH=$$PWD/$(VENV)/bin:\$$PATH)"

test: sysdeps lint typecheck unit test-pure

# Debian packages the tests drive, as COMMAND:PACKAGE: Debian's chromium for the
# browser test (never a downloaded browser), perf for the live-capture tests,
# trace-cmd for the trace.dat tests that record a fresh file.
# Installed with apt-get when missing and root; otherwise the command is printed.
SYSDEPS := chromium:chromium perf:linux-perf trace-cmd:trace-cmd
sysdeps:
	@missing=; for dep in $(SYSDEPS); do \
	  command -v $${dep%%:*} >/dev/null 2>&1 || missing="$$missing $${dep#*:}"; \
	done; \
	[ -z "$$missing" ] && exit 0; \
	why="the tests drive chromium (browser), perf (live captures), trace-cmd (trace.dat)"; \
	if [ "$$(id -u)" = 0 ]; then \
	  echo "installing Debian packages$$missing with apt-get ($$why)"; \
	  apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing >/dev/null; \
	else \
	  echo "error: missing Debian packages$$missing ($$why); run:" >&2; \
	  echo "  sudo apt-get install -y$$missing" >&2; \
	  exit 1; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check spftrace tests bench setup.py
	$(BIN)/ruff format --check spftrace tests bench setup.py

typecheck: $(STAMP)
	$(BIN)/mypy
	$(BIN)/mypy --strict --disallow-any-unimported --disallow-any-explicit --follow-imports=silent \
		spftrace/formats/spec.py spftrace/formats/lines.py spftrace/ingest

unit: $(STAMP)
	$(BIN)/pytest -q

# as on a machine without a C compiler: the compiled core switched off, every
# trace line through the exact per-line Python path (SPFTRACE_NO_NATIVE=1 at
# install skips building it; at run time it ignores a built one)
test-pure: $(STAMP)
	@# the whole suite again through the pure-Python path, as on a machine without a compiler
	SPFTRACE_NO_NATIVE=1 $(BIN)/pytest -q -p no:cacheprovider

# spftrace fleet on a local Spark (pyspark, the [fleet] extra; Java 17): Spark's summaries
# and comparisons equal DuckDB's on a many-run dataset.  Not part of make test (its size)
FLEET_STAMP := $(VENV)/.fleet-stamp
$(FLEET_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q -e '.[dev,fleet]'
	touch $(FLEET_STAMP)

.PHONY: test-spark
test-spark: $(FLEET_STAMP)
	@command -v java >/dev/null || { echo "make test-spark: Spark needs Java 17:" \
		"apt-get install -y openjdk-17-jre-headless"; exit 1; }
	SPFTRACE_TEST_SPARK=1 $(BIN)/pytest -q tests/spark

# a FLEET_RUNS-run fleet on DuckDB (fleet/local.py) and Spark local, the same outputs
# checked; figures in bench/FLEET.md (make bench links it: minutes, so run apart)
FLEET_RUNS ?= 1000
.PHONY: bench-fleet
bench-fleet: $(FLEET_STAMP)
	$(BIN)/python bench/fleet.py --runs $(FLEET_RUNS)

# rebuild the compiled core in place after editing spftrace/_native/src
native: $(STAMP)
	$(BIN)/python -m pip install -q --no-deps -e .
	$(BIN)/python -m compileall -q spftrace

# regenerate golden expected tables after reviewing a parser change
golden: $(STAMP)
	SPFTRACE_UPDATE_GOLDEN=1 $(BIN)/pytest -q tests/test_golden.py

# regenerate the simulated sample runs (a test checks they reproduce)
samples: $(STAMP)
	rm -rf sample_traces/sim/*-*
	$(BIN)/python -m spftrace.sim.samples sample_traces/sim

# re-resolve every dependency (pyproject.toml's ranges, the dev extra) from PyPI into
# $(LOCK); review the diff, then the next make reinstalls from it
# (uv resolves from PyPI alone: no local wheel directories or extra indexes)
lock:
	[ -x $(BIN)/python ] || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
	  --no-config --custom-compile-command "make lock" -o $(LOCK)

bench: $(STAMP)
	$(BIN)/python bench/run.py

# the long fuzzing budget (make test runs a short one): hypothesis with FUZZ_EXAMPLES
# examples per test, then atheris for FUZZ_SECONDS; figures in tests/fuzz-corpus/RESULTS.md
FUZZ_SECONDS ?= 300
FUZZ_EXAMPLES ?= 400
fuzz: $(STAMP)
	$(BIN)/python tests/fuzz_run.py --seconds $(FUZZ_SECONDS) --examples $(FUZZ_EXAMPLES)

# ingest and report a LOAD_LINES-line text trace (not part of make test or make bench)
LOAD_LINES ?= 50000000
load: $(STAMP)
	$(BIN)/python bench/load.py --lines $(LOAD_LINES)

clean:
	rm -rf $(VENV) $(DEMO) spftrace-data .pytest_cache .mypy_cache .ruff_cache build
	rm -f spftrace/_native/*.so
