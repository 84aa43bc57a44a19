"""`fourteenplus install systemd`: write the systemd units for this installation;
`fourteenplus install config`: the shipped example configuration, as the operator's to edit;
`fourteenplus install kamailio`: Kamailio's configuration in front of real nodes.

fourteenplus.service runs the ARI application (`run`), fourteenplus-agi.service the FastAGI
server (`agi`); enable the one your dialplan uses. Both run as --user, read --config, and
execute --bin (default: the fourteenplus of this virtualenv). The record store's directory
comes from the configuration's records.path (else the state directory) unless --records-dir
says otherwise; the FastAGI unit's recordings directory from its `asterisk:` section (the spool
this machine's Asterisk's asterisk.conf names). The README's deployment section has the steps
around it.

`install config` writes the example (its trunks point at the test endpoint: edit them) to
--out's fourteenplus.yaml, /etc/fourteenplus by default, and never over an existing file.

`install kamailio --proxy ADDR --node NAME=ADDR ... --carrier ADDR ...` writes kamailio.cfg,
the dispatcher's node list and the carriers' addresses (`cluster.kamailio_files`) to --out,
/etc/kamailio by default; run it again when a node or carrier changes.
"""

from __future__ import annotations

import grp
import ipaddress
import os
import sys
from pathlib import Path

from .. import agi, asterisk, asterisk_layout, cluster, paths, units
from ..config import EXAMPLE, load_service
from ..errors import ConfigError, ConfigErrors
from ._common import print_errors

SYSTEM_UNITS = Path("/etc/systemd/system")
KAMAILIO_DIR = Path("/etc/kamailio")


def configure(parser) -> None:
    parser.add_argument("what", choices=("systemd", "config", "kamailio"))
    parser.add_argument("--user", default=units.DEFAULT_USER,
                        help=f"the system user the services run as (default {units.DEFAULT_USER})")
    parser.add_argument("--config", type=Path, default=units.DEFAULT_CONFIG, metavar="FILE",
                        help=f"the operator configuration the services read (default {units.DEFAULT_CONFIG})")
    parser.add_argument("--bin", type=Path, default=Path(sys.executable).parent / "fourteenplus", metavar="PATH",
                        help="the fourteenplus executable (default: this virtualenv's)")
    parser.add_argument("--records-dir", type=Path, metavar="DIR",
                        help="the directory the record store writes in (default: from the configuration)")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help=f"where to write the units (default {SYSTEM_UNITS}) or the configuration "
                             f"(default {paths.OPERATOR_CONFIG.parent}) or Kamailio's files (default {KAMAILIO_DIR})")
    kamailio = parser.add_argument_group("install kamailio")
    kamailio.add_argument("--proxy", metavar="ADDR", help="the address Kamailio listens on (SIP, UDP 5060)")
    kamailio.add_argument("--node", action="append", default=[], metavar="NAME=ADDR",
                          help="a node: its name (FOURTEENPLUS_NODE) and its Asterisk's SIP address; repeat per node")
    kamailio.add_argument("--carrier", action="append", default=[], metavar="ADDR",
                          help="an address a carrier sends calls from; repeat per address")


def main(args) -> int:
    if args.what == "config":
        return install_config(args.out or paths.OPERATOR_CONFIG.parent, args.user)
    if args.what == "kamailio":
        return install_kamailio(args)
    return install_units(args)


def install_config(directory: Path, user: str = units.DEFAULT_USER) -> int:
    """The example, mode 0640 whatever the umask (it will hold trunks and perhaps a records.url
    with a password): readable by the services' group, which is the user's, never by everyone."""
    target = directory / paths.OPERATOR_CONFIG.name
    directory.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    except FileExistsError:
        print(f"error: {target} exists; it is left as it is", file=sys.stderr)
        return 1
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        os.fchmod(fd, 0o640)
        try:
            group = grp.getgrnam(user).gr_gid
        except KeyError:
            group = None
        if group is not None and os.geteuid() == 0:
            os.fchown(fd, -1, group)
        out.write(EXAMPLE.read_text(encoding="utf-8"))
    print(f"wrote {target}; edit its trunks, then: fourteenplus check --config {target}")
    if group is None:
        print(f"note: there is no group {user} yet; the services can read {target} once it belongs to "
              f"theirs: chgrp {user} {target}", file=sys.stderr)
    return 0


