"""What the two call-handling commands (`run` for ARI, `agi` for FastAGI) share at start-up:
logging, the speech model loaded before the first call, the record writer, the metrics
endpoint, and a clean stop on Ctrl-C or SIGTERM."""

from __future__ import annotations

import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio

from ..session import Handling
from ._common import configured

log = logging.getLogger("fourteenplus")
METRICS_HOST = "127.0.0.1"


def add_serving_options(parser, metrics_port: int) -> None:
    parser.add_argument("--metrics-port", type=int, default=metrics_port, metavar="PORT",
                        help=f"Prometheus /metrics on 127.0.0.1:PORT (default {metrics_port}; 0: off)")
    parser.add_argument("--verbose", "-v", action="store_true", help="log every call's steps")


def prepare(args):
    """Logging set up and the configuration loaded; None once its errors are printed."""
    setup_logging(args.verbose)
    loaded = configured(args)
    return loaded[0] if loaded else None


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("fourteenplus").setLevel(logging.DEBUG if verbose else logging.INFO)
    # asyncari warns about every event type it has no class for; those are not our problem.
    logging.getLogger("asyncari").setLevel(logging.ERROR)
    logging.getLogger("httpx").setLevel(logging.WARNING)


@asynccontextmanager
async def call_handling(service, metrics_port: int) -> AsyncIterator[Handling]:
    from ..grammar import load_grammars
    from ..metrics import Metrics
    from ..records import RecordWriter
    from ..speech.service import SpeechService

    speech = SpeechService(load_grammars(service.directory), service.thresholds.accept,
                           service.thresholds.confirm, service.listen.recognition_deadline_ms)
    await speech.start()  # seconds: done before the first call, never during one
    metrics = Metrics()
    records = RecordWriter(service.records, on_failure=metrics.record_write_failed)
    server = await metrics.serve(METRICS_HOST, metrics_port) if metrics_port else None
    try:
        yield Handling(speech, records, metrics)
    finally:
        if server is not None:
            server.close()
        records.close()
        speech.close()


async def stop_on_signal(scope: anyio.CancelScope) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            log.info("%s: stopping", signal.Signals(signum).name)
            scope.cancel()
            return
