"""`fourteenplus learn`: aliases proposed from the calls, for a person to accept or reject.

    fourteenplus learn [--since YYYY-MM-DD] [--min-seen 3] [--min-callers 2]
    fourteenplus learn --accept ID [--by NAME]      # writes the grammars' learned.yaml
    fourteenplus learn --reject ID [--by NAME]      # never proposed again

The recogniser and matcher use an accepted alias from their next reload (restart the app).
"""

from __future__ import annotations

import datetime as dt
import getpass
import sys

from .. import learn, paths, report, resources
from ..errors import ConfigError, ConfigErrors
from ._common import add_config_option, print_errors
from ._common import configured
from ._records import store_of


def configure(parser) -> None:
    add_config_option(parser)
    decide = parser.add_mutually_exclusive_group()
    decide.add_argument("--accept", metavar="ID", help="write this proposal into the grammars' learned.yaml")
    decide.add_argument("--reject", metavar="ID", help="drop this proposal for good")
    parser.add_argument("--by", default=None, metavar="NAME", help="the reviewer (default: your user name)")
    parser.add_argument("--since", type=dt.date.fromisoformat, metavar="YYYY-MM-DD",
                        help="only calls from this day on")
    parser.add_argument("--min-seen", type=int, default=3, metavar="N", help="times heard (default 3)")
    parser.add_argument("--min-callers", type=int, default=2, metavar="N", help="distinct callers (default 2)")


def main(args) -> int:
    if args.accept and paths.CHECKOUT is None and paths.grammars_dir() == resources.GRAMMARS:
        # An installed package's own files: the next upgrade would replace what was learned.
        print(f"error: the grammars in force are the installed package's ({resources.GRAMMARS}); copy them "
              f"to a directory of your own (cp -r {resources.GRAMMARS} /etc/fourteenplus/grammars), set "
              "FOURTEENPLUS_GRAMMARS to it here and for the units (systemctl edit fourteenplus), then accept again",
              file=sys.stderr)
        return 1
    loaded = configured(args, grammars=True)
    if loaded is None:
        return 1
    service, grammars = loaded
    with store_of(service) as store:
        calls = store.calls(since=report.period(args.since, None)[0])
        chosen = args.accept or args.reject
        if chosen is None:
            return _list(learn.propose(calls, grammars, store.reviews(), args.min_seen, args.min_callers))
        # Any proposal may be decided on, also one below the listing's thresholds.
        found = [p for p in learn.propose(calls, grammars, (), 1, 1) if p.id == chosen]
        if not found:
            print(f"error: no proposal {chosen!r} in the records (run `fourteenplus learn` for the list)",
                  file=sys.stderr)
            return 1
        proposal, reviewer = found[0], args.by or getpass.getuser()
        if args.accept:
            try:
                path = learn.accept(proposal, reviewer, service.directory)
            except (ConfigError, ConfigErrors) as exc:
                print(f"error: {proposal.phrase!r} → {proposal.municipality} not written, the grammars "
                      "would not validate:", file=sys.stderr)
                print_errors(exc)
                return 1
            print(f"accepted {proposal.id}: {proposal.phrase!r} → {proposal.municipality} in "
                  f"{proposal.area_code}, written to {path}; reload the app to use it")
        else:
            print(f"rejected {proposal.id}: {proposal.phrase!r} → {proposal.municipality}")
        store.review(proposal.id, "accepted" if args.accept else "rejected", reviewer)
        return 0


def _list(proposals: list[learn.Proposal]) -> int:
    if not proposals:
        print("no proposals: no unrecognised phrase was followed by the same keypad choice often enough")
        return 0
    for p in proposals:
        also = "; also ended at " + ", ".join(f"{m} ({n}×)" for m, n in p.elsewhere.items()) if p.elsewhere else ""
        print(f"{p.id}  {p.area_code}  {p.phrase!r} → {p.municipality}: seen {p.seen} times from "
              f"{p.callers} callers{also}; e.g. " + " | ".join(repr(e) for e in p.examples))
    print("\naccept with: fourteenplus learn --accept ID    reject with: fourteenplus learn --reject ID")
    return 0
