"""Prometheus metrics of the running app, served as text on `/metrics` (loopback by default).

Outages went unreported before; these are the numbers an engineer alerts on. The API the
adapters call, all thread-safe and cheap (a lock and a few additions; never raises on odd input):

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
    RecordWriter(..., on_failure=metrics.record_write_failed)
    metrics.config_reloaded(ok)                          # per SIGHUP

Series (all prefixed `fourteenplus_`):
- `calls_total{area,outcome}`: ended calls; outcome as in the report (`report.outcome`):
  transferred, overflow, failed, hung_up_transfer, abandoned, rejected_number, not_served, …
- `active_calls{area}`: calls started and not yet ended.
- `recognition_latency_seconds` histogram of successful recognitions.
- `asr_failures_total{reason}`: recognitions that errored or missed their deadline.
- `recognitions_shed_total`: names heard without the primed transcription because others
  queued behind them or their deadline was near (load: a rising rate comes before timeouts).
- `trunk_failures_total{municipality,status}`: a trunk (or its overflow, municipality
  "<name> overflow") answered BUSY, NOANSWER, CONGESTION or CHANUNAVAIL.
- `record_write_failures_total`: call records the store did not take (spooled or lost).
- `config_reloads_total{result}`: SIGHUP reloads, `ok` or `failed` (a broken file: the
  configuration in force stayed; alert on it, or the next restart fails).
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter

from .callflow import CallRecord
from .report import TRUNK_FAILURES, outcome

# Seconds; the recognition deadline defaults to 1.5 s, so the buckets are fine-grained below it.
LATENCY_BUCKETS = (0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DEFAULT_PORT = 9464  # the port Prometheus' own exporters conventionally leave to applications


def _label(value: object) -> str:
    return str(value).replace("\\", r"\\").replace('"', r"\"").replace("\n", r"\n")


def _labels(names: tuple[str, ...], values: tuple) -> str:
    return "{" + ",".join(f'{n}="{_label(v)}"' for n, v in zip(names, values)) + "}" if names else ""


class Metrics:
    def __init__(self, buckets: tuple[float, ...] = LATENCY_BUCKETS):
        self._lock = threading.Lock()
        self._buckets = buckets
        self._calls: Counter = Counter()
        self._active: Counter = Counter()
        self._latency_counts = [0] * len(buckets)
        self._latency_sum = 0.0
        self._latency_count = 0
        self._asr_failures: Counter = Counter()
        self._shed = 0
        self._trunk_failures: Counter = Counter()
        self._record_write_failures = 0
        self._reloads: Counter = Counter()

    # ---- what the adapters report ----

    def call_started(self, area: str | None = None) -> None:
        with self._lock:
            self._active[area or "none"] += 1

    def call_ended(self, record: CallRecord) -> None:
        failures = [(record.municipality, record.dial_status)]
        if record.overflow_status is not None:
            failures.append((f"{record.municipality} overflow", record.overflow_status))
        with self._lock:
            area = record.area_code or "none"
            self._active[area] = max(0, self._active[area] - 1)
            self._calls[(area, outcome(record))] += 1
            for municipality, status in failures:
                if status in TRUNK_FAILURES:
                    self._trunk_failures[(municipality, status)] += 1

    def recognition(self, latency_ms: float, failed: bool = False, reason: str = "error") -> None:
        with self._lock:
            if failed:
                self._asr_failures[reason] += 1
                return
            seconds = latency_ms / 1000
            self._latency_sum += seconds
            self._latency_count += 1
            for i, bound in enumerate(self._buckets):
                if seconds <= bound:
                    self._latency_counts[i] += 1

    def recognition_shed(self) -> None:
        with self._lock:
            self._shed += 1

    def record_write_failed(self) -> None:
        with self._lock:
            self._record_write_failures += 1

    def config_reloaded(self, ok: bool) -> None:
        with self._lock:
            self._reloads["ok" if ok else "failed"] += 1

    # ---- exposition ----

    def render(self) -> str:
        with self._lock:
            lines: list[str] = []

            def family(name: str, kind: str, help_text: str, samples) -> None:
                lines.append(f"# HELP fourteenplus_{name} {help_text}")
                lines.append(f"# TYPE fourteenplus_{name} {kind}")
                lines.extend(f"fourteenplus_{suffix} {value:g}" for suffix, value in samples)

            family("calls_total", "counter", "Calls ended, by area code and outcome.",
                   [(f"calls_total{_labels(('area', 'outcome'), key)}", n) for key, n in sorted(self._calls.items())])
            family("active_calls", "gauge", "Calls in progress, by area code.",
                   [(f"active_calls{_labels(('area',), (a,))}", n) for a, n in sorted(self._active.items())])
            buckets = [(f'recognition_latency_seconds_bucket{{le="{bound:g}"}}', count)
                       for bound, count in zip(self._buckets, self._latency_counts)]
            family("recognition_latency_seconds", "histogram",
                   "Time from the end of speech to the recognition decision.",
                   buckets + [('recognition_latency_seconds_bucket{le="+Inf"}', self._latency_count),
                              ("recognition_latency_seconds_sum", self._latency_sum),
                              ("recognition_latency_seconds_count", self._latency_count)])
            family("asr_failures_total", "counter", "Recognitions that failed or missed their deadline, by reason.",
                   [(f"asr_failures_total{_labels(('reason',), (r,))}", n)
                    for r, n in sorted(self._asr_failures.items())])
            family("recognitions_shed_total", "counter",
                   "Names heard without the primed transcription under load (a queue, or a near deadline).",
                   [("recognitions_shed_total", self._shed)])
            family("trunk_failures_total", "counter", "Trunks that did not take a call, by municipality and status.",
                   [(f"trunk_failures_total{_labels(('municipality', 'status'), key)}", n)
                    for key, n in sorted(self._trunk_failures.items())])
            family("record_write_failures_total", "counter", "Call records the store did not take.",
                   [("record_write_failures_total", self._record_write_failures)])
            family("config_reloads_total", "counter", "Configuration reloads (SIGHUP), by result.",
                   [(f"config_reloads_total{_labels(('result',), (r,))}", self._reloads[r]) for r in ("ok", "failed")])
            return "\n".join(lines) + "\n"

    async def serve(self, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> asyncio.AbstractServer:
        """Serve GET /metrics; returns the started server (its port: server.sockets[0].getsockname()[1])."""
        return await asyncio.start_server(self._handle, host, port)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            method, target = (request.split(b"\r\n", 1)[0].decode("latin-1").split(" ") + ["", ""])[:2]
            if method in ("GET", "HEAD") and target.split("?")[0] == "/metrics":
                status, body, kind = "200 OK", self.render().encode(), CONTENT_TYPE
            else:
                status, body, kind = "404 Not Found", b"only /metrics lives here\n", "text/plain"
            head = (f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
                    "Connection: close\r\n\r\n").encode()
            writer.write(head + (body if method != "HEAD" else b""))
            await writer.drain()
        except (asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass  # a scraper that went away or spoke nonsense; nothing to answer
        finally:
            writer.close()
