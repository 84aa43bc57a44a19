"""`fourteenplus check`: validate the directory, the operator configuration and the grammars.

Errors print as `file:line:column: error: …` and exit 1; warnings go to stderr and keep exit 0.
"""

from __future__ import annotations

import sys

from ._common import add_config_option, configured


def configure(parser) -> None:
    add_config_option(parser)


def main(args) -> int:
    loaded = configured(args, grammars=True)
    if loaded is None:
        return 1
    service, grammars = loaded
    answered = set(service.areas)
    relevant = [w for w in grammars.warnings if answered & set(w.areas)]
    for warning in (*service.warnings, *relevant):
        where = f"{warning.where}: " if warning.where else ""
        print(f"{where}warning: {warning.message}", file=sys.stderr)
    connected = sum(len(plan.connected) for plan in service.areas.values())
    print(f"{service.source}: ok: {len(service.areas)} area codes answered, {connected} connections, "
          f"{len(service.directory.areas)} area codes and {len(service.directory.municipalities)} "
          f"municipalities in the directory")
    return 0
