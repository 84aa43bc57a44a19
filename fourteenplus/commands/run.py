"""`fourteenplus run`: the ARI application, in the foreground.

Loads the configuration and the speech model, connects to ARI (reconnecting with back-off
when Asterisk goes away) and prints `ready` once it takes calls. SIGHUP reloads the
configuration; Ctrl-C or SIGTERM stops it cleanly (see `_serving`): calls in progress finish,
new ones and any left at the end go to the dialplan's keypad fallback.

With --asterisk it first builds (once), configures and starts the bundled Asterisk, and
stops that Asterisk again (by its pid) when it exits: what `make run` uses.
"""

from __future__ import annotations

import logging
import sys
import time

import anyio

from .. import asterisk
from ._common import add_config_option
from ._serving import Adapter, add_serving_options, call_handling, handle_signals, prepare

log = logging.getLogger("fourteenplus.run")
BACKOFF_S = (0.5, 1, 2, 5, 10)
STABLE_S = 10.0  # a connection that lasted this long resets the back-off


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
        return anyio.run(_serve, service, args.metrics_port, args.asterisk)
    except asterisk.AsteriskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if started_asterisk:
            asterisk.stop()


async def _serve(service, metrics_port: int, bundled_asterisk: bool) -> int:
    async with call_handling(service, metrics_port) as handling:
        ari = _AriSide(service, handling, bundled_asterisk)
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(handle_signals, tasks, service, handling,
                             Adapter(ari.stop_taking_calls, ari.calls_in_progress, ari.use))
            await ari.serve()
    return 0


def _reinstall(service) -> None:
    asterisk.install(service, log=log.info)
    asterisk.reload()


class _AriSide:
    """The ARI app across reconnections: one `App` per connection, sharing the configuration
    in force and whether we are stopping."""

    def __init__(self, service, handling, bundled_asterisk: bool):
        self.service = service
        self.handling = handling
        self.bundled_asterisk = bundled_asterisk
        self.app = None
        self.draining = False

    def stop_taking_calls(self) -> None:
        self.draining = True
        if self.app:
            self.app.stop_taking_calls()

    def calls_in_progress(self) -> int:
        return len(self.app.calls) if self.app else 0

    async def use(self, service) -> None:
        self.service = service
        if self.app:
            self.app.service = service
        if self.bundled_asterisk:  # its keypad fallback is generated from the same file
            try:
                await anyio.to_thread.run_sync(_reinstall, service)
            except asterisk.AsteriskError as exc:
                log.error("reload: the bundled Asterisk keeps its fallback menus: %s", exc)

    async def serve(self) -> None:
        from ..ari.app import App
        from ..ari.client import AriError, AriSettings, connect

        settings = AriSettings.installed()
        announced = False
        failures = 0
        while True:
            connected_at = None
            try:
                async with connect(settings) as ari:
                    connected_at = time.monotonic()
                    if not announced:
                        print("ready", flush=True)
                        announced = True
                    else:
                        log.info("reconnected to ARI")
                    self.app = App(self.service, self.handling, ari)
                    if self.draining:
                        self.app.stop_taking_calls()
                    try:
                        await self.app.run()
                    finally:
                        self.app = None
                log.warning("ARI connection closed")
            except (AriError, OSError) as exc:
                log.warning("ARI not reachable (%s)", exc, exc_info=log.isEnabledFor(logging.DEBUG))
            # A connection that fails right after it is made counts as a failure too:
            # otherwise a fault on every connect would retry at full speed for ever.
            if connected_at is not None and time.monotonic() - connected_at > STABLE_S:
                failures = 0
            delay = BACKOFF_S[min(failures, len(BACKOFF_S) - 1)]
            failures += 1
            log.info("connecting to ARI again in %s s", delay)
            await anyio.sleep(delay)
