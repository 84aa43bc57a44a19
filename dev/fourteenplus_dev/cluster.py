"""A Kamailio cluster on one machine's loopback, for `fourteenplus cluster` and the tests.

`Cluster`: one private PostgreSQL (`pgserver`), per node an Asterisk instance from the bundled
root (its own configuration, run, spool and log directories inside the root, its own address)
and a `fourteenplus run` app, then Kamailio, configured by the product's `cluster.kamailio_files`.
Everything it starts it stops, by pid.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from fourteenplus import asterisk, asterisk_config, paths, sipp
from fourteenplus.ami import ari_app_registered
from fourteenplus.cluster import (ARI_PORT, SIP_PORT, ClusterError, Layout, Node, control_socket,
                                  dispatcher_states, is_up, kamailio_files, layout_file)
from fourteenplus.records.privacy import SECRET_FILE

from . import pgserver
from .app import AppProcess

NODES_IN_ROOT = "var/lib/fourteenplus-nodes"  # inside the Asterisk root, one directory per node
READY_TIMEOUT_S = 180  # an app's first start loads the whisper model


class Kamailio:
    """Kamailio in the foreground as our child; its log goes to `directory/kamailio.log`."""

    def __init__(self, layout: Layout, directory: Path):
        self.layout, self.directory = layout, directory
        self.process: subprocess.Popen | None = None

    @property
    def log(self) -> Path:
        return self.directory / "kamailio.log"

    def start(self, timeout: float = 20.0) -> None:
        if not shutil.which("kamailio"):
            raise ClusterError("kamailio is not installed: apt-get install kamailio")
        self.directory.mkdir(parents=True, exist_ok=True)
        for name, text in kamailio_files(self.layout, self.directory).items():
            (self.directory / name).write_text(text)
        control_socket(self.directory).unlink(missing_ok=True)
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                ["kamailio", "-DD", "-E", "-m", "32", "-M", "8", "-f", str(self.directory / "kamailio.cfg"),
                 "-Y", str(self.directory)], stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ClusterError(f"kamailio exited with {self.process.returncode}; see {self.log}")
            try:
                if dispatcher_states(control_socket(self.directory), timeout=1):
                    return
            except ClusterError:
                pass
            time.sleep(0.2)
        self.stop()
        raise ClusterError(f"kamailio did not answer on its control socket within {timeout:.0f} s; see {self.log}")

    def states(self) -> dict[str, str]:
        return dispatcher_states(control_socket(self.directory))

    def stop(self) -> None:
        if self.process:
            # its worker processes are in its session: SIGTERM to the main one ends them all
            sipp.stop_process(self.process)
            self.process = None


# ---- an Asterisk node from the bundled root ----

NODE_SPECIFIC = ("pjsip.conf", "http.conf", "ari.conf", "manager.conf", "rtp.conf")


def _node_conf(files: dict[str, str], node: Node, layout: Layout, index: int) -> dict[str, str]:
    """The installed configuration rewritten for a node: SIP, media, ARI and AMI on the node's
    address, callers accepted from the proxy only, an RTP port range of its own."""
    def swap(name: str, old: str, new: str) -> None:
        if old not in files[name]:
            raise ClusterError(f"{name} has no '{old.strip()}' to change for node {node.name}")
        files[name] = files[name].replace(old, new)

    swap("pjsip.conf", f"bind=127.0.0.1:{SIP_PORT}", f"bind={node.address}:{SIP_PORT}")
    swap("pjsip.conf", "media_address=127.0.0.1\n", f"media_address={node.address}\n")
    swap("pjsip.conf", "match=127.0.0.1\n", f"match={layout.proxy}\n")
    swap("http.conf", "bindaddr=127.0.0.1\n", f"bindaddr={node.address}\n")
    swap("ari.conf", f"http://127.0.0.1:{ARI_PORT}", f"http://{node.address}:{ARI_PORT}")
    swap("manager.conf", "bindaddr=127.0.0.1\n", f"bindaddr={node.address}\n")
    start = 21000 + 2000 * index
    files["rtp.conf"] = re.sub(r"rtpstart=\d+\nrtpend=\d+",
                               f"rtpstart={start}\nrtpend={start + 1999}", files["rtp.conf"])
    return files


class AsteriskNode:
    """One node's Asterisk: the bundled root, chrooted, with `-C` pointing at the node's own
    asterisk.conf, so its configuration, run, spool, log and database directories are its own."""

    def __init__(self, node: Node, layout: Layout, index: int, root: Path, log: Path):
        self.node, self.layout, self.index, self.root, self.log = node, layout, index, root, log
        self.inside = Path("/") / NODES_IN_ROOT / node.name  # as Asterisk sees it
        self.directory = root / NODES_IN_ROOT / node.name
        self.process: subprocess.Popen | None = None

    def install(self) -> None:
        """Copy the root's installed configuration and make it this node's (`asterisk.install` first)."""
        uid, gid = asterisk.asterisk_ids(self.root)
        shutil.rmtree(self.directory, ignore_errors=True)
        etc = self.directory / "etc"
        shutil.copytree(self.root / "etc/asterisk", etc)  # Debian's stock files besides ours
        for sub in ("run", "spool", "log", "lib", "cache"):
            (self.directory / sub).mkdir(parents=True)
            os.chown(self.directory / sub, uid, gid)
        files = _node_conf({name: (etc / name).read_text() for name in NODE_SPECIFIC},
                           self.node, self.layout, self.index)
        files["asterisk.conf"] = (
            "; generated by fourteenplus_dev.cluster: this node's own directories\n[directories]\n"
            f"astetcdir => {self.inside}/etc\nastmoddir => {_modules_inside(self.root)}\n"
            f"astvarlibdir => /var/lib/asterisk\nastdbdir => {self.inside}/lib\nastkeydir => /var/lib/asterisk\n"
            "astdatadir => /usr/share/asterisk\nastagidir => /usr/share/asterisk/agi-bin\n"
            f"astspooldir => {self.inside}/spool\nastrundir => {self.inside}/run\nastlogdir => {self.inside}/log\n"
            f"astcachedir => {self.inside}/cache\nastsbindir => /usr/sbin\n")
        for name, text in files.items():
            (etc / name).write_text(text)
        # Readable by Asterisk (it reads its configuration after dropping root), by no one else.
        for path in (etc, *etc.rglob("*")):
            os.chown(path, 0, gid)
            path.chmod(0o750 if path.is_dir() else 0o640)

    def start(self, creds: asterisk_config.Credentials, timeout: float = 60.0) -> None:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                ["chroot", str(self.root), "/usr/sbin/asterisk", "-f", "-C", f"{self.inside}/etc/asterisk.conf",
                 "-U", "asterisk", "-G", "asterisk"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ClusterError(f"node {self.node.name}'s Asterisk exited with {self.process.returncode}; "
                                   f"see {self.log} and {self.directory}/log/messages.log")
            if asterisk.ari_info(creds.ari_user, creds.ari_password, timeout=0.5, url=self.node.ari_url):
                return
            time.sleep(0.2)
        raise ClusterError(f"node {self.node.name}'s ARI did not answer within {timeout:.0f} s")

    def cli(self, command: str) -> str:
        """An Asterisk CLI command run against this node (its own control socket)."""
        done = subprocess.run(["chroot", str(self.root), "/usr/sbin/asterisk", "-C", f"{self.inside}/etc/asterisk.conf",
                               "-rx", command], capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            raise ClusterError(f"node {self.node.name}: '{command}' failed: {done.stderr.strip() or done.stdout.strip()}")
        return done.stdout

    def calls_processed(self) -> int:
        """Every call this Asterisk took since it started (`core show channels count`)."""
        found = re.search(r"(\d+) calls? processed", self.cli("core show channels count"))
        if found is None:
            raise ClusterError(f"node {self.node.name}: Asterisk did not say how many calls it processed")
        return int(found.group(1))

    def kill(self) -> None:
        """SIGKILL: the node dies as in a crash, calls and all."""
        if self.process:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            self.process = None

    def stop(self) -> None:
        if self.process:
            sipp.stop_process(self.process)
            self.process = None


def _modules_inside(root: Path) -> str:
    """Asterisk's module directory as the chrooted Asterisk sees it (/usr/lib/<multiarch>/…)."""
    return "/" + str(next(iter(sorted((root / "usr/lib").glob("*/asterisk/modules")))).relative_to(root))


