"""`fourteenplus area CODE [--json]`: who sits behind an area code, and who is connected.

The JSON is stable: {"area_code", "main_place", "default", "municipalities": [{"name",
"connected", "trunk", "overflow", "menu_digit", "default"}]}, municipalities in
directory order; trunk, overflow and menu_digit are null when not connected.
"""

from __future__ import annotations

import json
import sys

from ..numberplan import NumberRejected, parse
from ._common import add_config_option, configured


def configure(parser) -> None:
    parser.add_argument("code", help="an area code (0229) or a 14+ number (140229, '14 0229')")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    add_config_option(parser)


def describe(service, code: str) -> dict:
    plan = service.plan(code)
    rows = []
    for name in plan.municipalities:
        connection = service.connections.get(name) if name in plan.connected else None
        rows.append({
            "name": name,
            "connected": connection is not None,
            "trunk": connection.trunk if connection else None,
            "overflow": connection.overflow if connection else None,
            "menu_digit": plan.connected.index(name) + 1 if connection else None,
            "default": name == plan.default,
        })
    return {"area_code": code, "main_place": service.directory.areas[code].main_place,
            "default": plan.default, "municipalities": rows}


def main(args) -> int:
    loaded = configured(args)
    if loaded is None:
        return 1
    service, _ = loaded
    # Area codes start with 0 and 14+ numbers with 14 (or +31), so one parser serves both forms.
    number = "14" + args.code if args.code.lstrip().startswith("0") else args.code
    try:
        code = parse(number, service.directory.areas)
    except NumberRejected as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    info = describe(service, code)
    if args.json:
        print(json.dumps(info, ensure_ascii=False, indent=2))
        return 0
    print(f"area code {code} ({info['main_place']}): {len(info['municipalities'])} municipalities")
    for row in info["municipalities"]:
        if row["connected"]:
            mark = f"{row['menu_digit']}  {row['trunk']}" + (f"  overflow {row['overflow']}" if row["overflow"] else "")
        else:
            mark = "-  not connected"
        print(f"  {row['name']:<24} {mark}{'  (default)' if row['default'] else ''}")
    return 0
