"""`fourteenplus status` against the running Asterisk, then with Asterisk stopped.

It runs after the call tests (file order) because it stops and restarts Asterisk."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request

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


def metric(series: str) -> float:
    """One series' value from the app's /metrics, 0 when it has none yet."""
    with urllib.request.urlopen("http://127.0.0.1:9464/metrics", timeout=5) as response:
        assert response.status == 200
        text = response.read().decode()
    values = dict(line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
    return float(values.get(series, 0))


def test_metrics_served_by_the_running_app_count_the_calls_made(app, call):
    name = 'fourteenplus_calls_total{area="020",outcome="transferred"}'
    before = metric(name)
    assert call("14020").reached.municipality == "Amsterdam"
    # counted when the dialplan's dial event reaches the app, which can be just after the caller's BYE
    deadline = time.monotonic() + 5
    while metric(name) != before + 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert metric(name) == before + 1
    assert metric('fourteenplus_active_calls{area="020"}') == 0


def test_status_with_asterisk_stopped_exits_1_and_says_why(app):
    asterisk.stop()
    try:
        result = status()
        assert result.returncode == 1
        assert "Asterisk is down or unreachable" in result.stderr
        assert result.stdout.strip().endswith("DOWN")
    finally:
        asterisk.start()
