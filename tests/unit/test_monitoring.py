"""The shipped monitoring: Prometheus' own checker accepts the alert rules and they fire when
they should, each says what to do, and every series the rules and the Grafana dashboard name
is one the app really serves on /metrics."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import urllib.request

import pytest
import yaml

from fourteenplus import resources
from fourteenplus.metrics import Metrics

from .scripted_calls import every_path

PROMETHEUS_OWN = {"up"}  # written by Prometheus for every target, not by the app
NAME = re.compile(r"\bfourteenplus_[a-z_]+\b")
ACTIONS = ("journalctl", "systemctl", "fourteenplus ", "asterisk ", "check", "add a node")
needs_promtool = pytest.mark.skipif(not shutil.which("promtool"), reason="promtool is not installed (make system-packages)")


def rules() -> list[dict]:
    groups = yaml.safe_load(resources.ALERT_RULES.read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"]]


def dashboard_queries() -> list[str]:
    dashboard = json.loads(resources.DASHBOARD.read_text(encoding="utf-8"))
    queries = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    return queries + [variable["definition"] for variable in dashboard["templating"]["list"] if "definition" in variable]


def served_names() -> set[str]:
    """The series names on /metrics of a real server, after every kind of event the app reports."""
    metrics = Metrics()
    for record in every_path().values():
        metrics.call_started(record.area_code)
        metrics.call_ended(record)
    metrics.recognition(420.0)
    metrics.recognition(0.0, failed=True, reason="timeout")
    metrics.recognition_shed()
    metrics.record_write_failed()
    metrics.config_reloaded(ok=False)
    metrics.ari_connected(True)
    metrics.watch_spool(lambda: 3)

    async def scrape() -> str:
        server = await metrics.serve(port=0)
        host, port = server.sockets[0].getsockname()[:2]
        try:
            def get():
                with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=5) as response:
                    return response.read().decode()
            return await asyncio.to_thread(get)
        finally:
            server.close()
            await server.wait_closed()

    text = asyncio.run(scrape())
    return {re.split(r"[{ ]", line, maxsplit=1)[0] for line in text.splitlines() if line and not line.startswith("#")}


def test_every_series_the_rules_and_the_dashboard_name_is_served_on_metrics():
    served = served_names()
    expressions = [rule["expr"] for rule in rules()] + dashboard_queries()
    named = {name for expr in expressions for name in NAME.findall(expr)}
    assert named - served == set(), f"named but not served: {sorted(named - served)}"
    assert all(NAME.search(expr) or "up{" in expr for expr in expressions)
    # what the issue asks the dashboard to show, each from the app's own series
    shown = " ".join(dashboard_queries())
    for series in ("calls_total", "active_calls", "recognition_latency_seconds_bucket", "recognitions_shed_total",
                   "trunk_failures_total", "record_spool_depth", "ari_connected", "config_reloads_total"):
        assert f"fourteenplus_{series}" in shown, series
    assert "histogram_quantile(0.5," in shown and "histogram_quantile(0.95," in shown


def test_every_alert_waits_has_a_severity_and_says_what_to_do():
    names = [rule["alert"] for rule in rules()]
    assert set(names) >= {"FourteenplusDown", "FourteenplusAriDisconnected", "FourteenplusRecognitionFailing",
                          "FourteenplusRecognitionsShed", "FourteenplusTrunkFailing", "FourteenplusRecordSpoolGrowing",
                          "FourteenplusRecordWritesFailing", "FourteenplusReloadFailed"}
    for rule in rules():
        assert re.fullmatch(r"\d+[smh]", rule["for"]), rule["alert"]
        assert rule["labels"]["severity"] in ("critical", "warning"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        assert any(action in rule["annotations"]["description"].lower() for action in ACTIONS), rule["alert"]


@needs_promtool
def test_promtool_accepts_the_alert_rules():
    done = subprocess.run(["promtool", "check", "rules", str(resources.ALERT_RULES)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@needs_promtool
def test_the_alerts_fire_on_the_series_that_mean_trouble_and_not_before_their_for(tmp_path):
    """promtool's rule unit tests: scraped series over time in, the alerts firing out."""
    instance = 'job="fourteenplus", instance="node-a:9464"'
    # the shipped rules without their texts, which promtool would otherwise compare word for word
    shipped = yaml.safe_load(resources.ALERT_RULES.read_text(encoding="utf-8"))
    for group in shipped["groups"]:
        for rule in group["rules"]:
            del rule["annotations"]
    (tmp_path / "alerts.yaml").write_text(yaml.safe_dump(shipped), encoding="utf-8")
    tests = {"rule_files": [str(tmp_path / "alerts.yaml")], "evaluation_interval": "1m", "tests": [{
        "interval": "1m",
        "input_series": [
            {"series": f"up{{{instance}}}", "values": "1 1 0 0 0"},
            {"series": f"fourteenplus_ari_connected{{{instance}}}", "values": "1 0 0 0 0"},
            {"series": f"fourteenplus_config_last_reload_successful{{{instance}}}", "values": "1 1 1 1 1"},
            {"series": f"fourteenplus_record_spool_depth{{{instance}}}", "values": "0+5x30"},
            {"series": f'fourteenplus_trunk_failures_total{{{instance}, municipality="Hoorn", status="CONGESTION"}}',
             "values": "0+1x30"},
        ],
        "alert_rule_test": [
            {"eval_time": "1m", "alertname": "FourteenplusAriDisconnected", "exp_alerts": []},
            {"eval_time": "2m", "alertname": "FourteenplusAriDisconnected", "exp_alerts": [
                {"exp_labels": {"severity": "critical", "job": "fourteenplus", "instance": "node-a:9464"}}]},
            {"eval_time": "3m", "alertname": "FourteenplusDown", "exp_alerts": [
                {"exp_labels": {"severity": "critical", "job": "fourteenplus", "instance": "node-a:9464"}}]},
            {"eval_time": "5m", "alertname": "FourteenplusReloadFailed", "exp_alerts": []},
            {"eval_time": "30m", "alertname": "FourteenplusRecordSpoolGrowing", "exp_alerts": [
                {"exp_labels": {"severity": "warning", "job": "fourteenplus", "instance": "node-a:9464"}}]},
            {"eval_time": "30m", "alertname": "FourteenplusTrunkFailing", "exp_alerts": [
                {"exp_labels": {"severity": "warning", "instance": "node-a:9464", "municipality": "Hoorn",
                                "status": "CONGESTION"}}]},
        ],
    }]}
    path = tmp_path / "alerts.test.yaml"
    path.write_text(yaml.safe_dump(tests), encoding="utf-8")
    done = subprocess.run(["promtool", "test", "rules", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
