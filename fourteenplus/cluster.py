"""Kamailio in front of Asterisk nodes: its configuration, and how its dispatcher sees the nodes.

The layout: Kamailio on its own address is the only SIP entry; it admits calls from the
carriers' addresses only and spreads them over the nodes (data/asterisk/kamailio/kamailio.cfg.in).
Each node is an Asterisk with a fourteenplus app; all nodes write their records into one
PostgreSQL.

- `kamailio_files(layout, directory)`: Kamailio's configuration for the operator's addresses
  (the configuration file, the dispatcher's node list, the carriers' addresses).
- `dispatcher_states(control)`: how Kamailio's dispatcher sees each node, over its control socket.
- `status()`: a running loopback cluster's nodes, for `fourteenplus status`. The loopback
  cluster itself (`fourteenplus cluster`, PostgreSQL, the nodes, Kamailio as our children) is
  the development package's `fourteenplus_dev.cluster`; it leaves its layout in `layout_file()`.
"""

from __future__ import annotations

import glob
import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import asterisk_config, paths, resources
from .ami import ari_app_registered

TEMPLATE = resources.KAMAILIO_TEMPLATE
SIP_PORT = 5060
ARI_PORT = 8088
NODE_SET = 1        # the dispatcher set of the nodes
CARRIER_GROUP = 1   # the permissions group of the carriers


class ClusterError(RuntimeError):
    pass


@dataclass(frozen=True)
class Node:
    name: str
    address: str
    metrics_port: int = 0  # 0: off

    @property
    def uri(self) -> str:
        return f"sip:{self.address}:{SIP_PORT}"

    @property
    def ari_url(self) -> str:
        return f"http://{self.address}:{ARI_PORT}/"


@dataclass(frozen=True)
class Layout:
    proxy: str = "127.0.0.10"
    nodes: tuple[Node, ...] = (Node("a", "127.0.0.11", 9474), Node("b", "127.0.0.12", 9475))
    carriers: tuple[str, ...] = ("127.0.0.1",)

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)


# ---- Kamailio ----

def kamailio_modules() -> str:
    found = sorted(glob.glob("/usr/lib/*/kamailio/modules")) + sorted(glob.glob("/usr/lib/kamailio/modules"))
    if not found:
        raise ClusterError("Kamailio's modules are not installed: apt-get install kamailio")
    return found[0]


def control_socket(directory: Path) -> Path:
    return directory / "kamailio.ctl"


def kamailio_files(layout: Layout, directory: Path, modules: str | None = None) -> dict[str, str]:
    """kamailio.cfg, the dispatcher's list and the carriers' addresses, for files in `directory`."""
    values = {"PROXY": layout.proxy, "PORT": str(SIP_PORT), "MODULES": modules or kamailio_modules(),
              "CTL": str(control_socket(directory)), "DISPATCHER": str(directory / "dispatcher.list"),
              "CARRIERS": str(directory / "carriers.list"), "SET": str(NODE_SET), "GROUP": str(CARRIER_GROUP)}
    config = TEMPLATE.read_text()
    for name, value in values.items():
        config = config.replace(f"@{name}@", value)
    left = re.findall(r"@[A-Z_]+@", config)
    if left:
        raise ClusterError(f"{TEMPLATE}: nothing to fill in for {', '.join(sorted(set(left)))}")
    return {
        "kamailio.cfg": config,
        # set, node URI, flags (8: probe from the start), priority, attributes
        "dispatcher.list": "".join(f"{NODE_SET} {n.uri} 8 0 duid={n.name}\n" for n in layout.nodes),
        # group, address, netmask, port (0: any)
        "carriers.list": "".join(f"{CARRIER_GROUP} {a} 32 0\n" for a in layout.carriers),
    }


def dispatcher_states(control: Path, timeout: float = 5.0) -> dict[str, str]:
    """Node URI → the dispatcher's flags for it ("AP": up and probed, "IP": down, "TP": failing)."""
    try:
        done = subprocess.run(["kamcmd", "-s", f"unix:{control}", "dispatcher.list"],
                              capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ClusterError(f"Kamailio's control socket {control} does not answer: {exc}") from None
    if done.returncode != 0:
        raise ClusterError(f"Kamailio's control socket {control} does not answer: {done.stderr.strip()}")
    return parse_dispatcher(done.stdout)


def parse_dispatcher(text: str) -> dict[str, str]:
    """kamcmd's `dispatcher.list` output → node URI → flags."""
    return dict(re.findall(r"URI:\s*(\S+)\s+FLAGS:\s*(\S+)", text))


def is_up(flags: str) -> bool:
    return flags[:1] == "A"


def layout_file() -> Path:
    """Where a running `fourteenplus cluster` leaves its layout for `fourteenplus status`."""
    return paths.state_dir() / "cluster.json"


def status(path: Path | None = None) -> dict | None:
    """The running cluster's nodes as its Kamailio sees them (each with `up`, the dispatcher's
    flags and whether its app serves), or None when no cluster runs here."""
    try:
        saved = json.loads((path or layout_file()).read_text())
    except (OSError, ValueError):
        return None
    if not Path(saved["control"]).exists():  # left behind by a cluster that was killed
        return None
    nodes: list[dict] = []
    view: dict = {"proxy": f"{saved['proxy']}:{SIP_PORT}", "nodes": nodes}
    try:
        states = dispatcher_states(Path(saved["control"]))
    except ClusterError as exc:
        return {**view, "error": str(exc)}
    creds = asterisk_config.credentials()
    for saved_node in saved["nodes"]:
        node = Node(saved_node["name"], saved_node["address"])
        flags = states.get(node.uri)
        nodes.append({**saved_node, "dispatcher": flags, "up": is_up(flags or ""),
                      "app": ari_app_registered(creds.ari_user, creds.ari_password, asterisk_config.ARI_APP,
                                                url=node.ari_url)})
    return view