# ---- the app on a node ----

class NodeApp:
    """`fourteenplus run` for one node: its ARI, its name on the records, a state directory of
    its own (its spool), the installation's ARI credentials and caller-hashing secret."""

    def __init__(self, node: Node, config: Path, directory: Path):
        self.node, self.config, self.directory = node, config, directory
        env = {"FOURTEENPLUS_NODE": node.name, "FOURTEENPLUS_ARI_URL": node.ari_url,
               "FOURTEENPLUS_STATE": str(self.state)}
        self.app = AppProcess(config, self.log, env=env, options=("--metrics-port", str(node.metrics_port)))

    @property
    def state(self) -> Path:
        return self.directory / "state"

    @property
    def log(self) -> Path:
        return self.directory / "app.log"

    @property
    def process(self) -> subprocess.Popen | None:
        return self.app.process

    def prepare(self) -> None:
        self.state.mkdir(parents=True, exist_ok=True, mode=0o700)
        for name in (asterisk_config.credentials_path().name, SECRET_FILE):
            shutil.copy2(paths.state_dir() / name, self.state / name)

    def start(self, timeout: float = READY_TIMEOUT_S) -> None:
        self.app.ready_timeout_s = timeout
        try:
            self.app.start()
        except RuntimeError as exc:
            raise ClusterError(str(exc)) from None

    def kill(self) -> None:
        if self.app.process:
            self.app.process.send_signal(signal.SIGKILL)
            self.app.process.wait()
            self.app.closed()
            self.app.process = None

    def stop(self) -> None:
        self.app.stop()
        self.app.process = None


