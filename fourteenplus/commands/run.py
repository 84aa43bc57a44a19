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

import anyio

from .. import asterisk, sdnotify
from ._common import add_config_option
from ._serving import Adapter, add_serving_options, call_services, handle_signals, prepare

log = logging.getLogger("fourteenplus.run")


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
    from ..ari.reconnecting import ReconnectingApp

    async with call_services(service, metrics_port, "ari") as services:
        ari = ReconnectingApp(service, services, _reinstall if bundled_asterisk else None)
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(sdnotify.watchdog)
            tasks.start_soon(handle_signals, tasks, service, services,
                             Adapter(ari.stop_taking_calls, ari.calls_in_progress, ari.use))
            await ari.serve()
    return 0


def _reinstall(service) -> None:
    """The bundled Asterisk's keypad fallback follows the configuration; a failure keeps the old one."""
    try:
        asterisk.install(service, log=log.info)
        asterisk.reload()
    except asterisk.AsteriskError as exc:
        log.error("reload: the bundled Asterisk keeps its fallback menus: %s", exc)
