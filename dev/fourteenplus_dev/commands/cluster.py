"""`fourteenplus cluster`: Kamailio in front of two nodes and one PostgreSQL, on loopback.

Starts a private PostgreSQL, two nodes (each an Asterisk instance from the bundled root on
an address of its own, 127.0.0.11 and 127.0.0.12, and a `fourteenplus run` app writing its
records into that PostgreSQL), then Kamailio on 127.0.0.10:5060 as the only SIP entry. It
prints `ready` once Kamailio sees both nodes up, and Ctrl-C (or SIGTERM) stops everything
it started, by pid. `fourteenplus call --to 127.0.0.10 …` places a call through it;
`fourteenplus status` shows the nodes as Kamailio's dispatcher sees them.
"""

from __future__ import annotations

import signal
import sys
import threading

from fourteenplus import paths
from fourteenplus.commands._common import add_config_option
from fourteenplus.config import config_path

from .. import cluster


def configure(parser) -> None:
    add_config_option(parser)


def main(args) -> int:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    running = cluster.Cluster(config_path(args.config), paths.state_dir() / "cluster")
    try:
        running.start()
    except (cluster.ClusterError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        cluster.write_layout(running)
        print("ready", flush=True)
        stop.wait()
    finally:
        cluster.layout_file().unlink(missing_ok=True)
        running.stop()
    return 0
