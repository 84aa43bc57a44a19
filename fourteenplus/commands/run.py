"""`fourteenplus run`: the ARI application, in the foreground.

Loads the configuration and the speech model, connects to ARI (reconnecting with back-off
when Asterisk goes away) and prints `ready` once it takes calls. Ctrl-C or SIGTERM stops it
cleanly: calls still in the app are handed to the dialplan's keypad fallback.

With --asterisk it first builds (once), configures and starts the bundled Asterisk, and
stops that Asterisk again (by its pid) when it exits: what `make run` uses.
"""

from __future__ import annotations

import logging
import signal
import sys

import anyio

from .. import asterisk
from ..config import load_service
from ..errors import ConfigError, ConfigErrors
from ._common import add_config_option, print_errors

log = logging.getLogger("fourteenplus.run")
BACKOFF_S = (0.5, 1, 2, 5, 10)


def configure(parser) -> None:
    add_config_option(parser)
    parser.add_argument("--asterisk", action="store_true",
                        help="build, install and start the bundled Asterisk first; stop it on exit")
    parser.add_argument("--verbose", "-v", action="store_true", help="log every call's steps")


def main(args) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("fourteenplus").setLevel(logging.DEBUG if args.verbose else logging.INFO)
    # asyncari warns about every event type it has no class for; those are not our problem.
    logging.getLogger("asyncari").setLevel(logging.ERROR)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        service = load_service(args.config)
    except (ConfigError, ConfigErrors) as exc:
        print_errors(exc)
        return 1
    started_asterisk = False
    try:
        if args.asterisk:
            asterisk.build()
            asterisk.install(service)
            started_asterisk = asterisk.running_pid() is None
            asterisk.start()
        return anyio.run(_serve, service)
    except asterisk.AsteriskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if started_asterisk:
            asterisk.stop()


async def _serve(service) -> int:
    from ..grammar import load_grammars
    from ..records import RecordWriter
    from ..speech.service import SpeechService
    from ..ari.app import App
    from ..ari.client import AriError, AriSettings, connect

    speech = SpeechService(load_grammars(service.directory), service.thresholds.accept,
                           service.thresholds.confirm, service.listen.recognition_deadline_ms)
    await speech.start()  # seconds: done before the first call, never during one
    records = RecordWriter(service.records)
    settings = AriSettings.installed()
    announced = False
    try:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(_stop_on_signal, tasks.cancel_scope)
            failures = 0
            while True:
                try:
                    async with connect(settings) as ari:
                        failures = 0
                        if not announced:
                            print("ready", flush=True)
                            announced = True
                        else:
                            log.info("reconnected to ARI")
                        await App(service, speech, ari, records).run()
                    log.warning("ARI connection closed; reconnecting")
                except (AriError, OSError) as exc:
                    delay = BACKOFF_S[min(failures, len(BACKOFF_S) - 1)]
                    failures += 1
                    log.warning("ARI not reachable (%s); retrying in %s s", exc, delay)
                    await anyio.sleep(delay)
    finally:
        records.close()
        speech.close()
    return 0


async def _stop_on_signal(scope: anyio.CancelScope) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            log.info("%s: stopping", signal.Signals(signum).name)
            scope.cancel()
            return
