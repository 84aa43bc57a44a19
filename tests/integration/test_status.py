"""`fourteenplus status` against the running Asterisk, then with Asterisk stopped.

It runs after the call tests (file order) because it stops and restarts Asterisk."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.error
import urllib.request

from fourteenplus import asterisk, sipp
from fourteenplus.paths import CHECKOUT
from fourteenplus.sipp import Say, WaitPrompt
from fourteenplus_dev.app import AppProcess

from ..waiting import wait_until
from .conftest import ari_channels as asterisk_channels
from .conftest import in_background


def status(*args):
    return subprocess.run([sys.executable, "-m", "fourteenplus.cli", "status", *args],
                          capture_output=True, text=True, cwd=CHECKOUT, timeout=60)


def test_status_healthy_with_asterisk_and_the_ari_app(app):
    result = status("--json")
    health = json.loads(result.stdout)
    assert result.returncode == 0, result.stderr
    assert health["ok"] and health["asterisk"] and health["ari_app"]
    assert health["version"].startswith("22.")
    assert health["trunks"] == {"fourteenplus-trunks": health["trunks"]["fourteenplus-trunks"]}
    assert health["calls"] == 0
    # and what the app says of itself on its /readyz: the model loaded, the record store taking records
    assert health["readiness"] == {"ari": {"ready": True, "checks": {"ari": True, "model": True, "records": True}}}


def ari_channels() -> list[str]:
    """The names of the channels Asterisk has now, through ARI."""
    return [channel["name"] for channel in asterisk_channels()]


def test_status_counts_a_caller_at_the_question_once(app, trunk, tmp_path):
    """The app hears the caller through a snoop and an externalMedia channel: three channels
    in Stasis, one caller."""
    thread, placed = in_background(lambda: sipp.place_call(
        "140229", [WaitPrompt(), Say("Koggenland")], trunk, workdir=tmp_path))
    try:
        wait_until(lambda: {"Snoop/", "UnicastRTP/"} <= {name.split("/")[0] + "/" for name in ari_channels()},
                   lambda: f"the app to set up its ears: {ari_channels()}", timeout_s=30, every_s=0.1)
        result = status("--json")
        assert json.loads(result.stdout)["calls"] == 1, (result.stdout, ari_channels())
    finally:
        thread.join(120)
    assert [invite.user for invite in placed["result"].invites] == ["koggenland"]


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
    wait_until(lambda: metric(name) == before + 1, lambda: f"{name} {before + 1}, not {metric(name)}",
               timeout_s=5, every_s=0.1)
    assert metric('fourteenplus_active_calls{area="020"}') == 0


def readyz() -> tuple[int, dict]:
    try:
        with urllib.request.urlopen("http://127.0.0.1:9464/readyz", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def wait_until_ready(expected: int, timeout_s: float = 30.0) -> dict:
    """/readyz's checks once it answers `expected` (fails after `timeout_s`)."""
    _, answer = wait_until(lambda: (ready := readyz())[0] == expected and ready,
                           lambda: f"/readyz to answer {expected}, not {readyz()}", timeout_s, every_s=0.1)
    return answer["checks"]


def test_agi_tells_systemd_it_is_ready_and_feeds_the_watchdog(service_yaml, tmp_path):
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify"))
    notify.settimeout(60)
    agi = AppProcess(service_yaml, tmp_path / "agi.log", command="agi",
                          env={"NOTIFY_SOCKET": str(tmp_path / "notify"), "WATCHDOG_USEC": "1000000"},
                          options=("--port", "0", "--metrics-port", "0"))
    agi.start()
    try:
        assert [notify.recv(256) for _ in range(3)] == [b"READY=1", b"WATCHDOG=1", b"WATCHDOG=1"]
    finally:
        agi.stop()
        notify.close()


def test_status_with_asterisk_stopped_exits_1_and_says_why(app):
    assert wait_until_ready(200) == {"ari": True, "model": True, "records": True}
    assert metric("fourteenplus_ari_connected") == 1
    asterisk.stop()
    try:
        result = status()
        assert result.returncode == 1
        assert "Asterisk is down or unreachable" in result.stderr
        assert result.stdout.strip().endswith("DOWN")
        # the app lives on without ARI: alive, not ready, and the gauge an alert pages on says so
        assert wait_until_ready(503) == {"ari": False, "model": True, "records": True}
        assert metric("fourteenplus_ari_connected") == 0
        with urllib.request.urlopen("http://127.0.0.1:9464/healthz", timeout=5) as response:
            assert response.status == 200
    finally:
        asterisk.start()
    wait_until_ready(200)  # reconnected within its back-off (at most 10 s)
    assert metric("fourteenplus_ari_connected") == 1
