"""`fourteenplus run`: the ARI application, in the foreground.

Loads the configuration and the speech model, connects to ARI (reconnecting with back-off
when Asterisk goes away) and prints `ready` once it takes calls. Ctrl-C or SIGTERM stops it
cleanly: calls still in the app are handed to the dialplan's keypad fallback.

With --asterisk it first builds (once), configures and starts the bundled Asterisk, and
stops that Asterisk again (by its pid) when it exits: what `make run` uses.
"""

from __future__ import annotations

import logging
import sys

import anyio

from .. import asterisk
from ._common import add_config_option
from ._serving import add_serving_options, call_handling, prepare, stop_on_signal

log = logging.getLogger("fourteenplus.run")
BACKOFF_S = (0.5, 1, 2, 5, 10)


def configure(parser) -> None:
    add_config_option(parser)
    parser.add_argument("--asterisk", action="store_true",
                        help="build, install and start the bundled Asterisk first; stop it on exit")
    add_serving_options(parser, metrics_port=9464)


def main(args) -> int:
    service = prepare(args)
    if service is None:
        return 1
    started_asterisk = False
    try:
        if args.asterisk:
            asterisk.build()
            asterisk.install(service)
            started_asterisk = asterisk.running_pid() is None
            asterisk.start()
        return anyio.run(_serve, service, args.metrics_port)
    except asterisk.AsteriskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if started_asterisk:
            asterisk.stop()


async def _serve(service, metrics_port: int) -> int:
    from ..ari.app import App
    from ..ari.client import AriError, AriSettings, connect

    settings = AriSettings.installed()
    announced = False
    async with call_handling(service, metrics_port) as handling:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(stop_on_signal, tasks.cancel_scope)
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
                        await App(service, handling, ari).run()
                    log.warning("ARI connection closed; reconnecting")
                except (AriError, OSError) as exc:
                    delay = BACKOFF_S[min(failures, len(BACKOFF_S) - 1)]
                    failures += 1
                    log.warning("ARI not reachable (%s); retrying in %s s", exc, delay)
                    await anyio.sleep(delay)
    return 0
