"""`fourteenplus status [--json] [--mode ari|agi|either] [--config FILE] [--metrics-port PORT]`:
is everything a 14+ call needs up?

Where the ARI app and the FastAGI server are looked for, and the ARI user asked, come from the
configuration's `asterisk:` section, the one `run` and `agi` read; the app found there is asked
for its /readyz on its metrics port (run's 9464, agi's 9465, or --metrics-port). Exit 0 when
healthy, 1 when something needed is down, so it serves as a health check.
"""

from __future__ import annotations

import asyncio
import json
import sys

from .. import ami, asterisk_config, cluster
from ._common import add_config_option, configured


def configure(parser) -> None:
    add_config_option(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--mode", choices=("ari", "agi", "either"), default="ari",
                        help="which call-handling side must be up (default: ari)")
    parser.add_argument("--metrics-port", type=int, metavar="PORT",
                        help="where the app serves /readyz, as its own --metrics-port (default: 9464 for run, "
                             "9465 for agi; 0: do not ask)")


def main(args) -> int:
    on_cluster = show_cluster_status(args.json)
    if on_cluster is not None:
        return on_cluster
    found = configured(args)
    if found is None:
        return 1
    settings = found[0].asterisk
    try:
        creds = asterisk_config.credentials()
    except asterisk_config.AsteriskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    ports = {side: args.metrics_port if args.metrics_port is not None else port
             for side, port in ami.READYZ_PORTS.items()}
    health = asyncio.run(ami.health(creds, settings, args.mode, readyz_ports=ports))
    if args.json:
        print(health.to_json())
        return 0 if health.ok else 1
    if health.asterisk:
        uptime = f", up {health.uptime_s} s" if health.uptime_s is not None else ""
        print(f"Asterisk {health.version or '?'}{uptime}")
        print(f"active 14+ calls: {health.calls}")
        for name, state in sorted(health.trunks.items()):
            print(f"trunk {name}: {state}")
    if health.ari_app is not None:
        print(f"ARI app: {'registered' if health.ari_app else 'NOT registered'} "
              f"at {asterisk_config.ari_url(settings)}")
    if health.agi_server is not None:
        print(f"FastAGI server: {'reachable' if health.agi_server else 'NOT reachable'} "
              f"on {settings.agi_host}:{settings.agi_port}")
    for side, ready in sorted(health.readiness.items()):
        port = ports[side]
        if ready is None:
            print(f"fourteenplus {ami.COMMANDS[side]}: no /readyz on 127.0.0.1:{port} (its metrics off or elsewhere)")
        else:
            checks = ", ".join(f"{name} {'ok' if passed else 'FAILING'}" for name, passed in sorted(ready["checks"].items()))
            print(f"fourteenplus {ami.COMMANDS[side]}: {'ready' if ready.get('ready') else 'NOT ready'} ({checks})")
    for problem in health.problems:
        print(f"problem: {problem}", file=sys.stderr)
    print("ok" if health.ok else "DOWN")
    return 0 if health.ok else 1


def show_cluster_status(as_json: bool) -> int | None:
    """`fourteenplus status` on a cluster: each node, whether Kamailio's dispatcher has it up
    and whether its app serves; exit 1 when a node is down. None when no cluster runs here."""
    view = cluster.status()
    if view is None:
        return None
    healthy = "error" not in view and all(n["up"] and n["app"] for n in view["nodes"])
    if as_json:
        print(json.dumps({**view, "ok": healthy}))
        return 0 if healthy else 1
    print(f"Kamailio on {view['proxy']}" + (f": {view['error']}" if "error" in view else ""))
    for node in view["nodes"]:
        print(f"node {node['name']} ({node['address']}): {'up' if node['up'] else 'DOWN'} in the dispatcher "
              f"({node['dispatcher'] or 'not listed'}), app {'serving' if node['app'] else 'NOT serving'}")
    print("ok" if healthy else "DOWN")
    return 0 if healthy else 1
