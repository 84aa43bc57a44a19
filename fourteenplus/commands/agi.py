"""`fourteenplus agi`: the FastAGI server on 127.0.0.1:4573, in the foreground.

The same call flow, recogniser and records as `fourteenplus run`; the dialplan context
`fourteenplus-in-agi` sends calls here. Prints `ready` once it accepts connections.
SIGHUP reloads the configuration; Ctrl-C or SIGTERM closes the port, lets the calls in
progress finish and stops (see `_serving`).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import anyio

from .. import agi, asterisk, asterisk_config, paths, sdnotify
from ._common import add_config_option
from ._serving import Adapter, add_serving_options, call_services, handle_signals, prepare

log = logging.getLogger("fourteenplus.agi")


def configure(parser) -> None:
    add_config_option(parser)
    parser.add_argument("--port", type=int, default=agi.AGI_PORT, help="TCP port on 127.0.0.1 (default 4573)")
    parser.add_argument("--asterisk-root", metavar="DIR",
                        help="the root Asterisk runs in, to find its recordings "
                             "(default: the bundled root if built, else /)")
    add_serving_options(parser, metrics_port=9465)  # beside a running ARI app


def main(args) -> int:
    service = prepare(args)
    if service is None:
        return 1
    root = Path(args.asterisk_root) if args.asterisk_root else paths.asterisk_root()
    if not (root / "usr/sbin/asterisk").exists() and not args.asterisk_root:
        root = Path("/")
    recordings = agi.recordings_for(root)
    try:
        owner = asterisk.asterisk_ids(root)
    except (OSError, asterisk.AsteriskError):
        owner = None  # not a root we built: its spool already belongs to its Asterisk
    try:
        agi.prepare_recordings(recordings, owner)
    except OSError as exc:
        print(f"error: cannot prepare {recordings.local_dir} for Asterisk's recordings: {exc}", file=sys.stderr)
        return 1
    return anyio.run(_serve, service, recordings, args.port, args.metrics_port)


async def _serve(service, recordings, port: int, metrics_port: int) -> int:
    async with call_services(service, metrics_port, "agi") as services:
        agi_server = agi.AgiServer(service, services, recordings)
        try:
            server = await agi_server.serve(port=port)
        except OSError as exc:
            print(f"error: cannot listen on {agi.AGI_HOST}:{port}: {exc}", file=sys.stderr)
            return 1
        if services.metrics:
            services.metrics.ready_when("agi", server.is_serving)
        sdnotify.ready()
        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(sdnotify.watchdog)
                tasks.start_soon(handle_signals, tasks, service, services,
                                 Adapter(agi_server.stop_taking_calls, agi_server.calls_in_progress, agi_server.use))
                try:
                    tasks.start_soon(agi_server.watch_dials, asterisk_config.credentials())
                except asterisk.AsteriskError as exc:
                    log.warning("no AMI credentials (%s): call records carry no dial result", exc)
        finally:
            server.close()
    return 0
