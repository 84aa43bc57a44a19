"""`fourteenplus report`: per area and municipality, the figures of the 2020 national evaluation.

    fourteenplus report [--since 2025-03-01] [--until 2025-03-31] [--area 0229 ...]
                        [--node NAME ...] [--format table|json|html] [--out FILE]

Dates are calendar days in Europe/Amsterdam, both inclusive. On a cluster the calls of every
node are counted, and shown per node too; --node keeps those of some nodes only.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from .. import report, report_html
from ._common import add_config_option
from ._common import configured
from ._records import store_of

FORMATS = {"table": report.as_table, "json": report.as_json, "html": report_html.render}


def configure(parser) -> None:
    add_config_option(parser)
    parser.add_argument("--since", type=dt.date.fromisoformat, metavar="YYYY-MM-DD", help="first day (inclusive)")
    parser.add_argument("--until", type=dt.date.fromisoformat, metavar="YYYY-MM-DD", help="last day (inclusive)")
    parser.add_argument("--area", action="append", default=[], metavar="CODE",
                        help="only this area code (repeat for several)")
    parser.add_argument("--node", action="append", default=[], metavar="NAME",
                        help="only calls this node took (repeat for several)")
    parser.add_argument("--format", choices=FORMATS, default="table")
    parser.add_argument("--out", metavar="FILE", help="write here instead of standard output")


def main(args) -> int:
    if args.since and args.until and args.since > args.until:
        print(f"error: --since {args.since} is after --until {args.until}", file=sys.stderr)
        return 2
    loaded = configured(args)
    if loaded is None:
        return 1
    with store_of(loaded[0]) as store:
        calls = store.calls(*report.period(args.since, args.until), tuple(args.area), tuple(args.node))
    built = report.build([c.record for c in calls], args.since, args.until, tuple(args.area),
                         [c.node for c in calls])
    text = FORMATS[args.format](built)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"report: {built.total.calls} calls → {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
