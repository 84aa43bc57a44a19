"""`fourteenplus tune`: refit the recogniser's policy on the operator's own kept calls.

    fourteenplus tune --out /etc/fourteenplus/policy-2026-12.yaml --report tune.html [--since YYYY-MM-DD]

Needs `records.keep_audio` (and calls since). Writes the new policy only when it does better
than the policy in force on calls it held out, and never switches to it: read the report,
then point `$FOURTEENPLUS_POLICY` at the file and restart the units. Exit status: 0 written,
1 not better (nothing written), 2 nothing to tune on (the reason on stderr).
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from .. import report, tune
from ..records import AudioArchive
from ._common import add_config_option, configured
from ._records import store_of


def configure(parser) -> None:
    add_config_option(parser)
    parser.add_argument("--out", type=Path, required=True, metavar="FILE",
                        help="the policy file to write when the refit is better (never the one in force)")
    parser.add_argument("--report", type=Path, metavar="FILE",
                        help="the page to read before switching: markdown, or HTML for a name ending in .html")
    parser.add_argument("--since", type=dt.date.fromisoformat, metavar="YYYY-MM-DD", help="only calls from this day on")
    parser.add_argument("--held-out", type=float, default=tune.HELD_OUT, metavar="SHARE",
                        help=f"share of the labelled calls kept out of the fit to judge it on (default {tune.HELD_OUT})")
    parser.add_argument("--min-calls", type=int, default=tune.MIN_CALLS, metavar="N",
                        help=f"labelled calls needed (default {tune.MIN_CALLS})")


def main(args) -> int:
    loaded = configured(args, grammars=True)
    if loaded is None:
        return 2
    service, grammars = loaded
    if not 0 < args.held_out < 1:
        print("error: --held-out must be between 0 and 1", file=sys.stderr)
        return 2
    if args.out.resolve() == tune.policy.policy_path().resolve():
        print(f"error: {args.out} is the policy in force; tune writes a new file beside it", file=sys.stderr)
        return 2
    with store_of(service) as store:
        calls = store.calls(since=report.period(args.since, None)[0])
    try:
        outcome = tune.tune(service, grammars, calls, AudioArchive(service.records), args.out, args.held_out,
                            args.min_calls)
    except tune.TuneError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.report:
        html = args.report.suffix.lower() in (".html", ".htm")
        args.report.write_text(tune.report_html(outcome) if html else tune.report_markdown(outcome), encoding="utf-8")
    print(f"tune: {outcome.why}; " + (f"written to {outcome.written}" if outcome.written else "nothing written")
          + (f"; report: {args.report}" if args.report else ""))
    return 0 if outcome.written else 1
