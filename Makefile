# fourteenplus: `make run` and `make test` are all anyone types.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FP := $(VENV)/bin/fourteenplus
# postgresql: a private server for the store tests and the cluster (never the system one);
# kamailio: the cluster's SIP entry (dispatcher, permissions, pike are in the base package);
# prometheus: its promtool checks the shipped alert rules.
# Their system services, which Debian starts on install, are disabled: the system Kamailio
# would take port 5060 on every address, Asterisk's too, and a Prometheus server is not ours to run.
DEBIAN_PACKAGES := sip-tester espeak-ng sox debootstrap chromium iproute2 postgresql kamailio prometheus

.PHONY: setup lock system-packages bench-voices test unit run cluster call asterisk asterisk-stop check status bench bench-calls soak clean

# `make call NUMBER=140229 SAY="ik wil graag de gemeente Koggenland bellen"` (or AUDIO=clip.wav, DIGITS=3)
NUMBER ?= 140229
# Held-out corpora (the eval split): names with a second take each, and answers to "Bedoelt u …?".
BENCH_CORPUS ?= $(HOME)/.cache/fourteenplus/bench-corpus-eval-repeats
BENCH_REPLIES ?= $(HOME)/.cache/fourteenplus/bench-corpus-eval-replies
# The same held-out names spoken by MBROLA's diphone voices (closer to people than espeak-ng's).
BENCH_MBROLA ?= $(HOME)/.cache/fourteenplus/bench-corpus-eval-mbrola
# Held-out whole callers (a name, the name again, a ja and a nee each; both voice families).
BENCH_CALLERS ?= $(HOME)/.cache/fourteenplus/bench-callers-eval
MBROLA_PACKAGES := mbrola mbrola-nl2 mbrola-nl3 mbrola-de4 mbrola-us1 mbrola-fr1 mbrola-pl1 mbrola-en1

setup: system-packages $(VENV)/.installed

# Installs what is missing when root; otherwise names it and stops.
system-packages:
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing >/dev/null; \
	    if [ -d /run/systemd/system ]; then systemctl disable --now -q kamailio postgresql prometheus 2>/dev/null || true; fi; \
	  else echo "missing Debian packages:$$missing; install them with: sudo apt-get install$$missing" >&2; exit 1; fi; \
	fi

# Every dependency, direct or not, is pinned with its hashes in requirements.lock
# (`make lock` regenerates it from pyproject.toml); pip refuses anything else.
# requirements-run.lock is what an installation runs (README, Deploying): the same pins without
# the test tools, with PostgreSQL's driver.
$(VENV)/.installed: pyproject.toml dev/pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --require-hashes -r requirements.lock
	$(PY) -m pip install -q --no-deps -e .
	$(PY) -m pip install -q --no-deps -e dev
	touch $@

lock:
	$(PYTHON) -m venv build/lock-venv
	build/lock-venv/bin/pip install -q pip-tools
	build/lock-venv/bin/pip-compile -q --generate-hashes --extra test --strip-extras \
	  --no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml
	build/lock-venv/bin/pip-compile -q --generate-hashes --extra postgres --strip-extras \
	  --no-emit-index-url --no-emit-find-links -c requirements.lock -o requirements-run.lock pyproject.toml

check: setup
	$(FP) check

# Builds the Asterisk 22 root once (debootstrap, ~1 min), installs our configuration, starts
# Asterisk on loopback, then runs the ARI app in the foreground until Ctrl-C, which stops both.
run: setup
	$(FP) run --asterisk

asterisk: setup
	$(FP) asterisk install
	$(FP) asterisk start

asterisk-stop:
	$(FP) asterisk stop

status: setup
	$(FP) status

# Kamailio on 127.0.0.10 in front of two nodes (Asterisk + app on 127.0.0.11 and .12) and one
# private PostgreSQL, on loopback; prints "ready", Ctrl-C stops it all. Calls: make call TO=127.0.0.10
cluster: setup
	$(FP) cluster

call: setup
	$(FP) call $(NUMBER) $(if $(TO),--to $(TO)) $(if $(SAY),--say "$(SAY)") $(if $(AUDIO),--audio "$(AUDIO)") $(if $(DIGITS),--digits "$(DIGITS)")

# Whole callers through the real call flow (bench/dialogue.md), then recognition on held-out
# corpora generated outside the repo (espeak-ng's voices, the ja/nee replies, MBROLA's
# voices), beside the plain pipeline, and the names heard unprimed as under load
# (bench/recognition.md); every figure with the machine and the date.
bench: setup bench-voices
	test -f $(BENCH_CORPUS)/manifest.csv || $(FP) corpus $(BENCH_CORPUS) --split eval --count 300 --repeats
	test -f $(BENCH_REPLIES)/manifest.csv || $(FP) corpus $(BENCH_REPLIES) --split eval --count 200 --replies
	test -f $(BENCH_MBROLA)/manifest.csv || $(FP) corpus $(BENCH_MBROLA) --split eval --count 300 --repeats --voices mbrola
	test -f $(BENCH_CALLERS)/callers.csv || $(FP) corpus $(BENCH_CALLERS) --split eval --count 300 --callers
	$(FP) bench dialogue $(BENCH_CALLERS) --against barge_in=0.5 --report bench/dialogue.md --json
	$(FP) bench recognition $(BENCH_CORPUS) --report bench/recognition.md --json
	$(FP) bench recognition $(BENCH_REPLIES) --no-plain --report bench/recognition.md --json
	$(FP) bench recognition $(BENCH_MBROLA) --report bench/recognition.md --json
	$(FP) bench recognition $(BENCH_CORPUS) --no-plain --unprimed --report bench/recognition.md --json

# MBROLA and its voices are in Debian's contrib and non-free, which a stock Debian 12 does
# not enable: as root this enables them for the mirror apt already uses, in a sources file
# of its own, and installs the voices; otherwise it names them.
bench-voices: setup
	@missing=""; for p in $(MBROLA_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    . /etc/os-release; mirror=$$($(PY) -c 'from fourteenplus.asterisk import debian_mirror; print(debian_mirror())'); \
	    printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: contrib non-free\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
	      "$$mirror" "$$VERSION_CODENAME" > /etc/apt/sources.list.d/fourteenplus-mbrola.sources; \
	    echo "installing Debian packages (contrib, non-free):$$missing"; \
	    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing >/dev/null; \
	  else echo "missing Debian packages (contrib, non-free):$$missing; \`sudo make bench-voices\` installs them" >&2; exit 1; fi; \
	fi

# Latencies over real SIP calls; needs `make run` in another terminal.
bench-calls: setup
	$(FP) bench calls --count 20 --report bench/calls.md

# Load: 1,000 mixed real calls, 20 at once, after idle calls and concurrency steps (the
# ceiling); starts and stops its own Asterisk, trunk endpoint and app (stop `make run` first).
# About 15 minutes; figures into bench/soak.md.
soak: setup
	$(FP) soak --start --calls 1000 --concurrency 20 --steps 5,10,20,30,40 --report bench/soak.md

# The fast loop (under a minute): no whisper model, browser, speech synthesis or extra processes.
unit: setup
	$(PY) -m pytest -q tests/unit -m "not model and not browser and not processes and not voices"

# Everything: types (mypy, configured in pyproject.toml), then every test.
test: setup
	$(PY) -m mypy
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
