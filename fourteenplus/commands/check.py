"""`fourteenplus check`: validate the directory, the operator configuration and the grammars,
and look for doors left open in the Asterisk configuration (see `exposure`).

Errors print as `file:line:column: error: …` and exit 1; warnings go to stderr and keep exit 0.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .. import asterisk, exposure
from ._common import add_config_option, configured


def configure(parser) -> None:
    add_config_option(parser)
    parser.add_argument("--asterisk-etc", metavar="DIR", type=Path, default=asterisk.CONF_DIRS[0],
                        help="the Asterisk configuration to audit for open doors (default: the shipped "
                             "asterisk/; on a host with its own Asterisk: /etc/asterisk)")


def main(args) -> int:
    loaded = configured(args, grammars=True)
    if loaded is None:
        return 1
    service, grammars = loaded
    answered = set(service.areas)
    relevant = [w for w in grammars.warnings if answered & set(w.areas)]
    if not args.asterisk_etc.is_dir():
        print(f"error: {args.asterisk_etc} is not a directory", file=sys.stderr)
        return 1
    for warning in (*service.warnings, *relevant, *exposure.audit(args.asterisk_etc)):
        where = f"{warning.where}: " if warning.where else ""
        print(f"{where}warning: {warning.message}", file=sys.stderr)
    connected = sum(len(plan.connected) for plan in service.areas.values())
    national = f"{len(service.national.numbers)} national numbers, " if service.national else ""
    print(f"{service.source}: ok: {len(service.areas)} area codes answered, {national}{connected} connections, "
          f"{len(service.directory.areas)} area codes and {len(service.directory.municipalities)} "
          f"municipalities in the directory")
    return 0
