"""Prometheus metrics: the figures after known calls, and the real HTTP endpoint."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import urllib.error
import urllib.request

import pytest

from fourteenplus.callflow import CallFlow, HungUp
from fourteenplus.metrics import Metrics

from .scripted_calls import every_path

SAMPLE = re.compile(r'^[a-z_]+(\{([a-z_]+="([^"\\]|\\.)*",?)*\})? -?[0-9.e+-]+$')


def parse(text: str) -> dict[str, float]:
    """Every sample line, checked against the exposition format."""
    samples = {}
    for line in text.splitlines():
        if line.startswith("#"):
            assert re.match(r"^# (HELP|TYPE) [a-z_]+ .+$", line), line
            continue
        assert SAMPLE.match(line), line
        name, value = line.rsplit(" ", 1)
        samples[name] = float(value)
    return samples


def after_every_path() -> Metrics:
    metrics = Metrics()
    for record in every_path().values():
        metrics.call_started(record.area_code)
        metrics.call_ended(record)
    return metrics


def test_calls_by_area_and_outcome_and_trunk_failures():
    samples = parse(after_every_path().render())
    assert samples['fourteenplus_calls_total{area="0229",outcome="transferred"}'] == 5
    assert samples['fourteenplus_calls_total{area="0229",outcome="abandoned"}'] == 3
    assert samples['fourteenplus_calls_total{area="0229",outcome="overflow"}'] == 1
    assert samples['fourteenplus_calls_total{area="0229",outcome="hung_up_transfer"}'] == 1
    assert samples['fourteenplus_calls_total{area="020",outcome="failed"}'] == 1
    assert samples['fourteenplus_calls_total{area="none",outcome="rejected_number"}'] == 1
    assert sum(v for k, v in samples.items() if k.startswith("fourteenplus_calls_total")) == 14
    assert samples['fourteenplus_trunk_failures_total{municipality="Amsterdam",status="CHANUNAVAIL"}'] == 1
    assert samples['fourteenplus_trunk_failures_total{municipality="Hoorn",status="BUSY"}'] == 1
    assert samples['fourteenplus_active_calls{area="0229"}'] == 0


def test_active_calls_count_calls_in_progress_per_area():
    metrics = Metrics()
    for area in ("0229", "0229", "0229", "020", None):
        metrics.call_started(area)
    metrics.call_ended(every_path()["spoken"])
    samples = parse(metrics.render())
    assert [samples[f'fourteenplus_active_calls{{area="{a}"}}'] for a in ("0229", "020", "none")] == [2, 1, 1]


def test_recognition_latency_histogram_is_cumulative_and_failures_are_counted_apart():
    metrics = Metrics()
    for ms in (80, 250, 450, 450, 1400, 7000):
        metrics.recognition(ms)
    metrics.recognition(1500, failed=True, reason="deadline")
    metrics.recognition(3, failed=True, reason="error")
    metrics.recognition(2, failed=True, reason="error")
    samples = parse(metrics.render())
    bucket = 'fourteenplus_recognition_latency_seconds_bucket{le="%s"}'
    assert [samples[bucket % le] for le in ("0.1", "0.3", "0.5", "1.5", "5.0", "+Inf")] == [1, 2, 4, 5, 5, 6]
    assert samples["fourteenplus_recognition_latency_seconds_count"] == 6
    assert samples["fourteenplus_recognition_latency_seconds_sum"] == pytest.approx(9.63)
    assert samples['fourteenplus_asr_failures_total{reason="deadline"}'] == 1
    assert samples['fourteenplus_asr_failures_total{reason="error"}'] == 2


def test_the_process_own_figures_come_with_them():
    samples = parse(Metrics().render())
    assert samples["process_resident_memory_bytes"] > 0 and samples["process_open_fds"] > 0
    assert samples['fourteenplus_config_reloads_total{result="failed"}'] == 0


def test_shed_recognitions_are_counted_from_the_speech_worker():
    metrics = Metrics()
    assert parse(metrics.render())["fourteenplus_recognitions_shed_total"] == 0
    workers = [threading.Thread(target=metrics.recognition_shed) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert parse(metrics.render())["fourteenplus_recognitions_shed_total"] == 3


def test_callers_sent_to_the_keypad_because_the_recogniser_is_busy_are_counted():
    from .scripted_calls import SERVICE

    metrics = Metrics()
    for busy in (True, False, True):
        flow = CallFlow(SERVICE, "140229")
        flow.start(busy=busy)
        flow.handle(HungUp())
        metrics.call_started(flow.record.area_code)
        metrics.call_ended(flow.record)
    assert parse(metrics.render())["fourteenplus_calls_busy_total"] == 2


def test_label_values_are_escaped():
    metrics = Metrics()
    record = every_path()["overflow"]
    record.area_code = 'we"ird\\'
    metrics.call_ended(record)
    assert 'area="we\\"ird\\\\"' in metrics.render()
    parse(metrics.render())


def test_counting_from_many_threads_loses_nothing():
    metrics = Metrics()
    threads = [threading.Thread(target=lambda: [metrics.recognition(100) for _ in range(2000)]) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert parse(metrics.render())["fourteenplus_recognition_latency_seconds_count"] == 16000


def test_metrics_are_served_over_http_on_loopback():
    async def scrape():
        metrics = after_every_path()
        metrics.record_write_failed()
        server = await metrics.serve(port=0)
        host, port = server.sockets[0].getsockname()[:2]
        try:
            def get(path):
                try:
                    with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=5) as response:
                        return response.status, response.headers["Content-Type"], response.read().decode()
                except urllib.error.HTTPError as exc:
                    return exc.code, None, ""
            return host, await asyncio.to_thread(get, "/metrics"), await asyncio.to_thread(get, "/")
        finally:
            server.close()
            await server.wait_closed()

    host, (status, kind, body), (missing, _, _) = asyncio.run(scrape())
    assert host == "127.0.0.1"
    assert status == 200 and kind.startswith("text/plain; version=0.0.4")
    assert parse(body)["fourteenplus_record_write_failures_total"] == 1
    assert missing == 404


def _get_all(metrics: Metrics, *paths: str) -> list[tuple[int, str]]:
    """(status, body) per path, from the real server on an ephemeral loopback port."""
    async def scrape():
        server = await metrics.serve(port=0)
        host, port = server.sockets[0].getsockname()[:2]

        def get(path):
            try:
                with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=5) as response:
                    return response.status, response.read().decode()
            except urllib.error.HTTPError as exc:
                return exc.code, exc.read().decode()
        try:
            return [await asyncio.to_thread(get, path) for path in paths]
        finally:
            server.close()
            await server.wait_closed()
    return asyncio.run(scrape())


def test_healthz_answers_while_the_loop_does_and_readyz_names_the_check_that_fails():
    metrics = Metrics()
    connected = threading.Event()
    metrics.ready_when("model", lambda: True)
    metrics.ready_when("ari", connected.is_set)
    (alive, body), (status, why) = _get_all(metrics, "/healthz", "/readyz")
    assert alive == 200 and json.loads(body) == {"alive": True}
    assert status == 503 and json.loads(why) == {"ready": False, "checks": {"ari": False, "model": True}}
    connected.set()
    ((status, why),) = _get_all(metrics, "/readyz")
    assert status == 200 and json.loads(why) == {"ready": True, "checks": {"ari": True, "model": True}}


def test_a_check_not_yet_given_or_one_that_raises_is_not_ready(caplog):
    metrics = Metrics()
    metrics.ready_when("agi", None)  # the listener is not up yet
    metrics.ready_when("records", lambda: 1 / 0)
    assert metrics.readiness() == {"agi": False, "records": False}
    assert "readiness check failed" in caplog.text


def test_the_ari_gauge_follows_the_connection_and_only_the_ari_app_has_one():
    metrics = Metrics()
    assert "fourteenplus_ari_connected" not in metrics.render()  # a FastAGI server would page for nothing
    metrics.ari_connected(True)
    assert parse(metrics.render())["fourteenplus_ari_connected"] == 1
    metrics.ari_connected(False)
    assert parse(metrics.render())["fourteenplus_ari_connected"] == 0


def test_fault_spool_depth_and_readiness_follow_a_store_that_is_down_and_a_spool_that_fails(tmp_path):
    from fourteenplus.records import RecordWriter

    from .scripted_calls import Caller
    from .test_records import FlakyStore, settings

    def watched(spool):
        metrics = Metrics()
        writer = RecordWriter(settings(tmp_path), spool=spool, opener=flaky, retry_delay_s=0.001, down_s=0,
                              purge_every_s=None)
        metrics.watch_spool(writer.spool_depth)
        metrics.ready_when("records", lambda: not writer.losing)
        return metrics, writer

    flaky = FlakyStore(settings(tmp_path))
    metrics, writer = watched(tmp_path / "records-spool.jsonl")
    assert parse(metrics.render())["fourteenplus_record_spool_depth"] == 0
    writer.write(Caller().say("Hoorn").record)
    writer.write(Caller().say("Opmeer").record)
    assert writer.flush(5)
    assert parse(metrics.render())["fourteenplus_record_spool_depth"] == 2
    assert metrics.readiness() == {"records": True}  # the store is down, the spool takes the calls
    flaky.up.set()
    writer.write(Caller().say("Koggenland").record)
    assert writer.flush(5)
    assert parse(metrics.render())["fourteenplus_record_spool_depth"] == 0  # replayed with the next call
    writer.close()

    flaky.up.clear()
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("")
    metrics, writer = watched(blocked / "records-spool.jsonl")
    writer.write(Caller().say("Hoorn").record)
    writer.close()
    assert writer.lost == 1 and metrics.readiness() == {"records": False}
