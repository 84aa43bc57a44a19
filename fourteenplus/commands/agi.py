"""`fourteenplus agi`: the FastAGI server on asterisk.agi's address (127.0.0.1:4573), in the foreground.

The same call flow, recogniser and records as `fourteenplus run`; the dialplan context
`fourteenplus-in-agi` sends calls here. Prints `ready` once it accepts connections.
SIGHUP reloads the configuration; Ctrl-C or SIGTERM closes the port, lets the calls in
progress finish and stops (see `_serving`).
"""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path

import anyio

from .. import agi, asterisk, asterisk_config, metrics, sdnotify
from ._common import add_config_option, print_error
from ._serving import (Adapter, add_asterisk_root_option, add_serving_options, asterisk_root, call_services,
                       handle_signals, in_step_at_start, logging_a_crash, prepare)

log = logging.getLogger("fourteenplus.agi")


def configure(parser) -> None:
    add_config_option(parser)
    parser.add_argument("--port", type=int, help="TCP port (default: the configuration's asterisk.agi.port, 4573)")
    add_asterisk_root_option(parser)  # also where Asterisk records the callers' answers
    add_serving_options(parser, metrics_port=metrics.AGI_PORT)


def main(args) -> int:
    service = prepare(args)
    if service is None:
        return 1
    root = asterisk_root(args)
    try:
        generated_root = in_step_at_start(service, root)
    except asterisk.AsteriskError as exc:
        print_error(f"error: {exc}")
        return 1
    recordings = agi.recordings_for(asterisk.layout(service, root))
    try:
        owner = asterisk.asterisk_ids(root)
    except (OSError, asterisk.AsteriskError):
        owner = None  # not a root we built: its spool already belongs to its Asterisk
    try:
        agi.prepare_recordings(recordings, owner)
    except OSError as exc:
        print_error(f"error: cannot prepare {recordings.local_dir} for Asterisk's recordings: {exc}")
        return 1
    return logging_a_crash(partial(anyio.run, _serve, service, recordings, args.port or service.asterisk.agi_port,
                                   args.metrics_port, generated_root))


async def _serve(service, recordings, port: int, metrics_port: int, generated_root: Path | None) -> int:
    async with call_services(service, metrics_port, "agi") as services:
        agi_server = agi.AgiServer(service, services, recordings)
        try:
            server = await agi_server.serve(service.asterisk.agi_host, port)
        except OSError as exc:
            print_error(f"error: cannot listen on {service.asterisk.agi_host}:{port}: {exc}")
            return 1
        if services.metrics:
            services.metrics.ready_when("agi", server.is_serving)
        try:
            async with anyio.create_task_group() as tasks:
                await tasks.start(handle_signals, tasks, service, services,
                                  Adapter(agi_server.stop_taking_calls, agi_server.calls_in_progress, agi_server.use,
                                          generated_root))
                tasks.start_soon(sdnotify.watchdog)
                print("ready", flush=True)  # a SIGHUP from now on reloads
                sdnotify.ready()
                try:
                    tasks.start_soon(agi_server.watch_dials, asterisk_config.credentials())
                except asterisk.AsteriskError as exc:
                    log.warning("no AMI credentials (%s): call records carry no dial result", exc)
        finally:
            server.close()
    return 0
