# fourteenplus: `make run` and `make test` are all anyone types.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FP := $(VENV)/bin/fourteenplus
DEBIAN_PACKAGES := sip-tester espeak-ng sox debootstrap chromium

.PHONY: setup system-packages test unit run check bench clean

setup: system-packages $(VENV)/.installed

# Installs what is missing when root; otherwise names it and stops.
system-packages:
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing >/dev/null; \
	  else echo "missing Debian packages:$$missing; install them with: sudo apt-get install$$missing" >&2; exit 1; fi; \
	fi

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

check: setup
	$(FP) check

unit: setup
	$(PY) -m pytest -q tests/unit

test: setup
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