def cluster_config(service_yaml: Path, records_url: str, target: Path) -> Path:
    """The operator's configuration with the records in the cluster's PostgreSQL."""
    data = yaml.safe_load(service_yaml.read_text()) or {}
    data["records"] = {**(data.get("records") or {}), "path": None, "url": records_url}
    target.write_text(f"# generated by fourteenplus_dev.cluster from {service_yaml}\n"
                      + yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    return target


# ---- the whole cluster ----

@dataclass
class Cluster:
    """PostgreSQL, the nodes (Asterisk + app) and Kamailio on loopback, started in that order
    (Kamailio last: it admits calls only once a node can take them) and stopped in reverse."""
    service_yaml: Path
    directory: Path
    layout: Layout = field(default_factory=Layout)
    root: Path | None = None
    log: Callable[[str], object] = print
    postgres: pgserver.Server | None = None
    asterisks: dict[str, AsteriskNode] = field(default_factory=dict)
    apps: dict[str, NodeApp] = field(default_factory=dict)
    kamailio: Kamailio | None = None
    creds: asterisk_config.Credentials | None = None

    @property
    def records_url(self) -> str:
        assert self.postgres is not None, "the cluster's PostgreSQL is started first"
        return self.postgres.url()

    def start(self) -> "Cluster":
        from fourteenplus.config import load_service
        from fourteenplus.records.privacy import CallerHasher

        if os.geteuid() != 0:
            raise ClusterError("the cluster's Asterisk nodes run chrooted: run as root")
        self.directory.mkdir(parents=True, exist_ok=True)
        root = self.root = self.root or asterisk.build(log=self.log)
        service = load_service(self.service_yaml)
        asterisk.install(service, root, log=self.log)  # the root's configuration and prompts
        creds = self.creds = asterisk_config.credentials(create=True)
        CallerHasher.from_state()  # the secret every node hashes callers with
        try:
            # As root the server runs as `postgres`, who must reach its directory: a fresh one
            # in /tmp, not under root's private state directory.
            self.postgres = pgserver.Server(Path(tempfile.mkdtemp(prefix="fp-cluster-pg-"))).start()
            self.log(f"PostgreSQL: {self.records_url}")
            config = cluster_config(self.service_yaml, self.records_url, self.directory / "cluster.yaml")
            for index, node in enumerate(self.layout.nodes):
                self.asterisks[node.name] = AsteriskNode(node, self.layout, index, root,
                                                         self.directory / f"asterisk-{node.name}.log")
                self.asterisks[node.name].install()
                self.asterisks[node.name].start(creds)
                self.apps[node.name] = NodeApp(node, config, self.directory / node.name)
                self.apps[node.name].prepare()
            for node in self.layout.nodes:  # the apps load the model: one after the other, not both at once
                self.apps[node.name].start()
                self.log(f"node {node.name}: Asterisk and app on {node.address}")
            self.kamailio = Kamailio(self.layout, self.directory / "kamailio")
            self.kamailio.start()
            self.wait_until(lambda states: all(is_up(states.get(n.uri, "")) for n in self.layout.nodes))
        except BaseException:
            self.stop()
            raise
        self.log(f"Kamailio on {self.layout.proxy}:{SIP_PORT}")
        return self

    def wait_until(self, condition, timeout: float = 20.0) -> dict[str, str]:
        """Wait until `condition(dispatcher states)` holds; returns the states."""
        assert self.kamailio is not None, "Kamailio is started"
        deadline = time.monotonic() + timeout
        while True:
            states = self.kamailio.states()
            if condition(states):
                return states
            if time.monotonic() > deadline:
                raise ClusterError(f"the dispatcher's view did not change as expected within {timeout:.0f} s: {states}")
            time.sleep(0.1)

    def app_serving(self, name: str) -> bool:
        """Whether node `name`'s app is connected to its Asterisk (its Stasis app registered)."""
        node = self.layout.node(name)
        assert self.creds is not None, "the cluster is started"
        return ari_app_registered(self.creds.ari_user, self.creds.ari_password, asterisk_config.ARI_APP,
                                  url=node.ari_url)

    def stop(self) -> None:
        for part in (self.kamailio, *self.apps.values(), *self.asterisks.values()):
            if part is not None:
                part.stop()
        for node in self.asterisks.values():  # the nodes' directories inside the shared root
            shutil.rmtree(node.directory, ignore_errors=True)
        if self.postgres is not None:
            self.postgres.remove()
            self.postgres = None

    def __enter__(self) -> "Cluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def write_layout(cluster: Cluster, path: Path | None = None) -> None:
    """Where `fourteenplus status` finds the running cluster (the product's `cluster.status`)."""
    assert cluster.kamailio is not None, "the cluster is started"
    (path or layout_file()).write_text(json.dumps({
        "control": str(control_socket(cluster.kamailio.directory)), "proxy": cluster.layout.proxy,
        "nodes": [{"name": n.name, "address": n.address} for n in cluster.layout.nodes]}))
