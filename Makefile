PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA ?= var

.PHONY: run test test-tools lint venv clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test,lint]'
	touch $@

venv: $(VENV)/.installed

## make run: venv, demo data on first start, then every service in the foreground.
run: venv
	$(BIN)/swissbox demo --data $(DATA)
	exec $(BIN)/swissbox serve --data $(DATA)

## make test: the whole pytest suite, one pytest-xdist worker per core (at most TEST_JOBS),
## each test file on one worker (its module fixtures start once).
TEST_JOBS ?= 4
test: venv
	$(BIN)/python -m pytest -q -n auto --maxprocesses $(TEST_JOBS) --dist loadfile

## make test-tools: Debian clients used by tests/clients, and PostgreSQL for the store
## tests (root; apt-get).
TOOLS := bind9-dnsutils knot-dnsutils curl swaks ddclient inadyn isync vdirsyncer nsd knot postgresql \
	opendkim opendkim-tools libmail-srs-perl dovecot-sieve dovecot-core sieve-connect \
	rspamd redis-server clamav clamav-daemon pebble dovecot-imapd offlineimap3 chromium
test-tools:
	@missing=""; for p in $(TOOLS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	else echo "test tools present"; fi

lint: venv
	$(BIN)/ruff check swissbox tests bench
	$(BIN)/ruff format --check swissbox tests bench
	$(BIN)/mypy swissbox

clean:
	rm -rf $(VENV) *.egg-info
