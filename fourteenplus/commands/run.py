"""`fourteenplus run`: the ARI application, in the foreground.

Loads the configuration and the speech model, connects to ARI (reconnecting with back-off
when Asterisk goes away) and prints `ready` once it takes calls. SIGHUP reloads the
configuration, and first brings the Asterisk's generated dialplan and prompts in step with it
(see `_serving`); Ctrl-C or SIGTERM stops it cleanly: calls in progress finish, new ones and any
left at the end go to the dialplan's keypad fallback.

With --asterisk it first builds (once), configures and starts the bundled Asterisk, and
stops that Asterisk again (by its pid) when it exits: what `make run` uses.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import anyio

from .. import asterisk, metrics, paths, sdnotify
from ._common import add_config_option, print_error
from ._serving import (Adapter, add_asterisk_root_option, add_serving_options, asterisk_root, call_services,
                       handle_signals, in_step_at_start, logging_a_crash, prepare)


def configure(parser) -> None:
    add_config_option(parser)
    parser.add_argument("--asterisk", action="store_true",
                        help="build, install and start the bundled Asterisk first; stop it on exit")
    add_asterisk_root_option(parser)
    add_serving_options(parser, metrics_port=metrics.DEFAULT_PORT)


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
        root = in_step_at_start(service, paths.asterisk_root() if args.asterisk else asterisk_root(args))
        return logging_a_crash(partial(anyio.run, _serve, service, args.metrics_port, root))
    except asterisk.AsteriskError as exc:
        print_error(f"error: {exc}")
        return 1
    finally:
        if started_asterisk:
            asterisk.stop()


async def _serve(service, metrics_port: int, root: Path | None) -> int:
    from ..ari.reconnecting import ReconnectingApp

    async with call_services(service, metrics_port, "ari") as services:
        ari = ReconnectingApp(service, services)
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(sdnotify.watchdog)
            await tasks.start(handle_signals, tasks, service, services,
                              Adapter(ari.stop_taking_calls, ari.calls_in_progress, ari.use, root))
            await ari.serve()
    return 0
