"""What the two call-handling commands (`run` for ARI, `agi` for FastAGI) share: logging, the
speech model loaded before the first call, the record writer, the metrics endpoint, and
what the signals do:

- SIGHUP reloads the configuration (and the grammars). A broken file changes nothing: its
  errors are logged with file and line and the configuration in force stays.
- SIGTERM or Ctrl-C stops taking new calls (they meet the dialplan's keypad fallback), lets
  the calls in progress finish their conversation for up to DRAIN_S, then stops; whatever is
  still in the app then goes to the fallback too. A second signal stops at once.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio

from .. import logformat
from ..config import Service, load_service
from ..errors import ConfigError, ConfigErrors
from ..session import CallServices
from ._common import configured

log = logging.getLogger("fourteenplus")
METRICS_HOST = "127.0.0.1"
# Longer than a conversation takes (question, a repeat, the menu); a transfer ends one at once.
DRAIN_S = 30.0
DRAIN_POLL_S = 0.1


def add_serving_options(parser, metrics_port: int) -> None:
    parser.add_argument("--metrics-port", type=int, default=metrics_port, metavar="PORT",
                        help=f"Prometheus /metrics on 127.0.0.1:PORT (default {metrics_port}; 0: off)")
    parser.add_argument("--verbose", "-v", action="store_true", help="log every call's steps")
    parser.add_argument("--log-format", choices=tuple(logformat.FORMATTERS), default="text",
                        help="text for a terminal; logfmt or json, one parseable line each, for a NOC "
                             "(one line per call decision at INFO)")


def prepare(args):
    """Logging set up and the configuration loaded; None once its errors are printed."""
    setup_logging(args.verbose, args.log_format)
    loaded = configured(args)
    return loaded[0] if loaded else None


def setup_logging(verbose: bool, log_format: str = "text") -> None:
    logformat.setup(log_format)
    logging.getLogger("fourteenplus").setLevel(logging.DEBUG if verbose else logging.INFO)
    # asyncari warns about every event type it has no class for; those are not our problem.
    logging.getLogger("asyncari").setLevel(logging.ERROR)
    logging.getLogger("httpx").setLevel(logging.WARNING)


@asynccontextmanager
async def call_services(service, metrics_port: int, listener: str) -> AsyncIterator[CallServices]:
    """`listener` names the readiness check the adapter gives once it takes calls ("ari", "agi")."""
    from ..grammar import load_grammars
    from ..metrics import Metrics
    from ..records import RecordWriter
    from ..speech.service import SpeechService

    metrics = Metrics()
    speech = SpeechService(load_grammars(service.directory), service.thresholds, service.listen.deadline,
                           on_shed=metrics.recognition_shed)
    await speech.start()  # seconds: done before the first call, never during one
    records = RecordWriter(service.records, on_failure=metrics.record_write_failed)
    metrics.watch_spool(records.spool_depth)
    metrics.ready_when("model", lambda: speech.startup_seconds is not None)
    metrics.ready_when("records", lambda: not records.losing)
    metrics.ready_when(listener, None)
    server = await metrics.serve(METRICS_HOST, metrics_port) if metrics_port else None
    try:
        yield CallServices(speech, records, metrics, records.hasher)
    finally:
        if server is not None:
            server.close()
        records.close()
        speech.close()


@dataclass
class Adapter:
    """What the signals need from the ARI app or the FastAGI server."""
    stop_taking_calls: Callable[[], None]
    calls_in_progress: Callable[[], int]
    use: Callable[[Service], Awaitable[None]]  # the configuration for calls from now on


async def handle_signals(tasks: anyio.abc.TaskGroup, service: Service, services: CallServices,
                         adapter: Adapter, drain_s: float = DRAIN_S) -> None:
    """Runs in `tasks` until a stop signal has drained the calls; then cancels `tasks`."""
    draining = False
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM, signal.SIGHUP) as signals:
        async for signum in signals:
            name = signal.Signals(signum).name
            if signum == signal.SIGHUP:
                service = await reload(service, services, adapter) or service
            elif draining:
                log.info("%s again: stopping now", name)
                break
            else:
                draining = True
                log.info("%s: no new calls; %d in progress may finish (at most %g s)",
                         name, adapter.calls_in_progress(), drain_s)
                adapter.stop_taking_calls()
                tasks.start_soon(_drain, tasks.cancel_scope, adapter, drain_s)
    tasks.cancel_scope.cancel()


async def _drain(scope: anyio.CancelScope, adapter: Adapter, drain_s: float) -> None:
    started = time.monotonic()
    with anyio.move_on_after(drain_s):
        while adapter.calls_in_progress():
            await anyio.sleep(DRAIN_POLL_S)
    left = adapter.calls_in_progress()
    log.info("stopping after %.1f s%s", time.monotonic() - started,
             f"; {left} calls go to the keypad fallback" if left else ": no calls left")
    scope.cancel()


async def reload(service: Service, services: CallServices, adapter: Adapter) -> Service | None:
    """The configuration from the same file, in force for new calls; None (logged) if broken."""
    from ..grammar import load_grammars

    def load():
        new = load_service(service.source)
        return new, load_grammars(new.directory)

    try:
        new, grammars = await anyio.to_thread.run_sync(load)
    except (ConfigError, ConfigErrors) as exc:
        for error in exc.errors if isinstance(exc, ConfigErrors) else [exc]:
            log.error("reload: %s", error)
        log.error("reload: the configuration is broken; the one loaded before stays in force")
        if services.metrics:
            services.metrics.config_reloaded(ok=False)
        return None
    services.speech.reconfigure(grammars, new.thresholds, new.listen.deadline)
    await adapter.use(new)
    if new.records != service.records:
        log.warning("reload: the records settings change only when the app restarts")
    if services.metrics:
        services.metrics.config_reloaded(ok=True)
    log.info("reload: %s in force for new calls (%d area codes answered)", new.source, len(new.areas))
    return new