def install_units(args) -> int:
    out = args.out or SYSTEM_UNITS
    found = _from_configuration(args.config)
    if found is None:
        return 1
    records_dir, recordings = found
    settings = units.Settings(bin=args.bin.absolute(), user=args.user, config=args.config.absolute(),
                              records_dir=(args.records_dir or records_dir).absolute(), agi_recordings=recordings)
    out.mkdir(parents=True, exist_ok=True)
    for unit in units.UNITS:
        path = out / unit.name
        path.write_text(units.render(unit, settings), encoding="utf-8")
        print(f"wrote {path}")
    if not settings.bin.exists():
        print(f"warning: {settings.bin} does not exist; the units cannot start until it does", file=sys.stderr)
    if recordings.parent.parent.is_dir() and not recordings.is_dir():
        # This machine's Asterisk is there; the unit may not create a directory in its spool.
        print(f"note: fourteenplus-agi needs {recordings} for Asterisk's recordings: "
              f"install -d -o {args.user} -g asterisk -m 0770 {recordings}", file=sys.stderr)
    print("then: systemctl daemon-reload && systemctl enable --now fourteenplus (or fourteenplus-agi)")
    return 0


def _from_configuration(config: Path) -> tuple[Path, Path] | None:
    """From the configuration the units will read: the record store's directory (records.path,
    else the state dir) and where this machine's Asterisk records for FastAGI (`asterisk:`:
    its asterisk.conf's astspooldir, or asterisk.directories'). None once its errors are printed."""
    if not config.exists():
        print(f"note: {config} does not exist yet; the record store is taken to be in {units.STATE_DIR}",
              file=sys.stderr)
        return units.STATE_DIR, agi.recordings_for(asterisk_layout.read()).local_dir
    try:
        service = load_service(config)
    except (ConfigError, ConfigErrors) as exc:
        print_errors(exc)
        return None
    return (units.records_dir(service.records.path),
            agi.recordings_for(asterisk.layout(service, Path("/"))).local_dir)


def install_kamailio(args) -> int:
    try:
        layout = kamailio_layout(args.proxy, args.node, args.carrier)
        out = (args.out or KAMAILIO_DIR).absolute()
        files = cluster.kamailio_files(layout, out)
    except (ValueError, cluster.ClusterError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
        print(f"wrote {out / name}")
    print(f"then: kamailio -c -f {out / 'kamailio.cfg'} && systemctl restart kamailio")
    return 0


def kamailio_layout(proxy: str | None, nodes: list[str], carriers: list[str]) -> cluster.Layout:
    """The layout the options describe; ValueError saying which option is wrong."""
    if not proxy or not nodes or not carriers:
        raise ValueError("install kamailio needs --proxy, at least one --node NAME=ADDR and one --carrier")
    named = []
    for option in nodes:
        name, equals, address = option.partition("=")
        if not equals or not name:
            raise ValueError(f"--node {option}: expected NAME=ADDR")
        named.append(cluster.Node(name, _address("--node", address)))
    names = [node.name for node in named]
    if len(set(names)) < len(names):
        raise ValueError(f"--node: a name given twice in {', '.join(names)}")
    return cluster.Layout(proxy=_address("--proxy", proxy), nodes=tuple(named),
                          carriers=tuple(_address("--carrier", carrier) for carrier in carriers))


def _address(option: str, text: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise ValueError(f"{option} {text}: not an IP address") from None
