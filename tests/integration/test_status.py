"""`fourteenplus status` against the running Asterisk, then with Asterisk stopped.

It runs after the call tests (file order) because it stops and restarts Asterisk."""

from __future__ import annotations

import json
import subprocess
import sys

from fourteenplus import asterisk
from fourteenplus.paths import REPO


def status(*args):
    return subprocess.run([sys.executable, "-m", "fourteenplus.cli", "status", *args],
                          capture_output=True, text=True, cwd=REPO, timeout=60)


def test_status_healthy_with_asterisk_and_the_ari_app(app):
    result = status("--json")
    health = json.loads(result.stdout)
    assert result.returncode == 0, result.stderr
    assert health["ok"] and health["asterisk"] and health["ari_app"]
    assert health["version"].startswith("22.")
    assert health["trunks"] == {"fourteenplus-trunks": health["trunks"]["fourteenplus-trunks"]}
    assert health["calls"] == 0


def test_status_with_asterisk_stopped_exits_1_and_says_why(app):
    asterisk.stop()
    try:
        result = status()
        assert result.returncode == 1
        assert "Asterisk is down or unreachable" in result.stderr
        assert result.stdout.strip().endswith("DOWN")
    finally:
        asterisk.start()
