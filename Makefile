# The two commands a new user needs: `make up` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: up test prerequisites soak rehearsal bench install clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing into $(VENV) (pinned by constraints.txt) …"
	@$(PY) -m pip install -q --upgrade pip
	@$(PY) -m pip install -q -c constraints.txt -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

up: $(STAMP)
	@$(VENV)/bin/youfu up

# PostgreSQL started, Chromium, a CJK font and axe-core installed, or a list of what to install (exit 1)
prerequisites:
	@bash scripts/prerequisites.sh

test: prerequisites $(STAMP)
	@$(PY) tests/run_suite.py

soak: $(STAMP)
	@$(PY) -m pytest tests/soak -q -s

# two replicas of everything, one of each SIGKILLed under load (issue 27): bench/results/faults.json
rehearsal: $(STAMP)
	@$(PY) bench/rehearsal.py

BENCHMARKS := matching http_clients events_relay vouchers_batch ordering meals settle_latency idle_platform catch_up

bench: $(STAMP)
	@for b in $(BENCHMARKS); do echo "== bench/$$b.py"; $(PY) bench/$$b.py || exit 1; done
	@$(PY) bench/summary.py

clean:
	rm -rf var .pytest_cache
