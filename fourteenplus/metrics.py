"""Prometheus metrics of the running app, served as text on `/metrics` (loopback by default),
and beside them `/healthz` (the event loop answers) and `/readyz` (it can take calls).

Outages went unreported before; these are the numbers an engineer alerts on. The series are
kept and written by the reference client, `prometheus_client`, which adds the process's own
(`process_*`: memory, open files, CPU; `python_*`). The API the adapters call, all
thread-safe and cheap (never raises on odd input):

    metrics = Metrics()
    server = await metrics.serve("127.0.0.1", 9464)      # once; server.close() at shutdown
    metrics.call_started(flow.record.area_code)          # after flow.start(); None if unknown
    metrics.recognition(latency_ms, failed=False)        # per utterance, from end of speech to
                                                         # the decision; failed=True (reason=…)
                                                         # when the recogniser errored or missed
                                                         # its deadline
    SpeechService(..., on_shed=metrics.recognition_shed)  # a name heard unprimed under load
    metrics.call_ended(flow.record)                      # once per call, when it is done (after
                                                         # the DialResult if there is one)
    RecordWriter(..., on_failure=metrics.record_write_failed, on_lost=metrics.record_lost)
    metrics.config_reloaded(ok)                          # per SIGHUP
    metrics.ari_connected(up)                            # the ARI app, per connection made or lost
    metrics.watch_spool(writer.spool_depth)              # read at each scrape
    metrics.ready_when("model", check)                   # a readiness check (None: failing for now)

Series (all prefixed `fourteenplus_`):
- `calls_total{area,outcome}`: ended calls; outcome as in the report (`CallRecord.ending`):
  transferred, overflow, failed, hung_up_transfer, abandoned, rejected_number, not_served, …
- `active_calls{area}`: calls started and not yet ended.
- `recognition_latency_seconds` histogram of successful recognitions.
- `asr_failures_total{reason}`: recognitions that errored or missed their deadline.
- `recognitions_shed_total`: names heard without the primed transcription because others
  queued behind them or their deadline was near (load: a rising rate comes before timeouts).
- `calls_busy_total`: callers sent straight to the keypad menu, with an apology, because
  the recogniser could not keep up (admission control, `listen.busy_wait_ms`); counted when
  the call ends.
- `trunk_failures_total{municipality,status}`: a trunk (or its overflow, municipality
  "<name> overflow") answered BUSY, NOANSWER, CONGESTION or CHANUNAVAIL.
- `record_write_failures_total`: call records the store did not take (spooled or lost).
- `records_lost_total`: call records neither the store nor the spool took (the spool full
  at `records.spool_max`, or unwritable): alert on any.
- `config_reloads_total{result}`: SIGHUP reloads, `ok` or `failed` (a broken file: the
  configuration in force stayed; alert on it, or the next restart fails).
- `config_last_reload_successful`: 0 from a failed reload until one succeeds (1 at start: the
  configuration loaded then was good).
- `ari_connected`: 1 while the ARI app holds its connection; 0 while it reconnects, when every
  caller meets the dialplan's keypad menu. Only `run` has it: the FastAGI server has no ARI.
- `record_spool_depth`: call records waiting in the spool for the record store.

`/readyz` answers 200 when every readiness check passes, else 503; its JSON body names each
check and whether it passed (`{"ready": false, "checks": {"ari": false, "model": true, …}}`).
`/healthz` answers 200 whenever the event loop does: a wedged loop answers nothing.

Each counter also has its `_created` series (when it started counting), as the client writes them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import threading
from collections import Counter as Tally
from collections.abc import Callable

from prometheus_client import (
    CollectorRegistry, Counter, Gauge, GCCollector, Histogram, PlatformCollector, ProcessCollector, generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from .records import CallRecord
from .vocabulary import TRUNK_FAILURES, AttemptKind, Prompt, Reason

# Seconds; the recognition deadline defaults to 1.5 s, so the buckets are fine-grained below it.
LATENCY_BUCKETS = (0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4  # what generate_latest writes
DEFAULT_PORT = 9464  # the port Prometheus' own exporters conventionally leave to applications
AGI_PORT = 9465      # `fourteenplus agi`'s, beside a running ARI app
PREFIX = "fourteenplus"
log = logging.getLogger("fourteenplus")


class Metrics:
    """One registry per instance (a process serves one; tests make many)."""

    def __init__(self, buckets: tuple[float, ...] = LATENCY_BUCKETS):
        self.registry = registry = CollectorRegistry()
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
        self._calls = Counter("calls", "Calls ended, by area code and outcome.", ("area", "outcome"),
                              namespace=PREFIX, registry=registry)
        self._active_calls = Gauge("active_calls", "Calls in progress, by area code.", ("area",),
                                   namespace=PREFIX, registry=registry)
        self._latency = Histogram("recognition_latency_seconds",
                                  "Time from the end of speech to the recognition decision.",
                                  namespace=PREFIX, registry=registry, buckets=buckets)
        self._asr_failures = Counter("asr_failures", "Recognitions that failed or missed their deadline, by reason.",
                                     ("reason",), namespace=PREFIX, registry=registry)
        self._shed = Counter("recognitions_shed",
                             "Names heard without the primed transcription under load (a queue, or a near deadline).",
                             namespace=PREFIX, registry=registry)
        self._busy = Counter("calls_busy", "Callers sent to the keypad menu because the recogniser could not keep up.",
                             namespace=PREFIX, registry=registry)
        self._trunk_failures = Counter("trunk_failures", "Trunks that did not take a call, by municipality and status.",
                                       ("municipality", "status"), namespace=PREFIX, registry=registry)
        self._record_write_failures = Counter("record_write_failures", "Call records the store did not take.",
                                              namespace=PREFIX, registry=registry)
        self._records_lost = Counter("records_lost", "Call records neither the store nor the spool took.",
                                     namespace=PREFIX, registry=registry)
        self._reloads = Counter("config_reloads", "Configuration reloads (SIGHUP), by result.", ("result",),
                                namespace=PREFIX, registry=registry)
        for result in ("ok", "failed"):  # a zero to alert on before the first reload
            self._reloads.labels(result)
        self._last_reload_ok = Gauge("config_last_reload_successful",
                                     "0 from a failed reload until one succeeds: the file on disk would not start.",
                                     namespace=PREFIX, registry=registry)
        self._last_reload_ok.set(1)
        self._spool_depth = Gauge("record_spool_depth", "Call records waiting in the spool for the record store.",
                                  namespace=PREFIX, registry=registry)
        self._ari: Gauge | None = None  # made by the first ari_connected(): a FastAGI server has none
        self._checks: dict[str, Callable[[], bool] | None] = {}
        # An area's calls in progress never go below zero, whatever order odd input comes in.
        self._lock = threading.Lock()
        self._active: Tally[str] = Tally()

    # ---- what the adapters report ----

    def call_started(self, area: str | None = None) -> None:
        self._count_active(area or "none", +1)

    def call_ended(self, record: CallRecord) -> None:
        area = record.area_code or "none"
        self._count_active(area, -1)
        self._calls.labels(area, record.ending).inc()
        if any(a.kind == AttemptKind.FAILURE and a.reason == Prompt.BUSY for a in record.attempts):
            self._busy.inc()
        failures = [(record.municipality, record.dial_status)]
        if record.overflow_status is not None:
            failures.append((f"{record.municipality} overflow", record.overflow_status))
        for municipality, status in failures:
            if status in TRUNK_FAILURES:
                self._trunk_failures.labels(municipality, status).inc()

    def _count_active(self, area: str, change: int) -> None:
        with self._lock:
            self._active[area] = max(0, self._active[area] + change)
            self._active_calls.labels(area).set(self._active[area])

    def recognition(self, latency_ms: float, failed: bool = False, reason: str = Reason.ERROR) -> None:
        if failed:
            self._asr_failures.labels(reason).inc()
        else:
            self._latency.observe(latency_ms / 1000)

    def recognition_shed(self) -> None:
        self._shed.inc()

    def record_write_failed(self) -> None:
        self._record_write_failures.inc()

    def record_lost(self) -> None:
        self._records_lost.inc()

    def config_reloaded(self, ok: bool) -> None:
        self._reloads.labels("ok" if ok else "failed").inc()
        self._last_reload_ok.set(1 if ok else 0)

    def ari_connected(self, up: bool) -> None:
        if self._ari is None:
            self._ari = Gauge("ari_connected", "1 while the app holds its ARI connection (0: callers get the keypad menu).",
                              namespace=PREFIX, registry=self.registry)
        self._ari.set(1 if up else 0)

    def watch_spool(self, depth: Callable[[], int]) -> None:
        self._spool_depth.set_function(lambda: _or_nan(depth))

    # ---- readiness ----

    def ready_when(self, name: str, check: Callable[[], bool] | None) -> None:
        """`/readyz` passes only while `check()` is true; None fails until a check is given."""
        self._checks[name] = check

    def readiness(self) -> dict[str, bool]:
        return {name: bool(check and _or_false(check)) for name, check in sorted(self._checks.items())}

    # ---- exposition ----

    def render(self) -> str:
        return generate_latest(self.registry).decode()

    async def serve(self, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> asyncio.AbstractServer:
        """Serve GET /metrics; returns the started server (its port: server.sockets[0].getsockname()[1])."""
        return await asyncio.start_server(self._handle, host, port)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            method, target = (request.split(b"\r\n", 1)[0].decode("latin-1").split(" ") + ["", ""])[:2]
            path = target.split("?")[0]
            if method not in ("GET", "HEAD"):
                status, body, kind = "405 Method Not Allowed", b"GET or HEAD\n", "text/plain"
            elif path == "/metrics":
                status, body, kind = "200 OK", self.render().encode(), CONTENT_TYPE
            elif path == "/healthz":
                status, body, kind = "200 OK", b'{"alive": true}\n', "application/json"
            elif path == "/readyz":
                checks = self.readiness()
                ready = all(checks.values())
                status = "200 OK" if ready else "503 Service Unavailable"
                body, kind = (json.dumps({"ready": ready, "checks": checks}) + "\n").encode(), "application/json"
            else:
                status, body, kind = "404 Not Found", b"/metrics, /healthz and /readyz live here\n", "text/plain"
            head = (f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
                    "Connection: close\r\n\r\n").encode()
            writer.write(head + (body if method != "HEAD" else b""))
            await writer.drain()
        except (asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass  # a scraper that went away or spoke nonsense; nothing to answer
        finally:
            writer.close()


def _or_nan(depth: Callable[[], int]) -> float:
    """A gauge read at scrape time: NaN (and a log line) rather than a failed scrape."""
    try:
        return float(depth())
    except Exception as exc:
        log.warning("metrics: %s", exc)
        return math.nan


def _or_false(check: Callable[[], bool]) -> bool:
    try:
        return bool(check())
    except Exception as exc:
        log.warning("readiness check failed: %s", exc)
        return False
